from __future__ import annotations

import pytest

from tests.conftest import SPACES
from tuner.oracles import (
    AsyncSuccessiveHalvingOracle,
    HyperbandOracle,
    MedianStoppingRule,
    RandomSearchOracle,
    StoppingRule,
)
from tuner.trial import TrialStatus


def _run(oracle, losses) -> TrialStatus:
    trial = oracle.create_trial("w")
    start = 0 if trial.budget is None else trial.budget.initial_epoch
    for epoch, loss in enumerate(losses[start:], start=start):
        if oracle.update_trial(trial.trial_id, {"loss": loss}, step=epoch) == TrialStatus.STOPPED:
            break
    oracle.end_trial(trial)
    return trial.status


def test_median_rule_stops_trials_worse_than_the_median_running_mean():
    oracle = RandomSearchOracle(
        "loss", max_trials=20, seed=0, hyperparameters=SPACES["all_types"]()
    )
    oracle.stopping_rule = MedianStoppingRule(min_epochs=2, min_trials=3)
    assert isinstance(oracle.stopping_rule, StoppingRule)
    for _ in range(3):  # running means at step 1: 0.55, 0.55, 0.55
        assert _run(oracle, [0.6, 0.5, 0.4, 0.3]) == TrialStatus.COMPLETED
    assert _run(oracle, [0.9, 0.5, 0.1, 0.1]) == TrialStatus.COMPLETED  # 0.5 beats 0.55
    worse = oracle.create_trial("w")
    assert oracle.update_trial(worse.trial_id, {"loss": 0.9}, step=0) == TrialStatus.RUNNING
    assert oracle.update_trial(worse.trial_id, {"loss": 0.8}, step=1) == TrialStatus.STOPPED
    oracle.end_trial(worse)
    assert worse.status == TrialStatus.STOPPED and worse.score == 0.8


def test_median_rule_waits_for_enough_finished_trials():
    oracle = RandomSearchOracle(
        "loss", max_trials=20, seed=0, hyperparameters=SPACES["all_types"]()
    )
    oracle.stopping_rule = MedianStoppingRule(min_epochs=1, min_trials=2)
    assert _run(oracle, [0.1, 0.1]) == TrialStatus.COMPLETED
    assert _run(oracle, [0.9, 0.9]) == TrialStatus.COMPLETED  # only one finished trial to judge
    assert _run(oracle, [0.95, 0.9]) == TrialStatus.STOPPED


@pytest.mark.parametrize("oracle_class", [HyperbandOracle, AsyncSuccessiveHalvingOracle])
def test_median_rule_works_beside_multi_fidelity_oracles(oracle_class):
    oracle = oracle_class("loss", max_epochs=9, seed=1, hyperparameters=SPACES["all_types"]())
    oracle.stopping_rule = MedianStoppingRule(min_epochs=1, min_trials=1)
    statuses = [_run(oracle, [0.5 + 0.01 * i] * 9) for i in range(12)]  # each worse
    assert TrialStatus.STOPPED in statuses


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="min_epochs"):
        MedianStoppingRule(min_epochs=0)
