"""What a search optimizes: a metric name and a direction, or a sum of several."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from tuner.errors import InvalidArgumentError, SearchSpaceError

#: The metric a number returned by ``run_trial`` is recorded as when no objective was given
#: (keras-tuner's name; minimized).
DEFAULT_OBJECTIVE_NAME = "default_objective"

# Substrings of metric names whose direction is known (checked after a "val_" prefix is removed).
_MAXIMIZED = ("acc", "auc", "precision", "recall", "f1", "r2", "iou", "top_k")
_MINIMIZED = (
    "loss", "mae", "mse", "mape", "msle", "rmse", "error", "hinge", "crossentropy",
    "divergence", "poisson", "cosh", "huber",
)  # fmt: skip


def infer_direction(metric_name: str) -> str | None:
    """Guesses whether a metric is maximized (``"max"``) or minimized (``"min"``).

    Returns:
        ``"max"``, ``"min"``, or None when the name gives no clue.

    Example:
        >>> infer_direction("val_accuracy"), infer_direction("val_mean_absolute_error")
        ('max', 'min')
    """
    name = metric_name.lower()
    name = name.removeprefix("val_")
    if any(token in name for token in _MINIMIZED):
        return "min"
    if any(token in name for token in _MAXIMIZED):
        return "max"
    return None


@dataclass(frozen=True)
class Objective:
    """A metric to optimize and its direction.

    Args:
        name: The metric's name as Keras logs it, e.g. ``"val_accuracy"``.
        direction: ``"min"`` or ``"max"``.

    Example:
        >>> objective = Objective("val_f1", direction="max")
        >>> objective.better_than(0.9, 0.8)
        True
    """

    name: str
    direction: str

    def __post_init__(self) -> None:
        if self.direction not in ("min", "max"):
            raise SearchSpaceError(
                f'Objective {self.name!r}: direction must be "min" or "max", '
                f"got {self.direction!r}."
            )

    def has_value(self, metrics: Mapping[str, Any]) -> bool:
        """Whether ``metrics`` holds this objective's metric."""
        return self.name in metrics

    def get_value(self, metrics: Mapping[str, Any]) -> float:
        """The objective's value in ``metrics``."""
        return float(metrics[self.name])

    def better_than(self, a: float, b: float) -> bool:
        """Whether score ``a`` is strictly better than score ``b``."""
        return a > b if self.direction == "max" else a < b

    def sort_key(self, score: float) -> float:
        """A key that sorts better scores first."""
        return -score if self.direction == "max" else score

    @property
    def metric_names(self) -> list[str]:
        """The metrics this objective reads."""
        return [self.name]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"name": self.name, "direction": self.direction}

    def __repr__(self) -> str:
        return f'Objective(name="{self.name}", direction="{self.direction}")'


@dataclass(frozen=True)
class MultiObjective:
    """Several objectives optimized together through the sum of their signed values.

    Maximized metrics count negatively, so the combined score is always minimized (as in
    keras-tuner).

    Example:
        >>> objective = MultiObjective((Objective("val_loss", "min"), Objective("val_auc", "max")))
        >>> objective.get_value({"val_loss": 0.3, "val_auc": 0.9})
        -0.6
    """

    objectives: tuple[Objective, ...]
    name: str = "multi_objective"
    direction: str = "min"

    def has_value(self, metrics: Mapping[str, Any]) -> bool:
        """Whether every objective's metric is in ``metrics``."""
        return all(objective.has_value(metrics) for objective in self.objectives)

    def get_value(self, metrics: Mapping[str, Any]) -> float:
        """The sum of the signed values."""
        total = 0.0
        for objective in self.objectives:
            value = objective.get_value(metrics)
            total += -value if objective.direction == "max" else value
        return round(total, 12)

    def better_than(self, a: float, b: float) -> bool:
        """Whether score ``a`` is strictly better (smaller) than score ``b``."""
        return a < b

    def sort_key(self, score: float) -> float:
        """A key that sorts better scores first."""
        return score

    @property
    def metric_names(self) -> list[str]:
        """The metrics this objective reads."""
        return [objective.name for objective in self.objectives]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"objectives": [objective.to_dict() for objective in self.objectives]}

    def __repr__(self) -> str:
        return f"MultiObjective({list(self.objectives)})"


AnyObjective = Union[Objective, MultiObjective]  # noqa: UP007 - evaluated at run time on 3.10


def create_objective(
    objective: str | Objective | Sequence[str | Objective] | None,
) -> AnyObjective:
    """Turns what a user passes as ``objective=`` into an objective object.

    Args:
        objective: A metric name (direction inferred from it), an :class:`Objective`, a list of
            either (a :class:`MultiObjective`), or None: as in keras-tuner, the objective is
            then ``Objective("default_objective", "min")``, the name under which a number
            returned by ``run_trial`` (or ``HyperModel.fit``) is recorded.

    Raises:
        SearchSpaceError: The direction of a metric name cannot be inferred.
        InvalidArgumentError: ``objective`` (or an entry of the list) is neither a name nor an
            :class:`Objective` (a ``TypeError``, as in keras-tuner).
    """
    if objective is None:
        return default_objective()
    if isinstance(objective, (Objective, MultiObjective)):
        return objective
    if isinstance(objective, str):
        direction = infer_direction(objective)
        if direction is None:
            raise SearchSpaceError(
                f"Could not infer whether the objective {objective!r} should be minimized or "
                f'maximized. Pass kt.Objective("{objective}", direction="min") or '
                f'direction="max" instead.'
            )
        return Objective(objective, direction)
    if isinstance(objective, Sequence):
        for position, item in enumerate(objective):
            if not isinstance(item, (str, Objective)):
                raise InvalidArgumentError(
                    f"A list objective must hold metric names or kt.Objective objects; entry "
                    f"{position} is {item!r} ({type(item).__name__})."
                )
        objectives = tuple(create_objective(item) for item in objective)
        if not objectives:
            raise InvalidArgumentError("A list objective needs at least one objective.")
        flat = tuple(o for o in objectives if isinstance(o, Objective))
        return flat[0] if len(flat) == 1 else MultiObjective(flat)
    raise InvalidArgumentError(
        f"objective must be a metric name, a kt.Objective or a list of them, got {objective!r} "
        f"({type(objective).__name__})."
    )


def default_objective() -> Objective:
    """The objective of a search given none: ``default_objective``, minimized (keras-tuner's)."""
    return Objective(DEFAULT_OBJECTIVE_NAME, "min")


def is_default_objective(objective: Any) -> bool:
    """Whether ``objective`` is the one a search gets when it was given none."""
    return isinstance(objective, Objective) and objective == default_objective()


def objective_from_dict(data: Mapping[str, Any]) -> AnyObjective:
    """Inverse of ``to_dict`` for either objective type."""
    if "objectives" in data:
        return MultiObjective(tuple(Objective(**o) for o in data["objectives"]))
    return Objective(data["name"], data["direction"])


def is_finite_number(value: Any) -> bool:
    """Whether ``value`` is a real, finite number (not NaN, not infinite)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
