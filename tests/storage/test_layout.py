"""ProjectLayout: the one declaration of the project directory's names."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuner.storage import JsonDirStorage
from tuner.storage.layout import (
    KNOWN_ENTRIES,
    ProjectLayout,
    looks_like_a_project,
    looks_like_keras_tuner,
)


def test_the_paths_are_the_files_on_disk(tmp_path):
    layout = ProjectLayout(tmp_path / "p")
    assert layout.project_file == tmp_path / "p" / "project.json"
    assert layout.state_file == tmp_path / "p" / "oracle.json"
    assert layout.trials_dir == tmp_path / "p" / "trials"
    assert layout.trial_file("03") == tmp_path / "p" / "trials" / "03.json"
    assert layout.lock_file == tmp_path / "p" / ".lock"
    assert layout.checkpoints_dir == tmp_path / "p" / "checkpoints"
    assert layout.trial_files_dir("03") == tmp_path / "p" / "checkpoints" / "03"
    assert layout.logs_dir == tmp_path / "p" / "logs"
    assert layout.mlflow_file == tmp_path / "p" / "mlflow.json"
    names = {"project.json", "oracle.json", "trials", ".lock", "checkpoints", "logs"}
    names.add("mlflow.json")
    assert names == KNOWN_ENTRIES


def test_it_matches_what_the_storage_writes(tmp_path):
    from tests.storage.test_contract import _trial

    storage = JsonDirStorage(tmp_path / "p")
    storage.save_project({"a": 1})
    storage.save_state({"b": 2})
    storage.save_trial(_trial("07"))
    layout = ProjectLayout(tmp_path / "p")
    assert layout.project_file.is_file() and layout.state_file.is_file()
    assert layout.trial_file("07").is_file()
    assert {p.name for p in (tmp_path / "p").iterdir()} <= KNOWN_ENTRIES


def test_it_accepts_strings_and_touches_no_file(tmp_path):
    layout = ProjectLayout(str(tmp_path / "nowhere"))  # type: ignore[arg-type]
    assert isinstance(layout.root, Path)
    assert layout.trial_files_dir("1") == tmp_path / "nowhere" / "checkpoints" / "1"
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("bad", ["", ".", "..", "../x", "a/b", "a\\b"])
def test_a_trial_folder_needs_a_plain_trial_id(tmp_path, bad):
    with pytest.raises(ValueError, match="needs a trial id"):
        ProjectLayout(tmp_path).trial_files_dir(bad)


def test_relative_paths_use_slashes(tmp_path):
    layout = ProjectLayout(tmp_path)
    assert layout.relative(layout.trial_file("03")) == "trials/03.json"
    assert layout.relative(layout.trial_files_dir("03") / "weights.npz") == (
        "checkpoints/03/weights.npz"
    )


def test_trial_file_names():
    assert ProjectLayout.is_trial_file_name("03.json")
    assert not ProjectLayout.is_trial_file_name(".03.json.1-2.tmp")
    assert not ProjectLayout.is_trial_file_name("notes.txt")
    assert ProjectLayout.trial_id_of("03.json") == "03"


def test_what_looks_like_a_project():
    assert looks_like_a_project([])
    assert looks_like_a_project(["trials", "thesis.tex"])
    assert looks_like_a_project(["oracle.json", "trial_0"])
    assert not looks_like_a_project(["thesis.tex"])
    assert looks_like_keras_tuner(["trial_00", "tuner0.json"])
    assert not looks_like_keras_tuner(["project.json", "trials"])
