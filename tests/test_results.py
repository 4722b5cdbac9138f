"""Trials as rows: the DataFrame of a real (pure-Python) search, and reading it back from disk."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tuner as kt
from tuner.errors import CorruptProjectFileError, StorageError
from tuner.results import SearchResults, read_project

#: The trial that ToyTuner fails on purpose.
FAILING_TRIAL = "03"
EPOCHS = 4


def toy_losses(values: dict[str, Any], epoch: int) -> dict[str, float]:
    """Deterministic per-epoch losses: best near learning_rate 1e-2, units 16, dropout 0.2."""
    base = (
        (math.log10(values["learning_rate"]) + 2) ** 2 * 0.1
        + abs(values["units"] - 16) / 100
        + (values.get("dropout", 0.2) - 0.2) ** 2
    )
    decay = 0.5 * math.exp(-epoch)
    return {"loss": base + decay * 0.9, "val_loss": base + decay + 0.01 * epoch}


class ToyTuner(kt.BaseTuner):
    """A search over a small space with a formula as the model; trial 03 raises.

    Args:
        executions: With more than 1, run_trial returns one metrics dict per execution (the
            executions differ by a known offset) instead of reporting per-epoch metrics.
    """

    def __init__(self, *args: Any, executions: int = 1, **kwargs: Any):
        self.executions = executions
        super().__init__(*args, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        hp.Int("units", 8, 32, step=8)
        hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        hp.Float("dropout", 0.0, 0.5, step=0.1)
        kind = hp.Choice("kind", ["mlp", "cnn"])
        with hp.conditional_scope("kind", ["cnn"]):
            hp.Int("filters", 4, 16, step=4)
        if trial.trial_id == FAILING_TRIAL:
            raise ValueError("diverged: the loss is NaN")
        values = hp.values
        if self.executions > 1:
            final = toy_losses(values, EPOCHS - 1)
            return [
                {"loss": final["loss"] + 0.1 * i, "val_loss": final["val_loss"] + 0.1 * i}
                for i in range(self.executions)
            ]
        for epoch in range(EPOCHS):
            self.oracle.update_trial(trial.trial_id, toy_losses(values, epoch), step=epoch)
        assert kind in ("mlp", "cnn")
        return None


def run_toy_search(
    directory: Path, max_trials: int = 8, executions: int = 1, project_name: str = "toy"
) -> ToyTuner:
    """Runs a real search in ``directory`` and returns its tuner."""
    search = ToyTuner(
        kt.oracles.RandomSearchOracle(objective="val_loss", max_trials=max_trials, seed=7),
        directory=str(directory),
        project_name=project_name,
        executions=executions,
    )
    search.search(verbose=0)
    return search


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> ToyTuner:
    return run_toy_search(tmp_path_factory.mktemp("results"))


def test_one_row_per_trial_with_status_score_and_error(toy):
    frame = toy.results_dataframe()
    trials = toy.oracle.trials
    assert list(frame["trial_id"]) == sorted(trials)
    assert len(frame) == 8
    failed = frame.set_index("trial_id").loc[FAILING_TRIAL]
    assert failed["status"] == "FAILED"
    assert math.isnan(failed["score"]) and pd.isna(failed["best_step"])
    assert failed["error"] == "ValueError: diverged: the loss is NaN"
    completed = frame[frame["trial_id"] != FAILING_TRIAL]
    assert set(completed["status"]) == {"COMPLETED"}
    assert completed["error"].isna().all()
    for row in completed.itertuples():
        trial = trials[row.trial_id]
        assert row.score == pytest.approx(trial.score)
        assert row.best_step == trial.best_step


def test_columns_hold_hyperparameters_metrics_and_times(toy):
    frame = toy.results_dataframe()
    assert list(frame.columns[:4]) == ["trial_id", "status", "score", "best_step"]
    for name in ("units", "learning_rate", "dropout", "kind", "filters"):
        assert name in frame.columns
    for metric in ("val_loss", "loss"):
        assert {f"{metric}_best", f"{metric}_final"} <= set(frame.columns)
    assert list(frame.columns[-3:]) == ["start_time", "duration", "error"]
    assert "executions" not in frame.columns  # one execution per trial: no spread columns
    assert str(frame["start_time"].dt.tz) == "UTC"
    assert (frame["duration"] >= 0).all()
    for row in frame[frame["status"] == "COMPLETED"].itertuples(index=False):
        values = toy.oracle.trials[row.trial_id].values
        assert row.units == values["units"] and row.kind == values["kind"]
        assert row.learning_rate == pytest.approx(values["learning_rate"])
        if values["kind"] == "cnn":
            assert row.filters == values["filters"]
        else:  # inactive conditional hyperparameter
            assert pd.isna(row.filters)
        last = toy_losses(values, EPOCHS - 1)
        assert row.val_loss_final == pytest.approx(last["val_loss"])
        assert row.loss_final == pytest.approx(last["loss"])
        curve = [toy_losses(values, epoch)["val_loss"] for epoch in range(EPOCHS)]
        assert row.val_loss_best == pytest.approx(min(curve))
        assert row.score == pytest.approx(min(curve))
        assert row.best_step == curve.index(min(curve))


def test_load_results_reads_the_same_rows_from_disk_without_writing(toy):
    project = Path(toy.project_dir)
    before = {p: p.stat().st_mtime_ns for p in project.rglob("*")}
    loaded = kt.load_results(toy.directory, toy.project_name)
    assert {p: p.stat().st_mtime_ns for p in project.rglob("*")} == before
    pd.testing.assert_frame_equal(loaded, toy.results_dataframe())
    assert loaded.attrs == {
        "project_dir": str(project),
        "objective": {"name": "val_loss", "direction": "min"},
    }
    pd.testing.assert_frame_equal(kt.load_results(project), loaded)


def test_a_project_can_be_read_while_its_search_runs(tmp_path):
    seen: dict[str, str] = {}

    class PeekingTuner(ToyTuner):
        def run_trial(self, trial, *args, **kwargs):
            if trial.trial_id == "02":  # the search holds the project's lock meanwhile
                # A starting trial's record is written within its grace period (half a second).
                deadline = time.monotonic() + 30
                while "02" not in seen and time.monotonic() < deadline:
                    time.sleep(0.05)
                    frame = kt.load_results(self.project_dir)
                    seen.update(zip(frame["trial_id"], frame["status"], strict=True))
            return super().run_trial(trial, *args, **kwargs)

    search = PeekingTuner(
        kt.oracles.RandomSearchOracle(objective="val_loss", max_trials=4, seed=7),
        directory=str(tmp_path),
        project_name="live",
    )
    search.search(verbose=0)
    assert seen == {"00": "COMPLETED", "01": "COMPLETED", "02": "RUNNING"}


def test_several_executions_give_mean_and_std(tmp_path):
    search = run_toy_search(tmp_path, max_trials=5, executions=3)
    frame = search.results_dataframe().set_index("trial_id")
    assert {"executions", "score_std", "val_loss_mean", "val_loss_std"} <= set(frame.columns)
    for trial_id, trial in search.oracle.trials.items():
        row = frame.loc[trial_id]
        if trial_id == FAILING_TRIAL:
            assert row["executions"] == 0 and pd.isna(row["score_std"])
            continue
        final = toy_losses(trial.values, EPOCHS - 1)["val_loss"]
        offsets = [0.0, 0.1, 0.2]
        std = math.sqrt(sum((o - 0.1) ** 2 for o in offsets) / 3)
        assert row["executions"] == 3
        assert row["score"] == pytest.approx(final + 0.1)
        assert row["val_loss_mean"] == pytest.approx(final + 0.1)
        assert row["score_std"] == pytest.approx(std)
        assert row["val_loss_std"] == pytest.approx(std)


def test_cross_validation_folds_are_counted(toy):
    hp = kt.HyperParameters()
    hp.Int("units", 8, 32, step=8)
    records = [
        {"metrics": {"val_loss": 0.1 * (fold + 1)}, "best_step": 2, "score": 0.1 * (fold + 1),
         "fold": fold, "execution": execution}
        for fold in range(3)
        for execution in range(2)
    ]  # fmt: skip
    trial = kt.Trial("00", hp, kt.TrialStatus.COMPLETED, score=0.2, executions=records)
    results = SearchResults(toy.oracle.objective, hp, (trial,))
    row = results.to_dataframe().iloc[0]
    assert row["executions"] == 6 and row["folds"] == 3
    assert row["val_loss_mean"] == pytest.approx(0.2)
    assert row["score_std"] == pytest.approx(math.sqrt(2 / 3) * 0.1)


def test_a_running_trial_is_a_row_without_score(tmp_path):
    search = run_toy_search(tmp_path, max_trials=3)
    search.oracle.max_trials = 4
    running = search.oracle.create_trial("other-worker")
    row = search.results_dataframe().set_index("trial_id").loc[running.trial_id]
    assert row["status"] == "RUNNING" and math.isnan(row["score"]) and pd.isna(row["error"])


def test_a_hyperparameter_named_like_a_column_is_prefixed(tmp_path):
    class ClashTuner(kt.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            return {"loss": trial.hyperparameters.Float("score", 0, 1)}

    search = ClashTuner(
        kt.oracles.RandomSearchOracle("loss", max_trials=2, seed=1),
        directory=str(tmp_path),
        project_name="clash",
    )
    search.search(verbose=0)
    frame = search.results_dataframe()
    assert "hp/score" in frame.columns
    assert list(frame["hp/score"]) == [t.values["score"] for t in search.oracle.trials.values()]


def test_csv_and_json_exports_have_a_row_per_trial(toy):
    results = SearchResults.from_tuner(toy)
    rows = list(csv.DictReader(io.StringIO(results.to_csv())))
    assert [r["trial_id"] for r in rows] == sorted(toy.oracle.trials)
    assert list(rows[0]) == results.columns()
    failed = next(r for r in rows if r["trial_id"] == FAILING_TRIAL)
    assert failed["score"] == "" and failed["error"].startswith("ValueError")
    documents = json.loads(results.to_json())
    assert len(documents) == len(rows)
    assert next(d for d in documents if d["trial_id"] == FAILING_TRIAL)["score"] is None
    assert all(d["start_time"].endswith("+00:00") for d in documents)


def test_best_trial_and_ranking_follow_the_objective(toy):
    results = read_project(toy.project_dir)
    ranked = results.ranked_trials()
    assert [t.trial_id for t in ranked] == [t.trial_id for t in toy.oracle.get_best_trials(10)]
    assert results.best_trial.trial_id == toy.oracle.get_best_trials(1)[0].trial_id
    assert results.get_trial(3).trial_id == FAILING_TRIAL  # "3" finds "03"
    with pytest.raises(KeyError, match="No trial '42'"):
        results.get_trial("42")


def test_a_folder_that_is_not_a_project_gets_a_clear_error(tmp_path, toy):
    with pytest.raises(StorageError, match="does not exist"):
        read_project(tmp_path / "missing")
    with pytest.raises(StorageError, match=r"no project\.json"):
        read_project(tmp_path)
    with pytest.raises(StorageError, match=r"holds projects: .*toy"):
        read_project(toy.directory)
    keras_tuner_like = tmp_path / "kt"
    (keras_tuner_like / "trial_00").mkdir(parents=True)
    (keras_tuner_like / "oracle.json").write_text("{}")
    with pytest.raises(StorageError, match="keras-tuner"):
        read_project(keras_tuner_like)


def test_a_damaged_trial_file_is_named(tmp_path):
    search = run_toy_search(tmp_path, max_trials=2)
    damaged = Path(search.project_dir) / "trials" / "01.json"
    damaged.write_text('{"format_version": 1, "trial_id": "01"')
    with pytest.raises(CorruptProjectFileError, match=r"01\.json"):
        kt.load_results(search.directory, search.project_name)


def _run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=120,
    )


def test_import_tuner_imports_neither_pandas_nor_matplotlib():
    done = _run_python(
        "import sys, tuner, tuner.results, tuner.visualization, tuner.cli; "
        "print(sorted(m for m in ('pandas', 'matplotlib', 'tensorflow', 'keras') "
        "if m in sys.modules))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_pandas_the_error_says_how_to_install_it(toy):
    # sys.modules[name] = None makes Python's import of that name fail, as when not installed.
    done = _run_python(
        "import sys; sys.modules['pandas'] = None\n"
        "import tuner as kt\n"
        "from tuner.results import read_project\n"
        f"results = read_project({toy.project_dir!r})\n"
        "assert len(results.to_csv().splitlines()) == 9  # CSV needs no pandas\n"
        "try:\n"
        f"    kt.load_results({toy.project_dir!r})\n"
        "except ImportError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("MissingDependencyError")
    assert "pip install pandas" in done.stdout and "tuner[results]" in done.stdout
