"""JsonDirStorage's own operations: clear(), the read-only mode, and write notifications."""

from __future__ import annotations

import json

import pytest

from tests.storage.test_contract import _trial
from tuner.errors import CorruptProjectFileError, ProjectLockedError, StorageError
from tuner.storage import JsonDirStorage
from tuner.trial import TrialStatus


def _project(tmp_path, **files):
    storage = JsonDirStorage(tmp_path / "p")
    storage.save_project({"objective": "loss"})
    storage.save_state({"seed": 1})
    storage.save_trial(_trial("00"))
    for relative, content in files.items():
        path = tmp_path / "p" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return storage


def _tree(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


# --- clear ---------------------------------------------------------------------------------------
def test_clear_deletes_the_project_but_keeps_the_lock_file(tmp_path):
    storage = _project(tmp_path, **{"checkpoints/00/weights.npz": "w", "logs/x": "l"})
    with storage.lock():
        pass
    storage.clear()
    assert _tree(tmp_path / "p") == [".lock", "trials"]
    assert storage.load_project() is None and storage.load_trials() == []
    storage.save_trial(_trial("01"))  # usable afterwards
    assert [t.trial_id for t in storage.load_trials()] == ["01"]


def test_clear_writes_a_held_record_before_deleting_not_after(tmp_path):
    storage = _project(tmp_path)
    storage.save_started_trial(_trial("01", TrialStatus.RUNNING))
    storage.clear()
    storage.flush()
    assert _tree(tmp_path / "p") == [".lock", "trials"]


def test_clear_refuses_a_folder_that_is_not_a_project_and_leaves_it_as_it_was(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    storage = JsonDirStorage(folder)
    with pytest.raises(StorageError, match="does not look like a tuner project"):
        storage.clear()
    assert _tree(folder) == ["thesis.tex"]


def test_clear_accepts_a_new_or_empty_folder_and_a_keras_tuner_project(tmp_path):
    JsonDirStorage(tmp_path / "new").clear()
    assert _tree(tmp_path / "new") == [".lock", "trials"]
    old = tmp_path / "old"
    (old / "trial_00").mkdir(parents=True)
    (old / "tuner0.json").write_text("{}")
    JsonDirStorage(old).clear()
    assert _tree(old) == [".lock", "trials"]


def test_clear_refuses_while_another_search_holds_the_project(tmp_path):
    _project(tmp_path)
    other = JsonDirStorage(tmp_path / "p")
    with other.lock(), pytest.raises(ProjectLockedError):
        JsonDirStorage(tmp_path / "p").clear()
    assert (tmp_path / "p" / "trials" / "00.json").exists()


# --- read-only -----------------------------------------------------------------------------------
def test_read_only_reads_what_the_search_wrote(tmp_path):
    _project(tmp_path)
    viewer = JsonDirStorage(tmp_path / "p", read_only=True)
    assert viewer.load_project() == {"objective": "loss"}
    assert viewer.load_state() == {"seed": 1}
    assert [t.trial_id for t in viewer.load_trials()] == ["00"]


def test_read_only_refuses_every_save_and_changes_nothing(tmp_path):
    _project(tmp_path)
    before = {p: p.read_bytes() for p in (tmp_path / "p").rglob("*") if p.is_file()}
    viewer = JsonDirStorage(tmp_path / "p", read_only=True)
    saves = [
        lambda: viewer.save_project({}),
        lambda: viewer.save_state({}),
        lambda: viewer.save_trial(_trial("09")),
        lambda: viewer.save_started_trial(_trial("09", TrialStatus.RUNNING)),
        viewer.clear,
    ]
    for save in saves:
        with pytest.raises(StorageError, match="opened read-only"):
            save()
    viewer.flush()
    after = {p: p.read_bytes() for p in (tmp_path / "p").rglob("*") if p.is_file()}
    assert after == before


def test_read_only_creates_nothing(tmp_path):
    _project(tmp_path)
    (tmp_path / "p" / "trials" / "00.json").unlink()
    (tmp_path / "p" / "trials").rmdir()
    viewer = JsonDirStorage(tmp_path / "p", read_only=True)
    with viewer.lock():
        assert viewer.load_trials() == []
    viewer.flush()
    assert _tree(tmp_path / "p") == ["oracle.json", "project.json"]


def test_read_only_takes_no_lock(tmp_path):
    search = _project(tmp_path)
    with search.lock():  # the search holds the project; a viewer still reads it
        with pytest.raises(ProjectLockedError):
            JsonDirStorage(tmp_path / "p").lock().__enter__()
        viewer = JsonDirStorage(tmp_path / "p", read_only=True)
        with viewer.lock():
            assert [t.trial_id for t in viewer.load_trials()] == ["00"]


def _make(folder, kind):
    if kind == "a file":
        folder.write_text("x")
    elif kind != "missing":
        folder.mkdir()
    if kind == "a parent":
        (folder / "run").mkdir()
        (folder / "run" / "project.json").write_text("{}")
    elif kind == "keras-tuner's":
        (folder / "trial_00").mkdir()


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "does not exist"),
        ("a file", "is a file"),
        ("a parent", "holds projects"),
        ("keras-tuner's", "written by keras-tuner"),
        ("empty", "has no project.json"),
    ],
)
def test_read_only_names_what_a_folder_is_when_it_is_not_a_project(tmp_path, kind, message):
    folder = tmp_path / "f"
    _make(folder, kind)
    with pytest.raises(StorageError, match=message):
        JsonDirStorage(folder, read_only=True)


def test_read_only_errors_give_a_viewers_remedy(tmp_path):
    _project(tmp_path)
    (tmp_path / "p" / "trials" / "00.json").write_text("{")
    viewer = JsonDirStorage(tmp_path / "p", read_only=True)
    with pytest.raises(CorruptProjectFileError, match="when the search resumes"):
        viewer.load_trials()
    with pytest.raises(CorruptProjectFileError, match="Delete this file"):
        JsonDirStorage(tmp_path / "p").load_trials()


# --- write notifications -------------------------------------------------------------------------
def test_the_listener_hears_each_save_in_order_with_relative_paths(tmp_path):
    heard: list[str] = []
    storage = JsonDirStorage(tmp_path / "p", on_write=heard.append)
    storage.save_project({"a": 1})
    storage.save_started_trial(_trial("00", TrialStatus.RUNNING))
    storage.save_trial(_trial("00"))
    storage.save_state({"b": 2})
    assert heard == ["project.json", "trials/00.json", "trials/00.json", "oracle.json"]
    for relative in heard:
        assert json.loads((tmp_path / "p" / relative).read_text())["format_version"] == 1


def test_the_listener_hears_no_save_that_failed(tmp_path):
    heard: list[str] = []
    storage = JsonDirStorage(tmp_path / "p", on_write=heard.append)
    with pytest.raises(ValueError):
        storage.save_state({"x": float("nan")})
    assert heard == []
