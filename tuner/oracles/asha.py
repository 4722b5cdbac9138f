"""Asynchronous successive halving (ASHA; Li et al., 2020): promote as soon as a rung allows it.

Successive halving keeps the best ``1/factor`` of the trials that reached a rung (an epoch count
``min_epochs * factor**k``). Hyperband waits for a whole round before promoting anyone; ASHA
decides each trial alone, as it reaches a rung, against the results recorded there so far, so a
worker never idles waiting for a round to fill. That makes it the algorithm to use with several
workers.

Every trial is granted ``max_epochs``. At each rung the oracle answers the trial's report:
the trial continues when its value ranks among the best ``floor(n / factor)`` of the ``n``
values recorded at that rung, and is otherwise STOPPED there (``update_trial`` returns STOPPED,
and the Keras tuner ends the fit at that epoch). A stopped trial is only paused: when later
results make it one of the best ``floor(n / factor)`` of its rung, the oracle promotes it before
starting a new configuration, as a new trial that continues from its checkpoint
(``Budget.parent_trial_id``). This is ASHA's promotion rule exactly, with the trials that win at
once continuing in the same ``fit`` instead of being restarted.

With a list objective (or constraints) a rung ranks its trials as NSGA-II does (MO-ASHA,
Schmucker et al., 2021): feasible before infeasible, then by non-dominated rank, and within a
rank the most isolated first (crowding distance), which keeps the promoted trials spread along
the front instead of crowding one end of it.

The algorithm keeps no state of its own: the rung values are read back from the trials, so a
resumed search continues exactly where it stopped.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from tuner.errors import FatalValueError
from tuner.objective import is_finite_number
from tuner.oracles.arguments import OracleOptions, takes_oracle_options
from tuner.oracles.base import Proposal, trial_index
from tuner.oracles.fidelity_model import FidelityModelSampling
from tuner.oracles.hyperband import objective_at_step, rank_by_fidelity
from tuner.pareto import selection_order, signed_values, total_violation
from tuner.trial import Budget, Trial, TrialStatus

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11


@takes_oracle_options()
class AsyncSuccessiveHalvingOracle(FidelityModelSampling):
    """ASHA: stops trials that fall behind at a rung and promotes paused ones that catch up.

    Rungs lie at ``min_epochs * factor**k`` epochs below ``max_epochs``. New configurations are
    drawn at random (as :class:`~tuner.oracles.RandomSearchOracle` does), or with
    ``sampler="tpe"`` proposed by TPE densities fitted at the highest rung with enough results,
    as :class:`~tuner.oracles.BOHBOracle` does (a third of them stay random). The search creates
    ``max_trials`` trials, promotions included. :meth:`get_best_trials` ranks the most-trained
    trials first (see :func:`~tuner.oracles.hyperband.rank_by_fidelity`).

    Args:
        objective: See :class:`~tuner.oracles.Oracle`.
        max_trials: Trials to create, promotions of paused trials included. Defaults to 100
            (most stop after ``min_epochs``).
        max_epochs: The epochs of a fully trained model. Defaults to 100.
        factor: The reduction factor: a rung keeps ``1/factor`` of the trials reaching it, and
            the next rung lies ``factor`` times further. Defaults to 3.
        min_epochs: The first rung (the epochs every configuration gets). Defaults to 1.
        sampler: How new configurations are drawn: ``"random"`` (the default) or ``"tpe"``
            (the model of :mod:`tuner.oracles.fidelity_model`, with its defaults).

    Example:
        >>> oracle = AsyncSuccessiveHalvingOracle("loss", max_trials=20, max_epochs=9, seed=0)
        >>> oracle.rung_epochs
        [1, 3, 9]
        >>> oracle.hyperparameters.Float("x", 0.0, 1.0)
        0.0
        >>> first = oracle.create_trial("worker0")
        >>> first.budget.epochs  # granted a full training; the rungs may stop it sooner
        9
        >>> oracle.update_trial(first.trial_id, {"loss": 0.5}, step=0)  # alone at rung 1 epoch
        <TrialStatus.STOPPED: 'STOPPED'>
    """

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = 100,
        max_epochs: int = 100,
        factor: int = 3,
        min_epochs: int = 1,
        *,
        sampler: str = "random",
        **options: Unpack[OracleOptions],
    ) -> None:
        if sampler not in ("random", "tpe"):
            raise ValueError(f'sampler must be "random" or "tpe", got {sampler!r}.')
        for name, value, minimum in (
            ("max_epochs", max_epochs, 1),
            ("factor", factor, 2),
            ("min_epochs", min_epochs, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
        if min_epochs > max_epochs:
            raise ValueError(
                f"min_epochs ({min_epochs}) must not exceed max_epochs ({max_epochs})."
            )
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            **options,
        )
        self.max_epochs = max_epochs
        self.factor = factor
        self.min_epochs = min_epochs
        self.sampler = sampler
        self._setup_model(random_fraction=1 / 3, min_points_in_model=None)
        #: Epoch counts of the rungs; the last is ``max_epochs`` (where trials complete).
        self.rung_epochs = _rungs(min_epochs, max_epochs, factor)
        self._rung_of_epochs = {epochs: k for k, epochs in enumerate(self.rung_epochs[:-1])}
        # Per decision rung: trial id -> sort key of its value there, and the sorted
        # (key, trial index) pairs; rebuilt from the trials on reload.
        self._rung_values: list[dict[str, float]] = [{} for _ in self.rung_epochs[:-1]]
        self._rung_order: list[list[tuple[float, int]]] = [[] for _ in self.rung_epochs[:-1]]
        #: With several objectives or constraints, per decision rung: trial id -> its point
        #: (objectives to minimize) and its constraint violation there.
        self._rung_points: list[dict[str, tuple[tuple[float, ...], float]]] = [
            {} for _ in self.rung_epochs[:-1]
        ]
        self._promoted: set[str] = set()
        #: Stopped trials not promoted yet -> the rung they stopped at.
        self._paused: dict[str, int] = {}

    @property
    def _ranks_by_dominance(self) -> bool:
        """Whether rungs rank points (several objectives, constraints), not single values."""
        return len(self.objective.metric_names) > 1 or bool(self.constraints)

    # --- the rungs -------------------------------------------------------------------------------
    def _record(self, rung: int, trial_id: str, value: float) -> None:
        key = self.objective.sort_key(value) if is_finite_number(value) else float("inf")
        self._forget(rung, trial_id)
        self._rung_values[rung][trial_id] = key
        bisect.insort(self._rung_order[rung], (key, trial_index(trial_id)))

    def _forget(self, rung: int, trial_id: str) -> None:
        old = self._rung_values[rung].pop(trial_id, None)
        if old is not None:
            self._rung_order[rung].remove((old, trial_index(trial_id)))
        self._rung_points[rung].pop(trial_id, None)

    def _record_at_step(self, rung: int, trial: Trial, step: int) -> bool:
        """Records the trial's result at ``step`` on the rung; False when it reported none."""
        if not self._ranks_by_dominance:
            value = objective_at_step(trial, self.objective, step)
            if value is None:
                return False
            self._record(rung, trial.trial_id, value)
            return True
        metrics = {
            name: observed[-1].value
            for name in trial.metrics.metrics
            if (observed := [o for o in trial.metrics.get_history(name) if o.step == step])
        }
        point = signed_values(self.objective, metrics)
        if point is None:
            return False
        # A constraint whose metric is reported only at the end is judged then, not here.
        known = [c for c in self.constraints if c.metric in metrics]
        self._forget(rung, trial.trial_id)
        self._rung_points[rung][trial.trial_id] = (
            tuple(point.tolist()),
            total_violation(known, metrics),
        )
        return True

    def _leaders(self, rung: int) -> list[str]:
        """The best ``floor(n / factor)`` of the ``n`` trials recorded at the rung, best first."""
        if not self._ranks_by_dominance:
            order = self._rung_order[rung]
            return [
                f"{index:0{self._id_width}d}" for _, index in order[: len(order) // self.factor]
            ]
        recorded = sorted(self._rung_points[rung], key=trial_index)
        if not recorded:
            return []
        points = np.asarray([self._rung_points[rung][t][0] for t in recorded])
        violations = np.asarray([self._rung_points[rung][t][1] for t in recorded])
        best_first = selection_order(points, violations)
        return [recorded[i] for i in best_first[: len(recorded) // self.factor]]

    def _is_promotable(self, rung: int, trial_id: str) -> bool:
        """Whether the trial is among the best ``floor(n / factor)`` of the ``n`` at the rung."""
        if self._ranks_by_dominance:
            return trial_id in self._leaders(rung)
        key = self._rung_values[rung][trial_id]
        if key == float("inf"):
            return False
        order = self._rung_order[rung]
        rank = bisect.bisect_left(order, (key, trial_index(trial_id)))
        return rank < len(order) // self.factor

    def _should_stop(self, trial: Trial, step: int) -> bool:
        rung = self._rung_of_epochs.get(step + 1)
        if rung is None:
            return False
        judged = (
            trial.trial_id in self._rung_values[rung] or trial.trial_id in self._rung_points[rung]
        )
        if not self._record_at_step(rung, trial, step):
            return False  # the objective was not reported (yet): nothing to judge
        if judged:  # another execution of a trial that already passed this rung
            return False
        if self._is_promotable(rung, trial.trial_id):
            return False
        self._paused[trial.trial_id] = rung
        return True

    # --- proposing -------------------------------------------------------------------------------
    def _propose(self, trial_id: str) -> Proposal:
        running = {trial.trial_id for trial in self.ongoing_trials.values()}
        for rung in range(len(self.rung_epochs) - 2, -1, -1):
            for candidate in self._leaders(rung):
                if self._paused.get(candidate) == rung and candidate not in running:
                    return self._continuation(self.trials[candidate], rung)
        if self.sampler == "tpe":
            values = self._model_values(trial_id)
            if values is not None:
                return Proposal.run(values, Budget(self.max_epochs, 0, None, None, 0))
        for attempt in range(self.max_collisions):
            rng = self._rng(trial_id, attempt)
            draw = operator.methodcaller("random_sample", rng)
            values = self.hyperparameters.sample_values(draw)
            if not self._is_duplicate(values):
                return Proposal.run(values, Budget(self.max_epochs, 0, None, None, 0))
        # The space is exhausted: running trials may still make a paused one promotable.
        return Proposal.wait() if self.ongoing_trials else Proposal.stop()

    def _continuation(self, parent: Trial, rung: int) -> Proposal:
        self._promoted.add(parent.trial_id)
        del self._paused[parent.trial_id]
        values = {
            name: value
            for name, value in parent.hyperparameters.values.items()
            if not name.startswith("tuner/")
        }
        budget = Budget(self.max_epochs, self.rung_epochs[rung], parent.trial_id, None, rung + 1)
        return Proposal.run(values, budget)

    # --- hooks -----------------------------------------------------------------------------------
    def _on_trial_end(self, trial: Trial) -> None:
        if trial.status in (TrialStatus.FAILED, TrialStatus.INVALID):
            self._paused.pop(trial.trial_id, None)
            for rung in range(len(self._rung_values)):  # a failed run is no evidence
                self._forget(rung, trial.trial_id)

    def _on_reload(self, trials: list[Trial]) -> None:
        self._rung_values = [{} for _ in self.rung_epochs[:-1]]
        self._rung_order = [[] for _ in self.rung_epochs[:-1]]
        self._rung_points = [{} for _ in self.rung_epochs[:-1]]
        self._promoted = set()
        self._paused = {}
        for trial in self.trials.values():
            if trial.budget is not None and trial.budget.parent_trial_id is not None:
                self._promoted.add(trial.budget.parent_trial_id)
        for trial in trials:
            if trial.status not in (TrialStatus.COMPLETED, TrialStatus.STOPPED):
                continue
            for epochs, rung in self._rung_of_epochs.items():
                self._record_at_step(rung, trial, epochs - 1)
            stopped_at = self._rung_of_epochs.get(_last_step(trial) + 1)
            if (
                trial.status == TrialStatus.STOPPED
                and stopped_at is not None
                and trial.trial_id not in self._promoted
            ):
                self._paused[trial.trial_id] = stopped_at

    # --- state -----------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(max_epochs=self.max_epochs, factor=self.factor, min_epochs=self.min_epochs)
        config.update(sampler=self.sampler)
        return config

    def _model_budgets(self) -> list[int]:
        return list(self.rung_epochs)

    def get_state(self) -> dict[str, Any]:
        """Only the rung layout, to check it on resume: the rest is read from the trials."""
        return {"rung_epochs": list(self.rung_epochs)}

    def set_state(self, state: Mapping[str, Any]) -> None:
        saved = state.get("rung_epochs", self.rung_epochs)
        if list(saved) != self.rung_epochs:
            raise FatalValueError(
                f"This project's rungs lie at epochs {list(saved)}, not {self.rung_epochs}: "
                "resume it with the same max_epochs, factor and min_epochs, or use another "
                "project_name or overwrite=True."
            )

    # --- queries ---------------------------------------------------------------------------------
    def get_best_trials(self, num_trials: int = 1) -> list[Trial]:
        """The best trials, most-trained first, then by score."""
        with self._lock:
            return rank_by_fidelity(self.trials.values(), self.objective, num_trials)

    def warm_start_trial_ids(self) -> set[str]:
        """Paused trials not promoted yet, while the search may still create trials."""
        with self._lock:
            if self.max_trials is not None and len(self.trials) >= self.max_trials:
                return set()
            return set(self._paused)


def _rungs(min_epochs: int, max_epochs: int, factor: int) -> list[int]:
    rungs = []
    epochs = min_epochs
    while epochs < max_epochs:
        rungs.append(epochs)
        epochs *= factor
    return [*rungs, max_epochs]


def _last_step(trial: Trial) -> int:
    steps = [o.step for h in trial.metrics.metrics.values() for o in h.get_history()]
    return max(steps) if steps else -1
