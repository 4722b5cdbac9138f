"""Ready-made Keras tuners: an oracle and :class:`~tuner.Tuner` in one object (keras-tuner's)."""

from __future__ import annotations

from typing import Any

from tuner.hyperparameters import HyperParameters
from tuner.integrations.keras import Tuner
from tuner.oracles.grid import GridSearchOracle
from tuner.oracles.random import RandomSearchOracle


class RandomSearch(Tuner):
    """Random search over a Keras model's hyperparameters.

    Args:
        hypermodel: A ``build_model(hp)`` function or a :class:`~tuner.HyperModel`.
        objective: Metric to optimize (name, :class:`~tuner.Objective`, or a list).
        max_trials: How many trials to run. Defaults to 10.
        seed: Makes the proposals and each model's initialisation reproducible.
        hyperparameters, tune_new_entries, allow_new_entries, max_retries_per_trial,
        max_consecutive_failed_trials: See :class:`~tuner.oracles.Oracle`.
        **kwargs: Passed to :class:`~tuner.Tuner` (``directory``, ``project_name``,
            ``executions_per_trial``, ``overwrite``, ...).

    Example:
        >>> import tuner as kt
        >>> tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=10,
        ...                         directory="runs", project_name="mlp")  # doctest: +SKIP
        >>> tuner.search(x, y, epochs=5, validation_split=0.2)  # doctest: +SKIP
    """

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int = 10,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        **kwargs: Any,
    ):
        oracle = RandomSearchOracle(
            objective=objective,
            max_trials=max_trials,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        super().__init__(oracle, hypermodel, **kwargs)


class GridSearch(Tuner):
    """Grid search: every combination of the hyperparameters' values, in order.

    Args:
        hypermodel: A ``build_model(hp)`` function or a :class:`~tuner.HyperModel`.
        objective: Metric to optimize.
        max_trials: Optional cap; None (default) runs the whole grid.
        seed: Seeds each model's initialisation.
        hyperparameters, tune_new_entries, allow_new_entries, max_retries_per_trial,
        max_consecutive_failed_trials: See :class:`~tuner.oracles.Oracle`.
        **kwargs: Passed to :class:`~tuner.Tuner`.

    Example:
        >>> import tuner as kt
        >>> tuner = kt.GridSearch(build_model, objective="val_loss",
        ...                       directory="runs", project_name="grid")  # doctest: +SKIP
    """

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int | None = None,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        **kwargs: Any,
    ):
        oracle = GridSearchOracle(
            objective=objective,
            max_trials=max_trials,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        super().__init__(oracle, hypermodel, **kwargs)
