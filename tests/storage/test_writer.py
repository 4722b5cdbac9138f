"""FileWriter: atomic, ordered writes, and the held-back record of a starting trial."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tuner.errors import StorageError
from tuner.storage import JsonDirStorage
from tuner.storage import writer as writer_module
from tuner.storage.writer import FileWriter, write_atomic
from tuner.trial import TrialStatus


@pytest.fixture
def renames(monkeypatch):
    """The files renamed into place, in order (the instant each write becomes visible)."""
    seen: list[str] = []
    real_replace = os.replace

    def replace(source, destination):
        real_replace(source, destination)
        seen.append(os.path.basename(destination))

    monkeypatch.setattr(writer_module.os, "replace", replace)
    return seen


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    write_atomic(tmp_path / "a.json", b"{}")
    write_atomic(tmp_path / "a.json", b'{"b": 1}')
    assert os.listdir(tmp_path) == ["a.json"]
    assert json.loads((tmp_path / "a.json").read_text()) == {"b": 1}


def test_a_held_write_superseded_by_the_same_file_is_never_written(tmp_path, renames):
    writer = FileWriter(grace_seconds=60)
    writer.write_later(tmp_path / "t.json", {"status": "RUNNING"})
    writer.write(tmp_path / "t.json", {"status": "COMPLETED"})
    assert renames == ["t.json"]
    assert json.loads((tmp_path / "t.json").read_text()) == {"status": "COMPLETED"}


def test_a_held_write_goes_first_when_another_file_is_written(tmp_path, renames):
    writer = FileWriter(grace_seconds=60)
    writer.write_later(tmp_path / "trial.json", {"status": "RUNNING"})
    writer.write(tmp_path / "state.json", {"newest": "trial"})
    assert renames == ["trial.json", "state.json"]  # the order the project went through
    writer.write_later(tmp_path / "a.json", {"n": 1})
    writer.write_later(tmp_path / "b.json", {"n": 2})  # a second held write releases the first
    assert renames[-1] == "a.json"
    writer.flush()
    assert renames[-1] == "b.json"


def test_a_held_write_lands_once_its_grace_period_is_over(tmp_path):
    writer = FileWriter(grace_seconds=0.05)
    writer.write_later(tmp_path / "t.json", {"status": "RUNNING"})
    assert not (tmp_path / "t.json").exists()
    deadline = time.monotonic() + 10
    while not (tmp_path / "t.json").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert json.loads((tmp_path / "t.json").read_text()) == {"status": "RUNNING"}


def test_a_failed_background_write_is_reported_by_the_next_call(tmp_path):
    writer = FileWriter(grace_seconds=0.02)
    missing = tmp_path / "no-such-folder" / "t.json"
    writer.write_later(missing, {"status": "RUNNING"})
    time.sleep(0.3)
    with pytest.raises(StorageError, match="no-such-folder") as info:
        writer.write(tmp_path / "other.json", {})
    assert "resumes" in str(info.value)
    writer.write(tmp_path / "other.json", {})  # reported once; the writer carries on


def test_nan_is_refused_before_anything_is_written(tmp_path):
    writer = FileWriter()
    with pytest.raises(ValueError):
        writer.write(tmp_path / "t.json", {"x": float("nan")})
    assert os.listdir(tmp_path) == []


def test_the_storage_flushes_before_reading_and_when_its_lock_is_released(tmp_path):
    from tests.storage.test_contract import _trial

    storage = JsonDirStorage(tmp_path / "p")
    path = tmp_path / "p" / "trials" / "00.json"
    with storage.lock():
        storage.save_started_trial(_trial("00", TrialStatus.RUNNING))
        assert not path.exists()  # held back: the trial may end within its grace period
    assert json.loads(path.read_text())["status"] == "RUNNING"


def test_a_held_record_is_written_when_the_program_exits(tmp_path):
    script = f"""
import tuner
from tuner.storage import JsonDirStorage
from tests.storage.test_contract import _trial
from tuner.trial import TrialStatus
JsonDirStorage({str(tmp_path / "p")!r}).save_started_trial(_trial("00", TrialStatus.RUNNING))
"""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", script], check=True, cwd=root, timeout=120)
    record = json.loads((tmp_path / "p" / "trials" / "00.json").read_text())
    assert record["status"] == "RUNNING"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_leaves_its_parents_held_record_alone(tmp_path):
    writer = FileWriter(grace_seconds=60)
    writer.write_later(tmp_path / "t.json", {"status": "RUNNING"})
    child = os.fork()
    if child == 0:  # the child exits normally: its exit hooks run, and must not write
        os._exit(0 if not writer_module._open_writers else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not (tmp_path / "t.json").exists()
    writer.flush()
    assert (tmp_path / "t.json").exists()
