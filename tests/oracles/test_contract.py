"""The contract every oracle must honour, run against each one.

To add an oracle, add a factory to ``ORACLE_FACTORIES``: it receives a search space, a seed and
``max_trials`` and returns a fresh oracle minimizing ``"loss"``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import SPACES, drive
from tuner.hyperparameters import HyperParameters
from tuner.oracles import (
    AsyncSuccessiveHalvingOracle,
    BayesianOptimizationOracle,
    BOHBOracle,
    GridSearchOracle,
    HyperbandOracle,
    Oracle,
    RandomSearchOracle,
    TPEOracle,
)
from tuner.storage import JsonDirStorage
from tuner.trial import TrialStatus

OracleFactory = Callable[[HyperParameters, int, int], Oracle]

ORACLE_FACTORIES: dict[str, OracleFactory] = {
    "random": lambda hp, seed, max_trials: RandomSearchOracle(
        objective="loss", max_trials=max_trials, seed=seed, hyperparameters=hp
    ),
    "grid": lambda hp, seed, max_trials: GridSearchOracle(
        objective="loss", max_trials=max_trials, seed=seed, hyperparameters=hp
    ),
    # Hyperband's length is its schedule (23 trials for max_epochs=9, factor=3), not max_trials.
    "hyperband": lambda hp, seed, max_trials: HyperbandOracle(
        objective="loss", max_epochs=9, factor=3, seed=seed, hyperparameters=hp
    ),
    # Hyperband's schedule; a low min_points_in_model so that its model proposes most trials.
    "bohb": lambda hp, seed, max_trials: BOHBOracle(
        objective="loss",
        max_epochs=9,
        factor=3,
        seed=seed,
        hyperparameters=hp,
        min_points_in_model=3,
    ),
    "asha": lambda hp, seed, max_trials: AsyncSuccessiveHalvingOracle(
        objective="loss", max_trials=max_trials, max_epochs=9, seed=seed, hyperparameters=hp
    ),
    "asha-tpe": lambda hp, seed, max_trials: AsyncSuccessiveHalvingOracle(
        objective="loss",
        max_trials=max_trials,
        max_epochs=9,
        seed=seed,
        hyperparameters=hp,
        sampler="tpe",
    ),
    # Few initial points, so that most trials (and the resume test) exercise the models.
    "bayesian": lambda hp, seed, max_trials: BayesianOptimizationOracle(
        objective="loss",
        max_trials=max_trials,
        seed=seed,
        hyperparameters=hp,
        num_initial_points=3,
    ),
    "tpe": lambda hp, seed, max_trials: TPEOracle(
        objective="loss",
        max_trials=max_trials,
        seed=seed,
        hyperparameters=hp,
        num_initial_points=3,
    ),
}


@pytest.fixture(params=sorted(ORACLE_FACTORIES))
def factory(request) -> OracleFactory:
    return ORACLE_FACTORIES[request.param]


@pytest.fixture(params=sorted(SPACES))
def space(request) -> Callable[[], HyperParameters]:
    return SPACES[request.param]


def _proposals(trials) -> list[dict[str, Any]]:
    return [dict(t.hyperparameters.values) for t in trials]


def test_proposals_lie_in_the_space(factory, space):
    oracle = factory(space(), 7, 12)
    trials = drive(oracle)
    assert trials
    for trial in trials:
        hp = space().with_values(trial.hyperparameters.values)
        for name, value in trial.hyperparameters.values.items():
            if name.startswith("tuner/"):
                continue
            assert hp.is_active(name), f"{name} is inactive but has a value in {trial.trial_id}"
            assert hp.get_hyperparameter(name).contains(value), (name, value)
        for entry in hp.space:
            if hp.is_active(entry.name):
                assert entry.name in trial.hyperparameters.values, entry.name


def test_max_trials_stops_the_search(factory, space):
    oracle = factory(space(), 3, 5)
    trials = drive(oracle)
    if oracle.max_trials is not None:  # both spaces hold far more than 5 value sets
        assert len(trials) == 5
    else:  # Hyperband and BOHB: the schedule is the budget (23 trials for max_epochs=9, factor=3)
        assert len(trials) == 23
    assert oracle.create_trial("late").status == TrialStatus.STOPPED
    assert oracle.remaining_trials == 0


def test_same_seed_same_proposals(factory, space):
    first = _proposals(drive(factory(space(), 11, 10)))
    second = _proposals(drive(factory(space(), 11, 10)))
    assert first == second


def test_no_duplicate_proposals(factory):
    trials = drive(factory(SPACES["conditional"](), 5, 30))
    keys = [json.dumps(t.hyperparameters.values, sort_keys=True) for t in trials]
    assert len(keys) == len(set(keys))


def test_state_survives_json_and_resume_continues_identically(factory, space, tmp_path):
    uninterrupted = factory(space(), 21, 10)
    expected = _proposals(drive(uninterrupted))

    first = factory(space(), 21, 10)
    first.attach_storage(JsonDirStorage(tmp_path / "p"))
    json.dumps(first.get_state())
    trials = []
    for _ in range(4):  # stop after four trials, as a crash would
        trials += drive(_OneTrial(first))
    resumed = factory(space(), 21, 10)
    assert resumed.attach_storage(JsonDirStorage(tmp_path / "p")) is True
    json.loads(json.dumps(resumed.get_state()))
    drive(resumed)
    got = [
        dict(t.hyperparameters.values)
        for t in sorted(resumed.trials.values(), key=lambda t: t.trial_id)
    ]
    assert got == expected


def test_failed_trials_do_not_break_the_oracle(factory):
    oracle = factory(SPACES["all_types"](), 4, 8)
    oracle.max_consecutive_failed_trials = 100
    trials = drive(oracle, fail_when=lambda values: values.get("batch_norm") is True)
    statuses = {t.status for t in trials}
    assert statuses <= {TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.STOPPED}
    best = oracle.get_best_trials(1)
    # A failed trial is never best; ASHA may rank a trial it stopped early when none completed.
    assert best and best[0].status in (TrialStatus.COMPLETED, TrialStatus.STOPPED)


class _OneTrial:
    """Lets ``drive`` run exactly one trial of a wrapped oracle."""

    def __init__(self, oracle: Oracle):
        self._oracle = oracle
        self._used = False

    def __getattr__(self, name):
        return getattr(self._oracle, name)

    def create_trial(self, tuner_id):
        if self._used:
            from tuner.trial import Trial

            return Trial("", HyperParameters(), TrialStatus.STOPPED)
        self._used = True
        return self._oracle.create_trial(tuner_id)
