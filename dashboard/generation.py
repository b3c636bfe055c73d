"""Text as the model makes it: `llm_core.sample.stream` + `llm_core.textstream`, timed.

The pages show each piece of text the moment it is final and, for the
playground, each token's probability and the alternatives the sampler
reported (`StepOutput.candidates`); nothing here recomputes them.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from llm_core.config import SampleConfig
from llm_core.sample import StepOutput, stream
from llm_core.textstream import TextStream


@dataclass
class Clock:
    """First-token latency and tokens per second of one generation."""

    started: float = field(default_factory=time.perf_counter)
    first: float | None = None
    tokens: int = 0
    ended: float | None = None

    def tick(self) -> None:
        self.tokens += 1
        if self.first is None:
            self.first = time.perf_counter() - self.started

    def stop(self) -> None:
        self.ended = time.perf_counter()

    @property
    def seconds(self) -> float:
        return (self.ended or time.perf_counter()) - self.started

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


class Throttle:
    """Whether to redraw a growing text now: at most every `interval` seconds. Each redraw
    sends the whole text to the browser, and on a small CPU that costs more than a token of
    a small model; 30 redraws a second look as smooth to a reader as one per token."""

    def __init__(self, interval: float = 1 / 30):
        self.interval, self.last = interval, float("-inf")

    def due(self) -> bool:
        now = time.perf_counter()
        if now - self.last < self.interval:
            return False
        self.last = now
        return True


def pieces(model, tokenizer, prompt_ids: Sequence[int], cfg: SampleConfig, stop_ids: Sequence[int],
           clock: Clock, reply: bool = False) -> Iterator[tuple[str, StepOutput | None]]:
    """(text that became final, its step) per generated token, then the held-back rest
    with step None. The stop token is not shown. `clock` counts tokens as they come."""
    text = TextStream(tokenizer, reply=reply)
    try:
        for step in stream(model, prompt_ids, cfg, stop_ids=stop_ids):
            if step.is_stop:
                break
            clock.tick()
            yield text.push(step.token_id), step
        rest = text.flush()
        if rest:
            yield rest, None
    finally:
        clock.stop()
