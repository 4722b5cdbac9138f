"""keras.io guide "Distributed hyperparameter tuning", as a user would paste it (run_tuning.py).

Source: https://keras.io/guides/keras_tuner/distributed_tuning/
(keras-team/keras-io, guides/keras_tuner/distributed_tuning.py; authors Tom O'Malley, Haifeng
Jin). Licence: Apache License 2.0.

Usage: python distributed_tuning.py DIRECTORY
The guide launches this same script once per process with KERASTUNER_TUNER_ID ("chief",
"tuner0", ...), KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT set (keras-tuner's gRPC
chief/worker mode); without them it is a plain single-process search.

The guide's code, with its prose and shell snippets dropped. Changed:
  (a) import: ``import keras_tuner`` -> ``import tuner as keras_tuner``.
  (b) data: ``tf.keras.datasets.mnist.load_data()`` -> ``load_data()`` below: scikit-learn's 8x8
      digits as uint8 0-255, zero-padded to 28x28 (1000 train + 200 test rows; the guide then
      keeps 1000 and 100 of them, as it does of MNIST).
  (c) ``directory="results_dir"`` -> ``directory=DIRECTORY`` (the command-line folder).
  (d) time: ``steps_per_epoch=600`` -> ``20`` and ``validation_steps=100`` -> ``3`` (1000 rows
      at batch size 32 hold 32 batches, so Keras 3 ran ~500 steps and then warned that the
      input ran out of data: 20 s a trial on 2 CPUs). ``max_epochs=2`` etc. are kept.
  (e) Keras: ``tf.keras.layers.AveragePooling2D()`` -> ``AveragePooling2D((2, 2))``, Keras 2's
      default pool size: Keras 3 has no default, so every trial that samples "avg" pooling
      failed (with keras-tuner too), and a search could end with no trained model.
  (f) ``print("GUIDE_DONE")`` at the end marks that the script ran to its end.
Everything else (classes, arguments, overrides, method calls) is the guide's.
"""

# The guide's code as it is written (its import order, redefinitions, idioms):
# ruff: noqa: E402, I001, RUF005

import sys

from sklearn.datasets import load_digits

DIRECTORY = sys.argv[1]

import tuner as keras_tuner  # was: import keras_tuner
import tensorflow as tf
import numpy as np


def load_data():
    """Stands in for tf.keras.datasets.mnist.load_data(): digits padded to 28x28 uint8."""
    images, labels = load_digits(return_X_y=True)
    images = (images.reshape(-1, 8, 8) * (255 / 16)).astype("uint8")
    images = np.pad(images, ((0, 0), (10, 10), (10, 10)))
    return (images[:1000], labels[:1000]), (images[1000:1200], labels[1000:1200])


def build_model(hp):
    """Builds a convolutional model."""
    inputs = tf.keras.Input(shape=(28, 28, 1))
    x = inputs
    for i in range(hp.Int("conv_layers", 1, 3, default=3)):
        x = tf.keras.layers.Conv2D(
            filters=hp.Int("filters_" + str(i), 4, 32, step=4, default=8),
            kernel_size=hp.Int("kernel_size_" + str(i), 3, 5),
            activation="relu",
            padding="same",
        )(x)

        if hp.Choice("pooling" + str(i), ["max", "avg"]) == "max":
            x = tf.keras.layers.MaxPooling2D()(x)
        else:
            x = tf.keras.layers.AveragePooling2D((2, 2))(x)  # was: (); see (e)

        x = tf.keras.layers.BatchNormalization()(x)
        x = tf.keras.layers.ReLU()(x)

    if hp.Choice("global_pooling", ["max", "avg"]) == "max":
        x = tf.keras.layers.GlobalMaxPooling2D()(x)
    else:
        x = tf.keras.layers.GlobalAveragePooling2D()(x)
    outputs = tf.keras.layers.Dense(10, activation="softmax")(x)

    model = tf.keras.Model(inputs, outputs)

    optimizer = hp.Choice("optimizer", ["adam", "sgd"])
    model.compile(optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


tuner = keras_tuner.Hyperband(
    hypermodel=build_model,
    objective="val_accuracy",
    max_epochs=2,
    factor=3,
    hyperband_iterations=1,
    distribution_strategy=tf.distribute.MirroredStrategy(),
    directory=DIRECTORY,  # was: "results_dir"
    project_name="mnist",
    overwrite=True,
)

(x_train, y_train), (x_test, y_test) = load_data()  # was: tf.keras.datasets.mnist.load_data()

# Reshape the images to have the channel dimension.
x_train = (x_train.reshape(x_train.shape + (1,)) / 255.0)[:1000]
y_train = y_train.astype(np.int64)[:1000]
x_test = (x_test.reshape(x_test.shape + (1,)) / 255.0)[:100]
y_test = y_test.astype(np.int64)[:100]

tuner.search(
    x_train,
    y_train,
    steps_per_epoch=20,  # was: 600
    validation_data=(x_test, y_test),
    validation_steps=3,  # was: 100
    callbacks=[tf.keras.callbacks.EarlyStopping("val_accuracy")],
)
print("GUIDE_DONE")
