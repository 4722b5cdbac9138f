"""keras.io guide "Tune hyperparameters in your custom training loop", as a user would paste it.

Source: https://keras.io/guides/keras_tuner/custom_tuner/
(keras-team/keras-io, guides/keras_tuner/custom_tuner.py; authors Tom O'Malley, Haifeng Jin).
Licence: Apache License 2.0.

Usage: python custom_tuner.py DIRECTORY

The guide's code, with its prose dropped (the ``pip install`` shell cell too). Changed:
  (a) import: ``import keras_tuner`` -> ``import tuner as keras_tuner``.
  (b) data: none (the guide already trains on local random data).
  (c) ``directory="results"`` -> ``directory=DIRECTORY`` (the command-line folder).
  (d) time: none (the guide's ``max_trials=2`` and 2-epoch loop are kept).
  (e) Keras 3 spellings (Keras API changes, not tuner ones; keras-tuner 1.4.7 fails on the
      original lines with Keras 3.15 too):
      ``callback.model = model`` -> ``callback.set_model(model)`` (a Keras 3 callback's
      ``model`` is a read-only property), and ``epoch_loss_metric.reset_states()`` ->
      ``reset_state()`` (Keras 3 metrics have no ``reset_states``).
  (f) ``print("GUIDE_DONE")`` at the end marks that the script ran to its end.
Everything else (classes, arguments, overrides, method calls) is the guide's.
"""

# The guide's code as it is written (its import order, redefinitions, idioms):
# ruff: noqa: E402, I001, B905

import sys

DIRECTORY = sys.argv[1]

import tuner as keras_tuner  # was: import keras_tuner
import tensorflow as tf
from tensorflow import keras
import numpy as np


x_train = np.random.rand(1000, 28, 28, 1)
y_train = np.random.randint(0, 10, (1000, 1))
x_val = np.random.rand(1000, 28, 28, 1)
y_val = np.random.randint(0, 10, (1000, 1))


class MyHyperModel(keras_tuner.HyperModel):
    def build(self, hp):
        """Builds a convolutional model."""
        inputs = keras.Input(shape=(28, 28, 1))
        x = keras.layers.Flatten()(inputs)
        x = keras.layers.Dense(units=hp.Choice("units", [32, 64, 128]), activation="relu")(x)
        outputs = keras.layers.Dense(10)(x)
        return keras.Model(inputs=inputs, outputs=outputs)

    def fit(self, hp, model, x, y, validation_data, callbacks=None, **kwargs):
        # Convert the datasets to tf.data.Dataset.
        batch_size = hp.Int("batch_size", 32, 128, step=32, default=64)
        train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(batch_size)
        validation_data = tf.data.Dataset.from_tensor_slices(validation_data).batch(batch_size)

        # Define the optimizer.
        optimizer = keras.optimizers.Adam(
            hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
        )
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        # The metric to track validation loss.
        epoch_loss_metric = keras.metrics.Mean()

        # Function to run the train step.
        @tf.function
        def run_train_step(images, labels):
            with tf.GradientTape() as tape:
                logits = model(images)
                loss = loss_fn(labels, logits)
                # Add any regularization losses.
                if model.losses:
                    loss += tf.math.add_n(model.losses)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))

        # Function to run the validation step.
        @tf.function
        def run_val_step(images, labels):
            logits = model(images)
            loss = loss_fn(labels, logits)
            # Update the metric.
            epoch_loss_metric.update_state(loss)

        # Assign the model to the callbacks.
        for callback in callbacks:
            callback.set_model(model)  # was: callback.model = model; see (e)

        # Record the best validation loss value
        best_epoch_loss = float("inf")

        # The custom training loop.
        for epoch in range(2):
            print(f"Epoch: {epoch}")

            # Iterate the training data to run the training step.
            for images, labels in train_ds:
                run_train_step(images, labels)

            # Iterate the validation data to run the validation step.
            for images, labels in validation_data:
                run_val_step(images, labels)

            # Calling the callbacks after epoch.
            epoch_loss = float(epoch_loss_metric.result().numpy())
            for callback in callbacks:
                # The "my_metric" is the objective passed to the tuner.
                callback.on_epoch_end(epoch, logs={"my_metric": epoch_loss})
            epoch_loss_metric.reset_state()  # was: reset_states(); see (e)

            print(f"Epoch loss: {epoch_loss}")
            best_epoch_loss = min(best_epoch_loss, epoch_loss)

        # Return the evaluation metric value.
        return best_epoch_loss


tuner = keras_tuner.RandomSearch(
    objective=keras_tuner.Objective("my_metric", "min"),
    max_trials=2,
    hypermodel=MyHyperModel(),
    directory=DIRECTORY,  # was: "results"
    project_name="custom_training",
    overwrite=True,
)

tuner.search(x=x_train, y=y_train, validation_data=(x_val, y_val))

best_hps = tuner.get_best_hyperparameters()[0]
print(best_hps.values)

best_model = tuner.get_best_models()[0]
best_model.summary()
print("GUIDE_DONE")
