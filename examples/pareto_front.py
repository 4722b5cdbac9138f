"""Breast cancer: accuracy against model size, a two-objective Bayesian search and its front.

A dense network whose width, depth, dropout and learning rate are tuned for two objectives at
once: the validation accuracy (maximized) and the number of parameters (minimized; the Keras
tuner records ``model_params`` for every trial), under a constraint on the training speed
(``epoch_seconds``, also recorded). The search's Pareto front is printed and drawn.

    python examples/pareto_front.py                 # 30 trials of 20 epochs
    python examples/pareto_front.py --quick         # 3 trials of 1 epoch
    python examples/pareto_front.py --output docs/images/pareto_front.png

Data: scikit-learn's copy of the Wisconsin diagnostic breast cancer data set
(``load_breast_cancer``), 569 tumours, 30 features.
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
from tuner import visualization

FULL = {"trials": 30, "epochs": 20}
QUICK = {"trials": 3, "epochs": 1}


def build_model(hp: kt.HyperParameters) -> keras.Model:
    """Dense layers from 2 to 512 units wide: sizes over three orders of magnitude."""
    units = hp.Int("units", min_value=2, max_value=512, sampling="log")
    model = keras.Sequential([keras.Input((30,))])
    for _ in range(hp.Int("layers", 1, 3)):
        model.add(keras.layers.Dense(units, activation="relu"))
        model.add(keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5)))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 trials of 1 epoch")
    parser.add_argument("--directory", default="runs", help="where the project folder goes")
    parser.add_argument("--output", help="also save the front's picture to this PNG file")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL

    x, y = load_breast_cancer(return_X_y=True)
    x_train, _, y_train, _ = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    x_train = StandardScaler().fit_transform(x_train)

    tuner = kt.BayesianOptimization(
        build_model,
        objective=[kt.Objective("val_accuracy", "max"), kt.Objective("model_params", "min")],
        constraints=[kt.Constraint("epoch_seconds", max_value=2.0)],
        max_trials=settings["trials"],
        seed=7,
        directory=args.directory,
        project_name="pareto_front",
        overwrite=True,
    )
    tuner.search(
        x_train,
        y_train,
        validation_split=0.2,
        epochs=settings["epochs"],
        batch_size=32,
        verbose=0,
    )
    front = tuner.get_pareto_front()
    print(f"Pareto front: {len(front)} of {len(tuner.oracle.trials)} trials")
    for trial in front:
        values = trial.objective_values
        print(
            f"  trial {trial.trial_id}: val_accuracy {values['val_accuracy']:.3f} with "
            f"{int(values['model_params'])} parameters ({trial.values['units']} units x "
            f"{trial.values['layers']} layers)"
        )
    if args.output:
        figure = visualization.plot_pareto_front(tuner, x="model_params", y="val_accuracy")
        axes = figure.axes[0]
        axes.set_xscale("log")
        axes.set_title(f"Breast cancer: accuracy against size ({settings['trials']} trials)")
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(args.output, bbox_inches="tight")
        print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
