"""Functional ANOVA of a regression forest: how much of its variance each input explains alone.

A regression tree predicts a constant on each leaf, and each leaf is an axis-aligned box of the
input space. Give the space a product measure (here: uniform on the bounds of each input) and
the tree's prediction ``f`` has a mean ``E[f]`` and a variance ``V = E[(f - E[f])^2]``. The main
effect of input ``i`` is the function of ``x_i`` alone obtained by integrating ``f`` over every
other input, ``f_i(x_i) = E[f | x_i] - E[f]``; its variance ``V_i = E[f_i^2]`` is the part of
``V`` that ``x_i`` explains by itself (Hutter, Hoos and Leyton-Brown, 2014, "An Efficient
Approach for Assessing Hyperparameter Importance"). What is left, ``V - sum_i V_i``, comes
from interactions.

For one tree, with leaves ``l`` of value ``v_l`` and box ``B_l``:

- the measure of a leaf is ``w_l = prod_d len(B_l[d]) / len(bounds[d])``, so
  ``E[f] = sum_l w_l v_l`` and ``V = sum_l w_l (v_l - E[f])^2``;
- the split points on input ``i`` cut its range into segments; a leaf covers a run of
  consecutive segments, and on each segment ``s``, ``E[f | x_i in s]`` is the sum, over the
  leaves ``l`` covering ``s``, of ``v_l * w_l / r_li`` with ``r_li = len(B_l[i]) /
  len(bounds[i])`` (the leaf's value times its measure in the other inputs). These sums are
  built for every segment at once from a difference array (add at the leaf's first segment,
  subtract after its last, cumulative sum), so one input costs ``O(leaves log leaves)``;
- ``V_i = sum_s len(s) / len(bounds[i]) * (E[f | x_i in s] - E[f])^2``.

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
        feature: The input each internal node splits on (ignored at leaves).
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


def leaf_boxes(tree: TreeArrays, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The box and value of every leaf.

    Walks the tree one depth at a time, so a tree of depth ``k`` costs ``k`` NumPy steps.

    Args:
        tree: The tree.
        bounds: ``(inputs, 2)`` lower and upper bound of each input.

    Returns:
        ``(low, high, value)``: ``(leaves, inputs)`` lower and upper corners, and the
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
        # A threshold outside the parent's box (possible after clipping) leaves one child empty.
        high[lefts, feature] = np.clip(threshold, low[parents, feature], high[parents, feature])
        low[rights, feature] = high[lefts, feature]
        frontier = np.concatenate([lefts, rights])
    leaves = tree.left < 0
    return low[leaves], high[leaves], tree.value[leaves]


def main_effect_fractions(tree: TreeArrays, bounds: np.ndarray) -> np.ndarray | None:
    """The share of one tree's variance that each input's main effect explains.

    Args:
        tree: The tree.
        bounds: ``(inputs, 2)`` bounds of the inputs; the measure is uniform on this box.

    Returns:
        ``(inputs,)`` shares ``V_i / V``, each in ``[0, 1]``, summing to at most 1 (the rest is
        interactions); None when the tree is constant (``V = 0``), so has nothing to explain.
    """
    bounds = np.asarray(bounds, dtype=float)
    low, high, value = leaf_boxes(tree, bounds)
    width = bounds[:, 1] - bounds[:, 0]
    fraction = (high - low) / width  # (leaves, inputs): each leaf's share of each range
    weight = np.prod(fraction, axis=1)
    mean = float(weight @ value)
    variance = float(weight @ (value - mean) ** 2)
    if variance <= _CONSTANT * max(1.0, mean * mean):
        return None
    shares = np.zeros(bounds.shape[0])
    for i in range(bounds.shape[0]):
        edges = np.unique(np.concatenate([low[:, i], high[:, i]]))
        if edges.size < 3:  # no split on this input: its main effect is zero
            continue
        first = np.searchsorted(edges, low[:, i])
        after = np.searchsorted(edges, high[:, i])
        # A leaf's value times its measure in the other inputs, spread over its segments.
        with np.errstate(divide="ignore", invalid="ignore"):
            contribution = np.where(fraction[:, i] > 0, value * weight / fraction[:, i], 0.0)
        segments = edges.size - 1
        difference = np.bincount(first, contribution, segments + 1)
        difference -= np.bincount(after, contribution, segments + 1)
        marginal = np.cumsum(difference)[:segments]
        length = np.diff(edges) / width[i]
        shares[i] = float(length @ (marginal - mean) ** 2) / variance
    return np.clip(shares, 0.0, 1.0)


def forest_main_effects(trees: Sequence[TreeArrays], bounds: np.ndarray) -> np.ndarray:
    """:func:`main_effect_fractions` of every non-constant tree, one row per tree.

    Returns:
        ``(trees, inputs)``; no rows when every tree is constant.
    """
    rows = [main_effect_fractions(tree, bounds) for tree in trees]
    kept = [row for row in rows if row is not None]
    return np.array(kept).reshape(len(kept), np.asarray(bounds).shape[0])
