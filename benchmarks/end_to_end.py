"""End to end: the breast-cancer random search with tuner and with keras-tuner, same run.

The seed model of the core issue (units 32-512, relu/softmax, BatchNormalization, dropout,
0-3 extra blocks, Adam learning-rate choice), 10 trials of up to 30 epochs with
``EarlyStopping("val_loss", patience=5)``, batch 32, validated on a held-out 20 %.

What is measured, per run, in a fresh Python process (so that no run inherits another's Keras
state or memory), after Keras, the data and the tool are imported:

- wall: building the tuner, ``search(...)`` and ``get_best_models(num_models=1)``, which is what
  a user script does;
- fit: the time spent training in ``model.fit`` (timed by a user ``HyperModel.fit``, the same for
  both tools), less the time inside the hooks of the callbacks the tool adds to ``fit`` (its
  per-epoch reports and checkpoint writes are the tool's cost, not training's); the time inside
  ``build`` and the number of builds;
- outside fit: wall minus fit, the tool's own cost (builds, checkpoints, files, book-keeping);
- disk: the project directory's bytes and files after the search, per trial.

The two tools train the same models: the hyperparameter values tuner's random search draws with
a given seed are drawn first (a Keras-free dry run of the same oracle), and keras-tuner replays
them through a subclass of its ``RandomSearchOracle``, so the fit times are comparable and the
difference in the rest is the tools' own. Keras' global seed is set alike in both. Runs
alternate between the tools, rotating which goes first, for each of the repeats.

Usage::

    python benchmarks/end_to_end.py              # 10 trials x 30 epochs, 3 repeats
    python benchmarks/end_to_end.py --quick      # 3 trials x 5 epochs, 1 repeat
    python benchmarks/end_to_end.py --profile    # one tuner run under pyinstrument
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

from _report import RESULTS_DIR, floor_line, markdown_table, median, ratio, write_results

TOOLS = ("tuner", "keras-tuner")
#: A variant run once, when the Tuner has checkpoint pruning (``keep_top_k``).
KEEP_TOP_K_VARIANT = "tuner keep_top_k=1"
UNITS = {"min_value": 32, "max_value": 512, "step": 32}
ACTIVATIONS = ["relu", "softmax"]
DROPOUT_RATES = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
LEARNING_RATES = [1e-2, 1e-3, 1e-4]


# --- the seed model ---------------------------------------------------------------------------
def define_hyperparameters(hp: Any) -> dict[str, Any]:
    """Defines the seed model's hyperparameters in the order its build meets them."""
    units = hp.Int("units", **UNITS)
    activation = hp.Choice("activations", ACTIVATIONS)
    dropout = hp.Choice("dropout_rate", DROPOUT_RATES)
    layers = hp.Int("Layers", 0, 3)
    learning_rate = hp.Choice("learning_rate", LEARNING_RATES)
    return {
        "units": units,
        "activations": activation,
        "dropout_rate": dropout,
        "Layers": layers,
        "learning_rate": learning_rate,
    }


def build_model(hp: Any, features: int) -> Any:
    """The breast-cancer classifier of the core issue's walkthrough."""
    import keras

    model = keras.Sequential()
    model.add(keras.Input(shape=(features,)))
    model.add(
        keras.layers.Dense(
            units=hp.Int("units", **UNITS), activation=hp.Choice("activations", ACTIVATIONS)
        )
    )
    model.add(keras.layers.BatchNormalization())
    model.add(keras.layers.Dropout(hp.Choice("dropout_rate", DROPOUT_RATES)))
    for _ in range(hp.Int("Layers", 0, 3)):
        model.add(
            keras.layers.Dense(
                units=hp.Int("units", **UNITS), activation=hp.Choice("activations", ACTIVATIONS)
            )
        )
        model.add(keras.layers.BatchNormalization())
        model.add(keras.layers.Dropout(hp.Choice("dropout_rate", DROPOUT_RATES)))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", LEARNING_RATES)),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def load_data() -> tuple[Any, Any, Any, Any]:
    """Scaled float32 breast-cancer data, 80 % train and 20 % validation."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
    scaler = StandardScaler()
    return (
        scaler.fit_transform(x_train).astype("float32"),
        scaler.transform(x_test).astype("float32"),
        y_train.astype("float32"),
        y_test.astype("float32"),
    )


def draw_values(seed: int, trials: int) -> list[dict[str, Any]]:
    """The values tuner's random search draws with ``seed``, from a Keras-free dry run."""
    import tuner

    class DryRun(tuner.BaseTuner):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> float:
            define_hyperparameters(trial.hyperparameters)
            return 0.0

    with tempfile.TemporaryDirectory() as directory:
        dry_run = DryRun(
            tuner.oracles.RandomSearchOracle(
                objective="val_accuracy", max_trials=trials, seed=seed
            ),
            directory=directory,
            project_name="draw",
        )
        dry_run.search(verbose=0)
        return [
            dict(trial.hyperparameters.values)
            for _, trial in sorted(dry_run.oracle.trials.items())
        ]


# --- one run, in its own process --------------------------------------------------------------
class Clock:
    """Seconds spent in ``build`` and in ``model.fit``, and how many builds."""

    def __init__(self) -> None:
        self.build_seconds = 0.0
        self.builds = 0
        self.fit_seconds = 0.0
        self.fits = 0
        self.epochs = 0
        #: Seconds inside the hooks of the tool's own callbacks (run by model.fit).
        self.callback_seconds = 0.0
        self.callback_depth = 0


def time_tool_callback(callback: Any, clock: Clock) -> None:
    """Times the hooks of a callback the tool added to ``fit`` (its checkpoints, its reports).

    That time is the tool's, not training's. The hooks the callback's class defines are wrapped
    on the instance; nested calls (one hook calling another) count once.
    """
    import keras

    if type(callback).__module__.split(".")[0] not in ("tuner", "keras_tuner"):
        return  # the user's own callback (EarlyStopping): part of training
    base = keras.callbacks.Callback
    for name in dir(type(callback)):
        if not name.startswith("on_") or getattr(type(callback), name) is getattr(
            base, name, None
        ):
            continue
        hook = getattr(callback, name)

        def timed_hook(*args: Any, _hook: Any = hook, **kwargs: Any) -> Any:
            clock.callback_depth += 1
            start = time.perf_counter()
            try:
                return _hook(*args, **kwargs)
            finally:
                clock.callback_depth -= 1
                if clock.callback_depth == 0:
                    clock.callback_seconds += time.perf_counter() - start

        setattr(callback, name, timed_hook)


def timed_hypermodel(base: type, clock: Clock, features: int) -> Any:
    """A ``HyperModel`` (subclass of the tool's ``base``) that times its build and fit."""

    class TimedHyperModel(base):  # type: ignore[misc, valid-type]
        def build(self, hp: Any) -> Any:
            start = time.perf_counter()
            model = build_model(hp, features)
            clock.build_seconds += time.perf_counter() - start
            clock.builds += 1
            return model

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            for callback in kwargs.get("callbacks") or []:
                time_tool_callback(callback, clock)
            start = time.perf_counter()
            history = model.fit(*args, **kwargs)
            clock.fit_seconds += time.perf_counter() - start
            clock.fits += 1
            clock.epochs += len(getattr(history, "epoch", []) or [])
            return history

    return TimedHyperModel()


def watch_garbage_collection() -> dict[str, float]:
    """Totals of Python's garbage collections from now on: seconds, and full collections."""
    import gc

    totals = {"seconds": 0.0, "full": 0}
    started: list[float] = []

    def on_collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            totals["seconds"] += time.perf_counter() - started.pop()
            totals["full"] += info.get("generation") == 2

    gc.callbacks.append(on_collection)
    return totals


def directory_size(path: Path) -> tuple[int, int]:
    """Bytes and files under ``path``."""
    total = files = 0
    for root, _, names in os.walk(path):
        for name in names:
            total += os.path.getsize(os.path.join(root, name))
            files += 1
    return total, files


def run_worker(arguments: argparse.Namespace) -> dict[str, Any]:
    """Runs one search with one tool and returns its figures (called in a fresh process)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    x_train, x_test, y_train, y_test = load_data()
    values = json.loads(Path(arguments.values).read_text())
    tool = arguments.worker
    if tool == "keras-tuner":
        import keras_tuner as kt
    else:
        import tuner as kt
    keras.utils.set_random_seed(arguments.seed)
    clock = Clock()
    hypermodel = timed_hypermodel(kt.HyperModel, clock, x_train.shape[1])
    workdir = Path(arguments.workdir)
    fit_arguments = {
        "x": x_train,
        "y": y_train,
        "validation_data": (x_test, y_test),
        "epochs": arguments.epochs,
        "batch_size": 32,
        "callbacks": [keras.callbacks.EarlyStopping("val_loss", patience=5)],
        "verbose": 0,
    }
    collections = watch_garbage_collection()
    profiler = None
    if arguments.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    start = time.perf_counter()
    if tool == "keras-tuner":
        replayed = list(values)

        class ReplayOracle(kt.oracles.RandomSearchOracle):
            """keras-tuner's random search oracle, proposing tuner's draws in order."""

            def populate_space(self, trial_id: str) -> dict[str, Any]:
                if not replayed:
                    return {"status": "STOPPED", "values": None}
                return {"status": "RUNNING", "values": replayed.pop(0)}

        search = kt.Tuner(
            oracle=ReplayOracle(
                objective=kt.Objective("val_accuracy", "max"),
                max_trials=arguments.trials,
                seed=arguments.seed,
            ),
            hypermodel=hypermodel,
            directory=str(workdir),
            project_name="project",
        )
    else:
        options: dict[str, Any] = {}
        if tool == KEEP_TOP_K_VARIANT:
            options["keep_top_k"] = 1
        search = kt.RandomSearch(
            hypermodel,
            objective="val_accuracy",
            max_trials=arguments.trials,
            seed=arguments.seed,
            directory=str(workdir),
            project_name="project",
            **options,
        )
    search.search(**fit_arguments)
    best_model = search.get_best_models(num_models=1)[0]
    wall = time.perf_counter() - start
    if profiler is not None:
        profiler.stop()
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        text_path = RESULTS_DIR / f"end_to_end_profile_{tool.replace(' ', '_')}.txt"
        text_path.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
        print(f"Profile written to {text_path}", file=sys.stderr)
    accuracy = float(best_model.evaluate(x_test, y_test, verbose=0)[1])
    trials = sorted(search.oracle.trials.values(), key=lambda t: t.trial_id)
    ran_values = [
        {k: v for k, v in t.hyperparameters.values.items() if not k.startswith("tuner/")}
        for t in trials
    ]
    project_bytes, project_files = directory_size(workdir / "project")
    return {
        "tool": tool,
        "seed": arguments.seed,
        "wall_seconds": wall,
        # Training: model.fit without the tool's callbacks (its per-epoch reports, checkpoints).
        "fit_seconds": clock.fit_seconds - clock.callback_seconds,
        "tool_callback_seconds": clock.callback_seconds,
        # Python's garbage collections (automatic or called), wherever they happened.
        "gc_seconds": collections["seconds"],
        "full_collections": collections["full"],
        "outside_fit_seconds": wall - (clock.fit_seconds - clock.callback_seconds),
        "build_seconds": clock.build_seconds,
        "builds": clock.builds,
        "fits": clock.fits,
        "trials": len(trials),
        "epochs": clock.epochs,
        "project_bytes": project_bytes,
        "project_files": project_files,
        "best_model_accuracy": accuracy,
        "same_values": ran_values == values,
    }


def spawn_worker(
    tool: str, seed: int, values_path: Path, settings: argparse.Namespace, profile: bool = False
) -> dict[str, Any]:
    """Runs :func:`run_worker` in a fresh interpreter and returns its figures."""
    workdir = Path(tempfile.mkdtemp(prefix="end-to-end-", dir=settings.workdir))
    command = [
        sys.executable,
        __file__,
        "--worker",
        tool,
        "--seed",
        str(seed),
        "--values",
        str(values_path),
        "--workdir",
        str(workdir),
        "--trials",
        str(settings.trials),
        "--epochs",
        str(settings.epochs),
    ]
    if profile:
        command.append("--profile")
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


def has_keep_top_k() -> bool:
    """Whether tuner's Keras Tuner offers checkpoint pruning (``keep_top_k``)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tuner

    return "keep_top_k" in inspect.signature(tuner.Tuner.__init__).parameters


# --- the driver -------------------------------------------------------------------------------
def summarize(runs: list[dict[str, Any]], tools: list[str]) -> list[dict[str, Any]]:
    rows = []
    for tool in tools:
        mine = [r for r in runs if r["tool"] == tool]
        if not mine:
            continue
        wall = median([r["wall_seconds"] for r in mine])
        fit = median([r["fit_seconds"] for r in mine])
        outside = median([r["outside_fit_seconds"] for r in mine])
        rows.append(
            {
                "tool": tool,
                "runs": len(mine),
                "wall s": wall,
                "fit s": fit,
                "outside fit s": outside,
                "in tool callbacks s": median([r["tool_callback_seconds"] for r in mine]),
                "gc s": median([r.get("gc_seconds", float("nan")) for r in mine]),
                "full gcs": median([r.get("full_collections", float("nan")) for r in mine]),
                "outside %": 100
                * median([r["outside_fit_seconds"] / r["wall_seconds"] for r in mine]),
                "builds": median([r["builds"] for r in mine]),
                "build s": median([r["build_seconds"] for r in mine]),
                "epochs": median([r["epochs"] for r in mine]),
                "project KB/trial": median(
                    [r["project_bytes"] / max(r["trials"], 1) / 1024 for r in mine]
                ),
                "files/trial": median([r["project_files"] / max(r["trials"], 1) for r in mine]),
                "best accuracy": median([r["best_model_accuracy"] for r in mine]),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 trials x 5 epochs, 1 repeat")
    parser.add_argument("--trials", type=int, help="trials per search (default 10)")
    parser.add_argument("--epochs", type=int, help="max epochs per trial (default 30)")
    parser.add_argument("--repeats", type=int, help="runs per tool (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first repeat")
    parser.add_argument("--profile", action="store_true", help="profile one tuner run")
    parser.add_argument("--workdir", type=Path, help="where projects are written")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--values", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    arguments.trials = arguments.trials or (3 if arguments.quick else 10)
    arguments.epochs = arguments.epochs or (5 if arguments.quick else 30)
    repeats = arguments.repeats or (1 if arguments.quick else 3)

    if arguments.worker:
        print(json.dumps(run_worker(arguments)))
        return 0

    root = arguments.workdir or RESULTS_DIR / "end-to-end-projects"
    root.mkdir(parents=True, exist_ok=True)
    arguments.workdir = Path(tempfile.mkdtemp(dir=root))
    tools = list(TOOLS)
    runs: list[dict[str, Any]] = []
    try:
        if arguments.profile:
            values_path = arguments.workdir / "values.json"
            values_path.write_text(json.dumps(draw_values(arguments.seed, arguments.trials)))
            for tool in TOOLS:
                result = spawn_worker(tool, arguments.seed, values_path, arguments, profile=True)
                print(f"  {tool}: wall {result['wall_seconds']:.1f} s", flush=True)
            return 0
        keep_top_k = has_keep_top_k()
        for repeat in range(repeats):
            seed = arguments.seed + repeat
            values_path = arguments.workdir / f"values-{seed}.json"
            values_path.write_text(json.dumps(draw_values(seed, arguments.trials)))
            order = tools[repeat % len(tools) :] + tools[: repeat % len(tools)]
            if keep_top_k and repeat == 0:
                order.append(KEEP_TOP_K_VARIANT)
            for tool in order:
                result = spawn_worker(tool, seed, values_path, arguments)
                runs.append(result)
                print(
                    f"  repeat {repeat + 1}/{repeats} seed {seed} {tool:20} "
                    f"wall {result['wall_seconds']:6.1f} s  fit {result['fit_seconds']:6.1f} s  "
                    f"outside {result['outside_fit_seconds']:5.2f} s  "
                    f"builds {result['builds']}  same values {result['same_values']}",
                    flush=True,
                )
    finally:
        shutil.rmtree(arguments.workdir, ignore_errors=True)

    all_tools = tools + (
        [KEEP_TOP_K_VARIANT] if any(r["tool"] == KEEP_TOP_K_VARIANT for r in runs) else []
    )
    rows = summarize(runs, all_tools)
    by_tool = {row["tool"]: row for row in rows}
    ours, theirs = by_tool["tuner"], by_tool["keras-tuner"]
    paired_outside = [
        ratio(a["outside_fit_seconds"], b["outside_fit_seconds"])
        for a in runs
        if a["tool"] == "tuner"
        for b in runs
        if b["tool"] == "keras-tuner" and b["seed"] == a["seed"]
    ]
    paired_wall = [
        ratio(a["wall_seconds"], b["wall_seconds"])
        for a in runs
        if a["tool"] == "tuner"
        for b in runs
        if b["tool"] == "keras-tuner" and b["seed"] == a["seed"]
    ]
    floors = [
        floor_line(
            "tuner's time outside model.fit <= half of keras-tuner's",
            ours["outside fit s"] <= 0.5 * theirs["outside fit s"],
            f"{ours['outside fit s']:.2f} s vs {theirs['outside fit s']:.2f} s, "
            f"ratio {ratio(ours['outside fit s'], theirs['outside fit s']):.2f}; paired median "
            f"{median(paired_outside):.2f}",
        ),
        floor_line(
            "tuner's total wall time below keras-tuner's",
            ours["wall s"] < theirs["wall s"],
            f"{ours['wall s']:.1f} s vs {theirs['wall s']:.1f} s, ratio "
            f"{ratio(ours['wall s'], theirs['wall s']):.3f}; paired median "
            f"{median(paired_wall):.3f}",
        ),
    ]
    if not all(r["same_values"] for r in runs):
        floors.append("- WARNING: some runs did not train the drawn values; see the JSON file.")
    columns = [
        "tool",
        "runs",
        "wall s",
        "fit s",
        "outside fit s",
        "outside %",
        "in tool callbacks s",
        "gc s",
        "full gcs",
        "builds",
        "build s",
        "epochs",
        "project KB/trial",
        "files/trial",
        "best accuracy",
    ]
    table = markdown_table(rows, columns)
    title = (
        f"End to end: breast-cancer random search, {arguments.trials} trials x up to "
        f"{arguments.epochs} epochs (medians of {repeats} runs per tool)"
    )
    print(f"\n### {title}\n\n{table}\n")
    print("\n".join(floors) + "\n")
    path = write_results(
        "end_to_end",
        {
            "settings": {
                "trials": arguments.trials,
                "epochs": arguments.epochs,
                "repeats": repeats,
                "seed": arguments.seed,
                "quick": arguments.quick,
            },
            "title": title,
            "rows": rows,
            "runs": runs,
            "floors": floors,
        },
    )
    print(f"Results written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
