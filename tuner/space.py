"""The whole-space codec: hyperparameter values to points of the unit cube, and back.

Model-based oracles (Bayesian optimization, TPE) model the objective on numbers, not on values
such as ``"relu"``. :class:`SpaceCodec` gives every tunable hyperparameter one or more columns
in ``[0, 1]``:

* numbers use the hyperparameter's own unit-interval map (``value_to_unit``), so log-sampled
  ranges are uniform in log space, and discrete ranges sit at the centres of equal-width
  buckets;
* ordered choices and booleans are one column with one bucket per value;
* unordered choices of three or more values are one-hot: ``"relu"`` is no closer to ``"tanh"``
  than to ``"gelu"``;
* a hyperparameter that is inactive in a point (its condition does not hold) takes a neutral
  value in every column (``0.5``, or ``1/k`` in each of ``k`` one-hot columns), so that two points
  where it is inactive do not differ in it;
* a name registered with different settings in different branches of a conditional scope (``units``
  from 8 to 64 for an MLP, from 128 to 256 for a CNN) gets one dimension per setting; in each
  point only the dimension of the active entry is active, and the name's value is read from it.

Every method treats a matrix row by row and is vectorized over rows; only :meth:`decode` and
:meth:`encode` visit values one by one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuner.hyperparameters import (
    Boolean,
    Choice,
    Condition,
    Fixed,
    HyperParameter,
    HyperParameters,
    Int,
)

#: The value an inactive numeric or ordinal column takes.
NEUTRAL = 0.5


class DimensionKind(enum.Enum):
    """How a hyperparameter is laid out in the unit cube."""

    #: One column, the hyperparameter's continuous unit map (unstepped floats, huge ranges).
    CONTINUOUS = "continuous"
    #: One column split into ``count`` ordered buckets (ints, stepped floats, ordered choices).
    ORDINAL = "ordinal"
    #: ``count`` one-hot columns (unordered choices of three or more values).
    CATEGORICAL = "categorical"


@dataclass(frozen=True)
class Dimension:
    """One tunable hyperparameter and where it lives in an encoded vector.

    Attributes:
        hyperparameter: The hyperparameter (its first registration with these settings).
        kind: Its layout.
        start: Its first column.
        width: How many columns it takes (``count`` for one-hot, else 1).
        values: The ordered values of an ordinal or categorical dimension, else None.
        conditions: One condition tuple per registration of the name with these settings; the
            dimension is active when all conditions of any one tuple hold (and no earlier entry
            of the name is active).
        key: Unique within the codec: the name, or ``name[k]`` for the ``k``-th other setting of
            a name registered with different settings in different conditional branches.

    Example:
        >>> hp = HyperParameters(); _ = hp.Choice("act", ["relu", "tanh", "gelu"])
        >>> SpaceCodec(hp).dimensions[0].kind
        <DimensionKind.CATEGORICAL: 'categorical'>
    """

    hyperparameter: HyperParameter
    kind: DimensionKind
    start: int
    width: int
    values: tuple[Any, ...] | None
    conditions: tuple[tuple[Condition, ...], ...]
    key: str = ""

    @property
    def name(self) -> str:
        """The hyperparameter's name."""
        return self.hyperparameter.name

    @property
    def count(self) -> int:
        """How many values an ordinal or categorical dimension has (0 when continuous)."""
        return 0 if self.values is None else len(self.values)

    @property
    def columns(self) -> slice:
        """The dimension's columns in an encoded vector."""
        return slice(self.start, self.start + self.width)

    @property
    def neutral(self) -> float:
        """The value each of its columns takes when it is inactive."""
        return 1.0 / self.width if self.kind is DimensionKind.CATEGORICAL else NEUTRAL

    def index_of(self, value: Any) -> int | None:
        """The position of ``value`` among :attr:`values` (None when it is not a legal value)."""
        if self.values is None or not self.hyperparameter.contains(value):
            return None
        if isinstance(self.hyperparameter, Choice):
            for index, candidate in enumerate(self.values):
                if candidate == value and type(candidate) is type(value):
                    return index
            return self.values.index(value)
        if isinstance(self.hyperparameter, Boolean):
            return int(bool(value))
        unit = self.hyperparameter.value_to_unit(value)
        return min(int(unit * self.count), self.count - 1)

    def unit_of(self, value: Any) -> float | None:
        """The hyperparameter's unit-interval image of ``value`` (None when illegal)."""
        if not self.hyperparameter.contains(value):
            return None
        if self.values is not None:
            index = self.index_of(value)
            return None if index is None else (index + 0.5) / self.count
        return float(self.hyperparameter.value_to_unit(value))

    def value_at(self, unit: float) -> Any:
        """The value at ``unit`` (an index bucket for ordinal and categorical dimensions)."""
        if self.values is None:
            return self.hyperparameter.unit_to_value(float(unit))
        return self.values[min(max(int(unit * self.count), 0), self.count - 1)]


def _settings_key(hp: HyperParameter) -> tuple[str, str, str]:
    """Entries of one name with equal settings share a dimension (their defaults may differ)."""
    return hp.name, hp.type_name, hp.describe()


def _dimension_kind(hp: HyperParameter) -> tuple[DimensionKind, tuple[Any, ...] | None]:
    if isinstance(hp, Boolean):
        return DimensionKind.ORDINAL, (False, True)
    if isinstance(hp, Choice):
        kind = DimensionKind.ORDINAL
        if not hp.ordered and len(hp.values) > 2:
            kind = DimensionKind.CATEGORICAL
        return kind, tuple(hp.values)
    if hp.is_finite:
        return DimensionKind.ORDINAL, tuple(hp.grid_values())
    return DimensionKind.CONTINUOUS, None


class SpaceCodec:
    """Encodes hyperparameter values as vectors in the unit cube, and decodes them.

    Built from a snapshot of a search space; build a new codec when the space grows
    (:attr:`signature` tells when). ``Fixed`` hyperparameters take no column.

    Args:
        hyperparameters: The search space.

    Example:
        >>> hp = HyperParameters()
        >>> _ = hp.Float("lr", 1e-4, 1e-2, sampling="log")
        >>> _ = hp.Choice("act", ["relu", "tanh", "gelu"])
        >>> codec = SpaceCodec(hp)
        >>> codec.encode({"lr": 1e-3, "act": "tanh"}).round(3).tolist()
        [0.5, 0.0, 1.0, 0.0]
        >>> codec.decode([0.5, 0.1, 0.2, 0.9])
        {'lr': 0.001, 'act': 'gelu'}
    """

    def __init__(self, hyperparameters: HyperParameters):
        self._space = hyperparameters.copy()
        # Entries of each name grouped by their settings, in order of first registration.
        groups: dict[tuple[str, str, str], list[HyperParameter]] = {}
        for hp in self._space.space:
            if not isinstance(hp, Fixed):
                groups.setdefault(_settings_key(hp), []).append(hp)
        dimensions: list[Dimension] = []
        by_group: dict[tuple[str, str, str], Dimension] = {}
        per_name: dict[str, int] = {}
        start = 0
        for group_key, members in groups.items():
            hp = members[0]
            kind, values = _dimension_kind(hp)
            width = len(values) if kind is DimensionKind.CATEGORICAL and values else 1
            rank = per_name.get(hp.name, 0)
            per_name[hp.name] = rank + 1
            key = hp.name if rank == 0 else f"{hp.name}[{rank}]"
            conditions = tuple(member.conditions for member in members)
            dimension = Dimension(hp, kind, start, width, values, conditions, key)
            dimensions.append(dimension)
            by_group[group_key] = dimension
            start += width
        #: The tunable dimensions, parents before children (registration order).
        self.dimensions: tuple[Dimension, ...] = tuple(dimensions)
        self._by_key = {dimension.key: dimension for dimension in dimensions}
        self._by_name: dict[str, list[Dimension]] = {}
        for dimension in dimensions:
            self._by_name.setdefault(dimension.name, []).append(dimension)
        # Every entry of each name with its dimension (None for Fixed), in registration order:
        # in a point, a name's first entry whose conditions hold is the one in effect.
        self._entries: dict[str, list[tuple[HyperParameter, Dimension | None]]] = {}
        for hp in self._space.space:
            encoded = None if isinstance(hp, Fixed) else by_group[_settings_key(hp)]
            self._entries.setdefault(hp.name, []).append((hp, encoded))
        self._order = list(self._entries)
        #: How many columns an encoded vector has.
        self.size = start
        neutral = np.empty(self.size)
        for dimension in self.dimensions:
            neutral[dimension.columns] = dimension.neutral
        self._neutral = neutral

    # --- description -----------------------------------------------------------------------------
    @property
    def signature(self) -> str:
        """A string that changes whenever the space's dimensions change."""
        return "|".join(
            f"{d.key}:{d.kind.value}:{d.count}:{d.hyperparameter.describe()}"
            for d in self.dimensions
        )

    @property
    def bounds(self) -> np.ndarray:
        """``(size, 2)`` lower and upper bounds of every column: always 0 and 1."""
        return np.tile(np.array([0.0, 1.0]), (self.size, 1))

    @property
    def continuous_mask(self) -> np.ndarray:
        """Columns a gradient-based optimizer may move freely (one per continuous dimension)."""
        mask = np.zeros(self.size, dtype=bool)
        for dimension in self.dimensions:
            if dimension.kind is DimensionKind.CONTINUOUS:
                mask[dimension.start] = True
        return mask

    def dimension(self, name: str) -> Dimension:
        """The dimension of the hyperparameter ``name`` (its first one), or of a dimension key.

        Raises:
            KeyError: No tunable hyperparameter has that name or key.
        """
        if name in self._by_key:
            return self._by_key[name]
        return self._by_name[name][0]

    def dimensions_of(self, name: str) -> tuple[Dimension, ...]:
        """Every dimension of the name (several when its settings differ between branches)."""
        return tuple(self._by_name.get(name, ()))

    def dimension_of(self, hyperparameter: HyperParameter) -> Dimension:
        """The dimension a hyperparameter entry of the space maps to.

        Raises:
            KeyError: No tunable hyperparameter of the space has that name.
        """
        candidates = self._by_name[hyperparameter.name]
        if len(candidates) > 1:
            wanted = _settings_key(hyperparameter)
            for dimension in candidates:
                if _settings_key(dimension.hyperparameter) == wanted:
                    return dimension
        return candidates[0]

    def active_dimension(self, name: str, values: Mapping[str, Any]) -> Dimension | None:
        """The dimension in effect for ``name`` given ``values`` (None: inactive or Fixed)."""
        scratch = self._space.with_values(values)
        if name not in self._by_name or not scratch.is_active(name):
            return None
        hp = scratch.get_hyperparameter(name)
        return None if isinstance(hp, Fixed) else self.dimension_of(hp)

    # --- values <-> vectors ----------------------------------------------------------------------
    def encode(self, values: Mapping[str, Any]) -> np.ndarray:
        """The vector of one value set; missing, illegal or inactive entries are neutral."""
        return self.encode_many([values])[0]

    def encode_many(self, value_sets: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """``(len(value_sets), size)`` vectors, one per value set."""
        matrix = np.tile(self._neutral, (len(value_sets), 1))
        for row, values in enumerate(value_sets):
            # A name with several dimensions writes into each; the inactive ones are made
            # neutral by the projection below.
            for name, value in values.items():
                for dimension in self._by_name.get(name, ()):
                    self._write(matrix, row, dimension, value)
        # A value missing from an active dimension (added to the space after the trial ran)
        # stays neutral rather than being snapped to an arbitrary bucket.
        return self._project(matrix, snap=False)

    @staticmethod
    def _write(matrix: np.ndarray, row: int, dimension: Dimension, value: Any) -> None:
        """Writes one value into its columns of ``matrix[row]`` (an illegal value: nothing)."""
        if dimension.kind is DimensionKind.CATEGORICAL:
            index = dimension.index_of(value)
            if index is not None:
                matrix[row, dimension.columns] = 0.0
                matrix[row, dimension.start + index] = 1.0
        else:
            unit = dimension.unit_of(value)
            if unit is not None:
                matrix[row, dimension.start] = unit

    def decode(self, vector: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """The values of the active hyperparameters (``Fixed`` ones included) at a vector."""
        vector = np.asarray(vector, dtype=float)
        if vector.shape != (self.size,):
            raise ValueError(
                f"A vector of this space has {self.size} entries, got shape {vector.shape}."
            )

        def choose(hp: HyperParameter) -> Any:
            dimension = self.dimension_of(hp)
            if dimension.kind is DimensionKind.CATEGORICAL:
                index = int(np.argmax(vector[dimension.columns]))
                return dimension.values[index]  # type: ignore[index]
            return dimension.value_at(vector[dimension.start])

        return self._space.sample_values(choose)

    # --- matrices --------------------------------------------------------------------------------
    def from_units(self, units: np.ndarray) -> np.ndarray:
        """Vectors from one uniform number per dimension (``(n, len(dimensions))``).

        A uniform matrix gives uniformly distributed values: the map random search uses.
        """
        units = np.atleast_2d(np.asarray(units, dtype=float))
        matrix = np.tile(self._neutral, (units.shape[0], 1))
        for position, dimension in enumerate(self.dimensions):
            column = np.clip(units[:, position], 0.0, 1.0)
            if dimension.kind is DimensionKind.CATEGORICAL:
                index = np.minimum((column * dimension.count).astype(int), dimension.count - 1)
                block = np.zeros((units.shape[0], dimension.width))
                block[np.arange(units.shape[0]), index] = 1.0
                matrix[:, dimension.columns] = block
            else:
                matrix[:, dimension.start] = column
        return self.project(matrix)

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` vectors whose values are uniform on each hyperparameter's scale."""
        return self.from_units(rng.random((count, len(self.dimensions))))

    def project(self, matrix: np.ndarray) -> np.ndarray:
        """Snaps every row to the vector of the value set it decodes to.

        Ordinal columns move to their bucket's centre, one-hot blocks to their largest entry,
        and the columns of inactive dimensions to their neutral value. ``project`` is idempotent,
        and ``encode(decode(x)) == project(x)``.
        """
        return self._project(matrix, snap=True)

    def _project(self, matrix: np.ndarray, snap: bool) -> np.ndarray:
        matrix = np.array(matrix, dtype=float, copy=True)
        if matrix.ndim == 1:
            return self._project(matrix[None, :], snap)[0]
        rows = np.arange(matrix.shape[0])
        active, indices = self._activity(matrix)
        for dimension in self.dimensions:
            mask = active[dimension.key]
            if not snap:
                matrix[~mask, dimension.columns] = dimension.neutral
                continue
            if dimension.kind is DimensionKind.CATEGORICAL:
                block = np.zeros((matrix.shape[0], dimension.width))
                block[rows, indices[dimension.key]] = 1.0
                block[~mask] = dimension.neutral
                matrix[:, dimension.columns] = block
                continue
            if dimension.kind is DimensionKind.ORDINAL:
                column = (indices[dimension.key] + 0.5) / dimension.count
            else:
                column = np.clip(matrix[:, dimension.start], 0.0, 1.0)
                if isinstance(dimension.hyperparameter, Int):
                    # An Int on a log scale: snap to the middle of the integer's bucket.
                    hp = dimension.hyperparameter
                    column = np.array([hp.value_to_unit(hp.unit_to_value(u)) for u in column])
            matrix[:, dimension.start] = np.where(mask, column, NEUTRAL)
        return matrix

    def active_mask(self, matrix: np.ndarray) -> np.ndarray:
        """``(n, size)`` booleans: whether each column's dimension is active in each row."""
        matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
        active, _ = self._activity(matrix)
        result = np.zeros(matrix.shape, dtype=bool)
        for dimension in self.dimensions:
            result[:, dimension.columns] = active[dimension.key][:, None]
        return result

    def _activity(self, matrix: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Per dimension key: which rows it is active in, and its value index in each row.

        In each row, a name's first entry (in registration order) whose conditions hold is in
        effect; only that entry's dimension is active there, as in
        :meth:`HyperParameters.sample_values`.
        """
        rows = matrix.shape[0]
        active: dict[str, np.ndarray] = {}
        indices: dict[str, np.ndarray] = {}
        # Name -> (entry, its dimension, the rows where it is the entry in effect).
        effective: dict[str, list[tuple[HyperParameter, Dimension | None, np.ndarray]]] = {}
        for name in self._order:  # parents are registered before their children
            taken = np.zeros(rows, dtype=bool)
            in_effect = []
            for hp, dimension in self._entries[name]:
                mask = ~taken
                for condition in hp.conditions:
                    mask &= self._condition_mask(condition, matrix, effective, indices)
                taken |= mask
                in_effect.append((hp, dimension, mask))
            effective[name] = in_effect
            for dimension in self._by_name.get(name, ()):
                result = np.zeros(rows, dtype=bool)
                for _, owner, mask in in_effect:
                    if owner is dimension:
                        result |= mask
                active[dimension.key] = result
                if dimension.kind is DimensionKind.CONTINUOUS:
                    continue
                columns = matrix[:, dimension.columns]
                if dimension.kind is DimensionKind.CATEGORICAL:
                    indices[dimension.key] = np.argmax(columns, axis=1)
                else:
                    units = np.clip(columns[:, 0], 0.0, 1.0)
                    indices[dimension.key] = np.minimum(
                        (units * dimension.count).astype(int), dimension.count - 1
                    )
        return active, indices

    def _condition_mask(
        self,
        condition: Condition,
        matrix: np.ndarray,
        effective: Mapping[str, list[tuple[HyperParameter, Dimension | None, np.ndarray]]],
        indices: Mapping[str, np.ndarray],
    ) -> np.ndarray:
        result = np.zeros(matrix.shape[0], dtype=bool)
        # A parent that is not in the space never takes a value: the condition never holds.
        for hp, dimension, mask in effective.get(condition.parent_name, ()):
            if dimension is None:  # a Fixed entry
                if hp.value in condition.values:  # type: ignore[attr-defined]
                    result |= mask
            elif dimension.values is not None:
                table = np.array([value in condition.values for value in dimension.values])
                result |= mask & table[indices[dimension.key]]
            else:
                holds = [
                    dimension.value_at(u) in condition.values for u in matrix[:, dimension.start]
                ]
                result |= mask & np.array(holds, dtype=bool)
        return result

    # --- finite spaces ---------------------------------------------------------------------------
    def enumerate_values(self, limit: int) -> list[dict[str, Any]] | None:
        """Every distinct value set of a finite space, or None (infinite, or over ``limit``).

        Only active hyperparameters are enumerated, so a conditional space has as many value
        sets as it has distinct configurations.
        """
        found: list[dict[str, Any]] = []
        scratch = self._space.copy()

        def walk(position: int, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
            if position == len(self._order):
                yield dict(values)
                return
            name = self._order[position]
            scratch.values = values
            if not scratch.is_active(name):
                yield from walk(position + 1, values)
                return
            hp = scratch.get_hyperparameter(name)
            if isinstance(hp, Fixed):
                options: Sequence[Any] = [hp.value]
            else:
                options = self.dimension_of(hp).values or ()
            for option in options:
                values[name] = option
                yield from walk(position + 1, values)
            del values[name]

        if any(d.kind is DimensionKind.CONTINUOUS for d in self.dimensions):
            return None
        for values in walk(0, {}):
            found.append(values)
            if len(found) > limit:
                return None
        return found


def latin_hypercube(rng: np.random.Generator, count: int, dimensions: int) -> np.ndarray:
    """A maximin Latin hypercube: ``count`` points in ``[0, 1]^dimensions``.

    Each dimension's range is cut into ``count`` strata, each used by exactly one point; of 32
    such designs (4 above 64 points), the one whose two closest points are farthest apart is
    returned. Model-based
    oracles start from it: it covers the space better than independent uniform draws.

    Example:
        >>> design = latin_hypercube(np.random.default_rng(0), 4, 2)
        >>> sorted((design[:, 0] * 4).astype(int).tolist())
        [0, 1, 2, 3]
    """
    best, best_distance = np.empty((count, dimensions)), -1.0
    # Comparing designs costs O(count^2) each: fewer tries for large designs.
    for _ in range(32 if count <= 64 else 4):
        strata = np.argsort(rng.random((count, dimensions)), axis=0)
        design = (strata + rng.random((count, dimensions))) / max(count, 1)
        if count < 2:
            return design
        norms = (design * design).sum(1)
        distances = norms[:, None] + norms[None, :] - 2.0 * design @ design.T
        np.fill_diagonal(distances, np.inf)
        closest = float(distances.min())
        if closest > best_distance:
            best, best_distance = design, closest
    return best
