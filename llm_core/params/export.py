"""The `export` section: the Hugging Face folder's precision."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ExportParams:
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
