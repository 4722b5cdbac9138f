"""Functional ANOVA of a regression forest: how much of its variance each factor explains alone.

A regression tree predicts a constant on each leaf, and each leaf is an axis-aligned box of the
space of its input columns. Give the factors of that space a product measure and the tree's
prediction ``f`` has a mean ``E[f]`` and a variance ``V = E[(f - E[f])^2]``. The main effect of
factor ``i`` is the function of that factor alone obtained by integrating ``f`` over every
other factor, ``f_i = E[f | factor i] - E[f]``; its variance ``V_i = E[f_i^2]`` is the part of
``V`` that factor ``i`` explains by itself (Hutter, Hoos and Leyton-Brown, 2014, "An Efficient
Approach for Assessing Hyperparameter Importance"). What is left, ``V - sum_i V_i``, comes from
interactions.

Two kinds of factor (:class:`Factor`):

- an *interval*: one column, with the uniform measure on its bounds;
- a *categorical* factor of ``k`` values: ``k`` one-hot columns, with the measure ``1/k`` on each
  of the ``k`` one-hot points (never on points with no value or several). A leaf holds value
  ``c`` when its box contains that one-hot point (column ``c`` may be 1, the others 0).

For one tree, with leaves ``l`` of value ``v_l``:

- ``r_li`` is leaf ``l``'s share of factor ``i`` (the length of its interval over the bounds', or
  the share of the ``k`` values it holds), its measure is ``w_l = prod_i r_li``, so
  ``E[f] = sum_l w_l v_l`` and ``V = sum_l w_l (v_l - E[f])^2``;
- for an interval factor, the split points cut its range into segments; a leaf covers a run of
  consecutive segments, and on each segment ``s``, ``E[f | x_i in s]`` is the sum, over the
  leaves covering ``s``, of ``v_l * w_l / r_li`` (the leaf's value times its measure in the other
  factors). These sums are built for every segment at once from a difference array (add at the
  leaf's first segment, subtract after its last, cumulative sum), so a factor costs
  ``O(leaves log leaves)``; ``V_i = sum_s len(s) / len(bounds) * (E[f | x_i in s] - E[f])^2``;
- for a categorical factor the same sum runs over the leaves holding each value ``c``, and
  ``V_i = (1/k) sum_c (E[f | c] - E[f])^2``.

Everything here is NumPy over the arrays of a fitted tree; nothing depends on scikit-learn
beyond the names of those arrays (:meth:`TreeArrays.of`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: A tree whose variance is below this (relative to its squared mean) is taken as constant.
_CONSTANT = 1e-12


@dataclass(frozen=True)
class TreeArrays:
    """The structure of one fitted binary regression tree, node by node.

    Node 0 is the root; a node's children have larger ids than the node. A sample goes left at
    an internal node when its ``feature`` is at most ``threshold``.

    Attributes:
        left: Left child of each node, negative for a leaf.
        right: Right child of each node, negative for a leaf.
        feature: The column each internal node splits on (ignored at leaves).
        threshold: Where it splits.
        value: The prediction at each node (only leaves' are used).

    Example:
        >>> tree = TreeArrays(left=np.array([1, -1, -1]), right=np.array([2, -1, -1]),
        ...     feature=np.array([0, -2, -2]), threshold=np.array([0.5, 0.0, 0.0]),
        ...     value=np.array([0.0, 1.0, 3.0]))
        >>> main_effect_fractions(tree, np.array([[0.0, 1.0], [0.0, 1.0]])).tolist()
        [1.0, 0.0]
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray

    @classmethod
    def of(cls, tree: Any) -> TreeArrays:
        """The arrays of a scikit-learn tree (``estimator.tree_``) with one output."""
        return cls(
            left=np.asarray(tree.children_left),
            right=np.asarray(tree.children_right),
            feature=np.asarray(tree.feature),
            threshold=np.asarray(tree.threshold, dtype=float),
            value=np.asarray(tree.value, dtype=float).reshape(len(tree.children_left), -1)[:, 0],
        )


@dataclass(frozen=True)
class Factor:
    """One factor of the decomposition and the columns it takes.

    Attributes:
        columns: One column (an interval factor), or the ``k`` one-hot columns of a
            categorical factor, whose bounds must be ``[0, 1]``.
        categorical: Whether the columns are one-hot.

    Example:
        >>> Factor((2, 3, 4), categorical=True).columns
        (2, 3, 4)
    """

    columns: tuple[int, ...]
    categorical: bool = False


def leaf_boxes(tree: TreeArrays, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The box and value of every leaf.

    Walks the tree one depth at a time, so a tree of depth ``k`` costs ``k`` NumPy steps.

    Args:
        tree: The tree.
        bounds: ``(columns, 2)`` lower and upper bound of each column.

    Returns:
        ``(low, high, value)``: ``(leaves, columns)`` lower and upper corners, and the
        ``(leaves,)`` predictions.
    """
    bounds = np.asarray(bounds, dtype=float)
    nodes = len(tree.left)
    low = np.empty((nodes, bounds.shape[0]))
    high = np.empty((nodes, bounds.shape[0]))
    low[0], high[0] = bounds[:, 0], bounds[:, 1]
    frontier = np.array([0])
    while frontier.size:
        parents = frontier[tree.left[frontier] >= 0]
        if not parents.size:
            break
        feature, threshold = tree.feature[parents], tree.threshold[parents]
        lefts, rights = tree.left[parents], tree.right[parents]
        for children in (lefts, rights):
            low[children] = low[parents]
            high[children] = high[parents]
        # A threshold outside the parent's box leaves one child empty (zero width).
        high[lefts, feature] = np.clip(threshold, low[parents, feature], high[parents, feature])
        low[rights, feature] = high[lefts, feature]
        frontier = np.concatenate([lefts, rights])
    leaves = tree.left < 0
    return low[leaves], high[leaves], tree.value[leaves]


def _interval_variance(
    low: np.ndarray, high: np.ndarray, width: float, contribution: np.ndarray, mean: float
) -> float:
    """``V_i`` of an interval factor from its leaves' intervals and contributions."""
    edges = np.unique(np.concatenate([low, high]))
    if edges.size < 3:  # never split on: no main effect
        return 0.0
    first = np.searchsorted(edges, low)
    after = np.searchsorted(edges, high)
    segments = edges.size - 1
    difference = np.bincount(first, contribution, segments + 1)
    difference -= np.bincount(after, contribution, segments + 1)
    marginal = np.cumsum(difference)[:segments]
    return float((np.diff(edges) / width) @ (marginal - mean) ** 2)


def main_effect_fractions(
    tree: TreeArrays, bounds: np.ndarray, factors: Sequence[Factor] | None = None
) -> np.ndarray | None:
    """The share of one tree's variance that each factor's main effect explains.

    Args:
        tree: The tree.
        bounds: ``(columns, 2)`` bounds of its input columns.
        factors: The factors, which together take every column once; default: one interval
            factor per column.

    Returns:
        ``(factors,)`` shares ``V_i / V``, each in ``[0, 1]``, summing to at most 1 (the rest is
        interactions); None when the tree is constant (``V = 0``), so has nothing to explain.
    """
    bounds = np.asarray(bounds, dtype=float)
    if factors is None:
        factors = [Factor((column,)) for column in range(bounds.shape[0])]
    low, high, value = leaf_boxes(tree, bounds)
    # Each leaf's share of each factor, and which values of each categorical factor it holds.
    shares = np.empty((len(value), len(factors)))
    held: dict[int, np.ndarray] = {}
    for position, factor in enumerate(factors):
        columns = list(factor.columns)
        if factor.categorical:
            may_be_one = high[:, columns] >= 1.0  # never sent left of a split between 0 and 1
            may_be_zero = low[:, columns] <= 0.0
            zeros = may_be_zero.sum(axis=1, keepdims=True)
            # Value c: column c is 1 and every other column 0.
            held[position] = may_be_one & (zeros - may_be_zero == len(columns) - 1)
            shares[:, position] = held[position].mean(axis=1)
        else:
            column = columns[0]
            width = bounds[column, 1] - bounds[column, 0]
            shares[:, position] = (high[:, column] - low[:, column]) / width
    weight = np.prod(shares, axis=1)
    mean = float(weight @ value)
    variance = float(weight @ (value - mean) ** 2)
    if variance <= _CONSTANT * max(1.0, mean * mean):
        return None
    explained = np.zeros(len(factors))
    for position, factor in enumerate(factors):
        share = shares[:, position]
        # A leaf's value times its measure in the other factors.
        with np.errstate(divide="ignore", invalid="ignore"):
            contribution = np.where(share > 0, value * weight / share, 0.0)
        if factor.categorical:
            marginal = held[position].T.astype(float) @ contribution
            explained[position] = float(np.mean((marginal - mean) ** 2))
        else:
            column = factor.columns[0]
            width = bounds[column, 1] - bounds[column, 0]
            explained[position] = _interval_variance(
                low[:, column], high[:, column], width, contribution, mean
            )
    return np.clip(explained / variance, 0.0, 1.0)


def forest_main_effects(
    trees: Sequence[TreeArrays], bounds: np.ndarray, factors: Sequence[Factor] | None = None
) -> np.ndarray:
    """:func:`main_effect_fractions` of every non-constant tree, one row per tree.

    Returns:
        ``(trees, factors)``; no rows when every tree is constant.
    """
    rows = [main_effect_fractions(tree, bounds, factors) for tree in trees]
    kept = [row for row in rows if row is not None]
    width = len(factors) if factors is not None else np.asarray(bounds).shape[0]
    return np.array(kept).reshape(len(kept), width)
