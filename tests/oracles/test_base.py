"""Book-keeping of the Oracle base: retries, failures, duplicates, new entries, user oracles."""

from __future__ import annotations

import pytest

from tests.conftest import drive
from tuner.errors import FatalValueError, ObjectiveNotFoundError, TooManyFailedTrialsError
from tuner.hyperparameters import HyperParameters, Int
from tuner.oracles import Oracle, RandomSearchOracle
from tuner.storage import JsonDirStorage
from tuner.trial import TrialStatus


def _space() -> HyperParameters:
    hp = HyperParameters()
    hp.Int("x", 0, 100)
    return hp


def _finish(oracle, trial, status="COMPLETED", loss=1.0, message=None):
    if status == "COMPLETED":
        oracle.update_trial(trial.trial_id, {"loss": loss})
    trial.status = status
    trial.message = message
    oracle.end_trial(trial)


def test_invalid_trial_is_retried_with_the_same_id_and_values_then_failed():
    oracle = RandomSearchOracle("loss", max_trials=3, seed=0, hyperparameters=_space(),
                                max_retries_per_trial=2)  # fmt: skip
    trial = oracle.create_trial("w")
    _finish(oracle, trial, "INVALID", message="boom")
    assert oracle.trials[trial.trial_id].status == TrialStatus.INVALID  # waiting for a retry
    assert oracle.end_order == []
    again = oracle.create_trial("w")
    assert again.trial_id == trial.trial_id and again.retries == 1
    assert again.values == trial.values and again.status == TrialStatus.RUNNING
    _finish(oracle, again, "INVALID", message="boom")
    third = oracle.create_trial("w")
    assert third.trial_id == trial.trial_id and third.retries == 2
    _finish(oracle, third, "INVALID", message="boom")
    assert oracle.trials[trial.trial_id].status == TrialStatus.FAILED  # no retry left: final
    assert oracle.end_order == [trial.trial_id] and oracle.start_order == [trial.trial_id]
    assert oracle.create_trial("w").trial_id != trial.trial_id


def test_failed_is_final_at_once_even_with_retries_left():
    oracle = RandomSearchOracle("loss", max_trials=3, seed=0, hyperparameters=_space(),
                                max_retries_per_trial=2)  # fmt: skip
    trial = oracle.create_trial("w")
    _finish(oracle, trial, "FAILED", message="FailedTrialError")
    assert oracle.trials[trial.trial_id].status == TrialStatus.FAILED
    assert oracle.trials[trial.trial_id].retries == 0
    assert oracle.create_trial("w").trial_id != trial.trial_id


def test_consecutive_failures_stop_the_search_with_the_last_error():
    oracle = RandomSearchOracle("loss", max_trials=10, seed=0, hyperparameters=_space())
    for index in range(2):
        _finish(oracle, oracle.create_trial("w"), "FAILED", message=f"error {index}")
    _finish(oracle, oracle.create_trial("w"), "COMPLETED")  # a success resets the count
    for index in range(2):
        _finish(oracle, oracle.create_trial("w"), "FAILED", message=f"error {index}")
    with pytest.raises(RuntimeError, match="Number of consecutive failures exceeded the limit "
                       "of 3") as info:  # fmt: skip
        _finish(oracle, oracle.create_trial("w"), "FAILED", message="ValueError: the last one")
    assert isinstance(info.value, TooManyFailedTrialsError)
    assert "ValueError: the last one" in str(info.value)


def test_invalid_trials_out_of_retries_count_as_consecutive_failures():
    oracle = RandomSearchOracle("loss", max_trials=10, seed=0, hyperparameters=_space(),
                                max_consecutive_failed_trials=2)  # fmt: skip
    _finish(oracle, oracle.create_trial("w"), "INVALID", message="crash 1")
    with pytest.raises(TooManyFailedTrialsError, match="limit of 2"):
        _finish(oracle, oracle.create_trial("w"), "INVALID", message="crash 2")
    assert [t.status for t in oracle.trials.values()] == ["FAILED", "FAILED"]


def test_start_and_end_order_survive_a_reload(tmp_path):
    oracle = RandomSearchOracle("loss", max_trials=6, seed=0, hyperparameters=_space(),
                                max_retries_per_trial=1)  # fmt: skip
    oracle.attach_storage(JsonDirStorage(tmp_path / "p"))
    first, second, third = (oracle.create_trial(name) for name in "abc")
    _finish(oracle, third, "COMPLETED")
    _finish(oracle, first, "INVALID", message="crash")  # waits for its retry
    _finish(oracle, second, "FAILED", message="final")
    assert oracle.start_order == [first.trial_id, second.trial_id, third.trial_id]
    assert oracle.end_order == [third.trial_id, second.trial_id]

    reloaded = RandomSearchOracle("loss", max_trials=6, hyperparameters=_space())
    reloaded.attach_storage(JsonDirStorage(tmp_path / "p"))
    assert reloaded.start_order == oracle.start_order
    assert reloaded.end_order == oracle.end_order
    assert reloaded.trials[first.trial_id].status == TrialStatus.INVALID
    retry = reloaded.create_trial("d")  # the INVALID trial is retried first
    assert retry.trial_id == first.trial_id and retry.status == TrialStatus.RUNNING
    _finish(reloaded, retry, "COMPLETED")
    assert reloaded.end_order == [third.trial_id, second.trial_id, first.trial_id]


def test_nan_or_inf_objective_fails_the_trial_and_never_becomes_best():
    oracle = RandomSearchOracle("loss", max_trials=5, seed=0, hyperparameters=_space())
    oracle.max_consecutive_failed_trials = 10
    for loss in (float("nan"), float("-inf"), 2.0, float("inf")):
        _finish(oracle, oracle.create_trial("w"), "COMPLETED", loss=loss)
    statuses = [t.status for t in oracle.trials.values()]
    assert statuses == ["FAILED", "FAILED", "COMPLETED", "FAILED"]
    assert "is nan" in oracle.trials["00"].message
    assert [t.score for t in oracle.get_best_trials(5)] == [2.0]


def test_missing_objective_lists_the_logged_metrics():
    oracle = RandomSearchOracle("val_accuracy", max_trials=5, seed=0, hyperparameters=_space())
    trial = oracle.create_trial("w")
    oracle.update_trial(trial.trial_id, {"loss": 0.1, "accuracy": 0.9})
    trial.status = "COMPLETED"
    with pytest.raises(ObjectiveNotFoundError, match=r"logged only \['accuracy', 'loss'\]"):
        oracle.end_trial(trial)


def test_best_trials_are_sorted_by_direction():
    oracle = RandomSearchOracle("val_accuracy", max_trials=4, seed=0, hyperparameters=_space())
    for value in (0.5, 0.9, 0.7):
        trial = oracle.create_trial("w")
        oracle.update_trial(trial.trial_id, {"val_accuracy": value - 0.1}, step=0)
        oracle.update_trial(trial.trial_id, {"val_accuracy": value}, step=1)
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    best = oracle.get_best_trials(3)
    assert [t.score for t in best] == [0.9, 0.7, 0.5]
    assert best[0].best_step == 1
    assert oracle.get_best_trials(1)[0].score == 0.9


def test_new_entries_are_sampled_unless_told_otherwise():
    oracle = RandomSearchOracle("loss", max_trials=5, seed=3)
    trial = oracle.create_trial("w")
    values = {oracle.sample_new_entry(trial.trial_id, Int("n", 0, 10**6)) for _ in range(2)}
    assert len(values) == 1 and values != {0}  # random, but stable for one trial

    fixed = RandomSearchOracle("loss", max_trials=5, seed=3, tune_new_entries=False)
    assert fixed.sample_new_entry(fixed.create_trial("w").trial_id, Int("n", 5, 10**6)) == 5

    closed = RandomSearchOracle("loss", max_trials=5, allow_new_entries=False)
    with pytest.raises(FatalValueError, match="allow_new_entries=False"):
        closed.sample_new_entry(closed.create_trial("w").trial_id, Int("n", 0, 3))


def test_update_space_leaves_new_hyperparameters_out_when_not_tuned():
    given = HyperParameters()
    given.Float("lr", 1e-4, 1e-2, sampling="log")
    oracle = RandomSearchOracle("loss", max_trials=5, hyperparameters=given,
                                tune_new_entries=False)  # fmt: skip
    hp = HyperParameters()
    hp.Int("n", 5, 9)
    oracle.update_space(hp)
    assert [h.name for h in oracle.get_space().space] == ["lr"]  # as in keras-tuner
    trial = oracle.create_trial("w")
    assert oracle.sample_new_entry(trial.trial_id, Int("n", 5, 9)) == 5  # its default


def test_a_keras_tuner_style_user_oracle_with_populate_space():
    class MyOracle(Oracle):
        def populate_space(self, trial_id):
            values = self._random_values()
            if values is None:
                return {"status": "STOPPED", "values": None}
            return {"status": "RUNNING", "values": values}

    oracle = MyOracle(objective="loss", max_trials=20, seed=1)
    oracle.hyperparameters.Choice("c", ["a", "b", "c"])
    trials = drive(oracle)
    assert sorted(t.values["c"] for t in trials) == ["a", "b", "c"]


def test_an_oracle_without_proposal_method_says_what_to_implement():
    with pytest.raises(NotImplementedError, match="_propose"):
        Oracle(objective="loss").create_trial("w")


def test_reload_requeues_running_trials_and_keeps_completed_ones(tmp_path):
    oracle = RandomSearchOracle("loss", max_trials=4, seed=0, hyperparameters=_space())
    oracle.attach_storage(JsonDirStorage(tmp_path / "p"))
    done = oracle.create_trial("a")
    _finish(oracle, done, "COMPLETED", loss=0.3)
    running = oracle.create_trial("a")

    reloaded = RandomSearchOracle("loss", max_trials=4, seed=99, hyperparameters=_space())
    assert reloaded.attach_storage(JsonDirStorage(tmp_path / "p"))
    assert reloaded._seed == oracle._seed  # the project's seed wins over a new one
    assert reloaded.trials[done.trial_id].status == TrialStatus.COMPLETED
    again = reloaded.create_trial("b")
    assert again.trial_id == running.trial_id and again.values == running.values
    rest = drive(reloaded)
    assert len(reloaded.trials) == 4 and len(rest) == 2


def test_reload_with_another_objective_is_refused(tmp_path):
    RandomSearchOracle("loss", max_trials=2).attach_storage(JsonDirStorage(tmp_path / "p"))
    with pytest.raises(FatalValueError, match="created with objective"):
        RandomSearchOracle("val_loss").attach_storage(JsonDirStorage(tmp_path / "p"))


def test_constructor_validation():
    with pytest.raises(ValueError, match="max_trials"):
        RandomSearchOracle("loss", max_trials=0)
    with pytest.raises(ValueError, match="max_consecutive_failed_trials"):
        RandomSearchOracle("loss", max_consecutive_failed_trials=0)
