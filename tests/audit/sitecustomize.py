"""Test-only: records which files and folders a `python -m flows.<stage>` process
reads, so tests/test_pipeline_data.py can check them against dvc.yaml's deps.

Python imports this module at start-up when its folder is on PYTHONPATH; it does
nothing unless FORJA_AUDIT_DIR is set. Reads done by C++ libraries (pyarrow,
sentencepiece) are not seen, but the folder listings that find their files are.
"""
import atexit
import os
import sys

_DIR = os.environ.get("FORJA_AUDIT_DIR")
_seen: set[str] = set()


def _hook(event, args):
    if args and isinstance(args[0], str) and args[0].endswith(".__path_hook__"):
        return  # setuptools' editable finder puts this marker on sys.path: no file, no folder
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        mode, flags = args[1], args[2]
        reading = ("r" in mode and "+" not in mode) if isinstance(mode, str) else not (flags & (os.O_WRONLY | os.O_RDWR))
        if reading:
            _seen.add(os.path.abspath(os.fsdecode(args[0])))
    elif event in ("os.listdir", "os.scandir") and args and args[0] is not None and not isinstance(args[0], int):
        _seen.add(os.path.abspath(os.fsdecode(args[0])))


def _dump():
    main = sys.argv[0] if sys.argv else ""
    stage = os.path.splitext(os.path.basename(main))[0]
    if os.path.basename(os.path.dirname(main)) != "flows":
        return  # dvc itself, git, a Dask worker: not a stage
    with open(os.path.join(_DIR, f"{stage}-{os.getpid()}.txt"), "w") as f:
        f.write("\n".join(sorted(_seen)))


if _DIR:
    sys.addaudithook(_hook)
    atexit.register(_dump)
