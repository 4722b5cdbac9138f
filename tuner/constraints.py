"""Constraints on a trial's metrics: bounds a trial must respect to be a candidate for best.

A constraint names a metric the trial reports (or that the Keras tuner records, such as
``model_params`` and ``epoch_seconds``) and a lower bound, an upper bound or both. A trial that
breaks one, or lacks its metric, is *infeasible*: it stays COMPLETED (it ran to its end), but it
is never a best trial and never on the Pareto front, and its trial file says why.

Bounds are inclusive: ``Constraint("epoch_seconds", max_value=2.0)`` accepts 2.0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuner.errors import InvalidArgumentError


def _bound(metric: str, name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(
            f"Constraint on {metric!r}: {name} must be a number or None, got {value!r}."
        )
    if not math.isfinite(value):
        raise InvalidArgumentError(
            f"Constraint on {metric!r}: {name} must be finite, got {value!r}; leave it None to "
            "have no bound on that side."
        )
    return float(value)


@dataclass(frozen=True)
class Constraint:
    """A bound on one metric: ``min_value <= metric <= max_value`` (either side optional).

    Args:
        metric: The metric's name as the trial reports it, e.g. ``"epoch_seconds"``.
        min_value: The smallest accepted value, or None for no lower bound.
        max_value: The largest accepted value, or None for no upper bound. ``max_value=0.0``
            means the metric must be at most 0.

    Raises:
        InvalidArgumentError: The constraint has neither bound, or ``min_value > max_value``.

    Example:
        >>> fast = Constraint("epoch_seconds", max_value=2.0)
        >>> fast.violation(1.5), fast.violation(2.5)
        (0.0, 0.5)
        >>> fast
        Constraint(metric="epoch_seconds", max_value=2.0)
    """

    metric: str
    min_value: float | None = None
    max_value: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise InvalidArgumentError(
                f"A constraint's metric must be a metric name (a non-empty string), got "
                f"{self.metric!r}."
            )
        low = _bound(self.metric, "min_value", self.min_value)
        high = _bound(self.metric, "max_value", self.max_value)
        if low is None and high is None:
            raise InvalidArgumentError(
                f"Constraint on {self.metric!r} has neither min_value nor max_value: give at "
                f'least one, e.g. kt.Constraint("{self.metric}", max_value=1.0).'
            )
        if low is not None and high is not None and low > high:
            raise InvalidArgumentError(
                f"Constraint on {self.metric!r}: min_value {low} is greater than max_value "
                f"{high}, so no trial could satisfy it."
            )
        object.__setattr__(self, "min_value", low)
        object.__setattr__(self, "max_value", high)

    def violation(self, value: float | None) -> float:
        """How far ``value`` is outside the bounds: 0.0 inside, ``inf`` when it is missing."""
        if value is None or not math.isfinite(value):
            return math.inf
        below = self.min_value - value if self.min_value is not None else 0.0
        above = value - self.max_value if self.max_value is not None else 0.0
        return max(below, above, 0.0)

    def describe(self) -> str:
        """The bound as text, e.g. ``"epoch_seconds <= 2"``."""
        if self.min_value is not None and self.max_value is not None:
            return f"{self.min_value:g} <= {self.metric} <= {self.max_value:g}"
        if self.min_value is not None:
            return f"{self.metric} >= {self.min_value:g}"
        return f"{self.metric} <= {self.max_value:g}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"metric": self.metric, "min_value": self.min_value, "max_value": self.max_value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Constraint:
        """Inverse of :meth:`to_dict`."""
        return cls(data["metric"], data.get("min_value"), data.get("max_value"))

    def __repr__(self) -> str:
        bounds = [
            f"{name}={value}"
            for name, value in (("min_value", self.min_value), ("max_value", self.max_value))
            if value is not None
        ]
        return f'Constraint(metric="{self.metric}", {", ".join(bounds)})'


@dataclass(frozen=True)
class Feasibility:
    """What the constraints say of one trial.

    Attributes:
        values: Each constrained metric's value (None: the trial did not report it).
        violations: How far each metric is outside its bounds (0.0: satisfied).
        reason: Why the trial is infeasible, as a sentence; None when it is feasible.
    """

    values: dict[str, float | None] = field(default_factory=dict)
    violations: dict[str, float] = field(default_factory=dict)
    reason: str | None = None

    @property
    def feasible(self) -> bool:
        """Whether every constraint holds."""
        return self.reason is None


def create_constraints(
    constraints: Any, objective_names: Iterable[str] = ()
) -> tuple[Constraint, ...]:
    """Turns what a user passes as ``constraints=`` into a tuple of :class:`Constraint`.

    Args:
        constraints: None, a :class:`Constraint`, or a list of them (or of their
            :meth:`~Constraint.to_dict` forms, as read back from ``project.json``).
        objective_names: The metrics the search optimizes, to name them in an error.

    Raises:
        InvalidArgumentError: An entry is not a constraint, or the bounds given for one metric
            (by several constraints) leave no value.
    """
    if constraints is None:
        return ()
    if isinstance(constraints, (Constraint, Mapping)):
        constraints = [constraints]
    if isinstance(constraints, str) or not isinstance(constraints, Sequence):
        raise InvalidArgumentError(
            "constraints must be a list of kt.Constraint(metric, min_value=..., max_value=...), "
            f"got {constraints!r} ({type(constraints).__name__})."
        )
    parsed = []
    for position, item in enumerate(constraints):
        if isinstance(item, Mapping):
            item = Constraint.from_dict(item)
        if not isinstance(item, Constraint):
            raise InvalidArgumentError(
                f"constraints must hold kt.Constraint objects; entry {position} is {item!r} "
                f"({type(item).__name__})."
            )
        parsed.append(item)
    _refuse_contradictions(parsed, set(objective_names))
    return tuple(parsed)


def _refuse_contradictions(constraints: Sequence[Constraint], objective_names: set[str]) -> None:
    by_metric: dict[str, list[Constraint]] = {}
    for constraint in constraints:
        by_metric.setdefault(constraint.metric, []).append(constraint)
    for metric, group in by_metric.items():
        lows = [c.min_value for c in group if c.min_value is not None]
        highs = [c.max_value for c in group if c.max_value is not None]
        if lows and highs and max(lows) > min(highs):
            role = " (also an objective)" if metric in objective_names else ""
            raise InvalidArgumentError(
                f"The constraints on {metric!r}{role} contradict each other: "
                f"{' and '.join(c.describe() for c in group)} leave no value. Keep one bound "
                "per side."
            )


def evaluate(constraints: Sequence[Constraint], metrics: Mapping[str, Any]) -> Feasibility:
    """Checks ``metrics`` (a trial's final metrics) against ``constraints``.

    Example:
        >>> result = evaluate([Constraint("size", max_value=10)], {"size": 12.0})
        >>> result.feasible, result.reason
        (False, 'infeasible: size = 12 breaks size <= 10')
    """
    values: dict[str, float | None] = {}
    violations: dict[str, float] = {}
    broken = []
    for constraint in constraints:
        raw = metrics.get(constraint.metric)
        try:
            value = None if raw is None else float(raw)
        except (TypeError, ValueError):
            value = None
        values[constraint.metric] = value
        violation = constraint.violation(value)
        violations[constraint.metric] = max(violations.get(constraint.metric, 0.0), violation)
        if value is None:
            broken.append(f"the metric {constraint.metric!r} was not reported")
        elif violation > 0:
            broken.append(f"{constraint.metric} = {value:g} breaks {constraint.describe()}")
    reason = f"infeasible: {'; '.join(broken)}" if broken else None
    return Feasibility(values, violations, reason)
