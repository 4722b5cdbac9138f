"""Hyperparameter importance: ``kt.importance`` vs Optuna's fANOVA evaluator, same trials.

A random search (in memory, no Keras) over six hyperparameters of every kind -- a log-scaled
``learning_rate``, an unordered ``optimizer`` choice, an ``Int``, a ``Float``, a ``Boolean`` and
another choice -- where only the learning rate and the optimizer matter (analytic shares 0.72
and 0.28 under the uniform measure). The same trials go into an Optuna study
(``optuna.trial.create_trial`` with the matching distributions), and both evaluators run with
64 trees of depth 64 and the same seed. Each time is the median over the repeats (Optuna runs
once above 1,000 trials, where one run takes minutes: ``--optuna-repeats``); the table also
shows both evaluators' importances of the two that matter and the largest difference between
the two evaluators' importances.

Usage::

    python benchmarks/importance.py            # 1,000 and 10,000 trials, 3 repeats
    python benchmarks/importance.py --quick    # 1,000 trials, 1 repeat
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
from _report import floor_line, markdown_table, median, ratio, write_results

import tuner as kt
from tuner.oracles import RandomSearchOracle
from tuner.trial import TrialStatus

#: kt.importance on 10,000 trials must take at most this many seconds (median).
FLOOR_SECONDS_10K = 10.0
OPTIMIZER_PENALTY = {"adam": 0.0, "sgd": 1.0, "rmsprop": 0.3}


def space() -> kt.HyperParameters:
    hp = kt.HyperParameters()
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    hp.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    hp.Int("units", 8, 128)
    hp.Float("dropout", 0.0, 0.5)
    hp.Boolean("batch_norm")
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    return hp


def search(trials: int, seed: int) -> RandomSearchOracle:
    """A finished random search of ``trials`` trials (the oracle, in memory)."""
    oracle = RandomSearchOracle(
        objective="loss", max_trials=trials, seed=seed, hyperparameters=space()
    )
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        trial = oracle.create_trial("worker")
        values = trial.hyperparameters.values
        loss = (
            (math.log10(values["learning_rate"]) + 2.5) ** 2
            + OPTIMIZER_PENALTY[values["optimizer"]]
            + float(rng.normal(0.0, 0.02))
        )
        oracle.update_trial(trial.trial_id, {"loss": loss})
        trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
    return oracle


def optuna_study(oracle: RandomSearchOracle) -> Any:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = {
        "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
        "optimizer": CategoricalDistribution(["adam", "sgd", "rmsprop"]),
        "units": IntDistribution(8, 128),
        "dropout": FloatDistribution(0.0, 0.5),
        "batch_norm": CategoricalDistribution([False, True]),
        "activation": CategoricalDistribution(["relu", "tanh", "gelu"]),
    }
    study = optuna.create_study()
    study.add_trials(
        [
            optuna.trial.create_trial(
                params=dict(trial.values), distributions=distributions, value=trial.score
            )
            for trial in oracle.trials.values()
        ]
    )
    return study


def optuna_importance(study: Any, seed: int) -> dict[str, float]:
    import optuna

    evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=64, max_depth=64, seed=seed)
    return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))


def timed_median(function: Any, repeats: int) -> tuple[float, list[float], Any]:
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return median(seconds), seconds, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 trials, 1 repeat")
    parser.add_argument("--repeats", type=int, help="timed runs per evaluator (default 3)")
    parser.add_argument(
        "--sizes", type=int, nargs="+", help="numbers of trials (default 1000 10000)"
    )
    parser.add_argument(
        "--optuna-repeats",
        type=int,
        help="timed Optuna runs above 1,000 trials (default 1: one run of 10,000 takes minutes)",
    )
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    sizes = args.sizes or ([1000] if args.quick else [1000, 10000])
    try:
        import optuna  # noqa: F401

        has_optuna = True
    except ImportError:
        has_optuna = False
        print("Optuna is not installed (pip install optuna): timing tuner alone.")

    warm = search(50, 0)
    kt.importance(warm)  # imports scikit-learn: not part of any timing
    rows: list[dict[str, Any]] = []
    for size in sizes:
        oracle = search(size, seed=0)
        ours_s, ours_all, ours = timed_median(lambda o=oracle: kt.importance(o, seed=0), repeats)
        row: dict[str, Any] = {
            "trials": size,
            "tuner median s": ours_s,
            "tuner top 2": ", ".join(list(ours)[:2]),
            "tuner lr / optimizer": f"{ours['learning_rate']:.3f} / {ours['optimizer']:.3f}",
            "tuner runs s": ours_all,
        }
        if has_optuna:
            study = optuna_study(oracle)
            times = repeats if size <= 1000 else (args.optuna_repeats or 1)
            theirs_s, theirs_all, theirs = timed_median(
                lambda s=study: optuna_importance(s, 0), times
            )
            row.update(
                {
                    "optuna median s": theirs_s,
                    "optuna / tuner": ratio(theirs_s, ours_s),
                    "optuna top 2": ", ".join(list(theirs)[:2]),
                    "optuna lr / optimizer": (
                        f"{theirs['learning_rate']:.3f} / {theirs['optimizer']:.3f}"
                    ),
                    "max abs difference": max(abs(ours[n] - theirs[n]) for n in ours),
                    "optuna runs s": theirs_all,
                }
            )
        rows.append(row)
        print(f"  {size} trials: tuner {ours_s:.2f} s" + (
            f", optuna {row['optuna median s']:.2f} s" if has_optuna else ""
        ), flush=True)  # fmt: skip

    columns = ["trials", "tuner median s", "tuner lr / optimizer"]
    if has_optuna:
        columns += ["optuna median s", "optuna / tuner", "optuna lr / optimizer"]
        columns += ["max abs difference"]
    columns.append("tuner top 2")
    table = markdown_table(rows, columns)
    print(
        f"\n### Hyperparameter importance (fANOVA, 64 trees; median of {repeats} runs, Optuna "
        f"{args.optuna_repeats or 1} above 1,000 trials; analytic shares 0.72 / 0.28)\n"
    )
    print(table + "\n")
    floors = [
        floor_line(
            f"kt.importance on {row['trials']:,} trials within {FLOOR_SECONDS_10K:g} s",
            row["tuner median s"] <= FLOOR_SECONDS_10K,
            f"{row['tuner median s']:.2f} s",
        )
        for row in rows
        if row["trials"] >= 10000
    ]
    floors += [
        floor_line(
            f"learning_rate and optimizer rank first ({row['trials']:,} trials)",
            row["tuner top 2"] == "learning_rate, optimizer",
            row["tuner top 2"],
        )
        for row in rows
    ]
    print("\n".join(floors) + "\n")
    path = write_results("importance", {"repeats": repeats, "rows": rows, "floors": floors})
    print(f"Results written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
