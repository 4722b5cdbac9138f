"""A breast-cancer classifier tuned with random search, verbatim but for the import and the data.

Usage: python breast_cancer.py DIRECTORY
"""

import sys

import keras
from keras.layers import BatchNormalization, Dense, Dropout
from keras.models import Sequential
from keras.optimizers import Adam
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import tuner as kt  # was: import keras_tuner as kt

# Data: scikit-learn's copy (was: pd.read_csv("data.csv") and manual cleaning).
X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train).astype("float32")
X_test = scaler.transform(X_test).astype("float32")


def build_model(hp):
    model = Sequential()
    model.add(keras.Input(shape=(X_train.shape[1],)))
    model.add(
        Dense(
            units=hp.Int("units", min_value=32, max_value=512, step=32),
            activation=hp.Choice("activations", ["relu", "softmax"]),
        )
    )
    model.add(BatchNormalization())
    model.add(Dropout(hp.Choice("dropout_rate", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])))
    for i in range(hp.Int("Layers", 0, 3)):  # noqa: B007 - verbatim from the tutorial
        model.add(
            Dense(
                units=hp.Int("units", min_value=32, max_value=512, step=32),
                activation=hp.Choice("activations", ["relu", "softmax"]),
            )
        )
        model.add(BatchNormalization())
        model.add(Dropout(hp.Choice("dropout_rate", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])))
    model.add(Dense(1, "sigmoid"))
    model.compile(
        optimizer=Adam(hp.Choice("learning_rate", [1e-2, 1e-3, 1e-4])),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


tuner = kt.RandomSearch(
    build_model,
    objective="val_accuracy",
    max_trials=3,
    seed=42,
    directory=sys.argv[1],
    project_name="breast_cancer",
)
tuner.search_space_summary()
tuner.search(
    X_train,
    y_train,
    validation_data=(X_test, y_test),
    epochs=3,
    batch_size=32,
    callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=5)],
)
tuner.results_summary()
best_model = tuner.get_best_models(num_models=1)[0]
print("TEST_ACCURACY", best_model.evaluate(X_test, y_test, verbose=0)[1])
print("BEST_SCORE", tuner.oracle.get_best_trials(1)[0].score)
