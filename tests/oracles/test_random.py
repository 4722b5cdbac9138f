from __future__ import annotations

import numpy as np

from tests.conftest import all_types_space, drive
from tuner.oracles import RandomSearchOracle


def _lrs(seed: int) -> np.ndarray:
    hp = all_types_space()
    oracle = RandomSearchOracle(objective="loss", max_trials=60, seed=seed, hyperparameters=hp)
    return np.array([t.hyperparameters.values["learning_rate"] for t in drive(oracle)])


def test_neighbouring_seeds_give_independent_sequences():
    a, b = np.log(_lrs(5)), np.log(_lrs(6))
    # keras-tuner's seeds s and s+1 give one sequence shifted by one: rule that out, and any
    # other shift, by checking the sequences are uncorrelated at every small lag.
    for lag in range(0, 4):
        correlation = np.corrcoef(a[lag:], b[: len(b) - lag])[0, 1]
        assert abs(correlation) < 0.5, (lag, correlation)
        assert not np.allclose(a[lag:], b[: len(b) - lag])


def test_stops_when_a_small_space_is_exhausted():
    oracle = RandomSearchOracle(objective="loss", max_trials=50, seed=0)
    oracle.hyperparameters.Choice("a", [1, 2, 3])
    oracle.hyperparameters.Boolean("b")
    trials = drive(oracle)
    assert len(trials) == 6
    assert len({tuple(t.values.values()) for t in trials}) == 6
