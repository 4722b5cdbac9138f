"""Quickstart: tune a small classifier on the Pima diabetes data with random search.

Run it twice: the second run reloads the finished project instead of searching again.

    python examples/quickstart.py [--trials 8] [--epochs 20] [--directory runs] [--quick]

It needs only ``pip install .`` (the data ships in ``examples/data/``), takes about a minute on
two CPU cores, and prints the best hyperparameters, the best model's accuracy on a held-out test
split, and where the project directory is. ``--quick`` runs 2 trials of 2 epochs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet

import keras
import numpy as np

import tuner as kt

DATA = Path(__file__).resolve().parent / "data" / "pima-indians-diabetes.csv"


def load_data(seed: int = 0) -> tuple[np.ndarray, ...]:
    """Standardized train and test splits (80/20, stratified) of the shipped Pima CSV."""
    table = np.loadtxt(DATA, delimiter=",", skiprows=1, dtype="float32")
    x, y = table[:, :-1], table[:, -1]
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for label in (0.0, 1.0):  # a fifth of each class is held out
        rows = rng.permutation(np.flatnonzero(y == label))
        test[rows[: len(rows) // 5]] = True
    mean, std = x[~test].mean(axis=0), x[~test].std(axis=0)  # training rows only: no leak
    x = (x - mean) / std
    return x[~test], x[test], y[~test], y[test]


def build_model(hp: kt.HyperParameters) -> keras.Model:
    """A multi-layer perceptron whose shape and training are tuned."""
    model = keras.Sequential([keras.Input((8,))])
    for layer in range(hp.Int("num_layers", 1, 3)):
        model.add(
            keras.layers.Dense(
                hp.Int(f"units_{layer}", 8, 128, step=8),
                activation=hp.Choice("activation", ["relu", "tanh"]),
            )
        )
        model.add(keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1)))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8, help="trials to run (default 8)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per trial (default 20)")
    parser.add_argument("--directory", default="runs", help="parent of the project directory")
    parser.add_argument("--overwrite", action="store_true", help="start the search afresh")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 trials, 2 epochs")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.epochs = 2, 2

    x_train, x_test, y_train, y_test = load_data()

    tuner = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=args.trials,
        seed=1,
        directory=args.directory,
        project_name="quickstart_quick" if args.quick else "quickstart",
        overwrite=args.overwrite,
    )
    tuner.search(
        x_train,
        y_train,
        epochs=args.epochs,
        validation_split=0.2,
        batch_size=32,
        callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=5)],
        verbose=0,
    )
    tuner.results_summary(num_trials=3)

    best_hyperparameters = tuner.get_best_hyperparameters(1)[0]
    best_model = tuner.get_best_models(1)[0]
    _, test_accuracy = best_model.evaluate(x_test, y_test, verbose=0)
    print("\nBest hyperparameters:")
    for name, value in best_hyperparameters.values.items():
        print(f"  {name}: {value}")
    print(f"Test accuracy of the best model: {test_accuracy:.3f}")
    print(f"Project directory: {Path(tuner.project_dir).resolve()}")


if __name__ == "__main__":
    main()
