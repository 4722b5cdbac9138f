"""keras-tuner's ``logger=`` (deprecated in 1.4) is called as keras-tuner 1.3 did, and
``search_callbacks=`` adds search callbacks from the constructor, on every kind of tuner."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tuner as kt
from tuner.logger import LoggerCallback, tuner_state


class RecordingLogger:
    """A logger as written for keras-tuner (no base class): records every call it gets."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def register_tuner(self, tuner_state):
        self.calls.append(("register_tuner", tuner_state))

    def register_trial(self, trial_id, trial_state):
        self.calls.append(("register_trial", trial_id, trial_state))

    def report_trial_state(self, trial_id, trial_state):
        self.calls.append(("report_trial_state", trial_id, trial_state))

    def exit(self):
        self.calls.append(("exit",))

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]


class QuadraticTuner(kt.BaseTuner):
    """Framework-free trials reporting two steps each; trial 01 crashes."""

    def run_trial(self, trial, *args, **kwargs):
        x = trial.hyperparameters.Float("x", -1.0, 1.0)
        if trial.trial_id == "01":
            raise ValueError(f"x={x} is out of bounds")
        for step in range(2):
            loss = (x - 0.5) ** 2 + 1 / (step + 1)
            self.oracle.update_trial(trial.trial_id, {"loss": loss}, step)


def _search(tmp_path: Path, logger: Any, max_trials: int = 4, **kwargs: Any) -> QuadraticTuner:
    with pytest.warns(DeprecationWarning, match="logger"):
        search = QuadraticTuner(
            kt.oracles.RandomSearchOracle("loss", max_trials=max_trials, seed=2),
            directory=str(tmp_path),
            project_name="p",
            logger=logger,
            **kwargs,
        )
    return search


def test_the_logger_is_called_as_keras_tuner_1_3_called_it(tmp_path):
    logger = RecordingLogger()
    search = _search(tmp_path, logger)
    assert search.logger is logger
    search.search(verbose=0)

    trials = search.oracle.trials
    assert len(trials) == 4
    names = logger.names()
    assert names[0] == "register_tuner" and names[-1] == "exit"
    assert trials["01"].status == kt.TrialStatus.FAILED
    assert names.count("register_tuner") == 1 and names.count("exit") == 1
    # Each trial: registered, then reported, before the next one begins.
    middle = logger.calls[1:-1]
    assert [c[0] for c in middle] == ["register_trial", "report_trial_state"] * 4
    began = [c[1] for c in middle if c[0] == "register_trial"]
    reported = [c[1] for c in middle if c[0] == "report_trial_state"]
    assert began == reported == sorted(trials)
    for call in middle:  # the id is the state's
        assert call[2]["trial_id"] == call[1]


def test_the_states_are_plain_json_with_keras_tuners_trial_keys(tmp_path):
    logger = RecordingLogger()
    search = _search(tmp_path, logger)
    search.search(verbose=0)

    for call in logger.calls[:-1]:
        state = call[-1]
        assert json.loads(json.dumps(state, allow_nan=False)) == state
    registered = logger.calls[0][1]
    assert registered["project_name"] == "p"
    assert registered["project_dir"] == search.project_dir
    assert registered["tuner_id"] == "tuner0"
    assert registered["oracle"]["class_name"] == "RandomSearchOracle"
    assert registered["oracle"]["objective"] == search.oracle.objective.to_dict()
    assert registered["oracle"]["max_trials"] == 4 and registered["trials"] == 0

    begun = {c[1]: c[2] for c in logger.calls if c[0] == "register_trial"}
    ended = {c[1]: c[2] for c in logger.calls if c[0] == "report_trial_state"}
    for trial_id, trial in search.oracle.trials.items():
        start, end = begun[trial_id], ended[trial_id]
        assert start["status"] == "RUNNING" and start["score"] is None
        # What keras-tuner loggers read: trial_state["hyperparameters"]["values"], ...
        keys = {"trial_id", "hyperparameters", "metrics", "score", "best_step", "status"}
        assert keys <= set(end)
        assert end["hyperparameters"]["values"] == trial.hyperparameters.values
        assert [hp["config"]["name"] for hp in end["hyperparameters"]["space"]] == ["x"]
        # ... reported after the oracle's verdict: final status, score, metric history.
        assert end["status"] == trial.status.value
        assert end["score"] == trial.score and end["best_step"] == trial.best_step
        if trial.status == kt.TrialStatus.COMPLETED:
            steps = [step for step, _ in end["metrics"]["loss"]["observations"]]
            assert steps == [0, 1] and end["message"] is None
        else:
            assert "out of bounds" in end["message"]
    assert any(t.status != kt.TrialStatus.COMPLETED for t in search.oracle.trials.values())


def test_a_resumed_search_registers_the_tuner_again_with_its_trials(tmp_path):
    _search(tmp_path, RecordingLogger(), max_trials=2).search(verbose=0)
    logger = RecordingLogger()
    search = _search(tmp_path, logger, max_trials=3)
    search.search(verbose=0)
    assert logger.calls[0][1]["trials"] == 2
    registered = [c[1] for c in logger.calls if c[0] == "register_trial"]
    assert registered == [sorted(search.oracle.trials)[-1]]  # only the new trial runs


class FailingLogger(RecordingLogger):
    def register_trial(self, trial_id, trial_state):
        super().register_trial(trial_id, trial_state)
        raise ConnectionError("tracking server down")


def test_a_logger_that_raises_is_warned_about_once_and_the_search_goes_on(tmp_path):
    logger = FailingLogger()
    search = _search(tmp_path, logger, max_trials=3)
    with pytest.warns(RuntimeWarning, match="FailingLogger failed in register_trial") as caught:
        search.search(verbose=0)
    assert len([w for w in caught if issubclass(w.category, RuntimeWarning)]) == 1
    assert len(search.oracle.trials) == 3
    assert logger.names().count("register_trial") == 3  # still called after failing
    assert logger.names().count("report_trial_state") == 3 and logger.names()[-1] == "exit"
    callback = next(c for c in search._search_callbacks if isinstance(c, LoggerCallback))
    assert callback.failures == 3


def test_an_object_without_the_logger_methods_is_named_in_the_warning(tmp_path):
    search = _search(tmp_path, object(), max_trials=2)
    with pytest.warns(RuntimeWarning, match="logger object failed in register_tuner"):
        search.search(verbose=0)
    assert len(search.oracle.trials) == 2


def test_a_search_stopped_by_an_error_still_exits_the_logger_once(tmp_path):
    class FatalTuner(kt.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            trial.hyperparameters.Float("x", 0.0, 1.0)
            raise kt.errors.FatalError("stop everything")

    logger = RecordingLogger()
    with pytest.warns(DeprecationWarning):
        search = FatalTuner(
            kt.oracles.RandomSearchOracle("loss", max_trials=3),
            directory=str(tmp_path),
            logger=logger,
        )
    with pytest.raises(kt.errors.FatalError, match="stop everything"):
        search.search(verbose=0)
    assert logger.names() == ["register_tuner", "register_trial", "exit"]


def test_keras_tuner_loggers_subclass_the_engine_logger(tmp_path):
    class PartialLogger(kt.engine.logger.Logger):  # keras-tuner <= 1.3's base class path
        def __init__(self):
            self.reported = []

        def report_trial_state(self, trial_id, trial_state):
            self.reported.append((trial_id, trial_state["status"]))

    logger = PartialLogger()
    search = _search(tmp_path, logger, max_trials=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the base class's no-ops do not fail
        search.search(verbose=0)
    assert [trial_id for trial_id, _ in logger.reported] == sorted(search.oracle.trials)


def test_tuner_state_is_what_register_tuner_gets(tmp_path):
    logger = RecordingLogger()
    search = _search(tmp_path, logger, max_trials=1)
    expected = tuner_state(search)
    search.search(verbose=0)
    assert logger.calls[0][1] == expected


# --- search_callbacks= ---------------------------------------------------------------------------
class EventRecorder(kt.SearchCallback):
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_search_begin(self, tuner):
        self.events.append("search_begin")

    def on_trial_begin(self, tuner, trial):
        self.events.append(f"begin {trial.trial_id}")

    def on_trial_end(self, tuner, trial):
        self.events.append(f"end {trial.trial_id} {trial.status.value}")

    def on_search_end(self, tuner):
        self.events.append("search_end")


def test_search_callbacks_are_added_in_order_after_the_display_and_the_logger(tmp_path):
    first, second = EventRecorder(), EventRecorder()
    logger = RecordingLogger()
    search = _search(tmp_path, logger, max_trials=2, search_callbacks=[first, second])
    callbacks = search._search_callbacks
    assert callbacks[0] is search._display
    assert isinstance(callbacks[1], LoggerCallback) and callbacks[1].logger is logger
    assert callbacks[2:] == [first, second]
    search.search(verbose=0)
    trials = search.oracle.trials
    expected = ["search_begin"]
    for trial_id in sorted(trials):
        expected += [f"begin {trial_id}", f"end {trial_id} {trials[trial_id].status.value}"]
    assert first.events == second.events == [*expected, "search_end"]


def test_search_callbacks_refuses_what_is_not_a_search_callback(tmp_path):
    oracle = kt.oracles.RandomSearchOracle("loss", max_trials=1)
    with pytest.raises(kt.errors.InvalidArgumentError, match=r"search_callbacks\[1\].*callbacks="):
        QuadraticTuner(oracle, directory=str(tmp_path), search_callbacks=[EventRecorder(), 3])
    with pytest.raises(kt.errors.InvalidArgumentError, match="must be a list"):
        QuadraticTuner(oracle, directory=str(tmp_path), search_callbacks="mlflow")
    single = EventRecorder()  # one callback alone is taken as a list of one
    search = QuadraticTuner(oracle, directory=str(tmp_path), search_callbacks=single)
    assert search._search_callbacks[-1] is single


def test_search_callbacks_is_keyword_only():
    import inspect

    parameter = inspect.signature(kt.BaseTuner).parameters["search_callbacks"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.default is None


def _keras_model(hp):
    import keras

    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(hp.Choice("units", [2, 4])), keras.layers.Dense(1)]
    )
    model.compile("adam", "mse", run_eagerly=True)
    return model


@pytest.mark.keras
def test_keras_tuners_take_search_callbacks_and_the_logger(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1)
    recorder, logger = EventRecorder(), RecordingLogger()
    with pytest.warns(DeprecationWarning, match="logger"):
        search = kt.RandomSearch(
            _keras_model,
            objective="val_loss",
            max_trials=2,
            seed=1,
            directory=str(tmp_path),
            logger=logger,
            search_callbacks=[recorder],
        )
    search.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    assert recorder.events[0] == "search_begin" and recorder.events[-1] == "search_end"
    assert len([e for e in recorder.events if e.startswith("end ")]) == 2
    ended = [c for c in logger.calls if c[0] == "report_trial_state"]
    assert [c[2]["status"] for c in ended] == ["COMPLETED", "COMPLETED"]
    assert all("val_loss" in c[2]["metrics"] for c in ended)

    # Hyperband and a Tuner built on an oracle take it the same way.
    hyperband = kt.Hyperband(
        _keras_model, "val_loss", max_epochs=2, directory=str(tmp_path), project_name="hb",
        search_callbacks=[EventRecorder()],
    )  # fmt: skip
    assert isinstance(hyperband._search_callbacks[-1], EventRecorder)


def test_the_sklearn_tuner_takes_search_callbacks(tmp_path):
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    recorder = EventRecorder()
    search = kt.SklearnTuner(
        kt.oracles.RandomSearchOracle(kt.Objective("score", "max"), max_trials=2, seed=0),
        lambda hp: Ridge(alpha=hp.Float("alpha", 0.1, 10.0, sampling="log")),
        cv=2,
        model_format=None,
        directory=str(tmp_path),
        search_callbacks=[recorder],
    )
    search.search(x, y)
    assert [e.split()[-1] for e in recorder.events if e.startswith("end ")] == ["COMPLETED"] * 2
