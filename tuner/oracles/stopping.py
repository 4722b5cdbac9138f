"""Early-stopping rules that any oracle can apply to its running trials.

A rule is consulted each time a running trial reports a step (``Oracle.update_trial``); when it
answers True, the trial's status becomes STOPPED and the Keras tuner ends its ``fit`` after that
epoch. Plug one into any oracle by setting its ``stopping_rule`` attribute::

    tuner = kt.RandomSearch(build_model, objective="val_loss", max_trials=50)
    tuner.oracle.stopping_rule = kt.oracles.MedianStoppingRule(min_epochs=3)

A rule reads only the trials it is given, and keeps no state of its own, so a resumed search
needs nothing but the same rule set again. It works beside an algorithm's own early stopping
(ASHA's rungs): a trial stops when either says so.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from tuner.objective import AnyObjective, Objective, is_finite_number
from tuner.trial import Trial, TrialStatus


@runtime_checkable
class StoppingRule(Protocol):
    """Decides whether a running trial should stop after reporting ``step``.

    Called under the oracle's lock with every trial of the search; it must not modify them.
    """

    def should_stop(
        self, trial: Trial, step: int, trials: Iterable[Trial], objective: AnyObjective
    ) -> bool: ...


class MedianStoppingRule:
    """Stops a trial whose best value so far is worse than the median of the other trials.

    The median stopping rule of Google Vizier (Golovin et al., 2017): at step ``s``, a trial
    stops when its best objective value up to ``s`` is strictly worse than the median, over the
    finished trials that reached ``s``, of their running mean of the objective up to ``s``. It
    needs no learning-curve model and no bracket, so it suits any oracle; it never stops a trial
    before ``min_epochs`` epochs, nor while fewer than ``min_trials`` finished trials reached the
    step.

    Args:
        min_epochs: Epochs every trial trains before the rule may stop it. Defaults to 3.
        min_trials: Finished trials needed at a step before the rule judges it. Defaults to 5.

    Example:
        >>> from tuner.oracles import RandomSearchOracle
        >>> oracle = RandomSearchOracle("loss", max_trials=10, seed=0)
        >>> oracle.hyperparameters.Float("x", 0.0, 1.0)
        0.0
        >>> oracle.stopping_rule = MedianStoppingRule(min_epochs=1, min_trials=1)
        >>> first = oracle.create_trial("w")
        >>> for epoch, loss in enumerate([0.5, 0.4]):
        ...     _ = oracle.update_trial(first.trial_id, {"loss": loss}, step=epoch)
        >>> oracle.end_trial(first)
        >>> second = oracle.create_trial("w")
        >>> oracle.update_trial(second.trial_id, {"loss": 0.9}, step=0)
        <TrialStatus.STOPPED: 'STOPPED'>
    """

    def __init__(self, min_epochs: int = 3, min_trials: int = 5):
        if min_epochs < 1 or min_trials < 1:
            raise ValueError(
                f"min_epochs and min_trials must be >= 1, got {min_epochs} and {min_trials}."
            )
        self.min_epochs = min_epochs
        self.min_trials = min_trials

    def should_stop(
        self, trial: Trial, step: int, trials: Iterable[Trial], objective: AnyObjective
    ) -> bool:
        """Whether ``trial`` should stop after reporting ``step``."""
        if step + 1 < self.min_epochs or not isinstance(objective, Objective):
            return False
        own = _values_up_to(trial, objective.name, step)
        if not own:
            return False
        running_means = []
        for other in trials:
            if other.trial_id == trial.trial_id or other.status not in (
                TrialStatus.COMPLETED,
                TrialStatus.STOPPED,
            ):
                continue
            values = _values_up_to(other, objective.name, step)
            if values and _reached(other, objective.name, step):
                running_means.append(statistics.fmean(values))
        if len(running_means) < self.min_trials:
            return False
        best = max(own) if objective.direction == "max" else min(own)
        return objective.better_than(statistics.median(running_means), best)

    def __repr__(self) -> str:
        return f"MedianStoppingRule(min_epochs={self.min_epochs}, min_trials={self.min_trials})"


def _values_up_to(trial: Trial, metric: str, step: int) -> list[float]:
    if not trial.metrics.exists(metric):
        return []
    return [
        o.value
        for o in trial.metrics.get_history(metric)
        if o.step <= step and is_finite_number(o.value)
    ]


def _reached(trial: Trial, metric: str, step: int) -> bool:
    history = trial.metrics.get_history(metric)
    return bool(history) and history[-1].step >= step
