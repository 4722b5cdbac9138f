"""The one rule that turns what a trial reported into its score and best step.

- A trial with execution records (what ``run_trial`` returned, or the folds it recorded):
  each metric is averaged over each fold's executions, then over the folds (a trial that is
  not cross-validated is one fold); the score is the objective's value of these means, and the
  best step the most common best step of the records.
- A trial without records (``run_trial`` reported through ``oracle.update_trial`` and returned
  None): the objective's best value over the reported steps; with several objectives, their
  combination at the last step.
- A score that is not a finite number fails the trial: it can never be the best.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tuner.constraints import Constraint
from tuner.constraints import evaluate as evaluate_constraints
from tuner.errors import ObjectiveNotFoundError
from tuner.execution.records import ExecutionRecord
from tuner.objective import (
    DEFAULT_OBJECTIVE_NAME,
    Objective,
    is_default_objective,
    is_finite_number,
)

if TYPE_CHECKING:
    from tuner.trial import MetricsTracker, Trial


def mean_metrics(records: Sequence[ExecutionRecord | Mapping[str, Any]]) -> dict[str, float]:
    """The metrics every record holds, averaged within each fold, then over the folds.

    Example:
        >>> records = [{"metrics": {"loss": 1.0}}, {"metrics": {"loss": 2.0, "acc": 0.5}}]
        >>> mean_metrics([ExecutionRecord.of(r) for r in records])
        {'loss': 1.5}
    """
    converted = [ExecutionRecord.of(record) for record in records]
    if not converted:
        return {}
    if len(converted) == 1:  # the common case, on every trial: nothing to average
        only = converted[0].metrics
        return {name: float(only[name]) for name in sorted(only)}
    names = set.intersection(*(set(record.metrics) for record in converted))
    by_fold: dict[int | None, list[ExecutionRecord]] = {}
    for record in converted:
        by_fold.setdefault(record.fold, []).append(record)
    means = {}
    for name in sorted(names):
        fold_means = [
            sum(float(r.metrics[name]) for r in runs) / len(runs) for runs in by_fold.values()
        ]
        means[name] = sum(fold_means) / len(fold_means)
    return means


def most_common_best_step(records: Sequence[ExecutionRecord]) -> int | None:
    """The best step most records share (the earliest among ties), or None when none has one."""
    steps = [record.best_step for record in records if record.best_step is not None]
    if not steps:
        return None
    return max(sorted(set(steps)), key=steps.count)


def score_of_metrics(
    objective: Any, metrics: MetricsTracker, trial_id: str
) -> tuple[float | None, int | None]:
    """The score and best step from the metrics a trial reported step by step.

    Raises:
        ObjectiveNotFoundError: The objective's metric (or one of them) was never reported.
    """
    names = objective.metric_names
    missing = [name for name in names if not metrics.exists(name)]
    if missing:
        logged = sorted(metrics.metrics)
        if is_default_objective(objective):
            raise ObjectiveNotFoundError(
                f"No objective was given, so trial {trial_id} must report the metric "
                f"{DEFAULT_OBJECTIVE_NAME!r} (what a single number returned by run_trial is "
                f"recorded as); it logged only {logged}. Pass one of these as objective= to the "
                "tuner or oracle."
            )
        raise ObjectiveNotFoundError(
            f"The objective {objective!r} needs the metric(s) {missing}, but trial {trial_id} "
            f"logged only {logged}. Choose one of these as objective, or add the metric (e.g. "
            "compile(metrics=[...]) and validation data)."
        )
    if isinstance(objective, Objective):
        return metrics.get_best_value(objective.name), metrics.get_best_step(objective.name)
    last = {name: metrics.get_last_value(name) for name in names}
    return objective.get_value(last), metrics.get_history(names[0])[-1].step


def metrics_at_step(metrics: MetricsTracker, step: int | None) -> dict[str, float]:
    """Each reported metric's value at ``step`` (its last value where it was not reported then)."""
    values = {}
    for name in metrics.metrics:
        history = metrics.get_history(name)
        if not history:
            continue
        at_step = [observation for observation in history if observation.step == step]
        values[name] = (at_step or history)[-1].value
    return values


def score_trial(objective: Any, trial: Trial, constraints: Sequence[Constraint] = ()) -> None:
    """Sets the trial's score and best step by the rule above, then checks its constraints.

    Also sets ``trial.objective_values`` (each objective's value) and, with constraints,
    ``trial.constraint_values`` and ``trial.feasible``. The metrics both are read from are
    those the score comes from: the records' means, or the reported values at the best step.
    A non-finite score fails the trial; a broken constraint leaves it COMPLETED but infeasible,
    with the reason in ``trial.message``.

    Raises:
        ObjectiveNotFoundError: The trial reported no value of the objective.
    """
    records = [ExecutionRecord.of(record) for record in trial.executions]
    final = mean_metrics(records)
    score = objective.get_value(final) if records and objective.has_value(final) else None
    best_step = most_common_best_step(records)
    if score is None:
        score, best_step = score_of_metrics(objective, trial.metrics, trial.trial_id)
        final = metrics_at_step(trial.metrics, best_step)
    trial.score = float(score) if score is not None and is_finite_number(score) else score
    trial.best_step = best_step
    trial.objective_values = {
        name: float(final[name]) for name in objective.metric_names if name in final
    }
    if not is_finite_number(trial.score):
        trial.message = (
            f"The objective {objective.name} is {trial.score}: training diverged or produced "
            "invalid values, so this trial is not a candidate for best."
        )
        trial.status = "FAILED"  # type: ignore[assignment]  # Trial converts it
        trial.retryable = False
        return
    feasibility = evaluate_constraints(constraints, final)
    trial.constraint_values = feasibility.values
    trial.feasible = feasibility.feasible
    if not feasibility.feasible:
        trial.message = feasibility.reason
