"""BOHB (Falkner et al., 2018): Hyperband whose new configurations come from a TPE model.

The schedule, brackets, promotions, warm starts and state are Hyperband's
(:class:`~tuner.oracles.HyperbandOracle`); only the way a new configuration is drawn differs.
Each one is proposed by the Parzen densities of :mod:`tuner.oracles.tpe`, fitted on the
objective's values at one budget: the largest round length (epochs) at which at least
``min_points_in_model`` configurations reported a value. The value of a trial at budget ``b``
is the objective it reported at step ``b - 1``, so a trial trained from scratch for 9 epochs
also counts at budgets 1 and 3. A fraction ``random_fraction`` of proposals stays uniformly
random, and until some budget has enough data every proposal is Hyperband's own random draw.

Every proposal depends only on the seed, the trial id and the trials, so a resumed search
proposes what an uninterrupted one would.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tuner.objective import is_finite_number
from tuner.oracles.arguments import OracleOptions, takes_oracle_options
from tuner.oracles.base import trial_index, values_key
from tuner.oracles.hyperband import _SCORED, HyperbandOracle, objective_at_step
from tuner.oracles.model_based import ModelBasedOracle
from tuner.oracles.tpe import ParzenEstimator, ParzenSampling
from tuner.space import Dimension, SpaceCodec
from tuner.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11


def bohb_gamma(count: int) -> int:
    """How many of ``count`` observations at a budget are good: 15 %, rounded up, at least 1.

    BOHB's default ``top_n_percent`` (Falkner et al., 2018).

    Example:
        >>> [bohb_gamma(n) for n in (1, 6, 7, 20, 100)]
        [1, 1, 2, 3, 15]
    """
    return max(math.ceil(0.15 * count), 1)


@takes_oracle_options()
class BOHBOracle(ParzenSampling, HyperbandOracle, ModelBasedOracle):
    """BOHB: Hyperband's brackets, with each new configuration proposed by a TPE model.

    The model of a proposal is fitted at the largest budget (a round's epochs) where at least
    ``min_points_in_model`` configurations have a value; the best 15 % there are the good
    trials, the others the bad ones (trials still running, among the new configurations,
    count as bad, so that parallel workers spread out). With one objective the trials rank by
    the value at that step; with several objectives by their signed sum (as
    :class:`~tuner.MultiObjective` scores); constraints are not used for the model (their values
    need not exist at intermediate steps). Never proposes a value set already tried.

    Args:
        objective: See :class:`~tuner.oracles.Oracle`.
        max_epochs: The epochs of a fully trained model (Hyperband's ``R``). Defaults to 100.
        factor: The reduction factor ``eta`` between rounds. Defaults to 3.
        hyperband_iterations: How many times the whole set of brackets runs. Defaults to 1.
        random_fraction: The fraction of new configurations drawn uniformly at random (decided
            from the seed and the trial id). Defaults to 1/3.
        min_points_in_model: Observations a budget needs before the model is fitted there.
            Defaults to the number of tuned dimensions + 1, at least 3.
        candidates: Value sets drawn from the good trials' density per proposal. Defaults to 24.
        prior_weight: Weight of the uniform component of each density, relative to one trial.

    Example:
        >>> oracle = BOHBOracle(objective="loss", max_epochs=9, factor=3, seed=0)
        >>> oracle.hyperparameters.Float("x", 0.0, 1.0)
        0.0
        >>> while (trial := oracle.create_trial("w")).status == "RUNNING":
        ...     for epoch in range(trial.budget.initial_epoch, trial.budget.epochs):
        ...         loss = (trial.values["x"] - 0.3) ** 2 + 1 / (epoch + 1)
        ...         _ = oracle.update_trial(trial.trial_id, {"loss": loss}, step=epoch)
        ...     trial.status = "COMPLETED"; oracle.end_trial(trial)
        >>> len(oracle.trials), oracle.total_epochs
        (23, 75)
        >>> abs(oracle.get_best_trials()[0].values["x"] - 0.3) < 0.1
        True
    """

    #: Model draws per proposal before falling back to a random configuration.
    model_attempts: ClassVar[int] = 8

    def __init__(
        self,
        objective: Any = None,
        max_epochs: int = 100,
        factor: int = 3,
        hyperband_iterations: int = 1,
        *,
        random_fraction: float = 1 / 3,
        min_points_in_model: int | None = None,
        candidates: int = 24,
        prior_weight: float = 0.5,
        **options: Unpack[OracleOptions],
    ) -> None:
        super().__init__(
            objective=objective,
            max_epochs=max_epochs,
            factor=factor,
            hyperband_iterations=hyperband_iterations,
            **options,
        )
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
        self._places_cache: dict[str, dict[str, float]] = {}
        # Finished trials' values at each budget: their metrics no longer change.
        self._values_at: dict[tuple[str, int], float | None] = {}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            random_fraction=self.random_fraction,
            min_points_in_model=self.min_points_in_model,
            candidates=self.candidates,
            prior_weight=self.prior_weight,
        )
        return config

    # --- proposing -------------------------------------------------------------------------------
    def _new_values(self, trial_id: str) -> dict[str, Any] | None:
        codec = self._codec()
        if not codec.dimensions or self._rng(trial_id, "bohb-random").random() < (
            self.random_fraction
        ):
            return super()._new_values(trial_id)
        observed = self._observations(len(codec.dimensions))
        if observed is None:  # no budget has enough data yet: Hyperband's own random draw
            return super()._new_values(trial_id)
        running = sorted(
            (
                t
                for t in self.trials.values()
                if t.status == TrialStatus.RUNNING and t.budget is not None and not t.budget.round
            ),
            key=lambda t: trial_index(t.trial_id),
        )
        for attempt in range(self.model_attempts):
            rng = self._rng(trial_id, "bohb", attempt)
            values = self._sample(codec, observed, len(observed), running, rng)
            if not self._is_duplicate(values):
                return values
        return super()._new_values(trial_id)  # the model keeps repeating itself: random

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
        bad = self._layout(codec, group, above)
        good_density = ParzenEstimator(group, good, self.prior_weight, self.bandwidth_factor)
        bad_density = ParzenEstimator(group, bad, self.prior_weight, self.bandwidth_factor)
        draws = good_density.sample(rng, self.candidates)
        ratio = good_density.log_pdf(draws) - bad_density.log_pdf(draws)
        order = np.argsort(-ratio, kind="stable")
        for row in order:
            chosen = self._values(group, draws[row])
            if not self._is_duplicate(self._whole(codec, chosen)):
                return chosen
        return self._values(group, draws[order[0]])

    def model_budget(self) -> int | None:
        """The budget (epochs) the next model is fitted at; None while none has enough data.

        Example:
            >>> BOHBOracle(objective="loss", max_epochs=9, seed=0).model_budget() is None
            True
        """
        with self._lock:
            chosen = self._choose_budget(len(self._codec().dimensions))
            return None if chosen is None else chosen[0]

    def _observations(self, dimensions: int) -> list[Trial] | None:
        chosen = self._choose_budget(dimensions)
        return None if chosen is None else chosen[1]

    def _choose_budget(self, dimensions: int) -> tuple[int, list[Trial]] | None:
        """The largest round length with enough observations, and those trials, best first."""
        needed = self.min_points_in_model or max(dimensions + 1, 3)
        self._model_points = needed
        budgets = sorted({r.epochs for plan in self.schedule for r in plan.rounds}, reverse=True)
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
