"""BOHB (Falkner et al., 2018): Hyperband whose new configurations come from a TPE model.

The schedule, brackets, promotions, warm starts and state are Hyperband's
(:class:`~tuner.oracles.HyperbandOracle`); only the way a new configuration is drawn differs.
How the model proposes: :mod:`tuner.oracles.fidelity_model` (budgets: the rounds' epochs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuner.oracles.arguments import OracleOptions, takes_oracle_options
from tuner.oracles.fidelity_model import FidelityModelSampling
from tuner.oracles.hyperband import HyperbandOracle

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11


@takes_oracle_options()
class BOHBOracle(FidelityModelSampling, HyperbandOracle):
    """BOHB: Hyperband's brackets, with each new configuration proposed by a TPE model.

    Hyperband's schedule, promotions, warm starts, resume and state, unchanged. The model of a
    proposal is fitted at the largest budget (a round's epochs) where at least
    ``min_points_in_model`` configurations have a value; the good trials are the best 15 %
    there, but at least ``min_points_in_model`` while a bad one remains (trials still running
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
        self._setup_model(random_fraction, min_points_in_model, candidates, prior_weight)

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
        values = self._model_values(trial_id)
        # By the random fraction, or before any budget has enough data: Hyperband's own draw.
        return values if values is not None else super()._new_values(trial_id)

    def _model_budgets(self) -> list[int]:
        return [round_plan.epochs for plan in self.schedule for round_plan in plan.rounds]
