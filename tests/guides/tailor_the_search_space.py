"""keras.io guide "Tailor the search space", as a user would paste it.

Source: https://keras.io/guides/keras_tuner/tailor_the_search_space/
(keras-team/keras-io, guides/keras_tuner/tailor_the_search_space.py; authors Luca Invernizzi,
James Long, Francois Chollet, Tom O'Malley, Haifeng Jin). Licence: Apache License 2.0.

Usage: python tailor_the_search_space.py DIRECTORY

The guide's code, with its prose dropped (the ``pip install`` shell cell too). Changed:
  (a) import: ``import keras_tuner`` -> ``import tuner as keras_tuner``.
  (b) data: none (the guide already trains on local random data).
  (c) every ``directory="my_dir"`` -> ``directory=DIRECTORY`` (the command-line folder).
  (d) time: ``max_trials=3`` -> ``2`` in the first three searches, and ``1`` in the
      HyperXception search at the end (an Xception on a CPU is slow). No epochs change.
  (e) the guide's bare expression ``tuner.get_best_models()[0].loss`` (shown by the notebook)
      is printed: ``print("BEST_MODEL_LOSS", ...)``; ``print("GUIDE_DONE")`` at the end marks
      that the script ran to its end.
Everything else (classes, arguments, overrides, method calls) is the guide's, including its
``model.add`` statement that adds nothing.
"""

# The guide's code as it is written (its import order, redefinitions, idioms):
# ruff: noqa: E402, I001, B018

import sys

DIRECTORY = sys.argv[1]

from tensorflow import keras
from tensorflow.keras import layers
import tuner as keras_tuner  # was: import keras_tuner
import numpy as np


def build_model(hp):
    model = keras.Sequential()
    model.add(layers.Flatten())
    model.add(
        layers.Dense(units=hp.Int("units", min_value=32, max_value=128, step=32, default=64))
    )
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(rate=0.25))
    model.add
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=hp.Choice("learning_rate", values=[1e-2, 1e-3, 1e-4])
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


hp = keras_tuner.HyperParameters()

# This will override the `learning_rate` parameter with your
# own selection of choices
hp.Float("learning_rate", min_value=1e-4, max_value=1e-2, sampling="log")

tuner = keras_tuner.RandomSearch(
    hypermodel=build_model,
    hyperparameters=hp,
    # Prevents unlisted parameters from being tuned
    tune_new_entries=False,
    objective="val_accuracy",
    max_trials=2,  # was: 3
    overwrite=True,
    directory=DIRECTORY,  # was: "my_dir"
    project_name="search_a_few",
)

# Generate random data
x_train = np.random.rand(100, 28, 28, 1)
y_train = np.random.randint(0, 10, (100, 1))
x_val = np.random.rand(20, 28, 28, 1)
y_val = np.random.randint(0, 10, (20, 1))

# Run the search
tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val))

tuner.search_space_summary()

hp = keras_tuner.HyperParameters()
hp.Fixed("learning_rate", value=1e-4)

tuner = keras_tuner.RandomSearch(
    build_model,
    hyperparameters=hp,
    tune_new_entries=True,
    objective="val_accuracy",
    max_trials=2,  # was: 3
    overwrite=True,
    directory=DIRECTORY,  # was: "my_dir"
    project_name="fix_a_few",
)

tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val))

tuner.search_space_summary()

tuner = keras_tuner.RandomSearch(
    build_model,
    optimizer=keras.optimizers.Adam(1e-3),
    loss="mse",
    metrics=[
        "sparse_categorical_crossentropy",
    ],
    objective="val_loss",
    max_trials=2,  # was: 3
    overwrite=True,
    directory=DIRECTORY,  # was: "my_dir"
    project_name="override_compile",
)

tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val))

print("BEST_MODEL_LOSS", tuner.get_best_models()[0].loss)  # was: a bare expression; see (e)

hypermodel = keras_tuner.applications.HyperXception(input_shape=(28, 28, 1), classes=10)

hp = keras_tuner.HyperParameters()

# This will override the `learning_rate` parameter with your
# own selection of choices
hp.Choice("learning_rate", values=[1e-2, 1e-3, 1e-4])

tuner = keras_tuner.RandomSearch(
    hypermodel,
    hyperparameters=hp,
    # Prevents unlisted parameters from being tuned
    tune_new_entries=False,
    # Override the loss.
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
    objective="val_accuracy",
    max_trials=1,  # was: 3
    overwrite=True,
    directory=DIRECTORY,  # was: "my_dir"
    project_name="helloworld",
)

# Run the search
tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val))
tuner.search_space_summary()
print("GUIDE_DONE")
