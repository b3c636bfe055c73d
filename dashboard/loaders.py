"""The one place that loads models and reads files for the pages (behind Streamlit's caches).

Models: `st.cache_resource` keeps one copy per checkpoint folder and weights
mtime, shared by every browser session, in eval mode with gradients off. They
are read-only: generation allocates its own KV cache per call, so sessions can
generate at the same time without a lock (only loading is serialised, by
Streamlit's cache). Files: `st.cache_data` keyed by path and mtime, so a page
sees a stage's new output as soon as it is written and rereads nothing else.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import yaml

from llm_core.catalog import ModelEntry, find_models

from . import outputs

# Limits that keep one visitor from holding the CPU for everyone.
MAX_PROMPT_CHARS = 4000
MAX_NEW_TOKENS = 256
THREADS_ENV = "FORJA_DASHBOARD_THREADS"  # torch threads per generation; default half the cores

log = logging.getLogger("forja.dashboard")


class ModelLoadError(Exception):
    """A checkpoint that cannot be used, in one sentence that names the folder."""


@dataclass(frozen=True)
class Loaded:
    model: object
    tokenizer: object
    entry: ModelEntry
    seconds: float

    @property
    def window(self) -> int:
        return self.model.cfg.max_seq_len


def root() -> Path:
    return outputs.project_root()


def models() -> list[ModelEntry]:
    """The project's checkpoints (llm_core.catalog), re-listed at most every 5 s."""
    return _models(str(root()))


@st.cache_data(ttl=5, show_spinner=False)
def _models(path: str) -> list[ModelEntry]:
    return find_models(path)


def load(entry: ModelEntry) -> Loaded:
    """The model and tokenizer of `entry`; ModelLoadError with the reason when they cannot be used."""
    if entry.problem:
        raise ModelLoadError(entry.problem)
    use_threads()
    path = root() / entry.path
    return _load(str(path), outputs.mtime(path / "model.safetensors"), entry)


@st.cache_resource(show_spinner=False)
def threads() -> int:
    """torch intra-op threads for a generation: $FORJA_DASHBOARD_THREADS, else half the cores.
    The server, its other sessions and often the browser share the CPU with the model; a small
    model gains little from more threads, and an op split over every core waits for whichever
    thread is descheduled (2 cores, bench/dashboard.py --sessions: the playground's 156 tokens/s
    became 200-315, its first token 0.13 s became 0.01-0.03 s)."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        if raw.isdigit() and int(raw) > 0:
            return int(raw)
        log.warning("%s=%r is not a whole number above 0: using half the cores", THREADS_ENV, raw)
    return max(1, (os.cpu_count() or 2) // 2)


def use_threads() -> None:
    """Apply threads() in this thread: each script run has its own thread, and torch keeps
    the OpenMP thread count per thread."""
    import torch

    if torch.get_num_threads() != threads():
        torch.set_num_threads(threads())


@st.cache_resource(show_spinner=False, max_entries=4)
def _load(path: str, weights_mtime: float, entry: ModelEntry) -> Loaded:
    from llm_core.checkpoint import load_model
    from llm_core.tokenizer import Tokenizer

    t0 = time.perf_counter()
    try:
        model, ckpt = load_model(path, device="cpu")
        tok = Tokenizer.load(ckpt.tokenizer_path) if ckpt.tokenizer_path else None
    except (ValueError, OSError) as err:  # CheckpointError is a ValueError; sentencepiece raises OSError
        raise ModelLoadError(f"{path}: {err}") from None
    if tok is None:
        raise ModelLoadError(f"{path}: no tokenizer.model in this checkpoint")
    if tok.vocab_size != model.cfg.vocab_size:
        raise ModelLoadError(f"{path}: the tokenizer has {tok.vocab_size} tokens but the model was built for "
                             f"{model.cfg.vocab_size}: they come from different runs")
    model.eval().requires_grad_(False)
    return Loaded(model, tok, entry, time.perf_counter() - t0)


@st.cache_data(show_spinner=False, max_entries=256)
def _json(path: str, key: float) -> dict | None:
    return outputs.read_json(Path(path))


def json_file(relative: str) -> dict | None:
    path = root() / relative
    return _json(str(path), outputs.mtime(path))


def metrics(stage: str) -> dict | None:
    return json_file(f"metrics/{stage}.json")


@st.cache_data(show_spinner=False, max_entries=64)
def _csv(path: str, key: float) -> list[dict]:
    return outputs.read_csv(Path(path))


def csv_file(relative: str) -> list[dict]:
    path = root() / relative
    return _csv(str(path), outputs.mtime(path))


@st.cache_data(show_spinner=False, max_entries=64)
def _run(stage: str, folder: str, key: float) -> outputs.Run:
    return outputs.read_run(root(), stage, Path(folder))


def run(stage: str, folder: Path) -> outputs.Run:
    return _run(stage, str(folder), outputs.mtime(folder / "metrics.jsonl"))


@st.cache_data(show_spinner=False, max_entries=8)
def _params(path: str, key: float) -> dict | None:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def params() -> dict | None:
    path = root() / "params.yaml"
    return _params(str(path), outputs.mtime(path))


def max_steps(stage: str) -> int | None:
    """The training length params.yaml asks of `stage` (for a live run's ETA), or None."""
    raw = params()
    if not raw:
        return None
    try:
        from llm_core.params import load_section

        return load_section(stage, raw).train.max_steps
    except (ValueError, TypeError, AttributeError):  # ConfigError is a ValueError
        return None


@st.cache_data(ttl=30, show_spinner=False)
def _status(path: str, lock_key: float, yaml_key: float) -> outputs.DvcStatus:
    return outputs.dvc_status(Path(path))


def dvc_status() -> outputs.DvcStatus:
    """`dvc status`, at most every 30 s, and again as soon as dvc.lock or dvc.yaml change."""
    r = root()
    return _status(str(r), outputs.mtime(r / "dvc.lock"), outputs.mtime(r / "dvc.yaml"))


CLEAN_SHARDS = "data/clean/shards"


def token_languages(tokenizer) -> dict:
    """{lang: Counter(token id -> count)} over a sample of the cleaned corpus (each source's
    first 200,000 characters), for colouring words by language; {} before the clean stage."""
    folder = root() / CLEAN_SHARDS
    path = tokenizer.path
    if path is None:
        return {}
    return _token_languages(str(folder), outputs.mtime(folder), str(path), outputs.mtime(path))


@st.cache_resource(show_spinner=False, max_entries=4)
def _token_languages(folder: str, key: float, tokenizer_path: str, tokenizer_key: float) -> dict:
    from llm_core import explain
    from llm_core.data.documents import read_shards
    from llm_core.tokenizer import Tokenizer

    if not Path(folder).is_dir() or not any(Path(folder).glob("*.parquet")):
        return {}
    try:
        docs = ((d.lang, d.source, d.text) for d in read_shards(folder) if d.lang)
        return explain.token_languages(Tokenizer.load(tokenizer_path), docs)
    except (OSError, ValueError) as err:  # a shard being rewritten by a run
        log.warning("%s: cannot read the cleaned corpus: %s", folder, err)
        return {}


def experiments_shown():
    """`dvc exp show --json` (dashboard.experiments.show), again only when an experiment or
    the figures it shows change."""
    from . import experiments

    r = root()
    return _experiments_shown(str(r), experiments.cache_key(r))


@st.cache_data(show_spinner=False, max_entries=8)
def _experiments_shown(path: str, key: tuple):
    from . import experiments

    return experiments.show(Path(path))


TASKS_HELDOUT = "data/finetune/tasks_heldout.jsonl"
TASKS_TRAIN = "data/finetune/tasks_train.jsonl"


def task_items(relative: str, task: str, lang: str, limit: int = 0) -> list:
    """The task items of one task and language in a task file the finetune stage wrote
    (llm_core.tasks.items), the first `limit` of them (0: all); [] when the file is missing
    or being rewritten."""
    path = root() / relative
    items = _task_index(str(path), outputs.mtime(path)).get((task, lang), [])
    return items[:limit] if limit else items


def task_names(relative: str, lang: str) -> set[str]:
    """The tasks that have items in `lang` in a task file of the finetune stage."""
    path = root() / relative
    return {task for task, item_lang in _task_index(str(path), outputs.mtime(path)) if item_lang == lang}


@st.cache_resource(show_spinner=False, max_entries=4)
def _task_index(path: str, key: float) -> dict:
    """{(task, lang): [items]} of a whole task file, read once per version of the file."""
    from llm_core.tasks.items import load_items

    if not Path(path).is_file():
        return {}
    try:
        items = load_items(path)
    except (OSError, ValueError) as err:
        log.warning("%s: cannot read the task items: %s", path, err)
        return {}
    index: dict = {}
    for it in items:
        index.setdefault((it.task, it.lang), []).append(it)
    return index


PREDICTIONS = "data/evaluate/predictions.jsonl"


def predictions(model: str, lang: str) -> list[dict]:
    """The evaluate stage's held-out answers of one model column ("chat_0shot", "base_1shot",
    ...) in one language: {id, task, lang, prompt, answer, prediction, score} each; [] when
    the file is missing or being rewritten."""
    path = root() / PREDICTIONS
    return [r for r in _predictions(str(path), outputs.mtime(path)) if r.get("model") == model
            and r.get("lang") == lang]


@st.cache_data(show_spinner=False, max_entries=2)
def _predictions(path: str, key: float) -> list[dict]:
    import json

    if not Path(path).is_file():
        return []
    try:
        with open(path, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as err:
        log.warning("%s: cannot read the predictions: %s", path, err)
        return []
    keys = ("task", "prompt", "answer", "prediction", "score")
    return [r for r in rows if isinstance(r, dict) and all(k in r for k in keys)]
