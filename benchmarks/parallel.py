"""Parallel search: trials per hour with 1 and 2 workers, against keras-tuner and Optuna.

The question: how much faster does a search finish with ``workers=kt.RayWorkers(2)`` than with
one worker on this 2-core machine, and how does that compare with keras-tuner's chief/worker
mode and Optuna's processes sharing a journal file? On a machine with a GPU, a second section
packs 1, 4 and 8 small-model trials on that one GPU (``gpus_per_worker=1/k``).

The CPU workload: a CPU-bound small model (two Dense layers of 16-64 units on the 569 rows of
scikit-learn's breast-cancer data, batch 32, ``--epochs`` epochs), random search over the two
widths and the learning rate, the same space and model for the three tools. Every run is a fresh
Python process (so no run inherits another's Keras state), timed three ways:

- end to end: from starting the process(es) to the last one exiting (Python, TensorFlow and
  Ray start-up included): what a user waits for;
- search: tuner only, the ``search()`` call on a started Ray runtime (it includes starting the
  workers, which import TensorFlow);
- steady: from the first trial's start to the last trial's end, read from the trials' own
  records (tuner, Optuna; keras-tuner records no times), i.e. the throughput once running.

Multi-process runs give each process one TensorFlow thread pool of one thread
(``TF_NUM_INTRAOP_THREADS=1``), as ``RayWorkers(2, cpus_per_worker=1)`` does; single-process
runs keep TensorFlow's default (all cores). Runs rotate their order across repeats; medians.

Usage::

    python benchmarks/parallel.py              # 16 trials x 10 epochs, 3 repeats
    python benchmarks/parallel.py --quick      # 6 trials x 4 epochs, 1 repeat
    python benchmarks/parallel.py --only tuner # skip keras-tuner and Optuna
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _report import floor_line, markdown_table, median, ratio, write_results

SCRIPT = str(Path(__file__).resolve())
REPO = Path(__file__).resolve().parents[1]
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
UNITS = (16, 64, 16)  # min, max, step
LEARNING_RATE = (1e-3, 1e-2)


# --- the workload --------------------------------------------------------------------------------
def load_data() -> tuple[Any, Any]:
    """The breast-cancer data, standardised, as float32 arrays."""
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x.astype("float32"), y.astype("float32")


def make_model(units_1: int, units_2: int, learning_rate: float) -> Any:
    import keras

    model = keras.Sequential(
        [
            keras.Input((30,)),
            keras.layers.Dense(units_1, activation="relu"),
            keras.layers.Dense(units_2, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(learning_rate), "binary_crossentropy", metrics=["accuracy"]
    )
    return model


def build_model(hp: Any) -> Any:
    """The hypermodel, for tuner and keras-tuner (their ``hp`` APIs are the same)."""
    return make_model(
        hp.Int("units_1", *UNITS[:2], step=UNITS[2]),
        hp.Int("units_2", *UNITS[:2], step=UNITS[2]),
        hp.Float("learning_rate", *LEARNING_RATE, sampling="log"),
    )


def make_gpu_model(hp: Any) -> Any:
    """A small model that still keeps a GPU busy for a moment: three Dense 512 layers."""
    import keras

    model = keras.Sequential(
        [keras.Input((64,))]
        + [keras.layers.Dense(hp.Int(f"units_{i}", 128, 512, step=128), "relu") for i in range(3)]
        + [keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")), "mse")
    return model


# --- one measured run, in a child process --------------------------------------------------------
def child_tuner(spec: dict[str, Any]) -> dict[str, Any]:
    import tuner as kt
    from tuner.storage.json_dir import JsonDirStorage

    workers = None
    ray_init_s = 0.0
    if spec["workers"]:
        import ray

        start = time.perf_counter()
        ray.init(
            address="local",  # a runtime of its own, even when `ray start` runs on this machine
            num_cpus=spec.get("num_cpus", 2),
            num_gpus=spec.get("num_gpus", 0),
            include_dashboard=False,
            log_to_driver=False,
        )
        ray_init_s = time.perf_counter() - start
        workers = kt.RayWorkers(
            spec["workers"],
            cpus_per_worker=spec["cpus_per_worker"],
            gpus_per_worker=spec.get("gpus_per_worker", 0),
        )
    if spec.get("gpu"):
        import numpy as np

        rng = np.random.default_rng(0)
        x = rng.normal(size=(spec["rows"], 64)).astype("float32")
        y = (x @ rng.normal(size=64)).astype("float32")
        hypermodel, fit = make_gpu_model, {"batch_size": 256}
    else:
        x, y = load_data()
        hypermodel, fit = build_model, {"batch_size": 32}
    search = kt.RandomSearch(
        hypermodel,
        objective="val_loss",
        max_trials=spec["trials"],
        seed=spec["seed"],
        directory=spec["directory"],
        project_name="bench",
        workers=workers,
    )
    cpu_start, start = time.process_time(), time.perf_counter()
    search.search(x, y, epochs=spec["epochs"], validation_split=0.2, verbose=0, **fit)
    search_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    trials = JsonDirStorage(Path(spec["directory"]) / "bench").load_trials()
    done = [t for t in trials if t.status.value == "COMPLETED"]
    span = max(t.end_time for t in done) - min(t.start_time for t in done) if done else 0.0
    return {
        "completed": len(done),
        "search_s": search_s,
        "steady_s": span,
        "ray_init_s": ray_init_s,
        "driver_cores": cpu_s / search_s if search_s else float("nan"),
    }


def child_keras_tuner(spec: dict[str, Any]) -> dict[str, Any]:
    import keras_tuner

    x, y = load_data()
    search = keras_tuner.RandomSearch(
        build_model,
        objective="val_loss",
        max_trials=spec["trials"],
        seed=spec["seed"],
        directory=spec["directory"],
        project_name="bench",
    )
    search.search(x, y, epochs=spec["epochs"], validation_split=0.2, batch_size=32, verbose=0)
    return {}


def child_optuna(spec: dict[str, Any]) -> dict[str, Any]:
    import keras
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    x, y = load_data()

    def objective(trial: Any) -> float:
        keras.utils.set_random_seed(spec["seed"] + trial.number)
        model = make_model(
            trial.suggest_int("units_1", *UNITS[:2], step=UNITS[2]),
            trial.suggest_int("units_2", *UNITS[:2], step=UNITS[2]),
            trial.suggest_float("learning_rate", *LEARNING_RATE, log=True),
        )
        history = model.fit(
            x, y, epochs=spec["epochs"], validation_split=0.2, batch_size=32, verbose=0
        )
        return min(history.history["val_loss"])

    storage = JournalStorage(JournalFileBackend(spec["journal"]))
    study = optuna.create_study(
        study_name="bench",
        storage=storage,
        load_if_exists=True,
        sampler=optuna.samplers.RandomSampler(seed=spec["seed"] + spec.get("process", 0)),
    )
    study.optimize(objective, n_trials=spec["trials"])
    return {}


def optuna_statistics(journal: str) -> dict[str, Any]:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    study = optuna.load_study(
        study_name="bench", storage=JournalStorage(JournalFileBackend(journal))
    )
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    span = (
        (
            max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)
        ).total_seconds()
        if done
        else 0.0
    )
    return {"completed": len(done), "steady_s": span}


def keras_tuner_completed(directory: str) -> int:
    completed = 0
    for path in glob.glob(os.path.join(directory, "bench", "trial_*", "trial.json")):
        with open(path, encoding="utf-8") as handle:
            completed += json.load(handle).get("status") == "COMPLETED"
    return completed


CHILDREN = {"tuner": child_tuner, "keras-tuner": child_keras_tuner, "optuna": child_optuna}


def run_child(spec: dict[str, Any], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, SCRIPT, "--child", json.dumps(spec)],
        env={**os.environ, **QUIET, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def child_result(process: subprocess.Popen, timeout: float) -> dict[str, Any]:
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0:
        tail = "\n".join(err.strip().splitlines()[-15:])
        raise RuntimeError(f"a benchmark process failed (exit {process.returncode}):\n{tail}")
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT ") :]) if lines else {}


# --- one configuration, from the parent ----------------------------------------------------------
def measure(system: str, processes: int, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """Runs one configuration once; returns its figures."""
    directory = tempfile.mkdtemp(prefix="tuner-parallel-bench-")
    base = {"trials": args.trials, "epochs": args.epochs, "seed": seed, "directory": directory}
    timeout = args.timeout
    try:
        start = time.perf_counter()
        if system == "tuner":
            spec = {**base, "workers": processes, "cpus_per_worker": 2 // max(processes, 1)}
            result = child_result(run_child({**spec, "kind": "tuner"}), timeout)
        elif system == "tuner (in process)":
            result = child_result(run_child({**base, "kind": "tuner", "workers": 0}), timeout)
        elif system == "keras-tuner" and processes == 1:
            child_result(run_child({**base, "kind": "keras-tuner"}), timeout)
            result = {"completed": keras_tuner_completed(directory)}
        elif system == "keras-tuner":
            result = measure_keras_tuner_workers(base, processes, timeout)
        else:  # optuna
            journal = os.path.join(directory, "journal.log")
            env = ONE_THREAD if processes > 1 else {}
            running = [
                run_child(
                    {
                        **base,
                        "kind": "optuna",
                        "journal": journal,
                        "process": index,
                        "trials": args.trials // processes,
                    },
                    env,
                )
                for index in range(processes)
            ]
            for process in running:
                child_result(process, timeout)
            result = optuna_statistics(journal)
        result["wall_s"] = time.perf_counter() - start
        return result
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def measure_keras_tuner_workers(
    base: dict[str, Any], processes: int, timeout: float
) -> dict[str, Any]:
    """keras-tuner's own parallel mode: a chief serving the oracle over gRPC, n workers."""
    with socket.socket() as probe:  # a free port for the chief's gRPC server
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    common = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": port}
    chief = run_child({**base, "kind": "keras-tuner"}, {**common, "KERASTUNER_TUNER_ID": "chief"})
    try:
        time.sleep(2.0)  # the workers retry until the chief listens, but give it a head start
        workers = [
            run_child(
                {**base, "kind": "keras-tuner"},
                {**common, **ONE_THREAD, "KERASTUNER_TUNER_ID": f"tuner{index}"},
            )
            for index in range(processes)
        ]
        for worker in workers:
            child_result(worker, timeout)
    finally:
        # The chief lingers (it polls for its exit every 20 s): the workers' end is the end.
        if chief.poll() is None:
            os.killpg(chief.pid, signal.SIGKILL)
        chief.wait()
    return {"completed": keras_tuner_completed(base["directory"])}


# --- the GPU section -----------------------------------------------------------------------------
def has_gpu() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    probe = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return probe.returncode == 0 and "GPU" in probe.stdout


def gpu_backend() -> str:
    """JAX or torch when installed (Keras' lighter GPU backends), else TensorFlow."""
    for backend in ("jax", "torch"):
        if importlib.util.find_spec(backend) is not None:
            return backend
    return "tensorflow"


def measure_gpu(packed: int, args: argparse.Namespace, backend: str) -> dict[str, Any]:
    directory = tempfile.mkdtemp(prefix="tuner-gpu-bench-")
    cores = os.cpu_count() or 2
    spec = {
        "kind": "tuner",
        "gpu": True,
        "rows": args.gpu_rows,
        "trials": args.gpu_trials,
        "epochs": args.gpu_epochs,
        "seed": 0,
        "directory": directory,
        "workers": packed,
        "cpus_per_worker": max(1, (cores - 1) // packed),
        "gpus_per_worker": 1 / packed,
        "num_cpus": cores,
        "num_gpus": 1,
    }
    try:
        start = time.perf_counter()
        result = child_result(run_child(spec, {"KERAS_BACKEND": backend}), args.timeout)
        result["wall_s"] = time.perf_counter() - start
        return result
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# --- reporting -----------------------------------------------------------------------------------
def per_hour(trials: float, seconds: float) -> float:
    return ratio(trials * 3600.0, seconds)


def summarise(name: str, processes: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    completed = median([r["completed"] for r in runs])
    row: dict[str, Any] = {
        "system": name,
        "processes": processes,
        "trials": completed,
        "end-to-end s": median([r["wall_s"] for r in runs]),
        "trials/h end-to-end": median([per_hour(r["completed"], r["wall_s"]) for r in runs]),
    }
    if all("search_s" in r for r in runs):
        row["search() s"] = median([r["search_s"] for r in runs])
        row["trials/h search()"] = median([per_hour(r["completed"], r["search_s"]) for r in runs])
    if all(r.get("steady_s") for r in runs):
        row["trials/h steady"] = median([per_hour(r["completed"], r["steady_s"]) for r in runs])
    if all("driver_cores" in r for r in runs) and processes == 0:
        row["cores used"] = median([r["driver_cores"] for r in runs])
    return row


def speedups(rows: list[dict[str, Any]]) -> None:
    """Adds each multi-process row's speed-up over its own system's one-process row."""
    by_key = {(r["system"], r["processes"]): r for r in rows}
    for row in rows:
        base = by_key.get((row["system"], 1))
        if base is None or row is base:
            continue
        for measure_name in ("end-to-end", "search()", "steady"):
            column = f"trials/h {measure_name}"
            if column in row and column in base:
                row[f"x {measure_name}"] = ratio(row[column], base[column])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 trials x 4 epochs, 1 repeat")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["tuner"], help="skip keras-tuner and Optuna")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--gpu-trials", type=int, default=32)
    parser.add_argument("--gpu-epochs", type=int, default=3)
    parser.add_argument("--gpu-rows", type=int, default=20000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        print("RESULT " + json.dumps(CHILDREN[spec.pop("kind")](spec)), flush=True)
        return
    if args.quick:
        args.trials, args.epochs, args.repeats = 6, 4, 1
        args.gpu_trials, args.gpu_epochs = 8, 2
    import ray  # noqa: F401  (fails early, with Python's message, when Ray is missing)

    configurations: list[tuple[str, int]] = [
        ("tuner (in process)", 0),
        ("tuner", 1),
        ("tuner", 2),
    ]
    if args.only is None:
        if importlib.util.find_spec("keras_tuner") is not None:
            configurations += [("keras-tuner", 1), ("keras-tuner", 2)]
        if importlib.util.find_spec("optuna") is not None:
            configurations += [("optuna", 1), ("optuna", 2)]
    load_before = os.getloadavg()
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {c: [] for c in configurations}
    for repeat in range(args.repeats):
        shift = repeat % len(configurations)
        for system, processes in configurations[shift:] + configurations[:shift]:
            result = measure(system, processes, args, seed=repeat)
            runs[(system, processes)].append(result)
            print(
                f"  repeat {repeat + 1}: {system} x{processes}: {json.dumps(result)}", flush=True
            )
    rows = [summarise(system, processes, runs[(system, processes)]) for system, processes in runs]
    speedups(rows)
    columns = [
        "system",
        "processes",
        "trials",
        "end-to-end s",
        "trials/h end-to-end",
        "x end-to-end",
        "search() s",
        "trials/h search()",
        "x search()",
        "trials/h steady",
        "x steady",
        "cores used",
    ]
    print(
        f"\n## CPU: {args.trials} trials x {args.epochs} epochs, median of {args.repeats} "
        f"(load average before: {load_before[0]:.1f} on {os.cpu_count()} cores)\n"
    )
    print(markdown_table(rows, columns))
    two = next(r for r in rows if (r["system"], r["processes"]) == ("tuner", 2))
    print("\n## Floors\n")
    speedup = two.get("x steady", float("nan"))
    print(
        floor_line(
            ">= 1.3x trials/hour with 2 Ray workers vs 1 on 2 cores (steady throughput)",
            speedup >= 1.3,
            f"{speedup:.2f}x; over the whole search() {two.get('x search()', float('nan')):.2f}x "
            f"and end to end {two.get('x end-to-end', float('nan')):.2f}x, which include "
            "starting the workers (each imports TensorFlow)",
        )
    )

    gpu_rows: list[dict[str, Any]] = []
    backend = gpu_backend()
    if has_gpu():
        for packed in (1, 4, 8):
            result = measure_gpu(packed, args, backend)
            row = summarise(f"tuner, {packed} per GPU ({backend})", packed, [result])
            gpu_rows.append(row)
        base = gpu_rows[0]
        for row in gpu_rows:
            row["x steady"] = ratio(row.get("trials/h steady", 0), base.get("trials/h steady", 0))
        print(f"\n## GPU: {args.gpu_trials} small-model trials packed on one GPU\n")
        print(
            markdown_table(
                gpu_rows, ["system", "trials", "search() s", "trials/h steady", "x steady"]
            )
        )
        eight = gpu_rows[-1]["x steady"]
        print(
            floor_line(">= 4x trials/hour with 8 packed trials vs 1", eight >= 4, f"{eight:.2f}x")
        )
    else:
        print(
            "\n## GPU\n\nNot measured: no GPU on this machine. The 1 vs 4 vs 8 packed-trials "
            "figure is owed."
        )
    path = write_results(
        "parallel",
        {
            "arguments": vars(args),
            "load_average_before": load_before,
            "cpu_rows": rows,
            "gpu_rows": gpu_rows,
            "runs": {f"{s} x{p}": r for (s, p), r in runs.items()},
        },
    )
    print(f"\nWrote {path}")


if __name__ == "__main__":
    main()
