"""``max_time``: a search stops starting trials once it has run that long, across resumes."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

import tuner as kt
from tuner.errors import InvalidArgumentError
from tuner.trial import TrialStatus


class Sleeper(kt.BaseTuner):
    """Each trial reports ``epochs`` steps, sleeping ``pause`` seconds per step."""

    def __init__(self, oracle, pause: float, epochs: int = 1, **kwargs):
        self.pause, self.epochs = pause, epochs
        super().__init__(oracle, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        x = trial.hyperparameters.Float("x", 0.0, 1.0)
        for step in range(self.epochs):
            time.sleep(self.pause)
            status = self.oracle.update_trial(trial.trial_id, {"loss": x + 1 / (step + 1)}, step)
            if status == TrialStatus.STOPPED:
                break
        return None  # reported through update_trial


def _search(tmp_path, max_time, pause=0.1, epochs=1, max_trials=100):
    oracle = kt.oracles.RandomSearchOracle(
        objective="loss", max_trials=max_trials, seed=0, max_time=max_time
    )
    return Sleeper(oracle, pause, epochs, directory=str(tmp_path), project_name="p")


def test_no_trial_starts_once_the_budget_is_spent(tmp_path, capsys):
    search = _search(tmp_path, max_time=0.6)
    started = time.monotonic()
    search.search(verbose=0)
    took = time.monotonic() - started
    trials = list(search.oracle.trials.values())
    assert 3 <= len(trials) <= 8  # about 0.6 s of 0.1 s trials, far from max_trials
    assert took < 2.0
    assert all(t.status == TrialStatus.COMPLETED for t in trials)  # a cut one too
    assert all(t.message is None for t in trials[:-1])  # only the last can have been cut
    assert search.oracle.time_budget_spent and search.oracle.seconds_spent >= 0.6
    search.results_summary(1)
    assert "The time budget ended the search" in capsys.readouterr().out


def test_a_running_trial_stops_at_its_next_report_and_is_scored(tmp_path):
    search = _search(tmp_path, max_time=0.35, pause=0.1, epochs=20, max_trials=3)
    search.search(verbose=0)
    (trial,) = search.oracle.trials.values()
    assert trial.status == TrialStatus.COMPLETED and trial.score is not None
    assert trial.message.startswith("Stopped by the time budget")
    assert 3 <= len(trial.metrics.get_history("loss")) <= 6  # not all 20 epochs
    assert search.oracle.get_best_trials()[0].trial_id == trial.trial_id


def test_time_is_counted_across_resumes_and_a_larger_budget_continues(tmp_path):
    first = _search(tmp_path, max_time=0.5)
    first.search(verbose=0)
    count = len(first.oracle.trials)
    state = json.loads((tmp_path / "p" / "oracle.json").read_text())
    assert state["seconds_spent"] >= 0.5
    again = _search(tmp_path, max_time=0.5)  # the same budget: already spent, nothing runs
    again.search(verbose=0)
    assert len(again.oracle.trials) == count
    longer = _search(tmp_path, max_time=timedelta(seconds=1.2))
    longer.search(verbose=0)
    added = len(longer.oracle.trials) - count
    assert 2 <= added <= 9  # about the 0.7 s the larger budget adds
    assert longer.oracle.seconds_spent >= 1.2


def test_a_keras_trial_stops_at_the_end_of_the_epoch_that_spends_the_budget(tmp_path):
    keras = pytest.importorskip("keras")
    import numpy as np

    x = np.random.default_rng(0).random((64, 3)).astype("float32")

    def build_model(hp):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(hp.Int("units", 2, 4))])
        model.compile("sgd", "mse")
        return model

    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(0.2)

    search = kt.RandomSearch(
        build_model,
        objective="loss",
        max_trials=5,
        max_time=1.5,
        directory=str(tmp_path),
        project_name="keras",
        seed=1,
    )
    search.search(x, x[:, :1], epochs=200, callbacks=[Slow()], verbose=0)
    (trial,) = search.oracle.trials.values()
    assert trial.status == TrialStatus.COMPLETED and "time budget" in trial.message
    assert 3 <= len(trial.metrics.get_history("loss")) < 200
    assert search.get_best_models(1)  # its checkpoint is kept


@pytest.mark.parametrize("value", [0, -5, "1h", True])
def test_a_bad_budget_is_refused(value):
    with pytest.raises(InvalidArgumentError, match="max_time must be a positive number"):
        kt.oracles.RandomSearchOracle(objective="loss", max_time=value)
