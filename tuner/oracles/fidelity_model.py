"""Model-based proposals for multi-fidelity search: TPE fitted at the best-informed budget.

BOHB (Falkner et al., 2018) replaces Hyperband's random configurations with ones proposed by
the Parzen densities of :mod:`tuner.oracles.tpe`, fitted on the objective's values at one
budget: the largest epoch count at which at least ``min_points_in_model`` configurations
reported a value. The value of a trial at budget ``b`` is the objective it reported at step
``b - 1``, so a trial trained for 9 epochs counts at budgets 1 and 3 too. A fraction
``random_fraction`` of proposals stays random, and until some budget has enough data every
proposal is the oracle's own random draw. :class:`~tuner.oracles.BOHBOracle` and
:class:`~tuner.oracles.AsyncSuccessiveHalvingOracle` (``sampler="tpe"``) share this.

Every proposal depends only on the seed, the trial id and the trials, so a resumed search
proposes what an uninterrupted one would.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from tuner.objective import is_finite_number
from tuner.oracles.base import trial_index, values_key
from tuner.oracles.hyperband import _SCORED, objective_at_step
from tuner.oracles.model_based import ModelBasedOracle
from tuner.oracles.tpe import ParzenSampling
from tuner.space import Dimension, SpaceCodec
from tuner.trial import Trial, TrialStatus


def bohb_gamma(count: int) -> int:
    """15 % of ``count`` observations, rounded up, at least 1: BOHB's ``top_n_percent``.

    Example:
        >>> [bohb_gamma(n) for n in (1, 6, 7, 20, 100)]
        [1, 1, 2, 3, 15]
    """
    return max(math.ceil(0.15 * count), 1)


class FidelityModelSampling(ParzenSampling, ModelBasedOracle):
    """New configurations from TPE densities fitted at the largest budget with enough data.

    The good trials are the best 15 % at that budget, but at least ``min_points_in_model``
    while a bad one remains; trials still running (new configurations only) count as bad, so
    that parallel workers spread out. With one objective the trials rank by the value at that
    step; with several by their signed sum (as :class:`~tuner.MultiObjective` scores).
    Constraints are not used by the model: their values need not exist at every step.

    A subclass calls :meth:`_setup_model` in its ``__init__``, lists its budgets in
    :meth:`_model_budgets`, and asks :meth:`_model_values` for each new configuration.

    Example:
        >>> from tuner.oracles import BOHBOracle
        >>> issubclass(BOHBOracle, FidelityModelSampling)
        True
    """

    #: Model draws per proposal before falling back to a random configuration.
    model_attempts: ClassVar[int] = 8

    def _setup_model(
        self,
        random_fraction: float,
        min_points_in_model: int | None,
        candidates: int = 24,
        prior_weight: float = 0.5,
    ) -> None:
        if not is_finite_number(random_fraction) or not 0.0 <= random_fraction <= 1.0:
            raise ValueError(f"random_fraction must be between 0 and 1, got {random_fraction!r}.")
        if min_points_in_model is not None and (
            isinstance(min_points_in_model, bool)
            or not isinstance(min_points_in_model, int)
            or min_points_in_model < 1
        ):
            raise ValueError(
                f"min_points_in_model must be a positive integer, got {min_points_in_model!r}."
            )
        if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
            raise ValueError(f"candidates must be a positive integer, got {candidates!r}.")
        if not is_finite_number(prior_weight) or prior_weight <= 0:
            raise ValueError(f"prior_weight must be a positive number, got {prior_weight!r}.")
        self.random_fraction = float(random_fraction)
        self.min_points_in_model = min_points_in_model
        self.candidates = candidates
        self.prior_weight = float(prior_weight)
        self.gamma = self._good_count
        self._model_points = 1  # the observations a model needs, for the current space
        self._places_cache = {}
        # Finished trials' values at each budget: their metrics no longer change.
        self._values_at: dict[tuple[str, int], float | None] = {}

    def _model_budgets(self) -> Sequence[int]:
        """The epoch counts a model may be fitted at."""
        raise NotImplementedError

    def _model_values(self, trial_id: str) -> dict[str, Any] | None:
        """The model's proposal; None: draw this one at random (by the fraction, or no data)."""
        codec = self._codec()
        if not codec.dimensions or self._rng(trial_id, "bohb-random").random() < (
            self.random_fraction
        ):
            return None
        chosen = self._choose_budget(len(codec.dimensions))
        if chosen is None:
            return None
        observed = chosen[1]
        running = sorted(
            (
                t
                for t in self.trials.values()
                if t.status == TrialStatus.RUNNING
                and (t.budget is None or t.budget.parent_trial_id is None)
            ),
            key=lambda t: trial_index(t.trial_id),
        )
        for attempt in range(self.model_attempts):
            rng = self._rng(trial_id, "bohb", attempt)
            values = self._sample(codec, observed, len(observed), running, rng)
            if not self._is_duplicate(values):
                return values
        return None  # the model keeps repeating itself: random

    def _sample_group(
        self,
        codec: SpaceCodec,
        group: list[Dimension],
        below: list[Trial],
        above: list[Trial],
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        """TPE's choice; in a space without conditions, the best candidate not yet tried.

        On a small grid the best candidate is often a value set already run; the next best is
        a better proposal than a fresh random draw.
        """
        good = self._layout(codec, group, below)
        if len(group) != len(codec.dimensions) or not len(good):
            return super()._sample_group(codec, group, below, above, rng)
        draws, ratio = self._scored_draws(group, good, self._layout(codec, group, above), rng)
        order = np.argsort(-ratio, kind="stable")
        for row in order:
            chosen = self._values(group, draws[row])
            if not self._is_duplicate(self._whole(codec, chosen)):
                return chosen
        return self._values(group, draws[order[0]])

    def model_budget(self) -> int | None:
        """The budget (epochs) the next model is fitted at; None while none has enough data.

        Example:
            >>> from tuner.oracles import BOHBOracle
            >>> BOHBOracle(objective="loss", max_epochs=9, seed=0).model_budget() is None
            True
        """
        with self._lock:
            chosen = self._choose_budget(len(self._codec().dimensions))
            return None if chosen is None else chosen[0]

    def _choose_budget(self, dimensions: int) -> tuple[int, list[Trial]] | None:
        """The largest round length with enough observations, and those trials, best first."""
        needed = self.min_points_in_model or max(dimensions + 1, 3)
        self._model_points = needed
        budgets = sorted(set(self._model_budgets()), reverse=True)
        scored = sorted(
            (t for t in self.trials.values() if t.status in _SCORED),
            key=lambda t: trial_index(t.trial_id),
        )
        for budget in budgets:
            # One observation per configuration: the latest trial that reported this step.
            at_budget: dict[str, tuple[float, Trial]] = {}
            for trial in scored:
                value = self._value_at(trial, budget)
                if value is None or not is_finite_number(value):
                    continue
                at_budget[values_key(self._tuned_values(trial))] = (
                    self.objective.sort_key(value),
                    trial,
                )
            if len(at_budget) >= needed:
                ranked = sorted(
                    at_budget.values(), key=lambda pair: (pair[0], trial_index(pair[1].trial_id))
                )
                return budget, [trial for _, trial in ranked]
        return None

    def _good_count(self, count: int) -> int:
        """How many of ``count`` observations are good: BOHB's 15 %, but enough to fit a model.

        As in Falkner et al. (2018), the good set holds at least the points a model needs
        (``min_points_in_model``) while some bad one remains, so that the first models are
        broad rather than centred on the one luckiest configuration.
        """
        return max(min(max(bohb_gamma(count), self._model_points), count - 1), 1)

    def _whole(self, codec: SpaceCodec, chosen: dict[str, Any]) -> dict[str, Any]:
        """The value set of one group's values, in a space without conditions."""
        return self.hyperparameters.sample_values(lambda hp: chosen[codec.dimension_of(hp).key])

    def _value_at(self, trial: Trial, budget: int) -> float | None:
        """The objective a finished trial reported at step ``budget - 1`` (cached)."""
        key = (trial.trial_id, budget)
        if key not in self._values_at:
            self._values_at[key] = objective_at_step(trial, self.objective, budget - 1)
        return self._values_at[key]

    @staticmethod
    def _tuned_values(trial: Trial) -> dict[str, Any]:
        values = trial.hyperparameters.values
        return {k: v for k, v in values.items() if not k.startswith("tuner/")}
