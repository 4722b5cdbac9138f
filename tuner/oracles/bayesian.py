"""Bayesian optimization: a Gaussian process on the unit-cube codec and log expected improvement.

The surrogate is a Gaussian process with a Matérn-5/2 kernel that has one length scale per
column (ARD), a signal variance and a noise variance. Those hyperparameters are fitted by
maximizing the marginal likelihood times a weak log-normal prior (maximum a posteriori), with
analytic gradients and L-BFGS-B, starting from the previous fit; the fit is part of the oracle's
JSON state, so a resumed search makes the same proposals as an uninterrupted one.

The next trial maximizes the logarithm of the expected improvement (computed without underflow,
so that far-from-best regions still have a usable gradient), or a lower confidence bound. The
maximization scores many random points and perturbations of the best trials, refines the best
few with L-BFGS-B over the continuous columns and a coordinate sweep over the discrete ones, and
takes the best value set not yet tried or running.

scipy is imported inside the functions that need it, so that ``import tuner`` stays light.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tuner.constraints import Constraint
from tuner.objective import is_finite_number
from tuner.oracles import tradeoffs
from tuner.oracles.arguments import OracleOptions, takes_oracle_options
from tuner.oracles.base import Proposal, trial_index, values_key
from tuner.oracles.model_based import ModelBasedOracle
from tuner.pareto import selection_order, signed_values
from tuner.space import DimensionKind, SpaceCodec, latin_hypercube
from tuner.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

_SQRT5 = math.sqrt(5.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: Bounds of the log kernel hyperparameters: length scales, signal variance, noise variance.
_LOG_LENGTHSCALE_BOUNDS = (math.log(1e-2), math.log(1e2))
_LOG_SIGNAL_BOUNDS = (math.log(1e-2), math.log(1e2))
_LOG_NOISE_UPPER = math.log(1.0)


# --- the kernel ----------------------------------------------------------------------------------
def _scaled_distances(a: np.ndarray, b: np.ndarray, lengthscales: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of ``a`` and ``b`` after dividing by length scales."""
    za, zb = a / lengthscales, b / lengthscales
    squared = (za * za).sum(1)[:, None] + (zb * zb).sum(1)[None, :] - 2.0 * za @ zb.T
    return np.sqrt(np.maximum(squared, 0.0))


def matern52(distances: np.ndarray) -> np.ndarray:
    """The Matérn-5/2 correlation at scaled distances ``r``: ``(1 + √5 r + 5r²/3) e^{-√5 r}``.

    Example:
        >>> float(matern52(np.array(0.0)))
        1.0
    """
    return _matern52_terms(distances)[0]


def _matern52_terms(distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The correlation and ``-(dk/dr) / r`` (finite at ``r = 0``), sharing one exponential."""
    root5r = _SQRT5 * distances
    decay = np.exp(-root5r)
    slope = (5.0 / 3.0) * (1.0 + root5r) * decay
    return (1.0 + root5r + root5r * root5r / 3.0) * decay, slope


def _cholesky(signal_part: np.ndarray, noise: float) -> np.ndarray | None:
    """The lower Cholesky factor of ``signal_part + noise I``, adding jitter when needed."""
    from scipy.linalg import lapack

    diagonal = np.arange(len(signal_part))
    jitter = 0.0
    for _ in range(6):
        matrix = signal_part.copy()
        matrix[diagonal, diagonal] += noise + jitter
        factor, info = lapack.dpotrf(matrix, lower=1, clean=1)
        if info == 0:
            return factor
        jitter = max(jitter * 10.0, 1e-8 * max(float(signal_part[0, 0]), 1e-12))
    return None


def _generalized_mean(inverse: np.ndarray, targets: np.ndarray) -> float:
    """The generalized least-squares constant mean ``1' K^-1 y / 1' K^-1 1``.

    Unlike the plain average, it weighs clustered observations down: when the search has
    crowded around the best region, the mean stays near the typical value of the function,
    so that unexplored corners are not predicted as good as the average of the crowd.
    """
    weights = inverse.sum(0)
    total = float(weights.sum())
    return float(weights @ targets) / total if total > 1e-12 else float(targets.mean())


def _inverse(factor: np.ndarray) -> np.ndarray:
    """``K^-1`` from the lower Cholesky factor of ``K``."""
    from scipy.linalg import lapack

    lower = np.tril(lapack.dpotri(factor, lower=1)[0])
    return lower + np.tril(lower, -1).T


@dataclass(frozen=True)
class KernelPrior:
    """Priors on the kernel hyperparameters, as densities of their logarithms.

    Length scales (of inputs in the unit cube) have a gamma prior: its tail falls exponentially,
    so a handful of observations cannot declare a hyperparameter irrelevant by sending its
    length scale far beyond the width of the cube. The signal and noise variances (of
    standardized scores) have log-normal priors.

    Example:
        >>> prior = KernelPrior()
        >>> round(math.exp(prior.mode(2)[0]), 3)  # the most likely length scale
        0.5
    """

    lengthscale_shape: float = 3.0
    lengthscale_rate: float = 6.0
    signal_mean: float = 0.0
    signal_std: float = 1.5
    noise_mean: float = math.log(1e-3)
    noise_std: float = 3.0

    @classmethod
    def for_dimensions(cls, dimensions: int) -> KernelPrior:
        """The default prior for ``dimensions`` input columns."""
        return cls()

    def mode(self, dimensions: int) -> np.ndarray:
        """The most likely ``[log ell..., log signal, log noise]``."""
        lengthscale = math.log(self.lengthscale_shape / self.lengthscale_rate)
        return np.r_[np.full(dimensions, lengthscale), self.signal_mean, self.noise_mean]

    def negative_log_density(self, log_parameters: np.ndarray) -> tuple[float, np.ndarray]:
        """The negative log prior density (up to a constant) and its gradient."""
        dimensions = len(log_parameters) - 2
        log_lengthscales = log_parameters[:dimensions]
        scaled = self.lengthscale_rate * np.exp(log_lengthscales)
        value = float((scaled - self.lengthscale_shape * log_lengthscales).sum())
        gradient = np.empty_like(log_parameters)
        gradient[:dimensions] = scaled - self.lengthscale_shape
        means = np.array([self.signal_mean, self.noise_mean])
        stds = np.array([self.signal_std, self.noise_std])
        deviation = (log_parameters[dimensions:] - means) / stds
        value += 0.5 * float(deviation @ deviation)
        gradient[dimensions:] = deviation / stds
        return value, gradient


def negative_log_posterior(
    log_parameters: np.ndarray, inputs: np.ndarray, targets: np.ndarray, prior: KernelPrior
) -> tuple[float, np.ndarray]:
    """The negative log marginal likelihood plus negative log prior, and its gradient.

    Args:
        log_parameters: ``[log ell_1..log ell_D, log signal variance, log noise variance]``.
        inputs: ``(n, D)`` training inputs.
        targets: ``(n,)`` standardized training targets.
        prior: Priors on the log parameters.

    Returns:
        The value and its gradient with respect to ``log_parameters``.
    """
    dimensions = inputs.shape[1]
    lengthscales = np.exp(log_parameters[:dimensions])
    signal = math.exp(log_parameters[dimensions])
    noise = math.exp(log_parameters[dimensions + 1])
    correlation, slope = _matern52_terms(_scaled_distances(inputs, inputs, lengthscales))
    signal_part = signal * correlation
    factor = _cholesky(signal_part, noise)
    if factor is None:
        return 1e10, np.zeros_like(log_parameters)
    inverse = _inverse(factor)
    residuals = targets - _generalized_mean(inverse, targets)
    alpha = inverse @ residuals
    log_det = 2.0 * np.log(np.diag(factor)).sum()
    value = 0.5 * residuals @ alpha + 0.5 * log_det + len(targets) * _LOG_SQRT_2PI
    # The constant mean is profiled out; at its optimum the value's derivative in it is zero,
    # so the gradient below, at fixed mean, is the gradient of the profiled value.
    weights = inverse - np.outer(alpha, alpha)  # d value / d K, times two
    gradient = np.empty_like(log_parameters)
    # d K / d log ell_j = signal * slope(r) * (x_aj - x_bj)^2 / ell_j^2, summed in O(n^2 D).
    pair_weights = weights * (signal * slope)
    scaled = inputs / lengthscales
    row_sums = pair_weights.sum(1)
    gradient[:dimensions] = (scaled * scaled * row_sums[:, None]).sum(0) - (
        scaled * (pair_weights @ scaled)
    ).sum(0)
    gradient[dimensions] = 0.5 * (weights * signal_part).sum()
    gradient[dimensions + 1] = 0.5 * noise * np.trace(weights)
    prior_value, prior_gradient = prior.negative_log_density(log_parameters)
    return float(value) + prior_value, gradient + prior_gradient


class GaussianProcess:
    """A Gaussian-process posterior with a Matérn-5/2 ARD kernel and fixed hyperparameters.

    Args:
        inputs: ``(n, D)`` training inputs.
        targets: ``(n,)`` training targets (standardize them first; the prior mean is zero).
        log_parameters: ``[log ell_1..log ell_D, log signal variance, log noise variance]``.

    Example:
        >>> x = np.array([[0.1], [0.5], [0.9]]); y = np.array([1.0, -1.0, 0.5])
        >>> gp = GaussianProcess(x, y, np.log([0.3, 1.0, 1e-6]))
        >>> mean, std = gp.predict(x)
        >>> bool(np.allclose(mean, y, atol=1e-4)), bool(std.max() < 1e-2)
        (True, True)
    """

    def __init__(self, inputs: np.ndarray, targets: np.ndarray, log_parameters: np.ndarray):
        self.inputs = np.asarray(inputs, dtype=float)
        self.targets = np.asarray(targets, dtype=float)
        self.log_parameters = np.asarray(log_parameters, dtype=float)
        dimensions = self.inputs.shape[1]
        self.lengthscales = np.exp(self.log_parameters[:dimensions])
        self.signal_variance = math.exp(self.log_parameters[dimensions])
        self.noise_variance = math.exp(self.log_parameters[dimensions + 1])
        signal_part = self.signal_variance * matern52(
            _scaled_distances(self.inputs, self.inputs, self.lengthscales)
        )
        factor = _cholesky(signal_part, self.noise_variance)
        if factor is None:  # hopeless conditioning: fall back to a large noise
            factor = _cholesky(signal_part, self.noise_variance + self.signal_variance)
        if factor is None:
            raise ValueError("The kernel matrix is not positive definite, even with jitter.")
        self._factor = factor
        self._inverse = _inverse(factor)
        #: The constant prior mean: the generalized least-squares mean of the targets.
        self.prior_mean = _generalized_mean(self._inverse, self.targets)
        self._alpha = self._inverse @ (self.targets - self.prior_mean)

    @classmethod
    def fit(
        cls,
        inputs: np.ndarray,
        targets: np.ndarray,
        initial: np.ndarray | None = None,
        prior: KernelPrior | None = None,
        min_noise: float = 1e-6,
        max_iterations: int = 200,
        restart_from_prior: bool = True,
    ) -> GaussianProcess:
        """Fits the kernel hyperparameters (maximum a posteriori) and returns the posterior.

        Args:
            inputs: ``(n, D)`` training inputs.
            targets: ``(n,)`` standardized targets.
            initial: Starting log parameters (the previous fit); the prior means by default.
            prior: Priors on the log parameters; :meth:`KernelPrior.for_dimensions` by default.
            min_noise: Smallest noise variance allowed (keeps the kernel matrix invertible).
            max_iterations: L-BFGS-B iteration limit.
            restart_from_prior: Also start from the prior means and keep the better optimum
                (a warm start alone can stay in the basin of an early, too smooth fit).
        """
        from scipy.optimize import minimize

        dimensions = inputs.shape[1]
        prior = prior or KernelPrior.for_dimensions(dimensions)
        bounds = [_LOG_LENGTHSCALE_BOUNDS] * dimensions
        bounds += [_LOG_SIGNAL_BOUNDS, (math.log(min_noise), _LOG_NOISE_UPPER)]
        lower, upper = np.array(bounds).T
        prior_start = prior.mode(dimensions)
        starts = [prior_start] if initial is None else [np.array(initial, dtype=float)]
        if initial is not None and restart_from_prior:
            starts.append(prior_start)
        best, best_value = np.clip(starts[0], lower, upper), math.inf
        for start in starts:
            result = minimize(
                negative_log_posterior,
                np.clip(start, lower, upper),
                args=(inputs, targets, prior),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": max_iterations},
            )
            if np.all(np.isfinite(result.x)) and result.fun < best_value:
                best, best_value = result.x, float(result.fun)
        return cls(inputs, targets, best)

    def with_observations(self, inputs: np.ndarray, targets: np.ndarray) -> GaussianProcess:
        """The posterior with more observations, same kernel hyperparameters."""
        return GaussianProcess(
            np.vstack([self.inputs, inputs]), np.r_[self.targets, targets], self.log_parameters
        )

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation (of the latent function) at ``points``."""
        cross = self.signal_variance * matern52(
            _scaled_distances(points, self.inputs, self.lengthscales)
        )
        mean = self.prior_mean + cross @ self._alpha
        variance = self.signal_variance - ((cross @ self._inverse) * cross).sum(1)
        return mean, np.sqrt(np.maximum(variance, 1e-12 * self.signal_variance))

    def predict_with_gradient(
        self, points: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, standard deviation, and their gradients ``(m, D)`` at ``points``."""
        correlation, slope = _matern52_terms(
            _scaled_distances(points, self.inputs, self.lengthscales)
        )
        cross = self.signal_variance * correlation
        mean = self.prior_mean + cross @ self._alpha
        solved = cross @ self._inverse  # k(x)^T K^-1, (m, n)
        variance = self.signal_variance - (cross * solved).sum(1)
        floor = 1e-12 * self.signal_variance
        std = np.sqrt(np.maximum(variance, floor))
        # d k(x, x_a) / d x = -signal * slope(r) * (x - x_a) / ell^2
        slope = self.signal_variance * slope  # (m, n)
        inverse_sq = 1.0 / self.lengthscales**2

        def contract(weights: np.ndarray) -> np.ndarray:
            # sum_a w_ma * d k(x_m, x_a) / d x_m
            weighted = slope * weights
            return -(points * weighted.sum(1)[:, None] - weighted @ self.inputs) * inverse_sq

        mean_gradient = contract(self._alpha[None, :])
        variance_gradient = -2.0 * contract(solved)
        std_gradient = np.where(
            (variance > floor)[:, None], variance_gradient / (2.0 * std[:, None]), 0.0
        )
        return mean, std, mean_gradient, std_gradient


# --- acquisition ---------------------------------------------------------------------------------
def log_h(z: np.ndarray) -> np.ndarray:
    """``log(φ(z) + z Φ(z))``, accurate for every ``z`` (the expected improvement is std * h(z)).

    For ``z`` below -1 the sum cancels; it is rewritten with the scaled complementary error
    function, and far in the tail with its asymptotic series, so the logarithm never underflows.

    Example:
        >>> bool(np.isfinite(log_h(np.array([-1e6, -40.0, 0.0, 5.0]))).all())
        True
    """
    from scipy.special import erfcx, ndtr

    z = np.asarray(z, dtype=float)
    result = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    result[upper] = np.log(np.exp(-0.5 * zu * zu - _LOG_SQRT_2PI) + zu * ndtr(zu))
    middle = (~upper) & (z > -100.0)
    zm = -z[middle]  # positive
    tail = 1.0 - zm * math.sqrt(math.pi / 2.0) * erfcx(zm / math.sqrt(2.0))
    result[middle] = -0.5 * zm * zm - _LOG_SQRT_2PI + np.log(tail)
    far = z <= -100.0
    zf = -z[far]
    inverse = 1.0 / (zf * zf)
    series = np.log1p(inverse * (-3.0 + inverse * (15.0 - 105.0 * inverse)))
    result[far] = -0.5 * zf * zf - _LOG_SQRT_2PI - 2.0 * np.log(zf) + series
    return result


def log_expected_improvement(
    mean: np.ndarray, std: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log EI of a minimization below ``best``, and its derivatives in the mean and the std.

    Example:
        >>> value, _, _ = log_expected_improvement(np.array([0.0]), np.array([1.0]), 0.0)
        >>> round(float(np.exp(value[0])), 4)  # φ(0)
        0.3989
    """
    from scipy.special import log_ndtr

    z = (best - mean) / std
    log_h_z = log_h(z)
    value = np.log(std) + log_h_z
    # h'(z) = Φ(z) and h(z) - z Φ(z) = φ(z), so the derivatives need only two ratios.
    cdf_ratio = np.exp(log_ndtr(z) - log_h_z)
    pdf_ratio = np.exp(-0.5 * z * z - _LOG_SQRT_2PI - log_h_z)
    return value, -cdf_ratio / std, pdf_ratio / std


def lower_confidence_bound(
    mean: np.ndarray, std: np.ndarray, beta: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``-(mean - beta std)`` (larger is better), and its derivatives in the mean and the std."""
    return -(mean - beta * std), -np.ones_like(mean), np.full_like(std, beta)


# --- threads -------------------------------------------------------------------------------------
_thread_controller: Any = None


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Runs the block with one BLAS thread, when threadpoolctl is installed.

    The matrices of a proposal are small (at most a few thousand rows): threads barely speed them
    up, and on a machine busy training models they wait for cores and make a proposal many times
    slower. Without threadpoolctl the block runs unchanged.
    """
    global _thread_controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        yield
        return
    if _thread_controller is None:
        import scipy.linalg  # noqa: F401 - loads scipy's BLAS, so that the controller sees it

        _thread_controller = ThreadpoolController()
    with _thread_controller.limit(limits=1, user_api="blas"):
        yield


# --- the oracle ----------------------------------------------------------------------------------
_ACQUISITIONS = ("log_ei", "ucb")


@dataclass(frozen=True)
class _Standardized:
    """A Gaussian process fitted to ``(values - center) / spread``, predicting ``values``."""

    model: GaussianProcess
    center: float
    spread: float

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self.model.predict(points)
        return mean * self.spread + self.center, std * self.spread

    def believing(self, pending: np.ndarray) -> _Standardized:
        """The model with the running trials observed at their predicted value."""
        believed = self.model.with_observations(pending, self.model.predict(pending)[0])
        return _Standardized(believed, self.center, self.spread)


@takes_oracle_options()
class BayesianOptimizationOracle(ModelBasedOracle):
    """Bayesian optimization with a Gaussian process: keras-tuner's oracle, made robust.

    The first ``num_initial_points`` trials follow a maximin Latin hypercube (space-filling,
    reproducible); every later trial maximizes an acquisition function of a Gaussian process fitted
    to the finished trials. Every hyperparameter type works, conditional ones included (see
    :class:`~tuner.space.SpaceCodec` for the encoding).

    Robust where keras-tuner's oracle is not:

    * it never proposes a value set that was already tried or is running, and stops when a
      finite space is exhausted;
    * failed trials and trials whose objective is NaN or infinite count as the worst score seen
      (not as the best, as an infinite loss would in keras-tuner);
    * constant or tiny data fit without error;
    * trials still running count as observations at their predicted value (the "kriging
      believer"), so parallel workers get different proposals;
    * proposals depend only on the seed, the trial id and the trials, so a resumed search makes
      the same proposals as one that never stopped.

    Args:
        objective: See :class:`~tuner.oracles.Oracle`.
        max_trials: How many trials to run. Defaults to 10.
        num_initial_points: Space-filling trials before the model is used. Defaults to twice the
            number of tuned hyperparameters, between 3 and 10.
        alpha: The smallest noise variance of the model, relative to the variance of the scores
            (keras-tuner's ``alpha``); the noise is fitted above it. Raise it for very noisy
            objectives.
        beta: Exploration weight of the ``"ucb"`` acquisition (keras-tuner's ``beta``); unused by
            ``"log_ei"``.
        acquisition: ``"log_ei"`` (log expected improvement, the default) or ``"ucb"``
            (lower confidence bound ``mean - beta * std`` of the minimized score).

    Example:
        >>> oracle = BayesianOptimizationOracle(objective="loss", max_trials=12, seed=0)
        >>> oracle.hyperparameters.Float("x", -2.0, 2.0)
        -2.0
        >>> for _ in range(12):
        ...     trial = oracle.create_trial("worker")
        ...     oracle.update_trial(trial.trial_id, {"loss": (trial.values["x"] - 0.5) ** 2})
        ...     trial.status = "COMPLETED"; oracle.end_trial(trial)  # doctest: +ELLIPSIS
        <TrialStatus.RUNNING: 'RUNNING'>...
        >>> abs(oracle.get_best_trials()[0].values["x"] - 0.5) < 0.05
        True
    """

    #: Random candidates scored, times the number of observations (between 256 and 2048).
    candidate_budget: ClassVar[int] = 100_000
    #: Perturbations scored around each of the best trials.
    local_candidates: ClassVar[int] = 64
    #: How many of the best candidates are refined by L-BFGS-B and the discrete sweep.
    refined_candidates: ClassVar[int] = 5
    #: L-BFGS-B iterations refining the best candidates.
    refine_iterations: ClassVar[int] = 20
    #: Up to this many observations, the kernel is refitted for every new data set.
    full_refit_limit: ClassVar[int] = 64
    #: Beyond it, the kernel is refitted when the data grew by this factor since the last fit.
    refit_growth: ClassVar[float] = 1.1
    #: With several objectives: front trials, then best candidates, perturbed per proposal.
    tradeoff_leaders: ClassVar[int] = 8

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = 10,
        num_initial_points: int | None = None,
        alpha: float = 1e-6,
        beta: float = 2.6,
        *,
        acquisition: str = "log_ei",
        **options: Unpack[OracleOptions],
    ) -> None:
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            **options,
        )
        if num_initial_points is not None and (
            isinstance(num_initial_points, bool)
            or not isinstance(num_initial_points, int)
            or num_initial_points < 1
        ):
            raise ValueError(
                f"num_initial_points must be a positive integer or None, got "
                f"{num_initial_points!r}."
            )
        if not is_finite_number(alpha) or not 0 <= alpha < 1:
            raise ValueError(f"alpha must be a number in [0, 1), got {alpha!r}.")
        if not is_finite_number(beta) or beta < 0:
            raise ValueError(f"beta must be a non-negative number, got {beta!r}.")
        if acquisition not in _ACQUISITIONS:
            raise ValueError(f"acquisition must be one of {_ACQUISITIONS}, got {acquisition!r}.")
        self.num_initial_points = num_initial_points
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.acquisition = acquisition
        #: The last kernel fit: space signature, data fingerprint and log parameters.
        self._kernel: dict[str, Any] | None = None
        #: The same, for each model of a multi-objective or constrained search, by its name.
        self._kernels: dict[str, dict[str, Any]] = {}
        self._encoding_cache: tuple[str, dict[str, tuple[str, np.ndarray]]] | None = None
        self._designs: dict[tuple[int, int], np.ndarray] = {}

    # --- configuration and state -----------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            num_initial_points=self.num_initial_points,
            alpha=self.alpha,
            beta=self.beta,
            acquisition=self.acquisition,
        )
        return config

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["kernel"] = self._kernel
        if self._kernels:
            state["kernels"] = self._kernels
        return state

    def set_state(self, state: Mapping[str, Any]) -> None:
        super().set_state(state)
        kernel = state.get("kernel")
        self._kernel = dict(kernel) if isinstance(kernel, Mapping) else None
        kernels = state.get("kernels")
        self._kernels = (
            {str(k): dict(v) for k, v in kernels.items() if isinstance(v, Mapping)}
            if isinstance(kernels, Mapping)
            else {}
        )

    # --- proposals -------------------------------------------------------------------------------
    def _initial_count(self, codec: SpaceCodec) -> int:
        if self.num_initial_points is not None:
            return self.num_initial_points
        return min(max(2 * len(codec.dimensions), 3), 10)

    def _propose(self, trial_id: str) -> Proposal:
        codec = self._codec()
        if codec.size == 0:  # nothing to tune (yet): the build samples what it meets
            values = codec.decode(np.empty(0))
            return Proposal.stop() if self._is_duplicate(values) else Proposal.run(values)
        pool = self._untried_pool(codec)
        if pool is not None and not pool:
            return Proposal.stop()
        rng = self._rng(trial_id, "bayesian")
        observed = self._observations(codec)
        if trial_index(trial_id) < self._initial_count(codec) or observed is None:
            return self._space_filling(trial_id, codec, pool, rng)
        if len(self.objective.metric_names) > 1 or self.constraints:
            return self._propose_tradeoff(codec, pool, rng)
        inputs, scores = observed
        targets = self._targets(scores)
        with _single_threaded_blas():
            model = self._fit(codec, inputs, targets)
            pending = self._pending_inputs(codec)
            if len(pending):  # kriging believer: running trials "return" their predicted value
                model = model.with_observations(pending, model.predict(pending)[0])
            best = float(targets.min())
            if pool is not None:  # a small finite space: score every untried value set
                points = codec.encode_many(pool)
                scores_of_points = self._acquisition(model, points, best)
            else:
                points, scores_of_points = self._candidates(model, codec, inputs, targets, rng)
        for index in np.argsort(-scores_of_points, kind="stable"):
            values = codec.decode(points[index])
            if not self._is_duplicate(values):
                return Proposal.run(values)
        return self._random_untried(codec, pool, rng)

    @staticmethod
    def _targets(scores: np.ndarray) -> np.ndarray:
        """Standardized scores: mean 0 and standard deviation 1 (all 0 when constant)."""
        center, scale = float(scores.mean()), float(scores.std())
        return (scores - center) / (scale if scale > 1e-12 else 1.0)

    def _space_filling(
        self,
        trial_id: str,
        codec: SpaceCodec,
        pool: list[dict[str, Any]] | None,
        rng: np.random.Generator,
    ) -> Proposal:
        index = trial_index(trial_id)
        design = self._initial_design(len(codec.dimensions), self._initial_count(codec))
        if index >= len(design):  # no model yet (failures, or workers ahead): random
            return self._random_untried(codec, pool, rng)
        point = codec.from_units(design[index : index + 1])[0]
        values = codec.decode(point)
        if not self._is_duplicate(values):
            return Proposal.run(values)
        return self._random_untried(codec, pool, rng)

    def _initial_design(self, dimensions: int, count: int) -> np.ndarray:
        """The space-filling design of the first trials: a function of the seed and the space."""
        key = (dimensions, count)
        if key not in self._designs:
            words = [self._seed, dimensions, count, 0x1A7]
            self._designs[key] = latin_hypercube(
                np.random.default_rng(np.random.SeedSequence(words)), count, dimensions
            )
        return self._designs[key]

    def _random_untried(
        self,
        codec: SpaceCodec,
        pool: list[dict[str, Any]] | None,
        rng: np.random.Generator,
    ) -> Proposal:
        if pool is not None:
            return Proposal.run(pool[int(rng.integers(len(pool)))]) if pool else Proposal.stop()
        for point in codec.sample(rng, self.max_collisions):
            values = codec.decode(point)
            if not self._is_duplicate(values):
                return Proposal.run(values)
        return Proposal.stop()

    def _observations(self, codec: SpaceCodec) -> tuple[np.ndarray, np.ndarray] | None:
        """Inputs and minimized scores of the finished trials; None when fewer than two scores.

        Failed trials, and trials whose score is not a finite number, take the worst score.
        """
        finished = sorted(
            (t for t in self.trials.values() if t.status.is_finished),
            key=lambda t: trial_index(t.trial_id),
        )
        scored = [t for t in finished if self._usable_score(t)]
        if len(scored) < 2:
            return None
        losses = {t.trial_id: self.objective.sort_key(t.score) for t in scored}  # type: ignore[arg-type]
        worst = max(losses.values())
        inputs = self._encode(codec, finished)
        scores = np.array([losses.get(t.trial_id, worst) for t in finished])
        return inputs, scores

    @staticmethod
    def _usable_score(trial: Trial) -> bool:
        return trial.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED) and is_finite_number(
            trial.score
        )

    def _pending_inputs(self, codec: SpaceCodec) -> np.ndarray:
        running = sorted(
            (t for t in self.trials.values() if t.status == TrialStatus.RUNNING),
            key=lambda t: trial_index(t.trial_id),
        )
        if not running:
            return np.empty((0, codec.size))
        return self._encode(codec, running)

    def _encode(self, codec: SpaceCodec, trials: list[Trial]) -> np.ndarray:
        """The trials' vectors, cached per trial (values can change once, when a build ends)."""
        if self._encoding_cache is None or self._encoding_cache[0] != codec.signature:
            self._encoding_cache = (codec.signature, {})
        cache = self._encoding_cache[1]
        rows = []
        for trial in trials:
            key = values_key(trial.hyperparameters.values)
            known = cache.get(trial.trial_id)
            if known is None or known[0] != key:
                known = (key, codec.encode(trial.hyperparameters.values))
                cache[trial.trial_id] = known
            rows.append(known[1])
        return np.array(rows).reshape(len(rows), codec.size)

    def _fit(
        self,
        codec: SpaceCodec,
        inputs: np.ndarray,
        targets: np.ndarray,
        model_name: str | None = None,
    ) -> GaussianProcess:
        """The Gaussian process on this data, its kernel refitted when the data changed.

        Up to ``full_refit_limit`` observations the kernel is refitted for every new data set,
        from the previous fit and from the prior. Beyond, a fit costs O(n^3) per step and one
        more observation barely moves the optimum, so the kernel is refitted (from the previous
        fit) once the data grew by ``refit_growth``; in between, the posterior takes the new data
        with the kernel it has. ``model_name`` names one of several models (one per objective
        or constraint), each with its own kernel.
        """
        import zlib

        fingerprint = f"{zlib.crc32(inputs.tobytes()):08x}{zlib.crc32(targets.tobytes()):08x}"
        space = f"{zlib.crc32(codec.signature.encode()):08x}"
        kernel = self._kernel if model_name is None else self._kernels.get(model_name)
        previous = kernel if kernel and kernel.get("space") == space else None
        count = len(targets)
        if previous is not None:
            parameters = np.array(previous["log_parameters"], dtype=float)
            fresh_enough = (
                count > self.full_refit_limit and count < previous["fitted_on"] * self.refit_growth
            )
            if previous["data"] == fingerprint or fresh_enough:
                self._keep_kernel(model_name, {**previous, "data": fingerprint})
                return GaussianProcess(inputs, targets, parameters)
        model = GaussianProcess.fit(
            inputs,
            targets,
            initial=None if previous is None else parameters,
            min_noise=max(self.alpha, 1e-9),
            restart_from_prior=count <= self.full_refit_limit,
        )
        self._keep_kernel(
            model_name,
            {
                "space": space,
                "data": fingerprint,
                "fitted_on": count,
                "log_parameters": [float(v) for v in model.log_parameters],
            },
        )
        return model

    def _keep_kernel(self, model_name: str | None, kernel: dict[str, Any]) -> None:
        if model_name is None:
            self._kernel = kernel
        else:
            self._kernels[model_name] = kernel

    # --- several objectives, constraints ---------------------------------------------------------
    def _propose_tradeoff(
        self, codec: SpaceCodec, pool: list[dict[str, Any]] | None, rng: np.random.Generator
    ) -> Proposal:
        """The next trial of a search with several objectives or with constraints.

        One Gaussian process per objective (on its observed range mapped to [0, 1]) and one per
        constrained metric. With two objectives the acquisition is the expected hypervolume
        improvement over the feasible front; with more, ParEGO's random Chebyshev
        scalarization with log expected improvement; with one, log expected improvement over
        the best feasible trial. Each is weighted by the probability that the constraints
        hold; before any trial is feasible, that probability alone is maximized.
        """
        finished = sorted(
            (t for t in self.trials.values() if t.status.is_finished),
            key=lambda t: trial_index(t.trial_id),
        )
        width = len(self.objective.metric_names)
        values = np.full((len(finished), width), np.nan)
        for row, trial in enumerate(finished):
            if self._usable_score(trial):
                point = signed_values(self.objective, trial.objective_values)
                if point is not None:
                    values[row] = point
        observed = ~np.isnan(values).any(axis=1)
        if observed.sum() < 2:
            return self._random_untried(codec, pool, rng)
        # Failed trials count as the worst value seen, as in the single-objective search.
        values = np.where(np.isnan(values), np.nanmax(values, axis=0), values)
        low, scale = tradeoffs.normalization(values)
        normalized = (values - low) / scale
        feasible = observed & np.array([t.feasible for t in finished])
        inputs = self._encode(codec, finished)
        pending = self._pending_inputs(codec)
        with _single_threaded_blas():
            objective_models = [
                self._standardized_model(codec, inputs, normalized[:, j], f"objective {name}")
                for j, name in enumerate(self.objective.metric_names)
            ]
            constraint_models = self._constraint_models(codec, finished, inputs)
            if len(pending):  # kriging believer, as in the single-objective search
                objective_models = [m.believing(pending) for m in objective_models]
                constraint_models = [(m.believing(pending), c) for m, c in constraint_models]
            score = self._tradeoff_scorer(
                codec,
                inputs,
                normalized,
                feasible,
                objective_models,
                constraint_models,
                pending,
                rng,
            )
            if pool is not None:
                points = codec.encode_many(pool)
                scores = score(points)
            else:
                # Random points and perturbations of the feasible front, then perturbations of
                # the best of those: a two-stage local search (the Monte Carlo acquisition has
                # no gradient to follow).
                count = int(np.clip(self.candidate_budget // len(finished), 256, 2048))
                front = np.flatnonzero(feasible)
                best_first = front[selection_order(normalized[front])][: self.tradeoff_leaders]
                first = np.vstack(
                    [codec.sample(rng, count), self._perturb(codec, inputs[best_first], rng)]
                )
                first_scores = score(first)
                top = first[np.argsort(-first_scores, kind="stable")[: self.tradeoff_leaders]]
                second = self._perturb(codec, top, rng)
                points = np.vstack([first, second])
                scores = np.r_[first_scores, score(second)]
        for index in np.argsort(-scores, kind="stable"):
            proposal = codec.decode(points[index])
            if not self._is_duplicate(proposal):
                return Proposal.run(proposal)
        return self._random_untried(codec, pool, rng)

    def _standardized_model(
        self, codec: SpaceCodec, inputs: np.ndarray, values: np.ndarray, name: str
    ) -> _Standardized:
        center, spread = float(values.mean()), float(values.std())
        spread = spread if spread > 1e-12 else 1.0
        model = self._fit(codec, inputs, (values - center) / spread, model_name=name)
        return _Standardized(model, center, spread)

    def _constraint_models(
        self, codec: SpaceCodec, finished: list[Trial], inputs: np.ndarray
    ) -> list[tuple[_Standardized, Constraint]]:
        """A model of each constrained metric, from the trials that reported it."""
        models = []
        for position, constraint in enumerate(self.constraints):
            reported = [t.constraint_values.get(constraint.metric) for t in finished]
            known = np.array([is_finite_number(value) for value in reported])
            if known.sum() < 2:
                continue  # not modelled yet: every point is as likely to be feasible
            metric = np.array(
                [float(v) for v in reported if v is not None and is_finite_number(v)]
            )
            name = f"constraint {position} {constraint.metric}"
            models.append(
                (self._standardized_model(codec, inputs[known], metric, name), constraint)
            )
        return models

    @staticmethod
    def _log_feasibility(
        models: list[tuple[_Standardized, Constraint]], points: np.ndarray
    ) -> np.ndarray:
        if not models:
            return np.zeros(len(points))
        means, stds, lower, upper = [], [], [], []
        for model, constraint in models:
            mean, std = model.predict(points)
            means.append(mean)
            stds.append(std)
            lower.append(constraint.min_value)
            upper.append(constraint.max_value)
        probability = tradeoffs.probability_of_feasibility(
            np.column_stack(means), np.column_stack(stds), lower, upper
        )
        return np.log(np.maximum(probability, 1e-300))

    def _tradeoff_scorer(
        self,
        codec: SpaceCodec,
        inputs: np.ndarray,
        normalized: np.ndarray,
        feasible: np.ndarray,
        objective_models: list[_Standardized],
        constraint_models: list[tuple[_Standardized, Constraint]],
        pending: np.ndarray,
        rng: np.random.Generator,
    ) -> Callable[[np.ndarray], np.ndarray]:
        """The acquisition (log scale) of a proposal: one function for all its candidates.

        Its random parts (the Monte Carlo draws, ParEGO's weights) are drawn once, so that
        candidates scored in several batches are compared on equal terms.
        """
        width = normalized.shape[1]
        draws_seed = int(rng.integers(2**62))
        weights = rng.dirichlet(np.ones(width))
        front = normalized[feasible]
        reference = np.full(width, 1.1)  # just past the worst value seen of each objective
        chosen: dict[str, Any] = {}  # the acquisition, decided on the first batch

        def chebyshev() -> tuple[_Standardized, float]:
            if "chebyshev" not in chosen:
                scalar = tradeoffs.chebyshev_scalarization(normalized, weights)
                model = self._standardized_model(codec, inputs, scalar, "chebyshev")
                if len(pending):
                    model = model.believing(pending)
                chosen["chebyshev"] = (model, float(scalar[feasible].min()))
            return chosen["chebyshev"]

        def score(points: np.ndarray) -> np.ndarray:
            log_feasibility = self._log_feasibility(constraint_models, points)
            if not feasible.any():  # find the feasible region first
                return log_feasibility
            predictions = [model.predict(points) for model in objective_models]
            means = np.column_stack([mean for mean, _ in predictions])
            stds = np.column_stack([std for _, std in predictions])
            if width == 1:
                best = float(front[:, 0].min())
                return log_feasibility + log_expected_improvement(means[:, 0], stds[:, 0], best)[0]
            if width == 2 and chosen.setdefault("mode", "hypervolume") == "hypervolume":
                gains = tradeoffs.expected_hypervolume_improvement(
                    front, means, stds, reference, np.random.default_rng(draws_seed)
                )
                if gains.max() > 0 or "decided" in chosen:
                    chosen["decided"] = True
                    return log_feasibility + np.log(np.maximum(gains, 1e-300))
                chosen["mode"] = "chebyshev"  # no candidate improves the front: ParEGO
            chosen["decided"] = True
            model, best = chebyshev()
            mean, std = model.predict(points)
            return log_feasibility + log_expected_improvement(mean, std, best)[0]

        return score

    # --- the acquisition and its maximization ----------------------------------------------------
    def _acquisition(self, model: GaussianProcess, points: np.ndarray, best: float) -> np.ndarray:
        mean, std = model.predict(points)
        if self.acquisition == "ucb":
            return lower_confidence_bound(mean, std, self.beta)[0]
        return log_expected_improvement(mean, std, best)[0]

    def _acquisition_with_gradient(
        self, model: GaussianProcess, points: np.ndarray, best: float
    ) -> tuple[np.ndarray, np.ndarray]:
        mean, std, mean_gradient, std_gradient = model.predict_with_gradient(points)
        if self.acquisition == "ucb":
            value, by_mean, by_std = lower_confidence_bound(mean, std, self.beta)
        else:
            value, by_mean, by_std = log_expected_improvement(mean, std, best)
        gradient = by_mean[:, None] * mean_gradient + by_std[:, None] * std_gradient
        return value, gradient

    def _candidates(
        self,
        model: GaussianProcess,
        codec: SpaceCodec,
        inputs: np.ndarray,
        targets: np.ndarray,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Points worth scoring and their acquisition values.

        The points are random ones, perturbations of the best trials, and the best of those
        refined by L-BFGS-B and a sweep over discrete values.
        """
        best = float(targets.min())
        # Scoring a candidate costs O(n): fewer random candidates as the data grows.
        count = int(np.clip(self.candidate_budget // max(len(targets), 1), 256, 2048))
        random_points = codec.sample(rng, count)
        leaders = inputs[np.argsort(targets, kind="stable")[:5]]
        local = self._perturb(codec, leaders, rng)
        points = np.vstack([random_points, local])
        values = self._acquisition(model, points, best)
        # Refine the best candidates overall and the best random ones, so that the refinement
        # does not only polish the neighbourhood of the best trial.
        half = max(self.refined_candidates // 2, 1)
        overall = np.argsort(-values, kind="stable")[: self.refined_candidates]
        exploring = np.argsort(-values[:count], kind="stable")[:half]
        starts = np.unique(points[np.r_[overall, exploring]], axis=0)
        refined = self._refine_continuous(model, codec, starts, best)
        refined, changed = self._sweep_discrete(model, codec, refined, best)
        if changed.any():  # new discrete values: their continuous optimum may have moved
            refined[changed] = self._refine_continuous(model, codec, refined[changed], best)
        refined_values = self._acquisition(model, refined, best)
        return np.vstack([refined, points]), np.r_[refined_values, values]

    def _perturb(
        self, codec: SpaceCodec, leaders: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        count = self.local_candidates
        points = np.repeat(leaders, count, axis=0)
        scales = rng.choice([0.01, 0.05, 0.2], size=(len(points), 1))
        change = rng.random((len(points), len(codec.dimensions))) < max(
            0.5, 2.0 / max(len(codec.dimensions), 1)
        )
        for position, dimension in enumerate(codec.dimensions):
            moved = change[:, position]
            if dimension.kind is DimensionKind.CATEGORICAL:
                flip = moved & (rng.random(len(points)) < 0.3)
                block = np.zeros((int(flip.sum()), dimension.width))
                block[np.arange(len(block)), rng.integers(dimension.width, size=len(block))] = 1
                points[
                    np.ix_(flip, np.arange(dimension.start, dimension.start + dimension.width))
                ] = block
            else:
                noise = rng.normal(size=len(points)) * scales[:, 0]
                points[moved, dimension.start] += noise[moved]
        return codec.project(np.clip(points, 0.0, 1.0))

    def _refine_continuous(
        self, model: GaussianProcess, codec: SpaceCodec, starts: np.ndarray, best: float
    ) -> np.ndarray:
        """L-BFGS-B on the continuous, active columns of every start at once."""
        from scipy.optimize import minimize

        free = codec.continuous_mask
        if not free.any() or not len(starts):
            return starts
        movable = codec.active_mask(starts) & free
        base = starts.copy()
        columns = np.flatnonzero(free)

        def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
            points = base.copy()
            points[:, columns] = flat.reshape(len(base), len(columns))
            value, gradient = self._acquisition_with_gradient(model, points, best)
            gradient = np.where(movable, gradient, 0.0)[:, columns]
            return -float(value.sum()), -gradient.ravel()

        start = base[:, columns].ravel()
        result = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * len(start),
            options={"maxiter": self.refine_iterations},
        )
        refined = base.copy()
        refined[:, columns] = np.clip(result.x, 0.0, 1.0).reshape(len(base), len(columns))
        refined = codec.project(refined)
        # Keep a start where the joint optimization made it worse (one start can drag others).
        before = self._acquisition(model, starts, best)
        after = self._acquisition(model, refined, best)
        return np.where((after >= before)[:, None], refined, starts)

    def _sweep_discrete(
        self, model: GaussianProcess, codec: SpaceCodec, starts: np.ndarray, best: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Coordinate ascent over the discrete dimensions: try other values, keep the best.

        Returns the points and which of them changed.
        """
        discrete = [d for d in codec.dimensions if d.kind is not DimensionKind.CONTINUOUS]
        points = starts.copy()
        changed = np.zeros(len(points), dtype=bool)
        if not discrete or not len(points):
            return points, changed
        current = self._acquisition(model, points, best)
        rows = np.arange(len(points))
        for _ in range(2):
            improved = False
            for dimension in discrete:
                if dimension.count <= 16:  # every value
                    choices = np.tile(np.arange(dimension.count), (len(points), 1))
                else:  # the nine nearest buckets
                    units = points[:, dimension.start]
                    here = np.minimum((units * dimension.count).astype(int), dimension.count - 1)
                    window = here[:, None] + np.arange(-4, 5)[None, :]
                    choices = np.clip(window, 0, dimension.count - 1)
                width = choices.shape[1]
                variants = np.repeat(points, width, axis=0)
                flat = choices.ravel()
                if dimension.kind is DimensionKind.CATEGORICAL:
                    variants[:, dimension.columns] = np.eye(dimension.width)[flat]
                else:
                    variants[:, dimension.start] = (flat + 0.5) / dimension.count
                variants = codec.project(variants)
                scores = self._acquisition(model, variants, best).reshape(len(points), width)
                winners = np.argmax(scores, axis=1)
                better = scores[rows, winners] > current + 1e-12
                if better.any():
                    chosen = variants.reshape(len(points), width, -1)[rows, winners]
                    points[better] = chosen[better]
                    current[better] = scores[rows, winners][better]
                    changed |= better
                    improved = True
            if not improved:
                break
        return points, changed
