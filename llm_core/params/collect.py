"""The `collect` section: which sources become documents."""
from __future__ import annotations

from dataclasses import dataclass

from ..config import FieldError, check_limits
from ..data.sources import SourceSpec
from .common import OnError, TaskRunner


@dataclass(frozen=True)
class CollectParams:
    sources: tuple[SourceSpec, ...] = (SourceSpec(kind="default", include=(
        "rv1909", "fortunes-es", "handbook-es", "austen", "web", "handbook-en")),)
    on_error: OnError = "skip"
    shard_docs: int = 5000  # documents per Parquet shard
    cache_dir: str = "data/cache"  # downloaded packages and URLs, kept between runs
    task_runner: TaskRunner = "threads"

    LIMITS = {"shard_docs": "> 0"}

    def __post_init__(self) -> None:
        check_limits(self)
        if not self.sources:
            raise FieldError("sources", "must list at least one source")
        labels = [s.label for s in self.sources]
        if dup := sorted({n for n in labels if labels.count(n) > 1}):
            raise FieldError("sources", f"two sources are named {dup}; give each a distinct 'name'")
