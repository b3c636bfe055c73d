"""dvc.yaml's deps cannot drift: every stage depends on exactly the repo code it
imports (its import closure from `python -m flows.<stage>`, lazy imports inside
functions included) and on the files it reads. A missing dep makes `dvc repro`
skip a stage whose code changed; a stale one reruns a stage for nothing.

The closure is computed from the source (ast), so it needs no import of torch
or Prefect and sees imports that only run in some branches.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "llm_core")
DVC = yaml.safe_load((REPO / "dvc.yaml").read_text())
STAGES = DVC["stages"]


def module_file(name: str) -> Path | None:
    """The repo file of a dotted module name (a package's __init__.py), or None."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = REPO.joinpath(*name.split("."))
    for f in (base.with_suffix(".py"), base / "__init__.py"):
        if f.exists():
            return f
    return None


def module_name(file: Path) -> str:
    parts = file.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(file: Path) -> set[str]:
    """Every module an import statement anywhere in `file` names, made absolute."""
    here = module_name(file)
    package = here if file.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
    return found


def import_closure(module: str) -> set[Path]:
    """Repo files that running `module` may import, with the packages' __init__.py."""
    todo, seen = [module], set()
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__
            f = module_file(".".join(parts[:i]))
            if f is not None and f not in seen:
                seen.add(f)
                todo.extend(imports_of(f))
    return seen


def declared(stage: str) -> list[str]:
    return [d for d in STAGES[stage].get("deps", [])]


def covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


def stage_modules(stage: str) -> list[str]:
    """`python -m flows.<stage>`, or `python -m flows.launch <stage>` (which runs flows.<stage>)."""
    cmd = STAGES[stage]["cmd"]
    launched = re.fullmatch(r"python -m flows\.launch (\w+)", cmd)
    if launched:
        return ["flows.launch", f"flows.{launched.group(1)}"]
    match = re.fullmatch(r"python -m (flows\.\w+)", cmd)
    assert match, f"dvc.yaml: stage {stage}: cmd is not `python -m flows.<stage>` or `python -m flows.launch <stage>`"
    return [match.group(1)]


def stage_closure(stage: str) -> set[Path]:
    return set().union(*(import_closure(m) for m in stage_modules(stage)))


@pytest.mark.parametrize("stage", list(STAGES))
def test_every_imported_repo_module_is_a_dep(stage):
    deps = declared(stage)
    code = sorted(str(f.relative_to(REPO)) for f in stage_closure(stage))
    missing = [f for f in code if not covered(f, deps)]
    assert not missing, f"dvc.yaml: stage {stage} imports {missing} but does not list them in deps"


@pytest.mark.parametrize("stage", list(STAGES))
def test_no_code_dep_is_stale(stage):
    code = {str(f.relative_to(REPO)) for f in stage_closure(stage)}
    stale = [d for d in declared(stage) if d.endswith(".py") and d not in code]
    assert not stale, f"dvc.yaml: stage {stage} lists {stale} in deps but never imports them"


def test_the_closure_sees_lazy_and_relative_imports():
    closure = {str(f.relative_to(REPO)) for f in import_closure("flows.tokenize")}
    assert {"flows/__init__.py", "flows/common.py", "llm_core/__init__.py", "llm_core/atomic.py",
            "llm_core/params/__init__.py", "llm_core/params/tokenize.py"} <= closure
    assert not any(f.startswith("llm_core/tasks/") for f in closure)  # tokenize has nothing to do with the task suite


def test_a_missing_dep_is_named(tmp_path):
    deps = [d for d in declared("evaluate") if d != "llm_core/tasks/scoring.py"]
    code = sorted(str(f.relative_to(REPO)) for f in import_closure("flows.evaluate"))
    assert "llm_core/tasks/scoring.py" in [f for f in code if not covered(f, deps)]


def sections_read(file: Path) -> set[str]:
    """The params.yaml sections a flow module opens with stage_params("...")."""
    calls = [n for n in ast.walk(ast.parse(file.read_text())) if isinstance(n, ast.Call)
             and getattr(n.func, "id", None) == "stage_params"]
    return {c.args[0].value for c in calls if c.args and isinstance(c.args[0], ast.Constant)}


@pytest.mark.parametrize("stage", list(STAGES))
def test_every_params_section_a_stage_reads_is_declared(stage):
    """A stage reading another section (inputs reads collect.sources) must declare it,
    or DVC would not rerun it when that section changes."""
    params = [p for p in STAGES[stage].get("params", []) if isinstance(p, str)]
    files = [REPO / (m.replace(".", "/") + ".py") for m in stage_modules(stage)]
    missing = [s for f in files for s in sections_read(f) if not any(p == s or p.startswith(s + ".") for p in params)]
    assert not missing, f"dvc.yaml: stage {stage} reads params section(s) {missing} without declaring them"


def test_finetune_reads_only_stage_outputs():
    """The aligned verses come from collect's output, not from collect's package cache."""
    assert "data/collect/aligned_verses.jsonl" in declared("finetune")
    assert "collect.cache_dir" not in STAGES["finetune"]["params"]
