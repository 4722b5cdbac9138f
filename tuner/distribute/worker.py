"""A Ray worker: the tuner's own trial loop, run against a proxy of the remote oracle.

The driver ships a copy of its tuner without the oracle and the project storage (a
*blueprint*). The worker restores it with :class:`OracleProxy` as its oracle and a scratch
project directory of its own, then runs ``BaseTuner._run_trials``, the very loop a
single-process search runs. A trial's files written in the scratch directory go back to the
oracle's node when the trial ends.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray
from ray import cloudpickle

from tuner import errors
from tuner.display import ConsoleDisplay
from tuner.distribute import artifacts
from tuner.hyperparameters import HyperParameter, HyperParameters
from tuner.objective import objective_from_dict
from tuner.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from tuner.search import BaseTuner

#: How old the snapshot of every trial that ``OracleProxy.trials`` returns may be, in seconds.
_SNAPSHOT_SECONDS = 1.0
#: Name prefix of a worker's scratch folder (``<prefix><pid>-<random>`` in the temp folder).
_SCRATCH_PREFIX = "tuner-ray-worker-"
#: Tuner attributes that are not shipped: each side has its own.
_LOCAL_ATTRIBUTES = ("oracle", "_storage", "workers")


def make_blueprint(tuner: BaseTuner) -> bytes:
    """Serialises ``tuner`` for the workers, without its oracle and project storage.

    The console display is not shipped (it holds the driver's terminal): each worker gets a
    new one printing plain lines, which Ray forwards to the driver's output.

    Raises:
        TypeError: An attribute of the tuner (a hypermodel, a callback) cannot be serialised;
            the message names it.
    """
    state = {k: v for k, v in vars(tuner).items() if k not in _LOCAL_ATTRIBUTES}
    display = state.get("_display")
    if isinstance(display, ConsoleDisplay):
        silent = str(display.verbose) == "0"
        worker_display = ConsoleDisplay(verbose=0 if silent else 2)
        state["_display"] = worker_display
        state["_search_callbacks"] = [
            worker_display if callback is display else callback
            for callback in state.get("_search_callbacks", [])
        ]
    try:
        return cloudpickle.dumps((type(tuner), state))
    except Exception as error:
        culprit = _unpicklable_attribute(state)
        raise TypeError(
            f"The tuner cannot be sent to Ray workers: its attribute {culprit!r} cannot be "
            f"serialised ({error}). Define what it holds at module level (a build function, a "
            "HyperModel class) and keep live resources (open files, locks, sessions) out of it."
        ) from error


def _unpicklable_attribute(state: Mapping[str, Any]) -> str:
    for name, value in state.items():
        try:
            cloudpickle.dumps(value)
        except Exception:
            return name
    return "?"


def restore_tuner(blueprint: bytes, tuner_id: str, directory: str) -> BaseTuner:
    """Rebuilds a worker's tuner from a blueprint, writing its files under ``directory``.

    The caller gives it an oracle (``tuner.oracle = OracleProxy(...)``) before running trials.
    """
    try:
        tuner_class, state = cloudpickle.loads(blueprint)
    except ModuleNotFoundError as error:
        raise errors.FatalRuntimeError(
            f"A Ray worker cannot import the module {error.name!r}, which defines part of the "
            "tuner (its build function, HyperModel or class). Make it importable on every "
            "worker: install it there, add its folder to PYTHONPATH with "
            "RayWorkers(env_vars={'PYTHONPATH': ...}), or ship it by value with "
            "ray.cloudpickle.register_pickle_by_value(module) before the search."
        ) from error
    tuner = tuner_class.__new__(tuner_class)
    vars(tuner).update(state)
    tuner._storage = None
    tuner.workers = None
    tuner.directory = directory
    tuner.tuner_id = tuner_id
    return tuner


class OracleProxy:
    """The :class:`~tuner.oracles.base.OracleLike` a worker's tuner talks to.

    Each method is one call to the :class:`~tuner.distribute.oracle_host.OracleHost` actor,
    waited for, so the loop sees the same answers, in the same order, as with a local oracle.
    The trials it hands out are copies; it mirrors on them what the local oracle would change in
    place (metrics, an early stop, the final status), and ships a trial's files with its end.

    Args:
        host: The host actor's handle.
        tuner_id: This worker's id; the host knows which trial each id runs.
        project_dir: The worker's scratch project directory.

    Example:
        >>> proxy = OracleProxy(host, "ray-worker-0", "/tmp/scratch/project")  # doctest: +SKIP
        >>> trial = proxy.create_trial("ray-worker-0")  # doctest: +SKIP
    """

    #: The driver discovers a grid's whole space before the workers start.
    needs_initial_space = False

    def __init__(self, host: Any, tuner_id: str, project_dir: str):
        self._host = host
        self.tuner_id = tuner_id
        self._project_dir = project_dir
        description = _call(host.describe)
        self.objective = objective_from_dict(description["objective"])
        self.seed: int | None = description["seed"]
        # The seed in use even when the user gave none (cross-validation folds use it).
        self._seed: int = description["effective_seed"]
        self.max_trials: int | None = description["max_trials"]
        #: How many trials this proxy handed out.
        self.trials_run = 0
        self._running: dict[str, Trial] = {}  # the copies handed out, to mirror changes on
        self._trials_snapshot: tuple[float, dict[str, Trial], int | None] | None = None

    def create_trial(self, tuner_id: str) -> Trial:
        text, parent_files = _call(self._host.create_trial, self.tuner_id)
        trial = Trial.from_dict(json.loads(text))
        if trial.status == TrialStatus.RUNNING:
            artifacts.write_files(self._project_dir, parent_files)
            self._running[trial.trial_id] = trial
            self.trials_run += 1
        return trial

    def update_trial(
        self, trial_id: str, metrics: Mapping[str, float], step: int = 0
    ) -> TrialStatus:
        metrics = {str(name): float(value) for name, value in metrics.items()}
        status = TrialStatus(
            _call(self._host.update_trial, self.tuner_id, trial_id, metrics, step)
        )
        self._mirror_update(trial_id, metrics, step, status)
        return status

    def end_trial(self, trial: Trial) -> None:
        files = artifacts.collect_trial_files(self._project_dir, trial.trial_id)
        text = _call(self._host.end_trial, self.tuner_id, json.dumps(trial.to_dict()), files)
        # Shipped: the scratch directory holds nothing more of value (parents' checkpoints
        # fetched for a warm start included), so it does not grow over a long search.
        artifacts.empty_directory(self._project_dir)
        stored = Trial.from_dict(json.loads(text))
        # The caller keeps using its copy (callbacks print it): give it the oracle's verdict.
        for name in ("status", "score", "best_step", "message", "retries", "end_time"):
            setattr(trial, name, getattr(stored, name))
        self._running.pop(trial.trial_id, None)

    def record_execution(self, trial_id: str, record: Mapping[str, Any]) -> None:
        # The checkpoint written for this execution travels with it, as in one process.
        files = artifacts.collect_trial_files(self._project_dir, trial_id)
        _call(self._host.record_execution, self.tuner_id, trial_id, dict(record), files)
        trial = self._running.get(trial_id)
        if trial is not None:
            trial.executions.append(dict(record))

    def get_space(self) -> HyperParameters:
        """A copy of the search space."""
        return HyperParameters.from_config(_call(self._host.get_space))

    def update_space(self, hyperparameters: HyperParameters) -> None:
        _call(self._host.update_space, hyperparameters.get_config())

    def sample_new_entry(self, trial_id: str, hyperparameter: HyperParameter) -> Any:
        config = {"class_name": hyperparameter.type_name, "config": hyperparameter.get_config()}
        return _call(self._host.sample_new_entry, trial_id, config)

    def get_trial(self, trial_id: str) -> Trial:
        return Trial.from_dict(json.loads(_call(self._host.get_trial, trial_id)))

    def get_best_trials(self, num_trials: int = 1) -> list[Trial]:
        texts = _call(self._host.get_best_trials, num_trials)
        return [Trial.from_dict(json.loads(text)) for text in texts]

    @property
    def trials(self) -> dict[str, Trial]:
        """Every trial of the search: a snapshot, at most a second old.

        The console display asks for it several times per trial; fetching every trial each
        time would make a long search's bookkeeping grow with the square of its trials.
        """
        return self._snapshot()[0]

    @property
    def remaining_trials(self) -> int | None:
        """How many more trials the oracle may create (as of :attr:`trials`' snapshot)."""
        return self._snapshot()[1]

    def _snapshot(self) -> tuple[dict[str, Trial], int | None]:
        now = time.monotonic()
        if self._trials_snapshot is None or now - self._trials_snapshot[0] > _SNAPSHOT_SECONDS:
            texts, remaining = _call(self._host.get_trials)
            found = (Trial.from_dict(json.loads(text)) for text in texts)
            trials = {trial.trial_id: trial for trial in found}
            self._trials_snapshot = (now, trials, remaining)
        return self._trials_snapshot[1], self._trials_snapshot[2]

    # --- mirroring -------------------------------------------------------------------------------
    def _mirror_update(
        self, trial_id: str, metrics: Mapping[str, float], step: int, status: TrialStatus
    ) -> None:
        trial = self._running.get(trial_id)
        if trial is None:
            return
        for name, value in metrics.items():
            trial.metrics.update(name, value, step)
        if status == TrialStatus.STOPPED and trial.status == TrialStatus.RUNNING:
            trial.status = TrialStatus.STOPPED


def _call(method: Any, *args: Any) -> Any:
    """Calls a host method and waits; an error raised by the oracle is raised here as is."""
    try:
        return ray.get(method.remote(*args))
    except ray.exceptions.RayTaskError as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from None
        raise


def _remove_scratch_of_dead_workers() -> None:
    """Deletes the scratch folders that killed workers (no ``finally`` runs) left behind."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(_SCRATCH_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # the worker is gone (a live pid of someone else: kept)
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


class TrialWorker:
    """A Ray actor that runs trials until the oracle says the search is over.

    Args:
        host: The oracle host actor.
        tuner_id: This worker's id (``"ray-worker-3"``).
        blueprint: The tuner, from :func:`make_blueprint`.
        gpu_fraction: The share of a GPU reserved for this worker (0: none, 1: a whole one).

    Example:
        >>> actor_class = ray.remote(TrialWorker)  # doctest: +SKIP
        >>> worker = actor_class.remote(host, "ray-worker-0", blueprint, 0)  # doctest: +SKIP
        >>> ray.get(worker.run.remote(data_ref))  # doctest: +SKIP
    """

    def __init__(self, host: Any, tuner_id: str, blueprint: bytes, gpu_fraction: float):
        self._host = host
        self._tuner_id = tuner_id
        self._blueprint = blueprint
        self._gpu_fraction = gpu_fraction

    def run(self, fit_data: tuple[tuple[Any, ...], dict[str, Any]]) -> int:
        """Runs the trial loop with these ``fit`` arguments; returns how many trials it ran.

        Args:
            fit_data: ``(fit_args, fit_kwargs)``; Ray resolves it from the object store once
                per worker, not once per trial.
        """
        _remove_scratch_of_dead_workers()
        scratch = tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-")
        try:
            tuner = restore_tuner(self._blueprint, self._tuner_id, scratch)
            Path(tuner.project_dir).mkdir(parents=True, exist_ok=True)
            proxy = OracleProxy(self._host, self._tuner_id, tuner.project_dir)
            tuner.oracle = proxy
            self._limit_gpu_memory()
            fit_args, fit_kwargs = fit_data
            display = getattr(tuner, "_display", None)
            if isinstance(display, ConsoleDisplay):
                display.on_search_begin(tuner)  # opens its console on this worker's stdout
            try:
                tuner._run_trials(*fit_args, **fit_kwargs)
            finally:
                if isinstance(display, ConsoleDisplay):
                    display.close()
            return proxy.trials_run
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _limit_gpu_memory(self) -> None:
        """Caps torch's share of a packed GPU (TF and JAX read environment variables instead)."""
        torch = sys.modules.get("torch")
        if torch is None or not 0 < self._gpu_fraction < 1:
            return
        if torch.cuda.is_available():
            torch.cuda.set_per_process_memory_fraction(self._gpu_fraction)
