"""The `clean` section: every filter threshold, plus how shards are spread."""
from __future__ import annotations

from dataclasses import dataclass

from ..data.clean import CleanConfig
from .common import TaskRunner


@dataclass(frozen=True)
class CleanParams(CleanConfig):
    task_runner: TaskRunner = "threads"

    def filters(self) -> CleanConfig:
        """The thresholds alone, as the cleaning functions take them."""
        names = CleanConfig.__dataclass_fields__
        return CleanConfig(**{k: getattr(self, k) for k in names})
