"""Multi-objective search: hypervolume regret on six standard problems, against Optuna.

Every method minimizes two objectives of the same problems through its own public interface,
without Keras training:

- tuner: ``BayesianOptimizationOracle``, ``TPEOracle`` and ``RandomSearchOracle`` with a list
  objective (and ``constraints=`` on the constrained problems), driven through
  ``create_trial`` / ``update_trial`` / ``end_trial``;
- Optuna: ``NSGAIISampler``, ``TPESampler``, ``GPSampler`` and ``RandomSampler`` with two
  directions (and ``constraints_func`` where the sampler takes one), through ``ask`` / ``tell``.

Problems (variables): ZDT1 (6), ZDT2 (4), DTLZ2 with two objectives (8), Branin-Currin (2), and
two constrained ones, BNH (2, two constraints) and SRN (2, two constraints). The hypervolume
regret after ``k`` trials is the hypervolume of the true Pareto front minus that of the feasible
trials among the first ``k`` (both bounded by the problem's reference point); the table gives
the median over seeds of its log10, at 30 and 60 trials (lower is better). The true front's
hypervolume is computed from the analytic front (ZDT, DTLZ2) or from a dense grid of the
feasible region (the others).

Proposal latency is the median time of one proposal (``create_trial``, ``study.ask``) over the
last ten of 60 trials.

Usage::

    python benchmarks/multi_objective.py             # 10 seeds, every method and problem
    python benchmarks/multi_objective.py --quick     # 3 seeds
    python benchmarks/multi_objective.py --methods tuner-bayesian optuna-gp --problems bnh
    python benchmarks/multi_objective.py --jobs 2    # runs in two processes

Every run is single-threaded (BLAS, OpenMP and torch threads set to 1).

Floors (issue 15), at 60 trials: tuner's Bayesian optimization at most the best Optuna sampler's
median log10 regret on at least 2/3 of the problems; tuner's TPE at most Optuna's TPE on at least
2/3; the Bayesian proposal latency at most Optuna GP's.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
from _report import floor_line, markdown_table, median, write_results  # noqa: E402

import tuner  # noqa: E402
from tuner.pareto import hypervolume  # noqa: E402

BUDGETS = (30, 60)
TRIALS = max(BUDGETS)
#: Proposals whose time makes the latency figure: the last ten of the run.
LATENCY_WINDOW = 10


# --- problems ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """Two objectives to minimize over a box, and constraints ``g(x) <= 0``."""

    name: str
    bounds: tuple[tuple[float, float], ...]
    evaluate: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    reference: tuple[float, float]
    #: The true front as points (analytic problems), or None: a grid of the box is searched.
    true_front: Callable[[], np.ndarray] | None = None
    constraints: int = 0

    @property
    def dimensions(self) -> int:
        return len(self.bounds)


def _zdt1(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f1 = x[:, 0]
    g = 1 + 9 * x[:, 1:].mean(axis=1)
    return np.column_stack([f1, g * (1 - np.sqrt(f1 / g))]), np.zeros((len(x), 0))


def _zdt2(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f1 = x[:, 0]
    g = 1 + 9 * x[:, 1:].mean(axis=1)
    return np.column_stack([f1, g * (1 - (f1 / g) ** 2)]), np.zeros((len(x), 0))


def _dtlz2(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = ((x[:, 1:] - 0.5) ** 2).sum(axis=1)
    angle = x[:, 0] * math.pi / 2
    return np.column_stack([(1 + g) * np.cos(angle), (1 + g) * np.sin(angle)]), np.zeros(
        (len(x), 0)
    )


def _branin_currin(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u, v = 15 * x[:, 0] - 5, 15 * x[:, 1]
    branin = (v - 5.1 / (4 * math.pi**2) * u**2 + 5 / math.pi * u - 6) ** 2
    branin += 10 * (1 - 1 / (8 * math.pi)) * np.cos(u) + 10
    a, b = x[:, 0], np.maximum(x[:, 1], 1e-12)
    currin = (1 - np.exp(-1 / (2 * b))) * (2300 * a**3 + 1900 * a**2 + 2092 * a + 60)
    currin /= 100 * a**3 + 500 * a**2 + 4 * a + 20
    return np.column_stack([branin, currin]), np.zeros((len(x), 0))


def _bnh(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f1 = 4 * x[:, 0] ** 2 + 4 * x[:, 1] ** 2
    f2 = (x[:, 0] - 5) ** 2 + (x[:, 1] - 5) ** 2
    c1 = (x[:, 0] - 5) ** 2 + x[:, 1] ** 2 - 25
    c2 = 7.7 - (x[:, 0] - 8) ** 2 - (x[:, 1] + 3) ** 2
    return np.column_stack([f1, f2]), np.column_stack([c1, c2])


def _srn(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f1 = 2 + (x[:, 0] - 2) ** 2 + (x[:, 1] - 1) ** 2
    f2 = 9 * x[:, 0] - (x[:, 1] - 1) ** 2
    c1 = x[:, 0] ** 2 + x[:, 1] ** 2 - 225
    c2 = x[:, 0] - 3 * x[:, 1] + 10
    return np.column_stack([f1, f2]), np.column_stack([c1, c2])


def _curve(function: Callable[[np.ndarray], np.ndarray]) -> Callable[[], np.ndarray]:
    def front() -> np.ndarray:
        f1 = np.linspace(0.0, 1.0, 20001)
        return np.column_stack([f1, function(f1)])

    return front


def _quarter_circle() -> np.ndarray:
    angle = np.linspace(0.0, math.pi / 2, 20001)
    return np.column_stack([np.cos(angle), np.sin(angle)])


PROBLEMS: dict[str, Problem] = {
    problem.name: problem
    for problem in (
        Problem("zdt1", ((0.0, 1.0),) * 6, _zdt1, (1.1, 11.0), _curve(lambda f: 1 - np.sqrt(f))),
        Problem("zdt2", ((0.0, 1.0),) * 4, _zdt2, (1.1, 11.0), _curve(lambda f: 1 - f**2)),
        Problem("dtlz2", ((0.0, 1.0),) * 8, _dtlz2, (2.5, 2.5), _quarter_circle),
        Problem("branin_currin", ((0.0, 1.0),) * 2, _branin_currin, (18.0, 6.0)),
        Problem("bnh", ((0.0, 5.0), (0.0, 3.0)), _bnh, (140.0, 50.0), constraints=2),
        Problem("srn", ((-20.0, 20.0),) * 2, _srn, (250.0, 50.0), constraints=2),
    )
}


def _front_2d(points: np.ndarray) -> np.ndarray:
    """The non-dominated points of many 2-D points (sort, then keep each new lowest second)."""
    points = points[np.lexsort((points[:, 1], points[:, 0]))]
    keep = points[:, 1] < np.minimum.accumulate(np.r_[np.inf, points[:-1, 1]])
    return points[keep]


def true_hypervolume(problem: Problem) -> float:
    """The hypervolume of the problem's true front (its reference point bounding it)."""
    if problem.true_front is not None:
        return hypervolume(_front_2d(problem.true_front()), problem.reference)
    side = np.linspace(0.0, 1.0, 1501)
    grid = np.stack(np.meshgrid(side, side), axis=-1).reshape(-1, 2)
    low = np.array([b[0] for b in problem.bounds])
    high = np.array([b[1] for b in problem.bounds])
    values, constraints = problem.evaluate(low + grid * (high - low))
    feasible = np.all(constraints <= 0, axis=1)
    return hypervolume(_front_2d(values[feasible]), problem.reference)


# --- one run -------------------------------------------------------------------------------------
@dataclass
class Run:
    """What one method found on one problem with one seed."""

    values: list[list[float]] = field(default_factory=list)
    feasible: list[bool] = field(default_factory=list)
    proposal_seconds: list[float] = field(default_factory=list)

    def hypervolume_after(self, trials: int, reference: tuple[float, float]) -> float:
        kept = [
            v for v, ok in zip(self.values[:trials], self.feasible[:trials], strict=True) if ok
        ]
        return hypervolume(np.asarray(kept).reshape(-1, 2), reference) if kept else 0.0


def _tuner_run(algorithm: str, problem: Problem, seed: int) -> Run:
    from tuner.oracles import BayesianOptimizationOracle, RandomSearchOracle, TPEOracle

    space = tuner.HyperParameters()
    for index, (low, high) in enumerate(problem.bounds):
        space.Float(f"x{index}", low, high)
    classes = {
        "bayesian": BayesianOptimizationOracle,
        "tpe": TPEOracle,
        "random": RandomSearchOracle,
    }
    constraints = [tuner.Constraint(f"c{k}", max_value=0.0) for k in range(problem.constraints)]
    oracle = classes[algorithm](
        objective=[tuner.Objective("f0", "min"), tuner.Objective("f1", "min")],
        max_trials=TRIALS,
        seed=seed,
        hyperparameters=space,
        constraints=constraints,
    )
    run = Run()
    for _ in range(TRIALS):
        start = time.perf_counter()
        trial = oracle.create_trial("bench")
        run.proposal_seconds.append(time.perf_counter() - start)
        x = np.array([[trial.values[f"x{i}"] for i in range(problem.dimensions)]])
        values, constraint_values = problem.evaluate(x)
        metrics = {"f0": float(values[0, 0]), "f1": float(values[0, 1])}
        metrics.update({f"c{k}": float(c) for k, c in enumerate(constraint_values[0])})
        oracle.update_trial(trial.trial_id, metrics)
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        run.values.append(values[0].tolist())
        run.feasible.append(bool(np.all(constraint_values[0] <= 0)))
    return run


def _optuna_run(sampler_name: str, problem: Problem, seed: int) -> Run:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def constraints_of(frozen: Any) -> list[float]:
        return frozen.user_attrs["constraints"]

    constrained = {"constraints_func": constraints_of} if problem.constraints else {}
    samplers = {
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed, **constrained),
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed, **constrained),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed, **constrained),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental-feature warnings
        study = optuna.create_study(
            directions=["minimize", "minimize"], sampler=samplers[sampler_name]()
        )
        run = Run()
        for _ in range(TRIALS):
            start = time.perf_counter()
            trial = study.ask()
            x = np.array(
                [
                    [
                        trial.suggest_float(f"x{i}", low, high)
                        for i, (low, high) in enumerate(problem.bounds)
                    ]
                ]
            )
            run.proposal_seconds.append(time.perf_counter() - start)
            values, constraint_values = problem.evaluate(x)
            trial.set_user_attr("constraints", [float(c) for c in constraint_values[0]])
            study.tell(trial, [float(values[0, 0]), float(values[0, 1])])
            run.values.append(values[0].tolist())
            run.feasible.append(bool(np.all(constraint_values[0] <= 0)))
    return run


METHODS: dict[str, Callable[[Problem, int], Run]] = {
    "tuner-bayesian": lambda p, s: _tuner_run("bayesian", p, s),
    "tuner-tpe": lambda p, s: _tuner_run("tpe", p, s),
    "tuner-random": lambda p, s: _tuner_run("random", p, s),
    "optuna-nsga2": lambda p, s: _optuna_run("nsga2", p, s),
    "optuna-tpe": lambda p, s: _optuna_run("tpe", p, s),
    "optuna-gp": lambda p, s: _optuna_run("gp", p, s),
    "optuna-random": lambda p, s: _optuna_run("random", p, s),
}


def _job(method: str, problem_name: str, seed: int) -> tuple[str, str, int, Run, float]:
    logging.disable(logging.WARNING)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    problem = PROBLEMS[problem_name]
    start = time.perf_counter()
    run = METHODS[method](problem, seed)
    return method, problem_name, seed, run, time.perf_counter() - start


# --- the report ----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, help="seeds per problem and method (default 10)")
    parser.add_argument("--quick", action="store_true", help="3 seeds")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=None)
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS), default=None)
    parser.add_argument("--jobs", type=int, default=1, help="processes to run in (default 1)")
    args = parser.parse_args(argv)
    seeds_count = args.seeds or (3 if args.quick else 10)
    methods = list(args.methods or METHODS)
    try:
        import optuna  # noqa: F401
    except ImportError:
        print("Optuna is not installed (pip install optuna): tuner's methods only.")
        methods = [m for m in methods if not m.startswith("optuna")]
    problems = list(args.problems or PROBLEMS)
    seeds = [int(s) for s in np.random.SeedSequence(15).generate_state(seeds_count) % 2**31]
    jobs = [(m, p, s) for p in problems for s in seeds for m in methods]
    print(
        f"{len(jobs)} runs of {TRIALS} trials: {len(problems)} problems x {len(seeds)} seeds "
        f"x {len(methods)} methods, {args.jobs} process(es)",
        flush=True,
    )
    runs: dict[tuple[str, str], list[Run]] = {}
    seconds: dict[tuple[str, str], list[float]] = {}
    with ProcessPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        for done, (method, problem_name, _, run, took) in enumerate(
            pool.map(_job, *zip(*jobs, strict=True)), start=1
        ):
            runs.setdefault((method, problem_name), []).append(run)
            seconds.setdefault((method, problem_name), []).append(took)
            if done % max(len(jobs) // 20, 1) == 0:
                print(f"  {done}/{len(jobs)} runs", flush=True)
    truth = {name: true_hypervolume(PROBLEMS[name]) for name in problems}
    rows, table = [], {}
    for problem_name in problems:
        problem = PROBLEMS[problem_name]
        for method in methods:
            found = runs[(method, problem_name)]
            row: dict[str, Any] = {"problem": problem_name, "method": method}
            for budget in BUDGETS:
                regrets = [
                    math.log10(
                        max(
                            truth[problem_name] - r.hypervolume_after(budget, problem.reference),
                            1e-12,
                        )
                    )
                    for r in found
                ]
                row[f"log10 regret @{budget}"] = median(regrets)
                table[(problem_name, method, budget)] = median(regrets)
            row["proposal s @60"] = median(
                [s for r in found for s in r.proposal_seconds[-LATENCY_WINDOW:]]
            )
            row["s per run"] = median(seconds[(method, problem_name)])
            rows.append(row)
    columns = [
        "problem",
        "method",
        *(f"log10 regret @{b}" for b in BUDGETS),
        "proposal s @60",
        "s per run",
    ]
    print()
    print(f"## Hypervolume regret (median log10 over {len(seeds)} seeds; lower is better)")
    print()
    print(markdown_table(rows, columns))
    floors = _floors(table, rows, problems, methods)
    if floors:
        print()
        print("## Floors (issue 15)")
        print()
        print("\n".join(floors))
    path = write_results(
        "multi_objective",
        {"seeds": seeds, "trials": TRIALS, "true_hypervolume": truth, "rows": rows},
    )
    print(f"\nResults written to {path}")
    return 0


def _floors(
    table: dict[tuple[str, str, int], float],
    rows: list[dict[str, Any]],
    problems: list[str],
    methods: list[str],
) -> list[str]:
    lines = []
    budget = max(BUDGETS)
    optuna_methods = [m for m in methods if m.startswith("optuna")]
    if "tuner-bayesian" in methods and optuna_methods:
        wins = sum(
            table[(p, "tuner-bayesian", budget)]
            <= min(table[(p, m, budget)] for m in optuna_methods)
            for p in problems
        )
        lines.append(
            floor_line(
                "tuner's BO <= the best Optuna sampler on >= 2/3 of the problems",
                wins * 3 >= 2 * len(problems),
                f"{wins}/{len(problems)}",
            )
        )
    if "tuner-tpe" in methods and "optuna-tpe" in methods:
        wins = sum(
            table[(p, "tuner-tpe", budget)] <= table[(p, "optuna-tpe", budget)] for p in problems
        )
        lines.append(
            floor_line(
                "tuner's TPE <= Optuna's TPE on >= 2/3 of the problems",
                wins * 3 >= 2 * len(problems),
                f"{wins}/{len(problems)}",
            )
        )
    if "tuner-bayesian" in methods and "optuna-gp" in methods:

        def latency(method: str) -> float:
            return median([r["proposal s @60"] for r in rows if r["method"] == method])

        ours, theirs = latency("tuner-bayesian"), latency("optuna-gp")
        lines.append(
            floor_line(
                "BO proposal latency <= Optuna GP's",
                ours <= theirs,
                f"{ours:.3f} s vs {theirs:.3f} s",
            )
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
