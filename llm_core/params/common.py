"""Choices that several sections share."""
from __future__ import annotations

from typing import Literal

TaskRunner = Literal["threads", "dask"]  # threads in this process, or a Dask cluster
OnError = Literal["skip", "error"]  # a bad record: skip and count it, or stop
