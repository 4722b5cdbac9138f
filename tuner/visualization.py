"""Pictures of a search: its history, heat-maps, curves, Pareto front and importances.

Every function takes the search's results in any of these forms: a tuner, the DataFrame of
``tuner.results_dataframe()`` or ``kt.load_results(...)`` (only its rows' trials are drawn, so a
filtered DataFrame draws a subset), a project directory path, or a
:class:`~tuner.results.SearchResults`. Each returns a ``matplotlib.figure.Figure`` made without
pyplot (so no global figure state builds up); save it with ``fig.savefig("history.png")``.

matplotlib is optional: ``pip install matplotlib`` (or ``tuner[plot]``).

Readable defaults: axes are labelled with the hyperparameter and metric names and say which way
is better, log-sampled hyperparameters get log axes, and the best trial is drawn in red.

Example:
    >>> from tuner import visualization
    >>> fig = visualization.plot_heatmap("runs/mlp", x="batch_size", y="dropout")
    >>> fig.savefig("heatmap.png")
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from tuner.display import format_value
from tuner.errors import missing_dependency
from tuner.hyperparameters import Boolean, Choice, Fixed, Float, Int
from tuner.objective import MultiObjective, Objective, is_finite_number
from tuner.results import SearchResults, as_search_results
from tuner.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Colour of the best trial in every figure.
BEST_COLOR = "crimson"
#: Above this many distinct values, a numeric hyperparameter's heat-map axis is binned.
MAX_HEATMAP_CELLS = 12
#: Number of bins of a binned heat-map axis.
HEATMAP_BINS = 8
#: Where a parallel-coordinates line crosses the axis of a hyperparameter inactive in its trial.
INACTIVE_POSITION = -0.12


# --- inputs --------------------------------------------------------------------------------------
def check_hyperparameter(results: SearchResults, name: str) -> None:
    """Raises ValueError naming ``name`` and the known names when the search has no such hp."""
    known = results.hyperparameter_names
    if name not in known:
        raise ValueError(
            f"No hyperparameter {name!r} in this search; its hyperparameters are: "
            f"{', '.join(known) or '(none)'}."
        )


def _new_figure(figsize: tuple[float, float], dpi: float) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise missing_dependency("matplotlib", "tuner.visualization", "plot") from None
    return Figure(figsize=figsize, dpi=dpi, layout="constrained")


def _better(results: SearchResults) -> str:
    return "higher is better" if results.objective.direction == "max" else "lower is better"


def _score_colormap(results: SearchResults) -> str:
    """viridis, reversed for minimized objectives, so that better is always brighter."""
    return "viridis" if results.objective.direction == "max" else "viridis_r"


def _trial_number(trial: Trial, position: int) -> int:
    try:
        return int(trial.trial_id)
    except ValueError:
        return position


def _has_value(trial: Trial, name: str) -> bool:
    return trial.hyperparameters.values.get(name) is not None


# --- one hyperparameter as an axis ---------------------------------------------------------------
@dataclass(frozen=True)
class _HyperparameterAxis:
    """How one hyperparameter is laid out on an axis: ordered categories, or a numeric range."""

    name: str
    categories: tuple[Any, ...] | None = None
    low: float = 0.0
    high: float = 1.0
    log: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} (log scale)" if self.log else self.name

    def transform(self, value: float) -> float:
        return math.log10(value) if self.log else float(value)

    def unit(self, value: Any) -> float:
        """Position of a value in [0, 1] (NaN when the value is missing or unknown)."""
        if value is None:
            return math.nan
        if self.categories is not None:
            if value not in self.categories:
                return math.nan
            count = len(self.categories)
            return 0.5 if count == 1 else self.categories.index(value) / (count - 1)
        low, high = self.transform(self.low), self.transform(self.high)
        if high == low:
            return 0.5
        return (self.transform(value) - low) / (high - low)

    def ticks(self, grid: Sequence[Any] = ()) -> list[tuple[float, str]]:
        """(position in [0, 1], label) pairs along the axis.

        Args:
            grid: The hyperparameter's possible values when there are few (then each is a tick).
        """
        if self.categories is not None:
            step = max(1, math.ceil(len(self.categories) / 12))
            return [(self.unit(v), format_value(v)) for v in self.categories[::step]]
        if 1 < len(grid) <= 12:
            return [(self.unit(v), format_value(v)) for v in grid]
        from matplotlib.ticker import LogLocator, MaxNLocator

        low, high = min(self.low, self.high), max(self.low, self.high)
        if high == low:
            return [(0.5, format_value(low))]
        locator = LogLocator(base=10) if self.log else MaxNLocator(nbins=5)
        span = 1e-9 * (high - low)
        values = [
            float(v) for v in locator.tick_values(low, high) if low - span <= v <= high + span
        ]
        if len(values) < 2:  # a narrow log range holds no power of ten: label its ends
            values = [low, high]
        return [(self.unit(v), format_value(v)) for v in values]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _describe(results: SearchResults, name: str, observed: Sequence[Any]) -> _HyperparameterAxis:
    space = results.hyperparameters
    hp = space.get_hyperparameter(name) if name in space else None
    if isinstance(hp, Choice):
        return _HyperparameterAxis(name, categories=tuple(hp.values))
    if isinstance(hp, Boolean):
        return _HyperparameterAxis(name, categories=(False, True))
    if isinstance(hp, Fixed):
        return _HyperparameterAxis(name, categories=(hp.value,))
    if isinstance(hp, (Int, Float)):
        return _HyperparameterAxis(
            name, low=hp.min_value, high=hp.max_value, log=hp.sampling == "log"
        )
    values = [v for v in observed if v is not None]
    if values and all(_is_number(v) for v in values):  # not in the space (e.g. tuner/epochs)
        return _HyperparameterAxis(name, low=min(values), high=max(values))
    return _HyperparameterAxis(name, categories=tuple(sorted(set(values), key=_value_order)))


# --- optimization history ------------------------------------------------------------------------
def plot_optimization_history(
    results: Any, *, figsize: tuple[float, float] = (8, 5), dpi: float = 100
) -> Figure:
    """Each trial's score, the best score so far, and the best trial.

    Failed trials (no score) are marked with red crosses along the bottom. The score axis is
    logarithmic when the positive scores span more than two orders of magnitude.

    Args:
        results: A tuner, a results DataFrame, a project directory or SearchResults.
        figsize: Size in inches (width, height).
        dpi: Dots per inch; the image is figsize x dpi pixels.

    Returns:
        The figure.
    """
    results = as_search_results(results)
    if not results.trials:
        raise ValueError("The search has no trials yet: there is no history to plot.")
    figure = _new_figure(figsize, dpi)
    ax = figure.add_subplot()
    objective = results.objective
    numbers, scores, failed = [], [], []
    for position, trial in enumerate(results.trials):
        if trial.status == TrialStatus.COMPLETED and is_finite_number(trial.score):
            numbers.append(_trial_number(trial, position))
            scores.append(float(trial.score))
        elif trial.status in (TrialStatus.FAILED, TrialStatus.INVALID):
            failed.append(_trial_number(trial, position))
    if scores:
        ax.scatter(numbers, scores, s=28, color="tab:blue", alpha=0.75, label="trial score")
        running, best_so_far = [], None
        for score in scores:
            if best_so_far is None or objective.better_than(score, best_so_far):
                best_so_far = score
            running.append(best_so_far)
        ax.step(numbers, running, where="post", color="tab:orange", lw=2, label="best so far")
        best = results.best_trial
        assert best is not None
        best_x = numbers[scores.index(best.score)] if best.score in scores else numbers[0]
        ax.scatter(
            [best_x],
            [best.score],
            marker="*",
            s=260,
            color=BEST_COLOR,
            zorder=5,
            label=f"best: trial {best.trial_id} ({objective.name} {format_value(best.score)})",
        )
        positive = [s for s in scores if s > 0]
        if len(positive) == len(scores) and max(scores) / min(scores) > 100:
            ax.set_yscale("log")
    if failed:
        ax.scatter(
            failed,
            [0.03] * len(failed),
            transform=ax.get_xaxis_transform(),  # x in data, y in axes fraction: the bottom
            marker="x",
            s=40,
            color="tab:red",
            label=f"failed ({len(failed)}, no score)",
        )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{objective.name} ({_better(results)})")
    completed = len(scores)
    ax.set_title(
        f"Optimization history: {len(results.trials)} trials, {completed} completed"
        + (f", {len(failed)} failed" if failed else "")
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return figure


# --- heat-map ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Cells:
    """One heat-map axis: cell edges, where each value falls, and tick labels."""

    edges: list[float]
    locate: Callable[[Any], int | None]
    labels: list[str] | None  # categorical axes label each cell; binned ones use numeric ticks
    log: bool
    label: str

    def center(self, index: int) -> float:
        low, high = self.edges[index], self.edges[index + 1]
        return math.sqrt(low * high) if self.log else (low + high) / 2


def _value_order(value: Any) -> tuple[int, float, str]:
    """Numbers by value (ints and floats together), then anything else by its text."""
    if _is_number(value):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _cells(results: SearchResults, name: str, observed: Sequence[Any]) -> _Cells:
    axis = _describe(results, name, observed)
    distinct = sorted(set(observed), key=_value_order)
    if axis.categories is None and len(distinct) > MAX_HEATMAP_CELLS:
        low, high = axis.low, axis.high
        if axis.log:
            ratio = (high / low) ** (1 / HEATMAP_BINS)
            edges = [low * ratio**i for i in range(HEATMAP_BINS + 1)]
        else:
            edges = [low + (high - low) * i / HEATMAP_BINS for i in range(HEATMAP_BINS + 1)]

        def locate_bin(value: Any) -> int | None:
            for index in range(HEATMAP_BINS):
                if value < edges[index + 1] or index == HEATMAP_BINS - 1:
                    return index
            return None

        return _Cells(edges, locate_bin, None, axis.log, axis.label)
    if axis.categories is not None:
        categories = list(axis.categories)
    else:
        hp = results.hyperparameters
        grid = (
            hp.get_hyperparameter(name).grid_values()
            if name in hp and hp.get_hyperparameter(name).is_finite
            else []
        )
        categories = grid if 0 < len(grid) <= MAX_HEATMAP_CELLS else distinct

    def locate_category(value: Any) -> int | None:
        for index, category in enumerate(categories):
            if value == category and isinstance(value, bool) == isinstance(category, bool):
                return index
        return None

    edges = [index - 0.5 for index in range(len(categories) + 1)]
    return _Cells(edges, locate_category, [format_value(c) for c in categories], False, name)


def plot_heatmap(
    results: Any,
    x: str,
    y: str,
    *,
    aggregate: str = "mean",
    figsize: tuple[float, float] = (8, 6),
    dpi: float = 100,
) -> Figure:
    """The score over two hyperparameters, aggregated over the others.

    Each cell holds the ``aggregate`` of the scores of the completed trials whose values fall in
    it (a choice, or a range of a numeric hyperparameter with more than
    ``MAX_HEATMAP_CELLS`` values; log-sampled ones get log-spaced ranges on a log axis). Grey
    cells had no completed trial; the best trial's cell is outlined in red.

    Args:
        results: A tuner, a results DataFrame, a project directory or SearchResults.
        x: The hyperparameter along the horizontal axis.
        y: The hyperparameter along the vertical axis.
        aggregate: ``"mean"`` (default) or ``"best"`` score per cell.
        figsize: Size in inches (width, height).
        dpi: Dots per inch; the image is figsize x dpi pixels.

    Returns:
        The figure.

    Raises:
        ValueError: ``x`` or ``y`` is not a hyperparameter of the search, or no completed trial
            has values for both.
    """
    results = as_search_results(results)
    check_hyperparameter(results, x)
    check_hyperparameter(results, y)
    if x == y:
        raise ValueError(f"x and y are both {x!r}; choose two different hyperparameters.")
    if aggregate not in ("mean", "best"):
        raise ValueError(f'aggregate must be "mean" or "best", got {aggregate!r}.')
    trials = [t for t in results.completed_trials if _has_value(t, x) and _has_value(t, y)]
    if not trials:
        raise ValueError(
            f"No completed trial has values for both {x!r} and {y!r}, so there is nothing to map."
        )
    objective = results.objective
    x_cells = _cells(results, x, [t.values[x] for t in trials])
    y_cells = _cells(results, y, [t.values[y] for t in trials])
    columns, rows = len(x_cells.edges) - 1, len(y_cells.edges) - 1
    scores: dict[tuple[int, int], list[float]] = {}
    for trial in trials:
        column, row = x_cells.locate(trial.values[x]), y_cells.locate(trial.values[y])
        if column is not None and row is not None:
            scores.setdefault((row, column), []).append(float(trial.score))

    def combine(values: list[float]) -> float:
        if aggregate == "mean":
            return sum(values) / len(values)
        return max(values) if objective.direction == "max" else min(values)

    import numpy as np

    grid = np.full((rows, columns), np.nan)
    for (row, column), values in scores.items():
        grid[row, column] = combine(values)
    figure = _new_figure(figsize, dpi)
    ax = figure.add_subplot()
    ax.set_facecolor("0.88")  # cells without a completed trial
    mesh = ax.pcolormesh(
        x_cells.edges,
        y_cells.edges,
        np.ma.masked_invalid(grid),
        cmap=_score_colormap(results),
        edgecolors="white",
        linewidth=1.5,
    )
    figure.colorbar(mesh, ax=ax, label=f"{aggregate} {objective.name} ({_better(results)})")
    _annotate_cells(ax, mesh, grid, scores, x_cells, y_cells)
    for cells, set_scale, set_ticks, set_label in (
        (x_cells, ax.set_xscale, ax.set_xticks, ax.set_xlabel),
        (y_cells, ax.set_yscale, ax.set_yticks, ax.set_ylabel),
    ):
        if cells.log:
            set_scale("log")
        if cells.labels is not None:
            set_ticks(range(len(cells.labels)), cells.labels)
        set_label(cells.label)
    if x_cells.labels is not None and max(len(label) for label in x_cells.labels) > 6:
        ax.tick_params(axis="x", labelrotation=30)
    best = results.best_trial
    subtitle = f"aggregated over the other hyperparameters; {len(trials)} completed trials"
    if len(scores) < rows * columns:
        subtitle += "; grey: no trial"
    if best is not None and any(t.trial_id == best.trial_id for t in trials):
        column, row = x_cells.locate(best.values[x]), y_cells.locate(best.values[y])
        if column is not None and row is not None:
            from matplotlib.patches import Rectangle

            x0, x1 = x_cells.edges[column], x_cells.edges[column + 1]
            y0, y1 = y_cells.edges[row], y_cells.edges[row + 1]
            ax.add_patch(
                Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=BEST_COLOR, lw=3)
            )
            subtitle += (
                f"\nred box: cell of the best trial {best.trial_id} "
                f"({objective.name} {format_value(best.score)})"
            )
    ax.set_title(
        f"{aggregate.capitalize()} {objective.name} by {x} and {y}\n{subtitle}", fontsize=10
    )
    return figure


def _annotate_cells(
    ax: Axes,
    mesh: Any,
    grid: Any,
    scores: dict[tuple[int, int], list[float]],
    x_cells: _Cells,
    y_cells: _Cells,
) -> None:
    """Writes each cell's value (and trial count when cells hold several) inside it."""
    cells = grid.shape[0] * grid.shape[1]
    if cells > 150:
        return  # too small to read; the colour bar says it all
    show_counts = any(len(values) > 1 for values in scores.values())
    fontsize = 10 if cells <= 36 else 8 if cells <= 80 else 6
    for (row, column), values in scores.items():
        value = grid[row, column]
        red, green, blue, _ = mesh.cmap(mesh.norm(value))
        text_color = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
        text = format_value(float(value))
        if show_counts:
            text += f"\nn={len(values)}"
        ax.text(
            x_cells.center(column),
            y_cells.center(row),
            text,
            ha="center",
            va="center",
            color=text_color,
            fontsize=fontsize,
        )


# --- parallel coordinates ------------------------------------------------------------------------
def plot_parallel_coordinates(
    results: Any,
    hyperparameters: Sequence[str] | None = None,
    *,
    figsize: tuple[float, float] = (10, 5.5),
    dpi: float = 100,
) -> Figure:
    """One vertical axis per hyperparameter, and the score; one line per completed trial.

    Lines are coloured by score (brighter is better) and the best trial is drawn in red.
    Log-sampled hyperparameters have log axes; a conditional hyperparameter that was inactive
    in a trial leaves a gap in its line.

    Args:
        results: A tuner, a results DataFrame, a project directory or SearchResults.
        hyperparameters: The axes, in order. Defaults to every hyperparameter that took more
            than one value (``tuner/`` budget entries excluded).
        figsize: Size in inches (width, height).
        dpi: Dots per inch; the image is figsize x dpi pixels.

    Returns:
        The figure.
    """
    results = as_search_results(results)
    trials = results.completed_trials
    if hyperparameters is None:
        names = []
        for name in results.hyperparameter_names:
            if name.startswith("tuner/"):
                continue
            seen = {repr(t.values.get(name)) for t in trials if _has_value(t, name)}
            if len(seen) > 1:
                names.append(name)
    else:
        names = list(hyperparameters)
        for name in names:
            check_hyperparameter(results, name)
    if not trials:
        raise ValueError("No trial completed yet: there is nothing to draw.")
    objective = results.objective
    axes = [_describe(results, n, [t.values.get(n) for t in trials]) for n in names]
    scores = [float(t.score) for t in trials]
    score_axis = _HyperparameterAxis(objective.name, low=min(scores), high=max(scores))

    # A conditional hyperparameter that was inactive in some trials gets a spot below its axis,
    # so every line still runs from the first axis to the score.
    sometimes_inactive = {a.name for a in axes if any(not _has_value(t, a.name) for t in trials)}

    def positions(trial: Trial) -> list[float]:
        ys = []
        for axis in axes:
            value = trial.values.get(axis.name)
            missing = value is None and axis.name in sometimes_inactive
            ys.append(INACTIVE_POSITION if missing else axis.unit(value))
        return [*ys, score_axis.unit(float(trial.score))]  # type: ignore[arg-type]

    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    figure = _new_figure(figsize, dpi)
    ax = figure.add_subplot()
    count = len(axes) + 1
    norm = Normalize(min(scores), max(scores)) if max(scores) > min(scores) else None
    segments, colors = [], []
    best = results.best_trial
    for trial in trials:
        ys = positions(trial)
        for index in range(count - 1):
            if math.isfinite(ys[index]) and math.isfinite(ys[index + 1]):
                segments.append([(index, ys[index]), (index + 1, ys[index + 1])])
                colors.append(float(trial.score))
    lines = LineCollection(
        segments, cmap=_score_colormap(results), norm=norm, linewidths=1.2, alpha=0.8
    )
    lines.set_array(colors)
    ax.add_collection(lines)
    figure.colorbar(lines, ax=ax, label=f"{objective.name} ({_better(results)})", pad=0.01)
    if best is not None:
        ys = positions(best)
        ax.plot(range(count), ys, color=BEST_COLOR, lw=3, zorder=4)
        ax.scatter(range(count), ys, color=BEST_COLOR, s=25, zorder=5)
    space = results.hyperparameters
    for index, axis in enumerate([*axes, score_axis]):
        ax.vlines(index, 0, 1, color="0.25", lw=1, zorder=3)
        hp = space.get_hyperparameter(axis.name) if axis.name in space else None
        grid = hp.grid_values() if isinstance(hp, (Int, Float)) and hp.is_finite else []
        ticks = axis.ticks(grid if len(grid) <= 12 else [])
        if axis.name in sometimes_inactive:
            ticks.append((INACTIVE_POSITION, "inactive"))
        # The score axis is the last one: its labels go to its right, where no line runs.
        side = 1 if index == count - 1 else -1
        for position, label in ticks:
            ax.plot([index + 0.02 * side, index], [position, position], color="0.25", lw=1)
            ax.text(
                index + 0.03 * side,
                position,
                label,
                ha="left" if side > 0 else "right",
                va="center",
                fontsize=8,
                zorder=6,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
            )
    labels = [axis.label.replace(" (log scale)", "\n(log scale)") for axis in axes]
    labels.append(f"{objective.name}\n({_better(results)})")
    ax.set_xticks(range(count), labels, fontsize=9)
    ax.set_xlim(-0.45, count - 1 + 0.4)
    ax.set_ylim(INACTIVE_POSITION - 0.04 if sometimes_inactive else -0.04, 1.04)
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    title = f"Parallel coordinates of {len(trials)} completed trials"
    if best is not None:
        title += f"\nred: best trial {best.trial_id} ({objective.name} {format_value(best.score)})"
    ax.set_title(title)
    return figure


# --- learning curves -----------------------------------------------------------------------------
def _metric_pair(results: SearchResults, metric: str | None) -> tuple[str, str]:
    """(training metric, validation metric) names, e.g. ``("loss", "val_loss")``."""
    base = metric or results.objective.metric_names[0]
    train = base.removeprefix("val_")
    return train, f"val_{train}"


def plot_learning_curves(
    results: Any,
    trial_ids: Sequence[str | int] | None = None,
    metric: str | None = None,
    *,
    num_trials: int = 5,
    figsize: tuple[float, float] = (8, 5),
    dpi: float = 100,
) -> Figure:
    """A metric per epoch for chosen trials: training (solid) and validation (dashed).

    Args:
        results: A tuner, a results DataFrame, a project directory or SearchResults.
        trial_ids: The trials to draw (``3`` finds trial ``"03"``). Defaults to the
            ``num_trials`` best.
        metric: The metric, with or without ``val_``; both the training and the validation
            curves are drawn when logged. Defaults to the objective's metric.
        num_trials: How many of the best trials to draw when ``trial_ids`` is None.
        figsize: Size in inches (width, height).
        dpi: Dots per inch; the image is figsize x dpi pixels.

    Returns:
        The figure.

    Raises:
        ValueError: An unknown trial id, or none of the trials logged the metric.
    """
    results = as_search_results(results)
    if trial_ids is not None:
        try:
            trials = [results.get_trial(trial_id) for trial_id in trial_ids]
        except KeyError as error:
            raise ValueError(error.args[0]) from None
    else:
        trials = results.ranked_trials()[:num_trials]
        if not trials:
            trials = [t for t in results.trials if t.metrics.metrics][-num_trials:]
    train, validation = _metric_pair(results, metric)
    names = [n for n in (train, validation) if any(t.metrics.exists(n) for t in trials)]
    if not names:
        logged = sorted({name for t in results.trials for name in t.metrics.metrics})
        raise ValueError(
            f"None of the trials {[t.trial_id for t in trials]} logged {train!r} or "
            f"{validation!r}; the logged metrics are: {', '.join(logged) or '(none)'}."
        )
    figure = _new_figure(figsize, dpi)
    ax = figure.add_subplot()
    best = results.best_trial
    objective_name = results.objective.name
    from matplotlib.lines import Line2D

    handles = []
    colors = _trial_colors(len(trials))
    for trial, color in zip(trials, colors, strict=True):
        is_best = best is not None and trial.trial_id == best.trial_id
        color = BEST_COLOR if is_best else color
        width = 2.6 if is_best else 1.5
        for name in names:
            if not trial.metrics.exists(name):
                continue
            history = trial.metrics.get_history(name)
            steps = [o.step for o in history]
            values = [o.value for o in history]
            ax.plot(
                steps,
                values,
                color=color,
                lw=width,
                ls="--" if name == validation else "-",
                marker="o" if len(steps) <= 30 else None,
                ms=3.5,
                zorder=4 if is_best else 3,
            )
        score = "" if trial.score is None else f" · {objective_name} {format_value(trial.score)}"
        label = f"trial {trial.trial_id}{score}" + (" (best)" if is_best else "")
        handles.append(Line2D([], [], color=color, lw=width, label=label))
        if is_best and trial.best_step is not None:
            marked = validation if trial.metrics.exists(validation) else names[0]
            by_step = {o.step: o.value for o in trial.metrics.get_history(marked)}
            if trial.best_step in by_step:
                ax.scatter(
                    [trial.best_step],
                    [by_step[trial.best_step]],
                    marker="*",
                    s=220,
                    color=BEST_COLOR,
                    zorder=6,
                )
                handles.append(
                    Line2D(
                        [],
                        [],
                        color=BEST_COLOR,
                        marker="*",
                        ms=12,
                        ls="none",
                        label=f"best epoch ({trial.best_step})",
                    )
                )
    if train in names:
        handles.append(Line2D([], [], color="0.3", ls="-", label=f"{train} (training)"))
    if validation in names:
        handles.append(Line2D([], [], color="0.3", ls="--", label=f"{validation} (validation)"))
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(train)
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.set_title(
        f"Learning curves: {' and '.join(names)} per epoch, {len(trials)} trial"
        + ("s" if len(trials) != 1 else "")
    )
    return figure


# --- Pareto front --------------------------------------------------------------------------------
def plot_pareto_front(
    results: Any,
    x: str | None = None,
    y: str | None = None,
    *,
    figsize: tuple[float, float] = (7, 5.5),
    dpi: float = 100,
) -> Figure:
    """Two objectives of a multi-objective search, trial by trial, with its Pareto front.

    Trials on the front are drawn in red and joined by the front's staircase (with exactly two
    objectives), dominated trials in blue, and trials that broke a constraint as grey crosses.
    The trial first in keras-tuner's order (``get_best_trials``) is starred.

    Args:
        results: A tuner, a results DataFrame, a project directory or SearchResults.
        x: The objective along the x axis (default: the first).
        y: The objective along the y axis (default: the next one).
        figsize: Size in inches (width, height).
        dpi: Dots per inch; the image is figsize x dpi pixels.

    Raises:
        ValueError: The search has one objective, ``x`` or ``y`` is not one of its objectives,
            or no trial completed with a value of both.
    """
    from tuner.pareto import objectives_of

    results = as_search_results(results)
    singles = {single.name: single for single in objectives_of(results.objective)}
    if len(singles) < 2:
        raise ValueError(
            f"A Pareto front needs a list objective; this search optimizes only "
            f"{results.objective.name!r}. Use plot_optimization_history instead."
        )
    names = list(singles)
    x = x or names[0]
    y = y or next(name for name in names if name != x)
    for name in (x, y):
        if name not in singles:
            raise ValueError(f"{name!r} is not an objective of this search: {names}.")
    front = {trial.trial_id for trial in results.pareto_front()}
    best = results.best_trial
    groups: dict[str, tuple[list[float], list[float]]] = {
        "front": ([], []),
        "dominated": ([], []),
        "infeasible": ([], []),
    }
    for trial in results.trials:
        values = trial.objective_values
        if trial.status != TrialStatus.COMPLETED or x not in values or y not in values:
            continue
        if not trial.feasible:
            group = "infeasible"
        else:
            group = "front" if trial.trial_id in front else "dominated"
        groups[group][0].append(values[x])
        groups[group][1].append(values[y])
    if not any(xs for xs, _ in groups.values()):
        raise ValueError(f"No trial completed with values of both {x!r} and {y!r} yet.")
    figure = _new_figure(figsize, dpi)
    ax = figure.add_subplot()
    xs, ys = groups["infeasible"]
    if xs:
        ax.scatter(xs, ys, marker="x", s=30, color="grey", alpha=0.7,
                   label=f"infeasible ({len(xs)})")  # fmt: skip
    xs, ys = groups["dominated"]
    if xs:
        ax.scatter(xs, ys, s=28, color="tab:blue", alpha=0.6, label=f"dominated ({len(xs)})")
    xs, ys = groups["front"]
    if xs:
        if len(singles) == 2:
            order = sorted(zip(xs, ys, strict=True), key=lambda point: point[0])
            # The edge of the dominated region: it turns after a point when x is minimized.
            turn: Literal["post", "pre"] = "post" if singles[x].direction == "min" else "pre"
            ax.step([p[0] for p in order], [p[1] for p in order], where=turn,
                    color=BEST_COLOR, lw=1.2, alpha=0.7)  # fmt: skip
        ax.scatter(xs, ys, s=46, color=BEST_COLOR, zorder=4,
                   label=f"Pareto front ({len(xs)})")  # fmt: skip
    if best is not None and x in best.objective_values and y in best.objective_values:
        ax.scatter([best.objective_values[x]], [best.objective_values[y]], marker="*", s=260,
                   color=BEST_COLOR, edgecolor="black", zorder=5,
                   label=f"first of get_best_trials: trial {best.trial_id}")  # fmt: skip
    for axis_name, setter in ((x, ax.set_xlabel), (y, ax.set_ylabel)):
        better = "higher" if singles[axis_name].direction == "max" else "lower"
        setter(f"{axis_name} ({better} is better)")
    ax.set_title(f"Pareto front: {len(front)} of {len(results.trials)} trials")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return figure


def _trial_colors(count: int) -> list[Any]:
    from matplotlib import colormaps

    tab10 = colormaps["tab10"]  # ten colours: tab10(i) is the i-th
    # tab10's red is too close to the best trial's crimson: skip it.
    palette = [tab10(index) for index in range(tab10.N) if index != 3]
    return [palette[index % len(palette)] for index in range(count)]


# --- hyperparameter importance -------------------------------------------------------------------
def plot_param_importances(
    results: Any,
    objective: str | Objective | None = None,
    ax: Axes | None = None,
    *,
    seed: int | None = 0,
    figsize: tuple[float, float] | None = None,
    dpi: float = 100,
) -> Figure:
    """A horizontal bar per hyperparameter: its importance (fANOVA), the largest on top.

    The importances are :func:`tuner.importance`'s (they sum to 1). A multi-objective search
    gets one panel per objective, unless ``objective`` names one.

    Args:
        results: A tuner, an oracle, a results DataFrame, a project directory or SearchResults.
        objective: The objective to explain (multi-objective searches); None: each.
        ax: Draw into these axes (one objective only) instead of a new figure.
        seed: Seed of the random forest.
        figsize: Size in inches (width, height) of a new figure; default: fits the bars.
        dpi: Dots per inch of a new figure.

    Returns:
        The figure (``ax``'s when given).

    Raises:
        ImportanceError: Too few completed trials, or nothing varied (see
            :func:`tuner.importance`).
        ValueError: ``ax`` is given for a multi-objective search without ``objective``.

    Example:
        >>> from tuner import visualization
        >>> fig = visualization.plot_param_importances("runs/mlp")
        >>> fig.axes[0].get_xlabel()
        'importance (share of val_accuracy variance, fANOVA)'
    """
    from tuner.hyperparameter_importance import DEFAULT_TREES, importance

    results = as_search_results(results)
    computed = importance(results, objective, seed=seed)
    multi = objective is None and isinstance(results.objective, MultiObjective)
    if multi:
        panels: dict[str, dict[str, float]] = computed  # type: ignore[assignment]
    else:
        name = objective.name if isinstance(objective, Objective) else objective
        panels = {name or results.objective.name: computed}  # type: ignore[dict-item]
    if ax is not None and len(panels) > 1:
        raise ValueError(
            "This search has several objectives; pass objective= one of "
            f"{', '.join(panels)} to draw into one axes, or ax=None for one panel each."
        )
    rows = max(len(values) for values in panels.values())
    if ax is None:
        size = figsize or (6.4 * len(panels), 1.6 + 0.42 * rows)
        figure = _new_figure(size, dpi)
        axes = list(figure.subplots(1, len(panels), squeeze=False)[0])
    else:
        figure, axes = ax.figure, [ax]  # type: ignore[assignment]
    completed = len(results.completed_trials)
    for panel, (name, values) in zip(axes, panels.items(), strict=True):
        names = list(values)[::-1]  # barh draws from the bottom: the largest goes on top
        shares = [values[n] for n in names]
        bars = panel.barh(range(len(names)), shares, color="tab:blue", height=0.65)
        bars[-1].set_color(BEST_COLOR)
        panel.set_yticks(range(len(names)), names)
        for position, share in enumerate(shares):
            panel.text(share, position, f" {share:.2f}", va="center", ha="left", fontsize=9)
        panel.set_xlim(0, min(1.0, max(shares) * 1.18) if max(shares) > 0 else 1.0)
        panel.set_xlabel(f"importance (share of {name} variance, fANOVA)")
        panel.set_ylabel("hyperparameter")
        panel.grid(axis="x", alpha=0.3)
        panel.set_axisbelow(True)
        panel.set_title(
            f"Hyperparameter importance for {name}\n{completed} completed trials, random forest"
            f" of {DEFAULT_TREES} trees; importances sum to 1",
            fontsize=10,
        )
    return figure


#: The plot functions by the name the ``tuner plot --kind`` option uses.
PLOTS: dict[str, Callable[..., Figure]] = {
    "history": plot_optimization_history,
    "heatmap": plot_heatmap,
    "parallel": plot_parallel_coordinates,
    "curves": plot_learning_curves,
    "pareto": plot_pareto_front,
    "importance": plot_param_importances,
}
