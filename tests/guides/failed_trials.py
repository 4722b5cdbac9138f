"""keras.io guide "Handling failed trials in KerasTuner", as a user would paste it.

Source: https://keras.io/guides/keras_tuner/failed_trials/
(keras-team/keras-io, guides/keras_tuner/failed_trials.py; author Haifeng Jin).
Licence: Apache License 2.0.

Usage: python failed_trials.py  (run it in an empty folder: the guide passes no ``directory``,
so its three searches write ./untitled_project, as keras-tuner does)

The guide's code, with its prose dropped (the ``pip install`` shell cell too). Changed:
  (a) import: ``import keras_tuner`` -> ``import tuner as keras_tuner``.
  (b) data: none (the guide already trains on local random data).
  (c) directory: none (the guide relies on the default, the current folder).
  (d) time: ``epochs=10`` -> ``epochs=1`` in the three searches (same code path, fewer epochs).
  (e) ``print("GUIDE_DONE")`` at the end marks that the script ran to its end.
Everything else (classes, arguments, overrides, method calls) is the guide's.
"""

# The guide's code as it is written (its import order, redefinitions, idioms):
# ruff: noqa: I001

from tensorflow import keras
from tensorflow.keras import layers
import tuner as keras_tuner  # was: import keras_tuner
import numpy as np


def build_model(hp):
    # Define the 2 hyperparameters for the units in dense layers
    units_1 = hp.Int("units_1", 10, 40, step=10)
    units_2 = hp.Int("units_2", 10, 30, step=10)

    # Define the model
    model = keras.Sequential(
        [
            layers.Dense(units=units_1, input_shape=(20,)),
            layers.Dense(units=units_2),
            layers.Dense(units=1),
        ]
    )
    model.compile(loss="mse")

    # Raise an error when the model is too large
    num_params = model.count_params()
    if num_params > 1200:
        raise ValueError(f"Model too large! It contains {num_params} params.")
    return model


tuner = keras_tuner.GridSearch(
    hypermodel=build_model,
    objective="val_loss",
    overwrite=True,
    max_retries_per_trial=3,
    max_consecutive_failed_trials=8,
)

# Use random data to train the model.
tuner.search(
    x=np.random.rand(100, 20),
    y=np.random.rand(100, 1),
    validation_data=(
        np.random.rand(100, 20),
        np.random.rand(100, 1),
    ),
    epochs=1,  # was: 10
)

# Print the results.
tuner.results_summary()


def build_model(hp):
    # Define the 2 hyperparameters for the units in dense layers
    units_1 = hp.Int("units_1", 10, 40, step=10)
    units_2 = hp.Int("units_2", 10, 30, step=10)

    # Define the model
    model = keras.Sequential(
        [
            layers.Dense(units=units_1, input_shape=(20,)),
            layers.Dense(units=units_2),
            layers.Dense(units=1),
        ]
    )
    model.compile(loss="mse")

    # Raise an error when the model is too large
    num_params = model.count_params()
    if num_params > 1200:
        # When this error is raised, it skips the retries.
        raise keras_tuner.errors.FailedTrialError(
            f"Model too large! It contains {num_params} params."
        )
    return model


tuner = keras_tuner.GridSearch(
    hypermodel=build_model,
    objective="val_loss",
    overwrite=True,
    max_retries_per_trial=3,
    max_consecutive_failed_trials=8,
)

# Use random data to train the model.
tuner.search(
    x=np.random.rand(100, 20),
    y=np.random.rand(100, 1),
    validation_data=(
        np.random.rand(100, 20),
        np.random.rand(100, 1),
    ),
    epochs=1,  # was: 10
)

# Print the results.
tuner.results_summary()


def build_model(hp):
    # Define the 2 hyperparameters for the units in dense layers
    units_1 = hp.Int("units_1", 10, 40, step=10)
    units_2 = hp.Int("units_2", 10, 30, step=10)

    # Define the model
    model = keras.Sequential(
        [
            layers.Dense(units=units_1, input_shape=(20,)),
            layers.Dense(units=units_2),
            layers.Dense(units=1),
        ]
    )
    model.compile(loss="mse")

    # Raise an error when the model is too large
    num_params = model.count_params()
    if num_params > 1200:
        # When this error is raised, the search is terminated.
        raise keras_tuner.errors.FatalError(f"Model too large! It contains {num_params} params.")
    return model


tuner = keras_tuner.GridSearch(
    hypermodel=build_model,
    objective="val_loss",
    overwrite=True,
    max_retries_per_trial=3,
    max_consecutive_failed_trials=8,
)

try:
    # Use random data to train the model.
    tuner.search(
        x=np.random.rand(100, 20),
        y=np.random.rand(100, 1),
        validation_data=(
            np.random.rand(100, 20),
            np.random.rand(100, 1),
        ),
        epochs=1,  # was: 10
    )
except keras_tuner.errors.FatalError:
    print("The search is terminated.")
print("GUIDE_DONE")
