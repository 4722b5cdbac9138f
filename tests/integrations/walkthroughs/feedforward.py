"""keras-tuner's "getting started" walkthrough, verbatim but for the import and the data.

Usage: python feedforward.py DIRECTORY
"""

import sys

import keras
import numpy as np
from keras import layers
from sklearn.datasets import load_digits

import tuner as kt  # was: import keras_tuner as kt

# Data: scikit-learn's 8x8 digits stand in for MNIST (was: keras.datasets.mnist.load_data()).
images, labels = load_digits(return_X_y=True)
x = (images / 16.0).reshape(-1, 8, 8).astype("float32")[:600]
y = keras.utils.to_categorical(labels[:600], 10)


def build_model(hp):
    model = keras.Sequential()
    model.add(layers.Flatten())
    # Tune the number of layers.
    for i in range(hp.Int("num_layers", 1, 5)):
        model.add(
            layers.Dense(
                # Tune number of units separately.
                units=hp.Int("units_" + str(i), min_value=32, max_value=512, step=32),
                activation="relu",
            )
        )
    model.add(layers.Dense(10, activation="softmax"))
    optimizer = hp.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    learning_rate = hp.Float("learning_rate", min_value=1e-4, max_value=1e-2, sampling="log")
    if optimizer == "adam":
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    elif optimizer == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    else:
        optimizer = keras.optimizers.RMSprop(learning_rate=learning_rate)
    model.compile(
        optimizer=optimizer,
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


build_model(kt.HyperParameters())

tuner = kt.RandomSearch(
    hypermodel=build_model,
    objective="val_accuracy",
    max_trials=3,
    executions_per_trial=1,
    overwrite=False,
    directory=sys.argv[1],
    project_name="helloworld",
)
tuner.search_space_summary()
tuner.search(x, y, epochs=2, validation_split=0.2)

# Get the top 3 models.
models = tuner.get_best_models(num_models=3)
best_model = models[0]
best_model.summary()
tuner.results_summary()

best_hps = tuner.get_best_hyperparameters(num_trials=1)[0].values
print("BEST_HPS", best_hps)
loss, accuracy = best_model.evaluate(x[-120:], y[-120:], verbose=0)
print("BEST_MODEL_VAL_ACCURACY", accuracy)
print("BEST_SCORE", tuner.oracle.get_best_trials(1)[0].score)
print("TRIALS", len(tuner.oracle.trials))
print("SHAPE", np.shape(best_model.predict(x[:2], verbose=0)))
