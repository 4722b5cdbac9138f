"""MLflow: a search as one MLflow run, each of its trials as a run nested in it.

:class:`MLflowCallback` is a :class:`~tuner.SearchCallback` (``search_callbacks=[...]``) that logs
to an MLflow tracking server or store (``tracking_uri``: ``http://...``, ``sqlite:///...``, any URI
MLflow takes, or MLflow's default) through ``mlflow.tracking.MlflowClient`` alone, never MLflow's
active-run stack, so it does not touch a run the user started with ``mlflow.start_run()``. mlflow
is imported when a callback is made (``pip install "tuner[mlflow]"``), not by ``import tuner``.

What is logged, in the experiment ``experiment_name`` (default: the project name):

- One *parent* run per project (run name: the project name), RUNNING while a search runs, FINISHED
  when it ends, KILLED (Ctrl-C) or FAILED (an error) when it stops; tags ``project_dir``,
  ``project_name``, ``tuner_id``, ``tuner_class``, ``oracle``, ``objective``, and once it ends
  ``best_trial_id`` and ``best_score``.
- One *child* run per trial (run name ``trial <id>``, tag ``mlflow.parentRunId``), created when the
  trial begins and ended when it ends: FINISHED for COMPLETED and STOPPED (ended early by the
  oracle, valid metrics), FAILED for FAILED and INVALID trials. It holds the trial's hyperparameter
  values as params (only the active ones: an inactive conditional hyperparameter has no value, so
  no param; logged when the trial begins, and those its build registered when it ends), every
  metric at every step (epoch) the trial reported, with ``step=`` (logged when the trial ends, from
  the trial's metric history), and the tags ``trial_id``, ``tuner_id``, ``status``, ``score``,
  ``best_step``, ``retries`` and, for a failed or invalid trial, ``error``: the end of
  ``trial.message`` (its traceback), as much as an MLflow tag holds (5000 characters). No artifact
  is written, so no artifact store is needed.

Resuming, and never logging a trial twice:

- The parent run's id is kept in the project directory (``mlflow.json``, beside ``project.json``,
  for each tracking URI and experiment), so the search that resumes the project, in any process,
  reopens the same parent run; ``overwrite=True`` deletes it with the project, so a fresh project
  gets a fresh run. (A tag lookup, such as the project's path, would find the old run of an
  overwritten project, and lose the run of a moved one.)
- Child runs are found by their ``trial_id`` tag under the parent run. A trial that runs again (a
  retry, or a trial that was RUNNING when its process died) reuses its run: params already logged
  are kept (an MLflow param cannot change), and a metric value already logged at a step is not
  logged again.
- When a search begins and when it ends, every finished trial of the project whose child run is
  missing or was not ended with the trial's status is logged (a trial the process finished just
  before being killed, a trial whose logging failed, a project searched before the callback was
  added).

Errors: when the search begins, an error (the server cannot be reached, the experiment is deleted)
stops it before any trial runs. Once it runs, an error while logging a trial, or while ending the
search's run, is reported as one ``RuntimeWarning`` (later ones are not) and the search goes on;
what was not logged is logged when the search ends or resumes.

Ray workers (``workers=kt.RayWorkers(...)``): the callback is pickled for the workers after
``on_search_begin`` ran on the driver, so they know the parent run; it holds no client until it is
used (each process makes its own), and each worker logs the trials it runs. The tracking URI must
name the same store on every worker: a server (``http://...``) across machines; a relative
``sqlite:`` or folder URI is made absolute on the driver.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tuner import errors
from tuner.callbacks import SearchCallback
from tuner.integrations.mlflow_records import (
    OPTIONAL_TAGS,
    PARENT_RUN_TAG,
    RUN_STATUS,
    absolute_tracking_uri,
    milliseconds,
    mlflow_key,
    observed,
    run_status,
    tail,
    trial_params,
    trial_tags,
)
from tuner.storage.json_dir import read_json, write_json_atomic
from tuner.storage.layout import ProjectLayout
from tuner.trial import Trial

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

    from tuner.search import BaseTuner

_TERMINATED = frozenset({"FINISHED", "FAILED", "KILLED"})
#: Runs fetched per page when the child runs of a search are listed.
_PAGE = 1000


def import_mlflow() -> ModuleType:
    """The ``mlflow`` package.

    Raises:
        MissingDependencyError: mlflow is not installed (``pip install "tuner[mlflow]"``).
    """
    try:
        import mlflow
        import mlflow.tracking
    except ImportError:
        raise errors.missing_dependency("mlflow", "MLflowCallback", "mlflow") from None
    return mlflow


class MLflowCallback(SearchCallback):
    """Logs a search to MLflow: one parent run, one nested run per trial (see the module).

    Args:
        tracking_uri: Where to log: a tracking server (``"http://127.0.0.1:5000"``), a
            database (``"sqlite:///mlflow.db"``), a folder. Defaults to MLflow's (the
            ``MLFLOW_TRACKING_URI`` variable, or ``mlflow.set_tracking_uri``).
        experiment_name: The MLflow experiment, created if needed. Defaults to the project
            name.

    Attributes:
        parent_run_id: The search's MLflow run, known once the search began.
        experiment_id: Its experiment.
        caught_up: The trials this search logged when it began or ended, because their run was
            missing or not ended as they were (see the module): empty when every trial was
            logged as it ended.

    Raises:
        MissingDependencyError: mlflow is not installed.

    Example:
        >>> import tuner as kt
        >>> tracker = MLflowCallback(tracking_uri="sqlite:///mlflow.db")
        >>> tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=2,
        ...                         directory="runs", project_name="tracked",
        ...                         search_callbacks=[tracker])
        >>> tuner.search(x, y, epochs=2, validation_data=(x_val, y_val), verbose=0)
        >>> client = tracker.client()
        >>> run = client.get_run(tracker.parent_run_id)
        >>> run.info.run_name, run.info.status
        ('tracked', 'FINISHED')
        >>> children = tracker.trial_runs()
        >>> sorted(children), children["00"].data.tags["status"]
        (['00', '01'], 'COMPLETED')
        >>> [m.step for m in client.get_metric_history(children["00"].info.run_id, "val_loss")]
        [0, 1]
    """

    def __init__(self, tracking_uri: str | None = None, experiment_name: str | None = None):
        import_mlflow()  # a missing mlflow is told at once, not when the search begins
        if tracking_uri is not None and not isinstance(tracking_uri, (str, os.PathLike)):
            raise errors.InvalidArgumentError(
                f"tracking_uri must be a string such as 'http://127.0.0.1:5000' or "
                f"'sqlite:///mlflow.db', got {tracking_uri!r}."
            )
        if experiment_name is not None and not (
            isinstance(experiment_name, str) and experiment_name
        ):
            raise errors.InvalidArgumentError(
                f"experiment_name must be a non-empty string, got {experiment_name!r}."
            )
        self.tracking_uri = None if tracking_uri is None else os.fspath(tracking_uri)
        self.experiment_name = experiment_name
        self.experiment_id: str | None = None
        self.parent_run_id: str | None = None
        self.caught_up: list[str] = []
        #: The tracking URI in use, resolved on the driver (shipped to Ray workers as is).
        self._resolved_uri: str | None = None
        #: Trial id -> its child run, as far as this process knows.
        self._trial_runs: dict[str, str] = {}
        #: Child runs this process opened and has not ended (ended KILLED if the search stops).
        self._open_runs: set[str] = set()
        #: Whether ``_trial_runs`` lists every child run (see ``_known_trial_run``).
        self._listing_complete = False
        self._client: MlflowClient | None = None
        self._warned = False

    # --- picklable: the client is made in the process that uses it -------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(vars(self))
        state["_client"] = None
        state["_open_runs"] = set()
        state["_listing_complete"] = False  # other processes may add runs
        return state

    def client(self) -> MlflowClient:
        """This process's ``MlflowClient`` for the tracking URI (made on first use)."""
        if self._client is None:
            mlflow = import_mlflow()
            if self._resolved_uri is None:
                uri = self.tracking_uri or mlflow.get_tracking_uri()
                self._resolved_uri = absolute_tracking_uri(uri)
            self._client = mlflow.tracking.MlflowClient(tracking_uri=self._resolved_uri)
        return self._client

    # --- the search ------------------------------------------------------------------------------
    def on_search_begin(self, tuner: BaseTuner) -> None:
        client = self.client()
        self.experiment_id = self._experiment(client, self.experiment_name or tuner.project_name)
        self.parent_run_id = self._open_parent_run(client, tuner)
        self.caught_up = []
        self._trial_runs, self._listing_complete = {}, False
        self._sync_finished_trials(tuner)

    def on_search_end(self, tuner: BaseTuner) -> None:
        if self.parent_run_id is None:
            return
        try:  # the search is done: an unreachable server is no reason to raise now
            self._sync_finished_trials(tuner)
            client = self.client()
            best = tuner.oracle.get_best_trials(1)
            if best:
                client.set_tag(self.parent_run_id, "best_trial_id", best[0].trial_id)
                client.set_tag(self.parent_run_id, "best_score", str(best[0].score))
            client.set_terminated(self.parent_run_id, "FINISHED")
        except Exception as error:
            self._warn("the end of the search", error)

    def on_search_interrupted(self, tuner: BaseTuner, error: BaseException) -> None:
        if self.parent_run_id is None:  # it stopped before its run existed
            return
        # Trials that ended without their on_trial_end (the one that made failures in a row
        # reach the limit) are logged; the trial the error interrupted is KILLED.
        try:
            self._sync_finished_trials(tuner)
        except Exception as sync_error:
            self._warn("the trials of the stopped search", sync_error)
        client = self.client()
        for run_id in sorted(self._open_runs):
            client.set_terminated(run_id, "KILLED")
        self._open_runs.clear()
        client.set_tag(self.parent_run_id, "error", tail(repr(error)))
        status = "FAILED" if isinstance(error, Exception) else "KILLED"  # Ctrl-C: KILLED
        client.set_terminated(self.parent_run_id, status)

    # --- the trials ------------------------------------------------------------------------------
    def on_trial_begin(self, tuner: BaseTuner, trial: Trial) -> None:
        try:
            self._open_runs.add(self._begin_trial_run(trial, tuner.tuner_id))
        except Exception as error:  # the search must not die for its tracking
            self._warn(f"trial {trial.trial_id}", error)

    def on_trial_end(self, tuner: BaseTuner, trial: Trial) -> None:
        try:
            self._log_trial(trial, tuner.tuner_id)
        except Exception as error:
            self._warn(f"trial {trial.trial_id}", error)

    def trial_runs(self) -> dict[str, Run]:
        """The child runs of the search, by trial id (MLflow ``Run`` objects)."""
        return dict(self._child_runs())

    # --- helpers ---------------------------------------------------------------------------------
    def _warn(self, what: str, error: Exception) -> None:
        if self._warned:
            return
        self._warned = True
        warnings.warn(
            f"MLflowCallback could not log {what} to {self._resolved_uri}: {error!r}. The "
            "search goes on (its trials are safe in the project directory); what is missing is "
            "logged when the search ends or resumes. Later errors are not reported.",
            RuntimeWarning,
            stacklevel=3,
        )

    def _experiment(self, client: MlflowClient, name: str) -> str:
        """The id of the experiment ``name``, created when missing."""
        from mlflow.exceptions import MlflowException

        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            try:
                return str(client.create_experiment(name))
            except MlflowException:  # made meanwhile by another process
                experiment = client.get_experiment_by_name(name)
                if experiment is None:
                    raise
        if experiment.lifecycle_stage != "active":
            raise errors.InvalidArgumentError(
                f"The MLflow experiment {name!r} (id {experiment.experiment_id}) in "
                f"{self._resolved_uri} is deleted. Restore it (`mlflow experiments restore "
                f"--experiment-id {experiment.experiment_id}`), remove it for good (`mlflow "
                "gc`), or pass another experiment_name to MLflowCallback."
            )
        return str(experiment.experiment_id)

    def _link_file(self, tuner: BaseTuner) -> Path:
        return ProjectLayout(Path(tuner.project_dir)).mlflow_file

    def _read_links(self, tuner: BaseTuner) -> list[dict[str, Any]]:
        path = self._link_file(tuner)
        if not path.is_file():
            return []
        document = read_json(path, f"Delete {path} to log the search to a new MLflow run.")
        return [dict(link) for link in document.get("runs", []) if isinstance(link, Mapping)]

    def _open_parent_run(self, client: MlflowClient, tuner: BaseTuner) -> str:
        """The project's parent run in this store and experiment, reopened, or a new one."""
        links = self._read_links(tuner)
        for link in links:
            if (link.get("tracking_uri"), link.get("experiment_id")) == (
                self._resolved_uri,
                self.experiment_id,
            ):
                run = self._existing_run(client, str(link.get("parent_run_id")))
                if run is not None:  # resumed: the project's run goes on
                    client.update_run(run.info.run_id, status="RUNNING")
                    if "error" in run.data.tags:  # of the search that stopped
                        client.delete_tag(run.info.run_id, "error")
                    return str(run.info.run_id)
        assert self.experiment_id is not None
        oracle = tuner.oracle
        tags = {
            "project_dir": str(Path(tuner.project_dir).resolve()),
            "project_name": tuner.project_name,
            "tuner_id": tuner.tuner_id,
            "tuner_class": type(tuner).__name__,
            "oracle": type(oracle).__name__,
            "objective": tail(repr(oracle.objective)),
        }
        run = client.create_run(self.experiment_id, tags=tags, run_name=tuner.project_name)
        run_id = str(run.info.run_id)
        kept = [
            link
            for link in links
            if (link.get("tracking_uri"), link.get("experiment_id"))
            != (self._resolved_uri, self.experiment_id)
        ]
        new = {
            "tracking_uri": self._resolved_uri,
            "experiment_id": self.experiment_id,
            "parent_run_id": run_id,
        }
        try:
            write_json_atomic(self._link_file(tuner), {"format_version": 1, "runs": [*kept, new]})
        except OSError as error:
            warnings.warn(
                f"MLflowCallback could not write {self._link_file(tuner)} ({error!r}): a search "
                "that resumes this project will log to a new MLflow run.",
                RuntimeWarning,
                stacklevel=3,
            )
        return run_id

    def _existing_run(self, client: MlflowClient, run_id: str) -> Run | None:
        """The run ``run_id`` when it exists and is not deleted."""
        from mlflow.exceptions import MlflowException

        try:
            run = client.get_run(run_id)
        except MlflowException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return run if run.info.lifecycle_stage == "active" else None

    def _child_runs(self) -> Iterator[tuple[str, Run]]:
        """(trial id, run) of every child run of the parent run, oldest first."""
        if self.parent_run_id is None or self.experiment_id is None:
            return
        client = self.client()
        token = None
        seen: set[str] = set()
        while True:
            page = client.search_runs(
                [self.experiment_id],
                filter_string=f"tags.`{PARENT_RUN_TAG}` = '{self.parent_run_id}'",
                max_results=_PAGE,
                order_by=["attributes.start_time ASC"],
                page_token=token,
            )
            for run in page:
                trial_id = run.data.tags.get("trial_id")
                if trial_id is not None and trial_id not in seen:
                    seen.add(trial_id)
                    yield trial_id, run
            token = page.token
            if not token:
                return

    def _find_trial_run(self, trial_id: str) -> str | None:
        """The child run of ``trial_id``, looked up in the store."""
        client = self.client()
        assert self.experiment_id is not None
        quoted = trial_id.replace("'", "\\'")
        found = client.search_runs(
            [self.experiment_id],
            filter_string=(
                f"tags.`{PARENT_RUN_TAG}` = '{self.parent_run_id}' and tags.trial_id = '{quoted}'"
            ),
            max_results=1,
            order_by=["attributes.start_time ASC"],
        )
        return str(found[0].info.run_id) if found else None

    def _known_trial_run(self, trial_id: str) -> str | None:
        """The child run of ``trial_id`` if there is one: from this process's map, or the store.

        The map is complete in the process that listed the child runs (the search process, in
        which no one else creates runs for the project it holds locked); a copy of the callback
        on a Ray worker asks the store, where other workers may have made runs meanwhile.
        """
        run_id = self._trial_runs.get(trial_id)
        if run_id is None and not self._listing_complete:
            run_id = self._find_trial_run(trial_id)
            if run_id is not None:
                self._trial_runs[trial_id] = run_id
        return run_id

    def _create_trial_run(self, trial: Trial, tuner_id: str) -> str:
        if self.parent_run_id is None or self.experiment_id is None:
            raise RuntimeError("the search has no MLflow run (on_search_begin did not run)")
        tags = {
            PARENT_RUN_TAG: self.parent_run_id,
            "trial_id": trial.trial_id,
            "tuner_id": trial.tuner_id or tuner_id,
            "status": trial.status.value,
        }
        start = milliseconds(trial.start_time) or int(time.time() * 1000)
        run = self.client().create_run(
            self.experiment_id, start_time=start, tags=tags, run_name=f"trial {trial.trial_id}"
        )
        run_id = str(run.info.run_id)
        self._trial_runs[trial.trial_id] = run_id
        return run_id

    def _params_to_log(self, trial: Trial, logged: Mapping[str, str]) -> list[Any]:
        """Params for the trial's active values that the run has none for yet.

        An MLflow param cannot change: one logged by an earlier attempt is kept as it is.
        """
        from mlflow.entities import Param

        params = trial_params(trial)
        return [Param(key, value) for key, value in params.items() if key not in logged]

    def _begin_trial_run(self, trial: Trial, tuner_id: str) -> str:
        """A RUNNING child run holding the trial's params so far: its own reopened, or new."""
        client = self.client()
        run_id = self._known_trial_run(trial.trial_id)
        if run_id is None:
            run_id = self._create_trial_run(trial, tuner_id)
            logged: Mapping[str, str] = {}
        else:  # the trial runs again: a retry, or it was running when its search stopped
            client.update_run(run_id, status="RUNNING")
            client.set_tag(run_id, "status", trial.status.value)
            logged = client.get_run(run_id).data.params
        params = self._params_to_log(trial, logged)
        if params:
            client.log_batch(run_id, params=params)
        return run_id

    def _log_trial(self, trial: Trial, tuner_id: str) -> None:
        """Logs a trial that ended: params, metric history, tags; then ends its run."""
        from mlflow.entities import Metric, RunTag

        client = self.client()
        run_id = self._known_trial_run(trial.trial_id) or self._create_trial_run(trial, tuner_id)
        run = client.get_run(run_id)
        now = int(time.time() * 1000)
        metrics = []
        for name, history in trial.metrics.metrics.items():
            key = mlflow_key(name)
            logged = set()
            if key in run.data.metrics:  # a run logged before (a retry, a resumed search)
                history_so_far = client.get_metric_history(run_id, key)
                logged = {observed(m.step, m.value) for m in history_so_far}
            for observation in history.get_history():
                if observed(observation.step, observation.value) not in logged:
                    metrics.append(Metric(key, observation.value, now, observation.step))
        tags = trial_tags(trial, tuner_id)
        client.log_batch(
            run_id,
            metrics=metrics,
            params=self._params_to_log(trial, run.data.params),
            tags=[RunTag(key, value) for key, value in tags.items()],
        )
        for stale in OPTIONAL_TAGS:  # left by an earlier attempt
            if stale not in tags and stale in run.data.tags:
                client.delete_tag(run_id, stale)
        end = milliseconds(trial.end_time)
        client.set_terminated(run_id, run_status(trial), end_time=end)
        self._open_runs.discard(run_id)

    def _sync_finished_trials(self, tuner: BaseTuner) -> None:
        """Logs every ended trial of the project whose run is missing or not ended as it."""
        runs = dict(self._child_runs())
        # The store's word replaces this process's map: a run deleted meanwhile is made again.
        self._trial_runs = {trial_id: str(run.info.run_id) for trial_id, run in runs.items()}
        self._listing_complete = True
        for trial in tuner.oracle.trials.values():
            if trial.status not in RUN_STATUS:  # RUNNING: it runs (again) in this search
                continue
            logged = runs.get(trial.trial_id)
            if (
                logged is not None
                and logged.info.status in _TERMINATED
                and logged.data.tags.get("status") == trial.status.value
            ):
                continue
            try:
                self._log_trial(trial, trial.tuner_id or tuner.tuner_id)
            except Exception as error:
                self._warn(f"trial {trial.trial_id}", error)
            else:
                self.caught_up.append(trial.trial_id)
