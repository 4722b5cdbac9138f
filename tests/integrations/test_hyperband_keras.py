"""Hyperband and ASHA with real (tiny) Keras models: budgets, warm starts, checkpoints, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import tuner as kt  # noqa: E402
from tuner.storage import JsonDirStorage  # noqa: E402
from tuner.trial import TrialStatus  # noqa: E402

pytestmark = pytest.mark.keras
REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")[:240]
    y = y.astype("float32")[:240]
    return x[:160], y[:160], x[160:], y[160:]


class RecordingModel(kt.HyperModel):
    """A tiny classifier whose ``fit`` records what each trial started from."""

    #: One record per fit: the trial's values, fit's epochs, and the weights before training.
    fits: ClassVar[list[dict]] = []

    def build(self, hp):
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

    def fit(self, hp, model, *args, **kwargs):
        RecordingModel.fits.append(
            {
                "values": dict(hp.values),
                "epochs": kwargs["epochs"],
                "initial_epoch": kwargs["initial_epoch"],
                "weights": [np.array(w) for w in model.get_weights()],
            }
        )
        return model.fit(*args, **kwargs)


def _checkpoint(project: Path, trial_id: str) -> list[np.ndarray]:
    with np.load(project / "checkpoints" / trial_id / "weights.npz") as archive:
        return [
            archive[f"arr_{i}"] for i in range(sum(n.startswith("arr_") for n in archive.files))
        ]


def test_hyperband_warm_starts_promoted_trials_from_the_parents_checkpoint(data, tmp_path):
    x, y, x_val, y_val = data
    RecordingModel.fits = []
    tuner = kt.Hyperband(
        RecordingModel(),
        objective="val_accuracy",
        max_epochs=3,
        factor=3,
        seed=5,
        directory=tmp_path,
        project_name="hb",
    )
    tuner.search(
        x,
        y,
        validation_data=(x_val, y_val),
        epochs=50,  # overridden by each trial's budget
        callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=5)],
        verbose=0,
    )
    project = tmp_path / "hb"
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
    assert len(trials) == len(RecordingModel.fits) == 6  # 3 x 1 epoch, 1 x 2 more; 2 x 3
    promoted = [t for t in trials if t.budget.parent_trial_id is not None]
    assert len(promoted) == 1
    for trial, fit in zip(trials, RecordingModel.fits, strict=True):
        assert trial.status == TrialStatus.COMPLETED
        assert (fit["epochs"], fit["initial_epoch"]) == (
            trial.values["tuner/epochs"],
            trial.values["tuner/initial_epoch"],
        )
        steps = [o.step for o in trial.metrics.get_history("val_accuracy")]
        assert steps == list(range(trial.budget.initial_epoch, trial.budget.epochs))
        parent_id = fit["values"].get("tuner/trial_id")
        if parent_id is not None:
            # The promoted model starts exactly from its parent's best weights.
            parent_weights = _checkpoint(project, parent_id)
            assert len(parent_weights) == len(fit["weights"])
            for before, saved in zip(fit["weights"], parent_weights, strict=True):
                np.testing.assert_array_equal(before, saved)
        else:  # a new configuration starts from fresh weights, not from anyone's checkpoint
            assert fit["initial_epoch"] == 0
    spent = sum(t.budget.epochs_to_train for t in trials)
    assert spent == tuner.oracle.total_epochs == 3 * 1 + 1 * 2 + 2 * 3
    best = tuner.get_best_models(1)[0]
    assert best.count_params() > 0


def test_keep_top_k_deletes_checkpoints_once_their_bracket_is_done(data, tmp_path):
    x, y, x_val, y_val = data
    parents_present = []

    class Model(RecordingModel):
        def fit(self, hp, model, *args, **kwargs):
            parent = hp.values.get("tuner/trial_id")
            if parent is not None:
                parents_present.append((project / "checkpoints" / parent).is_dir())
            return super().fit(hp, model, *args, **kwargs)

    project = tmp_path / "hb"
    tuner = kt.Hyperband(
        Model(),
        objective="val_accuracy",
        max_epochs=3,
        factor=3,
        seed=7,
        directory=tmp_path,
        project_name="hb",
        keep_top_k=2,
    )
    seen_after_bracket = []

    class Watch(kt.SearchCallback):
        def on_trial_begin(self, search, trial):
            if trial.trial_id == "0004":  # the first trial after the first bracket
                seen_after_bracket.append(sorted(os.listdir(project / "checkpoints")))

    tuner.add_search_callback(Watch())
    tuner.search(x, y, validation_data=(x_val, y_val), verbose=0)
    assert parents_present == [True]  # the parent was kept while its bracket could promote it
    best = [t.trial_id for t in tuner.oracle.get_best_trials(2)]
    assert sorted(os.listdir(project / "checkpoints")) == sorted(best)
    assert len(seen_after_bracket[0]) == 2  # pruned as soon as the first bracket ended
    for model in tuner.get_best_models(2):
        assert model.count_params() > 0


def test_asha_stops_fits_at_rungs_and_continues_paused_trials(data, tmp_path):
    x, y, x_val, y_val = data
    RecordingModel.fits = []
    tuner = kt.AsyncSuccessiveHalving(
        RecordingModel(),
        objective="val_loss",
        max_trials=7,
        max_epochs=3,
        factor=3,
        seed=2,
        directory=tmp_path,
        project_name="asha",
        executions_per_trial=2,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), verbose=0)
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
    assert len(trials) == 7
    stopped = [t for t in trials if t.status == TrialStatus.STOPPED]
    assert stopped, "the first rung stops some trials"
    for trial in stopped:  # the fit ended at the rung: one epoch, one execution
        assert [o.step for o in trial.metrics.get_history("val_loss")] == [
            trial.budget.initial_epoch
        ]
    continued = [t for t in trials if t.budget.parent_trial_id is not None]
    for trial in continued:  # each execution starts from the parent's best weights
        parent_weights = _checkpoint(tmp_path / "asha", trial.budget.parent_trial_id)
        fits = [f for f in RecordingModel.fits if f["values"] == dict(trial.values)]
        assert len(fits) == 2
        for fit in fits:
            for before, saved in zip(fit["weights"], parent_weights, strict=True):
                np.testing.assert_array_equal(before, saved)
    assert all(f["epochs"] == 3 for f in RecordingModel.fits)
    assert tuner.get_best_hyperparameters(1)


RESUME_WORKER = textwrap.dedent(
    """
    import json, os, signal, sys
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    import keras
    import tuner as kt
    from sklearn.datasets import load_breast_cancer

    directory, kill = sys.argv[1], sys.argv[2] == "kill"
    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")[:240]
    y = y.astype("float32")[:240]

    class Model(kt.HyperModel):
        def build(self, hp):
            model = keras.Sequential([
                keras.Input((30,)),
                keras.layers.Dense(hp.Int("units", 4, 32, step=4), activation="relu"),
                keras.layers.Dense(1, activation="sigmoid")])
            model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                          "binary_crossentropy", metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, **kwargs):
            callbacks = list(kwargs.pop("callbacks", []))
            if kill and hp.values.get("tuner/round") == 1:
                # A real crash in the middle of the bracket's promoted trial, after 1 of its
                # 2 epochs has been reported.
                callbacks.append(keras.callbacks.LambdaCallback(
                    on_epoch_end=lambda epoch, logs: os.kill(os.getpid(), signal.SIGKILL)))
            return model.fit(*args, callbacks=callbacks, **kwargs)

    search = kt.Hyperband(Model(), objective="val_accuracy", max_epochs=3, factor=3, seed=11,
                          directory=directory, project_name="hb")
    search.search(x[:160], y[:160], validation_data=(x[160:], y[160:]), verbose=0)
    print("DONE")
    """
)


def _trials(project: Path) -> list[tuple]:
    return [
        (t.trial_id, t.status.value, json.dumps(t.values, sort_keys=True), t.budget.to_dict())
        for t in sorted(JsonDirStorage(project).load_trials(), key=lambda t: t.trial_id)
    ]


@pytest.mark.slow
def test_a_search_killed_mid_bracket_resumes_the_same_bracket(tmp_path):
    worker = tmp_path / "worker.py"
    worker.write_text(RESUME_WORKER)

    def run(directory: Path, mode: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(worker), str(directory), mode],
            capture_output=True, text=True, env=ENV, timeout=300, cwd=REPO,
        )  # fmt: skip

    reference = run(tmp_path / "reference", "run")
    assert reference.returncode == 0, reference.stderr[-3000:]
    killed = run(tmp_path / "killed", "kill")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    project = tmp_path / "killed" / "hb"
    before = _trials(project)
    assert [status for _, status, _, _ in before] == ["COMPLETED"] * 3 + ["RUNNING"]
    state = json.loads((project / "oracle.json").read_text())
    assert [b["rounds"] for b in state["brackets"]] == [[["0000", "0001", "0002"], ["0003"]]]

    resumed = run(tmp_path / "killed", "run")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = _trials(project)
    assert after[:3] == before[:3]  # finished trials are kept, not run again
    assert after[3][2:] == before[3][2:]  # the same promotion: same values, parent and budget
    # The whole search is the uninterrupted one: same trials, promotions and epochs.
    assert after == _trials(tmp_path / "reference" / "hb")
