"""OracleHost: the one oracle of a distributed search, served to workers from a Ray actor.

The host runs on the driver's node and is the only writer of the project directory while the
search runs. Workers send it the requests of :mod:`tuner.execution.messages` (the same format a
trial subprocess uses), which an :class:`~tuner.execution.service.OracleService` answers; this
module adds only what a cluster needs: who owns which trial, and the trials' files.

Contract:
    - Calls arrive one at a time (a synchronous Ray actor), so the oracle sees the same
      sequence of calls as with one tuner, interleaved between workers.
    - Each trial handed out is owned by one worker (its tuner id). Reports about a trial from a
      worker that no longer owns it (one that was declared dead while a call was in flight)
      are ignored, so a trial is never ended twice.
    - A worker that dies gets its trial put back in the queue (:meth:`OracleHost.worker_died`).
"""

from __future__ import annotations

import inspect
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuner.distribute import artifacts
from tuner.execution import messages
from tuner.execution.service import OracleService
from tuner.hyperparameters import HyperParameters
from tuner.objective import objective_from_dict
from tuner.oracles.base import Oracle
from tuner.storage.json_dir import JsonDirStorage
from tuner.trial import Trial, TrialStatus


@dataclass(frozen=True)
class OracleSpec:
    """What rebuilds an oracle in another process: its class and JSON constructor arguments.

    The oracle's trials and algorithm state are not part of it: the host reloads them from the
    project directory, the one truth.

    Example:
        >>> from tuner.oracles import RandomSearchOracle
        >>> spec = OracleSpec.of(RandomSearchOracle(objective="loss", max_trials=3, seed=1))
        >>> spec.build().max_trials
        3
    """

    oracle_class: type[Oracle]
    config: Mapping[str, Any]
    objective: Mapping[str, Any]
    hyperparameters: Mapping[str, Any]
    #: The seed the user gave (``Oracle.seed``; the config holds the seed in use).
    seed: int | None = None

    @classmethod
    def of(cls, oracle: Oracle) -> OracleSpec:
        """The spec of ``oracle``, checked by rebuilding it once here.

        Raises:
            TypeError: The oracle's class cannot be rebuilt from ``get_config()``.
        """
        spec = cls(
            type(oracle),
            oracle.get_config(),
            oracle.objective.to_dict(),
            oracle.hyperparameters.get_config(),
            oracle.seed,
        )
        rebuilt = spec.build()
        if rebuilt.get_config() != oracle.get_config():
            raise TypeError(
                f"{type(oracle).__name__} cannot run on Ray workers: rebuilt from its "
                f"get_config() it has the config {rebuilt.get_config()}, not "
                f"{oracle.get_config()}. Make get_config() return every constructor argument."
            )
        return spec

    def build(self) -> Oracle:
        """A new oracle with these arguments (no trials yet)."""
        try:
            oracle = self.oracle_class(
                objective=objective_from_dict(self.objective),
                hyperparameters=HyperParameters.from_config(self.hyperparameters),
                **_accepted_arguments(self.oracle_class, self.config),
            )
        except TypeError as error:
            raise TypeError(
                f"{self.oracle_class.__name__} cannot run on Ray workers: it is rebuilt there as "
                f"{self.oracle_class.__name__}(objective=..., hyperparameters=..., "
                f"**get_config()), which failed ({error}). Make its constructor accept what "
                "get_config() returns."
            ) from error
        oracle.seed = self.seed
        return oracle


def _accepted_arguments(oracle_class: type[Oracle], config: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``config`` the constructor takes.

    Some entries are derived rather than given (Hyperband computes ``max_trials``); whether the
    rebuilt oracle is the same is checked by comparing configs (:meth:`OracleSpec.of`).
    """
    parameters = inspect.signature(oracle_class).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return dict(config)
    names = {p.name for p in parameters}
    return {name: value for name, value in config.items() if name in names}


class _WriteJournal:
    """Remembers the order in which the project's files were last written (relative paths).

    It listens to the storage (``JsonDirStorage(on_write=...)``) and is told of the files of
    trials (checkpoints) that the host writes itself.
    """

    def __init__(self) -> None:
        #: Relative path -> sequence number of its last write (1, 2, ...).
        self.entries: dict[str, int] = {}
        self._sequence = 0

    def record(self, relative_path: str) -> None:
        """Notes that a file was (re)written."""
        self._sequence += 1
        self.entries[relative_path] = self._sequence


class OracleHost:
    """The oracle of a distributed search, as a Ray actor (see the module docstring).

    Args:
        spec: The oracle to rebuild.
        project_dir: Absolute path of the project directory on this node; the project must
            exist (the driver opened it), and the host reloads it. None when the driver's files
            are on another machine (Ray Client): the host then works in a folder of its own,
            filled with ``initial_files``, and the driver copies back what changes
            (:meth:`changes_since`).
        lost_trial_reruns: How many times a trial whose worker died is run again before it is
            marked FAILED.
        initial_files: The driver's project files (relative path -> bytes), when
            ``project_dir`` is None.

    Example:
        >>> import ray  # doctest: +SKIP
        >>> host = ray.remote(OracleHost).remote(spec, "/abs/runs/project", 1)  # doctest: +SKIP
    """

    def __init__(
        self,
        spec: OracleSpec,
        project_dir: str | None,
        lost_trial_reruns: int,
        initial_files: Mapping[str, bytes] | None = None,
    ):
        self._owns_directory = project_dir is None
        if project_dir is None:
            project_dir = tempfile.mkdtemp(prefix="tuner-oracle-host-")
            artifacts.write_files(project_dir, initial_files or {})
        self._project_dir = Path(project_dir)
        self._journal = _WriteJournal()
        self._storage = JsonDirStorage(self._project_dir, on_write=self._journal.record)
        self._oracle = spec.build()
        self._oracle.attach_storage(self._storage)
        self._service = OracleService(self._oracle)
        self._lost_trial_reruns = lost_trial_reruns
        self._owners: dict[str, str] = {}  # trial id -> tuner id of the worker running it
        self._dead: set[str] = set()

    # --- for the driver --------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What a worker's handle needs to know once: objective, seeds, max_trials."""
        return self._service.describe()

    def worker_died(self, tuner_id: str, reason: str) -> dict[str, bool]:
        """Handles the death of the worker ``tuner_id``: its trial runs again or fails.

        Returns:
            ``held_trial``: whether the worker was running a trial; ``work_left``: whether a
            replacement worker may find something to run.

        Raises:
            TooManyFailedTrialsError: Failing the trial made too many failures in a row.
        """
        self._dead.add(tuner_id)
        trial = self._oracle.ongoing_trials.get(tuner_id)
        if trial is None:
            return {"held_trial": False, "work_left": self._work_left()}
        self._owners.pop(trial.trial_id, None)
        if trial.retries < self._lost_trial_reruns:
            self._oracle.requeue_trial(trial.trial_id)
            return {"held_trial": True, "work_left": True}
        trial.status = TrialStatus.FAILED
        trial.retryable = False
        trial.message = (
            f"The worker running trial {trial.trial_id} died {trial.retries + 1} time(s), so the "
            f"trial is not run again (a trial whose worker dies runs again at most "
            f"max(1, max_retries_per_trial) = {self._lost_trial_reruns} time(s)). The last "
            f"death: {reason}"
        )
        self._oracle.end_trial(trial)
        return {"held_trial": True, "work_left": self._work_left()}

    def dispose(self) -> None:
        """Writes every file the host holds back; deletes its working copy (Ray Client)."""
        self._storage.flush()
        if self._owns_directory:
            shutil.rmtree(self._project_dir, ignore_errors=True)

    def changes_since(self, sequence: int) -> tuple[int, dict[str, bytes]]:
        """The files written after ``sequence``, in the order of their last write.

        Copying them in this order keeps the project's invariants on the copy at every
        instant (a checkpoint is there before the trial that points to it is completed).

        Returns:
            The sequence number to ask from next time, and relative path -> content.
        """
        self._storage.flush()  # a held record of a starting trial is written, then copied
        changed = [(n, path) for path, n in self._journal.entries.items() if n > sequence]
        files = {path: (self._project_dir / path).read_bytes() for _, path in sorted(changed)}
        return max((n for n, _ in changed), default=sequence), files

    def _work_left(self) -> bool:
        remaining = self._oracle.remaining_trials
        return remaining is None or remaining > 0

    # --- the workers' requests -------------------------------------------------------------------
    def call(self, tuner_id: str, message: Mapping[str, Any]) -> dict[str, Any]:
        """Answers one request of the worker ``tuner_id`` (:mod:`tuner.execution.messages`).

        Files that come with a request are written first, so a trial recorded as completed
        always has its checkpoint. Reports about a trial ``tuner_id`` no longer owns are not
        passed on (see the module docstring).
        """
        if message.get("call") == "create_trial":
            return self._create_trial(tuner_id)
        trial_id = messages.trial_id_of(message)
        if trial_id is not None and self._owners.get(trial_id) != tuner_id:
            return self._answer_stale(message, trial_id)
        self._write_files(message.get("files") or {})
        if message.get("call") == "end_trial":
            del self._owners[trial_id]  # type: ignore[arg-type]
        return self._service.handle(message)

    def _create_trial(self, tuner_id: str) -> dict[str, Any]:
        """The next trial for ``tuner_id``, with the checkpoint files of its parent trial."""
        if tuner_id in self._dead:
            return messages.result_reply(self._unrecorded(TrialStatus.STOPPED))
        try:
            trial = self._oracle.create_trial(tuner_id)
        except Exception as error:
            return messages.error_reply(error)
        others_running = any(other != tuner_id for other in self._oracle.ongoing_trials)
        if trial.status == TrialStatus.STOPPED and others_running:
            # Not final yet: a running trial may still grow the space (define-by-run), fail
            # and be retried, or lose its worker. Ask again later.
            return messages.result_reply(self._unrecorded(TrialStatus.IDLE))
        files: dict[str, bytes] = {}
        if trial.status == TrialStatus.RUNNING:
            self._owners[trial.trial_id] = tuner_id
            parent = trial.budget.parent_trial_id if trial.budget is not None else None
            if parent is not None:
                files = artifacts.collect_checkpoint_files(self._project_dir, parent)
        return messages.result_reply(trial.to_dict(), files)

    def _answer_stale(self, message: Mapping[str, Any], trial_id: str) -> dict[str, Any]:
        """The answer to a report from a worker that was declared dead: stop, change nothing."""
        call = message.get("call")
        if call == "update_trial":
            return messages.result_reply(TrialStatus.STOPPED.value)
        if call == "end_trial":
            return messages.result_reply(self._oracle.get_trial(trial_id).to_dict())
        return messages.result_reply(None)

    @staticmethod
    def _unrecorded(status: TrialStatus) -> dict[str, Any]:
        return Trial("", HyperParameters(), status).to_dict()

    def _write_files(self, files: Mapping[str, bytes]) -> None:
        artifacts.write_files(self._project_dir, files)
        for path in files:
            self._journal.record(path)
