"""Hyperband (Li et al., 2018): successive halving over brackets of decreasing aggressiveness.

A bracket starts many configurations on a few epochs and keeps the best ``1/factor`` of each
round for the next, ``factor`` times longer; the brackets of one Hyperband iteration trade the
number of configurations against the epochs each gets. Promoted trials continue from their
parent's best checkpoint (``Budget.initial_epoch`` and ``Budget.parent_trial_id``), so a round
trains only the epochs it adds.

The bracket state (which trials each open round holds) is the oracle's JSON state, written after
each new trial, so a search killed mid-bracket resumes the same bracket and promotes the same
candidates. Which candidates win a round is derived from the trial files (their scores), never
stored twice.

Which trial is "best" under multi-fidelity: :func:`rank_by_fidelity`, shared with ASHA.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuner.errors import FatalValueError
from tuner.objective import AnyObjective, is_finite_number
from tuner.oracles.arguments import OracleOptions, takes_oracle_options
from tuner.oracles.base import Oracle, Proposal, trial_index, values_key
from tuner.pareto import quality_order
from tuner.trial import Budget, Trial, TrialStatus

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

#: Statuses whose score counts as evidence about a configuration.
_SCORED = (TrialStatus.COMPLETED, TrialStatus.STOPPED)


@dataclass(frozen=True)
class RoundPlan:
    """One round of a bracket: how many trials, and the epoch each trains until.

    Example:
        >>> RoundPlan(size=9, epochs=3)
        RoundPlan(size=9, epochs=3)
    """

    size: int
    epochs: int


@dataclass(frozen=True)
class BracketPlan:
    """The rounds of one bracket, from the most configurations to the fewest.

    Args:
        index: Hyperband's ``s``: the number of halvings (``tuner/bracket`` in a trial's values).
        rounds: The rounds, in order.

    Example:
        >>> plan = BracketPlan(1, (RoundPlan(6, 9), RoundPlan(2, 27)))
        >>> plan.epochs  # 6 x 9 epochs, then 2 x 18 more from the parents' checkpoints
        90
    """

    index: int
    rounds: tuple[RoundPlan, ...]

    @property
    def epochs(self) -> int:
        """Epochs the bracket trains when every round is full (promotions warm start)."""
        total, previous = 0, 0
        for round_plan in self.rounds:
            total += round_plan.size * (round_plan.epochs - previous)
            previous = round_plan.epochs
        return total


def hyperband_schedule(max_epochs: int, factor: int) -> tuple[BracketPlan, ...]:
    """The brackets of one Hyperband iteration, in the order they run (most halvings first).

    Li et al. (2018), Algorithm 1, with keras-tuner 1.4's rounding, so that a search moved from
    keras-tuner runs the same trials for the same epochs: with ``s_max = floor(log_factor(R))``
    for ``R = max_epochs``, bracket ``s`` (from ``s_max`` down to 0) has ``s + 1`` rounds; round
    ``i`` trains ``ceil(m * factor**(s - i) / (s + 1))`` trials until epoch
    ``ceil(R / factor**(s - i))``, where ``m = s_max + 1`` when ``R`` is a power of ``factor``
    and ``s_max + 2`` otherwise (keras-tuner's ``ceil(1 + log_factor(R))``, computed exactly).
    Each round thus keeps about ``1/factor`` of the previous one, and the last trains until
    ``max_epochs``.

    Example:
        >>> [[(r.size, r.epochs) for r in b.rounds] for b in hyperband_schedule(9, 3)]
        [[(9, 1), (3, 3), (1, 9)], [(5, 3), (2, 9)], [(3, 9)]]
    """
    s_max = 0
    while factor ** (s_max + 1) <= max_epochs:
        s_max += 1
    last_round_size = s_max + 1 if factor**s_max == max_epochs else s_max + 2
    brackets = []
    for s in range(s_max, -1, -1):
        rounds = []
        for round_number in range(s + 1):
            halvings_left = s - round_number
            size = -(-last_round_size * factor**halvings_left // (s + 1))  # exact ceil
            epochs = -(-max_epochs // factor**halvings_left)
            rounds.append(RoundPlan(size, epochs))
        brackets.append(BracketPlan(s, tuple(rounds)))
    return tuple(brackets)


@dataclass
class Bracket:
    """A bracket being run: the trials each of its rounds holds so far.

    Args:
        ordinal: Position in the sequence of brackets of the whole search (0, 1, ...).
        index: Hyperband's ``s`` of this bracket.
        rounds: Trial ids of each round opened so far; the last one is being filled or run.
        exhausted: The search space ran out of new configurations while filling round 0.

    Example:
        >>> Bracket(ordinal=0, index=2, rounds=[["0000", "0001"]]).to_dict()["rounds"]
        [['0000', '0001']]
    """

    ordinal: int
    index: int
    rounds: list[list[str]] = field(default_factory=lambda: [[]])
    exhausted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "ordinal": self.ordinal,
            "index": self.index,
            "rounds": [list(r) for r in self.rounds],
            "exhausted": self.exhausted,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bracket:
        """Inverse of :meth:`to_dict`."""
        return cls(
            ordinal=int(data["ordinal"]),
            index=int(data["index"]),
            rounds=[list(r) for r in data["rounds"]],
            exhausted=bool(data.get("exhausted", False)),
        )

    def contains(self, trial_id: str) -> bool:
        """Whether a round of this bracket holds the trial."""
        return any(trial_id in round_ids for round_ids in self.rounds)


def trained_epochs(trial: Trial) -> int:
    """The epoch a trial's model reached: its granted budget, or its last reported step + 1.

    A trial stopped early (by an oracle) counts the epochs it actually trained; one that
    completed counts its whole budget, even when a user's EarlyStopping ended its fit sooner.
    """
    if trial.status == TrialStatus.COMPLETED and trial.budget is not None:
        return trial.budget.epochs
    steps = [
        observation.step
        for history in trial.metrics.metrics.values()
        for observation in history.get_history()
    ]
    if steps:
        return max(steps) + 1
    return trial.budget.epochs if trial.budget is not None else 0


def objective_at_step(trial: Trial, objective: AnyObjective, step: int) -> float | None:
    """The objective's value that a trial reported at ``step`` (None when it reported none)."""
    row = {}
    for name in objective.metric_names:
        if not trial.metrics.exists(name):
            return None
        at_step = [o.value for o in trial.metrics.get_history(name) if o.step == step]
        if not at_step:
            return None
        row[name] = at_step[-1]
    return objective.get_value(row)


def rank_by_fidelity(
    trials: Iterable[Trial], objective: AnyObjective, num_trials: int
) -> list[Trial]:
    """The best trials of a multi-fidelity search: most-trained first, then by final value.

    Each configuration appears once, through its most-trained trial. Why not rank all trials by
    score, as keras-tuner does:

    - A short trial that got lucky proves little. On a noisy, flat problem the best score after
      1 epoch among 27 configurations is mostly noise, and ranked with the 27-epoch trials it
      is returned as "best" more often than a configuration that survived every round. So the
      trials that trained most come first.
    - Among equally trained trials, the score (the best epoch's value) is not like-for-like: a
      promoted trial reports only the epochs it added, a trial trained from scratch all of them,
      and the best of more noisy epochs is higher by chance alone. All of them reported the
      same last epoch, so they are ranked by the objective's value there, as successive halving
      itself compares configurations (the score, ties and missing values break ties).
    """
    best_per_configuration: dict[str, Trial] = {}
    keys: dict[str, tuple[int, float, float, int]] = {}
    for trial in trials:
        if not (trial.status in _SCORED and trial.feasible and is_finite_number(trial.score)):
            continue
        key = values_key(trial.hyperparameters.values)
        rank = _fidelity_key(objective, trial)
        keys[trial.trial_id] = rank
        incumbent = best_per_configuration.get(key)
        if incumbent is None or rank < keys[incumbent.trial_id]:
            best_per_configuration[key] = trial
    ranked = sorted(best_per_configuration.values(), key=lambda t: keys[t.trial_id])
    return ranked[:num_trials]


def _fidelity_key(objective: AnyObjective, trial: Trial) -> tuple[int, float, float, int]:
    score_key = objective.sort_key(trial.score)  # type: ignore[arg-type]
    steps = [o.step for name in objective.metric_names if trial.metrics.exists(name)
             for o in trial.metrics.get_history(name)]  # fmt: skip
    last = objective_at_step(trial, objective, max(steps)) if steps else None
    last_key = math.inf
    if last is not None and is_finite_number(last):
        last_key = objective.sort_key(last)
    if not steps:  # no per-epoch history (a run_trial that returned one value): its score
        last_key = score_key
    return (-trained_epochs(trial), last_key, score_key, trial_index(trial.trial_id))


@takes_oracle_options()
class HyperbandOracle(Oracle):
    """Hyperband: brackets of successive halving, with promoted trials warm-started.

    Each new configuration is drawn at random (as :class:`~tuner.oracles.RandomSearchOracle`
    does); each round's best ``1/factor`` continue from their parent's best checkpoint. A new
    round starts when every trial of the previous one has finished (with several workers,
    workers that would wait start the next bracket instead). The search ends after
    ``hyperband_iterations`` iterations of every bracket. It never trains a model past
    ``max_epochs``, and the epochs it spends never exceed :attr:`total_epochs`.

    :meth:`get_best_trials` ranks the most-trained trials first (see :func:`rank_by_fidelity`).

    Args:
        objective: See :class:`~tuner.oracles.Oracle`.
        max_epochs: The epochs of a fully trained model (Hyperband's ``R``). Defaults to 100.
        factor: The reduction factor ``eta``: each round keeps ``1/factor`` of its trials and
            trains them ``factor`` times longer. Defaults to 3.
        hyperband_iterations: How many times the whole set of brackets runs. Defaults to 1.

    Example:
        >>> oracle = HyperbandOracle(objective="val_loss", max_epochs=9, factor=3, seed=0)
        >>> oracle.hyperparameters.Int("units", 8, 64)
        8
        >>> trial = oracle.create_trial("worker0")
        >>> trial.budget.epochs, trial.values["tuner/epochs"], trial.values["tuner/bracket"]
        (1, 1, 2)
        >>> oracle.total_epochs
        75
    """

    def __init__(
        self,
        objective: Any = None,
        max_epochs: int = 100,
        factor: int = 3,
        hyperband_iterations: int = 1,
        **options: Unpack[OracleOptions],
    ) -> None:
        _check_positive_int("max_epochs", max_epochs, minimum=1)
        _check_positive_int("factor", factor, minimum=2)
        _check_positive_int("hyperband_iterations", hyperband_iterations, minimum=1)
        super().__init__(
            objective=objective,
            max_trials=None,
            **options,
        )
        self.max_epochs = max_epochs
        self.factor = factor
        self.hyperband_iterations = hyperband_iterations
        #: The brackets of one iteration, in the order they run.
        self.schedule = hyperband_schedule(max_epochs, factor)
        self._brackets: list[Bracket] = []  # the open ones, oldest first
        self._brackets_opened = 0
        self._newest_trial_id: str | None = None

    # --- the schedule ----------------------------------------------------------------------------
    @property
    def total_epochs(self) -> int:
        """The epochs the whole search trains at most (every round full, no retries)."""
        return self.hyperband_iterations * sum(plan.epochs for plan in self.schedule)

    @property
    def remaining_trials(self) -> int:
        """Trials the schedule still plans (fewer when rounds end short); 0 once it is done."""
        with self._lock:
            opened_all = self._brackets_opened >= self.hyperband_iterations * len(self.schedule)
            if opened_all and not self._brackets:
                return 0
            planned = self.hyperband_iterations * sum(
                round_plan.size for plan in self.schedule for round_plan in plan.rounds
            )
            return max(planned - len(self.trials), 0)

    @property
    def brackets(self) -> list[Bracket]:
        """The brackets open now (a copy)."""
        with self._lock:
            return [Bracket.from_dict(b.to_dict()) for b in self._brackets]

    def _plan(self, bracket: Bracket) -> BracketPlan:
        return self.schedule[bracket.ordinal % len(self.schedule)]

    # --- proposing -------------------------------------------------------------------------------
    def _propose(self, trial_id: str) -> Proposal:
        while True:
            for bracket in self._brackets:
                proposal = self._propose_in(bracket, trial_id)
                if proposal is not None:
                    self._newest_trial_id = trial_id
                    return proposal
            self._close_finished_brackets()
            if self._brackets_opened >= self.hyperband_iterations * len(self.schedule):
                return Proposal.wait() if self._brackets else Proposal.stop()
            self._open_bracket()

    def _propose_in(self, bracket: Bracket, trial_id: str) -> Proposal | None:
        """The next trial of ``bracket``, or None when it has none to give now."""
        plan = self._plan(bracket)
        while True:
            step = self._next_step(bracket)
            if step is None:
                return None
            round_number, parent_id = step
            if parent_id is None:
                values = self._new_values(trial_id)
                if values is None:
                    bracket.exhausted = True
                    continue
                budget = Budget(plan.rounds[0].epochs, 0, None, bracket.index, 0)
            else:
                parent = self.trials[parent_id]
                values = {
                    name: value
                    for name, value in parent.hyperparameters.values.items()
                    if not name.startswith("tuner/")
                }
                budget = Budget(
                    plan.rounds[round_number].epochs,
                    plan.rounds[round_number - 1].epochs,
                    parent_id,
                    bracket.index,
                    round_number,
                )
            if round_number == len(bracket.rounds):
                bracket.rounds.append([])
            bracket.rounds[round_number].append(trial_id)
            return Proposal.run(values, budget)

    def _next_step(self, bracket: Bracket) -> tuple[int, str | None] | None:
        """``(round, parent id or None for a new configuration)``, or None: nothing to run now."""
        plan = self._plan(bracket)
        current = len(bracket.rounds) - 1
        if current == 0:
            if not bracket.exhausted and len(bracket.rounds[0]) < plan.rounds[0].size:
                return 0, None
        else:
            promoted = {self.trials[t].budget.parent_trial_id for t in bracket.rounds[current]}  # type: ignore[union-attr]
            for winner in self._winners(bracket, current - 1):
                if winner not in promoted:
                    return current, winner
        if current + 1 >= len(plan.rounds) or not self._round_finished(bracket, current):
            return None
        winners = self._winners(bracket, current)
        return (current + 1, winners[0]) if winners else None

    def _round_finished(self, bracket: Bracket, round_number: int) -> bool:
        return all(self.trials[t].status.is_finished for t in bracket.rounds[round_number])

    def _winners(self, bracket: Bracket, round_number: int) -> list[str]:
        """The trials of a finished round that the next round continues, best first.

        The next round keeps its planned size, scaled down when this round has fewer scored
        trials than planned (failures, or a space too small to fill round 0).
        """
        plan = self._plan(bracket)
        scored = [
            self.trials[t]
            for t in bracket.rounds[round_number]
            if self.trials[t].status in _SCORED and is_finite_number(self.trials[t].score)
        ]
        planned = plan.rounds[round_number].size
        next_size = plan.rounds[round_number + 1].size
        keep = min(next_size, math.ceil(next_size * len(scored) / planned))
        # Several objectives: by non-dominated rank, then crowding distance (MO-Hyperband);
        # constraints: feasible first.
        scored = quality_order(self.objective, scored, self.constraints)
        return [t.trial_id for t in scored[:keep]]

    def _bracket_finished(self, bracket: Bracket) -> bool:
        """Whether the bracket has nothing left to run.

        That is: its last round so far ran, no winner waits for promotion, and no round follows.
        """
        current = len(bracket.rounds) - 1
        return self._round_finished(bracket, current) and self._next_step(bracket) is None

    def _close_finished_brackets(self) -> None:
        self._brackets = [b for b in self._brackets if not self._bracket_finished(b)]

    def _open_bracket(self) -> Bracket:
        ordinal = self._brackets_opened
        bracket = Bracket(ordinal, self.schedule[ordinal % len(self.schedule)].index)
        self._brackets.append(bracket)
        self._brackets_opened += 1
        return bracket

    def _new_values(self, trial_id: str) -> dict[str, Any] | None:
        for attempt in range(self.max_collisions):
            rng = self._rng(trial_id, attempt)
            draw = operator.methodcaller("random_sample", rng)
            values = self.hyperparameters.sample_values(draw)
            if not self._is_duplicate(values):
                return values
        return None

    # --- hooks -----------------------------------------------------------------------------------
    def _on_trial_end(self, trial: Trial) -> None:
        self._close_finished_brackets()

    def _on_reload(self, trials: list[Trial]) -> None:
        # The base writes a new trial's file before this state: a trial created just before a
        # crash may be missing from the brackets. Put it where its budget says it belongs.
        newest = -1 if self._newest_trial_id is None else trial_index(self._newest_trial_id)
        for trial in sorted(self.trials.values(), key=lambda t: trial_index(t.trial_id)):
            if trial_index(trial.trial_id) <= newest or trial.budget is None:
                continue
            self._adopt(trial)
            self._newest_trial_id = trial.trial_id
        self._close_finished_brackets()

    def _adopt(self, trial: Trial) -> None:
        budget = trial.budget
        assert budget is not None
        round_number = budget.round or 0
        if round_number == 0:
            plan_sizes = {id(b): self._plan(b).rounds[0].size for b in self._brackets}
            filling = [
                b
                for b in self._brackets
                if b.index == budget.bracket
                and len(b.rounds) == 1
                and len(b.rounds[0]) < plan_sizes[id(b)]
            ]
            if filling:
                filling[0].rounds[0].append(trial.trial_id)
                return
            self._open_bracket().rounds[0].append(trial.trial_id)
            return
        for bracket in self._brackets:
            if round_number - 1 < len(bracket.rounds) and (
                budget.parent_trial_id in bracket.rounds[round_number - 1]
            ):
                if round_number == len(bracket.rounds):
                    bracket.rounds.append([])
                bracket.rounds[round_number].append(trial.trial_id)
                return

    # --- state -----------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            max_epochs=self.max_epochs,
            factor=self.factor,
            hyperband_iterations=self.hyperband_iterations,
        )
        return config

    def get_state(self) -> dict[str, Any]:
        """The open brackets, how many were opened, and the newest trial they know of."""
        return {
            "max_epochs": self.max_epochs,
            "factor": self.factor,
            "brackets_opened": self._brackets_opened,
            "newest_trial_id": self._newest_trial_id,
            "brackets": [bracket.to_dict() for bracket in self._brackets],
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        for name in ("max_epochs", "factor"):
            saved = state.get(name, getattr(self, name))
            if saved != getattr(self, name):
                raise FatalValueError(
                    f"This Hyperband project was created with {name}={saved}, not "
                    f"{getattr(self, name)}: its brackets follow that schedule. Pass "
                    f"{name}={saved} to resume it, or use another project_name or overwrite=True."
                )
        self._brackets_opened = int(state.get("brackets_opened", 0))
        self._newest_trial_id = state.get("newest_trial_id")
        self._brackets = [Bracket.from_dict(b) for b in state.get("brackets", [])]

    # --- queries ---------------------------------------------------------------------------------
    def get_best_trials(self, num_trials: int = 1) -> list[Trial]:
        """The best trials, most-trained first, then by score (see :func:`rank_by_fidelity`)."""
        with self._lock:
            return rank_by_fidelity(self.trials.values(), self.objective, num_trials)

    def warm_start_trial_ids(self) -> set[str]:
        """The trials of open brackets: a round of theirs may still be promoted."""
        with self._lock:
            return {t for bracket in self._brackets for ids in bracket.rounds for t in ids}


def _check_positive_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
