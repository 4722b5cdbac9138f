"""How good are the model-based oracles? Simple regret on four test functions, against the anchors.

Every method minimizes the same functions through its own public interface, without any Keras
training:

- tuner: ``BayesianOptimizationOracle``, ``TPEOracle`` and (as a reference) ``RandomSearchOracle``,
  driven through ``create_trial`` / ``update_trial`` / ``end_trial``;
- keras-tuner: its ``BayesianOptimizationOracle``, driven the same way;
- Optuna: ``GPSampler`` and ``TPESampler`` (their defaults), through ``study.optimize``.

Functions: Branin (2-D), Hartmann6 (6-D), a mixed space (two floats, a log-scaled float, an
integer and an unordered choice, coupled) and a conditional space (a three-way choice whose
branches own different hyperparameters). The simple regret after ``k`` trials is the best value
among the first ``k`` minus the known minimum; the table gives its median over seeds (20 by
default, drawn from one ``SeedSequence`` so that they are far apart), at 10, 25 and 50 trials.

Usage::

    python benchmarks/oracle_quality.py            # 20 seeds, every method
    python benchmarks/oracle_quality.py --quick    # 5 seeds
    python benchmarks/oracle_quality.py --methods tuner-bayesian optuna-gp --problems branin

Every method runs single-threaded (BLAS, OpenMP and torch threads set to 1 unless the
environment says otherwise): the figures compare algorithms, and the column of seconds per run
is only a rough guide.

Floors (issue 4): Hartmann6 median regret at 50 trials <= 0.002; Branin median regret at 25 trials
<= 0.04; tuner's TPE at least as good as Optuna's TPE on every function (median regret at 50).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Every method runs on one thread (BLAS, OpenMP, torch): the machine this runs on is shared,
# where several threads per process mostly wait for each other. Set before numpy is imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from _report import floor_line, markdown_table, median, write_results  # noqa: E402

import tuner  # noqa: E402
from tuner.oracles import Oracle  # noqa: E402

BUDGETS = (10, 25, 50)
FLOOR_HARTMANN6_AT_50 = 0.002
FLOOR_BRANIN_AT_25 = 0.04


# --- the test functions --------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """A test function, its space and its minimum.

    ``define`` builds the space on any keras-tuner compatible ``HyperParameters``; ``suggest``
    asks an Optuna trial for the same space.
    """

    name: str
    define: Callable[[Any], None]
    suggest: Callable[[Any], dict[str, Any]]
    evaluate: Callable[[dict[str, Any]], float]
    minimum: float


def branin(values: dict[str, Any]) -> float:
    x1, x2 = values["x1"], values["x2"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def define_branin(hp: Any) -> None:
    hp.Float("x1", -5.0, 10.0)
    hp.Float("x2", 0.0, 15.0)


def suggest_branin(trial: Any) -> dict[str, Any]:
    return {
        "x1": trial.suggest_float("x1", -5.0, 10.0),
        "x2": trial.suggest_float("x2", 0.0, 15.0),
    }


_HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_HARTMANN_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_HARTMANN_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(values: dict[str, Any]) -> float:
    x = np.array([values[f"x{i}"] for i in range(6)])
    inner = (_HARTMANN_A * (x - _HARTMANN_P) ** 2).sum(1)
    return float(-(_HARTMANN_ALPHA * np.exp(-inner)).sum())


def define_hartmann6(hp: Any) -> None:
    for i in range(6):
        hp.Float(f"x{i}", 0.0, 1.0)


def suggest_hartmann6(trial: Any) -> dict[str, Any]:
    return {f"x{i}": trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(6)}


_MIXED_CENTRE = {"relu": 1.0, "tanh": -1.0, "sigmoid": 0.5, "elu": 0.0}
_MIXED_BIAS = {"relu": 0.0, "tanh": 0.15, "sigmoid": 0.4, "elu": 0.25}


def mixed(values: dict[str, Any]) -> float:
    """A curved valley whose centre depends on an unordered choice.

    A log-scaled float and an integer are coupled to it. Minimum 0 at relu, x = y = 1,
    lr = 10^-3.5, k = 11.
    """
    centre = _MIXED_CENTRE[values["activation"]]
    x, y = values["x"], values["y"]
    return (
        _MIXED_BIAS[values["activation"]]
        + (x - centre) ** 2
        + 2.0 * (y - x**2) ** 2
        + 0.25 * (math.log10(values["lr"]) + 3.0 + 0.5 * x) ** 2
        + 0.01 * (values["k"] - 11) ** 2
    )


def define_mixed(hp: Any) -> None:
    hp.Float("x", -2.0, 2.0)
    hp.Float("y", -1.0, 3.0)
    hp.Float("lr", 1e-5, 1e-1, sampling="log")
    hp.Int("k", 1, 16)
    hp.Choice("activation", ["relu", "tanh", "sigmoid", "elu"])


def suggest_mixed(trial: Any) -> dict[str, Any]:
    return {
        "x": trial.suggest_float("x", -2.0, 2.0),
        "y": trial.suggest_float("y", -1.0, 3.0),
        "lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
        "k": trial.suggest_int("k", 1, 16),
        "activation": trial.suggest_categorical("activation", ["relu", "tanh", "sigmoid", "elu"]),
    }


def conditional(values: dict[str, Any]) -> float:
    """Three branches with their own hyperparameters; the best (0) is in branch "b"."""
    shared = (values["shared"] - 0.25) ** 2
    branch = values["branch"]
    if branch == "a":
        return 0.6 + (values["a_x"] - 0.7) ** 2 + 0.05 * (values["a_n"] - 3) ** 2 + shared
    if branch == "b":
        bx, by = values["b_x"], values["b_y"]
        return (bx - 0.5) ** 2 + (by + 0.8) ** 2 + 0.5 * (bx * by + 0.4) ** 2 + shared
    return 0.3 + 0.25 * (math.log10(values["c_lr"]) + 2.0) ** 2 + shared


def define_conditional(hp: Any) -> None:
    hp.Choice("branch", ["a", "b", "c"])
    with hp.conditional_scope("branch", ["a"]):
        hp.Float("a_x", 0.0, 1.0)
        hp.Int("a_n", 1, 8)
    with hp.conditional_scope("branch", ["b"]):
        hp.Float("b_x", -2.0, 2.0)
        hp.Float("b_y", -2.0, 2.0)
    with hp.conditional_scope("branch", ["c"]):
        hp.Float("c_lr", 1e-4, 1.0, sampling="log")
    hp.Float("shared", 0.0, 1.0)


def suggest_conditional(trial: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"branch": trial.suggest_categorical("branch", ["a", "b", "c"])}
    if values["branch"] == "a":
        values["a_x"] = trial.suggest_float("a_x", 0.0, 1.0)
        values["a_n"] = trial.suggest_int("a_n", 1, 8)
    elif values["branch"] == "b":
        values["b_x"] = trial.suggest_float("b_x", -2.0, 2.0)
        values["b_y"] = trial.suggest_float("b_y", -2.0, 2.0)
    else:
        values["c_lr"] = trial.suggest_float("c_lr", 1e-4, 1.0, log=True)
    values["shared"] = trial.suggest_float("shared", 0.0, 1.0)
    return values


PROBLEMS = {
    problem.name: problem
    for problem in (
        Problem("branin", define_branin, suggest_branin, branin, 0.397887357729739),
        Problem("hartmann6", define_hartmann6, suggest_hartmann6, hartmann6, -3.322368011391339),
        Problem("mixed", define_mixed, suggest_mixed, mixed, 0.0),
        Problem("conditional", define_conditional, suggest_conditional, conditional, 0.0),
    )
}


# --- the methods ---------------------------------------------------------------------------------
def drive_tuner_oracle(oracle: Oracle, problem: Problem, trials: int) -> list[float]:
    """Runs a tuner oracle for ``trials`` trials; returns the objective of each, in order."""
    found: list[float] = []
    for _ in range(trials):
        trial = oracle.create_trial("worker")
        if trial.status != tuner.TrialStatus.RUNNING:
            break
        value = problem.evaluate(dict(trial.hyperparameters.values))
        oracle.update_trial(trial.trial_id, {"loss": value})
        trial.status = tuner.TrialStatus.COMPLETED
        oracle.end_trial(trial)
        found.append(value)
    return found


def tuner_method(make: Callable[..., Oracle]) -> Callable[[Problem, int, int], list[float]]:
    def run(problem: Problem, seed: int, trials: int) -> list[float]:
        space = tuner.HyperParameters()
        problem.define(space)
        oracle = make(objective="loss", max_trials=trials, seed=seed, hyperparameters=space)
        return drive_tuner_oracle(oracle, problem, trials)

    return run


def run_keras_tuner(problem: Problem, seed: int, trials: int) -> list[float]:
    """keras-tuner's BayesianOptimizationOracle, driven directly (its project dir is temporary)."""
    with contextlib.redirect_stderr(io.StringIO()):
        import keras_tuner
    space = keras_tuner.HyperParameters()
    problem.define(space)
    oracle = keras_tuner.oracles.BayesianOptimizationOracle(
        objective=keras_tuner.Objective("loss", "min"),
        max_trials=trials,
        seed=seed,
        hyperparameters=space,
    )
    directory = tempfile.mkdtemp(prefix="kt-quality-")
    found: list[float] = []
    # keras-tuner's oracle prints every trial and scikit-learn warns about its GP fits: keep the
    # report readable.
    silence = contextlib.ExitStack()
    silence.enter_context(contextlib.redirect_stdout(io.StringIO()))
    silence.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    try:
        oracle._set_project_dir(directory, "quality")
        for _ in range(trials):
            trial = oracle.create_trial("worker")
            if trial.status != "RUNNING":
                break
            value = problem.evaluate(dict(trial.hyperparameters.values))
            oracle.update_trial(trial.trial_id, {"loss": value})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
            found.append(value)
    finally:
        silence.close()
        shutil.rmtree(directory, ignore_errors=True)
    return found


def optuna_method(sampler_name: str) -> Callable[[Problem, int, int], list[float]]:
    def run(problem: Problem, seed: int, trials: int) -> list[float]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)  # no per-trial notices
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sampler = getattr(optuna.samplers, sampler_name)(seed=seed)
            study = optuna.create_study(sampler=sampler)
            found: list[float] = []

            def objective(trial: Any) -> float:
                value = problem.evaluate(problem.suggest(trial))
                found.append(value)
                return value

            study.optimize(objective, n_trials=trials)
        return found

    return run


def _methods() -> dict[str, Callable[[Problem, int, int], list[float]]]:
    from tuner.oracles import BayesianOptimizationOracle, RandomSearchOracle

    methods = {
        "tuner-bayesian": tuner_method(BayesianOptimizationOracle),
        "keras-tuner-bayesian": run_keras_tuner,
        "optuna-gp": optuna_method("GPSampler"),
        "optuna-tpe": optuna_method("TPESampler"),
        "tuner-random": tuner_method(RandomSearchOracle),
    }
    try:
        from tuner.oracles import TPEOracle
    except ImportError:
        return methods
    return {"tuner-tpe": tuner_method(TPEOracle), **methods}


def seeds(count: int) -> list[int]:
    """``count`` well-separated seeds from one SeedSequence."""
    children = np.random.SeedSequence(20240604).spawn(count)
    return [int(child.generate_state(1)[0] % (2**31 - 1)) for child in children]


def regret_after(found: list[float], budget: int, minimum: float) -> float:
    """Best value among the first ``budget`` trials minus the minimum (NaN when none ran)."""
    head = found[:budget]
    return min(head) - minimum if head else float("nan")


# --- the report ----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    methods = _methods()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 seeds instead of 20")
    parser.add_argument("--seeds", type=int, help="number of seeds (default 20, 5 with --quick)")
    parser.add_argument("--methods", nargs="+", choices=sorted(methods), help="default: all")
    parser.add_argument("--problems", nargs="+", choices=sorted(PROBLEMS), help="default: all")
    parser.add_argument("--trials", type=int, default=max(BUDGETS), help="trials per run")
    args = parser.parse_args(argv)

    count = args.seeds or (5 if args.quick else 20)
    chosen_methods = args.methods or list(methods)
    chosen_problems = args.problems or list(PROBLEMS)
    seed_list = seeds(count)
    runs: dict[str, dict[str, list[list[float]]]] = {}
    seconds: dict[str, dict[str, float]] = {}
    for problem_name in chosen_problems:
        problem = PROBLEMS[problem_name]
        runs[problem_name], seconds[problem_name] = {}, {}
        for method in chosen_methods:
            start = time.perf_counter()
            runs[problem_name][method] = [
                methods[method](problem, seed, args.trials) for seed in seed_list
            ]
            seconds[problem_name][method] = time.perf_counter() - start
            final = [
                regret_after(f, args.trials, problem.minimum) for f in runs[problem_name][method]
            ]
            print(
                f"{problem_name:12s} {method:22s} {seconds[problem_name][method]:7.1f} s  "
                f"median regret@{args.trials}: {median(final):.4g}",
                file=sys.stderr,
                flush=True,
            )

    budgets = [b for b in BUDGETS if b <= args.trials]
    rows = []
    for problem_name in chosen_problems:
        minimum = PROBLEMS[problem_name].minimum
        for method in chosen_methods:
            row: dict[str, Any] = {"function": problem_name, "method": method}
            for budget in budgets:
                row[f"regret@{budget}"] = median(
                    [regret_after(f, budget, minimum) for f in runs[problem_name][method]]
                )
            row["s/run"] = seconds[problem_name][method] / count
            rows.append(row)
    columns = ["function", "method", *[f"regret@{b}" for b in budgets], "s/run"]
    print(f"\n## Median simple regret over {count} seeds (lower is better)\n")
    print(markdown_table(rows, columns))

    floors = _floors(rows, chosen_methods, chosen_problems, budgets)
    if floors:
        print("\n## Floors\n")
        print("\n".join(line for line, _ in floors))
    path = write_results(
        "oracle_quality",
        {
            "seeds": seed_list,
            "budgets": budgets,
            "rows": rows,
            "regrets": {
                problem_name: {
                    method: [
                        [regret_after(f, b, PROBLEMS[problem_name].minimum) for b in budgets]
                        for f in runs[problem_name][method]
                    ]
                    for method in chosen_methods
                }
                for problem_name in chosen_problems
            },
            "floors": [line for line, _ in floors],
        },
    )
    print(f"\nJSON: {path}")
    return 0 if all(passed for _, passed in floors) else 1


def _floors(
    rows: list[dict[str, Any]], methods: list[str], problems: list[str], budgets: list[int]
) -> list[tuple[str, bool]]:
    def cell(problem: str, method: str, budget: int) -> float:
        for row in rows:
            if row["function"] == problem and row["method"] == method:
                return row[f"regret@{budget}"]
        return float("nan")

    floors: list[tuple[str, bool]] = []
    if "tuner-bayesian" in methods and "hartmann6" in problems and 50 in budgets:
        value = cell("hartmann6", "tuner-bayesian", 50)
        passed = value <= FLOOR_HARTMANN6_AT_50
        floors.append(
            (
                floor_line(
                    f"Hartmann6 median regret at 50 trials <= {FLOOR_HARTMANN6_AT_50}",
                    passed,
                    f"{value:.4g}",
                ),
                passed,
            )
        )
    if "tuner-bayesian" in methods and "branin" in problems and 25 in budgets:
        value = cell("branin", "tuner-bayesian", 25)
        passed = value <= FLOOR_BRANIN_AT_25
        floors.append(
            (
                floor_line(
                    f"Branin median regret at 25 trials <= {FLOOR_BRANIN_AT_25}",
                    passed,
                    f"{value:.4g}",
                ),
                passed,
            )
        )
    if "tuner-tpe" in methods and "optuna-tpe" in methods:
        budget = max(budgets)
        for problem in problems:
            ours, theirs = cell(problem, "tuner-tpe", budget), cell(problem, "optuna-tpe", budget)
            passed = ours <= theirs
            floors.append(
                (
                    floor_line(
                        f"{problem}: tuner TPE median regret at {budget} <= Optuna TPE's",
                        passed,
                        f"{ours:.4g} vs {theirs:.4g}",
                    ),
                    passed,
                )
            )
    return floors


if __name__ == "__main__":
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    sys.exit(main())
