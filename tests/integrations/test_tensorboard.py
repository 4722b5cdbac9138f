"""TensorBoard: event files read back with TensorBoard's reader, and a real TensorBoard server."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tensorboard.backend.event_processing import plugin_event_accumulator
from tensorboard.plugins.hparams import api_pb2, metadata
from tensorboard.plugins.hparams import summary_v2 as hparams_summary
from tensorboard.util import tensor_util

import tuner as kt
from tuner.errors import StorageError
from tuner.integrations import tensorboard
from tuner.integrations.tensorboard import export_hparams
from tuner.results import SearchResults, read_project
from tuner.trial import TrialStatus

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


# --- reading a log directory back with TensorBoard's event reader -------------------------------
def read_run(run_dir: Path) -> plugin_event_accumulator.EventAccumulator:
    """The events of one run (the event files right in ``run_dir``), as TensorBoard reads them."""
    accumulator = plugin_event_accumulator.EventAccumulator(str(run_dir))
    accumulator.Reload()
    return accumulator


def read_experiment(log_dir: Path) -> api_pb2.Experiment:
    run = read_run(log_dir)
    content = run.SummaryMetadata(metadata.EXPERIMENT_TAG).plugin_data.content
    return metadata.parse_experiment_plugin_data(content)


def read_session(log_dir: Path, trial_id: str) -> dict[str, Any]:
    """A trial's session: its values, status and final metrics."""
    run = read_run(log_dir / trial_id)
    start = metadata.parse_session_start_info_plugin_data(
        run.SummaryMetadata(metadata.SESSION_START_INFO_TAG).plugin_data.content
    )
    end = metadata.parse_session_end_info_plugin_data(
        run.SummaryMetadata(metadata.SESSION_END_INFO_TAG).plugin_data.content
    )
    values = {}
    for name, value in start.hparams.items():
        kind = value.WhichOneof("kind")
        values[name] = {"number_value": value.number_value, "bool_value": value.bool_value,
                        "string_value": value.string_value}[kind]  # fmt: skip
    metrics = {}
    for tag in run.Tags()["tensors"]:
        if tag.startswith("_hparams_/"):
            continue
        (event,) = run.Tensors(tag)  # one value per trial: a resumed search does not repeat it
        metrics[tag] = (float(tensor_util.make_ndarray(event.tensor_proto)), event.step)
    sessions = run.Tensors(metadata.SESSION_START_INFO_TAG)
    return {
        "group": start.group_name,
        "values": values,
        "status": api_pb2.Status.Name(end.status),
        "metrics": metrics,
        "sessions": len(sessions),
    }


def hparam_domains(experiment: api_pb2.Experiment) -> dict[str, Any]:
    domains: dict[str, Any] = {}
    for info in experiment.hparam_infos:
        if info.HasField("domain_interval"):
            domains[info.name] = (info.domain_interval.min_value, info.domain_interval.max_value)
        else:
            domains[info.name] = [_value(v) for v in info.domain_discrete.values]
    return domains


def _value(value: Any) -> Any:
    return getattr(value, value.WhichOneof("kind"))


def expected_values(trial: kt.Trial) -> dict[str, Any]:
    """Exactly the trial's values, as keras-tuner writes them (numbers as HParams floats)."""
    return {name: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
            for name, v in trial.values.items()}  # fmt: skip


def marked_files(directory: Path, mark: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if f".{mark}." in p.name)


# --- a framework-free search --------------------------------------------------------------------
class FunctionTuner(kt.BaseTuner):
    """Runs ``function(hp)`` as the trial: no Keras involved."""

    def __init__(self, function, max_trials: int, objective: Any = None, **kwargs: Any):
        self.function = function
        oracle = kt.oracles.RandomSearchOracle(
            objective=objective or kt.Objective("loss", "min"), max_trials=max_trials, seed=7,
            max_consecutive_failed_trials=10, constraints=kwargs.pop("constraints", None),
        )  # fmt: skip
        super().__init__(oracle, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        return self.function(trial.hyperparameters)


def conditional_objective(hp: kt.HyperParameters) -> dict[str, float]:
    model = hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["mlp"]):
        units = hp.Int("mlp_units", 8, 64, step=8)
    with hp.conditional_scope("model", ["cnn"]):
        filters = hp.Int("cnn_filters", 4, 32, step=4)
    lr = hp.Float("lr", 1e-3, 1e-1, sampling="log")
    hp.Boolean("batch_norm")
    hp.Fixed("epochs", 3)
    if model == "cnn" and filters >= 24:
        raise ValueError("this model does not fit")
    size = units if model == "mlp" else filters
    return {"loss": (lr - 0.01) ** 2 + 1 / size, "accuracy": 1 - 1 / size}


def test_experiment_declares_every_hyperparameter_with_its_domain(tmp_path):
    search = FunctionTuner(conditional_objective, max_trials=6, directory=str(tmp_path))
    search.search(verbose=0)
    log_dir = Path(search.export_tensorboard(str(tmp_path / "logs")))

    experiment = read_experiment(log_dir)
    assert hparam_domains(experiment) == {
        "model": ["cnn", "mlp"],
        "mlp_units": (8.0, 64.0),
        "cnn_filters": (4.0, 32.0),
        "lr": (pytest.approx(1e-3), pytest.approx(1e-1)),
        "batch_norm": [False, True],
        "epochs": [3.0],
    }  # the trials' values only: no tuner/status beside them
    infos = {info.name: info for info in experiment.hparam_infos}
    assert "active when model is one of ['cnn']" in infos["cnn_filters"].description
    assert not infos["epochs"].differs and infos["lr"].differs
    metrics = [(m.name.tag, m.display_name) for m in experiment.metric_infos]
    assert metrics == [("loss", "loss (objective)"), ("accuracy", "")]


def test_every_trial_is_a_session_with_its_values_status_and_final_metrics(tmp_path):
    search = FunctionTuner(conditional_objective, max_trials=8, directory=str(tmp_path))
    search.search(verbose=0)
    log_dir = Path(search.export_tensorboard())
    assert log_dir == Path(search.project_dir) / "logs"

    trials = list(search.oracle.trials.values())
    statuses = {trial.status for trial in trials}
    assert statuses == {TrialStatus.COMPLETED, TrialStatus.FAILED}, "the seed gives both"
    for trial in trials:
        session = read_session(log_dir, trial.trial_id)
        # Inactive conditional hyperparameters have no value: their cell is blank.
        assert session["values"] == pytest.approx(expected_values(trial))
        assert "tuner/status" not in session["values"]
        assert len({"mlp_units", "cnn_filters"} & set(session["values"])) == 1
        assert session["group"] == trial.trial_id and session["sessions"] == 1
        if trial.status == TrialStatus.COMPLETED:
            assert session["status"] == "STATUS_SUCCESS"
            assert session["metrics"]["loss"] == (pytest.approx(trial.score), 0)
            assert set(session["metrics"]) == {"loss", "accuracy"}
        else:
            assert session["status"] == "STATUS_FAILURE" and session["metrics"] == {}


def test_every_objective_and_constraint_metric_and_feasibility_are_in_the_dashboard(tmp_path):
    def trade_off(hp):
        x = hp.Float("x", 0.0, 1.0)
        return {"loss": x, "size": 1 - x, "seconds": 4 * x}

    search = FunctionTuner(
        trade_off, max_trials=6, directory=str(tmp_path),
        objective=["loss", kt.Objective("size", "min")],
        constraints=[kt.Constraint("seconds", max_value=2.0)],
    )  # fmt: skip
    search.search(verbose=0)
    log_dir = Path(search.export_tensorboard())
    declared = {m.name.tag for m in read_experiment(log_dir).metric_infos}
    assert {"loss", "size", "seconds", "feasible", "multi_objective"} <= declared
    for trial in search.oracle.trials.values():
        metrics = read_session(log_dir, trial.trial_id)["metrics"]
        assert metrics["feasible"][0] == (1.0 if trial.feasible else 0.0)
        assert metrics["size"][0] == pytest.approx(trial.objective_values["size"])
        assert metrics["seconds"][0] == pytest.approx(trial.constraint_values["seconds"])
    assert {t.feasible for t in search.oracle.trials.values()} == {True, False}


def test_export_again_and_after_a_resume_adds_only_new_trials(tmp_path):
    FunctionTuner(conditional_objective, max_trials=3, directory=str(tmp_path),
                  project_name="p").search(verbose=0)  # fmt: skip
    project_dir = str(tmp_path / "p")
    log_dir = tmp_path / "logs"
    assert export_hparams(project_dir, str(log_dir)) == str(log_dir)
    first = {p.relative_to(log_dir): p.stat().st_mtime_ns for p in log_dir.rglob("*tfevents*")}
    export_hparams(project_dir, str(log_dir))
    assert {p.relative_to(log_dir): p.stat().st_mtime_ns for p in log_dir.rglob("*tfevents*")} == (
        first
    )

    resumed = FunctionTuner(conditional_objective, max_trials=6, directory=str(tmp_path),
                            project_name="p")  # fmt: skip
    resumed.search(verbose=0)
    export_hparams(project_dir, str(log_dir))
    for trial in resumed.oracle.trials.values():
        assert len(marked_files(log_dir / trial.trial_id, tensorboard.TRIAL_FILE_MARK)) == 1
        assert read_session(log_dir, trial.trial_id)["sessions"] == 1
    for path, mtime in first.items():  # what was written stays as it was
        if path.parent != Path("."):
            assert (log_dir / path).stat().st_mtime_ns == mtime
    assert len(marked_files(log_dir, tensorboard.EXPERIMENT_FILE_MARK)) == 1


def hyperband_like_project(tmp_path: Path) -> str:
    """A project whose trials carry budget values, as Hyperband's do; the last one runs."""
    search = FunctionTuner(lambda hp: {"loss": hp.Float("x", 0.0, 1.0)}, max_trials=3,
                           directory=str(tmp_path), project_name="p")  # fmt: skip
    oracle = search.oracle
    space = kt.HyperParameters()
    space.Float("x", 0.0, 1.0)
    oracle.update_space(space)
    first_id = None
    for epochs, status in ((3, "COMPLETED"), (9, "STOPPED"), (9, None)):
        trial = oracle.create_trial("worker")
        trial.hyperparameters.values["tuner/epochs"] = epochs
        if first_id is None:
            first_id = trial.trial_id
        else:
            trial.hyperparameters.values["tuner/trial_id"] = first_id
        if status is not None:
            oracle.update_trial(trial.trial_id, {"loss": 0.5}, step=epochs - 1)
            trial.status = TrialStatus(status)
            oracle.end_trial(trial)
    search.save()  # the running trial's record is written even within its grace period
    return search.project_dir


def test_running_trials_wait_and_budget_values_are_declared(tmp_path):
    results = read_project(hyperband_like_project(tmp_path))
    first, stopped, _running = (trial.trial_id for trial in results.trials)
    log_dir = tmp_path / "logs"
    writer = tensorboard.HParamsWriter(log_dir)
    assert writer.write(results) == 2  # the RUNNING trial is left out
    assert sorted(p.name for p in log_dir.iterdir() if p.is_dir()) == [first, stopped]
    domains = hparam_domains(read_experiment(log_dir))
    assert domains["tuner/epochs"] == (3.0, 9.0) and domains["tuner/trial_id"] == [first]
    session = read_session(log_dir, stopped)
    assert session["values"]["tuner/trial_id"] == first and session["status"] == "STATUS_SUCCESS"
    assert session["metrics"] == {"loss": (0.5, 8)}  # the final metrics, at the best step
    assert writer.write(results) == 0


def test_nothing_is_declared_before_a_trial_has_metrics(tmp_path):
    def always_fails(hp):
        hp.Int("units", 1, 4)
        raise RuntimeError("broken")

    search = FunctionTuner(always_fails, max_trials=2, directory=str(tmp_path))
    search.search(verbose=0)
    log_dir = Path(search.export_tensorboard(str(tmp_path / "logs")))
    # TensorBoard never rereads a declaration: without metrics to declare, it infers the
    # columns from the sessions, which show the failures.
    assert marked_files(log_dir, tensorboard.EXPERIMENT_FILE_MARK) == []
    for trial_id in search.oracle.trials:
        assert read_session(log_dir, trial_id)["status"] == "STATUS_FAILURE"


def _finished_trial(trial_id: str, status: TrialStatus, units: int = 8) -> kt.Trial:
    space = kt.HyperParameters()
    space.Int("units", 8, 64, step=8)
    space.values["units"] = units
    trial = kt.Trial(trial_id, space, status, start_time=100.0, end_time=160.0)
    if status in (TrialStatus.COMPLETED, TrialStatus.STOPPED):
        trial.metrics.update("loss", 0.5, step=2)
        trial.score, trial.best_step = 0.5, 2
    return trial


def _results(*trials: kt.Trial) -> SearchResults:
    return SearchResults(kt.Objective("loss", "min"), trials[0].hyperparameters, tuple(trials))


@pytest.mark.parametrize(
    "status, session_status",
    [
        (TrialStatus.COMPLETED, "STATUS_SUCCESS"),
        (TrialStatus.STOPPED, "STATUS_SUCCESS"),
        (TrialStatus.FAILED, "STATUS_FAILURE"),
        (TrialStatus.INVALID, "STATUS_FAILURE"),
    ],
)
def test_a_trials_status_is_its_sessions_status_not_a_value(status, session_status, tmp_path):
    writer = tensorboard.HParamsWriter(tmp_path)
    assert writer.write(_results(_finished_trial("07", status, units=24))) == 1
    session = read_session(tmp_path, "07")
    assert session["status"] == session_status
    assert session["values"] == {"units": 24.0}  # exactly the trial's values


def test_a_running_trial_has_no_session(tmp_path):
    running = _finished_trial("01", TrialStatus.RUNNING)
    with pytest.raises(ValueError, match="01 is RUNNING"):
        tensorboard.trial_events(running, kt.Objective("loss", "min"))
    assert tensorboard.HParamsWriter(tmp_path).write(_results(running)) == 0
    assert not (tmp_path / "01").exists()


def test_a_changed_or_older_session_is_replaced_never_duplicated(tmp_path):
    session_dir = tmp_path / "03"
    # A session as an older version wrote it, with the status as a tuner/status value:
    old = _finished_trial("03", TrialStatus.FAILED)
    events = tensorboard.trial_events(old, kt.Objective("loss", "min"))
    events[0].summary.CopyFrom(
        hparams_summary.hparams_pb(
            {"units": 8, "tuner/status": "FAILED"}, trial_id="03", start_time_secs=100.0
        )
    )
    tensorboard._replace_event_file(session_dir, tensorboard.TRIAL_FILE_MARK, events, 160.0)
    assert "tuner/status" in read_session(tmp_path, "03")["values"]

    writer = tensorboard.HParamsWriter(tmp_path)
    assert writer.write(_results(old)) == 1  # rewritten in today's form, in place of the old one
    assert len(marked_files(session_dir, tensorboard.TRIAL_FILE_MARK)) == 1
    session = read_session(tmp_path, "03")
    assert session["values"] == {"units": 8.0} and session["status"] == "STATUS_FAILURE"
    # Retried and completed under the same id: the session follows, once.
    retried = _finished_trial("03", TrialStatus.COMPLETED)
    retried.end_time = 200.0
    assert tensorboard.HParamsWriter(tmp_path).write(_results(retried)) == 1
    assert len(marked_files(session_dir, tensorboard.TRIAL_FILE_MARK)) == 1
    session = read_session(tmp_path, "03")
    assert session["status"] == "STATUS_SUCCESS" and session["sessions"] == 1
    assert session["metrics"] == {"loss": (0.5, 2)}
    assert tensorboard.HParamsWriter(tmp_path).write(_results(retried)) == 0  # same content


def test_export_names_a_folder_that_is_not_a_project(tmp_path):
    with pytest.raises(StorageError, match="not a tuner project"):
        export_hparams(str(tmp_path), str(tmp_path / "logs"))
    assert not (tmp_path / "logs").exists()


def test_writing_imports_neither_tensorflow_nor_keras(tmp_path):
    FunctionTuner(conditional_objective, max_trials=2, directory=str(tmp_path),
                  project_name="p").search(verbose=0)  # fmt: skip
    code = (
        "import sys; from tuner.integrations.tensorboard import export_hparams; "
        f"export_hparams({str(tmp_path / 'p')!r}, {str(tmp_path / 'logs')!r}); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=ENV, timeout=120, check=True)  # fmt: skip
    assert result.stdout.strip() == "[]"
    assert list((tmp_path / "logs").glob("*/*tuner-trial*"))


# --- Keras: the TensorBoard callback -------------------------------------------------------------
class Builder:
    """A conditional model; chosen builds fail (``fail_on``) or interrupt the search."""

    def __init__(self):
        self.builds = 0
        self.fail_on: set[int] = set()

    def __call__(self, hp):
        import keras

        self.builds += 1
        kind = hp.Choice("kind", ["wide", "deep"])
        with hp.conditional_scope("kind", ["wide"]):
            wide_units = hp.Int("wide_units", 8, 32, step=8)
        with hp.conditional_scope("kind", ["deep"]):
            deep_units = hp.Int("deep_units", 8, 16, step=8)
        if self.builds in self.fail_on:
            raise ValueError("this build fails on purpose")
        layers = [keras.Input((30,))]
        if kind == "wide":
            layers.append(keras.layers.Dense(wide_units, activation="relu"))
        else:
            layers += [keras.layers.Dense(deep_units, activation="relu") for _ in range(2)]
        model = keras.Sequential([*layers, keras.layers.Dense(1, activation="sigmoid")])
        lr = hp.Float("lr", 1e-3, 1e-1, sampling="log")
        model.compile(keras.optimizers.Adam(lr), "binary_crossentropy", metrics=["accuracy"])
        return model


INTERRUPT = {"armed": False}


def _interrupt_callback():
    import keras

    class InterruptOnce(keras.callbacks.Callback):
        """Stops the whole search (as Ctrl-C does) at the end of an epoch, once."""

        def on_epoch_end(self, epoch, logs=None):
            if INTERRUPT["armed"]:
                INTERRUPT["armed"] = False
                raise KeyboardInterrupt

    return InterruptOnce()


@pytest.fixture(scope="module")
def keras_search(tmp_path_factory):
    """A search with a TensorBoard callback: a failed trial, an interruption, then a resume."""
    keras = pytest.importorskip("keras")
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")[:240]
    y = y.astype("float32")[:240]
    directory = tmp_path_factory.mktemp("keras_tensorboard")
    log_dir = directory / "logs"
    builder = Builder()
    builder.fail_on = {3}  # trial 1's first build: executions 0 and 1 of trial 0 are builds 1-2

    def search(max_trials: int) -> kt.Tuner:
        tuner = kt.RandomSearch(builder, objective="val_accuracy", max_trials=max_trials, seed=3,
                                executions_per_trial=2, directory=str(directory),
                                project_name="p", max_consecutive_failed_trials=5)  # fmt: skip
        callbacks = [keras.callbacks.TensorBoard(log_dir=str(log_dir)), _interrupt_callback()]
        tuner.search(x[:160], y[:160], validation_data=(x[160:], y[160:]), epochs=1,
                     batch_size=32, callbacks=callbacks, verbose=0)  # fmt: skip
        return tuner

    search(2)
    before_resume = {p: p.stat().st_mtime_ns for p in log_dir.rglob("*tuner-trial*")}
    INTERRUPT["armed"] = True  # trial 2 is interrupted in its first epoch, then run again
    with pytest.raises(KeyboardInterrupt):
        search(3)
    (running,) = [t for t in read_project(directory / "p").trials if t.status == "RUNNING"]
    interrupted = sorted((log_dir / running.trial_id / "execution0").rglob("*tfevents*"))
    tuner = search(3)
    return {"tuner": tuner, "log_dir": log_dir, "before_resume": before_resume,
            "interrupted": interrupted}  # fmt: skip


@pytest.mark.keras
def test_each_execution_is_a_run_of_keras_curves(keras_search):
    log_dir, tuner = keras_search["log_dir"], keras_search["tuner"]
    for trial in tuner.oracle.trials.values():
        if trial.status != TrialStatus.COMPLETED:
            continue
        for execution in (0, 1):
            for split in ("train", "validation"):
                run = read_run(log_dir / trial.trial_id / f"execution{execution}" / split)
                assert "epoch_loss" in run.Tags()["tensors"]
                # One epoch: an earlier, interrupted attempt's curve was replaced, not added to.
                assert [event.step for event in run.Tensors("epoch_loss")] == [0]
    assert keras_search["interrupted"], "the interrupted attempt had written its logs"
    assert not any(path.exists() for path in keras_search["interrupted"])


@pytest.mark.keras
def test_keras_trials_show_in_hparams_once_including_failures(keras_search):
    log_dir, tuner = keras_search["log_dir"], keras_search["tuner"]
    trials = {trial.trial_id: trial for trial in tuner.oracle.trials.values()}
    statuses = [trials[trial_id].status.value for trial_id in sorted(trials)]
    assert statuses == ["COMPLETED", "FAILED", "COMPLETED"]
    for trial_id, trial in trials.items():
        session = read_session(log_dir, trial_id)
        assert session["sessions"] == 1
        assert session["values"] == pytest.approx(expected_values(trial))
        if trial.status == TrialStatus.COMPLETED:
            assert session["metrics"]["val_accuracy"][0] == pytest.approx(trial.score)
            assert {"loss", "accuracy", "val_loss"} <= set(session["metrics"])
    # The resume wrote the new trial and left the sessions written before it alone.
    for path, mtime in keras_search["before_resume"].items():
        assert path.stat().st_mtime_ns == mtime
    domains = hparam_domains(read_experiment(log_dir))
    assert domains["wide_units"] == (8.0, 32.0) and domains["deep_units"] == (8.0, 16.0)
    # An export from the trial files finds the same content: nothing to add.
    assert tensorboard.HParamsWriter(log_dir).write(read_project(tuner.project_dir)) == 0


# --- a real TensorBoard server -------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def tensorboard_server(log_dir: Path, deadline: float = 120.0) -> Iterator[str]:
    """Runs the installed ``tensorboard`` on 127.0.0.1; always terminates it."""
    executable = shutil.which("tensorboard")
    command = [executable] if executable else [sys.executable, "-m", "tensorboard.main"]
    port = _free_port()
    process = subprocess.Popen(
        [*command, "--logdir", str(log_dir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENV,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        start = time.monotonic()
        while True:
            try:
                urllib.request.urlopen(f"{url}/data/runs", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() - start > deadline:
                    process.kill()
                    output = process.communicate()[0].decode(errors="replace")
                    pytest.fail(f"TensorBoard did not start:\n{output[-3000:]}")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _post(url: str, route: str, request: dict[str, Any]) -> dict[str, Any]:
    http_request = urllib.request.Request(
        f"{url}/data/plugin/hparams/{route}", data=json.dumps(request).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(http_request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.keras
def test_a_tensorboard_server_shows_every_trial(keras_search):
    log_dir, tuner = keras_search["log_dir"], keras_search["tuner"]
    trials = {trial.trial_id: trial for trial in tuner.oracle.trials.values()}
    with tensorboard_server(log_dir) as url:
        request = {"experimentName": "", "startIndex": 0, "sliceSize": 100,
                   "allowedStatuses": ALL_STATUSES}  # fmt: skip
        start = time.monotonic()
        groups = _post(url, "session_groups", request)
        while groups.get("totalSize", 0) < len(trials) and time.monotonic() - start < 60:
            time.sleep(0.5)  # the server may still be loading the event files
            groups = _post(url, "session_groups", request)
        experiment = _post(url, "experiment", {"experimentName": ""})
        failed = _post(url, "session_groups", {**request, "allowedStatuses": ["STATUS_FAILURE"]})
        successes = _post(
            url, "session_groups", {**request, "allowedStatuses": ["STATUS_SUCCESS"]}
        )

    hparams = {info["name"]: info for info in experiment["hparamInfos"]}
    assert set(hparams) == {"kind", "wide_units", "deep_units", "lr"}  # no tuner/status
    assert hparams["kind"]["domainDiscrete"] == ["deep", "wide"]
    assert hparams["lr"]["domainInterval"] == {"minValue": 0.001, "maxValue": 0.1}
    metrics = [m["name"]["tag"] for m in experiment["metricInfos"]]
    assert metrics[0] == "val_accuracy" and {"loss", "val_loss", "accuracy"} <= set(metrics)

    by_name = {group["name"]: group for group in groups["sessionGroups"]}
    assert set(by_name) == set(trials) and groups["totalSize"] == len(trials)
    for trial_id, trial in trials.items():
        group = by_name[trial_id]
        assert group["hparams"] == pytest.approx(expected_values(trial))
        (session,) = group["sessions"]
        if trial.status == TrialStatus.COMPLETED:
            assert session["status"] == "STATUS_SUCCESS"
            objective = next(m for m in group["metricValues"]
                             if m["name"]["tag"] == "val_accuracy")  # fmt: skip
            assert objective["value"] == pytest.approx(trial.score, rel=1e-6)
        else:
            assert session["status"] == "STATUS_FAILURE" and not group.get("metricValues")
    # The dashboard's status filter finds the failed trial by its session's status alone.
    (failed_id,) = [trial_id for trial_id, t in trials.items() if t.status == TrialStatus.FAILED]
    assert [group["name"] for group in failed["sessionGroups"]] == [failed_id]
    assert failed["sessionGroups"][0]["hparams"] == pytest.approx(
        expected_values(trials[failed_id])
    )
    succeeded = {group["name"] for group in successes["sessionGroups"]}
    assert succeeded == set(trials) - {failed_id}


# --- the torch backend --------------------------------------------------------------------------
TORCH_SEARCH = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import keras
    import numpy as np

    import tuner as kt

    assert keras.backend.backend() == "torch"
    directory = Path(sys.argv[1])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (x.sum(1) > 0).astype("float32")

    def build(hp):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 4, 8)),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
        return model

    # Without the TensorBoard callback: the export needs neither TensorFlow nor Keras' writer.
    # (No seed: keras.utils.set_random_seed imports TensorFlow to seed it too.)
    plain = kt.RandomSearch(build, objective="val_loss", max_trials=2,
                            directory=str(directory), project_name="plain")
    plain.search(x[:64], y[:64], validation_data=(x[64:], y[64:]), epochs=1, verbose=0)
    plain.export_tensorboard(str(directory / "plain_logs"))
    assert "tensorflow" not in sys.modules, "tuner imported TensorFlow"

    logged = kt.RandomSearch(build, objective="val_loss", max_trials=2,
                             directory=str(directory), project_name="logged")
    logged.search(x[:64], y[:64], validation_data=(x[64:], y[64:]), epochs=1, verbose=0,
                  callbacks=[keras.callbacks.TensorBoard(str(directory / "logs"))])
    """
)


@pytest.mark.keras
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_torch_backend_writes_the_same_dashboard(tmp_path):
    script = tmp_path / "torch_search.py"
    script.write_text(TORCH_SEARCH)
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
        env={**ENV, "KERAS_BACKEND": "torch"}, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for log_dir, project in ((tmp_path / "plain_logs", "plain"), (tmp_path / "logs", "logged")):
        trials = read_project(tmp_path / project).trials
        assert len(trials) == 2
        assert hparam_domains(read_experiment(log_dir))["units"] == (4.0, 8.0)
        for trial in trials:
            session = read_session(log_dir, trial.trial_id)
            assert session["values"] == pytest.approx(expected_values(trial))
            assert session["metrics"]["val_loss"][0] == pytest.approx(trial.score)
    assert list((tmp_path / "logs" / trials[0].trial_id / "execution0").glob("*/*tfevents*"))
