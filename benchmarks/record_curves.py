"""Records real per-epoch learning curves of small Keras grids, for the multi-fidelity benchmark.

``benchmarks/multifidelity.py`` compares Hyperband, ASHA and random search by *replaying* these
curves instead of training, so it can run hundreds of searches in one go. This script trains
every configuration of two grids once per seed and stores, per configuration, seed and epoch, the
validation accuracy and loss:

- ``breast_cancer``: a one-hidden-layer network on scikit-learn's breast-cancer data, over
  units x activation x dropout x batch size x learning rate. Most configurations end within a
  point or two of each other: a flat, noisy problem where a lucky short run proves little.
- ``digits``: a deeper MLP (1-3 hidden layers) on scikit-learn's 8x8 digits, where learning rate
  and width separate configurations early, so early epochs predict the final ranking better.

To stay within a few CPU-minutes, the configurations that share a batch size, a learning rate
and a seed are trained side by side as independent branches of one Keras model: each branch has
its own layers and its own output, the loss is the *sum* of the branches' losses, and Adam keeps
per-weight moments, so every branch receives exactly the gradients and updates it would get if
trained alone on the same batches (the same shuffling order, which a seed fixes anyway). The
curves are therefore those of ordinary Keras models; only the Python overhead is shared.

Usage::

    nice python benchmarks/record_curves.py            # both problems, ~20 CPU-minutes
    python benchmarks/record_curves.py --quick         # a tiny grid, to check the script

The stored tables took 418 CPU-seconds (breast cancer) and 809 (digits) on one core of the
project's 2-core machine (each records its own ``cpu_seconds``). Output:
``benchmarks/data/curves_<problem>.json.gz`` (``--quick`` writes to
``benchmarks/results/`` instead, so the committed tables are never overwritten by a test run).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

DATA_DIR = Path(__file__).parent / "data"
QUICK_DIR = Path(__file__).parent / "results"
EPOCHS = 27
#: Fraction of each data set held out for validation (fixed split; seeds vary the training).
VALIDATION_FRACTION = 0.4
SPLIT_SEED = 0


@dataclass(frozen=True)
class Problem:
    """A data set, a grid over the model and optimizer, and the seeds to record."""

    name: str
    #: Hyperparameters shaping each branch (trained side by side in one Keras model).
    branch_grid: dict[str, list[Any]]
    #: Hyperparameters shared by one Keras model (one ``fit`` per combination and seed).
    fit_grid: dict[str, list[Any]]
    seeds: tuple[int, ...]
    epochs: int = EPOCHS

    @property
    def hyperparameter_names(self) -> list[str]:
        """Every hyperparameter, in the order of a configuration's values."""
        return [*self.branch_grid, *self.fit_grid]

    def configurations(self) -> list[dict[str, Any]]:
        """Every configuration of the grid (fit hyperparameters vary slowest)."""
        rows = []
        for fit_values in itertools.product(*self.fit_grid.values()):
            for branch_values in itertools.product(*self.branch_grid.values()):
                rows.append(
                    dict(
                        zip(self.hyperparameter_names, [*branch_values, *fit_values], strict=True)
                    )
                )
        return rows


PROBLEMS = {
    "breast_cancer": Problem(
        name="breast_cancer",
        branch_grid={
            "units": [4, 16, 64],
            "activation": ["relu", "tanh", "sigmoid"],
            "dropout": [0.0, 0.5],
        },
        fit_grid={
            "batch_size": [16, 64, 256],
            "learning_rate": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2],
        },
        seeds=(0, 1, 2, 3, 4),
    ),
    "digits": Problem(
        name="digits",
        branch_grid={
            "layers": [1, 2, 3],
            "units": [16, 64, 256],
            "activation": ["relu", "tanh"],
            "dropout": [0.0, 0.3],
        },
        fit_grid={
            "batch_size": [64, 256],
            "learning_rate": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
        },
        seeds=(0, 1, 2, 3),
    ),
}

QUICK_PROBLEMS = {
    "breast_cancer": Problem(
        name="breast_cancer",
        branch_grid={"units": [4, 16], "activation": ["relu"], "dropout": [0.0, 0.5]},
        fit_grid={"batch_size": [128], "learning_rate": [1e-3, 1e-2]},
        seeds=(0, 1),
        epochs=3,
    ),
    "digits": Problem(
        name="digits",
        branch_grid={"layers": [1, 2], "units": [16], "activation": ["relu"], "dropout": [0.0]},
        fit_grid={"batch_size": [128], "learning_rate": [1e-3]},
        seeds=(0,),
        epochs=3,
    ),
}


def load_data(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A fixed, stratified, standardized train/validation split of a scikit-learn data set."""
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    loader = {"breast_cancer": load_breast_cancer, "digits": load_digits}[name]
    x, y = loader(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=VALIDATION_FRACTION, random_state=SPLIT_SEED, stratify=y
    )
    scaler = StandardScaler().fit(x_train)
    return (
        scaler.transform(x_train).astype("float32"),
        scaler.transform(x_val).astype("float32"),
        y_train.astype("int32"),
        y_val.astype("int32"),
    )


def build_side_by_side(
    problem: Problem, branches: Sequence[dict[str, Any]], features: int, classes: int
) -> Any:
    """One Keras model whose outputs are independent branches, one per configuration.

    The output has shape ``(batch, branches)`` (binary) or ``(batch, branches, classes)``.
    """
    import keras

    inputs = keras.Input((features,))
    outputs = []
    for branch in branches:
        hidden = inputs
        for _ in range(int(branch.get("layers", 1))):
            hidden = keras.layers.Dense(branch["units"], activation=branch["activation"])(hidden)
            if branch["dropout"]:
                hidden = keras.layers.Dropout(branch["dropout"])(hidden)
        if classes == 2:
            outputs.append(keras.layers.Dense(1, activation="sigmoid")(hidden))
        else:
            logits = keras.layers.Dense(classes, activation="softmax")(hidden)
            outputs.append(keras.layers.Reshape((1, classes))(logits))
    return keras.Model(inputs, keras.layers.Concatenate(axis=1)(outputs))


def summed_loss(classes: int) -> Any:
    """The sum over branches of each branch's own loss (so no branch's gradient is rescaled)."""
    import keras

    def loss(y_true: Any, y_pred: Any) -> Any:
        if classes == 2:
            per_branch = keras.ops.binary_crossentropy(
                keras.ops.cast(y_true, y_pred.dtype), y_pred
            )
        else:
            per_branch = keras.ops.sparse_categorical_crossentropy(y_true, y_pred)
        return keras.ops.sum(per_branch, axis=-1)

    return loss


def validation_metrics(
    predictions: np.ndarray, y_val: np.ndarray, classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-branch validation accuracy and mean cross-entropy."""
    epsilon = 1e-7
    predictions = predictions.astype("float64")
    if classes == 2:
        p = np.clip(predictions, epsilon, 1 - epsilon)  # (rows, branches)
        target = y_val[:, None]
        loss = -(target * np.log(p) + (1 - target) * np.log(1 - p)).mean(axis=0)
        accuracy = ((p > 0.5) == target).mean(axis=0)
    else:
        p = np.clip(predictions, epsilon, 1.0)  # (rows, branches, classes)
        rows = np.arange(len(y_val))
        loss = -np.log(p[rows, :, y_val]).mean(axis=0)
        accuracy = (p.argmax(axis=-1) == y_val[:, None]).mean(axis=0)
    return accuracy, loss


def reset_to_fresh(
    model: Any, problem: Problem, branches: Sequence[dict[str, Any]], classes: int, lr: float
) -> None:
    """Gives a compiled model the state of a fresh one built now, with Adam at ``lr``."""
    fresh = build_side_by_side(problem, branches, model.input_shape[-1], classes)
    model.set_weights(fresh.get_weights())
    for layer, fresh_layer in zip(model.layers, fresh.layers, strict=True):
        generator = getattr(layer, "seed_generator", None)
        if generator is not None:
            generator.state.assign(fresh_layer.seed_generator.state)
    for variable in model.optimizer.variables:
        variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
    model.optimizer.learning_rate = lr


def _make_curve_recorder() -> type:
    import keras

    class CurveRecorder(keras.callbacks.Callback):
        """Writes each branch's validation accuracy and loss after every epoch."""

        def __init__(
            self,
            x_val: np.ndarray,
            y_val: np.ndarray,
            classes: int,
            accuracy: np.ndarray,
            loss: np.ndarray,
            rows: list[int],
            seed_position: int,
        ):
            super().__init__()
            self._x_val, self._y_val, self._classes = x_val, y_val, classes
            self._accuracy, self._loss = accuracy, loss
            self._rows, self._seed_position = rows, seed_position

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            predictions = np.asarray(self.model.predict_on_batch(self._x_val))
            accuracy, loss = validation_metrics(predictions, self._y_val, self._classes)
            self._accuracy[self._rows, self._seed_position, epoch] = accuracy
            self._loss[self._rows, self._seed_position, epoch] = loss

    return CurveRecorder


def record(problem: Problem, verbose: bool = True) -> dict[str, Any]:
    """Trains the whole grid of ``problem`` for each seed; returns the table as JSON data."""
    import keras
    import tensorflow as tf

    _CurveRecorder = _make_curve_recorder()
    x_train, x_val, y_train, y_val = load_data(problem.name)
    classes = int(y_train.max()) + 1
    configurations = problem.configurations()
    index = {json.dumps(c, sort_keys=True): i for i, c in enumerate(configurations)}
    shape = (len(configurations), len(problem.seeds), problem.epochs)
    accuracy = np.full(shape, np.nan)
    loss = np.full(shape, np.nan)
    branches = [
        dict(zip(problem.branch_grid, values, strict=True))
        for values in itertools.product(*problem.branch_grid.values())
    ]
    started = time.process_time()
    fit_names = list(problem.fit_grid)
    shared_names = [n for n in fit_names if n != "learning_rate"]
    fits_done = 0
    fit_count = len(problem.seeds) * int(np.prod([len(v) for v in problem.fit_grid.values()]))
    y_tiled = np.repeat(y_train[:, None], len(branches), axis=1)
    for shared_values in itertools.product(*(problem.fit_grid[n] for n in shared_names)):
        shared = dict(zip(shared_names, shared_values, strict=True))
        # Tracing a model of many branches costs more than training it, so one compiled model
        # serves every learning rate and seed of a batch size: its weights, dropout generators
        # and optimizer are reset to what a freshly built and compiled model would have.
        keras.backend.clear_session()
        model = build_side_by_side(problem, branches, x_train.shape[1], classes)
        model.compile(optimizer=keras.optimizers.Adam(), loss=summed_loss(classes))
        for learning_rate, seed in itertools.product(
            problem.fit_grid["learning_rate"], problem.seeds
        ):
            fit_config = {**shared, "learning_rate": learning_rate}
            keras.utils.set_random_seed(seed)
            reset_to_fresh(model, problem, branches, classes, learning_rate)
            rows = [index[json.dumps({**b, **fit_config}, sort_keys=True)] for b in branches]
            recorder = _CurveRecorder(
                x_val, y_val, classes, accuracy, loss, rows, problem.seeds.index(seed)
            )
            keras.utils.set_random_seed(seed)  # the shuffling order, as a fresh fit would draw it
            model.fit(
                x_train,
                y_tiled,
                batch_size=fit_config["batch_size"],
                epochs=problem.epochs,
                verbose=0,
                shuffle=True,
                callbacks=[recorder],
            )
            fits_done += 1
            if verbose:
                print(
                    f"[{problem.name}] fit {fits_done}/{fit_count} {fit_config} seed={seed}: "
                    f"{time.process_time() - started:.0f} CPU-s so far",
                    flush=True,
                )
    if np.isnan(accuracy).any():
        raise RuntimeError(f"{problem.name}: some curves were not recorded.")
    return {
        "format_version": 1,
        "problem": problem.name,
        "produced_by": "benchmarks/record_curves.py",
        "description": __doc__.strip().splitlines()[0],
        "environment": {
            "python": platform.python_version(),
            "keras": keras.__version__,
            "tensorflow": tf.__version__,
            "numpy": np.__version__,
        },
        "cpu_seconds": round(time.process_time() - started, 1),
        "validation_fraction": VALIDATION_FRACTION,
        "split_seed": SPLIT_SEED,
        "train_rows": len(x_train),
        "validation_rows": len(x_val),
        "epochs": problem.epochs,
        "seeds": list(problem.seeds),
        "grid": {**problem.branch_grid, **problem.fit_grid},
        "hyperparameters": problem.hyperparameter_names,
        "configurations": [[c[n] for n in problem.hyperparameter_names] for c in configurations],
        "metrics": {
            # [configuration][seed][epoch], rounded: accuracy is a multiple of 1/validation_rows.
            "val_accuracy": np.round(accuracy, 5).tolist(),
            "val_loss": np.round(loss, 5).tolist(),
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Records the chosen problems and writes their tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tiny grid, written to results/")
    parser.add_argument("--problem", choices=[*PROBLEMS, "all"], default="all")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads (default 1)")
    args = parser.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    problems = QUICK_PROBLEMS if args.quick else PROBLEMS
    names = list(problems) if args.problem == "all" else [args.problem]
    out_dir = QUICK_DIR if args.quick else DATA_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        table = record(problems[name])
        path = out_dir / f"curves_{name}.json.gz"
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            json.dump(table, handle, separators=(",", ":"))
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, {table['cpu_seconds']} CPU-s)")


if __name__ == "__main__":
    main(sys.argv[1:])
