"""inputs: fingerprints of the user's own files, so `dvc repro` sees their edits.

    python -m flows.inputs        (DVC runs it before collect, on every repro)

Writes data/inputs/collect.json (every file of collect.sources: size, SHA-256;
each URL with its refresh number) and data/inputs/finetune.json (finetune.files).
collect and finetune depend on them (see llm_core/data/fingerprint.py). This
stage is bookkeeping that must stay fast on every run, so it is a plain script,
not a Prefect flow.
"""
from __future__ import annotations

import time
from pathlib import Path

from llm_core.data.fingerprint import write_fingerprints
from llm_core.params.collect import CollectParams
from llm_core.params.finetune import FinetuneParams

from .common import log, run_stage, stage_params

OUT = Path("data/inputs")


def fingerprint() -> None:
    start = time.perf_counter()
    collect: CollectParams = stage_params("collect")
    finetune: FinetuneParams = stage_params("finetune")
    state = Path(collect.cache_dir) / "inputs-state.json"
    paths = write_fingerprints(OUT, collect.sources, [f.path for f in finetune.files], state=state)
    log.info("inputs: fingerprinted %d sources and %d chat files into %s in %.2fs", len(collect.sources),
             len(finetune.files), ", ".join(map(str, paths.values())), time.perf_counter() - start)


def main() -> None:
    run_stage("inputs", lambda: (stage_params("collect"), stage_params("finetune")), fingerprint)


if __name__ == "__main__":
    main()
