"""MLflowCallback against a real local MLflow store (sqlite): a Keras search, resumes, errors,
pickling for Ray workers. Runs are read back with MlflowClient. The tracking server over HTTP
and a SIGKILLed search are in test_mlflow_processes.py."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

import tuner as kt  # noqa: E402
from tests.integrations.mlflow_helpers import (  # noqa: E402
    StepTuner,
    all_runs,
    assert_history,
    split_runs,
    step_search,
    steps_and_values,
)
from tuner.integrations.mlflow import PARENT_RUN_TAG, MLflowCallback  # noqa: E402
from tuner.integrations.mlflow_records import active_values  # noqa: E402
from tuner.trial import TrialStatus  # noqa: E402


@pytest.fixture
def store(mlflow_store) -> str:
    return mlflow_store


# --- a real Keras search -------------------------------------------------------------------------
def build_model(hp):
    import keras

    kind = hp.Choice("kind", ["wide", "deep", "broken"])
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu")])
    with hp.conditional_scope("kind", ["deep"]):
        if kind == "deep":
            model.add(keras.layers.Dense(hp.Choice("deep_units", [4]), activation="relu"))
    model.add(keras.layers.Dense(1))

    def broken_loss(y_true, y_pred):
        raise ValueError("broken by design")

    model.compile("adam", broken_loss if kind == "broken" else "mse", run_eagerly=True)
    return model


@pytest.fixture(scope="module")
def keras_search(tmp_path_factory, make_mlflow_store) -> dict[str, Any]:
    """A grid search over three Keras models (one fails), logged while the user's own run is
    active, to a sqlite store."""
    pytest.importorskip("keras")
    directory = tmp_path_factory.mktemp("keras_mlflow")
    uri = make_mlflow_store(directory)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = x.sum(axis=1)
    previous_uri = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        with mlflow.start_run(run_name="the user's own run") as own:
            tracker = MLflowCallback(tracking_uri=uri)
            search = kt.GridSearch(
                build_model, objective="val_loss", directory=str(directory), project_name="grid",
                search_callbacks=[tracker], max_consecutive_failed_trials=5,
            )  # fmt: skip
            search.search(x, y, epochs=2, validation_split=0.25, verbose=0)
            still_active = mlflow.active_run()
    finally:
        mlflow.set_tracking_uri(previous_uri)
    return {
        "tuner": search, "tracker": tracker, "client": MlflowClient(uri), "own": own,
        "still_active": still_active,
    }  # fmt: skip


@pytest.mark.keras
def test_a_search_is_one_parent_run_with_one_nested_run_per_trial(keras_search):
    search, client, tracker = (
        keras_search["tuner"],
        keras_search["client"],
        keras_search["tracker"],
    )
    trials = search.oracle.trials
    assert len(trials) == 3
    runs = [r for r in all_runs(client, "grid")]  # the experiment is named after the project
    parents, children = split_runs(runs)
    assert [p.info.run_id for p in parents] == [tracker.parent_run_id]
    parent = parents[0]
    assert parent.info.run_name == "grid" and parent.info.status == "FINISHED"
    assert parent.data.tags["project_dir"] == str(Path(search.project_dir).resolve())
    assert parent.data.tags["tuner_id"] == "tuner0" and parent.data.tags["oracle"] == (
        "GridSearchOracle"
    )
    best = search.oracle.get_best_trials(1)[0]
    assert parent.data.tags["best_trial_id"] == best.trial_id
    assert sorted(children) == sorted(trials)
    for trial_id, (run,) in children.items():
        assert run.data.tags[PARENT_RUN_TAG] == parent.info.run_id
        assert run.info.run_name == f"trial {trial_id}"
        assert run.data.tags["trial_id"] == trial_id
        assert run.data.tags["tuner_id"] == "tuner0"


@pytest.mark.keras
def test_the_users_own_active_run_is_left_alone(keras_search):
    own, client = keras_search["own"], keras_search["client"]
    assert keras_search["still_active"].info.run_id == own.info.run_id
    parents, _ = split_runs(all_runs(client, "grid"))
    assert own.info.run_id not in {p.info.run_id for p in parents}  # another experiment
    mine = client.get_run(own.info.run_id)
    assert not mine.data.params and not mine.data.metrics


@pytest.mark.keras
def test_params_are_the_active_hyperparameter_values(keras_search):
    search, client = keras_search["tuner"], keras_search["client"]
    _, children = split_runs(all_runs(client, "grid"))
    kinds = {}
    for trial_id, trial in search.oracle.trials.items():
        (run,) = children[trial_id]
        assert run.data.params == {k: str(v) for k, v in active_values(trial).items()}
        kinds[trial.hyperparameters.get("kind")] = run.data.params
    assert kinds["deep"] == {"kind": "deep", "deep_units": "4"}
    assert kinds["wide"] == {"kind": "wide"}  # deep_units is inactive there: no param
    assert kinds["broken"] == {"kind": "broken"}


@pytest.mark.keras
def test_every_metric_is_logged_at_every_epoch(keras_search):
    search, client = keras_search["tuner"], keras_search["client"]
    _, children = split_runs(all_runs(client, "grid"))
    completed = [t for t in search.oracle.trials.values() if t.status == TrialStatus.COMPLETED]
    assert len(completed) == 2
    for trial in completed:
        (run,) = children[trial.trial_id]
        assert run.info.status == "FINISHED"
        # The model's metrics, and the size and speed the Keras tuner records for every trial.
        assert set(run.data.metrics) == {"loss", "val_loss", "model_params", "epoch_seconds"}
        for key in ("loss", "val_loss", "model_params", "epoch_seconds"):
            logged = steps_and_values(client, run, key)
            assert [step for step, _ in logged] == [0, 1]
            assert_history(logged, trial, key)
        tags = run.data.tags
        assert tags["status"] == "COMPLETED" and float(tags["score"]) == pytest.approx(trial.score)
        assert tags["best_step"] == str(trial.best_step) and "error" not in tags


@pytest.mark.keras
def test_a_failed_trial_is_a_failed_run_with_its_error(keras_search):
    search, client = keras_search["tuner"], keras_search["client"]
    _, children = split_runs(all_runs(client, "grid"))
    (failed,) = [t for t in search.oracle.trials.values() if t.status == TrialStatus.FAILED]
    (run,) = children[failed.trial_id]
    assert run.info.status == "FAILED"
    assert run.data.tags["status"] == "FAILED"
    assert "ValueError: broken by design" in run.data.tags["error"]
    assert run.data.tags["error"].rstrip() == failed.message.rstrip()[-5000:].rstrip()
    assert "score" not in run.data.tags and not run.data.metrics


# --- resuming ------------------------------------------------------------------------------------
def test_a_resumed_search_goes_on_in_the_same_parent_run(store, tmp_path):
    first = step_search(tmp_path, MLflowCallback(store), max_trials=2)
    first.search(verbose=0)
    client = MlflowClient(store)
    # As if the process had died after logging trial 0 but before ending its run.
    unfinished = first._search_callbacks[-1]._trial_runs[sorted(first.oracle.trials)[0]]
    client.update_run(unfinished, status="RUNNING")
    tracker = MLflowCallback(store)
    step_search(tmp_path, tracker, max_trials=4).search(verbose=0)
    assert tracker.parent_run_id == first._search_callbacks[-1].parent_run_id
    assert tracker.caught_up == [sorted(first.oracle.trials)[0]]
    assert client.get_run(unfinished).info.status == "FINISHED"

    parents, children = split_runs(all_runs(client, "steps"))
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(children) == sorted(tracker.trial_runs()) and len(children) == 4
    for runs in children.values():
        (run,) = runs  # never twice, and each value once (trial 0's were logged twice)
        assert [s for s, _ in steps_and_values(client, run, "loss")] == [0, 1, 2]

    # overwrite=True starts a new project, hence a new run.
    fresh = MLflowCallback(store)
    step_search(tmp_path, fresh, max_trials=1, overwrite=True).search(verbose=0)
    assert fresh.parent_run_id != tracker.parent_run_id
    parents, _ = split_runs(all_runs(client, "steps"))
    assert len(parents) == 2


def test_an_interrupted_search_kills_its_runs_and_a_resume_reopens_them(store, tmp_path):
    def interrupt_at_trial_2(trial):
        if len(search.oracle.trials) == 2 and not interrupted:
            interrupted.append(trial.trial_id)
            raise KeyboardInterrupt

    interrupted: list[str] = []
    tracker = MLflowCallback(store)
    search = step_search(tmp_path, tracker, max_trials=3)
    search.hook = interrupt_at_trial_2
    with pytest.raises(KeyboardInterrupt):
        search.search(verbose=0)
    client = MlflowClient(store)
    parent = client.get_run(tracker.parent_run_id)
    assert parent.info.status == "KILLED" and "KeyboardInterrupt" in parent.data.tags["error"]
    _, children = split_runs(all_runs(client, "steps"))
    (stopped,) = children[interrupted[0]]
    assert stopped.info.status == "KILLED"

    resumed = MLflowCallback(store)
    step_search(tmp_path, resumed, max_trials=3).search(verbose=0)
    parent = client.get_run(resumed.parent_run_id)
    assert resumed.parent_run_id == tracker.parent_run_id
    assert parent.info.status == "FINISHED" and "error" not in parent.data.tags
    _, children = split_runs(all_runs(client, "steps"))
    assert len(children) == 3
    (again,) = children[interrupted[0]]  # the interrupted trial's run, finished this time
    assert again.info.run_id == stopped.info.run_id and again.info.status == "FINISHED"


def test_a_search_stopped_by_failures_in_a_row_fails_its_run_with_every_trial(store, tmp_path):
    def fail(trial):
        raise kt.errors.FailedTrialError("cannot train this one")

    tracker = MLflowCallback(store)
    search = step_search(tmp_path, tracker, max_trials=5, max_consecutive_failed_trials=2)
    search.hook = fail
    with pytest.raises(kt.errors.TooManyFailedTrialsError):
        search.search(verbose=0)
    client = MlflowClient(store)
    parents, children = split_runs(all_runs(client, "steps"))
    assert parents[0].info.status == "FAILED"
    assert "TooManyFailedTrialsError" in parents[0].data.tags["error"]
    assert sorted(children) == sorted(search.oracle.trials) and len(children) == 2
    for (run,) in children.values():  # the last one too, whose on_trial_end never came
        assert run.info.status == "FAILED" and run.data.tags["status"] == "FAILED"
        assert "cannot train this one" in run.data.tags["error"]


def test_a_retried_trial_reuses_its_run_and_logs_each_value_once(store, tmp_path):
    class FlakyTuner(StepTuner):
        def run_trial(self, trial, *args, **kwargs):
            x = trial.hyperparameters.Float("x", -1.0, 1.0)
            for step in range(3):
                if step == 2 and not attempts:  # the first attempt crashes at its last step
                    attempts.append(trial.trial_id)
                    raise RuntimeError("lost the device")
                self.oracle.update_trial(trial.trial_id, {"loss": (x - 0.3) ** 2 + step}, step)

    attempts: list[str] = []
    tracker = MLflowCallback(store)
    oracle = kt.oracles.RandomSearchOracle("loss", max_trials=1, seed=5, max_retries_per_trial=1)
    search = FlakyTuner(oracle, directory=str(tmp_path), project_name="steps",
                        search_callbacks=[tracker])  # fmt: skip
    search.search(verbose=0)
    (trial,) = search.oracle.trials.values()
    assert attempts == [trial.trial_id] and trial.retries == 1
    assert trial.status == TrialStatus.COMPLETED, trial.message
    client = MlflowClient(store)
    _, children = split_runs(all_runs(client, "steps"))
    (run,) = children[trial.trial_id]
    assert run.info.status == "FINISHED" and run.data.tags["status"] == "COMPLETED"
    assert run.data.tags["retries"] == "1" and "error" not in run.data.tags  # the retry's tags
    assert [step for step, _ in steps_and_values(client, run, "loss")] == [0, 1, 2]


def test_a_project_searched_before_the_callback_was_added_is_logged_whole(store, tmp_path):
    oracle = kt.oracles.RandomSearchOracle("loss", max_trials=2, seed=5)
    StepTuner(oracle, directory=str(tmp_path), project_name="steps").search(verbose=0)
    tracker = MLflowCallback(store)
    search = step_search(tmp_path, tracker, max_trials=3)
    search.search(verbose=0)
    _, children = split_runs(all_runs(MlflowClient(store), "steps"))
    assert len(children) == 3 and all(len(runs) == 1 for runs in children.values())
    assert tracker.caught_up == sorted(search.oracle.trials)[:2]  # logged when it began
    assert {runs[0].data.tags["status"] for runs in children.values()} == {"COMPLETED"}


def test_a_logging_error_is_warned_once_and_what_it_missed_is_logged_at_the_end(store, tmp_path):
    client = MlflowClient(store)

    def delete_my_run(trial):  # as a user deleting the run in the MLflow UI meanwhile
        if trial.trial_id in tracker._trial_runs and len(deleted) < 2:
            deleted.append(tracker._trial_runs[trial.trial_id])
            client.delete_run(deleted[-1])

    deleted: list[str] = []
    tracker = MLflowCallback(store)
    search = step_search(tmp_path, tracker, max_trials=3)
    search.hook = delete_my_run
    with pytest.warns(RuntimeWarning, match="could not log trial") as caught:
        search.search(verbose=0)
    assert len([w for w in caught if "MLflowCallback" in str(w.message)]) == 1
    assert len(deleted) == 2 and len(search.oracle.trials) == 3
    assert tracker.caught_up == sorted(search.oracle.trials)[:2]
    _, children = split_runs(all_runs(client, "steps"))
    assert sorted(children) == sorted(search.oracle.trials)  # logged again when the search ended
    for (run,) in children.values():
        assert run.info.status == "FINISHED" and run.info.run_id not in deleted
        assert [s for s, _ in steps_and_values(client, run, "loss")] == [0, 1, 2]


def test_a_deleted_experiment_is_refused_by_name(store, tmp_path):
    client = MlflowClient(store)
    client.delete_experiment(client.create_experiment("gone"))
    search = step_search(tmp_path, MLflowCallback(store, experiment_name="gone"), max_trials=1)
    with pytest.raises(kt.errors.InvalidArgumentError, match=r"experiment 'gone'.*is deleted"):
        search.search(verbose=0)
    assert not search.oracle.trials


def test_the_experiment_name_can_be_chosen(store, tmp_path):
    tracker = MLflowCallback(store, experiment_name="my experiment")
    step_search(tmp_path, tracker, max_trials=1).search(verbose=0)
    parents, children = split_runs(all_runs(MlflowClient(store), "my experiment"))
    assert len(parents) == 1 and len(children) == 1


# --- Ray workers get a copy: picklable, and it logs from there -----------------------------------
def test_a_pickled_copy_holds_no_client_and_logs_under_the_same_parent(store, tmp_path):
    tracker = MLflowCallback(store)
    search = step_search(tmp_path, tracker, max_trials=1)
    tracker.on_search_begin(search)  # on the driver, before the tuner is shipped
    assert tracker._client is not None
    copy = pickle.loads(pickle.dumps(tracker))
    assert copy._client is None and copy.parent_run_id == tracker.parent_run_id

    trial = search.oracle.create_trial("ray-worker-0")  # what a worker runs
    copy.on_trial_begin(search, trial)
    search._try_run_and_update_trial(trial)
    search.oracle.end_trial(trial)
    copy.on_trial_end(search, trial)
    tracker.on_search_end(search)
    _, children = split_runs(all_runs(MlflowClient(store), "steps"))
    (run,) = children[trial.trial_id]
    assert run.data.tags[PARENT_RUN_TAG] == tracker.parent_run_id
    assert run.data.tags["tuner_id"] == "ray-worker-0" and run.info.status == "FINISHED"


# --- optional dependency -------------------------------------------------------------------------
def test_without_mlflow_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` fails as if absent
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    with pytest.raises(kt.errors.MissingDependencyError, match=r"pip install tuner\[mlflow\]"):
        kt.integrations.mlflow.MLflowCallback()


def test_reaching_the_callback_imports_no_mlflow():
    from tests.test_import import heavy_modules_after

    code = "import tuner as kt\nkt.integrations.mlflow.MLflowCallback\n"
    assert "mlflow" not in heavy_modules_after(code)


def test_bad_arguments_are_named():
    with pytest.raises(kt.errors.InvalidArgumentError, match="tracking_uri"):
        MLflowCallback(tracking_uri=5)
    with pytest.raises(kt.errors.InvalidArgumentError, match="experiment_name"):
        MLflowCallback(experiment_name="")
