"""MLflowCallback across processes: a real ``mlflow server`` on 127.0.0.1 (started once for
the module) that a search logs to over HTTP, and a search SIGKILLed mid-trial then resumed in a
new process, which must leave one parent run and exactly one child run per trial."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient

from tests.integrations.mlflow_helpers import (
    all_runs,
    assert_history,
    split_runs,
    step_search,
    steps_and_values,
)
from tuner.integrations.mlflow import MLflowCallback
from tuner.results import read_project

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
REPOSITORY = Path(__file__).resolve().parents[2]


# --- a real tracking server ----------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(backend: str, folder: Path, deadline: float = 120.0) -> Iterator[str]:
    """Runs ``mlflow server`` on 127.0.0.1 with the ``backend`` store; always stops it."""
    script = Path(sys.executable).with_name("mlflow")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "mlflow"]
    port = _free_port()
    process = subprocess.Popen(
        [*command, "server", "--backend-store-uri", backend,
         "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        # No background job runner (MLflow 3): one process less to start on a busy machine.
        env={**ENV, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        start_new_session=True,  # the server's own workers go with it
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        start = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.read().strip() == b"OK":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() - start > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                output = process.communicate()[0].decode(errors="replace")
                pytest.fail(f"mlflow server did not start:\n{output[-3000:]}")
            time.sleep(0.25)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="module")
def tracking_server(make_mlflow_store, tmp_path_factory) -> Iterator[dict[str, Path | str]]:
    """One ``mlflow server`` for the module (its start takes seconds), on a sqlite store."""
    folder = tmp_path_factory.mktemp("server")
    backend = make_mlflow_store(folder, "server.db")
    with mlflow_server(backend, folder) as url:
        yield {"url": url, "folder": folder}


@pytest.mark.slow
def test_a_search_logs_to_a_tracking_server_over_http(tracking_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = str(tracking_server["url"])
    tracker = MLflowCallback(tracking_uri=url)
    search = step_search(tmp_path, tracker, max_trials=3)
    search.search(verbose=0)
    client = MlflowClient(url)
    parents, children = split_runs(all_runs(client, "steps"))
    assert [p.info.run_id for p in parents] == [tracker.parent_run_id]
    assert parents[0].info.status == "FINISHED"
    assert sorted(children) == sorted(search.oracle.trials)
    for trial_id, (run,) in children.items():
        trial = search.oracle.trials[trial_id]
        assert run.data.params == {"x": str(trial.hyperparameters.get("x"))}
        assert_history(steps_and_values(client, run, "loss"), trial, "loss")
        assert run.data.tags["status"] == "COMPLETED"
    # The server's store has them; nothing was written here but the project.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steps"]


# --- SIGKILL mid-trial, then resume --------------------------------------------------------------
KILLED_SEARCH = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[5])
    import tuner as kt
    from tuner.integrations.mlflow import MLflowCallback

    directory, uri, log_path, mode = sys.argv[1:5]
    started = 0

    class StepTuner(kt.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            global started
            started += 1
            x = trial.hyperparameters.Float("x", -1.0, 1.0)
            with open(log_path, "a") as log:
                log.write(f"START {trial.trial_id}\\n")
            for step in range(3):
                if mode == "hang" and started == 3 and step == 1:
                    time.sleep(600)  # killed here: the trial is RUNNING, its run half made
                loss = (x - 0.3) ** 2 + 1 / (step + 1)
                self.oracle.update_trial(trial.trial_id, {"loss": loss}, step)

    oracle = kt.oracles.RandomSearchOracle("loss", max_trials=5, seed=4)
    search = StepTuner(oracle, directory=directory, project_name="p",
                       search_callbacks=[MLflowCallback(uri)])
    search.search(verbose=0)
    print("SEARCH DONE")
    """
)


def _run_search(tmp_path: Path, uri: str, mode: str) -> subprocess.Popen:
    script = tmp_path / "search.py"
    script.write_text(KILLED_SEARCH)
    arguments = [str(tmp_path / "runs"), uri, str(tmp_path / "log.txt"), mode, str(REPOSITORY)]
    return subprocess.Popen(
        [sys.executable, str(script), *arguments], cwd=tmp_path, env=ENV,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


@pytest.mark.slow
def test_a_search_killed_mid_trial_resumes_without_a_duplicate_run(tracking_server, tmp_path):
    url = str(tracking_server["url"])
    client = MlflowClient(url)
    process = _run_search(tmp_path, url, "hang")
    log = tmp_path / "log.txt"
    try:
        deadline = time.monotonic() + 120
        while True:  # until the third trial is running and its child run exists
            starts = log.read_text().split() if log.exists() else []
            running = []
            if starts.count("START") == 3 and client.get_experiment_by_name("p"):
                _, children = split_runs(all_runs(client, "p"))
                running = [
                    r for runs in children.values() for r in runs if r.info.status == "RUNNING"
                ]
            if running:
                break
            assert process.poll() is None, process.communicate()[0].decode(errors="replace")
            assert time.monotonic() < deadline, "the search never reached its third trial"
            time.sleep(0.1)
    finally:
        process.kill()  # SIGKILL: no callback, no finally runs
        output = process.communicate()[0].decode(errors="replace")
    assert process.returncode == -signal.SIGKILL, output
    (half_made,) = running
    killed_trial = half_made.data.tags["trial_id"]
    parents, children = split_runs(all_runs(client, "p"))
    assert len(parents) == 1 and parents[0].info.status == "RUNNING" and len(children) == 3

    resumed = _run_search(tmp_path, url, "run")
    output = resumed.communicate(timeout=300)[0].decode(errors="replace")
    assert resumed.returncode == 0 and "SEARCH DONE" in output, output
    assert "could not log" not in output

    parents, children = split_runs(all_runs(client, "p"))
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    trials = {t.trial_id: t for t in read_project(tmp_path / "runs" / "p").trials}
    assert len(trials) == 5 and sorted(children) == sorted(trials)
    for trial_id, runs in children.items():
        (run,) = runs  # exactly one child run per trial id
        assert run.info.status == "FINISHED" and run.data.tags["status"] == "COMPLETED"
        assert_history(steps_and_values(client, run, "loss"), trials[trial_id], "loss")
    (again,) = children[killed_trial]
    assert again.info.run_id == half_made.info.run_id  # the half-made run was finished
