"""Acquisition functions for several objectives and for constraints (used by Bayesian search).

Every function scores candidate points from the Gaussian-process predictions of each objective
(``means``, ``stds``: arrays of shape ``(n, m)``, objectives to minimize, on a common normalized
scale) or of each constrained metric:

- :func:`probability_of_feasibility`: the chance that every constrained metric lands within
  its bounds, the metrics modelled independently (Gardner et al., 2014).
- :func:`expected_hypervolume_improvement`: for two objectives, the expected gain in the
  hypervolume of the current front, by Monte Carlo over fixed normal draws (the same draws for
  every candidate, so candidates are compared on equal terms and a proposal is reproducible).
- :func:`chebyshev_scalarization`: ParEGO's augmented Chebyshev scalarization with random
  weights, for three objectives or more, where the hypervolume is too costly to integrate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tuner.pareto import hypervolume_improvements, non_dominated_mask

#: Normal draws per candidate of the Monte Carlo hypervolume improvement.
EHVI_SAMPLES = 64
#: ParEGO's augmentation weight: keeps weakly dominated points from tying with the front.
CHEBYSHEV_RHO = 0.05


def probability_of_feasibility(
    means: np.ndarray,
    stds: np.ndarray,
    lower: Sequence[float | None],
    upper: Sequence[float | None],
) -> np.ndarray:
    """``P(lower_k <= metric_k <= upper_k for every k)``, each metric normal and independent.

    Args:
        means: ``(n, k)`` predicted means of the ``k`` constrained metrics.
        stds: ``(n, k)`` their predicted standard deviations.
        lower: Each metric's lower bound on the same scale (None: no bound).
        upper: Each metric's upper bound (None: no bound).

    Example:
        >>> p = probability_of_feasibility(np.array([[0.0]]), np.array([[1.0]]), [None], [0.0])
        >>> round(float(p[0]), 3)
        0.5
    """
    from scipy.special import ndtr

    means = np.asarray(means, dtype=float)
    stds = np.maximum(np.asarray(stds, dtype=float), 1e-12)
    probability = np.ones(len(means))
    for column, (low, high) in enumerate(zip(lower, upper, strict=True)):
        above = 1.0 if low is None else ndtr((means[:, column] - low) / stds[:, column])
        below = 1.0 if high is None else ndtr((high - means[:, column]) / stds[:, column])
        probability *= np.clip(np.asarray(above) + np.asarray(below) - 1.0, 0.0, 1.0)
    return probability


def expected_hypervolume_improvement(
    front: np.ndarray,
    means: np.ndarray,
    stds: np.ndarray,
    reference: Sequence[float] | np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """The expected hypervolume that each candidate adds to ``front`` (two objectives).

    Args:
        front: ``(p, 2)`` observed points (only the non-dominated ones count).
        means: ``(n, 2)`` predicted means of the candidates.
        stds: ``(n, 2)`` their predicted standard deviations.
        reference: The hypervolume's reference point (worse than every point that counts).
        rng: Draws the normal samples (shared by all candidates).
    """
    means = np.asarray(means, dtype=float)
    stds = np.asarray(stds, dtype=float)
    front = np.asarray(front, dtype=float).reshape(-1, 2)
    if len(front):
        front = front[non_dominated_mask(front)]
    draws = rng.standard_normal((EHVI_SAMPLES, 2))
    samples = means[:, None, :] + stds[:, None, :] * draws[None, :, :]
    gains = hypervolume_improvements(front, samples.reshape(-1, 2), reference)
    return gains.reshape(len(means), EHVI_SAMPLES).mean(axis=1)


def chebyshev_scalarization(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ParEGO's ``max_j w_j y_j + rho * sum_j w_j y_j`` of normalized values to minimize.

    Example:
        >>> chebyshev_scalarization(np.array([[0.2, 0.6]]), np.array([0.5, 0.5])).round(3)
        array([0.32])
    """
    weighted = np.asarray(values, dtype=float) * np.asarray(weights, dtype=float)[None, :]
    return weighted.max(axis=1) + CHEBYSHEV_RHO * weighted.sum(axis=1)


def normalization(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The offset and scale mapping each column's observed range onto [0, 1]."""
    values = np.asarray(values, dtype=float)
    low = np.nanmin(values, axis=0)
    high = np.nanmax(values, axis=0)
    scale = np.where(high - low > 1e-12, high - low, 1.0)
    return low, scale
