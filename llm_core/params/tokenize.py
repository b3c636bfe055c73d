"""The `tokenize` section: encoding the cleaned shards into token files."""
from __future__ import annotations

from dataclasses import dataclass

from ..config import check_limits
from .common import TaskRunner


@dataclass(frozen=True)
class TokenizeParams:
    task_runner: TaskRunner = "threads"
    batch_docs: int = 256  # documents encoded per call

    LIMITS = {"batch_docs": "> 0"}

    def __post_init__(self) -> None:
        check_limits(self)
