"""keras.io guide "Visualize the hyperparameter tuning process", as a user would paste it.

Source: https://keras.io/guides/keras_tuner/visualize_tuning/
(keras-team/keras-io, guides/keras_tuner/visualize_tuning.py; author Haifeng Jin).
Licence: Apache License 2.0.

Usage: python visualize_tuning.py DIRECTORY

The guide's code, with its prose dropped (the ``pip install`` shell cell too; the guide's
``%load_ext tensorboard`` / ``%tensorboard --logdir /tmp/tb_logs`` lines are Colab magics inside
its prose, not code, so there is nothing to run or replace). Changed:
  (a) import: ``import keras_tuner`` -> ``import tuner as keras_tuner``.
  (b) data: ``keras.datasets.mnist.load_data()`` -> ``load_data()`` below: scikit-learn's 8x8
      digits as uint8 0-255, zero-padded to 28x28 (1000 train + 200 test rows).
  (c) ``directory="/tmp/tb"`` -> ``os.path.join(DIRECTORY, "tb")`` and the TensorBoard log
      folder ``"/tmp/tb_logs"`` -> ``os.path.join(DIRECTORY, "tb_logs")``.
  (d) time: ``max_trials=10`` -> ``max_trials=3``.
  (e) ``print("GUIDE_DONE")`` at the end marks that the script ran to its end.
Everything else (classes, arguments, overrides, method calls) is the guide's.
"""

# The guide's code as it is written (its import order, redefinitions, idioms):
# ruff: noqa: E402, I001

import os
import sys

from sklearn.datasets import load_digits

DIRECTORY = sys.argv[1]

import numpy as np
import tuner as keras_tuner  # was: import keras_tuner
import keras
from keras import layers


def load_data():
    """Stands in for keras.datasets.mnist.load_data(): digits padded to 28x28 uint8."""
    images, labels = load_digits(return_X_y=True)
    images = (images.reshape(-1, 8, 8) * (255 / 16)).astype("uint8")
    images = np.pad(images, ((0, 0), (10, 10), (10, 10)))
    return (images[:1000], labels[:1000]), (images[1000:1200], labels[1000:1200])


(x_train, y_train), (x_test, y_test) = load_data()  # was: keras.datasets.mnist.load_data()
# Normalize the pixel values to the range of [0, 1].
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
# Add the channel dimension to the images.
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
# Print the shapes of the data.
print(x_train.shape)
print(y_train.shape)
print(x_test.shape)
print(y_test.shape)


def build_model(hp):
    inputs = keras.Input(shape=(28, 28, 1))
    # Model type can be MLP or CNN.
    model_type = hp.Choice("model_type", ["mlp", "cnn"])
    x = inputs
    if model_type == "mlp":
        x = layers.Flatten()(x)
        # Number of layers of the MLP is a hyperparameter.
        for i in range(hp.Int("mlp_layers", 1, 3)):
            # Number of units of each layer are
            # different hyperparameters with different names.
            x = layers.Dense(
                units=hp.Int(f"units_{i}", 32, 128, step=32),
                activation="relu",
            )(x)
    else:
        # Number of layers of the CNN is also a hyperparameter.
        for i in range(hp.Int("cnn_layers", 1, 3)):
            x = layers.Conv2D(
                hp.Int(f"filters_{i}", 32, 128, step=32),
                kernel_size=(3, 3),
                activation="relu",
            )(x)
            x = layers.MaxPooling2D(pool_size=(2, 2))(x)
        x = layers.Flatten()(x)

    # A hyperparamter for whether to use dropout layer.
    if hp.Boolean("dropout"):
        x = layers.Dropout(0.5)(x)

    # The last layer contains 10 units,
    # which is the same as the number of classes.
    outputs = layers.Dense(units=10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)

    # Compile the model.
    model.compile(
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        optimizer="adam",
    )
    return model


# Initialize the `HyperParameters` and set the values.
hp = keras_tuner.HyperParameters()
hp.values["model_type"] = "cnn"
# Build the model using the `HyperParameters`.
model = build_model(hp)
# Test if the model runs with our data.
model(x_train[:100])
# Print a summary of the model.
model.summary()

# Do the same for MLP model.
hp.values["model_type"] = "mlp"
model = build_model(hp)
model(x_train[:100])
model.summary()

tuner = keras_tuner.RandomSearch(
    build_model,
    max_trials=3,  # was: 10
    # Do not resume the previous search in the same directory.
    overwrite=True,
    objective="val_accuracy",
    # Set a directory to store the intermediate results.
    directory=os.path.join(DIRECTORY, "tb"),  # was: "/tmp/tb"
)

tuner.search(
    x_train,
    y_train,
    validation_split=0.2,
    epochs=2,
    # Use the TensorBoard callback.
    # The logs will be write to "/tmp/tb_logs".
    # was: keras.callbacks.TensorBoard("/tmp/tb_logs")
    callbacks=[keras.callbacks.TensorBoard(os.path.join(DIRECTORY, "tb_logs"))],
)
print("GUIDE_DONE")
