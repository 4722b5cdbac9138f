from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import drive
from tuner.hyperparameters import HyperParameters
from tuner.objective import Objective
from tuner.oracles import BayesianOptimizationOracle, RandomSearchOracle
from tuner.oracles.bayesian import (
    GaussianProcess,
    KernelPrior,
    log_expected_improvement,
    log_h,
    negative_log_posterior,
)
from tuner.space import SpaceCodec
from tuner.trial import TrialStatus


def _central_difference(function, point: np.ndarray, step: float = 1e-6) -> np.ndarray:
    gradient = np.empty_like(point)
    for i in range(len(point)):
        shift = np.zeros_like(point)
        shift[i] = step
        gradient[i] = (function(point + shift) - function(point - shift)) / (2 * step)
    return gradient


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    inputs = rng.random((25, 3))
    targets = np.sin(inputs @ np.array([4.0, 1.0, 0.2]))
    return inputs, (targets - targets.mean()) / targets.std()


# --- the Gaussian process ------------------------------------------------------------------------
def test_posterior_interpolates_the_training_points(data):
    inputs, targets = data
    model = GaussianProcess(inputs, targets, np.log([0.5, 0.5, 0.5, 1.0, 1e-8]))
    mean, std = model.predict(inputs)
    np.testing.assert_allclose(mean, targets, atol=1e-4)
    assert std.max() < 1e-2
    _, far = model.predict(np.full((1, 3), 30.0))
    assert far[0] == pytest.approx(1.0, rel=1e-6)  # the prior's standard deviation


def test_marginal_likelihood_gradient_matches_finite_differences(data):
    inputs, targets = data
    prior = KernelPrior()
    point = np.log([0.3, 0.7, 2.0, 1.3, 1e-3])
    _, analytic = negative_log_posterior(point, inputs, targets, prior)
    numeric = _central_difference(
        lambda p: negative_log_posterior(p, inputs, targets, prior)[0], point
    )
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-4)


def test_mean_and_std_gradients_match_finite_differences(data):
    inputs, targets = data
    model = GaussianProcess(inputs, targets, np.log([0.3, 0.7, 2.0, 1.3, 1e-4]))
    points = np.random.default_rng(1).random((4, 3))
    _, _, mean_gradient, std_gradient = model.predict_with_gradient(points)
    for row, point in enumerate(points):
        numeric_mean = _central_difference(lambda p: model.predict(p[None])[0][0], point)
        numeric_std = _central_difference(lambda p: model.predict(p[None])[1][0], point)
        np.testing.assert_allclose(mean_gradient[row], numeric_mean, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(std_gradient[row], numeric_std, rtol=1e-4, atol=1e-6)


def test_fit_finds_the_relevant_dimension(data):
    inputs, targets = data  # the third input barely matters
    model = GaussianProcess.fit(inputs, targets)
    assert model.lengthscales[0] < model.lengthscales[1] < model.lengthscales[2]
    warm = GaussianProcess.fit(inputs, targets, initial=model.log_parameters)
    np.testing.assert_allclose(warm.log_parameters, model.log_parameters, atol=1e-2)


@pytest.mark.parametrize("targets", [[0.0], [1.0, 1.0, 1.0], [0.0, 1e-12, 0.0]])
def test_fit_handles_constant_and_tiny_data(targets):
    inputs = np.linspace(0, 1, len(targets))[:, None]
    model = GaussianProcess.fit(inputs, np.array(targets))
    mean, std = model.predict(np.array([[0.5], [2.0]]))
    assert np.isfinite(mean).all() and np.isfinite(std).all()


def test_duplicate_inputs_do_not_break_the_factorization():
    inputs = np.array([[0.2], [0.2], [0.2], [0.7]])
    model = GaussianProcess(inputs, np.array([0.1, 0.1, 0.1, -0.3]), np.log([0.3, 1.0, 1e-9]))
    assert np.isfinite(model.predict(np.array([[0.4]]))[0]).all()


# --- the acquisition -----------------------------------------------------------------------------
def test_log_h_is_accurate_in_the_middle_and_finite_in_the_tails():
    from scipy.special import ndtr

    z = np.linspace(-8, 6, 57)
    direct = np.log(np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) + z * ndtr(z))
    np.testing.assert_allclose(log_h(z), direct, rtol=1e-9)
    tail = log_h(np.array([-1e8, -1e3, -100.0, -99.0, -30.0]))
    assert np.isfinite(tail).all() and np.all(np.diff(tail) > 0)
    # Continuous across the switch to the asymptotic series, at z = -100.
    below, above = log_h(np.array([-100.0 - 1e-9, -100.0 + 1e-9]))
    assert abs(below - above) < 1e-6


def test_log_expected_improvement_derivatives():
    mean, std, best = np.array([0.3, -1.0, 4.0]), np.array([0.5, 2.0, 0.1]), 0.0
    _, by_mean, by_std = log_expected_improvement(mean, std, best)
    step = 1e-6
    up = log_expected_improvement(mean + step, std, best)[0]
    down = log_expected_improvement(mean - step, std, best)[0]
    np.testing.assert_allclose(by_mean, (up - down) / (2 * step), rtol=1e-5)
    up = log_expected_improvement(mean, std + step, best)[0]
    down = log_expected_improvement(mean, std - step, best)[0]
    np.testing.assert_allclose(by_std, (up - down) / (2 * step), rtol=1e-5)


def _one_dimensional_oracle() -> tuple[BayesianOptimizationOracle, SpaceCodec]:
    hp = HyperParameters()
    hp.Float("x", 0.0, 1.0)
    oracle = BayesianOptimizationOracle(objective="loss", seed=0, hyperparameters=hp)
    return oracle, SpaceCodec(hp)


def test_acquisition_maximum_on_a_known_one_dimensional_function():
    oracle, codec = _one_dimensional_oracle()
    inputs = np.array([[0.0], [0.15], [0.45], [0.6], [1.0]])
    scores = (inputs[:, 0] - 0.3) ** 2  # the minimum, 0.3, lies between two observations
    targets = (scores - scores.mean()) / scores.std()
    model = GaussianProcess.fit(inputs, targets)
    points, values = oracle._candidates(model, codec, inputs, targets, np.random.default_rng(0))
    found = points[int(np.argmax(values))]
    grid = np.linspace(0, 1, 20001)[:, None]
    exhaustive = oracle._acquisition(model, grid, float(targets.min()))
    assert float(values.max()) >= float(exhaustive.max()) - 1e-6
    assert found[0] == pytest.approx(grid[int(np.argmax(exhaustive)), 0], abs=1e-3)
    assert abs(found[0] - 0.3) < 0.05


# --- the oracle ----------------------------------------------------------------------------------
def _bowl(values) -> float:
    return (values["x"] - 0.3) ** 2 + (math.log10(values["lr"]) + 2.5) ** 2 / 4


def _bowl_space() -> HyperParameters:
    hp = HyperParameters()
    hp.Float("x", -1.0, 1.0)
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    return hp


def test_beats_random_search_on_a_smooth_function():
    def best(oracle) -> float:
        return min(t.score for t in drive(oracle, objective=_bowl))

    bayesian = best(
        BayesianOptimizationOracle("loss", max_trials=20, seed=1, hyperparameters=_bowl_space())
    )
    random = best(RandomSearchOracle("loss", max_trials=20, seed=1, hyperparameters=_bowl_space()))
    assert bayesian < 1e-3 < random


def test_maximizes_when_the_objective_says_so():
    oracle = BayesianOptimizationOracle(
        objective=Objective("accuracy", "max"),
        max_trials=15,
        seed=2,
        hyperparameters=_bowl_space(),
    )
    for _ in range(15):
        trial = oracle.create_trial("w")
        oracle.update_trial(trial.trial_id, {"accuracy": 1.0 - _bowl(trial.values)})
        trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
    assert oracle.get_best_trials()[0].score > 0.99


def test_ucb_acquisition():
    oracle = BayesianOptimizationOracle(
        "loss", max_trials=15, seed=3, hyperparameters=_bowl_space(), acquisition="ucb", beta=1.0
    )
    assert min(t.score for t in drive(oracle, objective=_bowl)) < 0.01


def test_never_repeats_a_value_set_and_stops_when_a_finite_space_is_exhausted():
    hp = HyperParameters()
    hp.Int("a", 0, 3)
    hp.Boolean("b")
    oracle = BayesianOptimizationOracle(
        "loss", max_trials=None, num_initial_points=2, seed=4, hyperparameters=hp
    )
    trials = drive(oracle, objective=lambda v: (v["a"] - 1) ** 2 + v["b"])
    keys = {json.dumps(t.values, sort_keys=True) for t in trials}
    assert len(trials) == len(keys) == 8
    assert oracle.create_trial("late").status == TrialStatus.STOPPED


def test_failed_and_infinite_trials_count_as_the_worst_score():
    hp = HyperParameters()
    hp.Float("x", 0.0, 1.0)
    oracle = BayesianOptimizationOracle("loss", max_trials=14, num_initial_points=4, seed=5,
                                        hyperparameters=hp)  # fmt: skip
    oracle.max_consecutive_failed_trials = 100

    def loss(values) -> float:  # an infinite loss where x > 0.7, the best region is x near 0.6
        return math.inf if values["x"] > 0.7 else (values["x"] - 0.6) ** 2

    trials = drive(oracle, objective=loss, fail_when=lambda v: v["x"] < 0.1)
    failed = [t for t in trials if t.status == TrialStatus.FAILED]
    assert failed, "the test needs failures"
    _, scores = oracle._observations(oracle._codec())
    finite = [t.score for t in trials if t.status == TrialStatus.COMPLETED]
    assert len(scores) == len(trials)
    assert scores.max() == pytest.approx(max(finite))  # not 0, not the best: the worst seen
    assert oracle.get_best_trials()[0].score == pytest.approx(min(finite))
    assert min(finite) < 0.01  # the search still found the good region


def test_constant_scores_do_not_break_the_search():
    oracle = BayesianOptimizationOracle("loss", max_trials=8, num_initial_points=2, seed=6,
                                        hyperparameters=_bowl_space())  # fmt: skip
    trials = drive(oracle, objective=lambda values: 1.0)
    assert len(trials) == 8
    assert len({json.dumps(t.values, sort_keys=True) for t in trials}) == 8


def test_parallel_workers_get_different_proposals():
    oracle = BayesianOptimizationOracle("loss", max_trials=20, num_initial_points=4, seed=7,
                                        hyperparameters=_bowl_space())  # fmt: skip
    drive(_Limited(oracle, 8), objective=_bowl)
    running = [oracle.create_trial(f"worker{i}") for i in range(3)]
    assert all(t.status == TrialStatus.RUNNING for t in running)
    codec = oracle._codec()
    points = codec.encode_many([t.values for t in running])
    distances = [np.linalg.norm(a - b) for i, a in enumerate(points) for b in points[i + 1 :]]
    # Without counting running trials as observations, the three proposals would coincide to
    # the optimizer's precision (about 1e-6 apart); counted, they spread out.
    assert min(distances) > 1e-4


def test_space_defined_while_building_is_tuned(tmp_path):
    import tuner as kt

    class QuadraticTuner(kt.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            x = trial.hyperparameters.Float("x", -2.0, 2.0)
            offset = trial.hyperparameters.Choice("offset", [0.0, 0.5, 1.0])
            return {"loss": (x - 0.5) ** 2 + offset}

    oracle = BayesianOptimizationOracle("loss", max_trials=12, num_initial_points=3, seed=8)
    search = QuadraticTuner(oracle, directory=str(tmp_path), project_name="p")
    search.search(verbose=0)
    assert len(oracle.trials) == 12
    assert oracle.get_best_trials()[0].score < 0.05


def test_state_is_json_and_restores_the_kernel():
    oracle = BayesianOptimizationOracle("loss", max_trials=8, num_initial_points=3, seed=9,
                                        hyperparameters=_bowl_space())  # fmt: skip
    drive(oracle, objective=_bowl)
    state = json.loads(json.dumps(oracle.get_state()))
    assert len(state["kernel"]["log_parameters"]) == 2 + 2
    other = BayesianOptimizationOracle("loss", hyperparameters=_bowl_space())
    other.set_state(state)
    assert other.get_state() == state


@pytest.mark.parametrize(
    ("arguments", "culprit"),
    [
        ({"num_initial_points": 0}, "num_initial_points"),
        ({"alpha": -1.0}, "alpha"),
        ({"beta": float("nan")}, "beta"),
        ({"acquisition": "pi"}, "acquisition"),
    ],
)
def test_bad_arguments_name_the_culprit(arguments, culprit):
    with pytest.raises(ValueError, match=culprit):
        BayesianOptimizationOracle("loss", **arguments)


class _Limited:
    """Lets ``drive`` run a fixed number of trials of a wrapped oracle."""

    def __init__(self, oracle, count: int):
        self._oracle, self._left = oracle, count

    def __getattr__(self, name):
        return getattr(self._oracle, name)

    def create_trial(self, tuner_id):
        if self._left == 0:
            from tuner.trial import Trial

            return Trial("", HyperParameters(), TrialStatus.STOPPED)
        self._left -= 1
        return self._oracle.create_trial(tuner_id)


# --- crash safety --------------------------------------------------------------------------------
_WORKER = """
import sys, time
import tuner as kt

class Search(kt.BaseTuner):
    def run_trial(self, trial, *args, **kwargs):
        x = trial.hyperparameters.Float("x", -1.0, 1.0)
        units = trial.hyperparameters.Int("units", 8, 64, step=8)
        time.sleep(0.1)
        return {"loss": (x - 0.2) ** 2 + units / 640}

oracle_class = getattr(kt.oracles, sys.argv[2])
oracle = oracle_class(objective="loss", max_trials=12, num_initial_points=3, seed=5)
Search(oracle, directory=sys.argv[1], project_name="p").search(verbose=0)
"""


@pytest.mark.parametrize("oracle_name", ["BayesianOptimizationOracle", "TPEOracle"])
def test_a_search_killed_with_sigkill_resumes_without_losing_or_repeating(tmp_path, oracle_name):
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, str(script), str(tmp_path), oracle_name]
    process = subprocess.Popen(command, env=env)
    trials_dir = tmp_path / "p" / "trials"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        finished = 0
        for path in trials_dir.glob("*.json") if trials_dir.exists() else []:
            with contextlib.suppress(ValueError, KeyError, FileNotFoundError):
                # Files are never torn, but a glob can race an atomic rename.
                finished += json.loads(path.read_text())["status"] == "COMPLETED"
        if finished >= 6:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the search ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    subprocess.run(command, env=env, check=True, timeout=300)
    trials = [json.loads(p.read_text()) for p in sorted(trials_dir.glob("*.json"))]
    assert len(trials) == 12
    assert all(t["status"] == "COMPLETED" for t in trials)
    keys = {json.dumps(t["hyperparameters"]["values"], sort_keys=True) for t in trials}
    assert len(keys) == 12


# --- the Keras tuner -----------------------------------------------------------------------------
@pytest.mark.keras
def test_keras_bayesian_optimization_tunes_a_small_model(tmp_path):
    keras = pytest.importorskip("keras")
    from sklearn.datasets import load_breast_cancer

    import tuner as kt

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")[:200]
    y = y.astype("float32")[:200]

    def build_model(hp):
        model = keras.Sequential(
            [
                keras.Input((30,)),
                keras.layers.Dense(hp.Int("units", 8, 32, step=8), activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        learning_rate = hp.Float("lr", 1e-3, 1e-1, sampling="log")
        model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy")
        return model

    tuner = kt.BayesianOptimization(build_model, objective="val_loss", max_trials=4,
                                    num_initial_points=2, alpha=1e-4, beta=2.6, seed=1,
                                    directory=str(tmp_path), project_name="bo")  # fmt: skip
    tuner.search(x[:150], y[:150], validation_data=(x[150:], y[150:]), epochs=1, verbose=0)
    assert isinstance(tuner.oracle, BayesianOptimizationOracle)
    assert len(tuner.oracle.trials) == 4
    assert all(t.status == TrialStatus.COMPLETED for t in tuner.oracle.trials.values())
    best = tuner.get_best_hyperparameters()[0]
    assert set(best.values) == {"units", "lr"}
