"""flows.dvc_run: the DVC command the pipeline flow starts, its output split by stage, the lock."""
from __future__ import annotations

import sys

import pytest

from flows.dvc_run import (PipelineError, StageOutput, dvc_command, override_args, pipeline_lock, publishes, stages,
                           unique_name)
from flows.pipeline import parse_sets
from llm_core.config import ConfigError

# What `dvc exp run` printed for a three-stage project whose second stage failed (DVC 3.67).
FAILED_RUN = """Reproducing experiment 'calm-mods'
Stage 'one' didn't change, skipping
Running stage 'two':
> python3 two.py
two working
progress 1\rprogress 2\rprogress 3\r
\rtrain:  17%|█▋        | 240/1440 [01:32<06:38]00:49:05.572 | INFO    | llm_core.checkpoint - wrote checkpoint
forja two failed: params.yaml: b.y: must not be 99
ERROR: failed to reproduce 'two': failed to run: python3 two.py, exited with 1
ERROR: failed to reproduce 'two': failed to run: python3 two.py, exited with 1
"""
GOOD_RUN = """Running stage 'one':
> python3 one.py
one says hi
Updating lock file 'dvc.lock'

Stage 'two' is cached - skipping run, checking out outputs
Stage 'three' didn't change, skipping

To track the changes with git, run:

\tgit add dvc.lock
"""


def lines(text: str):
    import io

    return iter(io.StringIO(text, newline=""))


def sections(text: str) -> tuple[list, StageOutput]:
    out = StageOutput(lines(text))
    got = []
    while (found := out.next_stage()) is not None:
        got.append((*found, list(out.stage_lines())))
    return got, out


def test_output_is_split_by_stage_in_dvcs_order():
    got, out = sections(GOOD_RUN)
    assert [(s, how) for s, how, _ in got] == [("one", "ran"), ("two", "restored from the run cache"),
                                                ("three", "up to date")]
    assert ("one says hi", False) in got[0][2]
    assert got[1][2] == [] and out.failed is None
    assert "To track the changes with git, run:" in out.outside  # DVC's closing words are the flow's, not a stage's


def test_a_failed_stage_is_named_and_progress_lines_are_marked():
    got, out = sections(FAILED_RUN)
    assert [s for s, _, _ in got] == ["one", "two"]
    assert out.failed == "two" and out.error.startswith("ERROR: failed to reproduce 'two'")
    two = got[1][2]
    assert ("progress 1", True) in two and ("progress 2", True) in two  # redrawn in place: the flow throttles them
    assert ("progress 3", False) in two  # its last state ends the line: always logged
    bar = two.index(("train:  17%|█▋        | 240/1440 [01:32<06:38]", True))  # a log line written over a bar
    assert two[bar + 1] == ("00:49:05.572 | INFO    | llm_core.checkpoint - wrote checkpoint", False)
    assert ("forja two failed: params.yaml: b.y: must not be 99", False) in two
    assert out.outside[0] == "Reproducing experiment 'calm-mods'"


def test_the_command_is_a_repro_or_a_temporary_experiment():
    assert dvc_command() == [sys.executable, "-m", "dvc", "repro"]
    cmd = dvc_command({"pretrain.train.max_steps": 720, "evaluate.shots": [0, 1], "finetune.method": "lora"}, "longer")
    assert cmd[3:] == ["exp", "run", "--temp", "-n", "longer", "-S", "++pretrain.train.max_steps=720",
                       "-S", "++evaluate.shots=[0, 1]", "-S", '++finetune.method="lora"']


@pytest.mark.parametrize("overrides, says", [({"pretrain..x": 1}, "'pretrain..x' is not a params key"),
                                             ({"--force": 1}, "'--force' is not a params key"),
                                             ({"a.b": None}, "a.b: a value is needed")])
def test_bad_overrides_are_named(overrides, says):
    with pytest.raises(ConfigError, match=says.replace(".", r"\.").replace("[", r"\[")):
        override_args(overrides)


def test_a_bad_experiment_name_is_refused_and_a_taken_one_numbered():
    with pytest.raises(ConfigError, match="experiment: '-n x'"):
        dvc_command({}, "-n x")
    assert unique_name("nightly", set()) == "nightly"
    assert unique_name("nightly", {"nightly", "nightly-2"}) == "nightly-3"


def test_sets_from_the_command_line_are_yaml():
    assert parse_sets(["pretrain.train.max_steps=720", "evaluate.shots=[0, 3]", "finetune.method=lora"]) == {
        "pretrain.train.max_steps": 720, "evaluate.shots": [0, 3], "finetune.method": "lora"}
    with pytest.raises(ConfigError, match="--set 'max_steps': expected KEY=VALUE"):
        parse_sets(["max_steps"])


def test_stages_come_from_dvc_yaml_and_say_what_they_publish(tmp_path):
    with pytest.raises(PipelineError, match="dvc.yaml: not found"):
        stages(tmp_path)
    (tmp_path / "dvc.yaml").write_text("stages: []\n")
    with pytest.raises(PipelineError, match="expected a 'stages' mapping"):
        stages(tmp_path)
    (tmp_path / "dvc.yaml").write_text("stages:\n  b:\n    cmd: x\n    outs: [{reports/b.md: {cache: false}}]\n"
                                       "    metrics: [m.json]\n  a:\n    cmd: y\n")
    found = stages(tmp_path)
    assert list(found) == ["b", "a"]
    assert publishes(found["b"], "report") and publishes(found["b"], "metrics")
    assert not publishes(found["a"], "report") and not publishes(found["a"], "metrics")


def test_a_second_holder_of_the_lock_is_refused_with_the_first_ones_name(tmp_path):
    with pipeline_lock(tmp_path, "flow run first-one, pid 1"):
        with pytest.raises(PipelineError, match="in progress .*first-one"):
            with pipeline_lock(tmp_path, "flow run second"):
                pass
    with pipeline_lock(tmp_path, "flow run third"):  # released when the first ended
        pass


def test_a_stages_own_console_lines_keep_their_level():
    import logging

    from flows.pipeline import _level

    assert _level("00:46:36.132 | WARNING | llm_core.data.collect - 3 skipped") == (logging.WARNING,
                                                                                  "llm_core.data.collect - 3 skipped")
    assert _level("> python -m flows.clean") == (logging.INFO, "> python -m flows.clean")
