"""Crash safety: a search SIGKILLed at any instant resumes without losing or repeating work."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tuner.storage import JsonDirStorage
from tuner.trial import TrialStatus

WORKER = Path(__file__).parent / "resume_worker.py"
MAX_TRIALS = 80


def _start(project_parent: Path, log: Path, *kill: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(project_parent), str(MAX_TRIALS), str(log), *kill],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _check_every_file_parses(project: Path) -> None:
    for path in project.rglob("*.json"):
        json.loads(path.read_text())  # never torn
    JsonDirStorage(project).load_trials()


def test_sigkill_at_random_and_at_write_instants_loses_and_repeats_nothing(tmp_path):
    rng = random.Random(20261122)
    log = tmp_path / "log.txt"
    project = tmp_path / "p"
    kills = aimed_kills = 0
    for attempt in range(14):
        if attempt % 2 == 0:  # aimed at a write: before or after the atomic rename
            when = rng.choice(["BEFORE", "AFTER"])
            leftovers = set(tmp_path.rglob("*.tmp"))
            process = _start(tmp_path, log, str(rng.randint(1, 8)), when)
            process.wait(timeout=120)
            if process.returncode == -signal.SIGKILL:  # nothing else kills it: it died writing
                kills += 1
                aimed_kills += 1
                if when == "BEFORE":  # killed mid-write: the synced temporary file is left
                    assert set(tmp_path.rglob("*.tmp")) - leftovers
        else:  # at a random moment
            process = _start(tmp_path, log)
            time.sleep(rng.uniform(0.3, 0.8))
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                kills += 1
            process.wait(timeout=120)
        if project.exists():
            _check_every_file_parses(project)
    assert kills >= 10, f"only {kills} kills landed; the test did not test much"
    assert aimed_kills >= 5, f"only {aimed_kills} of 7 kills at a write landed"

    final = _start(tmp_path, log)
    _, stderr = final.communicate(timeout=300)
    assert final.returncode == 0, stderr

    trials = JsonDirStorage(project).load_trials()
    assert sorted(int(t.trial_id) for t in trials) == list(range(MAX_TRIALS))
    assert all(t.status == TrialStatus.COMPLETED for t in trials)
    events = log.read_text().split("\n")
    ended = [line.split()[1] for line in events if line.startswith("ENDED")]
    assert len(ended) == len(set(ended)), "a trial was completed twice"
    for trial_id in ended:  # a completed trial never starts again
        position = events.index(next(e for e in events if e.startswith(f"ENDED {trial_id} ")))
        assert f"START {trial_id}" not in events[position + 1 :]
    assert events.count("SEARCH DONE") >= 1


@pytest.mark.keras
def test_a_killed_keras_search_resumes_with_every_checkpoint(tmp_path):
    script = f"""
import sys, numpy as np, keras, tuner as kt
from sklearn.datasets import load_breast_cancer
x, y = load_breast_cancer(return_X_y=True)
x = ((x - x.mean(0)) / x.std(0)).astype("float32")[:200]; y = y.astype("float32")[:200]
def build(hp):
    m = keras.Sequential([keras.Input((30,)),
                          keras.layers.Dense(hp.Int("u", 4, 32), activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return m
t = kt.RandomSearch(build, objective="val_accuracy", max_trials=4, seed=2,
                    directory={str(tmp_path)!r}, project_name="k")
t.search(x, y, validation_split=0.25, epochs=int(sys.argv[1]), verbose=0)
print("BEST", t.get_best_models(1)[0].evaluate(x[150:], y[150:], verbose=0)[1])
"""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen([sys.executable, "-c", script, "40"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    trials_dir = tmp_path / "k" / "trials"
    deadline = time.time() + 240
    while time.time() < deadline:  # kill it while the second trial trains
        files = list(trials_dir.glob("*.json")) if trials_dir.exists() else []
        if len(files) >= 2:
            break
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = {t.trial_id: t.status for t in JsonDirStorage(tmp_path / "k").load_trials()}
    assert TrialStatus.RUNNING in before.values()

    result = subprocess.run([sys.executable, "-c", script, "2"], env=env, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    trials = JsonDirStorage(tmp_path / "k").load_trials()
    assert len(trials) == 4 and all(t.status == TrialStatus.COMPLETED for t in trials)
    for trial in trials:
        assert (tmp_path / "k" / "checkpoints" / trial.trial_id / "weights.npz").exists()
    for trial_id, status in before.items():  # completed trials were kept, not re-run
        if status == TrialStatus.COMPLETED:
            assert next(t for t in trials if t.trial_id == trial_id).executions
    assert "BEST" in result.stdout
