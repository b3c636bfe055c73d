"""Deterministic choices: every choice the task suite makes is a function of the
seed and of what is chosen, never of input order or a global random state.

- `stable_hash(*parts)`: the parts as strings joined by U+001F, BLAKE2b with an
  8-byte digest, read as a big-endian integer in [0, 2^64). Stable across runs,
  machines and Python versions (unlike `hash`).
- `Rng`: splitmix64 (Steele, Lea & Flood 2014), seeded with one 64-bit key:

      state += 0x9E3779B97F4A7C15
      z = (state ^ (state >> 30)) * 0xBF58476D1CE4E5B9
      z = (z ^ (z >> 27)) * 0x94D049BB133111EB
      next64 = z ^ (z >> 31)                      (all mod 2^64)

  small, fast and fully specified, so an item's choices depend on its key alone
  (random.Random is slow to seed, once per unit).
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any


def stable_hash(*parts: Any) -> int:
    data = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class Rng:
    """splitmix64: a small, fast, fully specified generator, so an item's choices
    depend on its seed alone (random.Random is slow to seed, per unit)."""

    _M = (1 << 64) - 1

    def __init__(self, seed: int):
        self.state = seed & self._M

    def next64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & self._M
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self._M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self._M
        return z ^ (z >> 31)

    def random(self) -> float:
        return (self.next64() >> 11) / float(1 << 53)

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[self.next64() % len(seq)]
