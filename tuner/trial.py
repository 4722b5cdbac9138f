"""A trial: one set of hyperparameter values, its status, budget, metrics and outcome."""

from __future__ import annotations

import enum
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tuner.execution.records import ExecutionRecord, records_of
from tuner.hyperparameters import HyperParameters
from tuner.json_numbers import decode_float, encode_float
from tuner.objective import infer_direction


class TrialStatus(str, enum.Enum):
    """Where a trial stands. Members compare equal to keras-tuner's status strings.

    Example:
        >>> TrialStatus.COMPLETED == "COMPLETED", TrialStatus.RUNNING.is_finished
        (True, False)
    """

    RUNNING = "RUNNING"
    #: Returned by ``create_trial`` when the oracle has nothing to propose yet: ask again later.
    IDLE = "IDLE"
    #: The trial crashed (an exception other than ``FailedTrialError``): it will be run again
    #: while ``max_retries_per_trial`` allows, then it is FAILED (keras-tuner's meaning).
    INVALID = "INVALID"
    #: From ``create_trial``: the search is over. For a trial: the oracle ended it early.
    STOPPED = "STOPPED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def is_finished(self) -> bool:
        """Whether the trial will not run again (INVALID ones wait for a retry)."""
        return self in (TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.STOPPED)

    def __str__(self) -> str:
        return self.value


def generate_trial_id() -> str:
    """A random id for a trial made outside an oracle (keras-tuner's ``Trial(hp)``)."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Budget:
    """How much training a multi-fidelity oracle grants a trial.

    Args:
        epochs: Train until this epoch (exclusive), as Keras' ``epochs`` argument.
        initial_epoch: Resume counting from this epoch (Keras' ``initial_epoch``).
        parent_trial_id: The trial whose best weights this one starts from, if any.
        bracket: Hyperband bracket, when the oracle uses brackets.
        round: Round (rung) within the bracket.

    Example:
        >>> Budget(epochs=9, initial_epoch=3, parent_trial_id="0004").epochs_to_train
        6
    """

    epochs: int
    initial_epoch: int = 0
    parent_trial_id: str | None = None
    bracket: int | None = None
    round: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1 or not 0 <= self.initial_epoch < self.epochs:
            raise ValueError(
                f"Budget needs epochs >= 1 and 0 <= initial_epoch < epochs, got {self}."
            )

    @property
    def epochs_to_train(self) -> int:
        """The epochs this budget trains."""
        return self.epochs - self.initial_epoch

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "epochs": self.epochs,
            "initial_epoch": self.initial_epoch,
            "parent_trial_id": self.parent_trial_id,
            "bracket": self.bracket,
            "round": self.round,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Budget:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


@dataclass
class MetricObservation:
    """The values one metric took at one step (several when executions repeat a step)."""

    values: list[float]
    step: int

    @property
    def value(self) -> float:
        """The mean of the values recorded at this step."""
        return sum(self.values) / len(self.values)


class MetricHistory:
    """The per-step history of one metric.

    Args:
        direction: ``"min"`` or ``"max"``; decides what "best" means.
    """

    def __init__(self, direction: str = "min"):
        self.direction = direction
        self._observations: dict[int, MetricObservation] = {}

    def update(self, value: float, step: int = 0) -> None:
        """Records a value; values recorded at the same step are averaged."""
        observation = self._observations.get(step)
        if observation is None:
            self._observations[step] = MetricObservation([float(value)], step)
        else:
            observation.values.append(float(value))

    def get_history(self) -> list[MetricObservation]:
        """The observations, ordered by step."""
        return [self._observations[step] for step in sorted(self._observations)]

    def _better(self, a: float, b: float) -> bool:
        if math.isnan(b):
            return not math.isnan(a)
        return a > b if self.direction == "max" else a < b

    def get_best_observation(self) -> MetricObservation | None:
        """The observation with the best finite-or-not value (NaN never wins over a number)."""
        best = None
        for observation in self.get_history():
            if best is None or self._better(observation.value, best.value):
                best = observation
        return best

    def get_best_value(self) -> float | None:
        """The best value, or None when nothing was recorded."""
        best = self.get_best_observation()
        return None if best is None else best.value

    def get_best_step(self) -> int | None:
        """The step of the best value."""
        best = self.get_best_observation()
        return None if best is None else best.step

    def get_last_value(self) -> float | None:
        """The value at the last step."""
        history = self.get_history()
        return history[-1].value if history else None

    def get_statistics(self) -> dict[str, float]:
        """Min, max, mean, median, variance and std of the per-step values."""
        values = [o.value for o in self.get_history()]
        if not values:
            return {}
        mean = sum(values) / len(values)
        variance = sum((v - mean) ** 2 for v in values) / len(values)
        ordered = sorted(values)
        middle = len(ordered) // 2
        median = (
            ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
        )
        return {
            "min": min(values),
            "max": max(values),
            "mean": mean,
            "median": median,
            "var": variance,
            "std": math.sqrt(variance),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the direction and ``[step, [values...]]`` pairs."""
        return {
            "direction": self.direction,
            "observations": [
                [o.step, [encode_float(v) for v in o.values]] for o in self.get_history()
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricHistory:
        """Inverse of :meth:`to_dict`."""
        history = cls(data.get("direction", "min"))
        for step, values in data.get("observations", []):
            history._observations[int(step)] = MetricObservation(
                [decode_float(v) for v in values],  # type: ignore[misc]
                int(step),
            )
        return history


class MetricsTracker:
    """Every metric a trial reported, by name, with keras-tuner's query methods.

    Example:
        >>> tracker = MetricsTracker()
        >>> tracker.update("val_loss", 0.5, step=0); tracker.update("val_loss", 0.4, step=1)
        >>> tracker.get_best_value("val_loss"), tracker.get_best_step("val_loss")
        (0.4, 1)
    """

    def __init__(self) -> None:
        self.metrics: dict[str, MetricHistory] = {}

    def register(self, name: str, direction: str | None = None) -> None:
        """Declares a metric; its direction is inferred from its name when not given."""
        if name not in self.metrics:
            self.metrics[name] = MetricHistory(direction or infer_direction(name) or "min")

    def exists(self, name: str) -> bool:
        """Whether the metric has been registered."""
        return name in self.metrics

    def update(self, name: str, value: float, step: int = 0) -> None:
        """Records a value of a metric at a step."""
        self.register(name)
        self.metrics[name].update(value, step)

    def get_history(self, name: str) -> list[MetricObservation]:
        """Observations of a metric, by step."""
        return self.metrics[name].get_history()

    def get_best_value(self, name: str) -> float | None:
        """Best value of a metric (None when unknown)."""
        return self.metrics[name].get_best_value() if name in self.metrics else None

    def get_best_step(self, name: str) -> int | None:
        """Step of the best value of a metric."""
        return self.metrics[name].get_best_step() if name in self.metrics else None

    def get_last_value(self, name: str) -> float | None:
        """Last value of a metric (None when unknown)."""
        return self.metrics[name].get_last_value() if name in self.metrics else None

    def get_statistics(self, name: str) -> dict[str, float]:
        """Summary statistics of a metric's per-step values."""
        return self.metrics[name].get_statistics() if name in self.metrics else {}

    def get_config(self) -> dict[str, Any]:
        """JSON form."""
        return {name: history.to_dict() for name, history in self.metrics.items()}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MetricsTracker:
        """Inverse of :meth:`get_config`."""
        tracker = cls()
        tracker.metrics = {name: MetricHistory.from_dict(h) for name, h in config.items()}
        return tracker


def _format_mean_and_std(mean: float, std: float) -> str:
    """``"6.27 ± 1.80"``: enough decimals to show two significant digits of the spread."""
    if not (math.isfinite(mean) and math.isfinite(std)) or std <= 0:
        return f"{mean:.6g} ± {std:.2g}"
    decimals = min(max(2, 1 - math.floor(math.log10(std))), 12)
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


@dataclass(frozen=True)
class FoldStatistics:
    """One metric of a cross-validated trial, over its folds.

    Attributes:
        values: One value per fold, in fold order; each is the mean over that fold's
            executions (``executions_per_trial``) of the metric at the execution's best step.

    The standard deviation is the population one (``ddof=0``), as in scikit-learn's
    ``cv_results_``.

    Example:
        >>> FoldStatistics((4.0, 6.0, 8.0)).describe("val_mae")
        'val_mae 6.00 ± 1.63 over 3 folds'
    """

    values: tuple[float, ...]

    @property
    def folds(self) -> int:
        """How many folds the statistics cover."""
        return len(self.values)

    @property
    def mean(self) -> float:
        """Mean over the folds."""
        return sum(self.values) / len(self.values)

    @property
    def std(self) -> float:
        """Population standard deviation over the folds."""
        mean = self.mean
        return math.sqrt(sum((v - mean) ** 2 for v in self.values) / len(self.values))

    def describe(self, name: str) -> str:
        """``"val_mae 6.27 ± 1.80 over 10 folds"``."""
        plural = "fold" if self.folds == 1 else "folds"
        return f"{name} {_format_mean_and_std(self.mean, self.std)} over {self.folds} {plural}"


@dataclass(init=False)
class Trial:
    """One evaluation of the objective at one set of hyperparameter values.

    The oracle creates trials and is the only writer of their persisted form; a tuner fills in
    metrics, status and outcome, then hands the trial back through ``oracle.end_trial``.

    Constructed as in keras-tuner, ``Trial(hyperparameters, trial_id=None, status="RUNNING",
    message=None)`` (a trial id is generated when none is given), or, as in earlier versions of
    tuner, with the id first: ``Trial("0003", hyperparameters, status)``. The other attributes
    are keyword-only.

    Attributes:
        trial_id: Unique, sortable id within the project (``"0000"``, ``"0001"``, ...).
        hyperparameters: The space and this trial's values (``hyperparameters.values``).
        status: See :class:`TrialStatus`.
        score: The objective's value (mean over executions / folds); None until completed.
        best_step: The step (epoch) at which the score was reached.
        metrics: Per-step history of every reported metric.
        message: The error and traceback of a failed trial.
        budget: The training budget granted by a multi-fidelity oracle, or None.
        executions: One :class:`~tuner.execution.ExecutionRecord` per execution (or fold): its
            best-step metrics, best step and score. Dicts in their JSON form may be assigned.
        retries: How many times the trial was run again after failing.
        start_time, end_time: Unix times of the last start and of the end.
        objective_values: Each objective's value (metric name -> value) the score was computed
            from: one entry for a single objective, one per objective of a list.
        constraint_values: The value of each constrained metric (None: not reported).
        feasible: False when the trial broke a constraint (or lacked its metric): it is then
            never a best trial nor on the Pareto front, and ``message`` says why. Its status
            stays COMPLETED.

    Example:
        >>> trial = Trial(HyperParameters(), trial_id="0000")
        >>> trial.trial_id, trial.status
        ('0000', <TrialStatus.RUNNING: 'RUNNING'>)
    """

    trial_id: str
    hyperparameters: HyperParameters
    status: TrialStatus
    score: float | None
    best_step: int | None
    metrics: MetricsTracker
    message: str | None
    budget: Budget | None
    executions: list[ExecutionRecord]
    retries: int
    start_time: float | None
    end_time: float | None
    tuner_id: str | None
    #: False when the trial must not be retried (FailedTrialError, NaN objective).
    retryable: bool
    objective_values: dict[str, float]
    constraint_values: dict[str, float | None]
    feasible: bool

    def __init__(
        self,
        hyperparameters: HyperParameters | str,
        trial_id: str | HyperParameters | None = None,
        status: TrialStatus | str = TrialStatus.RUNNING,
        message: str | None = None,
        *,
        score: float | None = None,
        best_step: int | None = None,
        metrics: MetricsTracker | None = None,
        budget: Budget | None = None,
        executions: list[ExecutionRecord] | list[dict[str, Any]] | None = None,
        retries: int = 0,
        start_time: float | None = None,
        end_time: float | None = None,
        tuner_id: str | None = None,
        retryable: bool = True,
        objective_values: Mapping[str, float] | None = None,
        constraint_values: Mapping[str, float | None] | None = None,
        feasible: bool = True,
    ):
        if isinstance(hyperparameters, str) and isinstance(trial_id, HyperParameters):
            hyperparameters, trial_id = trial_id, hyperparameters  # tuner's older order
        if not isinstance(hyperparameters, HyperParameters):
            raise TypeError(
                "Trial(hyperparameters, trial_id=None, status=...) needs a kt.HyperParameters "
                f"as hyperparameters, got {hyperparameters!r}."
            )
        if trial_id is not None and not isinstance(trial_id, str):
            raise TypeError(f"A trial id must be a string, got {trial_id!r}.")
        self.trial_id = generate_trial_id() if trial_id is None else trial_id
        self.hyperparameters = hyperparameters
        self.status = status  # type: ignore[assignment]  # converted by __setattr__
        self.score = score
        self.best_step = best_step
        self.metrics = MetricsTracker() if metrics is None else metrics
        self.message = message
        self.budget = budget
        self.executions = records_of(executions or [])
        self.retries = retries
        self.start_time = start_time
        self.end_time = end_time
        self.tuner_id = tuner_id
        self.retryable = retryable
        self.objective_values = dict(objective_values or {})
        self.constraint_values = dict(constraint_values or {})
        self.feasible = feasible

    def __setattr__(self, name: str, value: Any) -> None:
        # keras-tuner code assigns plain strings ("COMPLETED"); keep the typed status.
        if name == "status":
            value = TrialStatus(value)
        elif name == "executions":  # dicts in their JSON form are accepted too
            value = records_of(value)
        super().__setattr__(name, value)

    @property
    def values(self) -> dict[str, Any]:
        """The trial's hyperparameter values."""
        return self.hyperparameters.values

    @property
    def duration(self) -> float | None:
        """Seconds from the last start to the end, when both are known."""
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time

    def summary(self) -> None:
        """Prints the trial as ``results_summary`` does."""
        print(self.summary_text())

    def summary_text(self) -> str:
        """The text :meth:`summary` prints."""
        lines = [f"Trial {self.trial_id} summary", "Hyperparameters:"]
        lines += [f"{name}: {value}" for name, value in self.hyperparameters.values.items()]
        if self.score is not None:
            lines.append(f"Score: {self.score}")
            fold_statistics = self.fold_statistics()
            lines += [stat.describe(name) for name, stat in fold_statistics.items()]
            spread = None if fold_statistics else self.score_spread()
            if spread is not None:
                lines.append(f"Score std over {spread[1]} runs: {spread[0]:.6g}")
        if self.status != TrialStatus.COMPLETED:
            lines.append(f"Status: {self.status.value}")
        if self.message:
            lines.append(self.message.rstrip())
        return "\n".join(lines)

    def score_spread(self) -> tuple[float, int] | None:
        """Standard deviation of the per-execution objective values and their count."""
        scores = [e.score for e in self.executions if e.score is not None]
        if len(scores) < 2:
            return None
        mean = sum(scores) / len(scores)
        return math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores)), len(scores)

    def fold_statistics(self) -> dict[str, FoldStatistics]:
        """Per-metric statistics over the folds of a cross-validated trial (``cv=``).

        Covers the metrics every fold record has; empty when the trial was not cross-validated
        (its execution records carry no ``"fold"``).
        """
        by_fold: dict[int, list[Mapping[str, float]]] = {}
        for record in self.executions:
            if record.fold is not None:
                by_fold.setdefault(record.fold, []).append(record.metrics)
        if not by_fold:
            return {}
        names = set.intersection(*(set(m) for runs in by_fold.values() for m in runs))
        statistics = {}
        for name in sorted(names):
            values = tuple(
                sum(float(m[name]) for m in by_fold[fold]) / len(by_fold[fold])
                for fold in sorted(by_fold)
            )
            statistics[name] = FoldStatistics(values)
        return statistics

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the content of ``trials/<trial_id>.json`` besides ``format_version``)."""
        return {
            "trial_id": self.trial_id,
            "status": self.status.value,
            "hyperparameters": self.hyperparameters.get_config(),
            "score": encode_float(self.score),
            "best_step": self.best_step,
            "metrics": self.metrics.get_config(),
            "message": self.message,
            "budget": None if self.budget is None else self.budget.to_dict(),
            "executions": [record.to_dict() for record in self.executions],
            "retries": self.retries,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "tuner_id": self.tuner_id,
            "retryable": self.retryable,
            "objective_values": {k: encode_float(v) for k, v in self.objective_values.items()},
            "constraint_values": {k: encode_float(v) for k, v in self.constraint_values.items()},
            "feasible": self.feasible,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trial:
        """Inverse of :meth:`to_dict`."""
        budget = data.get("budget")
        return cls(
            trial_id=data["trial_id"],
            hyperparameters=HyperParameters.from_config(data["hyperparameters"]),
            status=TrialStatus(data["status"]),
            score=decode_float(data.get("score")),
            best_step=data.get("best_step"),
            metrics=MetricsTracker.from_config(data.get("metrics", {})),
            message=data.get("message"),
            budget=None if budget is None else Budget.from_dict(budget),
            executions=list(data.get("executions", [])),
            retries=int(data.get("retries", 0)),
            start_time=data.get("start_time"),
            end_time=data.get("end_time"),
            tuner_id=data.get("tuner_id"),
            retryable=bool(data.get("retryable", True)),
            objective_values={
                k: float(v)  # written finite (a trial whose score is not fails)
                for k, v in data.get("objective_values", {}).items()
                if decode_float(v) is not None
            },
            constraint_values={
                k: decode_float(v) for k, v in data.get("constraint_values", {}).items()
            },
            feasible=bool(data.get("feasible", True)),
        )

    # keras-tuner compatibility
    def get_state(self) -> dict[str, Any]:
        """Alias of :meth:`to_dict` (keras-tuner's name)."""
        return self.to_dict()
