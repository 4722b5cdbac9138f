"""Memory over a long search: RSS after each of 50 small-model trials, tuner vs keras-tuner.

Each tool runs a random search of a small Keras model (one hidden Dense layer of 8-64 units on
scikit-learn's breast-cancer data, 2 epochs per trial) in a fresh Python process, which records
its resident set size (``VmRSS``) after every trial. Reported: the RSS after the first 10 trials
(start-up and first compilations are over), the growth over the last 40 trials, the slope of a
least-squares line through them, and the wall time per trial.

When tuner's Keras ``Tuner`` offers ``trial_isolation="process"`` (each trial in a fresh
subprocess), that mode runs too: the RSS is the search process's, and the time per trial shows
what the isolation costs.

Usage::

    python benchmarks/memory.py              # 50 trials, 2 epochs
    python benchmarks/memory.py --quick      # 15 trials, 1 epoch
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _report import RESULTS_DIR, floor_line, markdown_table, median, write_results

TOOLS = ("tuner", "keras-tuner")
PROCESS_ISOLATION = "tuner trial_isolation=process"
#: The floor of the issue: growth over the last 40 of 50 trials.
FLOOR_GROWTH_MB = 50.0
WARM_TRIALS = 10


def rss_mb() -> float:
    """This process's resident set size in MB (Linux ``/proc``)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status (Linux only)")


def build_small_model(hp: Any) -> Any:
    import keras

    model = keras.Sequential(
        [
            keras.Input(shape=(30,)),
            keras.layers.Dense(hp.Int("units", 8, 64, step=8), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def run_worker(tool: str, trials: int, epochs: int, workdir: Path) -> dict[str, Any]:
    """One search in this (fresh) process; returns the RSS after each trial."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True)
    x = StandardScaler().fit_transform(x).astype("float32")
    y = y.astype("float32")
    samples: list[float] = []
    stamps: list[float] = []
    if tool == "keras-tuner":
        import keras_tuner as kt

        class Recording(kt.RandomSearch):
            def on_trial_end(self, trial: Any) -> None:
                super().on_trial_end(trial)
                samples.append(rss_mb())
                stamps.append(time.perf_counter())

        search: Any = Recording(
            build_small_model,
            objective="val_accuracy",
            max_trials=trials,
            seed=1,
            directory=str(workdir),
            project_name="memory",
        )
    else:
        import tuner as kt

        class Recorder(kt.SearchCallback):
            def on_trial_end(self, tuner: Any, trial: Any) -> None:
                samples.append(rss_mb())
                stamps.append(time.perf_counter())

        options = {"trial_isolation": "process"} if tool == PROCESS_ISOLATION else {}
        search = kt.RandomSearch(
            build_small_model,
            objective="val_accuracy",
            max_trials=trials,
            seed=1,
            directory=str(workdir),
            project_name="memory",
            **options,
        )
        search.add_search_callback(Recorder())
    start = time.perf_counter()
    search.search(x, y, validation_split=0.2, epochs=epochs, batch_size=32, verbose=0)
    per_trial = [b - a for a, b in zip([start, *stamps], stamps, strict=False)]
    return {"tool": tool, "rss_mb": samples, "seconds_per_trial": per_trial}


def spawn_worker(tool: str, settings: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="memory-", dir=settings.workdir))
    command = [
        sys.executable,
        __file__,
        "--worker",
        tool,
        "--trials",
        str(settings.trials),
        "--epochs",
        str(settings.epochs),
        "--workdir",
        str(workdir),
    ]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, env=environment, check=False
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if completed.returncode != 0:
        raise RuntimeError(f"the {tool} run failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def slope(values: list[float]) -> float:
    """Least-squares slope of ``values`` against their index (per step)."""
    count = len(values)
    if count < 2:
        return float("nan")
    mean_x = (count - 1) / 2
    mean_y = sum(values) / count
    covariance = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    variance = sum((i - mean_x) ** 2 for i in range(count))
    return covariance / variance


def has_process_isolation() -> bool:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tuner

    return "trial_isolation" in inspect.signature(tuner.Tuner.__init__).parameters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="15 trials, 1 epoch")
    parser.add_argument("--trials", type=int, help="trials per search (default 50)")
    parser.add_argument("--epochs", type=int, help="epochs per trial (default 2)")
    parser.add_argument("--workdir", type=Path, help="where projects are written")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    arguments.trials = arguments.trials or (15 if arguments.quick else 50)
    arguments.epochs = arguments.epochs or (1 if arguments.quick else 2)
    if arguments.worker:
        result = run_worker(
            arguments.worker, arguments.trials, arguments.epochs, arguments.workdir
        )
        print(json.dumps(result))
        return 0

    root = arguments.workdir or RESULTS_DIR / "memory-projects"
    root.mkdir(parents=True, exist_ok=True)
    arguments.workdir = Path(tempfile.mkdtemp(dir=root))
    tools = list(TOOLS) + ([PROCESS_ISOLATION] if has_process_isolation() else [])
    results = []
    try:
        for tool in tools:
            result = spawn_worker(tool, arguments)
            results.append(result)
            rss = result["rss_mb"]
            print(
                f"  {tool:30} RSS {rss[0]:.0f} -> {rss[-1]:.0f} MB, "
                f"{median(result['seconds_per_trial']):.2f} s/trial",
                flush=True,
            )
    finally:
        shutil.rmtree(arguments.workdir, ignore_errors=True)

    warm = min(WARM_TRIALS, arguments.trials - 1)
    rows = []
    for result in results:
        rss = result["rss_mb"]
        late = rss[warm - 1 :]
        rows.append(
            {
                "tool": result["tool"],
                "trials": len(rss),
                "RSS after trial 1 MB": rss[0],
                f"RSS after trial {warm} MB": rss[warm - 1],
                "RSS at end MB": rss[-1],
                f"growth over last {len(rss) - warm} trials MB": rss[-1] - rss[warm - 1],
                "slope MB/trial": slope(late),
                "s/trial (median)": median(result["seconds_per_trial"]),
            }
        )
    growth_column = f"growth over last {arguments.trials - warm} trials MB"
    table = markdown_table(rows, list(rows[0]))
    floors = []
    for row in rows:
        if row["tool"].startswith("tuner"):
            floors.append(
                floor_line(
                    f"{row['tool']}: RSS growth over the last {arguments.trials - warm} trials "
                    f"<= {FLOOR_GROWTH_MB:g} MB",
                    row[growth_column] <= FLOOR_GROWTH_MB,
                    f"{row[growth_column]:.1f} MB",
                )
            )
    title = (
        f"Memory: RSS of the search process over {arguments.trials} small-model trials "
        f"({arguments.epochs} epochs each)"
    )
    print(f"\n### {title}\n\n{table}\n")
    print("\n".join(floors) + "\n")
    path = write_results(
        "memory",
        {
            "settings": {"trials": arguments.trials, "epochs": arguments.epochs},
            "title": title,
            "rows": rows,
            "runs": results,
            "floors": floors,
        },
    )
    print(f"Results written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
