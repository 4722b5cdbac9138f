from __future__ import annotations

import pytest

from tests.conftest import SPACES, drive, quadratic
from tuner.errors import FatalValueError
from tuner.hyperparameters import HyperParameters
from tuner.oracles import AsyncSuccessiveHalvingOracle
from tuner.storage import JsonDirStorage
from tuner.trial import Trial, TrialStatus


def _oracle(**kwargs) -> AsyncSuccessiveHalvingOracle:
    arguments = {"objective": "loss", "max_trials": 30, "max_epochs": 9, "factor": 3, "seed": 2}
    arguments.update(kwargs)
    if "hyperparameters" not in arguments:
        space = HyperParameters()
        space.Int("x", 0, 1000)
        arguments["hyperparameters"] = space
    return AsyncSuccessiveHalvingOracle(**arguments)


def _train(oracle, trial: Trial, losses) -> TrialStatus:
    """Reports ``losses[epoch]`` from the trial's initial epoch until the oracle stops it."""
    status = TrialStatus.RUNNING
    for epoch in range(trial.budget.initial_epoch, trial.budget.epochs):
        status = oracle.update_trial(trial.trial_id, {"loss": losses[epoch]}, step=epoch)
        if status == TrialStatus.STOPPED:
            break
    if trial.status == TrialStatus.RUNNING:
        trial.status = TrialStatus.COMPLETED
    oracle.end_trial(trial)
    return trial.status


def test_rungs_and_arguments():
    assert _oracle(max_epochs=27).rung_epochs == [1, 3, 9, 27]
    assert _oracle(max_epochs=25, min_epochs=2).rung_epochs == [2, 6, 18, 25]
    with pytest.raises(ValueError, match="factor"):
        _oracle(factor=1)
    with pytest.raises(ValueError, match="min_epochs"):
        _oracle(min_epochs=10)


def test_a_trial_continues_only_among_the_best_fraction_of_its_rung():
    oracle = _oracle()
    curve = [0.5] * 9
    first, second = oracle.create_trial("w"), oracle.create_trial("v")
    # Alone at the first rung, nobody is promoted yet: floor(1 / 3) = 0.
    assert _train(oracle, first, curve) == TrialStatus.STOPPED
    assert [o.step for o in first.metrics.get_history("loss")] == [0]
    assert _train(oracle, second, [0.6] * 9) == TrialStatus.STOPPED
    third = oracle.create_trial("w")
    # Third at the rung and the best of three: it continues to the next rung (3 epochs),
    # where it is alone again.
    assert _train(oracle, third, [0.4] * 9) == TrialStatus.STOPPED
    assert [o.step for o in third.metrics.get_history("loss")] == [0, 1, 2]
    assert third.budget.epochs == 9 and third.budget.initial_epoch == 0


def test_a_paused_trial_is_promoted_when_it_climbs_into_the_best_fraction():
    oracle = _oracle()
    losses = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9]
    trials = []
    for loss in losses[:3]:
        trials.append(oracle.create_trial("w"))
        _train(oracle, trials[-1], [loss] * 9)
    # 0.3 was first: stopped while alone; the third (0.6) was not the best of three either.
    assert [t.status for t in trials] == [TrialStatus.STOPPED] * 3
    promoted = oracle.create_trial("w")  # 0.3 now ranks first of three: continue it
    assert promoted.budget.parent_trial_id == trials[0].trial_id
    assert (promoted.budget.initial_epoch, promoted.budget.epochs) == (1, 9)
    assert promoted.values["x"] == trials[0].values["x"]
    assert promoted.values["tuner/trial_id"] == trials[0].trial_id
    assert oracle.warm_start_trial_ids() == {trials[1].trial_id, trials[2].trial_id}
    _train(oracle, promoted, [0.3] * 9)
    assert [o.step for o in promoted.metrics.get_history("loss")] == [1, 2]  # stopped at 3
    assert oracle.create_trial("w").budget.parent_trial_id is None  # nothing else promotable


def test_no_trial_trains_past_max_epochs_and_the_search_ends():
    oracle = _oracle(max_trials=40, hyperparameters=SPACES["all_types"]())
    trials = drive(oracle)
    assert len(trials) == 40
    for trial in trials:
        steps = [o.step for o in trial.metrics.get_history("loss")]
        assert max(steps) < 9
        assert steps == list(range(trial.budget.initial_epoch, max(steps) + 1))
    assert any(t.status == TrialStatus.COMPLETED for t in trials)
    spent = sum(len(t.metrics.get_history("loss")) for t in trials)
    assert spent < 40 * 9 / 2  # most trials stop at the first rungs
    assert oracle.warm_start_trial_ids() == set()  # the search is over


def test_best_trial_is_the_most_trained():
    oracle = _oracle()
    trials = drive(oracle, objective=lambda values: quadratic(values))
    best = oracle.get_best_trials(3)
    most_trained = max(len(t.metrics.get_history("loss")) + t.budget.initial_epoch for t in trials)
    assert best[0].metrics.get_history("loss")[-1].step + 1 == most_trained


def test_workers_never_idle_while_new_configurations_exist():
    oracle = _oracle()
    running = [oracle.create_trial(f"w{i}") for i in range(5)]
    assert all(t.status == TrialStatus.RUNNING for t in running)
    # A trial stopped while others still run is not promoted before it has ended.
    oracle.update_trial(running[0].trial_id, {"loss": 0.9}, step=0)
    assert running[0].status == TrialStatus.STOPPED
    assert oracle.create_trial("w5").budget.parent_trial_id is None


def test_resume_after_a_crash_mid_trial_continues_identically(tmp_path):
    expected = [(t.trial_id, dict(t.values)) for t in drive(_oracle())]
    first = _oracle()
    first.attach_storage(JsonDirStorage(tmp_path / "p"))
    for _ in range(7):
        trial = first.create_trial("w")
        _train(first, trial, [quadratic(dict(trial.values)) + 1 / (e + 1) for e in range(9)])
    killed = first.create_trial("w")  # killed while training: its file says RUNNING
    first.update_trial(killed.trial_id, {"loss": 0.0}, step=0)
    resumed = _oracle()
    assert resumed.attach_storage(JsonDirStorage(tmp_path / "p")) is True
    drive(resumed)
    got = [(t.trial_id, dict(t.values)) for t in resumed.trials.values()]
    assert sorted(got) == expected


def test_resume_refuses_other_rungs(tmp_path):
    oracle = _oracle()
    oracle.attach_storage(JsonDirStorage(tmp_path / "p"))
    drive(oracle)
    with pytest.raises(FatalValueError, match="rungs"):
        _oracle(max_epochs=27).attach_storage(JsonDirStorage(tmp_path / "p"))
