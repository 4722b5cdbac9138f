"""Several objectives and constraints: Pareto fronts, feasibility, the oracles, the views."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import tuner as kt
from tuner import pareto
from tuner.errors import InvalidArgumentError, ProjectMismatchError, SearchSpaceError
from tuner.trial import TrialStatus

TWO = [kt.Objective("f1", "min"), kt.Objective("f2", "min")]


def brute_front(points: np.ndarray) -> list[int]:
    """Indices no other point dominates, by the definition."""
    return [
        i
        for i, p in enumerate(points)
        if not any(np.all(q <= p) and np.any(q < p) for j, q in enumerate(points) if j != i)
    ]


def monte_carlo_volume(points: np.ndarray, reference: np.ndarray, draws: int = 400_000) -> float:
    rng = np.random.default_rng(0)
    low = points.min(axis=0)
    samples = low + rng.random((draws, len(reference))) * (reference - low)
    dominated = np.zeros(draws, dtype=bool)
    for point in points:
        dominated |= np.all(samples >= point, axis=1)
    return float(dominated.mean() * np.prod(reference - low))


# --- the mathematics -----------------------------------------------------------------------------
@pytest.mark.parametrize("objectives", [2, 3])
def test_the_front_and_the_ranks_follow_the_definition(objectives):
    rng = np.random.default_rng(objectives)
    points = rng.integers(0, 6, size=(40, objectives)).astype(float)  # ties on purpose
    mask = pareto.non_dominated_mask(points)
    assert np.flatnonzero(mask).tolist() == brute_front(points)
    ranks = pareto.non_dominated_ranks(points)
    remaining = list(range(len(points)))
    for rank in itertools.count():
        if not remaining:
            break
        front = [remaining[i] for i in brute_front(points[remaining])]
        assert sorted(np.flatnonzero(ranks == rank).tolist()) == sorted(front)
        remaining = [i for i in remaining if i not in front]


@pytest.mark.parametrize("objectives", [2, 3])
def test_the_hypervolume_is_the_dominated_volume(objectives):
    points = np.random.default_rng(5).random((25, objectives))
    reference = np.full(objectives, 1.2)
    exact = pareto.hypervolume(points, reference)
    assert exact == pytest.approx(monte_carlo_volume(points, reference), rel=0.01)
    assert pareto.hypervolume(points[:0], reference) == 0.0
    assert pareto.hypervolume(np.array([[2.0] * objectives]), reference) == 0.0  # beyond


def test_hypervolume_improvements_are_what_each_point_adds():
    rng = np.random.default_rng(3)
    front, candidates = rng.random((12, 2)), rng.random((30, 2)) * 1.3
    reference = np.array([1.1, 1.1])
    base = pareto.hypervolume(front, reference)
    expected = [pareto.hypervolume(np.vstack([front, c]), reference) - base for c in candidates]
    found = pareto.hypervolume_improvements(front, candidates, reference)
    assert found == pytest.approx(expected, abs=1e-12)


def test_selection_keeps_the_ends_of_a_front_and_puts_the_infeasible_last():
    points = np.array([[0.0, 1.0], [0.5, 0.5], [0.52, 0.48], [1.0, 0.0], [2.0, 2.0], [0.0, 0.0]])
    violations = np.array([0, 0, 0, 0, 0, 3.0])
    order = pareto.selection_order(points, violations).tolist()
    assert set(order[:2]) == {0, 3}  # the extremes of the front: infinitely isolated
    assert order[-2:] == [4, 5]  # then the dominated one, then the infeasible one


# --- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: kt.Constraint("size"), "neither min_value nor max_value"),
        (lambda: kt.Constraint("size", min_value=3, max_value=1), "min_value 3.0 is greater"),
        (lambda: kt.Constraint("size", max_value=float("nan")), "must be finite"),
        (lambda: kt.Constraint("size", max_value="1"), "must be a number"),
        (lambda: kt.Constraint("", max_value=1), "metric name"),
        (
            lambda: kt.oracles.RandomSearchOracle(
                objective=["val_loss", "size_loss"],
                constraints=[
                    kt.Constraint("size_loss", max_value=1),
                    kt.Constraint("size_loss", min_value=2),
                ],
            ),
            r"'size_loss' \(also an objective\) contradict each other",
        ),
        (
            lambda: kt.oracles.RandomSearchOracle(constraints="size <= 1"),
            "must be a list of kt.Constraint",
        ),
        (
            lambda: kt.oracles.RandomSearchOracle(constraints=[("size", 1)]),
            "entry 0 is",
        ),
    ],
)
def test_bad_constraints_are_refused_with_the_reason(build, message):
    with pytest.raises(InvalidArgumentError, match=message):
        build()


def test_a_list_objective_whose_direction_cannot_be_inferred_says_what_to_pass():
    with pytest.raises(SearchSpaceError, match=r'kt.Objective\("model_size", direction='):
        kt.oracles.RandomSearchOracle(objective=["val_accuracy", "model_size"])


# --- a search with two objectives and a constraint -----------------------------------------------
class Function(kt.BaseTuner):
    """Runs ``function(hp)`` as the trial."""

    def __init__(self, function, oracle, **kwargs: Any):
        self.function = function
        super().__init__(oracle, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        return self.function(trial.hyperparameters)


def trade_off(hp):
    x, y = hp.Float("x", 0.0, 1.0), hp.Float("y", 0.0, 1.0)
    metrics = {"f1": x, "f2": (1 - x) ** 2 + y}
    if x < 0.9:  # the right edge never reports its size: infeasible for lack of the metric
        metrics["size"] = 10 * y
    return metrics


def _search(tmp_path, cls=kt.oracles.RandomSearchOracle, trials=30, **options):
    options.setdefault("constraints", [kt.Constraint("size", max_value=5.0)])
    oracle = cls(objective=TWO, max_trials=trials, seed=1, **options)
    search = Function(trade_off, oracle, directory=str(tmp_path), project_name="p")
    search.search(verbose=0)
    return search


def test_the_front_holds_the_feasible_non_dominated_trials_and_starts_with_the_best(tmp_path):
    search = _search(tmp_path)
    trials = list(search.oracle.trials.values())
    feasible = [t for t in trials if t.feasible]
    points = np.array([[t.objective_values["f1"], t.objective_values["f2"]] for t in feasible])
    expected = {feasible[i].trial_id for i in brute_front(points)}
    front = search.get_pareto_front()
    assert {t.trial_id for t in front} == expected
    assert front == search.oracle.get_pareto_front()
    best = search.oracle.get_best_trials(len(trials))
    assert best[0].trial_id == front[0].trial_id  # keras-tuner's best is always on the front
    assert all(t.feasible for t in best)
    scores = [t.score for t in front]
    assert scores == sorted(scores)  # the signed sum, keras-tuner's order
    infeasible = [t for t in trials if not t.feasible]
    assert infeasible and all(t.status == TrialStatus.COMPLETED for t in infeasible)
    broken = next(t for t in infeasible if "size" in t.constraint_values and t.values["x"] < 0.9)
    assert f"size = {broken.constraint_values['size']:g} breaks size <= 5" in broken.message
    missing = next(t for t in infeasible if t.values["x"] >= 0.9)
    assert missing.constraint_values == {"size": None}
    assert "the metric 'size' was not reported" in missing.message


def test_a_resumed_search_keeps_the_front_and_refuses_other_constraints(tmp_path):
    search = _search(tmp_path, trials=12)
    front = [t.trial_id for t in search.get_pareto_front()]
    stored = json.loads((tmp_path / "p" / "trials" / f"{front[0]}.json").read_text())
    assert stored["feasible"] is True and set(stored["objective_values"]) == {"f1", "f2"}
    again = _search(tmp_path, trials=12)
    assert [t.trial_id for t in again.get_pareto_front()] == front
    with pytest.raises(ProjectMismatchError, match="created with constraints"):
        _search(tmp_path, trials=12, constraints=[kt.Constraint("size", max_value=4.0)])


def test_one_objective_with_a_constraint_never_picks_an_infeasible_best(tmp_path):
    oracle = kt.oracles.RandomSearchOracle(
        objective="f2_loss",
        max_trials=20,
        seed=2,
        constraints=[kt.Constraint("size", min_value=2.0)],
    )

    def function(hp):
        y = hp.Float("y", 0.0, 1.0)
        return {"f2_loss": y, "size": 10 * y}

    search = Function(function, oracle, directory=str(tmp_path), project_name="one")
    search.search(verbose=0)
    best = search.oracle.get_best_trials(20)
    assert best and all(t.values["y"] >= 0.2 for t in best)
    assert min(t.values["y"] for t in oracle.trials.values()) < 0.2  # some were infeasible
    assert search.get_pareto_front() == [best[0]]  # one objective: the front is the best


def test_results_cli_and_plot_show_the_trade_offs(tmp_path, capsys):
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    search = _search(tmp_path, trials=15)
    frame = search.results_dataframe()
    for column in ("pareto", "feasible", "objective/f1", "objective/f2", "constraint/size"):
        assert column in frame.columns
    front = {t.trial_id for t in search.get_pareto_front()}
    assert set(frame.loc[frame["pareto"], "trial_id"]) == front
    assert (~frame["feasible"]).sum() == sum(not t.feasible for t in search.oracle.trials.values())
    search.results_summary(3)
    printed = capsys.readouterr().out
    assert "Constraints: size <= 5" in printed
    assert f"Pareto front: {len(front)} trial(s)" in printed

    command = [sys.executable, "-m", "tuner", "summary", str(tmp_path / "p"), "--top", "0"]
    summary = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert f"Pareto     {len(front)} trial(s) on the front" in summary
    rows = [line.split() for line in summary.splitlines() if line.strip()[:1].isdigit()]
    marked = {row[1] for row in rows if len(row) > 2 and row[2] == "*"}
    assert marked == front
    command = [sys.executable, "-m", "tuner", "trials", str(tmp_path / "p")]
    listing = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    broken = [t for t in search.oracle.trials.values() if not t.feasible]
    assert listing.count("(broken)") == len(broken)
    image = tmp_path / "front.png"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tuner",
            "plot",
            str(tmp_path / "p"),
            "--kind",
            "pareto",
            "--output",
            str(image),
        ],
        check=True,
        capture_output=True,
    )
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from tuner import visualization

    with pytest.raises(ValueError, match="needs a list objective"):
        visualization.plot_pareto_front(
            Function(
                lambda hp: hp.Float("x", 0, 1),
                kt.oracles.RandomSearchOracle(max_trials=1),
                directory=str(tmp_path),
                project_name="single",
            )
        )


# --- the algorithms are multi-objective ----------------------------------------------------------
def _hypervolume_of(oracle_class, seed, trials=24, **options):
    space = kt.HyperParameters()
    for index in range(3):
        space.Float(f"x{index}", 0.0, 1.0)
    oracle = oracle_class(
        objective=TWO, max_trials=trials, seed=seed, hyperparameters=space, **options
    )
    for _ in range(trials):
        trial = oracle.create_trial("t")
        x = np.array([trial.values[f"x{i}"] for i in range(3)])
        g = 1 + 9 * x[1:].mean()
        f2 = g * (1 - np.sqrt(x[0] / g))  # ZDT1
        oracle.update_trial(trial.trial_id, {"f1": float(x[0]), "f2": float(f2)})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    points = np.array(
        [[t.objective_values["f1"], t.objective_values["f2"]] for t in oracle.trials.values()]
    )
    return pareto.hypervolume(points, [1.1, 11.0]), oracle


@pytest.mark.parametrize(
    "oracle_class", [kt.oracles.BayesianOptimizationOracle, kt.oracles.TPEOracle]
)
def test_model_based_oracles_improve_the_front_over_random_search(oracle_class):
    seeds = (0, 1, 2)
    found = np.median([_hypervolume_of(oracle_class, seed)[0] for seed in seeds])
    random = np.median([_hypervolume_of(kt.oracles.RandomSearchOracle, seed)[0] for seed in seeds])
    assert found > random + 0.2


def _feasible_share(oracle_class, trials=20, seed=4, constrained=True) -> float:
    """The share of the second half of a search that meets ``x + y >= 0.6``.

    Both objectives pull towards the origin, where the constraint fails: the front lies on its
    boundary.
    """
    space = kt.HyperParameters()
    space.Float("x", 0.0, 1.0)
    space.Float("y", 0.0, 1.0)
    oracle = oracle_class(
        objective=TWO,
        max_trials=trials,
        seed=seed,
        hyperparameters=space,
        constraints=[kt.Constraint("c", max_value=0.0)] if constrained else None,
    )
    for _ in range(trials):
        trial = oracle.create_trial("t")
        x, y = trial.values["x"], trial.values["y"]
        oracle.update_trial(trial.trial_id, {"f1": x, "f2": y, "c": 0.6 - x - y})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    late = sorted(oracle.trials.values(), key=lambda t: t.trial_id)[trials // 2 :]
    return sum(t.values["x"] + t.values["y"] >= 0.6 for t in late) / len(late)


def test_bayesian_optimization_learns_where_the_constraint_holds():
    assert _feasible_share(kt.oracles.BayesianOptimizationOracle) >= 0.8
    blind = _feasible_share(kt.oracles.BayesianOptimizationOracle, constrained=False)
    assert blind < 0.6  # the objectives alone lead out of the feasible region


def test_tpe_ranks_feasible_trials_first():
    seeds = range(3)
    aware = np.median([_feasible_share(kt.oracles.TPEOracle, 40, seed) for seed in seeds])
    blind = np.median(
        [_feasible_share(kt.oracles.TPEOracle, 40, seed, constrained=False) for seed in seeds]
    )
    assert aware >= blind + 0.3


def test_a_resumed_multi_objective_bayesian_search_makes_the_same_proposals(tmp_path):
    from tuner.storage import JsonDirStorage

    def run(project, stop_after=None):
        space = kt.HyperParameters()
        space.Float("x", 0.0, 1.0)
        space.Float("y", 0.0, 1.0)
        oracle = kt.oracles.BayesianOptimizationOracle(
            objective=TWO,
            max_trials=14,
            seed=3,
            hyperparameters=space,
            constraints=[kt.Constraint("c", max_value=0.2)],
        )
        oracle.attach_storage(JsonDirStorage(project))
        while len(oracle.trials) < (stop_after or 14) or oracle.ongoing_trials:
            trial = oracle.create_trial("t")
            if trial.status != TrialStatus.RUNNING:
                break
            x, y = trial.values["x"], trial.values["y"]
            oracle.update_trial(trial.trial_id, {"f1": x, "f2": (1 - x) ** 2 + y, "c": y - x})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
        return {t.trial_id: t.values for t in oracle.trials.values()}

    straight = run(tmp_path / "straight")
    run(tmp_path / "resumed", stop_after=9)
    assert run(tmp_path / "resumed") == straight


def test_parallel_workers_get_distinct_multi_objective_proposals():
    _, oracle = _hypervolume_of(kt.oracles.BayesianOptimizationOracle, 0, trials=12)
    oracle.max_trials = 20
    running = [oracle.create_trial(f"worker{k}") for k in range(4)]
    values = {json.dumps(t.values, sort_keys=True) for t in running}
    assert len(values) == 4


def test_asha_promotes_the_front_of_a_rung_not_one_end_of_it():
    space = kt.HyperParameters()
    space.Float("x", 0.0, 1.0)
    oracle = kt.oracles.AsyncSuccessiveHalvingOracle(
        objective=TWO, max_trials=40, max_epochs=9, factor=3, seed=0, hyperparameters=space
    )
    at_rung: dict[str, tuple[float, float]] = {}
    stopped, continued = set(), set()
    while True:
        trial = oracle.create_trial("t")
        if trial.status != TrialStatus.RUNNING:
            break
        x = trial.values["x"]
        start = trial.budget.initial_epoch if trial.budget else 0
        for epoch in range(start, 9):
            # Both objectives improve with training; x trades one against the other.
            f1, f2 = x**2 + 1 / (epoch + 1), (1 - x) ** 2 + 1 / (epoch + 1)
            status = oracle.update_trial(trial.trial_id, {"f1": f1, "f2": f2}, step=epoch)
            if epoch == 0 and trial.budget.parent_trial_id is None:
                at_rung[trial.trial_id] = (f1, f2)
            if status == TrialStatus.STOPPED:
                stopped.add(trial.trial_id)
                break
        else:
            if epoch >= 1 and trial.budget.parent_trial_id is None:
                continued.add(trial.trial_id)
        trial.status = TrialStatus.STOPPED if trial.trial_id in stopped else "COMPLETED"
        oracle.end_trial(trial)
    promoted = continued | {
        t.budget.parent_trial_id for t in oracle.trials.values() if t.budget.parent_trial_id
    }
    xs = sorted(oracle.trials[t].values["x"] for t in promoted if t in at_rung)
    # Every point trades f1 against f2 (all on one front), and the sum of the two is smallest
    # in the middle: promotion by crowding distance spreads the promoted trials over both ends
    # where the signed sum would keep the middle.
    assert xs and xs[0] < 0.25 and xs[-1] > 0.75


def test_a_keras_search_records_size_and_speed_for_objectives_and_constraints(tmp_path):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x = rng.random((48, 4)).astype("float32")
    y = (x.sum(axis=1) > 2).astype("float32")

    def build_model(hp):
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(hp.Choice("units", [2, 32]), activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
        return model

    search = kt.GridSearch(
        build_model,
        objective=[kt.Objective("val_accuracy", "max"), kt.Objective("model_params", "min")],
        constraints=[
            kt.Constraint("model_params", max_value=50),
            kt.Constraint("epoch_seconds", max_value=60.0),
        ],
        directory=str(tmp_path),
        project_name="keras",
    )
    search.search(x, y, validation_split=0.25, epochs=2, verbose=0)
    trials = {t.values["units"]: t for t in search.oracle.trials.values()}
    small, large = trials[2], trials[32]
    assert small.objective_values["model_params"] == 2 * 4 + 2 + 2 + 1
    assert large.constraint_values["model_params"] == 32 * 4 + 32 + 32 + 1
    assert 0 < small.constraint_values["epoch_seconds"] < 60
    assert small.feasible and not large.feasible
    assert [t.values["units"] for t in search.get_pareto_front()] == [2]
    history = small.metrics.get_history("epoch_seconds")
    assert [o.step for o in history] == [0, 1]
    assert set(small.executions[0].metrics) >= {"model_params", "epoch_seconds", "val_accuracy"}


def test_hyperband_rounds_continue_the_front_spread_out():
    space = kt.HyperParameters()
    space.Float("x", 0.0, 1.0)
    oracle = kt.oracles.HyperbandOracle(
        objective=TWO, max_epochs=9, factor=3, seed=0, hyperparameters=space
    )
    while True:
        trial = oracle.create_trial("t")
        if trial.status != TrialStatus.RUNNING:
            break
        x = trial.values["x"]
        for epoch in range(trial.budget.initial_epoch, trial.budget.epochs):
            f1, f2 = x**2 + 1 / (epoch + 1), (1 - x) ** 2 + 1 / (epoch + 1)
            oracle.update_trial(trial.trial_id, {"f1": f1, "f2": f2}, step=epoch)
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    continued = [t for t in oracle.trials.values() if t.budget.round > 0]
    assert continued
    by_bracket: dict[int, list[float]] = {}
    for trial in continued:
        by_bracket.setdefault(trial.budget.bracket, []).append(trial.values["x"])
    widest = max(by_bracket.values(), key=len)
    # One front, whose signed sum is smallest in the middle: the continued trials include its
    # ends.
    assert min(widest) < 0.25 and max(widest) > 0.75
