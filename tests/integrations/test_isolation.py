"""Tuner(trial_isolation="process"): each trial trained in a fresh subprocess."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from tuner import errors
from tuner.execution.shared_arrays import SharedTrainingData
from tuner.integrations.isolation import check_isolation

keras = pytest.importorskip("keras")

import tuner as kt  # noqa: E402
from tuner.trial import TrialStatus  # noqa: E402


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")[:200]
    return x[:150], y[:150].astype("float32"), x[150:], y[150:200].astype("float32")


def build_model(hp):
    model = keras.Sequential(
        [
            keras.Input((30,)),
            keras.layers.Dense(hp.Int("units", 8, 32, step=8), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    # Met only while building: the subprocess asks the search process's oracle for its value.
    learning_rate = hp.Float("lr", 1e-3, 1e-1, sampling="log")
    model.compile(
        keras.optimizers.Adam(learning_rate), "binary_crossentropy", metrics=["accuracy"]
    )
    return model


def _search(tmp_path: Path, isolation: str, data, name: str) -> kt.RandomSearch:
    x_train, y_train, x_val, y_val = data
    search = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=2,
        seed=3,
        directory=str(tmp_path),
        project_name=name,
        trial_isolation=isolation,
    )
    search.search(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=2,
        batch_size=32,
        verbose=0,
        callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=3)],
    )
    return search


@pytest.mark.keras
def test_isolated_trials_give_the_same_search_as_in_process(tmp_path, data):
    isolated = _search(tmp_path, "process", data, "isolated")
    in_process = _search(tmp_path, "none", data, "in_process")

    isolated_trials = [isolated.oracle.trials[i] for i in sorted(isolated.oracle.trials)]
    reference = [in_process.oracle.trials[i] for i in sorted(in_process.oracle.trials)]
    assert [t.status for t in isolated_trials] == [TrialStatus.COMPLETED] * 2
    # Same values (lr was sampled for the subprocess by the search process's oracle) and, as
    # each execution is seeded, the same training and scores.
    assert [t.hyperparameters.values for t in isolated_trials] == [
        t.hyperparameters.values for t in reference
    ]
    assert "lr" in isolated.oracle.hyperparameters
    for ours, theirs in zip(isolated_trials, reference, strict=True):
        assert ours.score == pytest.approx(theirs.score, abs=1e-6)
        assert len(ours.metrics.get_history("val_loss")) == 2  # one report per epoch
        assert (
            Path(isolated.project_dir) / "checkpoints" / ours.trial_id / "weights.npz"
        ).exists()
    best = isolated.get_best_models(1)[0]
    assert best.predict(data[2][:4], verbose=0).shape == (4, 1)


@pytest.mark.keras
def test_failures_in_the_subprocess_keep_their_meaning(tmp_path, data):
    marker = tmp_path / "first_trial_ran"

    def build_failing_model(hp):  # a closure: it reaches the subprocess by value
        hp.Int("units", 8, 32)
        if not marker.exists():
            marker.touch()
            raise kt.errors.FailedTrialError("this configuration is refused")
        os.kill(os.getpid(), signal.SIGKILL)  # a trial process that dies (as if out of memory)

    search = kt.RandomSearch(
        build_failing_model,
        objective="val_accuracy",
        max_trials=2,
        directory=str(tmp_path),
        trial_isolation="process",
    )
    search.search(data[0], data[1], validation_split=0.2, epochs=1, verbose=0)

    refused, died = (search.oracle.trials[i] for i in sorted(search.oracle.trials))
    assert refused.status == TrialStatus.FAILED and not refused.retryable
    assert "this configuration is refused" in refused.message
    assert "build_failing_model" in refused.message  # the subprocess's traceback
    assert died.status == TrialStatus.FAILED
    assert "TrialProcessError" in died.message and "SIGKILL" in died.message


@pytest.mark.keras
def test_unpicklable_fit_arguments_stop_the_search_with_a_clear_error(tmp_path, data):
    search = kt.RandomSearch(
        build_model,
        objective="val_loss",
        max_trials=1,
        directory=str(tmp_path),
        trial_isolation="process",
    )
    batches = (batch for batch in [data[:2]])  # a generator cannot cross a process boundary
    with pytest.raises(errors.FatalValueError, match="cannot be pickled"):
        search.search(batches, epochs=1, verbose=0)


@pytest.mark.keras
def test_an_unpicklable_tuner_setting_is_named(tmp_path, data):
    import contextlib
    import threading

    class UnpicklableStrategy:  # stands for any setting that cannot be pickled
        def __init__(self):
            self.lock = threading.Lock()

        def scope(self):
            return contextlib.nullcontext()

    search = kt.RandomSearch(
        build_model,
        objective="val_loss",
        max_trials=1,
        directory=str(tmp_path),
        distribution_strategy=UnpicklableStrategy(),
        trial_isolation="process",
    )
    with pytest.raises(errors.FatalValueError, match="attribute 'distribution_strategy'"):
        search.search(data[0], data[1], epochs=1, verbose=0)


def test_isolation_mode_is_checked():
    assert check_isolation("process") == "process"
    with pytest.raises(ValueError, match="trial_isolation must be one of"):
        check_isolation("thread")


def test_training_arrays_are_saved_once_and_memory_mapped():
    from tuner.execution.shared_arrays import load_shared

    data = SharedTrainingData()
    x, y = np.arange(12.0).reshape(4, 3), np.arange(4)
    shared = data.share(((x,), {"y": y, "validation_data": (x, y), "epochs": 3}))
    again = data.share(((x,), {"y": y, "validation_data": (x, y), "epochs": 3}))
    assert again == shared  # the same files: nothing written twice
    assert len(os.listdir(data.folder)) == 2
    (loaded_x,), loaded_kwargs = load_shared(shared)
    assert isinstance(loaded_x, np.memmap) and np.array_equal(loaded_x, x)
    assert np.array_equal(loaded_kwargs["validation_data"][1], y)
    assert loaded_kwargs["epochs"] == 3

    data.share(((y,), {}))  # a new search's arguments: x's file is no longer needed
    assert len(os.listdir(data.folder)) == 1
    data.close()
    assert not os.path.exists(data.folder)
