"""Tree-structured Parzen estimator (TPE): Bergstra et al. 2011, multivariate and conditional.

TPE splits the trials into the best few ("below") and the rest ("above"), fits a kernel density
to each, draws candidates from the density of the good trials, and proposes the candidate with
the largest ratio ``l(x) / g(x)`` — which maximizes expected improvement under the model.

Two refinements of the original make it strong:

* multivariate densities: each kernel is a product over the hyperparameters, centred on one
  trial, so that the density keeps what values go together (the original treats every
  hyperparameter independently);
* conditional spaces by groups: hyperparameters that appear in exactly the same trials form a
  group and are modelled jointly from those trials only. Groups are visited parents first, so a
  branch's hyperparameters are drawn from the trials that took that branch.

Trials still running count among the bad ones (a "constant liar"), so parallel workers are
pushed apart; failed trials, and trials whose score is NaN or infinite, also count as bad.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tuner.hyperparameters import HyperParameter, HyperParameters
from tuner.objective import is_finite_number
from tuner.oracles.arguments import OracleOptions, takes_oracle_options
from tuner.oracles.base import Proposal, trial_index
from tuner.oracles.model_based import ModelBasedOracle
from tuner.pareto import quality_order
from tuner.space import Dimension, DimensionKind, SpaceCodec, latin_hypercube
from tuner.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11


def default_gamma(count: int) -> int:
    """How many of ``count`` observed trials are "below" (good): 10 %, rounded up, at most 25.

    Example:
        >>> [default_gamma(n) for n in (1, 10, 11, 100, 1000)]
        [1, 1, 2, 10, 25]
    """
    return min(max(math.ceil(0.1 * count), 1), 25)


class ParzenEstimator:
    """A product-kernel density on a group of dimensions, with a uniform prior component.

    Each observation contributes one component, a product of one kernel per dimension.

    Numbers and ordinal values use truncated Gaussian kernels on the unit interval (ordinal
    values get the kernel's mass over their bucket); unordered choices use a kernel that keeps
    most of its mass on the observed value and spreads the rest evenly.

    Args:
        dimensions: The dimensions of the group.
        observations: ``(m, len(dimensions))``: unit values (continuous and ordinal) or value
            indices (categorical), one row per observation.
        prior_weight: The weight of the uniform component, relative to one observation.
        bandwidth_factor: Scale of the Gaussian kernels before shrinking with ``m``.

    Example:
        >>> from tuner.hyperparameters import HyperParameters
        >>> hp = HyperParameters(); _ = hp.Float("x", 0.0, 1.0)
        >>> dimension = SpaceCodec(hp).dimensions[0]
        >>> estimator = ParzenEstimator([dimension], np.array([[0.2], [0.25]]))
        >>> near, far = estimator.log_pdf(np.array([[0.22], [0.9]]))
        >>> bool(near > far)
        True
    """

    def __init__(
        self,
        dimensions: Sequence[Dimension],
        observations: np.ndarray,
        prior_weight: float = 0.5,
        bandwidth_factor: float = 0.07,
    ):
        self.dimensions = list(dimensions)
        self.observations = np.asarray(observations, dtype=float).reshape(-1, len(dimensions))
        count = len(self.observations)
        self.weights = np.r_[np.ones(count), prior_weight]
        self.weights /= self.weights.sum()
        # Scott-like shrinkage with the number of observations and the group's dimension.
        shrink = (count + 1) ** (-1.0 / (len(self.dimensions) + 4))
        self.bandwidths = np.empty(len(self.dimensions))
        self.off_value_mass = np.empty(len(self.dimensions))
        for position, dimension in enumerate(self.dimensions):
            floor = 0.5 / dimension.count if dimension.count else 0.01
            self.bandwidths[position] = min(max(bandwidth_factor * shrink, floor), 1.0)
            if dimension.kind is DimensionKind.CATEGORICAL:
                # The mass a categorical kernel gives to the other values shrinks with the data.
                self.off_value_mass[position] = min(0.5, 1.0 / math.sqrt(count + 1))
            else:
                self.off_value_mass[position] = 0.0

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` draws, in the observations' layout."""
        from scipy.special import ndtr, ndtri

        observed = len(self.observations)
        components = rng.choice(len(self.weights), size=count, p=self.weights)
        from_prior = components == observed
        rows = np.minimum(components, max(observed - 1, 0))
        samples = np.empty((count, len(self.dimensions)))
        for position, dimension in enumerate(self.dimensions):
            centre = self.observations[rows, position] if observed else np.full(count, 0.5)
            if dimension.kind is DimensionKind.CATEGORICAL:
                size = dimension.count
                centre = centre.astype(int)
                # Keep the centre's value, or move to one of the others, uniformly.
                other = rng.integers(max(size - 1, 1), size=count)
                other = other + (other >= centre)
                moved = rng.random(count) < self.off_value_mass[position]
                values = np.where(moved & (size > 1), other, centre)
                samples[:, position] = np.where(from_prior, rng.integers(size, size=count), values)
                continue
            sigma = self.bandwidths[position]
            low, high = ndtr((0.0 - centre) / sigma), ndtr((1.0 - centre) / sigma)
            drawn = centre + sigma * ndtri(low + rng.random(count) * (high - low))
            drawn = np.where(from_prior, rng.random(count), drawn)
            samples[:, position] = np.clip(drawn, 0.0, 1.0)
        return samples

    def log_pdf(self, points: np.ndarray) -> np.ndarray:
        """Log density (log probability for discrete dimensions) of each row of ``points``."""
        from scipy.special import logsumexp, ndtr

        points = np.atleast_2d(points)
        observed = len(self.observations)
        # log K(point | component), summed over dimensions: (points, components).
        total = np.zeros((len(points), observed))
        prior_total = np.zeros(len(points))
        for position, dimension in enumerate(self.dimensions):
            column = points[:, position][:, None]
            centres = self.observations[:, position][None, :]
            if dimension.kind is DimensionKind.CATEGORICAL:
                size = dimension.count
                off = self.off_value_mass[position]
                same = np.log(1.0 - off) if size > 1 else 0.0
                other = np.log(off / (size - 1)) if size > 1 and off > 0 else -np.inf
                total += np.where(column == centres, same, other)
                prior_total += -math.log(size)
                continue
            sigma = self.bandwidths[position]
            norm = ndtr((1.0 - centres) / sigma) - ndtr((0.0 - centres) / sigma)
            if dimension.kind is DimensionKind.ORDINAL:
                size = dimension.count
                bucket = np.minimum(np.floor(column * size), size - 1)
                mass = ndtr((((bucket + 1) / size) - centres) / sigma) - ndtr(
                    ((bucket / size) - centres) / sigma
                )
                total += np.log(np.maximum(mass / norm, 1e-300))
                prior_total += -math.log(size)
            else:
                z = (column - centres) / sigma
                total += (
                    -0.5 * z * z - math.log(sigma) - 0.5 * math.log(2 * math.pi) - np.log(norm)
                )
        stacked = np.hstack([total, prior_total[:, None]])
        return logsumexp(stacked + np.log(self.weights)[None, :], axis=1)


class ParzenSampling:
    """How TPE draws a value set from good and bad trials, shared with BOHB.

    The class using it provides ``hyperparameters``, ``gamma``, ``candidates``,
    ``prior_weight`` and an empty ``_places_cache`` dict.

    Example:
        >>> from tuner.oracles.tpe import TPEOracle
        >>> issubclass(TPEOracle, ParzenSampling)
        True
    """

    #: Scale of the Gaussian kernels (on the unit interval) before shrinking with the data.
    bandwidth_factor: ClassVar[float] = 0.07
    hyperparameters: HyperParameters
    gamma: Callable[[int], int]
    candidates: int
    prior_weight: float
    _places_cache: dict[str, dict[str, float]]

    def _sample(
        self,
        codec: SpaceCodec,
        ranked: list[Trial],
        scored: int,
        running: list[Trial],
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        """Values drawn group by group, parents first, each group from its own densities."""
        groups = self._groups(codec, ranked + running)
        usable = {t.trial_id for t in ranked[:scored]}
        chosen: dict[str, Any] = {}

        def choose(hp: HyperParameter) -> Any:
            key = codec.dimension_of(hp).key
            if key not in chosen:
                group = groups[key]
                members = [t for t in ranked if all(self._has(codec, d, t) for d in group)]
                good_count = sum(t.trial_id in usable for t in members)
                count = min(max(int(self.gamma(len(members))), 1), good_count)
                below, above = members[:count], members[count:] + running
                chosen.update(self._sample_group(codec, group, below, above, rng))
            return chosen[key]

        return self.hyperparameters.sample_values(choose)

    @staticmethod
    def _has(codec: SpaceCodec, dimension: Dimension, trial: Trial) -> bool:
        """Whether the trial has a value for the dimension.

        A name with several dimensions (different settings in different conditional branches)
        counts only for the dimension of its active entry.
        """
        if dimension.name not in trial.values:
            return False
        if len(codec.dimensions_of(dimension.name)) == 1:
            return True
        return codec.active_dimension(dimension.name, trial.values) is dimension

    @classmethod
    def _groups(cls, codec: SpaceCodec, trials: list[Trial]) -> dict[str, list[Dimension]]:
        """Dimensions that appear in exactly the same trials, by the key of each member."""
        by_presence: dict[tuple[str, ...], list[Dimension]] = {}
        for dimension in codec.dimensions:
            present = tuple(t.trial_id for t in trials if cls._has(codec, dimension, t))
            by_presence.setdefault(present, []).append(dimension)
        return {d.key: group for group in by_presence.values() for d in group}

    def _sample_group(
        self,
        codec: SpaceCodec,
        group: list[Dimension],
        below: list[Trial],
        above: list[Trial],
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        good = self._layout(codec, group, below)
        bad = self._layout(codec, group, above)
        if not len(good):  # no good trial has these hyperparameters: draw them uniformly
            draws = ParzenEstimator(group, good, self.prior_weight).sample(rng, 1)
            return self._values(group, draws[0])
        draws, ratio = self._scored_draws(group, good, bad, rng)
        return self._values(group, draws[int(np.argmax(ratio))])

    def _scored_draws(
        self, group: list[Dimension], good: np.ndarray, bad: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """``candidates`` draws from the good trials' density, and their log density ratio."""
        good_density = ParzenEstimator(group, good, self.prior_weight, self.bandwidth_factor)
        bad_density = ParzenEstimator(group, bad, self.prior_weight, self.bandwidth_factor)
        draws = good_density.sample(rng, self.candidates)
        return draws, good_density.log_pdf(draws) - bad_density.log_pdf(draws)

    def _layout(
        self, codec: SpaceCodec, group: list[Dimension], trials: list[Trial]
    ) -> np.ndarray:
        """The group's values in these trials (those that have them all), as estimator rows."""
        rows = []
        for trial in trials:
            places = self._places(codec, trial, group)
            row = [places.get(dimension.key) for dimension in group]
            if None not in row:
                rows.append(row)
        return np.array(rows, dtype=float).reshape(len(rows), len(group))

    def _places(self, codec: SpaceCodec, trial: Trial, group: list[Dimension]) -> dict[str, float]:
        """A trial's unit values (value indices for one-hot dimensions), cached once finished.

        Illegal or missing values are left out. A running trial's values may still grow (its
        build meets new hyperparameters), so they are read afresh.
        """
        if trial.status.is_finished:
            places = self._places_cache.setdefault(trial.trial_id, {})
        else:
            places = {}
        for dimension in group:
            if dimension.key in places or not self._has(codec, dimension, trial):
                continue
            value = trial.values[dimension.name]
            if dimension.kind is DimensionKind.CATEGORICAL:
                place: float | None = dimension.index_of(value)
            else:
                place = dimension.unit_of(value)
            if place is not None:
                places[dimension.key] = float(place)
        return places

    @staticmethod
    def _values(group: list[Dimension], row: np.ndarray) -> dict[str, Any]:
        values = {}
        for dimension, place in zip(group, row, strict=True):
            if dimension.kind is DimensionKind.CATEGORICAL:
                values[dimension.key] = dimension.values[int(place)]  # type: ignore[index]
            else:
                values[dimension.key] = dimension.value_at(float(place))
        return values


@takes_oracle_options()
class TPEOracle(ParzenSampling, ModelBasedOracle):
    """Tree-structured Parzen estimator search (Bergstra et al. 2011), multivariate.

    With a list objective it is multi-objective TPE: the good trials are the first of the
    non-dominated sorting (crowding distance breaking ties within a front). With constraints,
    feasible trials always rank before infeasible ones, the least violating first.

    The first ``num_initial_points`` trials follow a space-filling Latin hypercube; each later
    trial draws ``candidates`` value sets from the density of the best trials and keeps the one
    most likely under it relative to the density of the others. Works on every hyperparameter
    type and on conditional spaces; never proposes a value set already tried or running, and
    stops when a finite space is exhausted. Proposals depend only on the seed, the trial id and
    the trials, so a resumed search continues exactly as an uninterrupted one.

    Args:
        objective: See :class:`~tuner.oracles.Oracle`.
        max_trials: How many trials to run. Defaults to 10.
        num_initial_points: Space-filling trials before the densities are used. Defaults to 10.
        candidates: Value sets drawn from the good trials' density per proposal. Defaults to 24.
        gamma: ``gamma(n)`` is how many of ``n`` finished trials count as good. Defaults to
            :func:`default_gamma` (10 %, at most 25).
        prior_weight: Weight of the uniform component of each density, relative to one trial.

    Example:
        >>> oracle = TPEOracle(objective="loss", max_trials=30, seed=0)
        >>> oracle.hyperparameters.Float("x", -2.0, 2.0)
        -2.0
        >>> for _ in range(30):
        ...     trial = oracle.create_trial("worker")
        ...     _ = oracle.update_trial(trial.trial_id, {"loss": (trial.values["x"] - 0.5) ** 2})
        ...     trial.status = "COMPLETED"; oracle.end_trial(trial)
        >>> abs(oracle.get_best_trials()[0].values["x"] - 0.5) < 0.1
        True
    """

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = 10,
        *,
        num_initial_points: int = 10,
        candidates: int = 24,
        gamma: Any = None,
        prior_weight: float = 0.5,
        **options: Unpack[OracleOptions],
    ) -> None:
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            **options,
        )
        for name, value in (
            ("num_initial_points", num_initial_points),
            ("candidates", candidates),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if gamma is not None and not callable(gamma):
            raise ValueError(f"gamma must be a function of the trial count, got {gamma!r}.")
        if not is_finite_number(prior_weight) or prior_weight <= 0:
            raise ValueError(f"prior_weight must be a positive number, got {prior_weight!r}.")
        self.num_initial_points = num_initial_points
        self.candidates = candidates
        self.gamma = gamma or default_gamma
        self.prior_weight = float(prior_weight)
        self._designs: dict[int, np.ndarray] = {}
        self._places_cache: dict[str, dict[str, float]] = {}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            num_initial_points=self.num_initial_points,
            candidates=self.candidates,
            prior_weight=self.prior_weight,
        )
        return config

    # --- proposals -------------------------------------------------------------------------------
    def _propose(self, trial_id: str) -> Proposal:
        codec = self._codec()
        if not codec.dimensions:
            values = codec.decode(np.empty(0))
            return Proposal.stop() if self._is_duplicate(values) else Proposal.run(values)
        pool = self._untried_pool(codec)
        if pool is not None and not pool:
            return Proposal.stop()
        index = trial_index(trial_id)
        ranked, scored, running = self._ranked()
        if index < self.num_initial_points or not scored:
            design = self._initial_design(len(codec.dimensions))
            if index < len(design):
                values = codec.decode(codec.from_units(design[index : index + 1])[0])
                if not self._is_duplicate(values):
                    return Proposal.run(values)
        for attempt in range(self.max_collisions):
            rng = self._rng(trial_id, "tpe", attempt)
            if scored:
                values = self._sample(codec, ranked, scored, running, rng)
            else:
                values = codec.decode(codec.sample(rng, 1)[0])
            if not self._is_duplicate(values):
                return Proposal.run(values)
            if pool is not None:  # a small finite space: pick an untried value set instead
                return Proposal.run(pool[int(rng.integers(len(pool)))])
        return Proposal.stop()

    def _initial_design(self, dimensions: int) -> np.ndarray:
        """The space-filling design of the first trials: a function of the seed and the space."""
        if dimensions not in self._designs:
            words = [self._seed, dimensions, 0x7E5]
            self._designs[dimensions] = latin_hypercube(
                np.random.default_rng(np.random.SeedSequence(words)),
                self.num_initial_points,
                dimensions,
            )
        return self._designs[dimensions]

    def _ranked(self) -> tuple[list[Trial], int, list[Trial]]:
        """Finished trials (best first, unscored last), the count of scored ones, running ones."""
        finished = [t for t in self.trials.values() if t.status.is_finished]
        scored = [
            t
            for t in finished
            if t.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED)
            and is_finite_number(t.score)
        ]
        # Several objectives: by non-dominated rank (MOTPE); constraints: feasible first.
        scored = quality_order(self.objective, scored, self.constraints)
        known = {t.trial_id for t in scored}
        failed = sorted(
            (t for t in finished if t.trial_id not in known), key=lambda t: trial_index(t.trial_id)
        )
        running = sorted(
            (t for t in self.trials.values() if t.status == TrialStatus.RUNNING),
            key=lambda t: trial_index(t.trial_id),
        )
        return scored + failed, len(scored), running
