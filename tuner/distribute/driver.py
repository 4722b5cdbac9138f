"""The driver side of a distributed search: start the actors, watch the workers, clean up.

``BaseTuner.search`` calls :func:`run_distributed_search` with the project already open and
locked. The driver starts one :class:`~tuner.distribute.oracle_host.OracleHost` on its own node
(the single writer of the project directory), puts the ``fit`` arguments once in Ray's object
store, and starts the workers. Then it waits: a worker that returns has been told the search
is over; a worker that dies (Ray reports it) has its trial put back in the queue and a
replacement is started. When every worker has returned, the driver's own oracle reloads the
project directory, so ``get_best_models`` and friends see every trial.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from tuner import errors
from tuner.distribute import artifacts
from tuner.distribute.oracle_host import OracleHost, OracleSpec
from tuner.distribute.worker import TrialWorker, make_blueprint
from tuner.oracles.base import Oracle

if TYPE_CHECKING:
    from tuner.distribute.config import RayWorkers
    from tuner.search import BaseTuner

#: Seconds between two copies of the host's changes to the caller's machine (Ray Client).
_SYNC_SECONDS = 1.0
#: Prefix of the worker actors' names (``tuner-worker:<project dir>:<tuner id>``).
WORKER_NAME_PREFIX = "tuner-worker"


def worker_actor_name(project_dir: str, tuner_id: str) -> str:
    """The Ray name of a worker actor, so that tools (and tests) can find it."""
    return f"{WORKER_NAME_PREFIX}:{os.path.abspath(project_dir)}:{tuner_id}"


@dataclass
class _Worker:
    tuner_id: str
    actor: Any


def run_distributed_search(
    config: RayWorkers, tuner: BaseTuner, fit_args: tuple[Any, ...], fit_kwargs: dict[str, Any]
) -> None:
    """Runs the trials of ``tuner``'s search on Ray workers until the oracle stops.

    Raises:
        TypeError: The tuner or the ``fit`` arguments cannot be sent to workers.
        ValueError: The cluster lacks the CPUs or GPUs one worker asks for.
        errors.TunerError: Whatever ends the search in one process (a fatal error in a trial,
            too many failed trials), raised here as it was raised on the worker.
    """
    oracle = tuner.oracle
    if not isinstance(oracle, Oracle):  # the driver serves the oracle it was given
        raise TypeError(f"A distributed search needs a kt.Oracle, got {oracle!r}.")
    if len(oracle.hyperparameters) == 0 and not oracle.trials:
        # Learn the space before the workers ask for trials together: with an empty space,
        # every worker but the first would wait for the first trial to define it.
        tuner._populate_initial_space()
    spec = OracleSpec.of(oracle)
    blueprint = make_blueprint(tuner)
    project_dir = os.path.abspath(tuner.project_dir)
    started_ray = False
    if not ray.is_initialized():
        ray.init(**_init_arguments(config))
        started_ray = True
    # Any: Ray's types describe an actor's methods as plain functions, without `.remote`.
    host: Any = None
    pool: _WorkerPool | None = None
    try:
        _check_resources(config)
        reruns = max(1, oracle.max_retries_per_trial)
        if _is_ray_client():
            # This process is outside the cluster: the host works on a copy of the project,
            # which the pool copies back here as it changes.
            host = (
                ray.remote(OracleHost)
                .options(num_cpus=0)
                .remote(spec, None, reruns, artifacts.collect_project_files(project_dir))
            )
            mirror_to: str | None = project_dir
        else:  # the host writes the project directory itself, on this node
            node = ray.get_runtime_context().get_node_id()
            host = (
                ray.remote(OracleHost)
                .options(
                    num_cpus=0,
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
                )
                .remote(spec, project_dir, reruns)
            )
            mirror_to = None
        _get(host.describe.remote())  # raises here if the oracle cannot be rebuilt
        fit_data = _put_fit_data(fit_args, fit_kwargs)
        pool = _WorkerPool(config, project_dir, host, blueprint, fit_data, mirror_to)
        pool.run()
    finally:
        if pool is not None:
            pool.stop()  # copies the host's last changes here first (Ray Client)
        if host is not None:
            with contextlib.suppress(Exception):  # the host may be gone with its node
                ray.get(host.dispose.remote(), timeout=30)
            ray.kill(host)
        if started_ray:
            ray.shutdown()
        tuner.oracle.reload()  # the host wrote the project directory: catch up with it
    # Workers cannot prune the project's checkpoints (they write elsewhere): the driver does,
    # once, with the finished search (the Keras tuner's keep_top_k).
    prune_checkpoints = getattr(tuner, "_delete_unneeded_checkpoints", None)
    if prune_checkpoints is not None:
        prune_checkpoints()


def _is_ray_client() -> bool:
    """Whether this process reaches Ray through Ray Client (``ray://``), outside the cluster."""
    from ray.util.client import ray as client

    return bool(client.is_connected())


class _WorkerPool:
    """Keeps ``num_workers`` workers running until the oracle stops them all."""

    def __init__(
        self,
        config: RayWorkers,
        project_dir: str,
        host: Any,
        blueprint: bytes,
        fit_data: Any,
        mirror_to: str | None,
    ):
        self._config = config
        self._mirror_to = mirror_to
        self._synced = 0  # the host's journal position copied so far
        self._project_dir = project_dir
        self._host = host
        self._blueprint = blueprint
        self._fit_data = fit_data
        self._running: dict[Any, _Worker] = {}  # the run() call's reference -> its worker
        self._started = 0
        # Deaths of workers that held no trial, in a row: a sign that workers cannot start.
        self._idle_deaths = 0
        self._actor_class: Any = ray.remote(TrialWorker)  # Any: see run_distributed_search
        self._actor_options = {
            "num_cpus": config.cpus_per_worker,
            "num_gpus": config.gpus_per_worker,
            "runtime_env": {"env_vars": config.worker_env_vars()},
            "max_restarts": 0,
        }

    def run(self) -> None:
        for _ in range(self._config.num_workers):
            self._start_worker()
        timeout = _SYNC_SECONDS if self._mirror_to is not None else None
        while self._running:
            ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout)
            self.sync()
            for reference in ready:
                worker = self._running.pop(reference)
                try:
                    ray.get(reference)
                except ray.exceptions.RayActorError as death:
                    self._replace(worker, death)
                except ray.exceptions.RayTaskError as error:
                    cause = getattr(error, "cause", None)
                    if isinstance(cause, BaseException):
                        raise cause from error
                    raise
        self.sync()

    def sync(self) -> None:
        """Copies the files the host changed to this machine's project (Ray Client only)."""
        if self._mirror_to is None:
            return
        self._synced, files = _get(self._host.changes_since.remote(self._synced))
        artifacts.write_files(self._mirror_to, files)

    def _start_worker(self) -> None:
        tuner_id = f"ray-worker-{self._started}"
        self._started += 1
        actor = self._actor_class.options(
            name=worker_actor_name(self._project_dir, tuner_id), **self._actor_options
        ).remote(self._host, tuner_id, self._blueprint, self._config.gpus_per_worker)
        self._running[actor.run.remote(self._fit_data)] = _Worker(tuner_id, actor)

    def _replace(self, worker: _Worker, death: Exception) -> None:
        reason = str(death).strip().splitlines()[0] if str(death).strip() else repr(death)
        outcome = _get(self._host.worker_died.remote(worker.tuner_id, reason))
        self._idle_deaths = 0 if outcome["held_trial"] else self._idle_deaths + 1
        if self._idle_deaths > 2 * self._config.num_workers:
            raise errors.FatalRuntimeError(
                f"{self._idle_deaths} Ray workers in a row died before running a trial; the "
                f"last one: {reason}. Check that every node can import tuner and the model "
                "code, and has the memory one worker needs."
            )
        if outcome["work_left"]:
            self._start_worker()

    def stop(self) -> None:
        """Ends every worker still alive (after an error, or a KeyboardInterrupt)."""
        for worker in self._running.values():
            ray.kill(worker.actor)
        self._running.clear()
        with contextlib.suppress(Exception):  # keep what the host has, if it still answers
            self.sync()


def _init_arguments(config: RayWorkers) -> dict[str, Any]:
    """``ray.init``'s arguments when the search starts Ray itself.

    ``address=None`` means a runtime of the search's own, as documented: Ray's own default would
    join the last cluster ``ray start`` launched on this machine, and waits forever when that
    cluster is gone but its address file is not. ``RAY_ADDRESS`` (set for Ray jobs) still wins.
    A runtime started here has no dashboard unless asked for: on a small machine its processes
    compete with the trials for the cores. A cluster that is joined keeps its own settings.
    """
    if config.address is None and not os.environ.get("RAY_ADDRESS"):
        return {"address": "local", "include_dashboard": False, **dict(config.init_kwargs)}
    return {"address": config.address, **dict(config.init_kwargs)}


def _get(reference: Any) -> Any:
    """``ray.get`` that raises the oracle's own error rather than Ray's wrapper."""
    try:
        return ray.get(reference)
    except ray.exceptions.RayTaskError as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from error
        raise


def _put_fit_data(fit_args: tuple[Any, ...], fit_kwargs: dict[str, Any]) -> Any:
    """Puts the ``fit`` arguments in the object store once, for every worker and trial."""
    try:
        return ray.put((tuple(fit_args), dict(fit_kwargs)))
    except Exception as error:
        raise TypeError(
            "The arguments of search() cannot be sent to Ray workers "
            f"({type(error).__name__}: {error}). Pass NumPy arrays (or anything picklable); "
            "build a tf.data pipeline or a generator inside HyperModel.fit instead."
        ) from error


def _check_resources(config: RayWorkers) -> None:
    available = ray.cluster_resources()
    for resource, wanted in (("CPU", config.cpus_per_worker), ("GPU", config.gpus_per_worker)):
        if not wanted:
            continue
        total = available.get(resource, 0)
        if total < wanted:
            raise ValueError(
                f"Each Ray worker asks for {wanted} {resource}(s), but the cluster has {total}. "
                f"Lower {resource.lower()}s_per_worker or add {resource}s to the cluster."
            )
        fitting = int(total // wanted)
        if fitting < config.num_workers:
            warnings.warn(
                f"The cluster's {total} {resource}(s) fit {fitting} of the "
                f"{config.num_workers} workers asked for ({wanted} each): the others wait.",
                stacklevel=4,
            )
