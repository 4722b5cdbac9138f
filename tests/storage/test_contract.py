"""The contract every storage honours, run against each implementation."""

from __future__ import annotations

import json

import pytest

from tuner.hyperparameters import HyperParameters
from tuner.storage import InMemoryStorage, JsonDirStorage, Storage
from tuner.trial import Budget, Trial, TrialStatus


def _trial(trial_id: str, status: TrialStatus = TrialStatus.COMPLETED) -> Trial:
    hp = HyperParameters()
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    hp.values["lr"] = 0.01
    trial = Trial(trial_id, hp, status, score=0.5, best_step=2, budget=Budget(9, 3, "00", 1, 1))
    trial.metrics.update("val_loss", 0.7, step=0)
    trial.metrics.update("val_loss", float("nan"), step=1)
    trial.metrics.update("val_loss", 0.5, step=2)
    return trial


class StorageContract:
    """Subclass and provide ``make_storage``."""

    def make_storage(self, tmp_path) -> Storage:
        raise NotImplementedError

    def test_new_storage_is_empty(self, tmp_path):
        storage = self.make_storage(tmp_path)
        assert storage.load_project() is None
        assert storage.load_state() is None
        assert storage.load_trials() == []

    def test_project_and_state_round_trip(self, tmp_path):
        storage = self.make_storage(tmp_path)
        storage.save_project({"objective": {"name": "loss", "direction": "min"}})
        storage.save_state({"brackets": [[1, 2]]})
        storage.save_state({"brackets": [[3]]})
        assert storage.load_project() == {"objective": {"name": "loss", "direction": "min"}}
        assert storage.load_state() == {"brackets": [[3]]}

    def test_trials_round_trip_and_are_rewritten(self, tmp_path):
        storage = self.make_storage(tmp_path)
        storage.save_trial(_trial("01", TrialStatus.RUNNING))
        storage.save_trial(_trial("00"))
        storage.save_trial(_trial("01"))
        loaded = storage.load_trials()
        assert [t.trial_id for t in loaded] == ["00", "01"]
        assert all(t.status == TrialStatus.COMPLETED for t in loaded)
        original = _trial("00")
        assert loaded[0].to_dict() == original.to_dict()
        history = loaded[0].metrics.get_history("val_loss")
        assert [o.step for o in history] == [0, 1, 2]
        assert loaded[0].metrics.get_best_value("val_loss") == 0.5
        assert loaded[0].budget == Budget(9, 3, "00", 1, 1)

    def test_a_started_trial_is_readable_after_flush_and_superseded_by_its_end(self, tmp_path):
        storage = self.make_storage(tmp_path)
        storage.save_started_trial(_trial("00", TrialStatus.RUNNING))
        storage.flush()
        assert [t.status for t in storage.load_trials()] == [TrialStatus.RUNNING]
        storage.save_started_trial(_trial("01", TrialStatus.RUNNING))
        storage.save_trial(_trial("01"))
        assert [t.status for t in storage.load_trials()] == [
            TrialStatus.RUNNING,
            TrialStatus.COMPLETED,
        ]

    def test_clear_empties_the_project(self, tmp_path):
        storage = self.make_storage(tmp_path)
        storage.save_project({"a": 1})
        storage.save_state({"b": 2})
        storage.save_trial(_trial("00"))
        storage.clear()
        assert storage.load_project() is None
        assert storage.load_state() is None
        assert storage.load_trials() == []
        storage.save_trial(_trial("01"))
        assert [t.trial_id for t in storage.load_trials()] == ["01"]

    def test_documents_are_strict_json(self, tmp_path):
        storage = self.make_storage(tmp_path)
        with pytest.raises(ValueError):
            storage.save_state({"x": float("nan")})


class TestInMemoryStorage(StorageContract):
    def make_storage(self, tmp_path) -> Storage:
        return InMemoryStorage()


class TestJsonDirStorage(StorageContract):
    def make_storage(self, tmp_path) -> Storage:
        return JsonDirStorage(tmp_path / "project")

    def test_layout_and_format_version(self, tmp_path):
        storage = JsonDirStorage(tmp_path / "project")
        storage.save_project({"a": 1})
        storage.save_state({"b": 2})
        storage.save_trial(_trial("03"))
        root = tmp_path / "project"
        for path in (root / "project.json", root / "oracle.json", root / "trials" / "03.json"):
            assert json.loads(path.read_text())["format_version"] == 1
        assert not [p for p in root.rglob("*.tmp")]

    @pytest.mark.parametrize(
        "content", ['{"format_version": 1, "trial_id": "0', "", "[1, 2]", "{}"]
    )
    def test_a_damaged_trial_file_names_the_file_and_the_remedy(self, tmp_path, content):
        from tuner.errors import CorruptProjectFileError

        storage = JsonDirStorage(tmp_path / "project")
        storage.save_trial(_trial("00"))
        damaged = tmp_path / "project" / "trials" / "00.json"
        damaged.write_text(content)
        with pytest.raises(CorruptProjectFileError) as info:
            storage.load_trials()
        message = str(info.value)
        assert str(damaged) in message
        assert "Delete this file" in message and "overwrite=True" in message

    def test_a_trial_file_missing_fields_is_reported(self, tmp_path):
        from tuner.errors import CorruptProjectFileError

        storage = JsonDirStorage(tmp_path / "project")
        (tmp_path / "project" / "trials" / "07.json").write_text('{"format_version": 1}')
        with pytest.raises(CorruptProjectFileError, match=r"07\.json is not a valid trial"):
            storage.load_trials()

    def test_a_newer_format_is_refused(self, tmp_path):
        from tuner.errors import FormatVersionError

        storage = JsonDirStorage(tmp_path / "project")
        (tmp_path / "project" / "project.json").write_text('{"format_version": 99}')
        with pytest.raises(FormatVersionError, match="newer version of tuner"):
            storage.load_project()

    def test_leftover_temporary_files_are_ignored(self, tmp_path):
        storage = JsonDirStorage(tmp_path / "project")
        storage.save_trial(_trial("00"))
        (tmp_path / "project" / "trials" / ".01.json.abc.tmp").write_text('{"torn')
        assert [t.trial_id for t in storage.load_trials()] == ["00"]

    def test_the_lock_refuses_a_second_holder(self, tmp_path):
        from tuner.errors import ProjectLockedError

        first = JsonDirStorage(tmp_path / "project")
        second = JsonDirStorage(tmp_path / "project")
        with (
            first.lock(),
            pytest.raises(ProjectLockedError, match="in use by another search"),
            second.lock(),
        ):
            pass
        with second.lock():
            pass
