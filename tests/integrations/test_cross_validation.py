"""Cross-validation as an objective: splits, real per-fold metrics, statistics and resume."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    RepeatedKFold,
    StratifiedKFold,
)

from tuner import errors
from tuner.hyperparameters import HyperParameters
from tuner.integrations import cross_validation
from tuner.oracles.random import RandomSearchOracle
from tuner.trial import FoldStatistics, Trial, TrialStatus

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
REPO = Path(__file__).resolve().parents[2]


def _assert_disjoint_and_covering(folds, n_samples, repeats=1):
    held_out = np.concatenate([part for _, part in folds])
    assert sorted(held_out.tolist()) == sorted(list(range(n_samples)) * repeats)
    for train, part in folds:
        assert not set(train.tolist()) & set(part.tolist())
        assert sorted([*train.tolist(), *part.tolist()]) == list(range(n_samples))


# --- splits ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cv", "repeats"),
    [(5, 1), (KFold(4), 1), (StratifiedKFold(3), 1), (RepeatedKFold(n_splits=3, n_repeats=2), 2)],
)
def test_splits_are_disjoint_and_cover_the_data(cv, repeats):
    y = np.array([0, 1, 1, 0, 1, 2] * 10)
    folds = cross_validation.split_indices(cv, n_samples=60, y=y, seed=7)
    _assert_disjoint_and_covering(folds, 60, repeats)


def test_group_splits_keep_groups_together_and_need_groups():
    groups = np.repeat(np.arange(6), 5)
    folds = cross_validation.split_indices(GroupKFold(3), 30, y=None, groups=groups, seed=0)
    _assert_disjoint_and_covering(folds, 30)
    for train, held_out in folds:
        assert not set(groups[train]) & set(groups[held_out])
    with pytest.raises(errors.FatalValueError, match="groups"):
        cross_validation.split_indices(GroupKFold(3), 30, y=None, groups=None, seed=0)


def test_an_int_stratifies_classes_and_not_regression_targets():
    classes = np.array([0] * 80 + [1] * 20)
    splitter = cross_validation.resolve_splitter(5, classes, seed=3)
    assert isinstance(splitter, StratifiedKFold) and splitter.shuffle
    assert splitter.random_state == 3
    for _, held_out in cross_validation.split_indices(5, 100, classes, seed=3):
        assert classes[held_out].sum() == 4  # each fold keeps the 20% positive rate
    one_hot = np.eye(3, dtype="float32")[np.arange(90) % 3]
    assert isinstance(cross_validation.resolve_splitter(3, one_hot, 0), StratifiedKFold)
    continuous = np.linspace(0.0, 1.0, 100)
    assert isinstance(cross_validation.resolve_splitter(5, continuous, 0), KFold)
    integral_regression = np.arange(100.0)  # looks like 100 classes of one member
    assert not isinstance(
        cross_validation.resolve_splitter(5, integral_regression, 0), StratifiedKFold
    )


def test_folds_depend_only_on_the_seed_and_unseeded_splitters_get_it():
    first = cross_validation.split_indices(4, 40, np.arange(40.0), seed=11)
    again = cross_validation.split_indices(4, 40, np.arange(40.0), seed=11)
    other = cross_validation.split_indices(4, 40, np.arange(40.0), seed=12)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, other, strict=True))
    user_splitter = KFold(4, shuffle=True)
    seeded = cross_validation.resolve_splitter(user_splitter, None, seed=5)
    assert seeded.random_state == 5 and user_splitter.random_state is None


def test_bad_cv_arguments_are_refused_early():
    for bad in (1, 0, True, "five", KFold):
        with pytest.raises(ValueError, match="cv must be"):
            cross_validation.check_cv(bad)
    cross_validation.check_cv(KFold(3))


def test_missing_scikit_learn_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.model_selection", None)  # as if not installed
    with pytest.raises(errors.MissingDependencyError, match="pip install"):
        cross_validation.check_cv(5)


# --- cutting fit() arguments into folds -------------------------------------------------------
def test_fit_arguments_keep_their_form_and_every_structure_is_cut():
    import pandas as pd

    x = {"a": np.arange(10.0).reshape(10, 1), "b": pd.DataFrame({"c": np.arange(10)})}
    y = [np.arange(10), np.arange(10) * 2]
    weights = np.linspace(0.1, 1.0, 10)
    data = cross_validation.FoldableFitArguments.from_fit_arguments(
        (x,), {"y": y, "sample_weight": weights, "epochs": 3}
    )
    train, held_out = np.array([0, 2, 4, 6, 8]), np.array([1, 3, 5, 7, 9])
    args, kwargs = data.for_fold(train, held_out)
    assert len(args) == 1 and args[0]["b"]["c"].tolist() == [0, 2, 4, 6, 8]
    assert kwargs["y"][1].tolist() == [0, 4, 8, 12, 16] and kwargs["epochs"] == 3
    assert kwargs["sample_weight"].tolist() == weights[train].tolist()
    x_val, y_val, w_val = kwargs["validation_data"]
    assert x_val["a"].ravel().tolist() == [1, 3, 5, 7, 9] and y_val[0].tolist() == [1, 3, 5, 7, 9]
    assert w_val.tolist() == weights[held_out].tolist()


@pytest.mark.parametrize(
    ("kwargs", "culprit"),
    [
        ({"validation_data": (np.zeros(4), np.zeros(4))}, "validation_data"),
        ({"validation_split": 0.2}, "validation_split"),
        ({"y": np.zeros(3)}, "y has 3 rows"),
    ],
)
def test_fit_arguments_that_cannot_be_cross_validated_are_named(kwargs, culprit):
    with pytest.raises(errors.FatalValueError, match=culprit):
        cross_validation.FoldableFitArguments.from_fit_arguments((np.zeros((4, 2)),), kwargs)


def test_a_dataset_that_cannot_be_split_is_named():
    with pytest.raises(
        errors.FatalValueError, match="x is a list_iterator, which cannot be split"
    ):
        cross_validation.FoldableFitArguments.from_fit_arguments((iter([1, 2]),), {"y": None})


# --- records and statistics (pure Python) -----------------------------------------------------
def test_fold_statistics_average_executions_within_a_fold_then_over_folds():
    trial = Trial("00", HyperParameters())
    values = {(0, 0): 4.0, (0, 1): 6.0, (1, 0): 9.0, (1, 1): 11.0, (2, 0): 2.0, (2, 1): 2.0}
    trial.executions = [
        {"metrics": {"val_mae": v}, "best_step": 1, "score": v, "fold": f, "execution": e}
        for (f, e), v in values.items()
    ]
    statistic = trial.fold_statistics()["val_mae"]
    assert statistic.values == (5.0, 10.0, 2.0)
    assert statistic.mean == pytest.approx(np.mean([5.0, 10.0, 2.0]))
    assert statistic.std == pytest.approx(np.std([5.0, 10.0, 2.0]))
    assert statistic.describe("val_mae") == "val_mae 5.67 ± 3.30 over 3 folds"
    assert FoldStatistics((6.27 - 1.8, 6.27 + 1.8)).describe("val_mae") == (
        "val_mae 6.27 ± 1.80 over 2 folds"
    )
    trial.score = statistic.mean
    assert "val_mae 5.67 ± 3.30 over 3 folds" in trial.summary_text()
    assert "Score std over" not in trial.summary_text()
    assert Trial("01", HyperParameters()).fold_statistics() == {}


def test_a_diverged_fold_round_trips_through_strict_json():
    trial = Trial("00", HyperParameters())
    trial.executions = [{"metrics": {"loss": math.nan}, "best_step": 0, "score": math.nan}]
    text = json.dumps(trial.to_dict(), allow_nan=False)
    back = Trial.from_dict(json.loads(text))
    assert math.isnan(back.executions[0]["metrics"]["loss"])
    assert math.isnan(back.executions[0]["score"])


def test_record_execution_persists_at_once_and_a_retry_starts_afresh(tmp_path):
    from tuner.storage import JsonDirStorage

    oracle = RandomSearchOracle("loss", max_trials=1, seed=1, max_retries_per_trial=1)
    oracle.hyperparameters.Float("x", 0.0, 1.0)
    oracle.attach_storage(JsonDirStorage(tmp_path))
    trial = oracle.create_trial("w")
    record = {"metrics": {"loss": 1.0}, "best_step": None, "score": 1.0, "fold": 0}
    oracle.record_execution(trial.trial_id, record)
    saved = JsonDirStorage(tmp_path).load_trials()[0]
    assert saved.status == TrialStatus.RUNNING and saved.executions == [record]
    trial.status = TrialStatus.INVALID  # crashed: retried (FAILED is final)
    oracle.end_trial(trial)
    assert oracle.trials[trial.trial_id].executions == []  # retried: the folds run again


# --- real Keras training ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")[:180]
    return x, y.astype("float32")[:180]


def _build_seeded_model(hp):
    import keras

    initializer = keras.initializers.GlorotUniform(seed=1)
    model = keras.Sequential(
        [
            keras.Input((30,)),
            keras.layers.Dense(8, activation="relu", kernel_initializer=initializer),
            keras.layers.Dense(1, activation="sigmoid", kernel_initializer=initializer),
        ]
    )
    model.compile(
        keras.optimizers.SGD(hp.Choice("lr", [0.05, 0.1])),
        "binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pytest.mark.keras
def test_fold_metrics_are_the_values_of_training_each_fold_by_hand(data, tmp_path, capsys):
    import keras

    import tuner as kt

    x, y = data
    splitter = KFold(3, shuffle=True, random_state=0)
    search = kt.RandomSearch(
        _build_seeded_model, objective="val_loss", max_trials=1, seed=2, cv=splitter,
        directory=tmp_path, project_name="cv",
    )  # fmt: skip
    search.search(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    trial = search.oracle.get_best_trials()[0]
    assert trial.status == TrialStatus.COMPLETED
    assert [(r["fold"], r["execution"]) for r in trial.executions] == [(0, 0), (1, 0), (2, 0)]

    by_hand = []
    for train, held_out in splitter.split(x):
        keras.backend.clear_session(free_memory=False)
        model = _build_seeded_model(trial.hyperparameters.copy())
        history = model.fit(
            x[train], y[train], epochs=2, batch_size=16, shuffle=False, verbose=0,
            validation_data=(x[held_out], y[held_out]),
        )  # fmt: skip
        best = int(np.argmin(history.history["val_loss"]))
        by_hand.append({name: values[best] for name, values in history.history.items()})
    for record, expected in zip(trial.executions, by_hand, strict=True):
        assert record["metrics"]["val_loss"] == pytest.approx(expected["val_loss"], rel=1e-5)
        assert record["metrics"]["val_accuracy"] == pytest.approx(expected["val_accuracy"])
        assert record["score"] == record["metrics"]["val_loss"]

    hand_losses = [row["val_loss"] for row in by_hand]
    statistics = trial.fold_statistics()
    assert statistics["val_loss"].mean == pytest.approx(np.mean(hand_losses), rel=1e-5)
    assert statistics["val_loss"].std == pytest.approx(np.std(hand_losses), rel=1e-4)
    assert trial.score == pytest.approx(np.mean(hand_losses), rel=1e-5)
    reloaded = kt.RandomSearch(
        _build_seeded_model, objective="val_loss", max_trials=1, seed=2, cv=splitter,
        directory=tmp_path, project_name="cv",
    )  # fmt: skip
    capsys.readouterr()
    reloaded.results_summary()
    assert statistics["val_loss"].describe("val_loss") in capsys.readouterr().out
    assert reloaded.get_best_models()[0].count_params() == 8 * 31 + 9


@pytest.mark.keras
def test_executions_callbacks_and_budgets_apply_per_fold(data, tmp_path):
    import keras

    import tuner as kt
    from tuner.oracles.base import Proposal
    from tuner.trial import Budget

    class BudgetOracle(RandomSearchOracle):
        def _propose(self, trial_id):
            return Proposal.run({"lr": 0.1}, budget=Budget(epochs=3, initial_epoch=1))

    seen = []

    class Counting(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(self)  # the object, not its id: a freed copy's id can be reused

    x, y = data
    callback = Counting()
    search = kt.Tuner(
        BudgetOracle("val_accuracy", max_trials=1, seed=4), _build_seeded_model,
        executions_per_trial=2, cv=2, directory=tmp_path, project_name="budget",
    )  # fmt: skip
    search.search(x, y, epochs=50, callbacks=[callback], verbose=0)
    trial = search.oracle.trials["00"]
    assert [(r["fold"], r["execution"]) for r in trial.executions] == [
        (0, 0), (0, 1), (1, 0), (1, 1),
    ]  # fmt: skip
    assert len(seen) == 4 and all(copy is not callback for copy in seen)
    assert len({id(copy) for copy in seen}) == 4  # one fresh copy per fold and execution
    assert {r["best_step"] for r in trial.executions} <= {1, 2}  # the budget's epochs only
    assert sorted(o.step for o in trial.metrics.get_history("val_accuracy")) == [1, 2]
    assert trial.fold_statistics()["val_accuracy"].folds == 2


@pytest.mark.keras
def test_validation_arguments_and_groups_without_cv_are_clear_errors(data, tmp_path):
    import tuner as kt

    x, y = data
    search = kt.RandomSearch(
        _build_seeded_model, objective="val_loss", max_trials=1, cv=3,
        directory=tmp_path, project_name="errors",
    )  # fmt: skip
    with pytest.raises(errors.FatalValueError, match="validation_split cannot be used"):
        search.search(x, y, validation_split=0.2, verbose=0)
    plain = kt.RandomSearch(
        _build_seeded_model, objective="val_loss", max_trials=1,
        directory=tmp_path, project_name="plain",
    )  # fmt: skip
    with pytest.raises(errors.FatalValueError, match="groups"):
        plain.search(x, y, groups=np.zeros(len(x)), verbose=0)


RESUME_WORKER = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    import keras
    import tuner as kt
    from sklearn.datasets import load_breast_cancer

    directory, log_path, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")[:160]
    y = y.astype("float32")[:160]
    fits = 0

    class Model(kt.HyperModel):
        def build(self, hp):
            model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(8, activation="relu"),
                                      keras.layers.Dense(1, activation="sigmoid")])
            model.compile(keras.optimizers.Adam(hp.Choice("lr", [0.01, 0.02])),
                          "binary_crossentropy", metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, validation_data, **kwargs):
            global fits
            fits += 1
            if fits == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)  # a real crash in the middle of the folds
            fold = int(np.abs(validation_data[0]).sum() * 1000)  # identifies the held-out part
            with open(log_path, "a") as log:
                log.write(f"{os.getpid()} {fold}\\n")
            return model.fit(*args, validation_data=validation_data, **kwargs)

    search = kt.RandomSearch(Model(), objective="val_accuracy", max_trials=1, seed=3, cv=4,
                             directory=directory, project_name="resume")
    search.search(x, y, epochs=1, verbose=0)
    print("DONE", len(next(iter(search.oracle.trials.values())).executions))
    """
)


@pytest.mark.keras
def test_a_search_killed_between_folds_reruns_only_the_missing_folds(tmp_path):
    worker = tmp_path / "worker.py"
    worker.write_text(RESUME_WORKER)
    log = tmp_path / "fits.log"

    def run(kill_at):
        return subprocess.run(
            [sys.executable, str(worker), str(tmp_path), str(log), str(kill_at)],
            capture_output=True, text=True, env=ENV, timeout=300, cwd=REPO,
        )  # fmt: skip

    killed = run(kill_at=3)  # dies as the third fold starts
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    trial_file = next((tmp_path / "resume" / "trials").glob("*.json"))
    before = json.loads(trial_file.read_text())
    assert before["status"] == "RUNNING"
    assert [r["fold"] for r in before["executions"]] == [0, 1]

    resumed = run(kill_at=0)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "DONE 4" in resumed.stdout
    lines = [line.split() for line in log.read_text().splitlines()]
    first_pid, second_pid = lines[0][0], lines[-1][0]
    first_folds = [fold for pid, fold in lines if pid == first_pid]
    second_folds = [fold for pid, fold in lines if pid == second_pid]
    assert len(first_folds) == 2 and len(second_folds) == 2  # only the missing folds ran
    assert len(set(first_folds + second_folds)) == 4  # together: every fold, once
    after = json.loads(trial_file.read_text())
    assert after["status"] == "COMPLETED"
    assert [r["fold"] for r in after["executions"]] == [0, 1, 2, 3]
    assert after["executions"][:2] == before["executions"]  # finished folds were kept as is
    scores = [r["score"] for r in after["executions"]]
    assert after["score"] == pytest.approx(sum(scores) / 4)
