"""``RemoteOracle``: an :class:`~tuner.execution.OracleHandle` whose oracle is in another process.

Each method sends one request of :mod:`tuner.execution.messages` through a *transport* and
waits for the reply, so the tuner sees the same answers, in the same order, as with a local
oracle. The transport is the only part that differs between a trial subprocess (a socket to
the search process) and a Ray worker (a call to the oracle's actor).

The trials it hands out are copies: it mirrors on them what a local oracle changes in place
(metrics, an early stop, appended executions, the final verdict).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from tuner.execution import messages
from tuner.execution.records import ExecutionRecord
from tuner.hyperparameters import HyperParameter, HyperParameters
from tuner.objective import AnyObjective, objective_from_dict
from tuner.trial import Trial, TrialStatus

#: Sends a request and returns the reply (both dicts of :mod:`tuner.execution.messages`).
Transport = Callable[[dict[str, Any]], Mapping[str, Any]]
#: How old the snapshot of every trial that :attr:`RemoteOracle.trials` returns may be, in s.
SNAPSHOT_SECONDS = 1.0
#: The attributes of a trial that :meth:`RemoteOracle.end_trial` copies from the oracle's.
VERDICT = (
    "status",
    "score",
    "best_step",
    "message",
    "retries",
    "end_time",
    "retryable",
    "objective_values",
    "constraint_values",
    "feasible",
)


class TrialFiles(Protocol):
    """Ships a trial's files with the calls, for a worker whose project folder is its own."""

    def outgoing(self, trial_id: str) -> dict[str, bytes]:
        """The files of ``trial_id`` to send with its ``record_execution`` and ``end_trial``."""
        ...

    def incoming(self, files: Mapping[str, bytes]) -> None:
        """Writes the files a reply brought (a parent trial's checkpoint, for a warm start)."""
        ...

    def trial_ended(self, trial_id: str) -> None:
        """The trial's files were shipped with its end: the local copies may go."""
        ...


class RemoteOracle:
    """The :class:`~tuner.execution.OracleHandle` of an oracle served elsewhere.

    Args:
        transport: Sends one request, returns its reply.
        files: Ships trial files with the calls (a Ray worker); None when the tuner writes the
            project directory itself (a trial subprocess on the same machine).

    Example:
        >>> from tuner.execution.service import OracleService
        >>> from tuner.oracles import RandomSearchOracle
        >>> served = RandomSearchOracle(objective="loss", max_trials=1, seed=5)
        >>> oracle = RemoteOracle(OracleService(served).handle)  # a loopback transport
        >>> oracle.effective_seed, oracle.create_trial("t0").status.value
        (5, 'RUNNING')
    """

    #: The serving side discovers a grid's whole space before handles start.
    needs_initial_space = False

    def __init__(self, transport: Transport, files: TrialFiles | None = None):
        self._transport = transport
        self._files = files
        description = self._call("describe")
        self.objective: AnyObjective = objective_from_dict(description["objective"])
        self.seed: int | None = description["seed"]
        self._effective_seed: int = int(description["effective_seed"])
        self.max_trials: int | None = description["max_trials"]
        #: How many trials this handle handed out.
        self.trials_run = 0
        self._running: dict[str, Trial] = {}
        self._snapshot: tuple[float, dict[str, Trial], int | None] | None = None

    def _call(self, call: str, files: Mapping[str, bytes] | None = None, **arguments: Any) -> Any:
        message = messages.request(call, **arguments)
        if files:
            message["files"] = dict(files)
        reply = self._transport(message)
        result = messages.result_of(reply)
        if self._files is not None and reply.get("files"):
            self._files.incoming(reply["files"])
        return result

    def _outgoing(self, trial_id: str) -> dict[str, bytes]:
        return self._files.outgoing(trial_id) if self._files is not None else {}

    @property
    def effective_seed(self) -> int:
        """The seed in use on the serving side (the user's, or the one drawn and persisted)."""
        return self._effective_seed

    # --- the trial life cycle --------------------------------------------------------------------
    def create_trial(self, tuner_id: str) -> Trial:
        trial = Trial.from_dict(self._call("create_trial", tuner_id=tuner_id))
        if trial.status == TrialStatus.RUNNING:
            self._running[trial.trial_id] = trial
            self.trials_run += 1
        return trial

    def update_trial(
        self, trial_id: str, metrics: Mapping[str, float], step: int = 0
    ) -> TrialStatus:
        values = messages.encode_metrics(metrics)
        status = TrialStatus(
            self._call("update_trial", trial_id=trial_id, metrics=values, step=int(step))
        )
        trial = self._running.get(trial_id)
        if trial is not None:
            for name, value in values.items():
                trial.metrics.update(name, value, int(step))
            if status == TrialStatus.STOPPED and trial.status == TrialStatus.RUNNING:
                trial.status = TrialStatus.STOPPED
        return status

    def record_execution(self, trial_id: str, record: ExecutionRecord | Mapping[str, Any]) -> None:
        converted = ExecutionRecord.of(record)
        # The checkpoint written for this run travels with it, as one process would have it.
        files = self._outgoing(trial_id)
        self._call("record_execution", files, trial_id=trial_id, record=converted.to_dict())
        trial = self._running.get(trial_id)
        if trial is not None:
            trial.executions.append(converted)

    def end_trial(self, trial: Trial) -> None:
        files = self._outgoing(trial.trial_id)
        stored = Trial.from_dict(self._call("end_trial", files, trial=trial.to_dict()))
        if self._files is not None:
            self._files.trial_ended(trial.trial_id)
        # The caller keeps using its copy (callbacks print it): give it the oracle's verdict.
        for name in VERDICT:
            setattr(trial, name, getattr(stored, name))
        self._running.pop(trial.trial_id, None)

    def update_space(self, hyperparameters: HyperParameters) -> None:
        self._call("update_space", hyperparameters=hyperparameters.get_config())

    def sample_new_entry(self, trial_id: str, hyperparameter: HyperParameter) -> Any:
        encoded = messages.encode_hyperparameter(hyperparameter)
        return self._call("sample_new_entry", trial_id=trial_id, hyperparameter=encoded)

    # --- queries ---------------------------------------------------------------------------------
    def get_space(self) -> HyperParameters:
        """A copy of the search space."""
        return HyperParameters.from_config(self._call("get_space"))

    @property
    def hyperparameters(self) -> HyperParameters:
        """The search space (a copy)."""
        return self.get_space()

    def get_trial(self, trial_id: str) -> Trial:
        return Trial.from_dict(self._call("get_trial", trial_id=trial_id))

    def get_pareto_front(self) -> list[Trial]:
        return [Trial.from_dict(data) for data in self._call("get_pareto_front")]

    def get_best_trials(self, num_trials: int = 1) -> list[Trial]:
        found = self._call("get_best_trials", num_trials=num_trials)
        return [Trial.from_dict(data) for data in found]

    @property
    def trials(self) -> dict[str, Trial]:
        """Every trial of the search: a snapshot, at most :data:`SNAPSHOT_SECONDS` old.

        The console display asks for it several times per trial; fetching every trial each
        time would make a long search's bookkeeping grow with the square of its trials.
        """
        return self._fresh_snapshot()[0]

    @property
    def remaining_trials(self) -> int | None:
        """How many more trials the oracle may create (as of :attr:`trials`' snapshot)."""
        return self._fresh_snapshot()[1]

    def _fresh_snapshot(self) -> tuple[dict[str, Trial], int | None]:
        now = time.monotonic()
        if self._snapshot is None or now - self._snapshot[0] > SNAPSHOT_SECONDS:
            found = self._call("get_trials")
            trials = (Trial.from_dict(data) for data in found["trials"])
            self._snapshot = (now, {t.trial_id: t for t in trials}, found["remaining_trials"])
        return self._snapshot[1], self._snapshot[2]

    def save(self) -> None:
        self._call("save")

    def reload(self) -> None:
        self._call("reload")
        self._snapshot = None
