"""The Keras Tuner with real (tiny) Keras models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import tuner as kt  # noqa: E402
from tuner.trial import TrialStatus  # noqa: E402

pytestmark = pytest.mark.keras
WALKTHROUGHS = Path(__file__).parent / "walkthroughs"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")[:240]
    y = y.astype("float32")[:240]
    return x[:160], y[:160], x[160:], y[160:]


def build_model(hp):
    model = keras.Sequential(
        [
            keras.Input((30,)),
            keras.layers.Dense(hp.Int("units", 8, 32, step=8), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
        "binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _run(script: str, directory: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(WALKTHROUGHS / script), str(directory)],
        capture_output=True, text=True, env=ENV, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def _value(output: str, key: str) -> str:
    return next(
        line.split(" ", 1)[1] for line in output.splitlines() if line.startswith(key + " ")
    )


def test_walkthrough_feedforward_runs_verbatim_and_reloads(tmp_path):
    first = _run("feedforward.py", tmp_path)
    assert "Search space summary" in first and "num_layers (Int)" in first
    assert "Results summary" in first and "Score:" in first
    assert _value(first, "TRIALS") == "3" and _value(first, "SHAPE") == "(2, 10)"
    hps = _value(first, "BEST_HPS")
    assert "num_layers" in hps and "learning_rate" in hps and "optimizer" in hps

    second = _run("feedforward.py", tmp_path)
    assert f"Reloading Tuner from {tmp_path / 'helloworld'}" in second
    assert "Running Trial" not in second  # no new trial
    assert _value(second, "TRIALS") == "3" and _value(second, "BEST_HPS") == hps
    trial_files = sorted((tmp_path / "helloworld" / "trials").glob("*.json"))
    assert len(trial_files) == 3


def test_walkthrough_breast_cancer_runs_verbatim(tmp_path):
    output = _run("breast_cancer.py", tmp_path)
    summary = output[output.index("Search space summary") :]
    for name in ("units (Int)", "activations (Choice)", "dropout_rate (Choice)", "Layers (Int)"):
        assert name in summary
    assert "Results summary" in output and 'Objective(name="val_accuracy"' in output
    for name in ("units:", "activations:", "dropout_rate:", "Layers:", "learning_rate:"):
        assert name in output[output.index("Results summary") :]
    # The best model is rebuilt with its best epoch's weights: it scores what the trial scored.
    assert float(_value(output, "TEST_ACCURACY")) == pytest.approx(
        float(_value(output, "BEST_SCORE"))
    )


def test_best_models_hold_the_best_epoch_weights(tmp_path, data):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=3, seed=3,
                            directory=str(tmp_path), project_name="p")  # fmt: skip
    tuner.search(x, y, validation_data=(xv, yv), epochs=3, verbose=0)
    best_trials = tuner.oracle.get_best_trials(3)
    models = tuner.get_best_models(num_models=3)
    assert len(models) == 3
    for trial, model in zip(best_trials, models, strict=True):
        val_loss = model.evaluate(xv, yv, verbose=0)[0]
        assert val_loss == pytest.approx(trial.score, rel=1e-4)
        assert trial.best_step in (0, 1, 2)
    checkpoints = list((tmp_path / "p" / "checkpoints").glob("*/weights.npz"))
    assert len(checkpoints) == 3  # one file per trial, written once


def test_same_seed_gives_the_same_search(tmp_path, data):
    x, y, xv, yv = data
    runs = []
    for name in ("a", "b"):
        tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=2, seed=11,
                                directory=str(tmp_path), project_name=name)  # fmt: skip
        tuner.search(x, y, validation_data=(xv, yv), epochs=2, verbose=0)
        runs.append([(t.values, t.score) for t in tuner.oracle.trials.values()])
    assert [v for v, _ in runs[0]] == [v for v, _ in runs[1]]
    np.testing.assert_allclose([s for _, s in runs[0]], [s for _, s in runs[1]], rtol=1e-5)


def test_executions_are_averaged_and_kept(tmp_path, data):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=1, seed=1,
                            executions_per_trial=2, directory=str(tmp_path))  # fmt: skip
    tuner.search(x, y, validation_data=(xv, yv), epochs=2, verbose=0)
    trial = next(iter(tuner.oracle.trials.values()))
    assert len(trial.executions) == 2
    scores = [e["score"] for e in trial.executions]
    assert trial.score == pytest.approx(np.mean(scores))
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(trial.executions[0]["metrics"])


def test_hypermodel_fit_tunes_fit_arguments_and_callbacks_are_copied(tmp_path, data):
    x, y, xv, yv = data
    seen_batch_sizes = []

    class Model(kt.HyperModel):
        def build(self, hp):
            return build_model(hp)

        def fit(self, hp, model, *args, **kwargs):
            batch_size = hp.Choice("batch_size", [16, 64])
            seen_batch_sizes.append(batch_size)
            return model.fit(*args, batch_size=batch_size, **kwargs)

    stopper = keras.callbacks.EarlyStopping("val_loss", patience=1)
    tuner = kt.RandomSearch(Model(), objective="val_loss", max_trials=3, seed=5,
                            directory=str(tmp_path))  # fmt: skip
    tuner.search(x, y, validation_data=(xv, yv), epochs=2, callbacks=[stopper], verbose=0)
    values = [t.values["batch_size"] for t in tuner.oracle.trials.values()]
    assert values == seen_batch_sizes and set(values) <= {16, 64}
    assert stopper.model is None  # the user's instance was copied, never used


def test_compile_overrides_and_uncompiled_models(tmp_path, data):
    x, y, xv, yv = data

    def build_uncompiled(hp):
        return keras.Sequential([keras.Input((30,)), keras.layers.Dense(hp.Int("u", 2, 4)),
                                 keras.layers.Dense(1, activation="sigmoid")])  # fmt: skip

    tuner = kt.RandomSearch(build_uncompiled, objective="val_auc", max_trials=1,
                            optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                            metrics=[keras.metrics.AUC(name="auc")],
                            directory=str(tmp_path))  # fmt: skip
    tuner.search(x, y, validation_data=(xv, yv), epochs=1, verbose=0)
    trial = next(iter(tuner.oracle.trials.values()))
    assert trial.status == TrialStatus.COMPLETED and 0 <= trial.score <= 1


def test_oversized_models_fail_their_trial_and_the_search_goes_on(tmp_path, data):
    x, y, xv, yv = data
    limit = 30 * 16 + 16 + 17  # the parameters of units=16
    tuner = kt.GridSearch(build_model, objective="val_loss", max_model_size=limit,
                          hyperparameters=_fixed_lr(), directory=str(tmp_path))  # fmt: skip
    tuner.search(x, y, validation_data=(xv, yv), epochs=1, verbose=0)
    statuses = {t.values["units"]: t.status for t in tuner.oracle.trials.values()}
    # As in keras-tuner: FAILED (two in a row stay under max_consecutive_failed_trials=3).
    assert statuses == {8: "COMPLETED", 16: "COMPLETED", 24: "FAILED", 32: "FAILED"}
    failed = next(t for t in tuner.oracle.trials.values() if t.values["units"] == 24)
    assert f"Oversized model: {30 * 24 + 24 + 25} parameters" in failed.message
    assert f"max_model_size={limit}" in failed.message


def _fixed_lr():
    hp = kt.HyperParameters()
    hp.Fixed("lr", 0.01)
    return hp


def test_build_errors_fail_the_trial_and_nan_is_never_best(tmp_path, data):
    x, y, xv, yv = data

    def flaky_build(hp):
        units = hp.Int("units", 8, 32, step=8)
        if units == 16:
            raise ValueError("units=16 is broken")
        model = build_model(hp)
        if units == 24:  # a model whose loss is NaN
            model.compile("adam", lambda yt, yp: keras.ops.log(yp - 2.0), metrics=["accuracy"])
        return model

    tuner = kt.GridSearch(flaky_build, objective="val_loss", hyperparameters=_fixed_lr(),
                          max_consecutive_failed_trials=5, directory=str(tmp_path))  # fmt: skip
    tuner.search(x, y, validation_data=(xv, yv), epochs=1, verbose=0)
    trials = {t.values["units"]: t for t in tuner.oracle.trials.values()}
    assert trials[16].status == "FAILED" and "units=16 is broken" in trials[16].message
    assert trials[24].status == "FAILED" and "nan" in trials[24].message.lower()
    assert {t.values["units"] for t in tuner.oracle.get_best_trials(4)} == {8, 32}
    stored = json.loads(
        (tmp_path / "untitled_project" / "trials" / f"{trials[16].trial_id}.json").read_text()
    )
    assert "Traceback" in stored["message"]


def test_tensorboard_callback_gets_a_folder_per_trial_and_execution(tmp_path, data):
    x, y, xv, yv = data
    logs = tmp_path / "logs"
    tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=2, seed=1,
                            directory=str(tmp_path))  # fmt: skip
    tuner.search(x, y, validation_data=(xv, yv), epochs=1, verbose=0,
                 callbacks=[keras.callbacks.TensorBoard(log_dir=str(logs))])  # fmt: skip
    for trial_id in tuner.oracle.trials:
        assert (logs / trial_id / "execution0").is_dir()


@pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode != 0,
    reason="torch is not installed (pip install torch==2.13.0)",
)
def test_torch_backend_smoke(tmp_path):
    code = f"""
import numpy as np, keras, tuner as kt
assert keras.backend.backend() == "torch"
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32"); y = (x[:, 0] > 0).astype("float32")
def build(hp):
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("u", 2, 8)),
                          keras.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return m
t = kt.RandomSearch(build, objective="val_accuracy", max_trials=2, seed=0,
                    directory={str(tmp_path)!r})
t.search(x, y, validation_split=0.25, epochs=1, verbose=0)
model = t.get_best_models(1)[0]
print("OK", len(t.oracle.trials), model.predict(x[:3], verbose=0).shape)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**ENV, "KERAS_BACKEND": "torch"}, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK 2 (3, 1)" in result.stdout
