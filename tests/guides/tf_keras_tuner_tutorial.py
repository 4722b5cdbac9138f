"""TensorFlow tutorial "Introduction to the Keras Tuner", as a user would paste it.

Source: https://www.tensorflow.org/tutorials/keras/keras_tuner
(tensorflow/docs, site/en/tutorials/keras/keras_tuner.ipynb; Copyright 2020 The TensorFlow
Authors). Licence: Apache License 2.0.

Usage: python tf_keras_tuner_tutorial.py DIRECTORY

The notebook's code cells in order, with its prose dropped. The notebook magic
``!pip install -q -U keras-tuner`` is dropped (nothing replaces it). Changed:
  (a) import: ``import keras_tuner as kt`` -> ``import tuner as kt``.
  (b) data: ``keras.datasets.fashion_mnist.load_data()`` -> ``load_data()`` below:
      scikit-learn's 8x8 digits as uint8 0-255, zero-padded to 28x28 (1000 train + 200 test).
  (c) ``directory='my_dir'`` -> ``directory=DIRECTORY`` (the command-line folder).
  (d) time: Hyperband's ``max_epochs=10`` -> ``max_epochs=3`` (6 trials instead of ~25; same
      brackets, rounds and warm starts), and the two ``model.fit(..., epochs=50, ...)`` retrains
      after the search -> ``epochs=3``. ``tuner.search(..., epochs=50, ...)`` is kept.
  (e) the notebook's bare ``eval_result`` display is the tutorial's print; ``print("GUIDE_DONE")``
      at the end marks that the script ran to its end.
Everything else (classes, arguments, callbacks, method calls) is the tutorial's.
"""

# The guide's code as it is written (its import order, redefinitions, idioms):
# ruff: noqa: E402, UP031

import sys

import numpy as np
from sklearn.datasets import load_digits

DIRECTORY = sys.argv[1]


def load_data():
    """Stands in for keras.datasets.fashion_mnist.load_data(): digits padded to 28x28 uint8."""
    images, labels = load_digits(return_X_y=True)
    images = (images.reshape(-1, 8, 8) * (255 / 16)).astype("uint8")
    images = np.pad(images, ((0, 0), (10, 10), (10, 10)))
    return (images[:1000], labels[:1000]), (images[1000:1200], labels[1000:1200])


import tensorflow as tf
from tensorflow import keras

import tuner as kt  # was: import keras_tuner as kt

(img_train, label_train), (img_test, label_test) = load_data()  # was: fashion_mnist.load_data()

# Normalize pixel values between 0 and 1
img_train = img_train.astype("float32") / 255.0
img_test = img_test.astype("float32") / 255.0


def model_builder(hp):
    model = keras.Sequential()
    model.add(keras.layers.Flatten(input_shape=(28, 28)))

    # Tune the number of units in the first Dense layer
    # Choose an optimal value between 32-512
    hp_units = hp.Int("units", min_value=32, max_value=512, step=32)
    model.add(keras.layers.Dense(units=hp_units, activation="relu"))
    model.add(keras.layers.Dense(10))

    # Tune the learning rate for the optimizer
    # Choose an optimal value from 0.01, 0.001, or 0.0001
    hp_learning_rate = hp.Choice("learning_rate", values=[1e-2, 1e-3, 1e-4])

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=hp_learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )

    return model


tuner = kt.Hyperband(
    model_builder,
    objective="val_accuracy",
    max_epochs=3,  # was: 10
    factor=3,
    directory=DIRECTORY,  # was: 'my_dir'
    project_name="intro_to_kt",
)

stop_early = tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)

tuner.search(img_train, label_train, epochs=50, validation_split=0.2, callbacks=[stop_early])

# Get the optimal hyperparameters
best_hps = tuner.get_best_hyperparameters(num_trials=1)[0]

print(f"""
The hyperparameter search is complete. The optimal number of units in the first densely-connected
layer is {best_hps.get("units")} and the optimal learning rate for the optimizer
is {best_hps.get("learning_rate")}.
""")

# Build the model with the optimal hyperparameters and train it on the data for 50 epochs
model = tuner.hypermodel.build(best_hps)
history = model.fit(img_train, label_train, epochs=3, validation_split=0.2)  # was: epochs=50

val_acc_per_epoch = history.history["val_accuracy"]
best_epoch = val_acc_per_epoch.index(max(val_acc_per_epoch)) + 1
print("Best epoch: %d" % (best_epoch,))

hypermodel = tuner.hypermodel.build(best_hps)

# Retrain the model
hypermodel.fit(img_train, label_train, epochs=best_epoch, validation_split=0.2)

eval_result = hypermodel.evaluate(img_test, label_test)
print("[test loss, test accuracy]:", eval_result)
print("GUIDE_DONE")
