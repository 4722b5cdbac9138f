"""The oracle: trial book-keeping shared by every search algorithm.

An algorithm subclasses :class:`Oracle` and implements one method, :meth:`Oracle._propose`,
which returns a typed :class:`Proposal` for the next trial. Everything else lives here: trial
ids, ``max_trials``, duplicate detection, retries, consecutive-failure limits, the best trial,
persistence through a :class:`~tuner.storage.Storage`, and resume.

Persistence order makes crashes harmless. A new trial's file is written before the trial is
handed out; a finished trial's file is rewritten before the algorithm's state. On reload the
trial files are the truth: RUNNING trials run again, and algorithms reconcile their state with
the finished trials they may have missed (:meth:`Oracle._on_reload`).
"""

from __future__ import annotations

import contextlib
import copy
import enum
import json
import secrets
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tuner.constraints import Constraint, create_constraints
from tuner.errors import (
    FatalTypeError,
    FatalValueError,
    InvalidArgumentError,
    ObjectiveNotFoundError,
    ProjectMismatchError,
    TooManyFailedTrialsError,
)
from tuner.execution.handle import OracleHandle
from tuner.execution.records import ExecutionRecord
from tuner.execution.scoring import score_trial
from tuner.hyperparameters import Fixed, HyperParameter, HyperParameters
from tuner.objective import (
    AnyObjective,
    Objective,
    create_objective,
    is_finite_number,
    objective_from_dict,
)
from tuner.oracles.arguments import BASE_ORACLE_ORDER, OracleOptions, takes_oracle_options
from tuner.oracles.stopping import StoppingRule
from tuner.pareto import pareto_front
from tuner.storage.base import Storage
from tuner.storage.memory import InMemoryStorage
from tuner.trial import Budget, Trial, TrialStatus

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11


class ProposalAction(enum.Enum):
    """What the oracle tells a worker asking for a trial."""

    RUN = "RUN"
    WAIT = "WAIT"
    STOP = "STOP"


@dataclass(frozen=True)
class Proposal:
    """The typed answer of :meth:`Oracle._propose`.

    Use the constructors: ``Proposal.run(values, budget=None)``, ``Proposal.wait()`` (nothing to
    propose until running trials finish) and ``Proposal.stop()`` (the search is over).

    Example:
        >>> Proposal.run({"units": 64}).action
        <ProposalAction.RUN: 'RUN'>
    """

    action: ProposalAction
    values: Mapping[str, Any] | None = None
    budget: Budget | None = None

    def __post_init__(self) -> None:
        if (self.action is ProposalAction.RUN) != (self.values is not None):
            raise ValueError("A RUN proposal needs values; WAIT and STOP take none.")

    @classmethod
    def run(cls, values: Mapping[str, Any], budget: Budget | None = None) -> Proposal:
        """Run a trial with these values (and this budget)."""
        return cls(ProposalAction.RUN, dict(values), budget)

    @classmethod
    def wait(cls) -> Proposal:
        """Nothing to run until some running trial ends; ask again."""
        return cls(ProposalAction.WAIT)

    @classmethod
    def stop(cls) -> Proposal:
        """The search is over (budget spent or space exhausted)."""
        return cls(ProposalAction.STOP)


#: The earlier name of :class:`~tuner.execution.OracleHandle`, kept for code that imports it.
OracleLike = OracleHandle


#: The key of ``oracle.json`` that holds the seconds a search with ``max_time`` has run.
_SECONDS_KEY = "seconds_spent"


def _seconds_of(max_time: Any) -> float | None:
    """``max_time`` in seconds (None stays None)."""
    if max_time is None:
        return None
    if isinstance(max_time, timedelta):
        max_time = max_time.total_seconds()
    if isinstance(max_time, bool) or not isinstance(max_time, (int, float)) or not max_time > 0:
        raise InvalidArgumentError(
            f"max_time must be a positive number of seconds or a datetime.timedelta, got "
            f"{max_time!r}."
        )
    return float(max_time)


def values_key(values: Mapping[str, Any]) -> str:
    """A canonical string for a set of values, ignoring budget bookkeeping entries."""
    return json.dumps(
        {k: v for k, v in values.items() if not k.startswith("tuner/")},
        sort_keys=True,
        default=str,
    )


def trial_index(trial_id: str) -> int:
    """The integer position of a trial id (ids are zero-padded integers)."""
    return int(trial_id)


def _proposes_through_populate_space(cls: type) -> bool:
    """Whether the most derived override of ``cls`` is ``populate_space`` (not ``_propose``).

    A class defining both proposes through ``_propose``. The base :class:`Oracle` defines
    both only as defaults, so it never counts.
    """
    for klass in cls.__mro__:
        if klass is Oracle:
            break
        if "_propose" in vars(klass):
            return False
        if "populate_space" in vars(klass):
            return True
    return False


def _proposal_to_response(proposal: Proposal) -> dict[str, Any]:
    """A :class:`Proposal` as keras-tuner's ``populate_space`` answer."""
    if proposal.action is ProposalAction.STOP:
        return {"status": TrialStatus.STOPPED.value, "values": None}
    if proposal.action is ProposalAction.WAIT:
        return {"status": TrialStatus.IDLE.value, "values": None}
    values = dict(proposal.values or {})
    if proposal.budget is not None:
        values.update(Oracle._budget_values(proposal.budget))
    return {"status": TrialStatus.RUNNING.value, "values": values}


def _response_to_proposal(response: Any, oracle_name: str) -> Proposal:
    """keras-tuner's ``populate_space`` answer as a :class:`Proposal`; bad answers are named."""
    if not isinstance(response, Mapping):
        raise FatalTypeError(
            f"{oracle_name}.populate_space must return a dict with 'status' and 'values', "
            f"got {response!r}."
        )
    raw_status = response.get("status", TrialStatus.RUNNING)
    try:
        status = TrialStatus(raw_status)
    except ValueError:
        raise FatalValueError(
            f"{oracle_name}.populate_space returned the status {raw_status!r}; use 'RUNNING', "
            "'IDLE' or 'STOPPED'."
        ) from None
    if status == TrialStatus.STOPPED:
        return Proposal.stop()
    if status == TrialStatus.IDLE:
        return Proposal.wait()
    if status != TrialStatus.RUNNING:
        raise FatalValueError(
            f"{oracle_name}.populate_space returned the status {status.value!r}; use "
            "'RUNNING', 'IDLE' or 'STOPPED'."
        )
    values = dict(response.get("values") or {})
    budget = None
    if "tuner/epochs" in values:
        budget = Budget(
            epochs=int(values.pop("tuner/epochs")),
            initial_epoch=int(values.pop("tuner/initial_epoch", 0)),
            parent_trial_id=values.pop("tuner/trial_id", None),
            bracket=values.pop("tuner/bracket", None),
            round=values.pop("tuner/round", None),
        )
    return Proposal.run(values, budget)


@takes_oracle_options(BASE_ORACLE_ORDER)
class Oracle:
    """Base class of every search algorithm; keeps the books of a search.

    Subclasses implement :meth:`_propose` (or, as in keras-tuner, :meth:`populate_space`), and may
    extend :meth:`get_state`/:meth:`set_state` with their own JSON state.

    Thread safety: every public method takes the oracle's lock, so several tuner threads (or one
    Ray actor serving several workers) may share one oracle.

    Args:
        objective: A metric name, an :class:`~tuner.Objective`, or a list of them. None (as in
            keras-tuner): ``Objective("default_objective", "min")``, for a ``run_trial`` (or
            ``HyperModel.fit``) that returns the value to minimize as a single number.
        max_trials: How many trials the search may create (failed ones count). None: no limit
            (the algorithm decides when to stop).

    Example:
        >>> from tuner.oracles import RandomSearchOracle
        >>> oracle = RandomSearchOracle(objective="loss", max_trials=2, seed=1)
        >>> trial = oracle.create_trial("worker0")
        >>> oracle.update_trial(trial.trial_id, {"loss": 0.3})
        <TrialStatus.RUNNING: 'RUNNING'>
        >>> trial.status = "COMPLETED"; oracle.end_trial(trial)
        >>> oracle.get_best_trials()[0].score
        0.3
    """

    #: Whether the algorithm needs the whole space before its first proposal (grid search).
    needs_initial_space: ClassVar[bool] = False
    #: Proposals tried before concluding that a finite space is exhausted.
    max_collisions: ClassVar[int] = 50

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = None,
        **options: Unpack[OracleOptions],
    ) -> None:
        # Every option is there: takes_oracle_options fills in those the caller left out.
        hyperparameters = options["hyperparameters"]
        seed = options["seed"]
        max_retries_per_trial = options["max_retries_per_trial"]
        max_consecutive_failed_trials = options["max_consecutive_failed_trials"]
        if max_trials is not None and (not isinstance(max_trials, int) or max_trials < 1):
            raise ValueError(f"max_trials must be a positive integer or None, got {max_trials!r}.")
        if max_retries_per_trial < 0:
            raise ValueError(f"max_retries_per_trial must be >= 0, got {max_retries_per_trial}.")
        if max_consecutive_failed_trials < 1:
            raise ValueError(
                f"max_consecutive_failed_trials must be >= 1, got {max_consecutive_failed_trials}."
            )
        self.objective: AnyObjective = create_objective(objective)
        #: The time budget in seconds (``max_time``), or None.
        self.max_time = _seconds_of(options["max_time"])
        #: Seconds the search ran in earlier processes (from ``oracle.json``).
        self._seconds_before = 0.0
        #: ``time.monotonic()`` when this process first asked for a trial.
        self._clock_start: float | None = None
        #: Running trials the time budget stopped, until they end.
        self._cut_by_time: set[str] = set()
        #: The bounds a trial must respect to be a candidate (:class:`~tuner.Constraint`).
        self.constraints: tuple[Constraint, ...] = create_constraints(
            options.get("constraints"), self.objective.metric_names
        )
        self.max_trials = max_trials
        self.hyperparameters = hyperparameters.copy() if hyperparameters else HyperParameters()
        self.hyperparameters.overrides |= {hp.name for hp in self.hyperparameters.space}
        self.allow_new_entries = options["allow_new_entries"]
        self.tune_new_entries = options["tune_new_entries"]
        #: The seed the user gave (None: none given); :attr:`effective_seed` is the one in use.
        self.seed = seed
        self._seed = int(seed) if seed is not None else secrets.randbits(31)
        self.max_retries_per_trial = max_retries_per_trial
        self.max_consecutive_failed_trials = max_consecutive_failed_trials

        #: Trial id -> trial, every trial of the search.
        self.trials: dict[str, Trial] = {}
        #: Tuner id -> the trial that tuner is running.
        self.ongoing_trials: dict[str, Trial] = {}
        #: Trial ids in the order the trials were created (keras-tuner's; retries not repeated).
        self.start_order: list[str] = []
        #: Trial ids in the order the trials ended for good (COMPLETED, STOPPED or FAILED; a
        #: trial sent for a retry is not in it until its last run ends).
        self.end_order: list[str] = []
        self._retry_queue: list[str] = []
        self._tried: set[str] = set()
        self._consecutive_failures = 0
        self._best_trial_id: str | None = None
        self._next_index = 0
        self._id_width = max(2, len(str(max_trials - 1))) if max_trials else 4
        self._storage: Storage = InMemoryStorage()
        self._saved_state: str | None = None
        self._lock = threading.RLock()
        self._user_rng = np.random.default_rng(self._seed)
        #: An optional early-stopping rule consulted at every reported step, on top of the
        #: algorithm's own (e.g. ``MedianStoppingRule``); not persisted: set it again on resume.
        self.stopping_rule: StoppingRule | None = None

    @property
    def effective_seed(self) -> int:
        """The seed in use: the one given, or one drawn at random and kept in ``project.json``.

        The same in every process of a search and after a resume, so that what is drawn from
        it (cross-validation folds, proposals) repeats.
        """
        return self._seed

    # --- the algorithm contract ------------------------------------------------------------------
    def _propose(self, trial_id: str) -> Proposal:
        """Proposes the next trial. Override this (or ``populate_space``) in an algorithm.

        Called under the oracle's lock, once per new trial id. The base class has already
        checked ``max_trials``; a proposal equal to a tried value set should be avoided
        (:meth:`_is_duplicate`).
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement _propose(trial_id) or populate_space(trial_id)."
        )

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        """keras-tuner's extension point: returns ``{"status": ..., "values": {...}}``.

        Override either this or :meth:`_propose`; the override of the most derived class wins,
        so ``class MyOracle(RandomSearchOracle)`` may override ``populate_space`` and call
        ``super().populate_space(trial_id)`` to get the random search's proposal in this form
        (a multi-fidelity budget appears as the ``tuner/...`` values). ``"status"`` is
        ``"RUNNING"`` (run ``"values"``), ``"IDLE"`` (ask again later) or ``"STOPPED"`` (the
        search is over).
        """
        return _proposal_to_response(self._propose(trial_id))

    def _next_proposal(self, trial_id: str) -> Proposal:
        """The proposal for ``trial_id`` from the most derived ``_propose``/``populate_space``."""
        if _proposes_through_populate_space(type(self)):
            response = self.populate_space(trial_id)
            return _response_to_proposal(response, type(self).__name__)
        return self._propose(trial_id)

    def _on_trial_end(self, trial: Trial) -> None:
        """Hook: a trial has finished (status final). Update the algorithm's state here."""

    def _on_reload(self, trials: list[Trial]) -> None:
        """Hook: the oracle was reloaded; reconcile the state with these finished trials."""

    def _should_stop(self, trial: Trial, step: int) -> bool:
        """Hook: whether a running trial should stop after reporting ``step``."""
        return False

    def _on_space_change(self) -> None:
        """Hook: new hyperparameters were added to the space."""

    # --- helpers for algorithms ------------------------------------------------------------------
    def _rng(self, trial_id: str, *salt: str | int) -> np.random.Generator:
        """A generator that depends only on the seed, the trial and ``salt``.

        Deriving generators instead of carrying one along makes proposals reproducible after a
        resume, and gives seeds ``s`` and ``s + 1`` unrelated sequences.
        """
        words = [self._seed, trial_index(trial_id)]
        words += [s if isinstance(s, int) else zlib.crc32(s.encode()) for s in salt]
        return np.random.default_rng(np.random.SeedSequence(words))

    def _is_duplicate(self, values: Mapping[str, Any]) -> bool:
        """Whether a trial with these values was already created."""
        return values_key(values) in self._tried

    def _random_values(self) -> dict[str, Any] | None:
        """Random values for the active space, or None when no new value set was found.

        Kept for user oracles written against keras-tuner (which call it from
        ``populate_space``).
        """
        for _ in range(self.max_collisions):
            values = self.hyperparameters.sample_values(
                lambda hp: hp.random_sample(self._user_rng)
            )
            if not self._is_duplicate(values):
                return values
        return None

    # --- persistence -----------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON (written to ``project.json``)."""
        return {
            "max_trials": self.max_trials,
            "seed": self._seed,
            "allow_new_entries": self.allow_new_entries,
            "tune_new_entries": self.tune_new_entries,
            "max_retries_per_trial": self.max_retries_per_trial,
            "max_consecutive_failed_trials": self.max_consecutive_failed_trials,
            "constraints": [constraint.to_dict() for constraint in self.constraints],
            "max_time": self.max_time,
        }

    def get_state(self) -> dict[str, Any]:
        """The algorithm's JSON state (``oracle.json``). Extend it in subclasses.

        The book-keeping (trials, failures, ids) is derived from the trial files instead, so a
        crash between two writes can never make them disagree.
        """
        return {}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restores what :meth:`get_state` returned. Extend it in subclasses."""

    def _project_document(self) -> dict[str, Any]:
        return {
            "objective": self.objective.to_dict(),
            "oracle": {"class": type(self).__name__, "config": self.get_config()},
            "hyperparameters": self.hyperparameters.get_config(),
            "id_width": self._id_width,
        }

    def attach_storage(self, storage: Storage) -> bool:
        """Makes ``storage`` the home of this search; reloads it if it holds a project.

        Returns:
            True when an existing project was reloaded.
        """
        with self._lock:
            self._storage = storage
            project = storage.load_project()
            if project is None:
                storage.save_project(self._project_document())
                self._saved_state = None
                return False
            self._reload_from(project)
            return True

    def _reload_from(self, project: Mapping[str, Any]) -> None:
        saved_class = project.get("oracle", {}).get("class")
        if saved_class is not None and saved_class != type(self).__name__:
            raise ProjectMismatchError(
                f"The project {self._storage.location} was created by a {saved_class}, and is "
                f"now reopened by a {type(self).__name__}: one project cannot mix two search "
                "algorithms. Pass overwrite=True to start a new search there, another "
                f"project_name, or use {saved_class} to resume it."
            )
        saved_objective = objective_from_dict(project["objective"])
        if saved_objective != self.objective:
            raise ProjectMismatchError(
                f"The project {self._storage.location} was created with objective "
                f"{saved_objective!r}, not {self.objective!r}. Use the same objective, another "
                "project_name, or overwrite=True."
            )
        config = project["oracle"]["config"]
        saved_constraints = create_constraints(config.get("constraints"))
        if saved_constraints != self.constraints:
            raise ProjectMismatchError(
                f"The project {self._storage.location} was created with constraints "
                f"{list(saved_constraints)}, not {list(self.constraints)}: its trials were "
                "judged by those. Use the same constraints, another project_name, or "
                "overwrite=True."
            )
        self._seed = int(config["seed"])
        self._user_rng = np.random.default_rng(self._seed)
        self._id_width = int(project.get("id_width", self._id_width))
        saved_space = HyperParameters.from_config(project["hyperparameters"])
        saved_space.merge(self.hyperparameters, overwrite=False)
        self.hyperparameters = saved_space
        state = self._storage.load_state()
        self._seconds_before, self._clock_start = 0.0, None
        if state is not None:
            self._saved_state = json.dumps(state, sort_keys=True)
            state = dict(state)
            self._seconds_before = float(state.pop(_SECONDS_KEY, 0.0))
            self.set_state(state)
        self.trials = {}
        self._tried = set()
        self._retry_queue = []
        self.ongoing_trials = {}
        self._best_trial_id = None
        finished: list[Trial] = []
        for trial in sorted(self._storage.load_trials(), key=lambda t: trial_index(t.trial_id)):
            self.trials[trial.trial_id] = trial
            self._tried.add(values_key(trial.hyperparameters.values))
            if trial.status == TrialStatus.INVALID and not trial.retryable:
                # Written by an earlier tuner, where INVALID was final (an oversized model).
                trial.status = TrialStatus.FAILED
            if trial.status.is_finished:
                finished.append(trial)
                self._complete_objective_values(trial)
                self._update_best(trial)
            else:  # running (or waiting for a retry) when the search stopped: run it again
                if trial.status != TrialStatus.INVALID:
                    trial.status = TrialStatus.RUNNING
                self._retry_queue.append(trial.trial_id)
        self._next_index = max((trial_index(t) for t in self.trials), default=-1) + 1
        # The trial files are the truth: creation order is the ids' order, ending order the
        # end times' (ties, which one clock tick cannot tell apart, by id).
        self.start_order = list(self.trials)
        ended = sorted(finished, key=lambda t: (t.end_time or 0.0, trial_index(t.trial_id)))
        self.end_order = [t.trial_id for t in ended]
        self._consecutive_failures = self._trailing_failures()
        self._on_reload(finished)

    def save(self) -> None:
        """Writes the algorithm state when it changed since the last write."""
        with self._lock:
            state = self.get_state()
            if self.max_time is not None or self._seconds_before:
                state = {**state, _SECONDS_KEY: round(self.seconds_spent, 3)}
            text = json.dumps(state, sort_keys=True)
            if text != self._saved_state:
                self._storage.save_state(state)
                self._saved_state = text

    def reload(self) -> None:
        """Reloads the whole search from the storage."""
        with self._lock:
            project = self._storage.load_project()
            if project is not None:
                self._reload_from(project)

    # --- the trial life cycle --------------------------------------------------------------------
    def create_trial(self, tuner_id: str) -> Trial:
        """Creates the next trial for the tuner ``tuner_id``.

        Returns:
            A RUNNING trial; or a trial whose status is IDLE (ask again later) or STOPPED (the
            search is over), which is not recorded.
        """
        with self._lock:
            if tuner_id in self.ongoing_trials:
                return self.ongoing_trials[tuner_id]
            if self._clock_start is None:
                self._clock_start = time.monotonic()
            if self.time_budget_spent:
                return self._unrecorded_trial(TrialStatus.STOPPED)
            now = time.time()
            if self._retry_queue:
                trial = self.trials[self._retry_queue.pop(0)]
                trial.status = TrialStatus.RUNNING
                trial.start_time, trial.end_time, trial.tuner_id = now, None, tuner_id
                self._storage.save_started_trial(trial)
                self.ongoing_trials[tuner_id] = trial
                return trial
            if self.max_trials is not None and len(self.trials) >= self.max_trials:
                return self._unrecorded_trial(TrialStatus.STOPPED)
            trial_id = f"{self._next_index:0{self._id_width}d}"
            proposal = self._next_proposal(trial_id)
            if proposal.action is ProposalAction.STOP:
                return self._unrecorded_trial(TrialStatus.STOPPED)
            if proposal.action is ProposalAction.WAIT:
                return self._unrecorded_trial(TrialStatus.IDLE)
            self._next_index += 1
            values = dict(proposal.values or {})
            if proposal.budget is not None:
                values.update(self._budget_values(proposal.budget))
            trial = Trial(
                trial_id,
                self.hyperparameters.with_values(values),
                TrialStatus.RUNNING,
                budget=proposal.budget,
                start_time=now,
                tuner_id=tuner_id,
            )
            self.trials[trial_id] = trial
            self.start_order.append(trial_id)
            self._tried.add(values_key(values))
            self.ongoing_trials[tuner_id] = trial
            self._storage.save_started_trial(trial)
            self.save()
            return trial

    def record_execution(self, trial_id: str, record: ExecutionRecord | Mapping[str, Any]) -> None:
        """Appends one finished execution (or cross-validation fold) to a running trial.

        The trial's file is rewritten at once (atomically), so a search killed later in the
        trial keeps this execution: on resume, the tuner runs only the ones not yet recorded.

        Args:
            trial_id: A RUNNING trial.
            record: An :class:`~tuner.execution.ExecutionRecord`, or a dict in its JSON form
                (``"metrics"``, ``"best_step"``, ``"score"``, and ``"fold"`` for a fold).
        """
        with self._lock:
            trial = self.trials[trial_id]
            trial.executions.append(ExecutionRecord.of(record))
            self._storage.save_trial(trial)

    def _unrecorded_trial(self, status: TrialStatus) -> Trial:
        return Trial("", HyperParameters(), status)

    @staticmethod
    def _budget_values(budget: Budget) -> dict[str, Any]:
        values: dict[str, Any] = {
            "tuner/epochs": budget.epochs,
            "tuner/initial_epoch": budget.initial_epoch,
        }
        if budget.bracket is not None:
            values["tuner/bracket"] = budget.bracket
        if budget.round is not None:
            values["tuner/round"] = budget.round
        if budget.parent_trial_id is not None:
            values["tuner/trial_id"] = budget.parent_trial_id
        return values

    def update_trial(
        self, trial_id: str, metrics: Mapping[str, float], step: int = 0
    ) -> TrialStatus:
        """Records metrics of a running trial at ``step`` (an epoch, usually).

        Returns:
            The trial's status: STOPPED when the algorithm wants it to stop early.
        """
        with self._lock:
            trial = self.trials[trial_id]
            objective_names = set(self.objective.metric_names)
            for name, value in metrics.items():
                if not trial.metrics.exists(name):
                    direction = self.objective.direction if name in objective_names else None
                    if isinstance(self.objective, Objective) or name not in objective_names:
                        trial.metrics.register(name, direction)
                    else:
                        sub = next(o for o in self.objective.objectives if o.name == name)
                        trial.metrics.register(name, sub.direction)
                trial.metrics.update(name, float(value), step)
            if trial.status == TrialStatus.RUNNING and (
                self._should_stop(trial, step)
                or (
                    self.stopping_rule is not None
                    and self.stopping_rule.should_stop(
                        trial, step, self.trials.values(), self.objective
                    )
                )
            ):
                trial.status = TrialStatus.STOPPED
            if self.max_time is not None:
                if trial.status == TrialStatus.RUNNING and self.time_budget_spent:
                    trial.status = TrialStatus.STOPPED  # scored on what it trained so far
                    self._cut_by_time.add(trial_id)
                self.save()  # the time spent survives a kill
            return trial.status

    # --- the time budget -------------------------------------------------------------------------
    def _end_cut_trial(self, trial: Trial) -> None:
        """Ends a trial the time budget stopped: COMPLETED with what it trained.

        As a Keras EarlyStopping would end it, so that it may be the best. A multi-fidelity
        trial stays STOPPED: its epochs trained, not its budget, are what its ranking counts.
        """
        self._cut_by_time.discard(trial.trial_id)
        steps = {o.step for h in trial.metrics.metrics.values() for o in h.get_history()}
        trial.message = f"Stopped by the time budget (max_time) after {len(steps)} step(s)."
        if trial.budget is None:
            trial.status = TrialStatus.COMPLETED

    @property
    def seconds_spent(self) -> float:
        """How long the search has run, in seconds, across resumes (from its first trial)."""
        running = 0.0 if self._clock_start is None else time.monotonic() - self._clock_start
        return self._seconds_before + running

    @property
    def time_budget_spent(self) -> bool:
        """Whether ``max_time`` is set and the search has run that long."""
        return self.max_time is not None and self.seconds_spent >= self.max_time

    def end_trial(self, trial: Trial | str, status: str | None = None) -> None:
        """Records that a trial ended. The tuner sets ``trial.status`` before calling.

        The statuses mean what they mean in keras-tuner: COMPLETED (or STOPPED, ended early by
        the oracle) is scored; INVALID (the trial crashed) is run again while
        ``max_retries_per_trial`` allows, then becomes FAILED; FAILED is final at once (no
        retry) and counts towards ``max_consecutive_failed_trials``. A RUNNING trial counts as
        COMPLETED.

        Also accepts keras-tuner's older ``end_trial(trial_id, status)`` form.

        Raises:
            ObjectiveNotFoundError: A completed trial reported no value of the objective.
            TooManyFailedTrialsError: ``max_consecutive_failed_trials`` failures in a row.
        """
        with self._lock:
            if isinstance(trial, str):
                trial = self.trials[trial]
                if status is not None:
                    trial.status = TrialStatus(status)
            stored = self.trials[trial.trial_id]
            if stored is not trial:  # a copy came back from another process
                self._absorb(stored, trial)
            # The build may have completed the values (hyperparameters met for the first time).
            self._tried.add(values_key(stored.hyperparameters.values))
            for tuner_id, ongoing in list(self.ongoing_trials.items()):
                if ongoing.trial_id == stored.trial_id:
                    del self.ongoing_trials[tuner_id]
            if stored.status == TrialStatus.RUNNING:
                stored.status = TrialStatus.COMPLETED
            if stored.trial_id in self._cut_by_time and stored.status == TrialStatus.STOPPED:
                self._end_cut_trial(stored)
            if stored.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED):
                self._score(stored)
            if stored.status == TrialStatus.INVALID:
                if stored.retryable and stored.retries < self.max_retries_per_trial:
                    stored.executions = []  # a retry after an error starts afresh, folds included
                    self._prepare_rerun(stored)
                    stored.status = TrialStatus.INVALID  # until it is handed out again
                    self._retry_queue.append(stored.trial_id)
                    self._storage.save_trial(stored)
                    return
                stored.status = TrialStatus.FAILED  # no retry left: final
            stored.end_time = time.time()
            self._storage.save_trial(stored)
            self.end_order.append(stored.trial_id)
            if stored.status == TrialStatus.FAILED:
                self._consecutive_failures += 1
            else:
                self._consecutive_failures = 0
            self._update_best(stored)
            self._on_trial_end(stored)
            self.save()
            if self._consecutive_failures >= self.max_consecutive_failed_trials:
                raise TooManyFailedTrialsError(
                    "Number of consecutive failures exceeded the limit of "
                    f"{self.max_consecutive_failed_trials} (max_consecutive_failed_trials): "
                    f"{self._consecutive_failures} trials failed in a row, so the search "
                    f"stopped. The last one, trial {stored.trial_id}, failed with:\n"
                    f"{stored.message}"
                )

    def _trailing_failures(self) -> int:
        """How many trials at the end of :attr:`end_order` are FAILED."""
        count = 0
        for trial_id in reversed(self.end_order):
            if self.trials[trial_id].status != TrialStatus.FAILED:
                break
            count += 1
        return count

    def requeue_trial(self, trial_id: str) -> None:
        """Puts back a RUNNING trial whose runner was lost (a Ray worker that died).

        The next ``create_trial`` hands it out again, same id and values, before any new
        trial; its metrics are cleared and ``retries`` counts the extra run. Deciding whether a
        lost trial deserves another run is the caller's business.
        """
        with self._lock:
            trial = self.trials[trial_id]
            for tuner_id, ongoing in list(self.ongoing_trials.items()):
                if ongoing.trial_id == trial_id:
                    del self.ongoing_trials[tuner_id]
            self._prepare_rerun(trial)  # recorded executions (folds) are kept: they finished
            if trial_id not in self._retry_queue:
                self._retry_queue.insert(0, trial_id)
            self._storage.save_trial(trial)

    @staticmethod
    def _prepare_rerun(trial: Trial) -> None:
        """Counts one more run of ``trial`` and clears what its last run reported."""
        trial.retries += 1
        trial.status = TrialStatus.RUNNING
        trial.metrics = type(trial.metrics)()
        trial.score = trial.best_step = None
        trial.objective_values, trial.constraint_values, trial.feasible = {}, {}, True

    @staticmethod
    def _absorb(stored: Trial, incoming: Trial) -> None:
        stored.status = incoming.status
        stored.message = incoming.message
        stored.score = incoming.score
        stored.best_step = incoming.best_step
        stored.executions = incoming.executions
        stored.retryable = incoming.retryable
        stored.hyperparameters = incoming.hyperparameters
        if not stored.metrics.metrics and incoming.metrics.metrics:
            stored.metrics = incoming.metrics

    def _score(self, trial: Trial) -> None:
        """Scores a finished trial and checks its constraints (:func:`~.scoring.score_trial`)."""
        score_trial(self.objective, trial, self.constraints)

    def _complete_objective_values(self, trial: Trial) -> None:
        """Fills in the objective values of a trial written before they were recorded."""
        if trial.objective_values or trial.status != TrialStatus.COMPLETED:
            return
        if isinstance(self.objective, Objective) and is_finite_number(trial.score):
            trial.objective_values = {self.objective.name: float(trial.score)}  # type: ignore[arg-type]
            return
        with contextlib.suppress(ObjectiveNotFoundError):
            rescored = copy.deepcopy(trial)
            score_trial(self.objective, rescored)
            trial.objective_values = rescored.objective_values

    @staticmethod
    def is_candidate(trial: Trial) -> bool:
        """Whether a trial may be a best trial: COMPLETED, feasible, with a finite score."""
        return (
            trial.status == TrialStatus.COMPLETED
            and trial.feasible
            and is_finite_number(trial.score)
        )

    def _update_best(self, trial: Trial) -> None:
        if not self.is_candidate(trial):
            return
        best = self.trials.get(self._best_trial_id) if self._best_trial_id else None
        if best is None or self.objective.better_than(trial.score, best.score):  # type: ignore[arg-type]
            self._best_trial_id = trial.trial_id

    # --- queries ---------------------------------------------------------------------------------
    def get_trial(self, trial_id: str) -> Trial:
        """The trial with this id."""
        with self._lock:
            return self.trials[trial_id]

    def get_best_trials(self, num_trials: int = 1) -> list[Trial]:
        """The best completed trials, best first (ties: the earlier trial first)."""
        with self._lock:
            if num_trials == 1 and self._best_trial_id is not None:
                return [self.trials[self._best_trial_id]]
            completed = [t for t in self.trials.values() if self.is_candidate(t)]
            completed.sort(
                key=lambda t: (self.objective.sort_key(t.score), trial_index(t.trial_id))  # type: ignore[arg-type]
            )
            return completed[:num_trials]

    def get_pareto_front(self) -> list[Trial]:
        """The trials no other dominates: COMPLETED, feasible, non-dominated, best first.

        With a list objective, a trial is on the front when no other trial is at least as
        good on every objective and better on one. The order is keras-tuner's (the signed sum
        of :meth:`get_best_trials`), whose first trial is always on the front. With a single
        objective, the front is the best trial (with any trial that ties with it).
        """
        with self._lock:
            return pareto_front(self.objective, list(self.trials.values()))

    def warm_start_trial_ids(self) -> set[str]:
        """Finished trials the algorithm may still continue from; none by default.

        A warm start reads such a trial's checkpoint, so a tuner deleting checkpoints
        (``keep_top_k``) keeps theirs.
        """
        return set()

    @property
    def remaining_trials(self) -> int | None:
        """How many more trials may be created: ``max_trials`` minus the trials so far.

        None when ``max_trials`` is None (as in keras-tuner), unless the algorithm knows how
        many its plan still holds (grid search, Hyperband).
        """
        if self.max_trials is None:
            return None
        return max(self.max_trials - len(self.trials), 0)

    def get_space(self) -> HyperParameters:
        """A copy of the search space."""
        with self._lock:
            return self.hyperparameters.copy()

    def update_space(self, hyperparameters: HyperParameters) -> None:
        """Adds the hyperparameters a model build met for the first time to the space.

        With ``tune_new_entries=False`` (or ``allow_new_entries=False``) nothing is added, as in
        keras-tuner: the space stays the ``hyperparameters`` given, and the model's other
        hyperparameters take their default in every trial (they are in each trial's values).
        """
        with self._lock:
            if not (self.allow_new_entries and self.tune_new_entries):
                return
            changed = False
            for hp in hyperparameters.space:
                if hp.name.startswith("tuner/") or hp.name in self.hyperparameters.overrides:
                    continue
                # A name is known per set of conditions: each branch of a conditional scope
                # may define it anew (keras-tuner's ``_exists(name, conditions)``).
                if self.hyperparameters.find(hp.name, hp.conditions) is not None:
                    continue
                self.hyperparameters.merge([hp])
                changed = True
            if changed:
                self._storage.save_project(self._project_document())
                self._on_space_change()

    def sample_new_entry(self, trial_id: str, hyperparameter: HyperParameter) -> Any:
        """The value a hyperparameter takes when a trial's build meets it for the first time.

        Random by default (a define-by-run space is then sampled as it unfolds); the default
        value when ``tune_new_entries=False``.

        Raises:
            FatalValueError: ``allow_new_entries=False`` and the name is not in the space.
        """
        with self._lock:
            known = self.hyperparameters.find(hyperparameter.name, hyperparameter.conditions)
            if known is None and hyperparameter.name in self.hyperparameters.overrides:
                known = self.hyperparameters.get_hyperparameter(hyperparameter.name)
            if known is not None:
                return known.value if isinstance(known, Fixed) else known.default
            if not self.allow_new_entries and hyperparameter.name in self.hyperparameters:
                return hyperparameter.default  # a new branch of a known name: not tuned
            if not self.allow_new_entries:
                raise FatalValueError(
                    f"The model defines the hyperparameter {hyperparameter.name!r}, which is not "
                    "in `hyperparameters`, and allow_new_entries=False. Add it to "
                    "`hyperparameters` or set allow_new_entries=True."
                )
            if not self.tune_new_entries or not trial_id:
                return hyperparameter.default
            return self._sample_new_entry(trial_id, hyperparameter)

    def _sample_new_entry(self, trial_id: str, hyperparameter: HyperParameter) -> Any:
        return hyperparameter.random_sample(self._rng(trial_id, "new", hyperparameter.name))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(objective={self.objective!r}, max_trials={self.max_trials}, "
            f"trials={len(self.trials)})"
        )
