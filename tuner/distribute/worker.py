"""A Ray worker: the tuner's own trial loop, run against a remote handle of the oracle.

The driver ships a copy of its tuner without the oracle and the project storage (a
*blueprint*, :mod:`tuner.execution.shipping`). The worker restores it with a
:class:`~tuner.execution.remote.RemoteOracle` as its oracle and a scratch project directory of
its own, then runs ``BaseTuner._run_trials``, the very loop a
single-process search runs. A trial's files written in the scratch directory go back to the
oracle's node when the trial ends.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray
from ray import cloudpickle

from tuner import errors
from tuner.display import ConsoleDisplay
from tuner.distribute import artifacts
from tuner.execution.remote import RemoteOracle
from tuner.execution.shipping import rebuild, shipped_state, unpicklable_attribute

if TYPE_CHECKING:
    from tuner.search import BaseTuner

#: Name prefix of a worker's scratch folder (``<prefix><pid>-<random>`` in the temp folder).
_SCRATCH_PREFIX = "tuner-ray-worker-"


def make_blueprint(tuner: BaseTuner) -> bytes:
    """Serialises ``tuner`` for the workers, without its oracle and project storage.

    The console display is not shipped (it holds the driver's terminal): each worker gets a
    new one printing plain lines, which Ray forwards to the driver's output.

    Raises:
        TypeError: An attribute of the tuner (a hypermodel, a callback) cannot be serialised;
            the message names it.
    """
    state = shipped_state(tuner, "loop")
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
        culprit = unpicklable_attribute(state, cloudpickle.dumps) or "?"
        raise TypeError(
            f"The tuner cannot be sent to Ray workers: its attribute {culprit!r} cannot be "
            f"serialised ({error}). Define what it holds at module level (a build function, a "
            "HyperModel class) and keep live resources (open files, locks, sessions) out of it."
        ) from error


def restore_tuner(blueprint: bytes, tuner_id: str, directory: str) -> BaseTuner:
    """Rebuilds a worker's tuner from a blueprint, writing its files under ``directory``.

    The caller gives it an oracle (``tuner.oracle = remote_oracle(...)``) before running trials.
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
    tuner = rebuild(tuner_class, state)
    tuner.directory = directory
    tuner.tuner_id = tuner_id
    return tuner


class _WorkerFiles:
    """A worker's trial files: shipped with its reports, received for a warm start.

    Args:
        project_dir: The worker's scratch project directory.
    """

    def __init__(self, project_dir: str):
        self._project_dir = project_dir

    def outgoing(self, trial_id: str) -> dict[str, bytes]:
        return artifacts.collect_trial_files(self._project_dir, trial_id)

    def incoming(self, files: Mapping[str, bytes]) -> None:
        artifacts.write_files(self._project_dir, files)

    def trial_ended(self, trial_id: str) -> None:
        # Shipped: the scratch directory holds nothing more of value (parents' checkpoints
        # fetched for a warm start included), so it does not grow over a long search.
        artifacts.empty_directory(self._project_dir)


def remote_oracle(host: Any, tuner_id: str, project_dir: str) -> RemoteOracle:
    """The oracle handle of the worker ``tuner_id``: requests go to the host actor, waited for.

    Example:
        >>> oracle = remote_oracle(host, "ray-worker-0", "/tmp/scratch/project")  # doctest: +SKIP
        >>> trial = oracle.create_trial("ray-worker-0")  # doctest: +SKIP
    """

    def transport(message: dict[str, Any]) -> Mapping[str, Any]:
        return _call(host.call, tuner_id, message)

    return RemoteOracle(transport, _WorkerFiles(project_dir))


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
            oracle = remote_oracle(self._host, self._tuner_id, tuner.project_dir)
            tuner.oracle = oracle
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
            return oracle.trials_run
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _limit_gpu_memory(self) -> None:
        """Caps torch's share of a packed GPU (TF and JAX read environment variables instead)."""
        torch = sys.modules.get("torch")
        if torch is None or not 0 < self._gpu_fraction < 1:
            return
        if torch.cuda.is_available():
            torch.cuda.set_per_process_memory_fraction(self._gpu_fraction)
