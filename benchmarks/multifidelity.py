"""Multi-fidelity benchmark: Hyperband and ASHA against random search, on replayed learning curves.

Question: at equal epoch budgets, how good is the configuration each method returns as best, and
how many epochs does each need to do as well as random search with full budgets?

Training is replayed, not run: ``benchmarks/record_curves.py`` recorded once the per-epoch
validation curves of every configuration of two Keras grids, for several seeds
(``benchmarks/data/curves_*.json.gz``). A replayed trial draws one recorded seed (its training
noise) and reports that seed's curve epoch by epoch, exactly as the Keras tuner reports
``fit``'s logs; a promoted trial continues its parent's curve from ``initial_epoch`` (the warm
start); an early-stopped trial stops reporting. So hundreds of searches per method run in
seconds, all methods see the same curves, and the comparison is free of timing noise.

Methods, each replayed the same way, over ``--repeats`` seeds:

- random search with full budgets (``RandomSearchOracle``, every trial ``max_epochs``);
- the same random search returning its best trial by the last epoch's value, as the
  multi-fidelity oracles do (a control: how much comes from that rule alone);
- ``HyperbandOracle`` (max_epochs=27, factor=3), brackets repeated until the budget is spent;
- ``BOHBOracle``: Hyperband's brackets, new configurations from TPE densities;
- ``AsyncSuccessiveHalvingOracle`` (rungs at 1, 3, 9 epochs; 27 at most), with random and
  with TPE-proposed (``sampler="tpe"``) configurations;
- keras-tuner 1.4's ``HyperbandOracle`` (same arguments), when installed;
- Optuna's ``SuccessiveHalvingPruner`` (ASHA) with a ``RandomSampler``, when installed.

Score of a configuration: the recorded metric at the last epoch, averaged over the recorded
seeds (its "true" final score). Regret of a search at a budget: the true score of the best
configuration of the grid minus the true score of the configuration the search returns as best
(``get_best_trials(1)``, Optuna's ``best_trial``) after spending at most that many epochs.

Usage::

    python benchmarks/multifidelity.py            # 100 repeats per method and problem
    python benchmarks/multifidelity.py --quick    # 12 repeats

Prints a Markdown table and writes ``benchmarks/results/multifidelity.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keras-tuner imports TensorFlow
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuner.hyperparameters import HyperParameters
from tuner.objective import Objective
from tuner.oracles import (
    AsyncSuccessiveHalvingOracle,
    BOHBOracle,
    HyperbandOracle,
    RandomSearchOracle,
)
from tuner.oracles.hyperband import hyperband_schedule, rank_by_fidelity
from tuner.trial import TrialStatus

DATA_DIR = Path(__file__).parent / "data"
RESULTS = Path(__file__).parent / "results" / "multifidelity.json"
MAX_EPOCHS = 27
FACTOR = 3
#: Budgets are multiples of one Hyperband iteration, up to this many.
ITERATIONS = 4
#: Which metric each problem optimizes, and in which direction.
OBJECTIVES = {"breast_cancer": ("val_accuracy", "max"), "digits": ("val_accuracy", "max")}


@dataclass
class Curves:
    """A recorded table: configurations and their per-seed, per-epoch metric."""

    problem: str
    names: list[str]
    grid: dict[str, list[Any]]
    configurations: list[tuple[Any, ...]]
    values: np.ndarray  # [configuration, seed, epoch]
    direction: str
    metric: str

    @classmethod
    def load(cls, problem: str, path: Path) -> Curves:
        """Reads ``curves_<problem>.json.gz``."""
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            table = json.load(handle)
        metric, direction = OBJECTIVES[problem]
        values = np.asarray(table["metrics"][metric], dtype=float)
        if metric.endswith("accuracy"):
            # Stored rounded to 5 decimals; an accuracy is a multiple of 1/validation_rows, so
            # it is restored exactly, and equal regrets compare equal.
            rows = table["validation_rows"]
            values = np.round(values * rows) / rows
        return cls(
            problem=problem,
            names=list(table["hyperparameters"]),
            grid=table["grid"],
            configurations=[tuple(c) for c in table["configurations"]],
            values=values,
            direction=direction,
            metric=metric,
        )

    def __post_init__(self) -> None:
        self._index = {c: i for i, c in enumerate(self.configurations)}
        self.true_scores = self.values[:, :, -1].mean(axis=1)
        self.best_true = (
            self.true_scores.max() if self.direction == "max" else self.true_scores.min()
        )

    @property
    def epochs(self) -> int:
        """Epochs recorded per curve."""
        return self.values.shape[2]

    def index(self, values: dict[str, Any]) -> int:
        """The row of a configuration, given a trial's values."""
        return self._index[tuple(values[name] for name in self.names)]

    def regret(self, row: int | None) -> float:
        """How much worse the configuration's true final score is than the best one's."""
        if row is None:
            return math.nan
        gap = self.best_true - self.true_scores[row]
        return float(gap if self.direction == "max" else -gap)

    def space(self) -> HyperParameters:
        """The grid as a search space of choices."""
        hp = HyperParameters()
        for name in self.names:
            hp.Choice(name, self.grid[name])
        return hp


class BudgetTrace:
    """Regret at each budget checkpoint, recorded as a replayed search spends epochs."""

    def __init__(self, checkpoints: Sequence[int]):
        self.checkpoints = list(checkpoints)
        self.regrets = [math.nan] * len(self.checkpoints)
        self.spent = 0
        self._next = 0

    @property
    def exhausted(self) -> bool:
        """Whether every checkpoint has been passed."""
        return self._next >= len(self.checkpoints)

    def spend(self, epochs: int, regret_before: Callable[[], float]) -> None:
        """Adds a trial's epochs; checkpoints it passes get the regret before it ended."""
        self.spent += epochs
        if self._next < len(self.checkpoints) and self.spent > self.checkpoints[self._next]:
            regret = regret_before()
            while self._next < len(self.checkpoints) and self.spent > self.checkpoints[self._next]:
                self.regrets[self._next] = regret
                self._next += 1

    def finish(self, regret: float) -> None:
        """The search ended: later checkpoints keep its final answer."""
        while self._next < len(self.checkpoints):
            self.regrets[self._next] = regret
            self._next += 1


class RandomSearchRankedByLastEpoch(RandomSearchOracle):
    """A control: random search returning its best trial as the multi-fidelity oracles do.

    Its trials all train ``max_epochs``, so this ranks them by their last epoch's value instead
    of their best epoch's; it shows how much of a difference comes from that rule alone.
    """

    def get_best_trials(self, num_trials: int = 1) -> list[Any]:
        return rank_by_fidelity(self.trials.values(), self.objective, num_trials)


def _values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if not k.startswith("tuner/")}


def replay_tuner_oracle(oracle: Any, curves: Curves, trace: BudgetTrace, seed: int) -> None:
    """Runs one of our oracles on the recorded curves until the budget is spent."""
    rng = np.random.default_rng(seed)
    runs: dict[str, int] = {}  # trial id -> recorded seed it replays

    def regret_now() -> float:
        best = oracle.get_best_trials(1)
        return curves.regret(curves.index(_values(best[0].values)) if best else None)

    while not trace.exhausted:
        trial = oracle.create_trial("replay")
        if trial.status == TrialStatus.STOPPED:
            break
        budget = trial.budget
        start, stop = (
            (0, curves.epochs) if budget is None else (budget.initial_epoch, budget.epochs)
        )
        parent = None if budget is None else budget.parent_trial_id
        run = runs[parent] if parent is not None else int(rng.integers(curves.values.shape[1]))
        runs[trial.trial_id] = run
        row = curves.index(_values(trial.values))
        trained = 0
        for epoch in range(start, stop):
            trained += 1
            value = float(curves.values[row, run, epoch])
            if oracle.update_trial(trial.trial_id, {curves.metric: value}, step=epoch) == (
                TrialStatus.STOPPED
            ):
                break
        trace.spend(trained, regret_now)
        if trial.status == TrialStatus.RUNNING:
            trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
    trace.finish(regret_now())


def replay_keras_tuner_hyperband(
    curves: Curves, trace: BudgetTrace, seed: int, iterations: int
) -> None:
    """Runs keras-tuner's own HyperbandOracle on the recorded curves, as its Tuner would."""
    import keras_tuner

    class InMemoryHyperbandOracle(keras_tuner.oracles.HyperbandOracle):
        """keras-tuner's Hyperband without its per-trial file writes (irrelevant to quality)."""

        def _save_trial(self, trial: Any) -> None:
            pass

        def save(self) -> None:
            pass

    space = keras_tuner.HyperParameters()
    for name in curves.names:
        space.Choice(name, curves.grid[name])
    oracle = InMemoryHyperbandOracle(
        objective=keras_tuner.Objective(curves.metric, curves.direction),
        max_epochs=MAX_EPOCHS,
        factor=FACTOR,
        hyperband_iterations=iterations,
        seed=seed,
        hyperparameters=space,
    )
    oracle._set_project_dir(tempfile.gettempdir(), f"kt_replay_{os.getpid()}")
    rng = np.random.default_rng(seed)
    runs: dict[str, int] = {}
    quiet = contextlib.redirect_stdout(io.StringIO())

    def regret_now() -> float:
        best = oracle.get_best_trials(1)
        return curves.regret(curves.index(best[0].hyperparameters.values) if best else None)

    with quiet:
        while not trace.exhausted:
            trial = oracle.create_trial("replay")
            if trial.status != "RUNNING":
                break
            values = trial.hyperparameters.values
            parent = values.get("tuner/trial_id")
            run = runs[parent] if parent is not None else int(rng.integers(curves.values.shape[1]))
            runs[trial.trial_id] = run
            row = curves.index(values)
            start, stop = values["tuner/initial_epoch"], values["tuner/epochs"]
            for epoch in range(start, stop):
                oracle.update_trial(
                    trial.trial_id, {curves.metric: float(curves.values[row, run, epoch])}, epoch
                )
            trace.spend(stop - start, regret_now)
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
        trace.finish(regret_now())


def replay_optuna_asha(curves: Curves, trace: BudgetTrace, seed: int) -> None:
    """Optuna's ASHA (SuccessiveHalvingPruner) with random sampling, on the recorded curves."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(seed)
    study = optuna.create_study(
        direction="maximize" if curves.direction == "max" else "minimize",
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=optuna.pruners.SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=FACTOR, min_early_stopping_rate=0
        ),
    )

    def regret_now() -> float:
        try:
            best = study.best_trial
        except ValueError:  # nothing completed yet
            return math.nan
        return curves.regret(curves.index(best.params))

    def objective(trial: Any) -> float:
        params = {
            name: trial.suggest_categorical(name, curves.grid[name]) for name in curves.names
        }
        row = curves.index(params)
        run = int(rng.integers(curves.values.shape[1]))
        best = None
        for epoch in range(curves.epochs):
            value = float(curves.values[row, run, epoch])
            best = (
                value if best is None else (max if curves.direction == "max" else min)(best, value)
            )
            trial.report(value, epoch + 1)
            if trial.should_prune():
                trace.spend(epoch + 1, regret_now)
                raise optuna.TrialPruned()
        trace.spend(curves.epochs, regret_now)
        return best  # type: ignore[return-value]

    def stop_when_spent(study: Any, trial: Any) -> None:
        if trace.exhausted:
            study.stop()

    study.optimize(objective, callbacks=[stop_when_spent])
    trace.finish(regret_now())


def methods(curves: Curves, iterations: int) -> dict[str, Callable[[BudgetTrace, int], None]]:
    """Every method to compare, as ``run(trace, seed)``."""
    metric, direction = curves.metric, curves.direction
    objective = Objective(metric, direction)
    space = curves.space
    budget_trials = iterations * sum(b.epochs for b in hyperband_schedule(MAX_EPOCHS, FACTOR))
    runs: dict[str, Callable[[BudgetTrace, int], None]] = {
        "random search (full budgets)": lambda trace, seed: replay_tuner_oracle(
            RandomSearchOracle(
                objective, max_trials=budget_trials // MAX_EPOCHS + 2, seed=seed,
                hyperparameters=space(),
            ),
            curves, trace, seed,
        ),
        "random search, ranked by last epoch (control)": lambda trace, seed: replay_tuner_oracle(
            RandomSearchRankedByLastEpoch(
                objective, max_trials=budget_trials // MAX_EPOCHS + 2, seed=seed,
                hyperparameters=space(),
            ),
            curves, trace, seed,
        ),
        "Hyperband": lambda trace, seed: replay_tuner_oracle(
            HyperbandOracle(
                objective, max_epochs=MAX_EPOCHS, factor=FACTOR,
                hyperband_iterations=iterations + 1, seed=seed, hyperparameters=space(),
            ),
            curves, trace, seed,
        ),
        "BOHB": lambda trace, seed: replay_tuner_oracle(
            BOHBOracle(
                objective, max_epochs=MAX_EPOCHS, factor=FACTOR,
                hyperband_iterations=iterations + 1, seed=seed, hyperparameters=space(),
            ),
            curves, trace, seed,
        ),
        "ASHA": lambda trace, seed: replay_tuner_oracle(
            AsyncSuccessiveHalvingOracle(
                objective, max_trials=100_000, max_epochs=MAX_EPOCHS, factor=FACTOR, seed=seed,
                hyperparameters=space(),
            ),
            curves, trace, seed,
        ),
        "ASHA (TPE sampler)": lambda trace, seed: replay_tuner_oracle(
            AsyncSuccessiveHalvingOracle(
                objective, max_trials=100_000, max_epochs=MAX_EPOCHS, factor=FACTOR, seed=seed,
                hyperparameters=space(), sampler="tpe",
            ),
            curves, trace, seed,
        ),
    }  # fmt: skip
    with contextlib.suppress(ImportError):
        import keras_tuner  # noqa: F401

        runs["keras-tuner Hyperband"] = lambda trace, seed: replay_keras_tuner_hyperband(
            curves, trace, seed, iterations + 1
        )
    with contextlib.suppress(ImportError):
        import optuna  # noqa: F401

        runs["Optuna ASHA (SuccessiveHalvingPruner)"] = lambda trace, seed: replay_optuna_asha(
            curves, trace, seed
        )
    return runs


def first_budget_reaching(
    checkpoints: Sequence[int], medians: Sequence[float], target: float
) -> int | None:
    """The smallest budget whose median regret is at most ``target``."""
    for budget, median in zip(checkpoints, medians, strict=True):
        if not math.isnan(median) and median <= target + 1e-12:
            return budget
    return None


def run_problem(
    curves: Curves, repeats: int, iterations: int, first_seed: int = 1000
) -> dict[str, Any]:
    """Replays every method ``repeats`` times; returns medians per budget and summaries."""
    iteration_epochs = sum(b.epochs for b in hyperband_schedule(MAX_EPOCHS, FACTOR))
    # A fine grid of budgets (one full training apart) for "epochs to reach"; the table shows
    # whole Hyperband iterations.
    checkpoints = sorted(
        set(range(MAX_EPOCHS, iterations * iteration_epochs + 1, MAX_EPOCHS))
        | {k * iteration_epochs for k in range(1, iterations + 1)}
    )
    results: dict[str, Any] = {}
    for name, run in methods(curves, iterations).items():
        started = time.process_time()
        regrets = np.empty((repeats, len(checkpoints)))
        for repeat in range(repeats):
            trace = BudgetTrace(checkpoints)
            run(trace, first_seed + repeat)
            regrets[repeat] = trace.regrets
        medians = [
            float(np.median(column)) if not np.isnan(column).any() else math.nan
            for column in regrets.T
        ]
        results[name] = {
            "median_regret": medians,
            "cpu_seconds": round(time.process_time() - started, 2),
        }
        print(
            f"  {curves.problem}: {name} done in {results[name]['cpu_seconds']} CPU-s", flush=True
        )
    random_name = "random search (full budgets)"
    target = results[random_name]["median_regret"][-1]
    random_epochs = first_budget_reaching(
        checkpoints, results[random_name]["median_regret"], target
    )
    for result in results.values():
        reached = first_budget_reaching(checkpoints, result["median_regret"], target)
        result["epochs_to_random_final_regret"] = reached
        result["epochs_ratio_to_random"] = (
            None if reached is None or not random_epochs else round(reached / random_epochs, 3)
        )
        from_one_iteration = [
            (m, r)
            for b, m, r in zip(
                checkpoints, result["median_regret"], results[random_name]["median_regret"],
                strict=True,
            )
            if b >= iteration_epochs
        ]  # fmt: skip
        result["never_worse_than_random_from_one_iteration"] = all(
            m <= r + 1e-12 for m, r in from_one_iteration
        )
    return {
        "problem": curves.problem,
        "metric": curves.metric,
        "configurations": len(curves.configurations),
        "seeds": int(curves.values.shape[1]),
        "best_true_score": float(curves.best_true),
        "iteration_epochs": iteration_epochs,
        "checkpoints": checkpoints,
        "random_final_regret": target,
        "methods": results,
    }


def markdown(report: dict[str, Any], iterations: int) -> str:
    """One table per problem: median regret at whole Hyperband iterations, epochs to reach."""
    lines = []
    for problem in report["problems"]:
        iteration_epochs = problem["iteration_epochs"]
        budgets = [k * iteration_epochs for k in range(1, iterations + 1)]
        columns = [problem["checkpoints"].index(b) for b in budgets]
        scale = 100 if problem["metric"].endswith("accuracy") else 1
        unit = " (points)" if scale == 100 else ""
        lines.append(
            f"\n**{problem['problem']}** — {problem['configurations']} configurations x "
            f"{problem['seeds']} seeds, best true final {problem['metric']} "
            f"{problem['best_true_score']:.4f}; median regret{unit} over {report['repeats']} "
            "searches at equal epoch budgets\n"
        )
        header = [f"{b} epochs" for b in budgets]
        lines.append(
            "| method | " + " | ".join(header) + " | epochs to random's final regret | ratio |"
        )
        lines.append("|---" * (len(header) + 3) + "|")
        for name, result in problem["methods"].items():
            cells = [f"{scale * result['median_regret'][c]:.2f}" for c in columns]
            reached = result["epochs_to_random_final_regret"]
            ratio = result["epochs_ratio_to_random"]
            lines.append(
                f"| {name} | "
                + " | ".join(cells)
                + f" | {reached if reached is not None else 'not reached'}"
                + f" | {ratio if ratio is not None else '-'} |"
            )
    return "\n".join(lines)


def check_floors(report: dict[str, Any]) -> list[str]:
    """The issue's floors; returns the ones missed."""
    missed = []
    for problem in report["problems"]:
        for name in ("Hyperband", "ASHA"):
            result = problem["methods"][name]
            if not result["never_worse_than_random_from_one_iteration"]:
                missed.append(f"{problem['problem']}: {name} worse than random at some budget")
            if problem["problem"] == "digits":
                ratio = result["epochs_ratio_to_random"]
                if ratio is None or ratio > 0.5:
                    missed.append(f"digits: {name} needs {ratio} of random's epochs (> 1/2)")
    return missed


def check_bohb_floors(report: dict[str, Any], iterations: int) -> list[str]:
    """BOHB's floors (issue 16); returns the ones missed.

    On every problem it reaches random search's final regret with at most 1/4 of random's
    epochs; from 2 Hyperband iterations on, its median regret is at most Hyperband's, and at
    most half of it on digits (whose early epochs predict the final ranking best).
    """
    missed = []
    for problem in report["problems"]:
        bohb, hyperband = problem["methods"]["BOHB"], problem["methods"]["Hyperband"]
        ratio = bohb["epochs_ratio_to_random"]
        if ratio is None or ratio > 0.25:
            missed.append(f"{problem['problem']}: BOHB needs {ratio} of random's epochs (> 1/4)")
        share = 0.5 if problem["problem"] == "digits" else 1.0
        for k in range(2, iterations + 1):
            column = problem["checkpoints"].index(k * problem["iteration_epochs"])
            ours, theirs = bohb["median_regret"][column], hyperband["median_regret"][column]
            if not ours <= share * theirs + 1e-12:
                missed.append(
                    f"{problem['problem']}: at {k} iterations BOHB's median regret {ours:.4f} "
                    f"> {share} x Hyperband's {theirs:.4f}"
                )
    return missed


def main(argv: Sequence[str] | None = None) -> None:
    """Runs the benchmark and prints the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="12 repeats instead of 100")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--iterations", type=int, default=ITERATIONS)
    parser.add_argument("--first-seed", type=int, default=1000, help="seed of the first search")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="folder of curves_*.json.gz")
    args = parser.parse_args(argv)
    repeats = args.repeats or (12 if args.quick else 100)
    problems = []
    for problem in OBJECTIVES:
        path = args.data / f"curves_{problem}.json.gz"
        if not path.exists():
            print(f"skipping {problem}: {path} is missing (run benchmarks/record_curves.py)")
            continue
        curves = Curves.load(problem, path)
        problems.append(run_problem(curves, repeats, args.iterations, args.first_seed))
    report = {
        "repeats": repeats,
        "first_seed": args.first_seed,
        "max_epochs": MAX_EPOCHS,
        "factor": FACTOR,
        "problems": problems,
    }
    complete = len(problems) == len(OBJECTIVES)
    report["floors_missed"] = check_floors(report) if complete else None
    report["bohb_floors_missed"] = check_bohb_floors(report, args.iterations) if complete else None
    print(markdown(report, args.iterations))
    if report["floors_missed"] is not None:
        print("\nFloors:", "all met" if not report["floors_missed"] else report["floors_missed"])
        missed = report["bohb_floors_missed"]
        print("BOHB floors:", missed or "all met")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main(sys.argv[1:])
