"""Crash-safe outputs: a file or folder appears whole or not at all, and a crash
between the two renames of a folder swap never loses the previous version."""
import os

import pytest

from llm_core import atomic


def test_a_file_appears_only_when_whole(tmp_path):
    target = tmp_path / "out" / "m.json"
    atomic.write_text(target, "old\n")
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(target, "w") as f:
            f.write("half of the new")
            raise RuntimeError("crash while writing")
    assert target.read_text() == "old\n" and not (tmp_path / "out" / "m.json.tmp").exists()


def test_json_is_one_format_everywhere(tmp_path):
    path = atomic.write_json(tmp_path / "a.json", {"b": 1, "a": "ñ"})
    assert path.read_text(encoding="utf-8") == '{\n  "a": "ñ",\n  "b": 1\n}\n'


def test_jsonl_counts_its_rows(tmp_path):
    assert atomic.write_jsonl(tmp_path / "r.jsonl", ({"i": i} for i in range(3))) == 3
    assert (tmp_path / "r.jsonl").read_text().splitlines() == ['{"i": 0}', '{"i": 1}', '{"i": 2}']


def test_a_failed_folder_build_keeps_the_previous_folder(tmp_path):
    target = tmp_path / "models" / "base"
    with atomic.atomic_dir(target) as tmp:
        (tmp / "w").write_text("v1")
    with pytest.raises(ValueError):
        with atomic.atomic_dir(target) as tmp:
            (tmp / "w").write_text("v2, half")
            raise ValueError("crash while building")
    assert (target / "w").read_text() == "v1" and not target.with_name("base.tmp").exists()


def test_a_crash_between_the_two_renames_is_recovered(tmp_path, monkeypatch):
    target = tmp_path / "base"
    with atomic.atomic_dir(target) as tmp:
        (tmp / "w").write_text("v1")
    real_rename = os.rename

    def crash_on_second(src, dst):
        if str(src).endswith(".tmp"):
            raise KeyboardInterrupt("killed between the renames")
        real_rename(src, dst)

    monkeypatch.setattr(atomic.os, "rename", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_dir(target) as tmp:
            (tmp / "w").write_text("v2")
    monkeypatch.undo()
    assert not target.exists() and (tmp_path / "base.old" / "w").read_text() == "v1"
    assert (atomic.recover(target) / "w").read_text() == "v1"  # what every reader calls first
    with atomic.atomic_dir(target) as tmp:  # and the next write goes through
        (tmp / "w").write_text("v3")
    assert (target / "w").read_text() == "v3" and not (tmp_path / "base.old").exists()


def test_a_file_writer_can_outlive_a_block(tmp_path):
    out = atomic.AtomicFile(tmp_path / "t.bin")
    out.file.write(b"abc")
    assert not (tmp_path / "t.bin").exists()
    out.commit()
    assert (tmp_path / "t.bin").read_bytes() == b"abc"
    other = atomic.AtomicFile(tmp_path / "u.bin")
    other.file.write(b"x")
    other.discard()
    assert not list(tmp_path.glob("u.bin*"))


def test_only_write_modes(tmp_path):
    with pytest.raises(ValueError, match="not a write mode"):
        atomic.AtomicFile(tmp_path / "x", "r")
