"""Hyperparameter types and the define-by-run registry that collects them.

A search space is defined by running user code: ``hp.Int("units", 32, 512, step=32)`` registers
the hyperparameter the first time it runs and returns its value in the current trial. Each type
owns its map to and from the unit interval (``value_to_unit`` / ``unit_to_value``), which every
oracle shares: random search draws uniform numbers through it, Bayesian optimization models the
unit cube.

Discrete types map to the unit interval by equal-width buckets: value ``k`` of ``n`` owns
``[k/n, (k+1)/n)`` and maps back to the bucket's centre, so a uniform draw picks each value with
the same probability. The exception, as in keras-tuner, is an ``Int`` with ``sampling="log"`` or
``"reverse_log"`` and no step: the unit interval maps onto ``[min_value, max_value + 1)`` on that
scale and is rounded down, so ``Int("n", 1, 1000, sampling="log")`` draws a value below 32 about
half of the time.
"""

from __future__ import annotations

import abc
import contextlib
import copy as copy_module
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tuner.errors import SearchSpaceError, SearchSpaceTypeError

_SAMPLINGS = ("linear", "log", "reverse_log")
#: How many points a continuous ``Float`` contributes to a grid search.
FLOAT_GRID_POINTS = 10


@dataclass(frozen=True)
class Condition:
    """The hyperparameter it guards is active when ``parent_name`` takes one of ``values``.

    Example:
        >>> Condition("model_type", ("cnn",)).is_active({"model_type": "cnn"})
        True
    """

    parent_name: str
    values: tuple[Any, ...]

    def is_active(self, values: Mapping[str, Any]) -> bool:
        """Whether the condition holds for the given hyperparameter values."""
        return self.parent_name in values and values[self.parent_name] in self.values

    def to_dict(self) -> dict[str, Any]:
        """JSON form, the same shape as keras-tuner's ``Parent`` condition config."""
        return {
            "class_name": "Parent",
            "config": {"name": self.parent_name, "values": list(self.values)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Condition:
        """Inverse of :meth:`to_dict`."""
        config = data.get("config", data)
        return cls(config["name"], tuple(config["values"]))


def _round_float(value: float) -> float:
    # Steps such as 0.1 accumulate binary error (0.30000000000000004); 12 digits hide it.
    return float(round(value, 12))


class HyperParameter(abc.ABC):
    """A named dimension of the search space.

    Subclasses define how values are validated, enumerated and mapped to and from ``[0, 1]``.

    Args:
        name: Unique name within the search space.
        default: Value used when the hyperparameter is not tuned.
        conditions: The conditions that must all hold for it to be active.
    """

    type_name: ClassVar[str] = ""

    def __init__(self, name: str, default: Any = None, conditions: Sequence[Condition] = ()):
        if not isinstance(name, str):
            raise SearchSpaceTypeError(
                f"A hyperparameter name must be a non-empty string, got {name!r}."
            )
        if not name:
            raise SearchSpaceError("A hyperparameter name must be a non-empty string, got ''.")
        self.name = name
        self._default = default
        self.conditions: tuple[Condition, ...] = tuple(conditions)

    @property
    def default(self) -> Any:
        """The value used when no other value was chosen."""
        return self._default

    @abc.abstractmethod
    def unit_to_value(self, unit: float) -> Any:
        """Maps a number in ``[0, 1]`` to a value of this hyperparameter."""

    @abc.abstractmethod
    def value_to_unit(self, value: Any) -> float:
        """Maps a value to the centre of its bucket in ``[0, 1]`` (inverse of unit_to_value)."""

    @abc.abstractmethod
    def grid_values(self) -> list[Any]:
        """The values a grid search enumerates, in order."""

    @abc.abstractmethod
    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a legal value of this hyperparameter."""

    @abc.abstractmethod
    def _spec(self) -> dict[str, Any]:
        """The type-specific configuration (everything but name, default and conditions)."""

    # keras-tuner names for the unit-interval map, kept for user oracles written against it.
    def prob_to_value(self, prob: float) -> Any:
        """Alias of :meth:`unit_to_value` (keras-tuner's name)."""
        return self.unit_to_value(prob)

    def value_to_prob(self, value: Any) -> float:
        """Alias of :meth:`value_to_unit` (keras-tuner's name)."""
        return self.value_to_unit(value)

    def random_sample(self, seed: int | np.random.Generator | None = None) -> Any:
        """Draws a value uniformly in the unit interval and maps it to this hyperparameter."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        return self.unit_to_value(float(rng.random()))

    @property
    def is_finite(self) -> bool:
        """Whether the hyperparameter has finitely many values."""
        return True

    def get_config(self) -> dict[str, Any]:
        """The hyperparameter's configuration, as keras-tuner lays it out."""
        return {
            "name": self.name,
            "default": self.default,
            "conditions": [condition.to_dict() for condition in self.conditions],
            **self._spec(),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HyperParameter:
        """Rebuilds a hyperparameter from :meth:`get_config`'s output."""
        config = dict(config)
        conditions = [Condition.from_dict(c) for c in config.pop("conditions", [])]
        return cls(**config, conditions=conditions)

    def same_spec(self, other: HyperParameter) -> bool:
        """Whether two registrations describe the same dimension (conditions aside)."""
        return (
            type(self) is type(other)
            and self._spec() == other._spec()
            and (self.default == other.default)
        )

    def describe(self) -> str:
        """A one-line description, e.g. ``Int(min_value=32, max_value=512, step=32)``."""
        spec = ", ".join(f"{key}={value!r}" for key, value in self._spec().items())
        return f"{self.type_name}({spec})"

    def __repr__(self) -> str:
        spec = ", ".join(f"{key}={value!r}" for key, value in self._spec().items())
        return f"{self.type_name}(name={self.name!r}, {spec})"

    def _error(self, problem: str) -> SearchSpaceError:
        return SearchSpaceError(f"Hyperparameter {self.name!r}: {problem}")

    def _type_error(self, problem: str) -> SearchSpaceTypeError:
        return SearchSpaceTypeError(f"Hyperparameter {self.name!r}: {problem}")


class _Numerical(HyperParameter):
    """Shared logic of ``Int`` and ``Float``: ranges, steps and the three samplings."""

    _integer: ClassVar[bool] = False

    def __init__(
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: str | None = "linear",
        default: float | None = None,
        conditions: Sequence[Condition] = (),
    ):
        super().__init__(name, default, conditions)
        self.min_value = self._check_number(min_value, "min_value")
        self.max_value = self._check_number(max_value, "max_value")
        self.sampling = (sampling or "linear").lower()
        if self.sampling not in _SAMPLINGS:
            raise self._error(f"sampling must be one of {_SAMPLINGS}, got {sampling!r}.")
        if self.min_value > self.max_value:
            raise self._error(
                f"min_value ({self.min_value}) is greater than max_value ({self.max_value})."
            )
        if self.sampling != "linear" and self.min_value <= 0:
            raise self._error(
                f'sampling="{self.sampling}" needs min_value > 0, got min_value={self.min_value}.'
            )
        if step is not None:
            step = self._check_number(step, "step")
            if step <= 0:
                raise self._error(f"step must be positive, got {step}.")
            if self.sampling != "linear" and step <= 1:
                raise self._error(
                    f'with sampling="{self.sampling}", step is a multiplicative factor and must '
                    f"be greater than 1, got {step}."
                )
        if step is None and self._integer and self.sampling == "linear":
            step = 1  # as keras-tuner: a linear Int without step has step 1
        self.step = step
        self._values_cache: list[Any] | None = None
        if default is not None:
            default = self._check_number(default, "default")
            if not self.min_value <= default <= self.max_value:
                raise self._error(
                    f"default {default} is outside [{self.min_value}, {self.max_value}]."
                )
            self._default = default

    def _check_number(self, value: Any, argument: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise self._type_error(
                f"{argument} must be a number, got {value!r} of type {type(value).__name__}."
            )
        if not math.isfinite(float(value)):
            raise self._error(f"{argument} must be finite, got {value!r}.")
        if self._integer:
            if float(value) != int(value):
                raise self._error(f"{argument} must be an integer, got {value!r}.")
            return int(value)
        return float(value)

    @property
    def default(self) -> Any:
        return self.min_value if self._default is None else self._default

    def _spec(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "step": self.step,
            "sampling": self.sampling,
        }

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["default"] = self._default
        return config

    def same_spec(self, other: HyperParameter) -> bool:
        return (
            type(self) is type(other)
            and self._spec() == other._spec()
            and self._default == other._default
        )

    # --- the discrete case: an explicit, ordered list of values ---------------------------
    def _discrete_values(self) -> list[Any] | None:
        """The ordered values when the range is discrete, else None."""
        if self._values_cache is not None:
            return self._values_cache
        if self.step is None:  # continuous, or an Int on a log scale
            return None
        if self.sampling == "linear":
            step = self.step
            count = math.floor((self.max_value - self.min_value) / step + 1e-9) + 1
            if count > 100_000:
                return None  # enumerating would be wasteful; arithmetic handles it below
            values = [self._cast(self.min_value + k * step) for k in range(count)]
        else:
            values = []
            value = float(self.min_value)
            while value <= self.max_value * (1 + 1e-12):
                values.append(self._cast(value))
                value *= self.step
            if self.sampling == "reverse_log":
                values = sorted(self._cast(self.max_value + self.min_value - v) for v in values)
        self._values_cache = values
        return values

    def _cast(self, value: float) -> Any:
        return round(value) if self._integer else _round_float(value)

    # --- the continuous map, shared by both types ------------------------------------------
    def _continuous_from_unit(self, unit: float, low: float, high: float) -> float:
        if self.sampling == "linear":
            return low + unit * (high - low)
        if self.sampling == "log":
            return low * (high / low) ** unit
        return high + low - low * (high / low) ** (1.0 - unit)

    def _continuous_to_unit(self, value: float, low: float, high: float) -> float:
        if high == low:
            return 0.5
        if self.sampling == "linear":
            return (value - low) / (high - low)
        if self.sampling == "log":
            return math.log(value / low) / math.log(high / low)
        return 1.0 - math.log((high + low - value) / low) / math.log(high / low)

    def unit_to_value(self, unit: float) -> Any:
        unit = min(max(float(unit), 0.0), 1.0)
        values = self._discrete_values()
        if values is not None:
            return values[min(int(unit * len(values)), len(values) - 1)]
        if self.step is not None:  # very long linear grid: bucket arithmetically
            count = math.floor((self.max_value - self.min_value) / self.step + 1e-9) + 1
            index = min(int(unit * count), count - 1)
            return self._cast(self.min_value + index * self.step)
        if self._integer:  # log or reverse_log without step: [min, max + 1) rounded down
            value = self._continuous_from_unit(unit, self.min_value, self.max_value + 1)
            return int(min(max(math.floor(value + 1e-9), self.min_value), self.max_value))
        value = self._continuous_from_unit(unit, self.min_value, self.max_value)
        return float(min(max(value, self.min_value), self.max_value))

    def value_to_unit(self, value: Any) -> float:
        values = self._discrete_values()
        if values is not None:
            index = int(np.argmin([abs(v - value) for v in values]))
            return (index + 0.5) / len(values)
        if self.step is not None:
            count = math.floor((self.max_value - self.min_value) / self.step + 1e-9) + 1
            index = min(max(round((value - self.min_value) / self.step), 0), count - 1)
            return (index + 0.5) / count
        if self._integer:  # the middle of the value's bucket [value, value + 1)
            value = min(max(float(value), self.min_value), self.max_value)
            unit = self._continuous_to_unit(value + 0.5, self.min_value, self.max_value + 1)
            return min(max(unit, 0.0), 1.0)
        return min(
            max(self._continuous_to_unit(float(value), self.min_value, self.max_value), 0.0), 1.0
        )

    def grid_values(self) -> list[Any]:
        values = self._discrete_values()
        if values is not None:
            return list(values)
        if self.step is not None:
            raise self._error("has too many values (over 100,000) to enumerate in a grid.")
        points = FLOAT_GRID_POINTS
        if self._integer:  # an Int on a log scale: every integer, or 10 points of the scale
            if self.max_value - self.min_value < points:
                return list(range(self.min_value, self.max_value + 1))
            return sorted({self.unit_to_value(k / (points - 1)) for k in range(points)})
        return [self._cast(self.unit_to_value(k / (points - 1))) for k in range(points)]

    @property
    def values(self) -> Sequence[Any]:
        """The values a grid search takes, as keras-tuner's ``values``.

        Every value of a stepped range (a ``range`` for a linear ``Int``), and
        :data:`FLOAT_GRID_POINTS` points of the sampling's scale for a continuous ``Float`` or an
        ``Int`` on a log scale without step.
        """
        if self._integer and self.sampling == "linear":
            return range(self.min_value, self.max_value + 1, self.step)  # type: ignore[arg-type]
        return tuple(self.grid_values())

    @property
    def is_finite(self) -> bool:
        """Whether the range is a list of equally likely values (stepped, or a linear Int).

        An ``Int`` on a log scale without step has finitely many values, but they are not equally
        likely; it counts as continuous here, and its values are rounded down.
        """
        return self._discrete_values() is not None

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        if not self.min_value <= value <= self.max_value:
            return False
        values = self._discrete_values()
        if values is not None:
            return any(abs(v - value) <= 1e-9 * max(1.0, abs(v)) for v in values)
        return not self._integer or float(value) == int(value)


class Int(_Numerical):
    """An integer hyperparameter in ``[min_value, max_value]``, both included.

    Args:
        name: Unique name.
        min_value: Smallest value.
        max_value: Largest value.
        step: Distance between values (1 when not given with linear sampling). With
            ``sampling="log"`` or ``"reverse_log"`` it is a multiplicative factor
            (``Int("filters", 8, 128, step=2, sampling="log")`` gives 8, 16, 32, 64, 128).
        sampling: ``"linear"``, ``"log"`` (dense near ``min_value``) or ``"reverse_log"`` (dense
            near ``max_value``). Without step, a log scale maps ``[0, 1]`` onto
            ``[min_value, max_value + 1)`` and rounds down, as keras-tuner does.
        default: Defaults to ``min_value``.

    Example:
        >>> hp = HyperParameters()
        >>> hp.Int("units", 32, 512, step=32)
        32
    """

    type_name = "Int"
    _integer = True


class Float(_Numerical):
    """A real-valued hyperparameter in ``[min_value, max_value]``.

    Args:
        name: Unique name.
        min_value: Smallest value.
        max_value: Largest value.
        step: Optional distance between values (a multiplicative factor with log samplings).
            Without a step the range is continuous; a grid search then takes 10 evenly spaced
            points of the sampling's scale.
        sampling: ``"linear"``, ``"log"`` (for learning rates and other scales) or
            ``"reverse_log"``.
        default: Defaults to ``min_value``.

    Example:
        >>> hp = HyperParameters()
        >>> hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
        0.0001
    """

    type_name = "Float"


class Choice(HyperParameter):
    """One value out of a list of numbers, strings or booleans.

    Args:
        name: Unique name.
        values: The non-empty list of candidate values, all of one type (ints and floats may mix:
            they are all taken as floats).
        ordered: Whether the values have a meaningful order. Defaults to True for numbers and
            False otherwise; Bayesian optimization one-hot encodes unordered choices.
        default: Defaults to the first value.

    Example:
        >>> hp = HyperParameters()
        >>> hp.Choice("optimizer", ["adam", "sgd", "rmsprop"])
        'adam'
    """

    type_name = "Choice"

    def __init__(
        self,
        name: str,
        values: Sequence[Any],
        ordered: bool | None = None,
        default: Any = None,
        conditions: Sequence[Condition] = (),
    ):
        super().__init__(name, default, conditions)
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            try:
                values = list(values)
            except TypeError:
                raise self._type_error(f"values must be a list, got {values!r}.") from None
        values = [v.item() if isinstance(v, np.generic) else v for v in values]
        if not values:
            raise self._error("values must not be empty.")
        kinds = {self._kind(value) for value in values}
        if None in kinds:
            bad = next(v for v in values if self._kind(v) is None)
            raise self._type_error(
                f"values must be numbers, strings or booleans; got {bad!r} of type "
                f"{type(bad).__name__}."
            )
        if kinds == {"int", "float"}:
            values = [float(v) for v in values]
            kinds = {"float"}
        if len(kinds) > 1:
            raise self._type_error(
                f"values must all be of one type, got {sorted(map(str, kinds))} in "
                f"{list(values)!r}."
            )
        if len(set(values)) != len(values):
            raise self._error(f"values contain duplicates: {list(values)!r}.")
        self.values = list(values)
        numeric = kinds <= {"int", "float"}
        if ordered and not numeric:
            raise self._error("ordered=True is only possible for numeric values.")
        self.ordered = numeric if ordered is None else bool(ordered)
        if default is not None and default not in self.values:
            raise self._error(f"default {default!r} is not one of {self.values!r}.")

    @staticmethod
    def _kind(value: Any) -> str | None:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, float):
            return "float"
        if isinstance(value, str):
            return "str"
        return None

    @property
    def default(self) -> Any:
        return self.values[0] if self._default is None else self._default

    def _spec(self) -> dict[str, Any]:
        return {"values": list(self.values), "ordered": self.ordered}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["default"] = self._default
        return config

    def same_spec(self, other: HyperParameter) -> bool:
        return (
            type(self) is type(other)
            and self._spec() == other._spec()
            and self._default == other._default
        )

    def unit_to_value(self, unit: float) -> Any:
        index = min(int(min(max(unit, 0.0), 1.0) * len(self.values)), len(self.values) - 1)
        return self.values[index]

    def value_to_unit(self, value: Any) -> float:
        return (self.values.index(value) + 0.5) / len(self.values)

    def grid_values(self) -> list[Any]:
        return list(self.values)

    def contains(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values) or (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and value in self.values
        )


class Boolean(HyperParameter):
    """True or False.

    Example:
        >>> hp = HyperParameters()
        >>> hp.Boolean("batch_norm", default=True)
        True
    """

    type_name = "Boolean"

    def __init__(self, name: str, default: bool = False, conditions: Sequence[Condition] = ()):
        if not isinstance(default, (bool, np.bool_)):
            raise SearchSpaceError(
                f"Hyperparameter {name!r}: default must be a bool, got {default!r}."
            )
        super().__init__(name, bool(default), conditions)

    def _spec(self) -> dict[str, Any]:
        return {}

    def unit_to_value(self, unit: float) -> bool:
        return unit >= 0.5

    def value_to_unit(self, value: Any) -> float:
        return 0.75 if value else 0.25

    def grid_values(self) -> list[Any]:
        return [False, True]

    @property
    def values(self) -> tuple[bool, bool]:
        """``(True, False)``, as keras-tuner's ``values``."""
        return (True, False)

    def contains(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))


class Fixed(HyperParameter):
    """A constant, recorded with the trial but never tuned.

    Example:
        >>> hp = HyperParameters()
        >>> hp.Fixed("epochs", 10)
        10
    """

    type_name = "Fixed"

    def __init__(self, name: str, value: Any, conditions: Sequence[Condition] = ()):
        if isinstance(value, np.generic):
            value = value.item()
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise SearchSpaceError(
                f"Hyperparameter {name!r}: a Fixed value must be a number, string or bool, "
                f"got {value!r}."
            )
        super().__init__(name, value, conditions)
        self.value = value

    def _spec(self) -> dict[str, Any]:
        return {"value": self.value}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("default")
        return config

    def unit_to_value(self, unit: float) -> Any:
        return self.value

    def value_to_unit(self, value: Any) -> float:
        return 0.5

    def grid_values(self) -> list[Any]:
        return [self.value]

    @property
    def values(self) -> tuple[Any]:
        """``(value,)``, as keras-tuner's ``values``."""
        return (self.value,)

    def contains(self, value: Any) -> bool:
        return value == self.value


_TYPES: dict[str, type[HyperParameter]] = {
    cls.type_name: cls for cls in (Int, Float, Choice, Boolean, Fixed)
}


def hyperparameter_from_config(data: Mapping[str, Any]) -> HyperParameter:
    """Rebuilds a hyperparameter from ``{"class_name": ..., "config": ...}``."""
    class_name = data.get("class_name")
    if class_name not in _TYPES:
        raise SearchSpaceError(f"Unknown hyperparameter type {class_name!r} in {dict(data)!r}.")
    return _TYPES[class_name].from_config(data["config"])


#: Called with a newly registered, active hyperparameter; returns the value it takes.
NewEntrySampler = Callable[[HyperParameter], Any]


class HyperParameters:
    """The search space and the values of one trial, defined by running model-building code.

    Calling ``hp.Int(...)``, ``hp.Float(...)``, ``hp.Choice(...)``, ``hp.Boolean(...)`` or
    ``hp.Fixed(...)`` registers a hyperparameter on first use and returns its current value (its
    default when nothing else was chosen). A hyperparameter registered inside a conditional scope
    whose condition does not hold is inactive: registering it returns None and it has no entry in
    ``values``.

    As in keras-tuner, a hyperparameter is identified by its name *and* its conditions: the same
    name may be registered once per branch of a conditional scope, with different settings in
    each (``units`` from 8 to 64 for an MLP, from 128 to 256 for a CNN). ``space`` lists every
    entry; the *active* one (the first whose conditions hold) gives the name its value and range.
    Registering a name twice under the same conditions with different settings is an error.

    Attributes:
        values: Name -> value of every active hyperparameter.

    Example:
        >>> hp = HyperParameters()
        >>> model_type = hp.Choice("model_type", ["mlp", "cnn"])
        >>> with hp.conditional_scope("model_type", ["cnn"]):
        ...     filters = hp.Int("filters", 8, 64)   # None: model_type is "mlp"
        >>> hp.values
        {'model_type': 'mlp'}
    """

    def __init__(self) -> None:
        #: Every entry, in registration order (keras-tuner's ``space``).
        self._space: list[HyperParameter] = []
        #: Name -> its entries (one per set of conditions), in registration order.
        self._hps: dict[str, list[HyperParameter]] = {}
        self.values: dict[str, Any] = {}
        self._conditions: list[Condition] = []
        self._name_scopes: list[str] = []
        #: Chooses values of new entries; the tuner sets it so that hyperparameters first met
        #: while building a trial's model are sampled by the oracle instead of left at default.
        self.new_entry_sampler: NewEntrySampler | None = None
        #: Names whose definition here wins over a different one met while building: the
        #: entries a user passes as ``hyperparameters=`` to override the model's own.
        self.overrides: set[str] = set()

    # --- the space ----------------------------------------------------------------------------
    @property
    def space(self) -> list[HyperParameter]:
        """Every registered hyperparameter entry, in registration order.

        A name registered in several branches of a conditional scope has one entry per branch.
        """
        return list(self._space)

    def _add(self, hp: HyperParameter) -> None:
        self._space.append(hp)
        self._hps.setdefault(hp.name, []).append(hp)

    def _replace(self, old: HyperParameter, new: HyperParameter) -> None:
        self._space[next(i for i, e in enumerate(self._space) if e is old)] = new
        entries = self._hps[old.name]
        entries[next(i for i, e in enumerate(entries) if e is old)] = new

    def find(self, name: str, conditions: Sequence[Condition] = ()) -> HyperParameter | None:
        """The entry registered under ``name`` with exactly these conditions, or None."""
        conditions = tuple(conditions)
        for entry in self._hps.get(name, ()):
            if entry.conditions == conditions:
                return entry
        return None

    def _active_entry(self, name: str) -> HyperParameter | None:
        for entry in self._hps.get(name, ()):
            if self._conditions_hold(entry.conditions):
                return entry
        return None

    def _first(self, name: str) -> HyperParameter:
        if name not in self._hps:
            raise KeyError(f"Hyperparameter {name!r} does not exist. Known: {list(self._hps)}.")
        return self._active_entry(name) or self._hps[name][0]

    def get_hyperparameter(self, name: str) -> HyperParameter:
        """The hyperparameter object registered under ``name``.

        When the name has several entries (one per conditional branch), the one active for the
        current values; the first one registered when none is active.

        Raises:
            KeyError: No hyperparameter has that name.
        """
        return self._first(name)

    def is_active(self, hyperparameter: str | HyperParameter) -> bool:
        """Whether a hyperparameter (object or name) is active given the current values."""
        entries = (
            self._hps.get(hyperparameter, [])
            if isinstance(hyperparameter, str)
            else [hyperparameter]
        )
        return any(self._conditions_hold(hp.conditions) for hp in entries)

    def _conditions_hold(self, conditions: Sequence[Condition]) -> bool:
        for condition in conditions:
            if condition.parent_name in self._hps and not self.is_active(condition.parent_name):
                return False
            if not condition.is_active(self.values):
                return False
        return True

    def active_space(self, values: Mapping[str, Any]) -> list[HyperParameter]:
        """The hyperparameters that are active for ``values``, deduplicated, in order."""
        saved, self.values = self.values, dict(values)
        try:
            active = (self._active_entry(name) for name in self._hps)
            return [entry for entry in active if entry is not None]
        finally:
            self.values = saved

    def sample_values(self, choose: Callable[[HyperParameter], Any]) -> dict[str, Any]:
        """Assigns a value to every hyperparameter that becomes active, parents first.

        Args:
            choose: Returns the value for one hyperparameter; only called for active ones, with
                the active entry of a name that has several.

        Returns:
            Name -> value for the active hyperparameters.
        """
        saved, self.values = self.values, {}
        try:
            for name in self._hps:
                hp = self._active_entry(name)
                if hp is not None:
                    self.values[name] = hp.value if isinstance(hp, Fixed) else choose(hp)
            return self.values
        finally:
            self.values = saved

    def __contains__(self, name: object) -> bool:
        return name in self._hps

    def __len__(self) -> int:
        return len(self._hps)

    def get(self, name: str) -> Any:
        """The value of an active hyperparameter.

        Raises:
            KeyError: No hyperparameter has that name.
            ValueError: It exists but is inactive.
        """
        self._first(name)
        hp = self._active_entry(name)
        if hp is None:
            raise ValueError(f"Hyperparameter {name!r} is inactive for the current values.")
        return self.values.get(name, hp.default)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    # --- scopes ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def name_scope(self, name: str) -> Iterator[None]:
        """Prefixes the names registered inside with ``name/``."""
        self._name_scopes.append(name)
        try:
            yield
        finally:
            self._name_scopes.pop()

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Makes the hyperparameters registered inside depend on a parent's value.

        They are active only when the parent takes one of ``parent_values``.

        The code inside always runs; inactive hyperparameters return None.

        Raises:
            SearchSpaceError: The parent has not been registered, or ``parent_values`` is empty.
            SearchSpaceTypeError: A parent value is not a number, string or bool.
        """
        parent_name = self._scoped(parent_name)
        if parent_name not in self._hps:
            raise SearchSpaceError(
                f"conditional_scope: the parent hyperparameter {parent_name!r} must be defined "
                "before the scope that depends on it."
            )
        self._conditions.append(self._condition(parent_name, parent_values, "conditional_scope"))
        try:
            yield
        finally:
            self._conditions.pop()

    @staticmethod
    def _as_tuple(values: Any) -> tuple[Any, ...]:
        if isinstance(values, (list, tuple, set)):
            return tuple(values)
        return (values,)

    @classmethod
    def _condition(cls, parent_name: str, parent_values: Any, where: str) -> Condition:
        values = tuple(
            v.item() if isinstance(v, np.generic) else v for v in cls._as_tuple(parent_values)
        )
        if not values:
            raise SearchSpaceError(
                f"{where}: parent_values for the parent {parent_name!r} must not be empty."
            )
        for value in values:
            if not isinstance(value, (bool, int, float, str)):
                raise SearchSpaceTypeError(
                    f"{where}: the values of the parent {parent_name!r} must be numbers, strings "
                    f"or booleans; got {value!r} of type {type(value).__name__}."
                )
        return Condition(parent_name, values)

    def _scoped(self, name: str) -> str:
        return "/".join([*self._name_scopes, name])

    # --- registration ------------------------------------------------------------------------
    def _retrieve(
        self,
        hp_class: type[HyperParameter],
        name: str,
        parent_name: str | None,
        parent_values: Any,
        **kwargs: Any,
    ) -> Any:
        name = self._scoped(name)
        conditions = list(self._conditions)
        if parent_name is not None:
            if parent_values is None:
                raise SearchSpaceError(
                    f"Hyperparameter {name!r}: parent_name needs parent_values."
                )
            parent = self._scoped(parent_name)
            if parent not in self._hps:
                raise SearchSpaceError(
                    f"Hyperparameter {name!r}: the parent hyperparameter {parent!r} must be "
                    "defined before the hyperparameters that depend on it."
                )
            conditions.append(self._condition(parent, parent_values, f"Hyperparameter {name!r}"))
        for condition in conditions:
            if condition.parent_name == name:
                raise SearchSpaceError(
                    f"Hyperparameter {name!r}: a conditional hyperparameter cannot have the same "
                    f"name as its parent {condition.parent_name!r}. Use another name."
                )
        hp = hp_class(name=name, conditions=conditions, **kwargs)
        return self._register(hp)

    def _register(self, hp: HyperParameter) -> Any:
        entries = self._hps.get(hp.name)
        if entries is None:
            self._add(hp)
        elif hp.name in self.overrides:
            hp = entries[0]  # an override: its definition and value win in every branch
        else:
            known = self.find(hp.name, hp.conditions)
            if known is None:
                self._add(hp)  # the same name in another branch of a conditional scope
            elif isinstance(known, Fixed) or known.same_spec(hp):
                hp = known  # a Fixed entry wins over the model's own definition
            else:
                where = "" if not hp.conditions else " under the same conditions"
                raise SearchSpaceError(
                    f"Hyperparameter {hp.name!r} is defined twice{where} with different settings: "
                    f"first {known.describe()} (default {known.default!r}), now {hp.describe()} "
                    f"(default {hp.default!r}). Use one definition, or another name (a name may "
                    "differ between branches of a conditional scope)."
                )
        if not self._conditions_hold(hp.conditions):
            return None
        if isinstance(hp, Fixed):
            self.values[hp.name] = hp.value
        elif hp.name not in self.values:
            sampler = self.new_entry_sampler
            self.values[hp.name] = sampler(hp) if sampler is not None else hp.default
        return self.values[hp.name]

    def Int(
        self,
        name: str,
        min_value: int,
        max_value: int,
        step: int | None = None,
        sampling: str | None = "linear",
        default: int | None = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> int | None:
        """Registers an :class:`Int` and returns its value (None when inactive)."""
        return self._retrieve(
            Int, name, parent_name, parent_values, min_value=min_value, max_value=max_value,
            step=step, sampling=sampling, default=default,
        )  # fmt: skip

    def Float(
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: str | None = "linear",
        default: float | None = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> float | None:
        """Registers a :class:`Float` and returns its value (None when inactive)."""
        return self._retrieve(
            Float, name, parent_name, parent_values, min_value=min_value, max_value=max_value,
            step=step, sampling=sampling, default=default,
        )  # fmt: skip

    def Choice(
        self,
        name: str,
        values: Sequence[Any],
        ordered: bool | None = None,
        default: Any = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> Any:
        """Registers a :class:`Choice` and returns its value (None when inactive)."""
        return self._retrieve(
            Choice, name, parent_name, parent_values, values=values, ordered=ordered,
            default=default,
        )  # fmt: skip

    def Boolean(
        self,
        name: str,
        default: bool = False,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> bool | None:
        """Registers a :class:`Boolean` and returns its value (None when inactive)."""
        return self._retrieve(Boolean, name, parent_name, parent_values, default=default)

    def Fixed(
        self,
        name: str,
        value: Any,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> Any:
        """Registers a :class:`Fixed` value and returns it (None when inactive)."""
        return self._retrieve(Fixed, name, parent_name, parent_values, value=value)

    # --- whole-object operations ---------------------------------------------------------------
    def merge(
        self, hps: HyperParameters | Sequence[HyperParameter], overwrite: bool = True
    ) -> None:
        """Adds the hyperparameters (and values) of ``hps`` to this object.

        Args:
            hps: Another ``HyperParameters`` or a list of hyperparameter objects.
            overwrite: Whether an existing entry of the same name and conditions is replaced
                (else it is kept and the incoming one dropped).
        """
        other_values: Mapping[str, Any] = {}
        if isinstance(hps, HyperParameters):
            other_values = hps.values
            hps = hps.space
        for hp in hps:
            known = self.find(hp.name, hp.conditions)
            if known is None:
                self._add(copy_module.deepcopy(hp))
            elif overwrite:
                self._replace(known, copy_module.deepcopy(hp))
        for name, value in other_values.items():
            if name in self._hps and (overwrite or name not in self.values):
                self.values[name] = value

    def copy(self) -> HyperParameters:
        """An independent copy (space and values; the new-entry sampler is not copied)."""
        new = HyperParameters()
        new._space = list(self._space)
        new._hps = {name: list(entries) for name, entries in self._hps.items()}
        new.values = dict(self.values)
        new.overrides = set(self.overrides)
        return new

    def with_values(self, values: Mapping[str, Any]) -> HyperParameters:
        """A copy of this space holding ``values``."""
        new = self.copy()
        new.values = dict(values)
        return new

    def get_config(self) -> dict[str, Any]:
        """JSON-ready configuration ``{"space": [...], "values": {...}}``, as keras-tuner's."""
        config: dict[str, Any] = {
            "space": [
                {"class_name": hp.type_name, "config": hp.get_config()} for hp in self.space
            ],
            "values": dict(self.values),
        }
        if self.overrides:
            config["overrides"] = sorted(self.overrides)
        return config

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HyperParameters:
        """Inverse of :meth:`get_config`."""
        hps = cls()
        for entry in config.get("space", []):
            hps._add(hyperparameter_from_config(entry))
        hps.values = dict(config.get("values", {}))
        hps.overrides = set(config.get("overrides", []))
        return hps

    def __repr__(self) -> str:
        return f"HyperParameters(space={[hp.name for hp in self.space]}, values={self.values})"
