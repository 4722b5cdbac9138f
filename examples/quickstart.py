"""Quickstart: tune a small classifier on scikit-learn's breast-cancer data with random search.

Run it twice: the second run reloads the finished project instead of searching again.

    python examples/quickstart.py [--trials 8] [--epochs 20] [--directory runs]

It takes about a minute on two CPU cores and prints the best hyperparameters, the best model's
accuracy on a held-out test split, and where the project directory is.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet

import keras
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import tuner as kt


def build_model(hp: kt.HyperParameters) -> keras.Model:
    """A multi-layer perceptron whose shape and training are tuned."""
    model = keras.Sequential([keras.Input((30,))])
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
    args = parser.parse_args()

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(x_train)
    x_train = scaler.transform(x_train).astype("float32")
    x_test = scaler.transform(x_test).astype("float32")

    tuner = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=args.trials,
        seed=1,
        directory=args.directory,
        project_name="quickstart",
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
