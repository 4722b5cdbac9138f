"""Execution records, the scoring rule, the message codecs, and which attributes travel."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import tuner as kt
from tuner import errors
from tuner.execution import messages
from tuner.execution.records import (
    CrossValidationResults,
    ExecutionRecord,
    normalize_result,
)
from tuner.execution.scoring import mean_metrics, score_trial
from tuner.execution.shipping import shipped_state, undeclared_attributes
from tuner.hyperparameters import HyperParameters
from tuner.objective import MultiObjective, Objective
from tuner.trial import Trial, TrialStatus

LOSS = Objective("val_loss", "min")


class _History:
    """What ``keras.Model.fit`` returns, as far as the loop reads it."""

    def __init__(self, history: dict, epoch: list[int] | None = None):
        self.history = history
        self.epoch = epoch if epoch is not None else list(range(len(next(iter(history.values())))))


# --- records -------------------------------------------------------------------------------------
def test_a_record_reads_as_its_json_form_and_round_trips():
    metrics = {"val_loss": math.nan, "acc": 0.5}
    record = ExecutionRecord.scored(metrics, LOSS, 4, fold=1, execution=0)
    assert record["metrics"]["acc"] == 0.5 and record.get("fold") == 1 and len(record) == 5
    text = json.dumps(record.to_dict(), allow_nan=False)  # strict JSON: NaN as a string
    back = ExecutionRecord.of(json.loads(text))
    assert math.isnan(back.metrics["val_loss"]) and math.isnan(back.score)
    assert (back.best_step, back.fold, back.execution) == (4, 1, 0)


def test_a_record_keeps_the_entries_it_does_not_know():
    record = ExecutionRecord.of({"metrics": {"loss": 1.0}, "seed": 7})
    assert record.extra == {"seed": 7} and record.to_dict()["seed"] == 7


def test_a_record_without_metrics_is_refused_by_name():
    with pytest.raises(errors.FatalTypeError, match="'metrics'"):
        ExecutionRecord.of({"loss": 1.0})


def test_a_trial_turns_assigned_dicts_into_records():
    trial = Trial(HyperParameters(), trial_id="0")
    trial.executions = [
        {"metrics": {"loss": 2.0}, "fold": 1},
        {"metrics": {"loss": 1.0}, "fold": 0},
    ]
    assert all(isinstance(r, ExecutionRecord) for r in trial.executions)
    assert [r.fold for r in trial.executions] == [0, 1]  # folds in order


# --- normalize_result ----------------------------------------------------------------------------
def test_a_history_gives_its_best_epoch_and_every_step():
    history = _History({"val_loss": [0.9, 0.4, 0.6], "loss": [1.0, 0.8, 0.7]}, epoch=[3, 4, 5])
    normalized = normalize_result(history, LOSS)
    [record] = normalized.records
    assert (record.best_step, record.score, record.metrics["loss"]) == (4, 0.4, 0.8)
    assert [step for step, _ in normalized.steps[0]] == [3, 4, 5]


def test_a_diverged_epoch_is_never_the_best():
    record = normalize_result(_History({"val_loss": [0.5, math.nan, 0.7]}), LOSS).records[0]
    assert record.best_step == 0


def test_numbers_dicts_and_lists_are_executions():
    assert normalize_result(0.3, LOSS).records[0].metrics == {"val_loss": 0.3}
    listed = normalize_result([{"val_loss": np.float32(1.0)}, {"val_loss": 3.0}], LOSS)
    assert [r.score for r in listed.records] == [1.0, 3.0]
    assert normalize_result(None, LOSS).reported_itself


def test_shapes_it_does_not_know_are_refused():
    with pytest.raises(errors.FatalTypeError, match="must return a number"):
        normalize_result("0.3", LOSS)
    both = MultiObjective((LOSS, Objective("acc", "max")))
    with pytest.raises(errors.FatalTypeError, match="several objectives"):
        normalize_result(0.3, both)
    with pytest.raises(errors.FatalValueError, match="no epochs"):
        normalize_result(_History({"val_loss": []}, epoch=[]), LOSS)


# --- the scoring rule ----------------------------------------------------------------------------
def test_folds_are_averaged_over_their_executions_first():
    records = [
        ExecutionRecord({"val_loss": 1.0}, 2, fold=0, execution=0),
        ExecutionRecord({"val_loss": 3.0}, 2, fold=0, execution=1),
        ExecutionRecord({"val_loss": 6.0}, 5, fold=1, execution=0),
    ]
    assert mean_metrics(records) == {"val_loss": 4.0}  # (2 + 6) / 2, not 10 / 3
    trial = Trial(HyperParameters(), trial_id="0", executions=records)
    score_trial(LOSS, trial)
    assert (trial.score, trial.best_step) == (4.0, 2)


def test_without_records_the_best_reported_value_is_the_score():
    trial = Trial(HyperParameters(), trial_id="0")
    for step, value in enumerate([0.8, 0.2, 0.5]):
        trial.metrics.register("val_loss", "min")
        trial.metrics.update("val_loss", value, step)
    score_trial(LOSS, trial)
    assert (trial.score, trial.best_step, trial.status) == (0.2, 1, TrialStatus.RUNNING)


def test_a_missing_objective_is_named():
    trial = Trial(HyperParameters(), trial_id="7")
    trial.metrics.update("acc", 0.5)
    with pytest.raises(errors.ObjectiveNotFoundError, match=r"trial 7 logged only \['acc'\]"):
        score_trial(LOSS, trial)


# --- messages ------------------------------------------------------------------------------------
def test_errors_come_back_as_their_own_class():
    try:
        raise errors.TooManyFailedTrialsError("three in a row")
    except errors.TunerError as error:
        reply = messages.error_reply(error)
    json.dumps(reply)  # plain JSON
    with pytest.raises(errors.TooManyFailedTrialsError, match="three in a row"):
        messages.result_of(reply)
    try:
        raise KeyError("0042")
    except KeyError as error:
        reply = messages.error_reply(error)
    with pytest.raises(KeyError):
        messages.result_of(reply)


def test_an_unknown_call_is_refused():
    with pytest.raises(ValueError, match="Unknown oracle call 'fly'"):
        messages.request("fly")


def test_the_service_answers_every_call_of_the_message_format_and_no_other():
    from tuner.execution.service import OracleService

    service = OracleService(kt.oracles.RandomSearchOracle(objective="loss", max_trials=1, seed=0))
    for call in messages.CALLS:
        # Without its arguments a call may fail, but never as an unknown one.
        reply = service.handle({"call": call, "arguments": {}})
        assert "Unknown oracle call" not in json.dumps(reply), call
    unknown = service.handle({"call": "fly", "arguments": {}})
    with pytest.raises(ValueError, match="Unknown oracle call 'fly'"):
        messages.result_of(unknown)


def test_results_survive_the_trip_to_a_parent_process():
    history = _History({"val_loss": [np.float32(0.5), 0.25]})
    folds = CrossValidationResults([ExecutionRecord({"val_loss": 1.0}, 0, 1.0, fold=0)])
    for result in ([history, {"val_loss": 1.0}], 0.5, None, folds):
        encoded = json.loads(json.dumps(messages.encode_result(result)))
        back = normalize_result(messages.decode_result(encoded), LOSS)
        assert back == normalize_result(result, LOSS)


# --- shipping ------------------------------------------------------------------------------------
def _build(hp):
    import keras

    return keras.Sequential([keras.layers.Dense(hp.Int("units", 1, 4))])


@pytest.mark.parametrize(
    "make",
    [
        lambda d: kt.RandomSearch(_build, objective="loss", max_trials=1, directory=d),
        lambda d: kt.GridSearch(_build, objective="loss", directory=d),
        lambda d: kt.Hyperband(_build, objective="loss", max_epochs=2, directory=d),
        lambda d: kt.BayesianOptimization(_build, objective="loss", max_trials=1, directory=d),
        lambda d: kt.Tuner(kt.oracles.RandomSearchOracle("loss"), _build, directory=d, cv=2),
    ],
    ids=["random", "grid", "hyperband", "bayesian", "tuner-cv"],
)
def test_every_attribute_of_the_librarys_tuners_declares_where_it_travels(make, tmp_path):
    tuner = make(str(tmp_path))
    assert undeclared_attributes(tuner) == []
    to_trial, to_loop = shipped_state(tuner, "trial"), shipped_state(tuner, "loop")
    assert "oracle" not in to_trial and "_storage" not in to_loop and "_trial_data" not in to_loop
    assert "_display" in to_loop and "_display" not in to_trial
    assert to_trial["hypermodel"] is tuner.hypermodel


def test_a_users_own_attributes_travel_everywhere(tmp_path):
    class MyTuner(kt.BaseTuner):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.noise = 0.1

        def run_trial(self, trial, *args, **kwargs):
            return 0.0

    tuner = MyTuner(kt.oracles.RandomSearchOracle(max_trials=1), directory=str(tmp_path))
    assert undeclared_attributes(tuner) == ["noise"]
    assert shipped_state(tuner, "trial")["noise"] == 0.1
