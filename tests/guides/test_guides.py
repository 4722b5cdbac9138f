"""The keras.io KerasTuner guides and the TensorFlow tutorial, run unchanged but for the import.

Each fixture beside this file is one guide's code as a user would paste it (its header names the
source, the licence and every change). Each test runs one as a real subprocess of this
checkout's ``tuner`` (PYTHONPATH = the repository root), in a fresh folder, and then checks
what the guide produced on disk and on the console, so a guide that "runs" without searching
fails too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("keras")

from tuner.results import read_project
from tuner.trial import TrialStatus

pytestmark = [pytest.mark.keras, pytest.mark.slow]

GUIDES = Path(__file__).parent
REPO_ROOT = GUIDES.parent.parent
TIMEOUT_S = 300


def _env(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("KERASTUNER")}
    pythonpath = [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    env.update(
        PYTHONPATH=os.pathsep.join(pythonpath),
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONUNBUFFERED="1",
        PYTHONWARNINGS="ignore",
    )
    env.update(extra)
    return env


def _run(script: str, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GUIDES / script), *args],
        cwd=cwd, capture_output=True, text=True, env=_env(**env), timeout=TIMEOUT_S,
    )  # fmt: skip


def _ran_to_the_end(script: str, cwd: Path, *args: str) -> str:
    result = _run(script, cwd, *args)
    assert result.returncode == 0, (
        f"{script} exited {result.returncode}\n--- stdout (tail)\n{result.stdout[-3000:]}"
        f"\n--- stderr (tail)\n{result.stderr[-5000:]}"
    )
    assert "GUIDE_DONE" in result.stdout
    return result.stdout


def _statuses(project_dir: Path) -> Counter[TrialStatus]:
    return Counter(trial.status for trial in read_project(project_dir).trials)


def _completed(project_dir: Path, count: int) -> list:
    """The project's trials, after checking that exactly ``count`` completed with a score."""
    trials = list(read_project(project_dir).trials)
    done = [t for t in trials if t.status == TrialStatus.COMPLETED and t.score is not None]
    assert len(done) == count, (project_dir, [(t.trial_id, t.status, t.message) for t in trials])
    return done


def test_getting_started(tmp_path):
    out = tmp_path / "out"
    stdout = _ran_to_the_end("getting_started.py", tmp_path, str(out))

    for project, trials in [
        ("helloworld", 3),
        ("tune_hypermodel", 3),
        ("built_in_metrics", 2),
        ("custom_metrics", 2),
        ("custom_eval", 2),
        ("custom_eval_dict", 2),
        ("tune_anything", 20),
        ("keep_code_separate", 3),
        ("built_in_hypermodel", 1),
    ]:
        _completed(out / project, trials)
    # executions_per_trial=2: every helloworld trial trained two models.
    for trial in read_project(out / "helloworld").trials:
        assert 0.0 <= trial.score <= 1.0
        assert len(trial.executions) == 2, trial.executions
    # The custom metric and the dict returned by HyperModel.fit are the objectives.
    assert 'Objective(name="val_custom_metric", direction="min")' in stdout
    assert 'Objective(name="metric_a", direction="max")' in stdout
    assert stdout.count("Results summary") == 5
    # f(x) = x*x + 1 over 20 random x in [-1, 1]: the best is close to 1.
    best = min(t.score for t in read_project(out / "tune_anything").trials)
    assert 1.0 <= best < 1.25
    # keep_code_separate saved one model per trial, plus the retrained best one.
    assert len(list(out.glob("*.keras"))) == 4


def test_custom_tuner(tmp_path):
    stdout = _ran_to_the_end("custom_tuner.py", tmp_path, str(tmp_path / "out"))
    trials = _completed(tmp_path / "out" / "custom_training", 2)
    for trial in trials:
        # The objective is what the loop passed to the callbacks as logs["my_metric"].
        history = trial.metrics.get_history("my_metric")
        assert len(history) == 2 and trial.score == pytest.approx(min(o.value for o in history))
        assert {"units", "batch_size", "learning_rate"} <= set(trial.hyperparameters.values)
    assert "'batch_size'" in stdout and "Total params" in stdout


def test_failed_trials(tmp_path):
    stdout = _ran_to_the_end("failed_trials.py", tmp_path)
    # The guide passes no directory: its three searches share ./untitled_project (overwrite=True).
    assert stdout.count("Results summary") == 2
    assert "The search is terminated." in stdout
    # The third search (FatalError) left the project: the 7 small models of the grid order
    # (units_1 outer, units_2 inner) completed, then (30, 20) raised FatalError and the search
    # stopped there. As in keras-tuner, the FatalError propagates before the trial is ended, so
    # that trial stays RUNNING (a resumed search runs it again).
    trials = list(read_project(tmp_path / "untitled_project").trials)
    assert [t.status for t in trials[:7]] == [TrialStatus.COMPLETED] * 7, trials
    assert len(trials) == 8 and trials[7].status != TrialStatus.COMPLETED
    assert trials[7].hyperparameters.values == {"units_1": 30, "units_2": 20}
    # Search 1 retried each ValueError 3 times; search 2's FailedTrialError skipped the retries.
    first, second = stdout.split("Results summary")[:2]
    assert len(re.findall(r"ValueError: Model too large", first)) == 5 * 4
    assert len(re.findall(r"FailedTrialError: Model too large", second)) == 5


def test_tailor_the_search_space(tmp_path):
    out = tmp_path / "out"
    stdout = _ran_to_the_end("tailor_the_search_space.py", tmp_path, str(out))
    # Search a few: only learning_rate (a log Float now) is tuned; the rest keep their defaults.
    for trial in _completed(out / "search_a_few", 2):
        values = trial.hyperparameters.values
        assert values["units"] == 64 and values["dropout"] is False
        assert 1e-4 <= values["learning_rate"] <= 1e-2
    # Fix a few: learning_rate is fixed, the others are tuned.
    trials = _completed(out / "fix_a_few", 2)
    assert {t.hyperparameters.values["learning_rate"] for t in trials} == {1e-4}
    # Override compile: the best model was compiled with the tuner's loss.
    _completed(out / "override_compile", 2)
    assert "BEST_MODEL_LOSS mse" in stdout
    _completed(out / "helloworld", 1)  # HyperXception, only its learning_rate tuned
    summaries = stdout.split("Search space summary")
    assert len(summaries) == 4
    assert "learning_rate (Float)" in summaries[1] and "units (" not in summaries[1]


def test_visualize_tuning(tmp_path):
    out = tmp_path / "out"
    _ran_to_the_end("visualize_tuning.py", tmp_path, str(out))
    trials = _completed(out / "tb" / "untitled_project", 3)
    logs = out / "tb_logs"
    assert logs.is_dir()
    # The user's TensorBoard callback writes each trial's run under its own folder.
    for trial in trials:
        assert list((logs / trial.trial_id).rglob("events.out.tfevents.*")), trial.trial_id


def test_distributed_tuning_single_process(tmp_path):
    """Without KERASTUNER_* variables the guide's script is a plain Hyperband search."""
    _ran_to_the_end("distributed_tuning.py", tmp_path, str(tmp_path / "out"))
    # max_epochs=2, factor=3: one bracket of two trials, each trained for the 2 epochs.
    trials = _completed(tmp_path / "out" / "mnist", 2)
    assert all(t.hyperparameters.values["tuner/epochs"] == 2 for t in trials)


def test_distributed_tuning_chief_mode_fails_clearly(tmp_path):
    """keras-tuner's gRPC chief/worker launch is not supported: a one-line error says so."""
    result = _run(
        "distributed_tuning.py",
        tmp_path,
        str(tmp_path / "out"),
        KERASTUNER_TUNER_ID="chief",
        KERASTUNER_ORACLE_IP="127.0.0.1",
        KERASTUNER_ORACLE_PORT="8000",
    )
    assert result.returncode != 0, "KERASTUNER_* set, yet it ran:\n" + result.stdout[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    last = lines[-1]
    # The last line is the error itself, on one line: it names the variables and what to use
    # instead, and it is the tuner's error, not one from deep inside (no module, no attribute).
    assert "KERASTUNER_" in last and "RayWorkers" in last, result.stderr[-3000:]
    assert not re.match(r"(\w+\.)*(KeyError|AttributeError|ImportError|ModuleNotFoundError)", last)
    # Raised at construction, before any trial: nothing was searched or written.
    assert "Running Trial" not in result.stdout
    assert not (tmp_path / "out" / "mnist" / "trials").exists()


def test_tensorflow_tutorial(tmp_path):
    stdout = _ran_to_the_end("tf_keras_tuner_tutorial.py", tmp_path, str(tmp_path / "out"))
    trials = list(read_project(tmp_path / "out" / "intro_to_kt").trials)
    assert _statuses(tmp_path / "out" / "intro_to_kt")[TrialStatus.COMPLETED] == len(trials) == 6
    values = [t.hyperparameters.values for t in trials]
    assert {v["tuner/epochs"] for v in values} == {1, 3}
    # A promoted trial continues its parent's training (Hyperband's warm start).
    assert any(v["tuner/initial_epoch"] > 0 and "tuner/trial_id" in v for v in values)
    assert "The hyperparameter search is complete." in stdout
    assert re.search(r"Best epoch: [123]\n", stdout)
    accuracy = float(re.search(r"\[test loss, test accuracy\]: \[[^,]+, ([0-9.]+)\]", stdout)[1])
    assert accuracy > 0.3  # ten classes: chance is 0.1
