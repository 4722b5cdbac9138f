"""Hyperparameter importance: how much of the objective's variation each hyperparameter explains.

:func:`importance` (``kt.importance``) fits a random forest (scikit-learn's
``RandomForestRegressor``) that predicts the objective from the hyperparameter values of the
completed trials, then decomposes each tree's prediction by functional ANOVA
(:mod:`tuner.fanova`): the importance of a hyperparameter is the share of the tree's variance
that its main effect explains (the variation of the prediction along that hyperparameter alone,
averaged over all the others), averaged over the trees, and normalised to sum to 1.

How the hyperparameters become the forest's inputs, one factor per hyperparameter:

- Every value goes through its hyperparameter's own map to the unit interval
  (``value_to_unit``), and the forest's variance is measured under the uniform measure on
  ``[0, 1]``: the distribution random search draws from. So a log-sampled ``Float`` is
  uniform in log space, and each of the ``k`` values of an ``Int``, ``Choice`` or ``Boolean``
  owns ``1/k`` of the interval.
- An unordered ``Choice`` of three values or more (a categorical one: ``"relu"`` is no closer
  to ``"tanh"`` than to ``"gelu"``) becomes ``k`` one-hot columns, as
  :class:`~tuner.space.SpaceCodec` lays it out, so that a tree isolates any one value with one
  split. The decomposition still treats the ``k`` columns as one factor, with the measure
  ``1/k`` on each of the ``k`` one-hot points (never on points with no value or several), so
  the importance is that of the hyperparameter, not a sum over its columns (which would leave
  out the interactions between them). One input of integer codes instead would need two splits
  to isolate a middle value, and with a few hundred trials it measurably lost part of the
  choice's effect. A ``Boolean`` or a two-valued ``Choice`` is one column (one split separates
  its values), an ordered ``Choice`` one column in its order.
- A conditional hyperparameter that is inactive in a trial (its condition does not hold) takes
  a random value there, drawn uniformly from the unit interval (seeded by ``seed``). Coding
  "inactive" as a value of its own would let the forest split on it in place of the parent:
  then every hyperparameter of a branch, even one that does nothing, shares the parent's
  importance. With random values, the choice of the branch is explained by the parent alone,
  and a hyperparameter's importance is its effect within its branch, averaged over the space
  (an effect in a branch taken by half of the space counts half).
- ``Fixed`` hyperparameters, those that took one value in every trial used, and the budget
  bookkeeping of multi-fidelity oracles (names starting with ``tuner/``, e.g. Hyperband's
  ``tuner/epochs``) take no input.

The forest has 64 trees of depth at most 64 by default (those of Optuna's fANOVA evaluator);
``seed`` makes it deterministic. Only COMPLETED trials with a finite value of the objective are
used. With a multi-objective search (a list of objectives), each objective gets its own forest
and importances; a trial's value of one objective is the one its score was computed from.

scikit-learn is needed (``pip install "tuner[importance]"``); ``import tuner`` does not import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuner.errors import ImportanceError, InvalidArgumentError, MissingDependencyError
from tuner.execution.scoring import mean_metrics
from tuner.fanova import Factor, TreeArrays, forest_main_effects
from tuner.hyperparameters import Choice, Fixed, HyperParameter
from tuner.objective import MultiObjective, Objective, is_finite_number
from tuner.results import SearchResults, as_search_results
from tuner.trial import Trial, TrialStatus

#: Prefix of the budget bookkeeping values multi-fidelity oracles add to a trial.
BOOKKEEPING_PREFIX = "tuner/"
#: Default number of trees of the forest.
DEFAULT_TREES = 64
#: Default maximum depth of its trees.
DEFAULT_MAX_DEPTH = 64


@dataclass(frozen=True)
class _Target:
    """One objective to explain: its name, and the trials with a finite value of it."""

    name: str
    trials: tuple[Trial, ...]
    values: np.ndarray


@dataclass(frozen=True)
class _Input:
    """One hyperparameter as a factor of the forest's inputs.

    Its codes are unit-interval images (one column), or, for a categorical one, the positions
    of its values among the ``categories`` (as many one-hot columns); random where inactive.
    """

    name: str
    codes: np.ndarray  # (trials,)
    categories: int = 0

    def columns(self) -> np.ndarray:
        """Its columns of the forest's inputs: ``(trials, 1)``, or one-hot ``(trials, k)``."""
        if not self.categories:
            return self.codes[:, None]
        return (self.codes[:, None] == np.arange(self.categories)[None, :]).astype(float)


# --- the objectives ------------------------------------------------------------------------------
def _metric_value(trial: Trial, name: str, *, last: bool) -> float | None:
    """A trial's value of a metric, by the rule its score follows (execution.scoring)."""
    if trial.executions:
        return mean_metrics(trial.executions).get(name)
    if last:  # a multi-objective score combines the values at the last step
        return trial.metrics.get_last_value(name)
    return trial.metrics.get_best_value(name)


def _target(name: str, trials: Sequence[Trial], metric: str | None, *, last: bool) -> _Target:
    """The trials with a finite value of a metric (None: their score), and those values."""
    kept, values = [], []
    for trial in trials:
        value = trial.score if metric is None else _metric_value(trial, metric, last=last)
        if is_finite_number(value):
            kept.append(trial)
            values.append(float(value))  # type: ignore[arg-type]
    return _Target(name, tuple(kept), np.array(values, dtype=float))


def _targets(results: SearchResults, objective: str | Objective | None) -> list[_Target]:
    """The objectives to explain: every objective of the search, or the one asked for."""
    search_objective = results.objective
    completed = [t for t in results.trials if t.status == TrialStatus.COMPLETED]
    multi = isinstance(search_objective, MultiObjective)
    objectives = list(search_objective.objectives) if multi else [search_objective]  # type: ignore[union-attr]
    if objective is None:
        if not multi:
            return [_target(search_objective.name, completed, None, last=False)]
        return [_target(o.name, completed, o.name, last=True) for o in objectives]
    if isinstance(objective, Objective):
        objective = objective.name
    if not isinstance(objective, str):
        raise InvalidArgumentError(
            f"objective must be an objective's name or a kt.Objective, got {objective!r}."
        )
    if objective == search_objective.name:  # the score (a multi-objective's combined one)
        return [_target(objective, completed, None, last=False)]
    if any(o.name == objective for o in objectives):
        return [_target(objective, completed, objective, last=True)]
    logged = sorted({name for trial in completed for name in trial.metrics.metrics})
    logged += sorted(
        {name for t in completed for record in t.executions for name in record.metrics}
        - set(logged)
    )
    if objective in logged:  # any other metric the trials logged
        return [_target(objective, completed, objective, last=False)]
    names = [o.name for o in objectives] + ([search_objective.name] if multi else [])
    others = [name for name in logged if name not in names]
    listed = f"; other logged metrics: {', '.join(others)}." if others else "."
    raise InvalidArgumentError(
        f"No objective {objective!r} in this search: its objectives are {', '.join(names)}{listed}"
    )


# --- the inputs ----------------------------------------------------------------------------------
def _unit_map(hp: HyperParameter) -> Callable[[Any], float | None]:
    """The hyperparameter's unit-interval image of a value (None when illegal), memoised."""
    cache: dict[tuple[type, Any], float | None] = {}

    def unit(value: Any) -> float | None:
        key = (type(value), value)
        if key not in cache:
            cache[key] = float(hp.value_to_unit(value)) if hp.contains(value) else None
        return cache[key]

    return unit


def _is_categorical(hp: HyperParameter) -> bool:
    """Unordered choices of three values or more, as :class:`tuner.space.SpaceCodec` has it."""
    return isinstance(hp, Choice) and not hp.ordered and len(hp.values) > 2


def _category_codes(hp: Choice, values: Sequence[Any]) -> list[float | None] | None:
    """Each value's position among the choice's values; None when one is not a value of it."""
    positions: dict[tuple[type, Any], int] = {}
    codes: list[float | None] = []
    for value in values:
        if value is None:
            codes.append(None)
            continue
        key = (type(value), value)
        if key not in positions:
            if not hp.contains(value):
                return None
            positions[key] = hp.values.index(value)
        codes.append(float(positions[key]))
    return codes


def _observed_codes(values: Sequence[Any]) -> tuple[list[float | None], int]:
    """Codes of the values of a name the space does not describe (or no longer describes).

    Numbers are scaled linearly onto ``[0, 1]``; anything else is a category, in sorted order.
    """
    present = [v for v in values if v is not None]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        low, high = min(present), max(present)
        span = high - low
        return [None if v is None else (v - low) / span if span else 0.5 for v in values], 0
    categories = sorted({(type(v).__name__, repr(v)) for v in present})
    index = {category: k for k, category in enumerate(categories)}
    positions = [None if v is None else index[(type(v).__name__, repr(v))] for v in values]
    if len(categories) > 2:
        return [None if k is None else float(k) for k in positions], len(categories)
    return [None if k is None else (k + 0.5) / len(categories) for k in positions], 0


def _codes(
    values: Sequence[Any], entries: Sequence[HyperParameter]
) -> tuple[list[float | None], int]:
    """``(codes, categories)``: unit-interval codes (``categories`` 0), or category positions."""
    if entries and _is_categorical(entries[0]):
        lead = entries[0]
        assert isinstance(lead, Choice)
        codes = _category_codes(lead, values)
        if codes is not None:
            return codes, len(lead.values)
        return _observed_codes(values)
    maps = [_unit_map(entry) for entry in entries]
    units: list[float | None] = []
    for value in values:
        unit = None
        if value is not None:
            # Several entries: the branches of a conditional scope, each with its own range.
            unit = next((u for u in (m(value) for m in maps) if u is not None), None)
            if unit is None:  # a value the space does not hold (the space changed since)
                return _observed_codes(values)
        units.append(unit)
    return units, 0


def _input(
    name: str,
    entries: Sequence[HyperParameter],
    trials: Sequence[Trial],
    rng: np.random.Generator,
) -> _Input | None:
    """The input of one hyperparameter, or None when it took one value only where active."""
    found, categories = _codes([trial.values.get(name) for trial in trials], entries)
    inactive = np.array([code is None for code in found])
    codes = np.array([0.0 if code is None else code for code in found])
    if len(np.unique(codes[~inactive])) < 2:
        return None  # one value wherever active: nothing to tell apart within its branch
    missing = int(inactive.sum())
    codes[inactive] = rng.integers(0, categories, missing) if categories else rng.random(missing)
    return _Input(name, codes, categories)


def _inputs(
    results: SearchResults,
    trials: Sequence[Trial],
    names: Sequence[str] | None,
    rng: np.random.Generator,
) -> list[_Input]:
    entries: dict[str, list[HyperParameter]] = {}
    for hp in results.hyperparameters.space:
        entries.setdefault(hp.name, []).append(hp)
    candidates = names if names is not None else results.hyperparameter_names
    inputs = []
    for name in candidates:
        if names is None and name.startswith(BOOKKEEPING_PREFIX):
            continue
        known = entries.get(name, [])
        tunable = [hp for hp in known if not isinstance(hp, Fixed)]
        if known and not tunable:
            continue
        made = _input(name, tunable, trials, rng)
        if made is not None:
            inputs.append(made)
    return inputs


# --- the forest ----------------------------------------------------------------------------------
def _forest_class() -> Any:
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError:
        raise MissingDependencyError(
            "kt.importance() needs the optional package 'scikit-learn', which is not installed. "
            'Install it with `pip install "tuner[importance]"` (or `pip install scikit-learn`).'
        ) from None
    return RandomForestRegressor


def _explain(
    target: _Target,
    results: SearchResults,
    names: Sequence[str] | None,
    forest_options: Mapping[str, Any],
    normalize: bool,
) -> dict[str, float]:
    if len(target.trials) < 2:
        raise ImportanceError(
            f"Hyperparameter importance for {target.name!r} needs at least 2 completed trials "
            f"with a finite value of it; this search has {len(target.trials)}."
        )
    rng = np.random.default_rng(forest_options["random_state"])  # the imputed values
    inputs = _inputs(results, target.trials, names, rng)
    if not inputs:
        raise ImportanceError(
            f"No hyperparameter took two different values among the {len(target.trials)} "
            f"completed trials with a value of {target.name!r}, so there is nothing to rank."
        )
    spread = float(np.ptp(target.values))
    if spread <= 1e-12 * max(1.0, float(np.abs(target.values).max())):
        raise ImportanceError(
            f"{target.name!r} took the same value ({target.values[0]:g}) in all "
            f"{len(target.trials)} completed trials, so no hyperparameter explains any of it."
        )
    blocks = [made.columns() for made in inputs]
    factors, start = [], 0
    for made, block in zip(inputs, blocks, strict=True):
        width = block.shape[1]
        factors.append(Factor(tuple(range(start, start + width)), categorical=made.categories > 0))
        start += width
    features = np.hstack(blocks)
    forest = _forest_class()(**forest_options).fit(features, target.values)
    bounds = np.tile([0.0, 1.0], (features.shape[1], 1))  # one-hot columns too
    trees = [TreeArrays.of(estimator.tree_) for estimator in forest.estimators_]
    shares = forest_main_effects(trees, bounds, factors)
    mean = shares.mean(axis=0) if len(shares) else np.zeros(len(inputs))
    if normalize:
        total = float(mean.sum())
        # Pure interactions (no hyperparameter matters alone): nothing to tell them apart.
        mean = mean / total if total > 0 else np.full(len(inputs), 1.0 / len(inputs))
    order = sorted(range(len(inputs)), key=lambda k: -mean[k])
    return {inputs[k].name: float(mean[k]) for k in order}


def importance(
    tuner_or_results: Any,
    objective: str | Objective | None = None,
    *,
    seed: int | None = 0,
    hyperparameters: Sequence[str] | None = None,
    n_trees: int = DEFAULT_TREES,
    max_depth: int | None = DEFAULT_MAX_DEPTH,
    min_samples_leaf: int = 1,
    normalize: bool = True,
) -> dict[str, float] | dict[str, dict[str, float]]:
    """How much of the objective's variation each hyperparameter explains (fANOVA).

    See :mod:`tuner.hyperparameter_importance` for the method and how hyperparameters are
    encoded (log scales, choices, conditional ones). Reads the search only: a project directory
    is parsed read-only, as :func:`tuner.results.read_project` does.

    Args:
        tuner_or_results: A tuner, an oracle, a project directory,
            :class:`~tuner.results.SearchResults`, the DataFrame of ``results_dataframe()`` /
            ``kt.load_results()``, or a list of trials.
        objective: For a multi-objective search, the objective to explain (a name or a
            :class:`~tuner.Objective`); None explains each. Also accepted: the search's own
            objective, ``"multi_objective"`` for the combined score, and any metric the trials
            logged.
        seed: Seed of the random forest; None draws one.
        hyperparameters: The hyperparameters to rank (default: every tuned one).
        n_trees: Trees of the forest.
        max_depth: Their maximum depth (None: unlimited).
        min_samples_leaf: The fewest trials in a leaf.
        normalize: True (default): importances sum to 1. False: each is the share of the
            forest's variance its main effect explains, and 1 minus their sum is the share of
            interactions.

    Returns:
        ``{hyperparameter name: importance}``, most important first; for a multi-objective
        search and ``objective=None``, ``{objective name: {hyperparameter name: importance}}``.

    Raises:
        ImportanceError: Fewer than 2 completed trials with a value of the objective, no
            hyperparameter took two values among them, or the objective took one value only.
        InvalidArgumentError: ``objective`` or a name in ``hyperparameters`` is not in the
            search.
        MissingDependencyError: scikit-learn is not installed.

    Example:
        >>> import tuner as kt
        >>> class Quadratic(kt.BaseTuner):
        ...     def run_trial(self, trial, *args, **kwargs):
        ...         hp = trial.hyperparameters
        ...         x, y = hp.Float("x", -1.0, 1.0), hp.Float("y", -1.0, 1.0)
        ...         return 4 * x**2 + 0.1 * y
        >>> search = Quadratic(kt.oracles.RandomSearchOracle(max_trials=40, seed=0),
        ...     directory="runs", project_name="quadratic")
        >>> search.search(verbose=0)
        >>> {name: round(value, 1) for name, value in kt.importance(search).items()}
        {'x': 1.0, 'y': 0.0}
    """
    results = as_search_results(tuner_or_results)
    if hyperparameters is not None:
        if isinstance(hyperparameters, str):
            hyperparameters = [hyperparameters]
        known = results.hyperparameter_names
        unknown = [name for name in hyperparameters if name not in known]
        if unknown:
            raise InvalidArgumentError(
                f"No hyperparameter {', '.join(map(repr, unknown))} in this search; its "
                f"hyperparameters are: {', '.join(known) or '(none)'}."
            )
    for argument, value in (("n_trees", n_trees), ("min_samples_leaf", min_samples_leaf)):
        if not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(f"{argument} must be a positive integer, got {value!r}.")
    forest_options = {
        "n_estimators": n_trees,
        "max_depth": max_depth,
        "min_samples_leaf": min_samples_leaf,
        "random_state": seed,
    }
    targets = _targets(results, objective)
    explained = {
        target.name: _explain(target, results, hyperparameters, forest_options, normalize)
        for target in targets
    }
    if objective is None and isinstance(results.objective, MultiObjective):
        return explained
    return next(iter(explained.values()))
