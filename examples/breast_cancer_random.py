"""Breast cancer: random search with EarlyStopping and TensorBoard, then a test-set report.

The seed workflow: a dense network with batch normalization and dropout, whose width,
activation, dropout rate, extra layers and learning rate are tuned by random search; each
trial's training curves go to TensorBoard. The best model is then judged on a test split it
never saw: confusion matrix and ROC AUC.

    python examples/breast_cancer_random.py            # full settings
    python examples/breast_cancer_random.py --quick    # 2 trials of 1 epoch
    tensorboard --logdir runs/breast_cancer_random/tensorboard

Full settings: 5 trials (as the seed) of up to 50 epochs with EarlyStopping (val_loss,
patience 5), batch size 32, validated on 20% of the training split (the seed validated on
its test split; here the test split stays unseen until the end). The seed reported a best
validation accuracy of 0.982. Measured (seed 42, two busy CPU cores, about 3 minutes): best
validation accuracy 1.000 (on 91 validation rows; 416 relu units, 3 layers, dropout 0.2,
Adam at 1e-4), and on the 114-row test split: accuracy 0.965, ROC AUC 0.995, confusion
matrix [[40 2] [2 70]].

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
from sklearn.metrics import confusion_matrix, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import tuner as kt

FULL = {"trials": 5, "epochs": 50}
QUICK = {"trials": 2, "epochs": 1}
DROPOUT_RATES = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]


def build_model(hp: kt.HyperParameters) -> keras.Model:
    """Dense + batch normalization + dropout blocks; the seed's search space."""
    units = hp.Int("units", min_value=32, max_value=512, step=32)
    activation = hp.Choice("activation", ["relu", "softmax"])
    dropout = hp.Choice("dropout_rate", DROPOUT_RATES)
    model = keras.Sequential([keras.Input((30,))])
    for _ in range(1 + hp.Int("extra_layers", 0, 3)):
        model.add(keras.layers.Dense(units, activation=activation))
        model.add(keras.layers.BatchNormalization())
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-2, 1e-3, 1e-4])),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 trials, 1 epoch")
    parser.add_argument("--directory", default="runs", help="parent of the project directory")
    parser.add_argument("--overwrite", action="store_true", help="start the search afresh")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=42
    )
    scaler = StandardScaler().fit(x_train)
    x_train = scaler.transform(x_train).astype("float32")
    x_test = scaler.transform(x_test).astype("float32")

    tuner = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=settings["trials"],
        seed=42,
        directory=args.directory,
        project_name="breast_cancer_random" + ("_quick" if args.quick else ""),
        overwrite=args.overwrite,
    )
    log_dir = Path(tuner.project_dir) / "tensorboard"  # one sub-folder per trial
    tuner.search(
        x_train,
        y_train,
        epochs=settings["epochs"],
        batch_size=32,
        validation_split=0.2,
        callbacks=[
            keras.callbacks.EarlyStopping("val_loss", patience=5),
            keras.callbacks.TensorBoard(log_dir=str(log_dir)),
        ],
        verbose=0,
    )
    tuner.results_summary(num_trials=3)

    best_model = tuner.get_best_models(1)[0]
    probabilities = best_model.predict(x_test, verbose=0).ravel()
    predictions = (probabilities >= 0.5).astype(int)
    matrix = confusion_matrix(y_test, predictions)  # rows: truth; columns: prediction
    print("\nTest split, best model (0 = malignant, 1 = benign):")
    print("confusion matrix [[TN FP] [FN TP]]:")
    print(matrix)
    print(f"accuracy: {(predictions == y_test).mean():.4f}")
    print(f"ROC AUC: {roc_auc_score(y_test, probabilities):.4f}")
    print(f"TensorBoard: tensorboard --logdir {log_dir}")


if __name__ == "__main__":
    main()
