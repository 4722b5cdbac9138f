"""Ready-made Keras tuners: an oracle and :class:`~tuner.Tuner` in one object (keras-tuner's)."""

from __future__ import annotations

from typing import Any

from tuner.integrations.keras import Tuner
from tuner.integrations.sklearn import SklearnTuner
from tuner.oracles.arguments import TUNER_ORDER, pop_oracle_options, takes_oracle_options
from tuner.oracles.asha import AsyncSuccessiveHalvingOracle
from tuner.oracles.bayesian import BayesianOptimizationOracle
from tuner.oracles.bohb import BOHBOracle
from tuner.oracles.grid import GridSearchOracle
from tuner.oracles.hyperband import HyperbandOracle
from tuner.oracles.random import RandomSearchOracle
from tuner.oracles.tpe import TPEOracle

# keras-tuner's ``keras_tuner.tuners`` holds its scikit-learn tuner too.
__all__ = [
    "BOHB",
    "AsyncSuccessiveHalving",
    "BayesianOptimization",
    "GridSearch",
    "Hyperband",
    "RandomSearch",
    "SklearnTuner",
    "TPESearch",
]


@takes_oracle_options(TUNER_ORDER)
class RandomSearch(Tuner):
    """Random search over a Keras model's hyperparameters.

    Args:
        hypermodel: A ``build_model(hp)`` function or a :class:`~tuner.HyperModel`.
        objective: Metric to optimize (name, :class:`~tuner.Objective`, or a list).
        max_trials: How many trials to run. Defaults to 10.
        **kwargs: Passed to :class:`~tuner.Tuner` (``directory``, ``project_name``,
            ``executions_per_trial``, ``overwrite``, ...).

    Example:
        >>> import tuner as kt
        >>> tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=2,
        ...                         directory="runs", project_name="random")
        >>> tuner.search(x, y, epochs=2, validation_split=0.2, verbose=0)
        >>> len(tuner.oracle.trials)
        2
    """

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int = 10,
        **kwargs: Any,
    ) -> None:
        oracle = RandomSearchOracle(
            objective=objective,
            max_trials=max_trials,
            **pop_oracle_options(kwargs),
        )
        super().__init__(oracle, hypermodel, **kwargs)


@takes_oracle_options(TUNER_ORDER)
class GridSearch(Tuner):
    """Grid search: every combination of the hyperparameters' values, in order.

    Args:
        hypermodel: A ``build_model(hp)`` function or a :class:`~tuner.HyperModel`.
        objective: Metric to optimize.
        max_trials: Optional cap; None (default) runs the whole grid.
        **kwargs: Passed to :class:`~tuner.Tuner`.

    Example:
        >>> import tuner as kt
        >>> tuner = kt.GridSearch(build_model, objective="val_loss",
        ...                       directory="runs", project_name="grid")
    """

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int | None = None,
        **kwargs: Any,
    ) -> None:
        oracle = GridSearchOracle(
            objective=objective,
            max_trials=max_trials,
            **pop_oracle_options(kwargs),
        )
        super().__init__(oracle, hypermodel, **kwargs)


@takes_oracle_options(TUNER_ORDER)
class Hyperband(Tuner):
    """Hyperband (Li et al., 2018): many configurations on few epochs, the best trained longer.

    keras-tuner's arguments and behaviour: each trial trains for its round's epochs (``fit``'s
    ``epochs`` and ``initial_epoch`` are set from the trial's budget, visible as
    ``tuner/epochs``, ``tuner/initial_epoch``, ``tuner/bracket``, ``tuner/round`` and
    ``tuner/trial_id`` in its values), and a promoted trial starts from its parent's best
    weights. The best trials are the most-trained ones first, then by score (see
    :class:`~tuner.oracles.HyperbandOracle`). Pass ``keep_top_k`` to delete the checkpoints of
    trials that can no longer be promoted once their bracket ends.

    Args:
        hypermodel: A ``build_model(hp)`` function or a :class:`~tuner.HyperModel`.
        objective: Metric to optimize.
        max_epochs: Epochs of a fully trained model; no trial trains beyond. Defaults to 100.
        factor: Reduction factor between rounds. Defaults to 3.
        hyperband_iterations: How many times the whole set of brackets runs. Defaults to 1.
        **kwargs: Passed to :class:`~tuner.Tuner` (``directory``, ``project_name``,
            ``executions_per_trial``, ``keep_top_k``, ...).

    Example:
        >>> import tuner as kt
        >>> tuner = kt.Hyperband(build_model, objective="val_accuracy", max_epochs=3,
        ...                      factor=3, directory="runs", project_name="hb")
        >>> tuner.search(x, y, validation_data=(x_val, y_val), verbose=0)
        >>> sorted({trial.values["tuner/epochs"] for trial in tuner.oracle.trials.values()})
        [1, 3]
    """

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_epochs: int = 100,
        factor: int = 3,
        hyperband_iterations: int = 1,
        **kwargs: Any,
    ) -> None:
        oracle = HyperbandOracle(
            objective=objective,
            max_epochs=max_epochs,
            factor=factor,
            hyperband_iterations=hyperband_iterations,
            **pop_oracle_options(kwargs),
        )
        super().__init__(oracle, hypermodel, **kwargs)


@takes_oracle_options(TUNER_ORDER)
class BOHB(Tuner):
    """BOHB (Falkner et al., 2018): Hyperband whose new configurations come from a TPE model.

    Trains exactly as :class:`Hyperband` does (same brackets, budgets, promotions and warm
    starts); each new configuration is proposed by Parzen densities fitted at the largest
    budget with enough results, except a ``random_fraction`` of them (see
    :class:`~tuner.oracles.BOHBOracle`).

    Args:
        hypermodel: A ``build_model(hp)`` function or a :class:`~tuner.HyperModel`.
        objective: Metric to optimize.
        max_epochs: Epochs of a fully trained model; no trial trains beyond. Defaults to 100.
        factor: Reduction factor between rounds. Defaults to 3.
        hyperband_iterations: How many times the whole set of brackets runs. Defaults to 1.
        random_fraction: The fraction of new configurations drawn uniformly at random.
            Defaults to 1/3.
        min_points_in_model: Results a budget needs before the model is fitted there. Defaults
            to the number of tuned hyperparameters + 1, at least 3.
        **kwargs: Passed to :class:`~tuner.Tuner` (``directory``, ``project_name``,
            ``executions_per_trial``, ``keep_top_k``, ...).

    Example:
        >>> import tuner as kt
        >>> tuner = kt.BOHB(build_model, objective="val_accuracy", max_epochs=27,
        ...                 directory="runs", project_name="bohb")
        >>> tuner.oracle.total_epochs
        375
    """

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_epochs: int = 100,
        factor: int = 3,
        hyperband_iterations: int = 1,
        *,
        random_fraction: float = 1 / 3,
        min_points_in_model: int | None = None,
        **kwargs: Any,
    ) -> None:
        oracle = BOHBOracle(
            objective=objective,
            max_epochs=max_epochs,
            factor=factor,
            hyperband_iterations=hyperband_iterations,
            random_fraction=random_fraction,
            min_points_in_model=min_points_in_model,
            **pop_oracle_options(kwargs),
        )
        super().__init__(oracle, hypermodel, **kwargs)


@takes_oracle_options(TUNER_ORDER)
class AsyncSuccessiveHalving(Tuner):
    """Asynchronous successive halving (ASHA; Li et al., 2020), for one or many workers.

    Every trial is granted ``max_epochs``; at each rung (``min_epochs * factor**k`` epochs) the
    oracle stops it, ending its ``fit`` at that epoch, unless it ranks among the best
    ``1/factor`` there so far. A stopped trial that later climbs into that fraction is continued
    from its checkpoint as a new trial. See :class:`~tuner.oracles.AsyncSuccessiveHalvingOracle`.

    Args:
        hypermodel: A ``build_model(hp)`` function or a :class:`~tuner.HyperModel`.
        objective: Metric to optimize.
        max_trials: Trials to create, continuations included. Defaults to 100.
        max_epochs: Epochs of a fully trained model. Defaults to 100.
        factor: Reduction factor between rungs. Defaults to 3.
        min_epochs: Epochs every configuration gets (the first rung). Defaults to 1.
        sampler: ``"random"`` (the default) or ``"tpe"``: new configurations proposed by TPE
            densities fitted at the highest rung with enough results (as :class:`BOHB`).
        **kwargs: Passed to :class:`~tuner.Tuner`.

    Example:
        >>> import tuner as kt
        >>> tuner = kt.AsyncSuccessiveHalving(
        ...     build_model, objective="val_accuracy", max_trials=60, max_epochs=27,
        ...     directory="runs", project_name="asha")
    """

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int | None = 100,
        max_epochs: int = 100,
        factor: int = 3,
        min_epochs: int = 1,
        *,
        sampler: str = "random",
        **kwargs: Any,
    ) -> None:
        oracle = AsyncSuccessiveHalvingOracle(
            objective=objective,
            max_trials=max_trials,
            max_epochs=max_epochs,
            factor=factor,
            min_epochs=min_epochs,
            sampler=sampler,
            **pop_oracle_options(kwargs),
        )
        super().__init__(oracle, hypermodel, **kwargs)


@takes_oracle_options(TUNER_ORDER)
class BayesianOptimization(Tuner):
    """Bayesian optimization with a Gaussian process (keras-tuner's ``BayesianOptimization``).

    See :class:`~tuner.oracles.BayesianOptimizationOracle` for the algorithm and what it does
    where keras-tuner's does not (no repeated value sets, failures scored as the worst trial,
    parallel workers kept apart, identical proposals after a resume).

    Args:
        hypermodel: A ``build_model(hp)`` function or a :class:`~tuner.HyperModel`.
        objective: Metric to optimize.
        max_trials: How many trials to run. Defaults to 10.
        num_initial_points: Space-filling trials before the model is used. Defaults to twice the
            number of tuned hyperparameters, between 3 and 10.
        alpha: Smallest noise variance of the model, relative to the scores' variance.
        beta: Exploration weight of the ``"ucb"`` acquisition.
        **kwargs: Passed to :class:`~tuner.Tuner` (``directory``, ``project_name``,
            ``executions_per_trial``, ``overwrite``, ...).

    Example:
        >>> import tuner as kt
        >>> tuner = kt.BayesianOptimization(build_model, objective="val_accuracy", max_trials=2,
        ...                                 directory="runs", project_name="bo")
        >>> tuner.search(x, y, epochs=2, validation_split=0.2, verbose=0)
    """

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int = 10,
        num_initial_points: int | None = None,
        alpha: float = 1e-6,
        beta: float = 2.6,
        **kwargs: Any,
    ) -> None:
        oracle = BayesianOptimizationOracle(
            objective=objective,
            max_trials=max_trials,
            num_initial_points=num_initial_points,
            alpha=alpha,
            beta=beta,
            **pop_oracle_options(kwargs),
        )
        super().__init__(oracle, hypermodel, **kwargs)


@takes_oracle_options(TUNER_ORDER)
class TPESearch(Tuner):
    """Tree-structured Parzen estimator search (multivariate, conditional-aware).

    See :class:`~tuner.oracles.TPEOracle`. Cheap per trial and strong on spaces with many
    categorical or conditional hyperparameters.

    Args:
        hypermodel: A ``build_model(hp)`` function or a :class:`~tuner.HyperModel`.
        objective: Metric to optimize.
        max_trials: How many trials to run. Defaults to 10.
        num_initial_points: Space-filling trials before the densities are used. Defaults to 10.
        candidates: Value sets drawn from the good trials' density per proposal. Defaults to 24.
        **kwargs: Passed to :class:`~tuner.Tuner`.

    Example:
        >>> import tuner as kt
        >>> tuner = kt.TPESearch(build_model, objective="val_accuracy", max_trials=30,
        ...                      directory="runs", project_name="tpe")
    """

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int = 10,
        num_initial_points: int = 10,
        candidates: int = 24,
        **kwargs: Any,
    ) -> None:
        oracle = TPEOracle(
            objective=objective,
            max_trials=max_trials,
            num_initial_points=num_initial_points,
            candidates=candidates,
            **pop_oracle_options(kwargs),
        )
        super().__init__(oracle, hypermodel, **kwargs)
