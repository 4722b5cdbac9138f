from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.conftest import drive
from tuner.hyperparameters import HyperParameters
from tuner.oracles import RandomSearchOracle, TPEOracle
from tuner.oracles.tpe import ParzenEstimator, default_gamma
from tuner.space import SpaceCodec
from tuner.trial import TrialStatus


def _dimensions():
    hp = HyperParameters()
    hp.Float("x", 0.0, 1.0)
    hp.Int("k", 1, 4)
    hp.Choice("activation", ["relu", "tanh", "gelu", "elu"])
    return list(SpaceCodec(hp).dimensions)


def test_parzen_estimator_is_a_normalized_density():
    observations = np.array([[0.1, 0.125, 0], [0.15, 0.375, 0], [0.9, 0.875, 2]])
    estimator = ParzenEstimator(_dimensions(), observations, prior_weight=0.5)
    grid = (np.arange(400) + 0.5) / 400
    total = 0.0
    for bucket in range(4):
        for category in range(4):
            points = np.column_stack(
                [grid, np.full(400, (bucket + 0.5) / 4), np.full(400, category)]
            )
            total += np.exp(estimator.log_pdf(points)).mean()  # integral over x in [0, 1]
    assert total == pytest.approx(1.0, abs=1e-3)


def test_parzen_samples_follow_the_density():
    observations = np.array([[0.1, 0.125, 0], [0.15, 0.375, 0], [0.9, 0.875, 2]])
    estimator = ParzenEstimator(_dimensions(), observations)
    samples = estimator.sample(np.random.default_rng(0), 40_000)
    assert ((samples[:, :2] >= 0) & (samples[:, :2] <= 1)).all()
    assert set(np.unique(samples[:, 2])) <= {0.0, 1.0, 2.0, 3.0}
    grid = (np.arange(400) + 0.5) / 400
    for category in range(4):
        points = np.column_stack([grid, np.full(400, 0.125), np.full(400, category)])
        expected = np.exp(estimator.log_pdf(points)).mean()
        observed = np.mean((samples[:, 2] == category) & (samples[:, 1] < 0.25))
        assert observed == pytest.approx(expected, abs=0.01)


def test_default_gamma():
    assert [default_gamma(n) for n in (1, 10, 11, 100, 1000)] == [1, 1, 2, 10, 25]


def _bowl(values) -> float:
    return (values["x"] - 0.3) ** 2 + (math.log10(values["lr"]) + 2.5) ** 2 / 4


def _bowl_space() -> HyperParameters:
    hp = HyperParameters()
    hp.Float("x", -1.0, 1.0)
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    return hp


def _mean_best(make, seeds=range(6), trials=40) -> float:
    def objective(values):
        return _bowl(values) + {"relu": 0.0, "tanh": 0.2, "gelu": 0.4}[values["activation"]]

    return float(
        np.mean(
            [
                min(t.score for t in drive(make(seed, trials), objective=objective))
                for seed in seeds
            ]
        )
    )


def test_beats_random_search():
    tpe = _mean_best(lambda seed, n: TPEOracle("loss", n, seed, _bowl_space()))
    random = _mean_best(lambda seed, n: RandomSearchOracle("loss", n, seed, _bowl_space()))
    assert tpe < 0.5 * random


def test_conditional_branches_learn_from_their_own_trials():
    hp = HyperParameters()
    hp.Choice("branch", ["a", "b", "c"])
    with hp.conditional_scope("branch", ["a"]):
        hp.Float("a_x", 0.0, 1.0)
    with hp.conditional_scope("branch", ["b"]):
        hp.Float("b_x", 0.0, 1.0)
    with hp.conditional_scope("branch", ["c"]):
        hp.Float("c_x", 0.0, 1.0)

    def loss(values):  # branch a is best, but only close to a_x = 0.8
        name = values["branch"]
        return {"a": 0.0, "b": 0.4, "c": 0.5}[name] + 4 * (values[f"{name}_x"] - 0.8) ** 2

    oracle = TPEOracle("loss", max_trials=40, seed=3, hyperparameters=hp)
    trials = drive(oracle, objective=loss)
    for trial in trials:  # only the active branch has a value
        assert {k[0] for k in trial.values if k != "branch"} == {trial.values["branch"]}
    late_a = [t.values["a_x"] for t in trials[25:] if t.values["branch"] == "a"]
    assert late_a and np.median(np.abs(np.array(late_a) - 0.8)) < 0.15
    assert oracle.get_best_trials()[0].score < 0.05


def test_never_repeats_and_stops_when_a_finite_space_is_exhausted():
    hp = HyperParameters()
    hp.Int("a", 0, 3)
    hp.Choice("b", ["x", "y", "z"])
    oracle = TPEOracle("loss", max_trials=None, num_initial_points=3, seed=4, hyperparameters=hp)
    trials = drive(oracle, objective=lambda v: v["a"] + len(v["b"]))
    assert len(trials) == len({json.dumps(t.values, sort_keys=True) for t in trials}) == 12
    assert oracle.create_trial("late").status == TrialStatus.STOPPED


def test_failed_and_infinite_trials_are_never_good():
    hp = HyperParameters()
    hp.Float("x", 0.0, 1.0)
    oracle = TPEOracle("loss", max_trials=30, num_initial_points=5, seed=5, hyperparameters=hp)
    oracle.max_consecutive_failed_trials = 100

    def loss(values) -> float:  # infinite below 0.2: a NaN/inf loss must not look best
        return math.inf if values["x"] < 0.2 else (values["x"] - 0.5) ** 2

    trials = drive(oracle, objective=loss, fail_when=lambda v: v["x"] > 0.9)
    assert any(t.status == TrialStatus.FAILED for t in trials)
    ranked, scored, _ = oracle._ranked()
    assert all(t.status == TrialStatus.COMPLETED for t in ranked[:scored])
    late = [t.values["x"] for t in trials[15:]]
    assert np.mean([x < 0.2 or x > 0.9 for x in late]) < 0.2
    assert oracle.get_best_trials()[0].score < 0.01


def test_parallel_workers_get_different_proposals():
    oracle = TPEOracle("loss", max_trials=30, num_initial_points=4, seed=6,
                       hyperparameters=_bowl_space())  # fmt: skip
    for _ in range(12):
        trial = oracle.create_trial("w")
        oracle.update_trial(trial.trial_id, {"loss": _bowl(trial.values)})
        trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
    running = [oracle.create_trial(f"worker{i}") for i in range(4)]
    keys = {json.dumps(t.values, sort_keys=True) for t in running}
    assert len(keys) == 4


def test_constant_scores_and_an_empty_space():
    oracle = TPEOracle("loss", max_trials=15, num_initial_points=2, seed=7,
                       hyperparameters=_bowl_space())  # fmt: skip
    assert len(drive(oracle, objective=lambda values: 1.0)) == 15
    empty = TPEOracle("loss", max_trials=5, seed=7)
    assert len(drive(empty, objective=lambda values: 1.0)) == 1  # one empty value set, then done


@pytest.mark.parametrize(
    ("arguments", "culprit"),
    [
        ({"num_initial_points": 0}, "num_initial_points"),
        ({"candidates": 1.5}, "candidates"),
        ({"gamma": 0.25}, "gamma"),
        ({"prior_weight": 0.0}, "prior_weight"),
    ],
)
def test_bad_arguments_name_the_culprit(arguments, culprit):
    with pytest.raises(ValueError, match=culprit):
        TPEOracle("loss", **arguments)


@pytest.mark.keras
def test_keras_tpe_search_tunes_a_small_model(tmp_path):
    keras = pytest.importorskip("keras")
    from sklearn.datasets import load_breast_cancer

    import tuner as kt

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")[:200]
    y = y.astype("float32")[:200]

    def build_model(hp):
        model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(1, "sigmoid")])
        learning_rate = hp.Float("lr", 1e-3, 1e-1, sampling="log")
        model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy")
        return model

    tuner = kt.TPESearch(build_model, objective="val_loss", max_trials=3, num_initial_points=2,
                         seed=1, directory=str(tmp_path), project_name="tpe")  # fmt: skip
    tuner.search(x[:150], y[:150], validation_data=(x[150:], y[150:]), epochs=1, verbose=0)
    assert isinstance(tuner.oracle, TPEOracle)
    assert len(tuner.oracle.trials) == 3
    assert all(t.status == TrialStatus.COMPLETED for t in tuner.oracle.trials.values())
