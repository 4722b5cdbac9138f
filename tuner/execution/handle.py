"""``OracleHandle``: everything the search loop and ``run_trial`` may ask of an oracle.

A tuner talks to its oracle only through this surface, wherever the oracle is: the
:class:`~tuner.oracles.Oracle` itself in one process, or a
:class:`~tuner.execution.remote.RemoteOracle` that forwards each call to an oracle in another
process (the search process of a trial subprocess, the Ray actor of a distributed search).
A member used by the loop, a tuner or a callback and missing here would work in one process and
break elsewhere; the contract suite ``tests/execution/test_handle_contract.py`` runs the same
checks against every kind of handle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from tuner.execution.records import ExecutionRecord
    from tuner.hyperparameters import HyperParameter, HyperParameters
    from tuner.objective import AnyObjective
    from tuner.trial import Trial, TrialStatus


@runtime_checkable
class OracleHandle(Protocol):
    """The oracle as the search loop, ``run_trial`` and callbacks see it.

    Contract (every implementation, local or remote):
        - ``create_trial(tuner_id)`` returns a RUNNING trial owned by ``tuner_id`` (the same
          one again while that tuner has not ended it), or a trial whose status is IDLE (ask
          again later) or STOPPED (the search is over).
        - ``update_trial`` records metrics at a step and returns the trial's status: STOPPED
          means stop training this trial now.
        - ``record_execution`` appends one finished run to a running trial, persisted at once.
        - ``end_trial(trial)`` takes the trial back with its status set by the tuner and leaves
          on that same object the oracle's verdict (``status``, ``score``, ``best_step``,
          ``message``, ``objective_values``, ``feasible``). It raises
          ``TooManyFailedTrialsError`` when failures in a row reach the limit.
        - ``sample_new_entry`` gives the value of a hyperparameter a build meets first;
          ``update_space`` adds the hyperparameters a build registered to the space.
        - Queries (``trials``, ``get_trial``, ``get_best_trials``, ``get_pareto_front``,
          ``get_space``, ``hyperparameters``, ``remaining_trials``) return copies or snapshots
          a caller may read but must not change.
        - ``seed`` is the seed the user gave (None when none was); ``effective_seed`` the seed
          in use, the same in every process and after a resume (cross-validation folds are drawn
          from it).
        - Errors an oracle raises reach the caller as the same :mod:`tuner.errors` class.
    """

    objective: AnyObjective
    seed: int | None
    max_trials: int | None

    @property
    def needs_initial_space(self) -> bool:
        """Whether the tuner must discover the whole space before the first trial (grid)."""
        ...

    @property
    def effective_seed(self) -> int: ...

    @property
    def trials(self) -> Mapping[str, Trial]: ...

    @property
    def hyperparameters(self) -> HyperParameters: ...

    @property
    def remaining_trials(self) -> int | None: ...

    def create_trial(self, tuner_id: str) -> Trial: ...

    def update_trial(
        self, trial_id: str, metrics: Mapping[str, float], step: int = 0
    ) -> TrialStatus: ...

    def record_execution(
        self, trial_id: str, record: ExecutionRecord | Mapping[str, Any]
    ) -> None: ...

    def end_trial(self, trial: Trial) -> None: ...

    def update_space(self, hyperparameters: HyperParameters) -> None: ...

    def sample_new_entry(self, trial_id: str, hyperparameter: HyperParameter) -> Any: ...

    def get_space(self) -> HyperParameters: ...

    def get_trial(self, trial_id: str) -> Trial: ...

    def get_best_trials(self, num_trials: int = 1) -> list[Trial]: ...

    def get_pareto_front(self) -> list[Trial]: ...

    def save(self) -> None: ...

    def reload(self) -> None: ...
