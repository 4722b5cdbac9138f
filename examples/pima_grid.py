"""Pima diabetes: seven grid searches over a small network, each scored by 3-fold CV.

The classic "grid search a Keras model with scikit-learn's GridSearchCV" tutorial, without the
wrapper: each grid is a ``GridSearch`` with ``cv=3``, and every configuration is printed as
``mean (std) with: {params}`` over its folds, best first line.

The grids (the tutorial's; the base network is one hidden layer of 12 units and a sigmoid
output, trained with Adam for 100 epochs with batch size 10 unless the grid says otherwise):

1. ``batch_size_epochs``: batch size 10/20/40/60/80/100 x epochs 10/50/100;
2. ``optimizer``: SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam;
3. ``learning_rate_momentum``: SGD learning rate 0.001/0.01/0.1/0.2/0.3 x momentum
   0/0.2/0.4/0.6/0.8/0.9;
4. ``initializer``: the hidden and output layers' weight initializer (8 of them);
5. ``activation``: the hidden layer's activation (8 of them);
6. ``dropout_max_norm``: dropout 0.0 to 0.9 x a max-norm constraint 1 to 5 on the hidden layer;
7. ``hidden_units``: 1/5/10/15/20/25/30 hidden units (with dropout 0.2 and max-norm 4).

Data: the Pima Indians Diabetes data set (National Institute of Diabetes and Digestive and
Kidney Diseases, via the UCI repository), 768 rows of 8 numeric inputs and the 0/1 outcome in
the last column. A copy ships in ``examples/data/`` (see its README); ``--csv`` reads another
CSV of the same shape (a header row is optional).

    python examples/pima_grid.py                    # every grid
    python examples/pima_grid.py --grid optimizer   # one grid
    python examples/pima_grid.py --quick            # smoke run

``--quick`` runs every grid cut to its first value per hyperparameter, with 2 folds and 1
epoch. Full settings: 128 configurations x 3 folds, at most 100 epochs each; a fold's score is
its best epoch's validation accuracy (keras-tuner's convention), so it reads a little above the
tutorials' last-epoch figures (best mean accuracies of about 0.68-0.72 over 3 folds).

Measured, every grid at full settings with seed 7 (``KERAS_BACKEND=jax``, two CPU cores, 20
minutes for all seven; the TensorFlow backend gives the same kind of figures about five times
slower). Best configuration per grid, mean (std) accuracy over 3 folds:

==========================  =========================================  ===============
grid                        best                                       accuracy
==========================  =========================================  ===============
``batch_size_epochs``       batch size 10, 100 epochs                  0.742 (0.044)
``optimizer``               Adam (Nadam 0.740, RMSprop 0.737)          0.742 (0.042)
``learning_rate_momentum``  SGD learning rate 0.001, momentum 0.8      0.723 (0.034)
``initializer``             he_uniform                                 0.749 (0.030)
``activation``              softplus (relu 0.741)                      0.762 (0.033)
``dropout_max_norm``        dropout 0.1, max-norm 1                    0.750 (0.036)
``hidden_units``            30 units (25 units 0.740)                  0.741 (0.024)
==========================  =========================================  ===============

An earlier run of two grids on the TensorFlow backend: ``optimizer`` best Adam, 0.723 (0.028);
``hidden_units`` best 20 units, 0.737 (0.038).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet

import keras
import numpy as np

import tuner as kt

#: Each grid: hyperparameter -> values. Names not in a grid take DEFAULTS.
GRIDS: dict[str, dict[str, list[Any]]] = {
    "batch_size_epochs": {"batch_size": [10, 20, 40, 60, 80, 100], "epochs": [10, 50, 100]},
    "optimizer": {
        "optimizer": ["SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax", "Nadam"]
    },
    "learning_rate_momentum": {
        "learning_rate": [0.001, 0.01, 0.1, 0.2, 0.3],
        "momentum": [0.0, 0.2, 0.4, 0.6, 0.8, 0.9],
    },
    "initializer": {
        "initializer": [
            "random_uniform",
            "lecun_uniform",
            "random_normal",
            "zeros",
            "glorot_normal",
            "glorot_uniform",
            "he_normal",
            "he_uniform",
        ]
    },
    "activation": {
        "activation": [
            "softmax",
            "softplus",
            "softsign",
            "relu",
            "tanh",
            "sigmoid",
            "hard_sigmoid",
            "linear",
        ]
    },
    "dropout_max_norm": {
        "dropout": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        "max_norm": [1.0, 2.0, 3.0, 4.0, 5.0],
    },
    "hidden_units": {"units": [1, 5, 10, 15, 20, 25, 30]},
}
DEFAULTS: dict[str, Any] = {
    "batch_size": 10,
    "epochs": 100,
    "optimizer": "Adam",
    "learning_rate": None,  # the optimizer's own default
    "momentum": 0.0,
    "initializer": "random_uniform",
    "activation": "relu",
    "dropout": 0.0,
    "max_norm": None,
    "units": 12,
}
#: Settings a grid changes besides its own hyperparameters (as in the tutorial).
GRID_DEFAULTS: dict[str, dict[str, Any]] = {
    "learning_rate_momentum": {"optimizer": "SGD"},
    "hidden_units": {"dropout": 0.2, "max_norm": 4.0},
}
#: The copy that ships with the repository.
DEFAULT_CSV = Path(__file__).resolve().parent / "data" / "pima-indians-diabetes.csv"
DATA_HINT = "Pass --csv PATH to a CSV of 8 numeric inputs then the 0/1 outcome."


def load_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Features and last-column target of a numeric CSV, with or without a header row."""
    if not Path(path).is_file():
        sys.exit(f"{path} does not exist. {DATA_HINT}")
    with open(path, encoding="utf-8") as handle:
        first = handle.readline().split(",")
    try:
        [float(cell) for cell in first]
        header_rows = 0
    except ValueError:
        header_rows = 1
    table = np.loadtxt(path, delimiter=",", skiprows=header_rows, dtype="float32")
    return table[:, :-1], table[:, -1]


class PimaModel(kt.HyperModel):
    """The tutorial's network; each setting comes from the grid when it is in it."""

    def __init__(self, defaults: dict[str, Any], epochs_override: int | None = None):
        super().__init__(name="pima_mlp")
        self.defaults = defaults
        self.epochs_override = epochs_override

    def setting(self, hp: kt.HyperParameters, name: str) -> Any:
        return hp.get(name) if name in hp else self.defaults[name]

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        initializer = self.setting(hp, "initializer")
        max_norm = self.setting(hp, "max_norm")
        constraint = None if max_norm is None else keras.constraints.MaxNorm(max_norm)
        model = keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(
                    self.setting(hp, "units"),
                    activation=self.setting(hp, "activation"),
                    kernel_initializer=initializer,
                    kernel_constraint=constraint,
                ),
                keras.layers.Dropout(self.setting(hp, "dropout")),
                keras.layers.Dense(1, activation="sigmoid", kernel_initializer=initializer),
            ]
        )
        model.compile(
            optimizer=self.optimizer(hp),
            loss="binary_crossentropy",
            metrics=["accuracy"],
        )
        return model

    def optimizer(self, hp: kt.HyperParameters) -> keras.optimizers.Optimizer:
        name = self.setting(hp, "optimizer")
        learning_rate = self.setting(hp, "learning_rate")
        if name == "SGD":
            return keras.optimizers.SGD(
                learning_rate=learning_rate or 0.01, momentum=self.setting(hp, "momentum")
            )
        optimizer = keras.optimizers.get(name.lower())
        if learning_rate is not None:
            optimizer.learning_rate = learning_rate
        return optimizer

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any):
        epochs = self.epochs_override or self.setting(hp, "epochs")
        return model.fit(*args, batch_size=self.setting(hp, "batch_size"), epochs=epochs, **kwargs)


def run_grid(name: str, x: np.ndarray, y: np.ndarray, args: argparse.Namespace) -> None:
    grid = GRIDS[name]
    if args.quick:  # every grid's code path, one configuration each
        grid = {hyperparameter: values[:1] for hyperparameter, values in grid.items()}
    space = kt.HyperParameters()
    for hyperparameter, values in grid.items():
        space.Choice(hyperparameter, values)
    tuner = kt.GridSearch(
        PimaModel({**DEFAULTS, **GRID_DEFAULTS.get(name, {})}, 1 if args.quick else None),
        objective="val_accuracy",
        hyperparameters=space,
        seed=7,
        cv=2 if args.quick else 3,  # stratified: the outcome is a 0/1 class
        directory=args.directory,
        project_name=f"pima_{name}" + ("_quick" if args.quick else ""),
        overwrite=args.overwrite,
    )
    tuner.search(x, y, verbose=0)

    trials = sorted(tuner.oracle.trials.values(), key=lambda trial: trial.trial_id)
    best = tuner.oracle.get_best_trials(1)[0]
    best_accuracy = best.fold_statistics()["val_accuracy"]
    print(f"\n== {name} ==")
    print(f"Best: {best_accuracy.mean:.6f} using {best.hyperparameters.values}")
    for trial in trials:
        accuracy = trial.fold_statistics().get("val_accuracy")
        if accuracy is None:
            print(f"{trial.status.value} with: {trial.hyperparameters.values}")
            continue
        print(f"{accuracy.mean:.6f} ({accuracy.std:.6f}) with: {trial.hyperparameters.values}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--csv", default=str(DEFAULT_CSV), help="the Pima data as CSV (default: the shipped copy)"
    )
    parser.add_argument(
        "--grid", choices=sorted(GRIDS), action="append", help="run only this grid (repeatable)"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run (see the docstring)")
    parser.add_argument("--directory", default="runs", help="parent of the project directories")
    parser.add_argument("--overwrite", action="store_true", help="start the searches afresh")
    args = parser.parse_args()

    x, y = load_csv(args.csv)
    for name in args.grid or list(GRIDS):
        run_grid(name, x, y, args)


if __name__ == "__main__":
    main()
