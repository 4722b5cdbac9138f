"""Pareto dominance of several objectives: fronts, ranks, crowding and hypervolume.

Everything here works on points to *minimize*: an array of shape ``(n, m)``, one row per trial
and one column per objective, maximized objectives negated (:func:`signed_values`). A point
dominates another when it is no worse on every objective and better on one; the Pareto front is
the set of points no other point dominates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tuner.objective import AnyObjective, Objective
    from tuner.trial import Trial


def objectives_of(objective: AnyObjective) -> tuple[Objective, ...]:
    """The single objectives of a search: ``(objective,)`` or a multi-objective's list."""
    return tuple(getattr(objective, "objectives", (objective,)))


def signed_values(objective: AnyObjective, values: Mapping[str, Any]) -> np.ndarray | None:
    """The objectives' values in ``values`` as one point to minimize; None if one is missing.

    Example:
        >>> from tuner.objective import create_objective
        >>> both = create_objective(["val_loss", "val_accuracy"])
        >>> signed_values(both, {"val_loss": 0.3, "val_accuracy": 0.9}).tolist()
        [0.3, -0.9]
    """
    point = []
    for single in objectives_of(objective):
        value = values.get(single.name)
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        if not math.isfinite(number):
            return None
        point.append(-number if single.direction == "max" else number)
    return np.asarray(point, dtype=float)


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether point ``a`` dominates point ``b`` (both to minimize)."""
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated_mask(points: np.ndarray) -> np.ndarray:
    """Which rows of ``points`` no other row dominates (equal rows do not dominate each other).

    In lexicographic order a row can only be dominated by an earlier one, and then by an earlier
    row that is itself on the front: each row is compared with the front found so far, so the
    cost is ``n`` times the front's size, not ``n**2`` (and memory stays linear).

    Example:
        >>> non_dominated_mask(np.array([[1.0, 2.0], [2.0, 1.0], [2.0, 2.0]])).tolist()
        [True, True, False]
    """
    points = np.asarray(points, dtype=float)
    mask = np.zeros(len(points), dtype=bool)
    if len(points) == 0:
        return mask
    points = points.reshape(len(points), -1)
    front = np.empty_like(points)
    size = 0
    for index in np.lexsort(points.T[::-1]):
        point, kept = points[index], front[:size]
        if size and np.any(np.all(kept <= point, axis=1) & np.any(kept < point, axis=1)):
            continue
        front[size] = point
        size += 1
        mask[index] = True
    return mask


def non_dominated_ranks(points: np.ndarray) -> np.ndarray:
    """The non-dominated sorting rank of each row: 0 for the front, 1 for the next front, ...

    Example:
        >>> points = np.array([[1.0, 2.0], [2.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
        >>> non_dominated_ranks(points).tolist()
        [0, 0, 1, 2]
    """
    points = np.asarray(points, dtype=float)
    count = len(points)
    ranks = np.full(count, -1, dtype=int)
    if count == 0:
        return ranks
    no_worse = np.all(points[:, None, :] <= points[None, :, :], axis=2)
    better = np.any(points[:, None, :] < points[None, :, :], axis=2)
    dominance = no_worse & better  # [i, j]: i dominates j
    dominated_by = dominance.sum(axis=0)
    rank = 0
    current = np.flatnonzero(dominated_by == 0)
    while current.size:
        ranks[current] = rank
        dominated_by = dominated_by - dominance[current].sum(axis=0)
        dominated_by[ranks >= 0] = -1
        current = np.flatnonzero(dominated_by == 0)
        rank += 1
    return ranks


def crowding_distances(points: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of each row within its set: larger means more isolated.

    The two extreme points of each objective get ``inf``, so they are kept first.
    """
    points = np.asarray(points, dtype=float)
    count, objectives = points.shape if points.ndim == 2 else (len(points), 0)
    distances = np.zeros(count)
    if count <= 2:
        return np.full(count, np.inf)
    for column in range(objectives):
        order = np.argsort(points[:, column], kind="stable")
        values = points[order, column]
        spread = values[-1] - values[0]
        distances[order[0]] = distances[order[-1]] = np.inf
        if spread <= 0:
            continue
        if not np.isfinite(spread):  # a trial without values (written before they were kept)
            continue
        distances[order[1:-1]] += (values[2:] - values[:-2]) / spread
    return distances


def hypervolume(points: np.ndarray, reference: Sequence[float] | np.ndarray) -> float:
    """The volume dominated by ``points`` and bounded by ``reference`` (all minimized).

    Points that do not dominate the reference add nothing. Exact: a sweep in two dimensions,
    slicing along the last objective above (fine for the fronts of a tuning run).

    Example:
        >>> hypervolume(np.array([[1.0, 2.0], [2.0, 1.0]]), [3.0, 3.0])
        3.0
    """
    reference = np.asarray(reference, dtype=float)
    points = np.asarray(points, dtype=float).reshape(-1, len(reference))
    points = points[np.all(points < reference, axis=1)]
    if len(points) == 0:
        return 0.0
    points = points[non_dominated_mask(points)]
    return _hypervolume(points, reference)


def _hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    if points.shape[1] == 1:
        return float(reference[0] - points[:, 0].min())
    if points.shape[1] == 2:
        order = np.argsort(points[:, 0], kind="stable")
        xs, ys = points[order, 0], points[order, 1]
        heights = np.minimum.accumulate(ys)  # the staircase: best second value so far
        widths = np.diff(np.append(xs, reference[0]))
        return float(np.sum(widths * (reference[1] - heights)))
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    total = 0.0
    for index in range(len(points)):
        top = points[index + 1, -1] if index + 1 < len(points) else reference[-1]
        depth = top - points[index, -1]
        if depth > 0:
            slab = points[: index + 1, :-1]
            slab = slab[non_dominated_mask(slab)]
            total += depth * _hypervolume(slab, reference[:-1])
    return total


def hypervolume_improvements(
    front: np.ndarray, candidates: np.ndarray, reference: Sequence[float] | np.ndarray
) -> np.ndarray:
    """How much each candidate point would add to the hypervolume of ``front`` (2 objectives).

    Vectorized over the candidates: the region the front leaves free is a staircase, and a
    candidate adds the part of its box (up to ``reference``) that lies in it.
    """
    reference = np.asarray(reference, dtype=float)
    candidates = np.asarray(candidates, dtype=float)
    front = np.asarray(front, dtype=float).reshape(-1, 2)
    front = front[np.all(front < reference, axis=1)]
    if len(front):
        front = front[non_dominated_mask(front)]
        front = front[np.argsort(front[:, 0], kind="stable")]
    # Interval [left_k, right_k) of the first objective where the free region starts at
    # height_k on the second one.
    left = np.concatenate(([-np.inf], front[:, 0]))
    right = np.concatenate((front[:, 0], [reference[0]]))
    height = np.concatenate(([reference[1]], np.minimum.accumulate(front[:, 1])))
    a = candidates[:, :1]
    b = candidates[:, 1:2]
    widths = np.clip(right[None, :] - np.maximum(a, left[None, :]), 0.0, None)
    heights = np.clip(np.minimum(height[None, :], reference[1]) - b, 0.0, None)
    return np.sum(widths * heights, axis=1)


def feasible_points(
    objective: AnyObjective, trials: Iterable[Trial]
) -> tuple[list[Trial], np.ndarray]:
    """The COMPLETED, feasible trials with every objective's value, and their points."""
    from tuner.trial import TrialStatus

    kept, points = [], []
    for trial in trials:
        if trial.status != TrialStatus.COMPLETED or not trial.feasible:
            continue
        point = signed_values(objective, trial.objective_values)
        if point is not None:
            kept.append(trial)
            points.append(point)
    width = len(objectives_of(objective))
    return kept, np.asarray(points, dtype=float).reshape(-1, width)


def pareto_front(objective: AnyObjective, trials: Iterable[Trial]) -> list[Trial]:
    """The non-dominated, feasible, COMPLETED trials, in keras-tuner's best-first order.

    With one objective, the front is the best trial (every trial that ties with it).
    """
    kept, points = feasible_points(objective, trials)
    if not kept:
        return []
    on_front = [
        trial for trial, keep in zip(kept, non_dominated_mask(points), strict=True) if keep
    ]
    return sorted(
        on_front, key=lambda t: (objective.sort_key(t.score or 0.0), _position(t.trial_id))
    )


def _position(trial_id: str) -> tuple[int, str]:
    """Orders trial ids as the integers they are (``"10"`` after ``"9"``)."""
    return (len(trial_id), trial_id) if trial_id.isdigit() else (1 << 30, trial_id)


def front_mask(objective: AnyObjective, trials: Sequence[Trial]) -> list[bool]:
    """For each of ``trials``, whether it is on the Pareto front of those trials."""
    on_front = {trial.trial_id for trial in pareto_front(objective, trials)}
    return [trial.trial_id in on_front for trial in trials]


def pareto_front_text(objective: AnyObjective, front: Sequence[Trial]) -> str:
    """The front as ``results_summary`` prints it: one line per trial, its objectives' values."""
    singles = objectives_of(objective)
    names = ", ".join(f"{single.name} ({single.direction})" for single in singles)
    lines = [f"Pareto front: {len(front)} trial(s), non-dominated on {names}"]
    for trial in front:
        values = ", ".join(
            f"{single.name}={trial.objective_values.get(single.name, float('nan')):.6g}"
            for single in singles
        )
        lines.append(f"  Trial {trial.trial_id}: {values}")
    return "\n".join(lines)


def selection_order(points: np.ndarray, violations: np.ndarray | None = None) -> np.ndarray:
    """Row indices best first, as NSGA-II selects them.

    Feasible rows come first, by non-dominated rank, and within a rank the most isolated first
    (crowding distance), which keeps the front diverse; then the infeasible rows, least
    violating first. Ties keep the rows' order.

    Args:
        points: ``(n, m)`` values to minimize.
        violations: ``(n,)`` total constraint violation of each row (0: feasible); None: all
            feasible.

    Example:
        >>> points = np.array([[3.0, 3.0], [1.0, 2.0], [2.0, 1.0], [0.0, 0.0]])
        >>> selection_order(points, np.array([0.0, 0.0, 0.0, 5.0])).tolist()
        [1, 2, 0, 3]
    """
    count = len(points)
    if count == 0:
        return np.zeros(0, dtype=int)
    points = np.asarray(points, dtype=float).reshape(count, -1)
    if violations is None:
        violations = np.zeros(count)
    violations = np.asarray(violations, dtype=float)
    feasible = np.flatnonzero(violations <= 0)
    infeasible = np.flatnonzero(violations > 0)
    ranks = np.zeros(count, dtype=int)
    crowding = np.zeros(count)
    if feasible.size:
        ranks[feasible] = non_dominated_ranks(points[feasible])
        for rank in np.unique(ranks[feasible]):
            members = feasible[ranks[feasible] == rank]
            crowding[members] = crowding_distances(points[members])
    positions = np.arange(count)
    best_feasible = sorted(feasible, key=lambda i: (ranks[i], -crowding[i], positions[i]))
    least_violating = sorted(infeasible, key=lambda i: (violations[i], positions[i]))
    return np.asarray([*best_feasible, *least_violating], dtype=int)


def total_violation(constraints: Sequence[Any], values: Mapping[str, float | None]) -> float:
    """The sum of a trial's constraint violations (0.0: feasible; ``inf``: a metric missing)."""
    return float(sum(c.violation(values.get(c.metric)) for c in constraints))


def quality_order(
    objective: AnyObjective, trials: Sequence[Trial], constraints: Sequence[Any] = ()
) -> list[Trial]:
    """Scored trials best first: the order model-based oracles learn from and promotions use.

    One objective: by score (ties: the earlier trial). A list objective: by
    :func:`selection_order` on the objectives' values, the signed sum breaking ties. Trials
    that break a constraint come after every feasible one, least violating first.
    """
    ordered = sorted(
        trials, key=lambda t: (objective.sort_key(t.score or 0.0), _position(t.trial_id))
    )
    violations = np.asarray(
        [
            0.0 if t.feasible else total_violation(constraints, t.constraint_values) or 1.0
            for t in ordered
        ]
    )
    if len(objectives_of(objective)) == 1:
        feasible = [t for t, v in zip(ordered, violations, strict=True) if v <= 0]
        rest = sorted((i for i, v in enumerate(violations) if v > 0), key=lambda i: violations[i])
        return feasible + [ordered[i] for i in rest]
    width = len(objectives_of(objective))
    points = np.full((len(ordered), width), np.inf)
    for row, trial in enumerate(ordered):
        point = signed_values(objective, trial.objective_values)
        if point is not None:
            points[row] = point
    return [ordered[i] for i in selection_order(points, violations)]
