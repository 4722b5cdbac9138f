"""The framework-free search loop, with pure-Python trials."""

from __future__ import annotations

import json
from typing import Any

import pytest

import tuner as kt
from tuner.errors import (
    FailedTrialError,
    FatalValueError,
    ObjectiveNotFoundError,
    ProjectLockedError,
    StorageError,
    TooManyFailedTrialsError,
)
from tuner.trial import TrialStatus


class FunctionTuner(kt.BaseTuner):
    """Runs ``function(hp)`` as the trial."""

    def __init__(self, function, max_trials=6, objective="loss", **kwargs: Any):
        self.function = function
        oracle = kt.oracles.RandomSearchOracle(
            objective=objective,
            max_trials=max_trials,
            seed=kwargs.pop("seed", 0),
            max_retries_per_trial=kwargs.pop("max_retries_per_trial", 0),
            max_consecutive_failed_trials=kwargs.pop("max_consecutive_failed_trials", 3),
        )
        super().__init__(oracle, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        return self.function(trial.hyperparameters)


class FakeHistory:
    """Quacks like keras.callbacks.History."""

    def __init__(self, history):
        self.history = history
        self.epoch = list(range(len(next(iter(history.values())))))


def _tuner(tmp_path, function, **kwargs):
    return FunctionTuner(function, directory=str(tmp_path), project_name="p", **kwargs)


@pytest.mark.parametrize(
    "result",
    [
        lambda x: (x - 3) ** 2,
        lambda x: {"loss": (x - 3) ** 2, "other": 1.0},
        lambda x: FakeHistory({"loss": [99.0, (x - 3) ** 2, 98.0]}),
        lambda x: [{"loss": (x - 3) ** 2 - 1}, {"loss": (x - 3) ** 2 + 1}],
    ],
    ids=["float", "dict", "history", "list"],
)
def test_run_trial_may_return_float_dict_history_or_list(tmp_path, result):
    search = _tuner(tmp_path, lambda hp: result(hp.Int("x", 0, 10)))
    search.search(verbose=0)
    trials = search.oracle.trials.values()
    assert len(trials) == 6 and all(t.status == TrialStatus.COMPLETED for t in trials)
    for trial in trials:
        assert trial.score == pytest.approx((trial.values["x"] - 3) ** 2)
    best = search.oracle.get_best_trials(1)[0]
    assert best.score == min(t.score for t in trials)


def test_history_result_records_the_best_epoch_and_the_curve(tmp_path):
    search = _tuner(
        tmp_path, lambda hp: FakeHistory({"loss": [3.0, 1.0, 2.0], "acc": [0.1, 0.5, 0.9]})
    )
    search.oracle.max_trials = 1
    search.search(verbose=0)
    trial = (
        search.oracle.trials["0"]
        if "0" in search.oracle.trials
        else next(iter(search.oracle.trials.values()))
    )
    assert trial.best_step == 1 and trial.score == 1.0
    assert trial.executions[0]["metrics"] == {"loss": 1.0, "acc": 0.5}
    assert [o.value for o in trial.metrics.get_history("acc")] == [0.1, 0.5, 0.9]


def test_an_exception_fails_the_trial_with_its_traceback_and_the_search_goes_on(tmp_path):
    def function(hp):
        x = hp.Int("x", 0, 10)
        if x % 2:
            raise ValueError(f"odd x={x}")
        return float(x)

    search = _tuner(tmp_path, function, max_trials=8, max_consecutive_failed_trials=8)
    search.search(verbose=0)
    failed = [t for t in search.oracle.trials.values() if t.status == TrialStatus.FAILED]
    completed = [t for t in search.oracle.trials.values() if t.status == TrialStatus.COMPLETED]
    assert failed and completed and len(failed) + len(completed) == 8
    assert all("Traceback" in t.message and "ValueError: odd x=" in t.message for t in failed)
    saved = json.loads((tmp_path / "p" / "trials" / f"{failed[0].trial_id}.json").read_text())
    assert "ValueError: odd x=" in saved["message"] and saved["status"] == "FAILED"


def test_retries_rerun_a_failing_trial_but_not_a_failed_trial_error(tmp_path):
    calls: list[str] = []

    def function(hp):
        calls.append(hp.Choice("kind", ["flaky", "broken"]))
        if calls[-1] == "broken":
            raise FailedTrialError("never works")
        if calls.count("flaky") == 1:
            raise RuntimeError("transient")
        return 1.0

    search = _tuner(tmp_path, function, max_trials=2, max_retries_per_trial=3)
    search.search(verbose=0)
    assert calls.count("broken") == 1  # FailedTrialError: no retry
    assert calls.count("flaky") == 2  # one retry after the transient error
    statuses = {t.values["kind"]: t.status for t in search.oracle.trials.values()}
    assert statuses == {"flaky": TrialStatus.COMPLETED, "broken": TrialStatus.FAILED}


def test_fatal_error_aborts_the_search(tmp_path):
    def function(hp):
        hp.Int("x", 0, 10)
        raise FatalValueError("stop everything")

    search = _tuner(tmp_path, function)
    with pytest.raises(FatalValueError, match="stop everything"):
        search.search(verbose=0)
    assert len(search.oracle.trials) == 1


class _Interrupted(kt.SearchCallback):
    """Records how the search ended; fails on the interruption itself when told to."""

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.events: list[str] = []

    def on_search_end(self, tuner):
        self.events.append("end")

    def on_search_interrupted(self, tuner, error):
        self.events.append(f"interrupted: {error}")
        if self.fail:
            raise RuntimeError("the callback broke too")


def test_a_search_stopped_by_an_error_tells_every_callback_then_raises_it(tmp_path):
    def function(hp):
        hp.Int("x", 0, 10)
        raise FatalValueError("stop everything")

    search = _tuner(tmp_path, function)
    broken, watching = _Interrupted(fail=True), _Interrupted()
    search.add_search_callback(broken)
    search.add_search_callback(watching)
    with (
        pytest.warns(RuntimeWarning, match="_Interrupted failed while the search stopped"),
        pytest.raises(FatalValueError, match="stop everything"),
    ):
        search.search(verbose=0)
    assert broken.events == watching.events == ["interrupted: stop everything"]

    finished = _Interrupted()
    done = _tuner(tmp_path / "done", lambda hp: hp.Int("x", 0, 10) ** 2, max_trials=2)
    done.add_search_callback(finished)
    done.search(verbose=0)
    assert finished.events == ["end"]


def test_too_many_consecutive_failures_show_the_last_traceback(tmp_path):
    def function(hp):
        raise ZeroDivisionError(f"x={hp.Int('x', 0, 100)}")

    search = _tuner(tmp_path, function)
    with pytest.raises(TooManyFailedTrialsError, match="ZeroDivisionError: x="):
        search.search(verbose=0)
    assert len(search.oracle.trials) == 3


def test_missing_objective_lists_logged_metrics(tmp_path):
    search = _tuner(tmp_path, lambda hp: {"val_accuracy": 0.5, "loss": hp.Float("x", 0, 1)},
                    objective="val_loss")  # fmt: skip
    with pytest.raises(ObjectiveNotFoundError, match=r"\['loss', 'val_accuracy'\]"):
        search.search(verbose=0)


def test_a_second_search_on_the_same_project_is_refused(tmp_path):
    seen: list[str] = []

    def function(hp):
        if not seen:
            try:
                _tuner(tmp_path, lambda hp: 1.0)
            except ProjectLockedError as error:
                seen.append(str(error))
        return hp.Float("x", 0, 1)

    _tuner(tmp_path, function, max_trials=1).search(verbose=0)
    assert seen and "in use by another search" in seen[0]


def test_reload_runs_no_new_trial_and_says_so(tmp_path, capsys):
    calls = []
    search = _tuner(tmp_path, lambda hp: calls.append(1) or hp.Float("x", 0, 1), max_trials=3)
    search.search(verbose=0)
    again = _tuner(tmp_path, lambda hp: calls.append(1) or hp.Float("x", 0, 1), max_trials=3)
    assert f"Reloading Tuner from {tmp_path / 'p'}" in capsys.readouterr().out
    again.search(verbose=0)
    assert len(calls) == 3 and again.remaining_trials == 0


def test_overwrite_starts_afresh_but_refuses_a_foreign_folder(tmp_path):
    _tuner(tmp_path, lambda hp: hp.Float("x", 0, 1), max_trials=2).search(verbose=0)
    fresh = _tuner(tmp_path, lambda hp: hp.Float("x", 0, 1), max_trials=2, overwrite=True)
    assert fresh.oracle.trials == {}
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(StorageError, match="does not look like a tuner project"):
        FunctionTuner(lambda hp: 1.0, directory=str(tmp_path), project_name="mine", overwrite=True)
    assert (foreign / "thesis.tex").exists()


def test_summaries_print_what_keras_tuner_prints(tmp_path, capsys):
    search = _tuner(tmp_path, lambda hp: (hp.Int("units", 1, 9) - 4) ** 2 + hp.Float("f", 0, 1))
    search.search(verbose=0)
    search.results_summary(num_trials=2)
    out = capsys.readouterr().out
    best = search.oracle.get_best_trials(2)
    assert out.startswith("Results summary\nResults in ")
    assert "Showing 2 best trials" in out and 'Objective(name="loss", direction="min")' in out
    assert f"Trial {best[0].trial_id} summary" in out and f"Score: {best[0].score}" in out
    assert f"units: {best[0].values['units']}" in out
    assert out.index(f"Trial {best[0].trial_id}") < out.index(f"Trial {best[1].trial_id}")
    search.search_space_summary()
    out = capsys.readouterr().out
    assert "Default search space size: 2" in out and "units (Int)" in out and "f (Float)" in out


def test_display_prints_trials_and_is_silent_with_verbose_0(tmp_path, capsys):
    search = _tuner(tmp_path, lambda hp: hp.Float("x", 0, 1), max_trials=2)
    search.search(verbose=1)
    out = capsys.readouterr().out
    assert "Running Trial #" in out and "Best loss So Far" in out
    quiet = _tuner(tmp_path / "q", lambda hp: hp.Float("x", 0, 1), max_trials=2)
    quiet.search(verbose=0)
    assert capsys.readouterr().out == ""


class DeclaringHyperModel(kt.HyperModel):
    """Declares ``optimizer`` ahead of any build; ``build`` defines ``units``."""

    def __init__(self):
        super().__init__()
        self.builds = 0

    def declare_hyperparameters(self, hp):
        hp.Choice("optimizer", ["adam", "sgd"])

    def build(self, hp):
        self.builds += 1
        return hp.Int("units", 1, 9)

    def fit(self, hp, model, *args, **kwargs):
        return (model - 4) ** 2 + (hp.get("optimizer") == "sgd")


def test_declared_hyperparameters_are_in_the_space_before_any_build(tmp_path, capsys):
    hypermodel = DeclaringHyperModel()
    oracle = kt.oracles.RandomSearchOracle(objective="loss", max_trials=8, seed=3)
    search = kt.BaseTuner(oracle, hypermodel, directory=str(tmp_path), project_name="p")
    assert [hp.name for hp in search.oracle.hyperparameters.space] == ["optimizer"]
    assert hypermodel.builds == 0
    project = json.loads((tmp_path / "p" / "project.json").read_text())
    assert "optimizer" in json.dumps(project)  # persisted with the space

    search.search_space_summary()  # still builds once to find what build defines
    out = capsys.readouterr().out
    assert "optimizer (Choice)" in out and "units (Int)" in out

    search.search(verbose=0)
    tried = {trial.values["optimizer"] for trial in search.oracle.trials.values()}
    assert tried == {"adam", "sgd"}  # tuned, as a hyperparameter build defines would be

    resumed = kt.BaseTuner(
        kt.oracles.RandomSearchOracle(objective="loss", max_trials=8, seed=3),
        DeclaringHyperModel(),
        directory=str(tmp_path),
        project_name="p",
    )
    assert [hp.name for hp in resumed.oracle.hyperparameters.space] == ["optimizer", "units"]


def test_declared_hyperparameters_follow_tune_new_entries(tmp_path):
    oracle = kt.oracles.RandomSearchOracle(
        objective="loss", max_trials=4, seed=3, tune_new_entries=False
    )
    search = kt.BaseTuner(oracle, DeclaringHyperModel(), directory=str(tmp_path))
    assert not search.oracle.hyperparameters.space  # not tuned, as a new entry of build's
