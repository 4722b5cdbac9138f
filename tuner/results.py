"""Trials as rows: a read-only view of a search, exported as a DataFrame, CSV or JSON.

A search's results come either from a live tuner (:meth:`SearchResults.from_tuner`) or from a
project directory on disk (:func:`read_project`, :func:`load_results`), which is read without
running, importing or unpickling anything: only ``project.json`` and ``trials/*.json`` are parsed.
Nothing is written, and no lock is taken, so a project can be read while its search runs (every
file is replaced atomically, so a reader never sees a torn one).

One row per trial, with these columns (absent columns are None, NaN in a DataFrame):

- ``trial_id``, ``status``, ``score`` (the objective, averaged over executions and folds),
  ``best_step`` (the epoch of the score);
- one column per hyperparameter, named like it (``units``, ``learning_rate``; a hyperparameter
  whose name clashes with another column is prefixed with ``hp/``); inactive conditional ones
  are None;
- ``<metric>_best`` and ``<metric>_final`` for every logged metric (best by the metric's
  direction, and at the last step);
- when some trial has several executions or folds: ``executions`` (how many runs: executions
  times folds), ``folds`` (for cross-validated trials), ``score_std``, and ``<metric>_mean`` /
  ``<metric>_std`` over the runs' best-step values;
- with a list objective or constraints: ``pareto`` (whether the trial is on the Pareto front)
  and ``feasible`` (whether it met every constraint), then ``objective/<name>`` (each
  objective's value, as the front compares them) and ``constraint/<metric>`` (each constrained
  metric's value);
- ``start_time`` (UTC), ``duration`` (seconds), and ``error`` (the last line of a failed
  trial's error).

pandas is needed only for :meth:`SearchResults.to_dataframe`; CSV and JSON are written with the
standard library.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuner.constraints import Constraint, create_constraints
from tuner.errors import CorruptProjectFileError, StorageError, missing_dependency
from tuner.hyperparameters import HyperParameters
from tuner.objective import (
    AnyObjective,
    MultiObjective,
    default_objective,
    is_finite_number,
    objective_from_dict,
)
from tuner.pareto import front_mask
from tuner.storage.json_dir import JsonDirStorage
from tuner.trial import Trial, TrialStatus

if TYPE_CHECKING:
    import pandas

    from tuner.search import BaseTuner

#: Columns every row has, in this order, before the hyperparameters.
LEADING_COLUMNS = ("trial_id", "status", "score", "best_step")
#: Columns every row has, in this order, at the end.
TRAILING_COLUMNS = ("start_time", "duration", "error")
#: Prefix of a hyperparameter column whose name clashes with another column.
CLASH_PREFIX = "hp/"
#: Key of a cross-validation fold's number in a record of ``trial.executions``.
FOLD_KEY = "fold"


def _sort_key(trial_id: str) -> tuple[int, int | str]:
    """Numeric ids in numeric order, anything else after them."""
    try:
        return (0, int(trial_id))
    except ValueError:
        return (1, trial_id)


def error_line(message: str | None) -> str | None:
    """The last non-empty line of an error message or traceback (what a table can show)."""
    if not message:
        return None
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


def _mean_and_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    finite = [v for v in values if is_finite_number(v)]
    if not finite:
        return None, None
    return statistics.fmean(finite), statistics.pstdev(finite) if len(finite) > 1 else 0.0


@dataclass(frozen=True)
class SearchResults:
    """A read-only snapshot of a search: its objective, search space and trials.

    Build it with :meth:`from_tuner` or :func:`read_project`; export it with :meth:`rows`,
    :meth:`to_dataframe`, :meth:`to_csv` or :meth:`to_json`. The trials are the tuner's own
    objects (not copies): do not modify them.

    Attributes:
        objective: What the search optimizes.
        hyperparameters: The search space.
        trials: Every trial, ordered by trial id.
        project_dir: The project directory, when the search has one.
        oracle_class: The oracle's class name, e.g. ``"RandomSearchOracle"``.
        constraints: The search's constraints (``constraints=`` of the oracle or tuner).

    Example:
        >>> results = read_project("runs/mlp")
        >>> results.best_trial.trial_id, len(results.rows())
        ('07', 10)
    """

    objective: AnyObjective
    hyperparameters: HyperParameters
    trials: tuple[Trial, ...]
    project_dir: str | None = None
    oracle_class: str | None = None
    constraints: tuple[Constraint, ...] = ()

    @classmethod
    def from_tuner(cls, tuner: BaseTuner) -> SearchResults:
        """The results of a tuner's search so far (running trials included)."""
        oracle = tuner.oracle
        trials = getattr(oracle, "trials", None)
        if trials is None:  # a remote oracle handle: the project directory is the truth
            return read_project(tuner.project_dir)
        return cls.from_oracle(oracle, project_dir=str(tuner.project_dir))

    @classmethod
    def from_oracle(cls, oracle: Any, project_dir: str | None = None) -> SearchResults:
        """The results an oracle holds so far (running trials included).

        Args:
            oracle: An :class:`~tuner.oracles.Oracle` (anything with ``objective``,
                ``trials`` and ``get_space()``).
            project_dir: The project directory, when known.
        """
        trials = oracle.trials
        return cls(
            objective=oracle.objective,
            hyperparameters=oracle.get_space(),
            trials=tuple(sorted(list(trials.values()), key=lambda t: _sort_key(t.trial_id))),
            project_dir=project_dir,
            oracle_class=type(oracle).__name__,
            constraints=tuple(getattr(oracle, "constraints", ())),
        )

    # --- queries ---------------------------------------------------------------------------------
    @property
    def completed_trials(self) -> list[Trial]:
        """Completed trials with a finite score, in trial-id order."""
        return [
            t
            for t in self.trials
            if t.status == TrialStatus.COMPLETED and is_finite_number(t.score)
        ]

    def ranked_trials(self) -> list[Trial]:
        """Completed, feasible trials, best first (ties: the earlier trial first)."""
        return sorted(
            [t for t in self.completed_trials if t.feasible],
            key=lambda t: (self.objective.sort_key(t.score), _sort_key(t.trial_id)),  # type: ignore[arg-type]
        )

    @property
    def best_trial(self) -> Trial | None:
        """The best completed trial, or None when no trial completed."""
        ranked = self.ranked_trials()
        return ranked[0] if ranked else None

    @property
    def is_multi_objective(self) -> bool:
        """Whether the search optimizes a list of objectives."""
        return isinstance(self.objective, MultiObjective)

    def pareto_front(self) -> list[Trial]:
        """The non-dominated, feasible, completed trials, best first (``get_pareto_front``)."""
        mask = front_mask(self.objective, self.trials)
        on_front = [trial for trial, keep in zip(self.trials, mask, strict=True) if keep]
        ranked = {trial.trial_id: position for position, trial in enumerate(self.ranked_trials())}
        return sorted(on_front, key=lambda t: ranked.get(t.trial_id, len(ranked)))

    def _tradeoff_columns(self) -> list[str]:
        if not (self.is_multi_objective or self.constraints):
            return []
        columns = ["pareto", "feasible"]
        if self.is_multi_objective:
            columns += [f"objective/{name}" for name in self.objective.metric_names]
        metrics = dict.fromkeys(constraint.metric for constraint in self.constraints)
        return columns + [f"constraint/{metric}" for metric in metrics]

    def get_trial(self, trial_id: str | int) -> Trial:
        """The trial with this id; ``3`` and ``"3"`` also find trial ``"03"``.

        Raises:
            KeyError: No trial has this id (the message lists the known ids).
        """
        wanted = str(trial_id)
        for trial in self.trials:
            if trial.trial_id == wanted:
                return trial
        for trial in self.trials:
            if _sort_key(trial.trial_id) == _sort_key(wanted):
                return trial
        known = ", ".join(t.trial_id for t in self.trials[:20])
        more = ", ..." if len(self.trials) > 20 else ""
        raise KeyError(f"No trial {wanted!r} in this search; the trials are: {known}{more}.")

    @property
    def hyperparameter_names(self) -> list[str]:
        """Every hyperparameter name: the space's in order, then values met only in trials."""
        names = dict.fromkeys(hp.name for hp in self.hyperparameters.space)
        for trial in self.trials:
            names.update(dict.fromkeys(trial.hyperparameters.values))
        return list(names)

    @property
    def metric_names(self) -> list[str]:
        """Every metric some trial logged: the objective's first, then by name."""
        logged: set[str] = set()
        for trial in self.trials:
            logged.update(trial.metrics.metrics)
        first = [name for name in self.objective.metric_names if name in logged]
        return first + sorted(logged - set(first))

    @property
    def has_several_executions(self) -> bool:
        """Whether some trial ran several executions (or folds)."""
        return any(len(trial.executions) > 1 for trial in self.trials)

    @property
    def _has_folds(self) -> bool:
        """Whether some trial was cross-validated (its records carry a fold number)."""
        return any(FOLD_KEY in record for trial in self.trials for record in trial.executions)

    # --- rows ------------------------------------------------------------------------------------
    def _execution_metric_names(self) -> list[str]:
        names: set[str] = set()
        for trial in self.trials:
            for record in trial.executions:
                names.update(record.get("metrics") or {})
        first = [name for name in self.objective.metric_names if name in names]
        return first + sorted(names - set(first))

    def _metric_columns(self) -> list[str]:
        columns = []
        for name in self.metric_names:
            columns += [f"{name}_best", f"{name}_final"]
        if self.has_several_executions:
            columns += ["executions", "folds"] if self._has_folds else ["executions"]
            columns.append("score_std")
            for name in self._execution_metric_names():
                columns += [f"{name}_mean", f"{name}_std"]
        return columns

    def hyperparameter_columns(self) -> dict[str, str]:
        """Hyperparameter name -> its column name (``hp/`` prefixed on a clash)."""
        taken = (
            set(LEADING_COLUMNS)
            | set(TRAILING_COLUMNS)
            | set(self._metric_columns())
            | set(self._tradeoff_columns())
        )
        return {
            name: f"{CLASH_PREFIX}{name}" if name in taken else name
            for name in self.hyperparameter_names
        }

    def columns(self) -> list[str]:
        """The column names of :meth:`rows`, in order."""
        return [
            *LEADING_COLUMNS,
            *self._tradeoff_columns(),
            *self.hyperparameter_columns().values(),
            *self._metric_columns(),
            *TRAILING_COLUMNS,
        ]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per trial, in trial-id order, with every column of :meth:`columns`.

        Values are plain Python: numbers, strings, booleans, None for missing values, and a
        timezone-aware :class:`~datetime.datetime` for ``start_time``.
        """
        hp_columns = self.hyperparameter_columns()
        several = self.has_several_executions
        execution_metrics = self._execution_metric_names() if several else []
        metric_names = self.metric_names
        tradeoffs = bool(self._tradeoff_columns())
        on_front = front_mask(self.objective, self.trials) if tradeoffs else []
        rows = []
        for index, trial in enumerate(self.trials):
            row: dict[str, Any] = {
                "trial_id": trial.trial_id,
                "status": trial.status.value,
                "score": trial.score,
                "best_step": trial.best_step,
            }
            if tradeoffs:
                finished = trial.status == TrialStatus.COMPLETED
                row["pareto"] = on_front[index]
                row["feasible"] = trial.feasible if finished else None
                if self.is_multi_objective:
                    for name in self.objective.metric_names:
                        row[f"objective/{name}"] = trial.objective_values.get(name)
                for constraint in self.constraints:
                    value = trial.constraint_values.get(constraint.metric)
                    row[f"constraint/{constraint.metric}"] = value
            values = trial.hyperparameters.values
            for name, column in hp_columns.items():
                row[column] = values.get(name)
            for name in metric_names:
                row[f"{name}_best"] = trial.metrics.get_best_value(name)
                row[f"{name}_final"] = trial.metrics.get_last_value(name)
            if several:
                records = trial.executions
                row["executions"] = len(records)
                if self._has_folds:
                    row["folds"] = len({r[FOLD_KEY] for r in records if FOLD_KEY in r}) or None
                scores = [r["score"] for r in records if r.get("score") is not None]
                row["score_std"] = _mean_and_std(scores)[1] if len(records) > 1 else None
                for name in execution_metrics:
                    per_run = [
                        r["metrics"][name] for r in records if name in (r.get("metrics") or {})
                    ]
                    mean, std = _mean_and_std(per_run)
                    row[f"{name}_mean"] = mean
                    row[f"{name}_std"] = std if len(per_run) > 1 else None
            row["start_time"] = (
                None
                if trial.start_time is None
                else datetime.fromtimestamp(trial.start_time, tz=timezone.utc)
            )
            row["duration"] = trial.duration
            row["error"] = (
                error_line(trial.message)
                if trial.status in (TrialStatus.FAILED, TrialStatus.INVALID)
                else None
            )
            rows.append(row)
        return rows

    # --- exports ---------------------------------------------------------------------------------
    def to_dataframe(self) -> pandas.DataFrame:
        """The rows as a pandas DataFrame (pandas is optional; the error says how to get it).

        ``df.attrs`` holds ``project_dir`` and the ``objective`` (as JSON), so the plots of
        :mod:`tuner.visualization` accept the DataFrame in place of the tuner.
        """
        try:
            import pandas
        except ImportError:
            raise missing_dependency("pandas", "results_dataframe()", "results") from None
        frame = pandas.DataFrame(self.rows(), columns=self.columns())
        frame["start_time"] = pandas.to_datetime(frame["start_time"], utc=True)
        # Nullable integers: a running or failed trial has no best step, the others an int.
        frame["best_step"] = frame["best_step"].astype("Int64")
        for column in ("executions", "folds"):
            if column in frame:
                frame[column] = frame[column].astype("Int64")
        frame.attrs["project_dir"] = self.project_dir
        frame.attrs["objective"] = self.objective.to_dict()
        return frame

    def _plain_rows(self) -> list[dict[str, Any]]:
        """Rows with JSON-safe values: ISO 8601 times, None for NaN and infinities."""
        plain = []
        for row in self.rows():
            converted = {}
            for column, value in row.items():
                if isinstance(value, datetime):
                    value = value.isoformat()
                elif isinstance(value, float) and not math.isfinite(value):
                    value = None
                converted[column] = value
            plain.append(converted)
        return plain

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str | None:
        """Writes the rows as CSV (a header, then one line per trial).

        Args:
            path: The file to write; None returns the text instead.
        """
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns(), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self._plain_rows())
        return _write_or_return(buffer.getvalue(), path)

    def to_json(
        self, path: str | os.PathLike[str] | None = None, indent: int | None = 2
    ) -> str | None:
        """Writes the rows as a JSON list of objects (NaN becomes null, times ISO 8601).

        Args:
            path: The file to write; None returns the text instead.
            indent: Indentation of the JSON text; None writes one line.
        """
        text = json.dumps(self._plain_rows(), indent=indent, allow_nan=False, default=str)
        return _write_or_return(text + "\n", path)


def _write_or_return(text: str, path: str | os.PathLike[str] | None) -> str | None:
    if path is None:
        return text
    Path(path).write_text(text, encoding="utf-8")
    return None


# --- reading a project directory -----------------------------------------------------------------
def read_project(project_dir: str | os.PathLike[str]) -> SearchResults:
    """Reads a project directory, read-only, into :class:`SearchResults`.

    Only JSON is parsed: no model code runs and nothing is unpickled or written.

    Args:
        project_dir: ``<directory>/<project_name>``.

    Raises:
        StorageError: The folder does not exist or is not a tuner project.
        CorruptProjectFileError: A file of the project cannot be parsed (the message names it).
        FormatVersionError: The project was written by a newer version of tuner.
    """
    storage = JsonDirStorage(project_dir, read_only=True)
    project = storage.load_project()
    if project is None:  # deleted since the storage was opened
        raise StorageError(f"The project directory {project_dir} has no project file any more.")
    try:
        objective = objective_from_dict(project["objective"])
        space = HyperParameters.from_config(project["hyperparameters"])
    except (KeyError, TypeError, ValueError) as error:
        raise CorruptProjectFileError(
            f"The project file {storage.layout.project_file} is not a valid project "
            f"({error!r}). {storage.remedies.project}"
        ) from None
    oracle = project.get("oracle")
    oracle_class = oracle.get("class") if isinstance(oracle, Mapping) else None
    config = oracle.get("config") if isinstance(oracle, Mapping) else None
    try:
        constraints = create_constraints(
            config.get("constraints") if isinstance(config, Mapping) else None
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CorruptProjectFileError(
            f"The project file {storage.layout.project_file} holds invalid constraints "
            f"({error!r}). {storage.remedies.project}"
        ) from None
    trials = sorted(storage.load_trials(), key=lambda t: _sort_key(t.trial_id))
    return SearchResults(
        objective=objective,
        hyperparameters=space,
        trials=tuple(trials),
        project_dir=str(storage.project_dir),
        oracle_class=oracle_class,
        constraints=constraints,
    )


def as_search_results(source: Any) -> SearchResults:
    """The :class:`SearchResults` of a search given in any of the forms users hold.

    Accepted: :class:`SearchResults`; a project directory path (read with
    :func:`read_project`); a tuner; an oracle; the DataFrame of ``results_dataframe()`` or
    :func:`load_results` (only its rows' trials are kept, so a filtered DataFrame selects a
    subset); or a sequence of :class:`~tuner.trial.Trial` objects (each keeps its own space and
    ``score``; the objective is taken as the default one).

    Raises:
        TypeError: ``source`` is none of these (or a DataFrame that does not come from tuner).

    Example:
        >>> as_search_results("runs/mlp").objective
        Objective(name="val_accuracy", direction="max")
    """
    if isinstance(source, SearchResults):
        return source
    if isinstance(source, (str, os.PathLike)):
        return read_project(source)
    if hasattr(source, "oracle") and hasattr(source, "project_dir"):
        return SearchResults.from_tuner(source)
    if hasattr(source, "objective") and hasattr(source, "get_space"):
        if getattr(source, "trials", None) is None:
            raise TypeError(
                f"This {type(source).__name__} holds no trials (a remote oracle handle?); pass "
                "the tuner or the project directory instead."
            )
        return SearchResults.from_oracle(source)
    attrs = getattr(source, "attrs", None)
    if isinstance(attrs, dict) and hasattr(source, "columns"):
        project_dir = attrs.get("project_dir")
        if not project_dir or "trial_id" not in source.columns:
            raise TypeError(
                "This DataFrame does not come from results_dataframe() or kt.load_results() (it "
                "has no project_dir in df.attrs, or no trial_id column). Pass the tuner or the "
                "project directory instead."
            )
        results = read_project(project_dir)
        wanted = {str(trial_id) for trial_id in source["trial_id"]}
        return SearchResults(
            objective=results.objective,
            hyperparameters=results.hyperparameters,
            trials=tuple(t for t in results.trials if t.trial_id in wanted),
            project_dir=results.project_dir,
            oracle_class=results.oracle_class,
        )
    if isinstance(source, Sequence) and source and all(isinstance(t, Trial) for t in source):
        space = HyperParameters()
        for trial in source:
            space.merge(trial.hyperparameters.space, overwrite=False)
        return SearchResults(
            objective=default_objective(),
            hyperparameters=space,
            trials=tuple(sorted(source, key=lambda t: _sort_key(t.trial_id))),
        )
    raise TypeError(
        "Expected a tuner, an oracle, the DataFrame of results_dataframe() / kt.load_results(), "
        f"a project directory, SearchResults or a list of trials; got {type(source).__name__}."
    )


def load_results(
    directory: str | os.PathLike[str], project_name: str | None = None
) -> pandas.DataFrame:
    """One row per trial of a project on disk, as :meth:`BaseTuner.results_dataframe` gives.

    Read-only: only the project's JSON files are parsed (no model code, no unpickling), so it
    works without the code that ran the search, and while a search runs.

    Args:
        directory: The ``directory`` the tuner was given (or the project directory itself when
            ``project_name`` is None).
        project_name: The tuner's ``project_name``.

    Returns:
        A pandas DataFrame; see :mod:`tuner.results` for its columns.

    Raises:
        MissingDependencyError: pandas is not installed.
        StorageError: The folder is not a tuner project.

    Example:
        >>> import tuner as kt
        >>> df = kt.load_results("runs", "mlp")
        >>> best = df.sort_values("score", ascending=False).iloc[0]
        >>> best["trial_id"], len(df)
        ('07', 10)
    """
    project_dir = Path(directory) if project_name is None else Path(directory) / project_name
    return read_project(project_dir).to_dataframe()
