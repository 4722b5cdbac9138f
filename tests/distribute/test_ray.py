"""Parallel search on Ray: the oracle host, and whole searches on a real local Ray cluster.

The host tests run the :class:`OracleHost` in this process (it is a plain class; Ray only
calls it remotely). The ``ray`` tests start one local cluster with 2 CPUs for the module and
run real searches on it: Keras searches (tiny models), and framework-free ones whose trials
sleep, for the failure tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tuner as kt
from tuner.distribute import artifacts
from tuner.distribute.oracle_host import OracleHost, OracleSpec
from tuner.errors import MissingDependencyError
from tuner.execution.messages import request, result_of
from tuner.hyperparameters import HyperParameters
from tuner.oracles import GridSearchOracle, RandomSearchOracle
from tuner.storage.json_dir import JsonDirStorage
from tuner.trial import Trial, TrialStatus

HAS_RAY = importlib.util.find_spec("ray") is not None
requires_ray = pytest.mark.skipif(
    not HAS_RAY, reason="ray is not installed (pip install tuner[ray])"
)
ROOT = Path(__file__).resolve().parents[2]
#: Set in the workers' environment only: trials that see it kill their worker.
KILLER_VARIABLE = "TUNER_TEST_KILL_WORKER_AT"


# --- the oracle host, in this process ------------------------------------------------------------
def _space() -> HyperParameters:
    hp = HyperParameters()
    hp.Choice("x", [0.1, 0.2, 0.9, 0.4])
    return hp


class _Workers:
    """Sends a host the requests its workers would (tuner id first), as JSON texts of trials."""

    def __init__(self, host: OracleHost):
        self.host = host

    def __getattr__(self, name: str) -> Any:
        return getattr(self.host, name)  # worker_died, changes_since: the driver's calls

    def _result(self, worker: str, call: str, files: Any = None, **arguments: Any) -> Any:
        message = request(call, **arguments)
        if files:
            message["files"] = files
        return result_of(self.host.call(worker, message))

    def create_trial(self, tuner_id: str) -> Trial:
        return Trial.from_dict(self._result(tuner_id, "create_trial", tuner_id=tuner_id))

    def update_trial(self, tuner_id: str, trial_id: str, metrics: Any, step: int) -> str:
        arguments = {"trial_id": trial_id, "metrics": metrics, "step": step}
        return self._result(tuner_id, "update_trial", **arguments)

    def end_trial(self, tuner_id: str, trial_json: str, files: Any) -> str:
        trial = json.loads(trial_json)
        return json.dumps(self._result(tuner_id, "end_trial", files, trial=trial))

    def get_trial(self, trial_id: str) -> str:
        return json.dumps(self._result("driver", "get_trial", trial_id=trial_id))

    def update_space(self, config: Any) -> None:
        self._result("driver", "update_space", hyperparameters=config)


def _host(tmp_path: Path, oracle: Any = None, reruns: int = 1) -> _Workers:
    """A host over a project that a driver created, as ``run_distributed_search`` does."""
    oracle = oracle or GridSearchOracle(objective="loss", hyperparameters=_space(), seed=1)
    oracle.attach_storage(JsonDirStorage(tmp_path / "project"))
    return _Workers(OracleHost(OracleSpec.of(oracle), str(tmp_path / "project"), reruns))


def _create(host: _Workers, tuner_id: str) -> Trial:
    return host.create_trial(tuner_id)


def _finish(host: _Workers, tuner_id: str, trial: Trial, loss: float = 1.0) -> Trial:
    host.update_trial(tuner_id, trial.trial_id, {"loss": loss}, 0)
    trial.status = TrialStatus.COMPLETED
    text = host.end_trial(tuner_id, json.dumps(trial.to_dict()), {})
    return Trial.from_dict(json.loads(text))


def test_host_runs_the_trial_loop_for_several_workers(tmp_path):
    host = _host(tmp_path)
    first, second = _create(host, "a"), _create(host, "b")
    assert first.trial_id != second.trial_id and first.values != second.values
    files = {f"checkpoints/{first.trial_id}/weights.npz": b"weights"}
    host.update_trial("a", first.trial_id, {"loss": 0.5}, 0)
    first.status = TrialStatus.COMPLETED
    ended = Trial.from_dict(json.loads(host.end_trial("a", json.dumps(first.to_dict()), files)))
    assert ended.status == TrialStatus.COMPLETED and ended.score == 0.5
    checkpoint = tmp_path / "project/checkpoints" / first.trial_id / "weights.npz"
    assert checkpoint.read_bytes() == b"weights"
    stored = JsonDirStorage(tmp_path / "project").load_trials()
    assert [t.status for t in stored] == [TrialStatus.COMPLETED, TrialStatus.RUNNING]


def test_host_requeues_the_trial_of_a_dead_worker_then_fails_it(tmp_path):
    host = _host(tmp_path, reruns=1)
    lost = _create(host, "a")
    assert host.worker_died("a", "killed") == {"held_trial": True, "work_left": True}
    assert _create(host, "a").status == TrialStatus.STOPPED  # the dead never get work
    again = _create(host, "b")
    assert (again.trial_id, again.values, again.retries) == (lost.trial_id, lost.values, 1)
    assert again.metrics.metrics == {}
    host.worker_died("b", "killed again")
    failed = Trial.from_dict(json.loads(host.get_trial(lost.trial_id)))
    assert failed.status == TrialStatus.FAILED
    assert "died 2 time(s)" in failed.message and "killed again" in failed.message
    assert _create(host, "c").status == TrialStatus.RUNNING  # the search goes on


def test_host_ignores_reports_of_a_worker_declared_dead(tmp_path):
    host = _host(tmp_path)
    trial = _create(host, "a")
    host.worker_died("a", "node lost")
    # A call the dead worker sent before dying arrives late: it must not end the trial.
    assert host.update_trial("a", trial.trial_id, {"loss": 0.1}, 0) == "STOPPED"
    late = _finish(host, "a", trial, loss=0.1)
    assert late.status == TrialStatus.RUNNING and late.score is None
    rerun = _create(host, "b")
    assert _finish(host, "b", rerun, loss=0.3).score == 0.3


def test_host_makes_workers_wait_while_a_running_trial_may_change_the_answer(tmp_path):
    oracle = RandomSearchOracle(objective="loss", max_trials=5, seed=1)  # empty space
    host = _host(tmp_path, oracle)
    first = _create(host, "a")
    assert _create(host, "b").status == TrialStatus.IDLE  # not STOPPED: "a" may grow the space
    host.update_space(_space().get_config())
    _finish(host, "a", first)
    assert _create(host, "b").status == TrialStatus.RUNNING


def test_a_host_on_another_machine_works_on_a_copy_the_driver_follows(tmp_path):
    local = tmp_path / "local"  # the driver's project, out of the host's reach (Ray Client)
    driver_oracle = GridSearchOracle(objective="loss", hyperparameters=_space(), seed=1)
    driver_oracle.attach_storage(JsonDirStorage(local))
    host = _Workers(
        OracleHost(OracleSpec.of(driver_oracle), None, 1, artifacts.collect_project_files(local))
    )
    trial = _create(host, "a")
    position, files = host.changes_since(0)
    assert f"trials/{trial.trial_id}.json" in files
    artifacts.write_files(local, files)
    host.update_trial("a", trial.trial_id, {"loss": 0.5}, 0)
    trial.status = TrialStatus.COMPLETED
    checkpoint = f"checkpoints/{trial.trial_id}/weights.npz"
    host.end_trial("a", json.dumps(trial.to_dict()), {checkpoint: b"weights"})
    position, files = host.changes_since(position)
    order = list(files)
    assert order.index(checkpoint) < order.index(f"trials/{trial.trial_id}.json")
    artifacts.write_files(local, files)
    assert host.changes_since(position) == (position, {})
    [copied] = JsonDirStorage(local).load_trials()
    assert copied.status == TrialStatus.COMPLETED and copied.score == 0.5
    assert (local / checkpoint).read_bytes() == b"weights"


def test_oracle_spec_names_an_oracle_that_cannot_be_rebuilt():
    class PickyOracle(RandomSearchOracle):
        def __init__(self, objective: Any, threshold: float):
            super().__init__(objective=objective)
            self.threshold = threshold

    with pytest.raises(TypeError, match=r"PickyOracle cannot run on Ray workers.*get_config"):
        OracleSpec.of(PickyOracle("loss", 0.5))


def test_artifacts_stay_inside_the_project(tmp_path):
    for path in ("../escape.txt", "/etc/passwd", ""):
        with pytest.raises(ValueError, match="not a path inside the project"):
            artifacts.write_files(tmp_path, {path: b"x"})
    (tmp_path / "logs/03/execution0").mkdir(parents=True)
    (tmp_path / "logs/03/execution0/events").write_bytes(b"e")
    (tmp_path / "checkpoints/03").mkdir(parents=True)
    (tmp_path / "checkpoints/03/.weights.npz.tmp").write_bytes(b"torn")
    assert artifacts.collect_trial_files(tmp_path, "03") == {"logs/03/execution0/events": b"e"}


# --- configuration -------------------------------------------------------------------------------
@requires_ray
def test_ray_workers_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="at least one worker"):
        kt.RayWorkers(0)
    with pytest.raises(ValueError, match="cpus_per_worker"):
        kt.RayWorkers(2, cpus_per_worker=-1)
    with pytest.raises(ValueError, match="fractions below 1"):
        kt.RayWorkers(2, gpus_per_worker=1.5)
    with pytest.raises(TypeError, match=r"workers must be kt\.RayWorkers"):
        SleepyTuner(_sleepy_oracle(2), directory=str(tmp_path), workers=2)
    packed = kt.RayWorkers(8, cpus_per_worker=1, gpus_per_worker=0.25).worker_env_vars()
    assert packed["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert packed["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert packed["TF_NUM_INTRAOP_THREADS"] == "1"


def test_without_ray_the_message_says_what_to_install():
    hide_ray = textwrap.dedent(
        """
        import sys
        class HideRay:
            def find_spec(self, name, path=None, target=None):
                if name == "ray" or name.startswith("ray."):
                    raise ModuleNotFoundError(name)
        sys.meta_path.insert(0, HideRay())
        import tuner as kt
        try:
            kt.RayWorkers(2)
        except kt.errors.MissingDependencyError as error:
            print(error)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", hide_ray], capture_output=True, text=True, check=True
    )
    assert "pip install tuner[ray]" in result.stdout
    assert issubclass(MissingDependencyError, ImportError)


# --- real searches on a local Ray cluster --------------------------------------------------------
if HAS_RAY:
    import ray
    from ray import cloudpickle

    # Workers receive this module's functions and classes by value: they need not import it.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])

    from tuner.distribute.driver import worker_actor_name


@pytest.fixture(scope="module")
def ray_cluster():
    if not HAS_RAY:
        pytest.skip("ray is not installed (pip install tuner[ray])")
    # address="local": a cluster of its own, even if `ray start` runs on this machine.
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


class SleepyTuner(kt.BaseTuner):
    """A framework-free trial: a few steps of sleep, each reported to the oracle."""

    def run_trial(self, trial: Trial, pause: float = 0.15, steps: int = 3, **_: Any) -> None:
        x = trial.hyperparameters.get("x")
        if str(x) == os.environ.get(KILLER_VARIABLE):
            os._exit(1)  # this trial kills the process it runs in
        for step in range(steps):
            time.sleep(pause)
            self.oracle.update_trial(
                trial.trial_id, {"loss": (x - 0.3) ** 2 + 1 / (step + 1)}, step
            )


def _sleepy_oracle(max_trials: int, **kwargs: Any) -> RandomSearchOracle:
    hp = HyperParameters()
    hp.Float("x", -1.0, 1.0)
    return RandomSearchOracle(
        objective="loss", max_trials=max_trials, seed=3, hyperparameters=hp, **kwargs
    )


def _trials_on_disk(project_dir: Path) -> list[Trial]:
    return JsonDirStorage(project_dir).load_trials()


def _distinct_values(trials: list[Trial]) -> int:
    return len({json.dumps(t.values, sort_keys=True) for t in trials})


def _cancer_data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x[:300].astype("float32"), y[:300].astype("float32")


def build_model(hp: HyperParameters) -> Any:
    import keras

    model = keras.Sequential(
        [
            keras.Input((30,)),
            keras.layers.Dense(hp.Choice("units", [8, 16]), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(hp.Choice("learning_rate", [1e-3, 3e-2])),
        "binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pytest.mark.ray
def test_random_search_on_two_workers(ray_cluster, tmp_path):
    tuner = SleepyTuner(
        _sleepy_oracle(8), directory=str(tmp_path), project_name="random", workers=kt.RayWorkers(2)
    )
    tuner.search(pause=0.05, verbose=0)
    trials = _trials_on_disk(tmp_path / "random")
    assert len(trials) == 8 and _distinct_values(trials) == 8
    assert all(t.status == TrialStatus.COMPLETED for t in trials)
    assert {t.tuner_id for t in trials} <= {"ray-worker-0", "ray-worker-1"}
    assert all(len(t.metrics.get_history("loss")) == 3 for t in trials)  # streamed per step
    assert len(tuner.oracle.trials) == 8  # the driver's oracle caught up with the project
    best = min(trials, key=lambda t: t.score)
    assert tuner.oracle.get_best_trials(1)[0].trial_id == best.trial_id


class FileLogger:
    """A keras-tuner logger that appends each call, with the id of the process making it, to a
    file (picklable: it holds only the path)."""

    def __init__(self, path: str):
        self.path = path

    def _write(self, *words: Any) -> None:
        with open(self.path, "a") as handle:
            handle.write(" ".join([str(os.getpid()), *map(str, words)]) + "\n")

    def register_tuner(self, tuner_state: dict[str, Any]) -> None:
        self._write("register_tuner", tuner_state["project_name"])

    def register_trial(self, trial_id: str, trial_state: dict[str, Any]) -> None:
        self._write("register_trial", trial_id)

    def report_trial_state(self, trial_id: str, trial_state: dict[str, Any]) -> None:
        self._write("report_trial_state", trial_id, trial_state["status"])

    def exit(self) -> None:
        self._write("exit")


@pytest.mark.ray
def test_mlflow_and_the_logger_log_each_trial_from_its_worker(
    ray_cluster, make_mlflow_store, tmp_path
):
    from mlflow.tracking import MlflowClient

    from tuner.integrations.mlflow import PARENT_RUN_TAG, MLflowCallback

    uri = make_mlflow_store(tmp_path)
    tracker = MLflowCallback(uri)
    log = tmp_path / "logger.txt"
    with pytest.warns(DeprecationWarning, match="logger"):
        tuner = SleepyTuner(
            _sleepy_oracle(4), directory=str(tmp_path), project_name="tracked",
            workers=kt.RayWorkers(2), logger=FileLogger(str(log)), search_callbacks=[tracker],
        )  # fmt: skip
    tuner.search(pause=0.05, verbose=0)
    trials = {t.trial_id: t for t in _trials_on_disk(tmp_path / "tracked")}
    assert len(trials) == 4

    client = MlflowClient(uri)
    runs = client.search_runs([tracker.experiment_id])
    assert len(runs) == 5  # the search's run and one per trial, none twice
    parent = client.get_run(tracker.parent_run_id)
    assert parent.info.status == "FINISHED"
    children = {r.data.tags["trial_id"]: r for r in runs if PARENT_RUN_TAG in r.data.tags}
    assert sorted(children) == sorted(trials)
    for trial_id, run in children.items():
        assert run.data.tags[PARENT_RUN_TAG] == tracker.parent_run_id
        assert run.data.tags["tuner_id"] == trials[trial_id].tuner_id  # logged by its worker
        assert run.info.status == "FINISHED" and run.data.tags["status"] == "COMPLETED"
        history = client.get_metric_history(run.info.run_id, "loss")
        assert sorted(m.step for m in history) == [0, 1, 2]
    assert {r.data.tags["tuner_id"] for r in children.values()} <= {"ray-worker-0", "ray-worker-1"}
    assert tracker.caught_up == []  # the workers logged every trial; the driver had none left

    # The logger: the search's calls on the driver, the trials' on the workers.
    calls = [line.split() for line in log.read_text().splitlines()]
    driver = str(os.getpid())
    assert [call[1:] for call in calls if call[0] == driver] == [
        ["register_tuner", "tracked"],
        ["exit"],
    ]
    on_workers = [call[1:] for call in calls if call[0] != driver]
    assert sorted(c[1] for c in on_workers if c[0] == "register_trial") == sorted(trials)
    reported = sorted((c[1], c[2]) for c in on_workers if c[0] == "report_trial_state")
    assert reported == [(trial_id, "COMPLETED") for trial_id in sorted(trials)]


@pytest.mark.ray
@pytest.mark.keras
def test_grid_search_on_two_workers_finds_the_sequential_best(ray_cluster, tmp_path):
    x, y = _cancer_data()
    results = {}
    for name, workers in (("sequential", None), ("ray", kt.RayWorkers(2))):
        tuner = kt.GridSearch(
            build_model,
            objective="val_loss",
            seed=1,
            directory=str(tmp_path),
            project_name=name,
            workers=workers,
        )
        tuner.search(x, y, epochs=2, validation_split=0.2, verbose=0)
        results[name] = _trials_on_disk(tmp_path / name)
        results[name + "_best"] = tuner.get_best_hyperparameters(1)[0].values
    assert len(results["ray"]) == 4 and _distinct_values(results["ray"]) == 4
    assert results["ray_best"] == results["sequential_best"]
    sequential = {t.trial_id: t for t in results["sequential"]}
    for trial in results["ray"]:  # each grid point, same seed: the same training
        assert trial.values == sequential[trial.trial_id].values
        assert trial.score == pytest.approx(sequential[trial.trial_id].score, rel=1e-3)
        assert len(trial.metrics.get_history("val_loss")) == 2  # streamed per epoch
        # The best weights came back to the driver's project directory.
        assert (tmp_path / "ray/checkpoints" / trial.trial_id / "weights.npz").is_file()
    best = tuner.oracle.get_best_trials(1)[0]
    model = tuner.get_best_models(1)[0]
    loss = model.evaluate(x[240:], y[240:], verbose=0)[0]  # the validation split
    assert loss == pytest.approx(best.score, rel=1e-3)


def _search_in_thread(tuner: kt.BaseTuner, **fit_kwargs: Any) -> tuple[threading.Thread, list]:
    raised: list[BaseException] = []

    def search() -> None:
        try:
            tuner.search(**fit_kwargs)
        except BaseException as error:  # reported by the test
            raised.append(error)

    thread = threading.Thread(target=search)
    thread.start()
    return thread, raised


def _wait_for(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.ray
def test_a_killed_worker_loses_no_trial(ray_cluster, tmp_path):
    project = tmp_path / "killed"
    tuner = SleepyTuner(
        _sleepy_oracle(6), directory=str(tmp_path), project_name="killed", workers=kt.RayWorkers(2)
    )
    # Trials of 3 x 1 s: a starting trial's file appears within its grace period (0.5-0.75 s),
    # and the kill must still land in the middle of the trial.
    thread, raised = _search_in_thread(tuner, pause=1.0, verbose=0)

    def trial_of_worker_zero() -> Trial | None:
        running = (t for t in _trials_on_disk(project) if t.status == TrialStatus.RUNNING)
        return next((t for t in running if t.tuner_id == "ray-worker-0"), None)

    _wait_for(lambda: trial_of_worker_zero() is not None, "ray-worker-0 to start a trial")
    victim = trial_of_worker_zero()
    time.sleep(0.3)  # at most about 1.1 s into a 3-s trial
    ray.kill(ray.get_actor(worker_actor_name(str(project), "ray-worker-0")))
    thread.join(timeout=120)
    assert not thread.is_alive() and not raised, raised
    trials = _trials_on_disk(project)
    assert len(trials) == 6 and _distinct_values(trials) == 6
    assert all(t.status == TrialStatus.COMPLETED for t in trials)
    rerun = next(t for t in trials if t.trial_id == victim.trial_id)
    assert rerun.retries == 1 and rerun.tuner_id != "ray-worker-0"
    assert [o.step for o in rerun.metrics.get_history("loss")] == [0, 1, 2]  # no stale steps


@pytest.mark.ray
def test_a_trial_that_kills_its_workers_fails_after_max_retries(ray_cluster, tmp_path):
    oracle = GridSearchOracle(objective="loss", hyperparameters=_space(), max_retries_per_trial=2)
    tuner = SleepyTuner(
        oracle,
        directory=str(tmp_path),
        project_name="killer",
        workers=kt.RayWorkers(2, env_vars={KILLER_VARIABLE: "0.9"}),
    )
    tuner.search(pause=0.05, verbose=0)
    trials = {t.values["x"]: t for t in _trials_on_disk(tmp_path / "killer")}
    assert sorted(trials) == [0.1, 0.2, 0.4, 0.9]
    killer = trials.pop(0.9)
    assert killer.status == TrialStatus.FAILED and killer.retries == 2
    assert "died 3 time(s)" in killer.message
    assert all(t.status == TrialStatus.COMPLETED for t in trials.values())
    assert tuner.get_best_hyperparameters(1)[0].values["x"] == 0.2


class FatalTuner(SleepyTuner):
    def run_trial(self, trial: Trial, **kwargs: Any) -> None:
        if trial.hyperparameters.get("x") == 0.9:
            raise kt.errors.FatalValueError("x=0.9 is not allowed: fix the model")
        super().run_trial(trial, **kwargs)


@pytest.mark.ray
def test_a_fatal_error_on_a_worker_stops_the_search_on_the_driver(ray_cluster, tmp_path):
    oracle = GridSearchOracle(objective="loss", hyperparameters=_space())
    tuner = FatalTuner(
        oracle, directory=str(tmp_path), project_name="fatal", workers=kt.RayWorkers(2)
    )
    with pytest.raises(kt.errors.FatalValueError, match=r"x=0\.9 is not allowed"):
        tuner.search(pause=0.05, verbose=0)
    statuses = {t.values["x"]: t.status for t in _trials_on_disk(tmp_path / "fatal")}
    assert statuses[0.9] == TrialStatus.RUNNING  # runs again when the search is resumed
    # The project is free again, and the driver's oracle knows what the workers did.
    assert len(tuner.oracle.trials) == len(statuses)
    SleepyTuner(
        GridSearchOracle(objective="loss", hyperparameters=_space()),
        directory=str(tmp_path),
        project_name="fatal",
    ).search(pause=0.0, verbose=0)
    assert all(t.status == TrialStatus.COMPLETED for t in _trials_on_disk(tmp_path / "fatal"))


DRIVER_SCRIPT = """
import sys
import tuner as kt
from tests.distribute.test_ray import SleepyTuner, _sleepy_oracle

address, directory = sys.argv[1:3]
tuner = SleepyTuner(_sleepy_oracle(6), directory=directory, project_name="resumed",
                    workers=kt.RayWorkers(2, address=address))
tuner.search(pause=0.3, verbose=0)
"""


@pytest.mark.ray
def test_a_killed_driver_resumes_where_it_stopped(ray_cluster, tmp_path):
    project = tmp_path / "resumed"
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER_SCRIPT, ray_cluster, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(
            lambda: sum(t.status == TrialStatus.COMPLETED for t in _trials_on_disk(project)) >= 2,
            "two completed trials",
            timeout=90,
        )
        before = {t.trial_id: t for t in _trials_on_disk(project)}
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
    completed_before = {i: t for i, t in before.items() if t.status == TrialStatus.COMPLETED}
    assert 2 <= len(completed_before) < 6

    tuner = SleepyTuner(
        _sleepy_oracle(6),
        directory=str(tmp_path),
        project_name="resumed",
        workers=kt.RayWorkers(2),
    )
    tuner.search(pause=0.05, verbose=0)
    trials = {t.trial_id: t for t in _trials_on_disk(project)}
    assert len(trials) == 6 and _distinct_values(list(trials.values())) == 6
    assert all(t.status == TrialStatus.COMPLETED for t in trials.values())
    for trial_id, trial in completed_before.items():  # finished trials were not run again
        assert trials[trial_id].end_time == trial.end_time
        assert trials[trial_id].score == trial.score


CLIENT_SCRIPT = """
import sys
import tuner as kt
from tests.distribute.test_ray import SleepyTuner, _sleepy_oracle

address, directory = sys.argv[1:3]
tuner = SleepyTuner(_sleepy_oracle(6), directory=directory, project_name="client",
                    workers=kt.RayWorkers(2, address=address))
tuner.search(pause=0.1, verbose=0)
print("best", tuner.oracle.get_best_trials(1)[0].trial_id)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("TUNER_TEST_RAY_CLIENT") != "1",
    reason="starts a second Ray cluster with a Ray Client server (about a minute; Ray Client's "
    "per-connection server can time out on a loaded machine): set TUNER_TEST_RAY_CLIENT=1",
)
def test_a_search_through_ray_client_writes_the_project_here(tmp_path):
    if shutil.which("ray") is None:
        pytest.skip("the `ray` command is not on PATH")
    client_port = _free_port()
    # Token authentication is off for this throw-away cluster: Ray Client does not send the
    # token in every Ray version.
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PYTHONPATH": str(ROOT)}
    head = subprocess.Popen(
        [
            "ray",
            "start",
            "--head",
            f"--port={_free_port()}",
            f"--ray-client-server-port={client_port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
            "--block",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, ended below
    )
    try:
        driver = subprocess.run(
            [sys.executable, "-c", CLIENT_SCRIPT, f"ray://127.0.0.1:{client_port}", str(tmp_path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert driver.returncode == 0, driver.stderr[-3000:]
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
    trials = _trials_on_disk(tmp_path / "client")  # copied back from the cluster
    assert len(trials) == 6 and _distinct_values(trials) == 6
    assert all(t.status == TrialStatus.COMPLETED for t in trials)
    best = min(trials, key=lambda t: t.score)
    assert f"best {best.trial_id}" in driver.stdout


@requires_ray
def test_a_search_that_starts_ray_gets_a_runtime_of_its_own(monkeypatch):
    from tuner.distribute.driver import _init_arguments

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    # Not Ray's default (the last `ray start` cluster, which hangs when its address file is
    # stale), and no dashboard competing with the trials.
    assert _init_arguments(kt.RayWorkers(2)) == {"address": "local", "include_dashboard": False}
    chosen = _init_arguments(kt.RayWorkers(2, init_kwargs={"include_dashboard": True}))
    assert chosen["include_dashboard"] is True
    # A cluster that is joined keeps its own settings.
    assert _init_arguments(kt.RayWorkers(2, address="ray://head:10001")) == {
        "address": "ray://head:10001"
    }
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")  # a Ray job: join its cluster
    assert _init_arguments(kt.RayWorkers(2)) == {"address": None}
