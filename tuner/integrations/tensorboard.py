"""TensorBoard: the HParams dashboard of a search, written without TensorFlow.

A search's trials become TensorBoard's HParams data, written with TensorBoard's own protocol
buffers and record writer (``tensorboard.plugins.hparams``, ``tensorboard.summary.writer``), so it
works on every Keras backend (TensorFlow, JAX, torch) and for searches that never used Keras.

Layout of a log directory (``keras.callbacks.TensorBoard(log_dir=...)`` or ``export_tensorboard``):

- ``<log_dir>/`` holds the experiment: every hyperparameter of the search space with its domain
  (an interval for ``Int`` and ``Float``, a discrete set for ``Choice``, ``Boolean`` and
  ``Fixed``), the values a tuner sets beside them (Hyperband's ``tuner/epochs``, ...), and the
  metrics (the objective first). Declared domains let the parallel-coordinates and scatter
  views work from the first trial on.
- ``<log_dir>/<trial_id>/`` is one HParams session per finished trial: exactly the trial's
  hyperparameter values, as keras-tuner writes them (an inactive conditional hyperparameter
  has no value, so its cell is blank), its final metrics as scalars at its best step, and its
  status in the session's own status field (``SessionEndInfo.status``), which the dashboard
  shows and filters on. TensorBoard's statuses are success, failure, running and unknown (it
  has no "aborted"): COMPLETED is ``STATUS_SUCCESS``; STOPPED (ended early by the oracle, as
  Hyperband and median stopping do, with valid metrics) is ``STATUS_SUCCESS`` too; FAILED is
  ``STATUS_FAILURE``, and so is INVALID (a model refused before training, e.g. too large),
  which has no metrics either. A trial still running has no session yet: it is written once it
  finishes, so no session ever shows ``STATUS_RUNNING``.
- ``<log_dir>/<trial_id>/execution<k>/`` holds Keras' own training curves of each execution.

Each event file this module writes is written whole, atomically, and named after a digest of its
content, so writing the same search again (a resumed search, a second export) changes nothing,
and a trial never appears twice. One process writes a log directory at a time: for a search
spread over several workers, export it from the project directory (:func:`export_hparams`).

TensorBoard reads the experiment once per run of the ``tensorboard`` command: hyperparameters or
metrics that first appear after a running TensorBoard read it (a define-by-run space that grows)
show once TensorBoard is restarted.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from google.protobuf import json_format
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from tensorboard.plugins.hparams import summary_v2 as hparams_summary
from tensorboard.plugins.scalar import summary_v2 as scalar_summary
from tensorboard.summary.writer.record_writer import RecordWriter

from tuner.callbacks import SearchCallback
from tuner.hyperparameters import (
    Boolean,
    Choice,
    Fixed,
    Float,
    HyperParameter,
    HyperParameters,
    Int,
)
from tuner.objective import AnyObjective, is_finite_number
from tuner.results import SearchResults, read_project
from tuner.storage.layout import ProjectLayout
from tuner.storage.writer import write_atomic
from tuner.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from tuner.search import BaseTuner

#: Marks in the names of the event files this module writes (the rest of the name is TensorBoard's
#: ``events.out.tfevents.<time>`` prefix and a digest of the content).
EXPERIMENT_FILE_MARK = "tuner-experiment"
TRIAL_FILE_MARK = "tuner-trial"
#: The folder of execution ``k`` of a trial, inside ``<log_dir>/<trial_id>/``.
EXECUTION_DIR = "execution{}"

_FINISHED_STATUSES = (
    TrialStatus.COMPLETED,
    TrialStatus.STOPPED,
    TrialStatus.FAILED,
    TrialStatus.INVALID,
)
#: A finished trial's status as its HParams session's status (see the module's docstring).
SESSION_STATUS = {
    TrialStatus.COMPLETED: api_pb2.STATUS_SUCCESS,
    # Ended early by the oracle (Hyperband, median stopping): its metrics are valid.
    TrialStatus.STOPPED: api_pb2.STATUS_SUCCESS,
    TrialStatus.FAILED: api_pb2.STATUS_FAILURE,
    # Refused before training (too large a model): no metrics, like a failure.
    TrialStatus.INVALID: api_pb2.STATUS_FAILURE,
}
_FILE_VERSION = "brain.Event:2"


# --- what a trial shows --------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value the HParams protos accept."""
    return value.item() if isinstance(value, np.generic) else value


#: The HParams metric of a search with constraints: 1 for a feasible trial, 0 otherwise.
FEASIBLE_METRIC = "feasible"


def final_metrics(trial: Trial, objective: AnyObjective) -> dict[str, float]:
    """The metrics a trial shows in the HParams table: its values at the best step.

    With executions (or folds), each metric is the mean of the executions' best-step values,
    as the trial's score is. Without them (a ``run_trial`` that reported through
    ``oracle.update_trial``), each metric's value at the trial's best step, or its last value.
    The objective's entry is the trial's score. Values that are not finite are left out.

    Example:
        >>> from tuner.objective import Objective
        >>> trial = Trial("0", HyperParameters(), TrialStatus.COMPLETED, score=0.25)
        >>> trial.executions = [{"metrics": {"loss": 0.2, "acc": 0.9}},
        ...                     {"metrics": {"loss": 0.3, "acc": 0.7}}]
        >>> final_metrics(trial, Objective("loss", "min"))
        {'acc': 0.8, 'loss': 0.25}
    """
    values: dict[str, float] = {}
    executions = [e["metrics"] for e in trial.executions if isinstance(e.get("metrics"), Mapping)]
    if executions:
        names = sorted({name for metrics in executions for name in metrics})
        for name in names:
            observed = [float(m[name]) for m in executions if is_finite_number(m.get(name))]
            if observed:
                values[name] = sum(observed) / len(observed)
    else:
        for name, history in sorted(trial.metrics.metrics.items()):
            at_best = [o.value for o in history.get_history() if o.step == trial.best_step]
            value = at_best[0] if at_best else history.get_last_value()
            if is_finite_number(value):
                values[name] = float(value)  # type: ignore[arg-type]
    if is_finite_number(trial.score):
        values[objective.name] = float(trial.score)  # type: ignore[arg-type]
    if trial.constraint_values:  # 1 or 0: the dashboard can filter on the constraints
        values[FEASIBLE_METRIC] = 1.0 if trial.feasible else 0.0
    return values


def _is_finished(trial: Trial) -> bool:
    return trial.status in _FINISHED_STATUSES


# --- the experiment: hyperparameter domains and metrics ------------------------------------------
def _describe(hp: HyperParameter) -> str:
    text = hp.describe()
    for condition in hp.conditions:
        text += f"; active when {condition.parent_name} is one of {list(condition.values)}"
    return text


def _declared_hparam(hp: HyperParameter) -> hparams_summary.HParam | None:
    """The HParams declaration of a hyperparameter of the search space."""
    domain: hparams_summary.Domain
    if isinstance(hp, Int):
        domain = hparams_summary.IntInterval(int(hp.min_value), int(hp.max_value))
    elif isinstance(hp, Float):
        domain = hparams_summary.RealInterval(float(hp.min_value), float(hp.max_value))
    elif isinstance(hp, Boolean):
        domain = hparams_summary.Discrete([False, True])
    elif isinstance(hp, Choice):
        domain = hparams_summary.Discrete([_plain(v) for v in hp.values])
    elif isinstance(hp, Fixed):
        if hp.value is None:
            return None  # nothing to show: a Fixed None has no value in any trial
        domain = hparams_summary.Discrete([_plain(hp.value)])
    else:  # a user-defined type: let TensorBoard infer its domain from the values
        return hparams_summary.HParam(hp.name, description=_describe(hp))
    return hparams_summary.HParam(hp.name, domain, description=_describe(hp))


def _observed_hparam(name: str, values: Sequence[Any]) -> hparams_summary.HParam:
    """The declaration of a value that is not in the space (Hyperband's ``tuner/epochs``, ...)."""
    description = "Set by the tuner, not searched."
    kinds = {type(value) for value in values}
    if kinds == {bool}:
        domain: hparams_summary.Domain = hparams_summary.Discrete(sorted(set(values)))
    elif kinds and kinds <= {int}:
        domain = hparams_summary.IntInterval(min(values), max(values))
    elif kinds and kinds <= {int, float}:
        domain = hparams_summary.RealInterval(float(min(values)), float(max(values)))
    else:
        domain = hparams_summary.Discrete(sorted({_session_value(v) for v in values}))
    return hparams_summary.HParam(name, domain, description=description)


def _session_value(value: Any) -> bool | int | float | str:
    """A hyperparameter value as the HParams protos hold it (other types as text)."""
    value = _plain(value)
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def experiment_summary(
    space: HyperParameters, objective: AnyObjective, trials: Sequence[Trial]
) -> summary_pb2.Summary:
    """The HParams experiment of a search: hyperparameter domains and metrics.

    Args:
        space: The search space; each hyperparameter is declared with its domain, conditional
            ones included.
        objective: Declared as the first metric.
        trials: Values that are not in the space (such as Hyperband's ``tuner/epochs``) are
            declared with the range they took, and every metric a finished trial shows is
            declared after the objective.

    Returns:
        A summary for the experiment's (top-level) run.
    """
    declared = [h for h in (_declared_hparam(hp) for hp in space.space) if h is not None]
    names = {hparam.name for hparam in declared}
    others: dict[str, list[Any]] = {}
    for trial in trials:
        for name, value in trial.hyperparameters.values.items():
            if name not in names and value is not None:
                others.setdefault(name, []).append(_plain(value))
    declared += [_observed_hparam(name, others[name]) for name in sorted(others)]
    metric_names = {
        name for trial in trials if _is_finished(trial) for name in final_metrics(trial, objective)
    }
    metric_names.discard(objective.name)
    metrics = [
        hparams_summary.Metric(
            objective.name,
            display_name=f"{objective.name} (objective)",
            description=f"The objective ({objective.direction}imized): {objective!r}.",
        ),
        *(hparams_summary.Metric(name) for name in sorted(metric_names)),
    ]
    start_times = [t.start_time for t in trials if t.start_time is not None]
    summary = hparams_summary.hparams_config_pb(
        declared, metrics, time_created_secs=min(start_times, default=0.0)
    )
    # TensorBoard lists first the hyperparameters whose values differ; a Fixed one never does.
    experiment = _plugin_data(summary).experiment
    for info in experiment.hparam_infos:
        info.differs = len(info.domain_discrete) != 1
    return _summary_with(
        metadata.EXPERIMENT_TAG, plugin_data_pb2.HParamsPluginData(experiment=experiment)
    )


def _plugin_data(summary: summary_pb2.Summary) -> plugin_data_pb2.HParamsPluginData:
    return plugin_data_pb2.HParamsPluginData.FromString(
        summary.value[0].metadata.plugin_data.content
    )


def _summary_with(tag: str, data: plugin_data_pb2.HParamsPluginData) -> summary_pb2.Summary:
    """A summary holding HParams plugin data, as ``tensorboard.plugins.hparams`` lays it out."""
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=tag, metadata=metadata.create_summary_metadata(data), tensor=metadata.NULL_TENSOR
    )
    return summary


# --- a trial: one HParams session ----------------------------------------------------------------
def trial_events(trial: Trial, objective: AnyObjective) -> list[event_pb2.Event]:
    """The events of a finished trial's session: values, final metrics and status.

    The session's values are exactly the trial's (its status is the session's status, in
    ``SessionEndInfo``, not a value).

    Its wall times are the trial's own, so the same trial always gives the same events.

    Raises:
        ValueError: The trial has not finished.
    """
    if not _is_finished(trial):
        raise ValueError(
            f"Trial {trial.trial_id} is {trial.status.value}; only finished trials are written."
        )
    end = trial.end_time if trial.end_time is not None else trial.start_time or 0.0
    start = trial.start_time if trial.start_time is not None else end
    values = {
        name: _session_value(value)
        for name, value in trial.hyperparameters.values.items()
        if value is not None
    }
    step = int(trial.best_step) if trial.best_step is not None else 0
    events = [
        event_pb2.Event(
            wall_time=start,
            step=0,
            summary=hparams_summary.hparams_pb(
                values, trial_id=str(trial.trial_id), start_time_secs=start
            ),
        )
    ]
    for name, value in final_metrics(trial, objective).items():
        events.append(
            event_pb2.Event(
                wall_time=end, step=step, summary=scalar_summary.scalar_pb(name, value)
            )
        )
    end_info = plugin_data_pb2.SessionEndInfo(
        status=SESSION_STATUS[trial.status], end_time_secs=end
    )
    events.append(
        event_pb2.Event(
            wall_time=end,
            step=step,
            summary=_summary_with(
                metadata.SESSION_END_INFO_TAG,
                plugin_data_pb2.HParamsPluginData(session_end_info=end_info),
            ),
        )
    )
    return events


# --- event files ---------------------------------------------------------------------------------
def _encode(events: Iterable[event_pb2.Event], wall_time: float) -> bytes:
    """An event file's bytes: TensorBoard's version record, then the events, as TFRecords."""
    buffer = io.BytesIO()
    records = RecordWriter(buffer)
    version = event_pb2.Event(wall_time=wall_time, file_version=_FILE_VERSION)
    for event in (version, *events):
        records.write(event.SerializeToString())
    return buffer.getvalue()


def _digest(events: Sequence[event_pb2.Event]) -> str:
    """A digest of the events' content that is the same in every process.

    Serialized bytes are not: the order of a protobuf map (a session's hyperparameter values)
    varies between processes, so the HParams plugin data is compared as sorted JSON.
    """
    documents = []
    for event in events:
        document = json_format.MessageToDict(event)
        entries = document.get("summary", {}).get("value", [])
        for value, entry in zip(event.summary.value, entries, strict=True):
            plugin_data = value.metadata.plugin_data
            if plugin_data.plugin_name == metadata.PLUGIN_NAME:
                content = plugin_data_pb2.HParamsPluginData.FromString(plugin_data.content)
                entry["metadata"]["pluginData"]["content"] = json_format.MessageToDict(content)
        documents.append(document)
    text = json.dumps(documents, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _files_marked(directory: Path, mark: str) -> list[Path]:
    """The event files of ``directory`` (not its subfolders) whose name holds ``mark``."""
    try:
        with os.scandir(directory) as entries:
            return [
                Path(entry.path)
                for entry in entries
                if entry.is_file() and f".{mark}." in entry.name and "tfevents" in entry.name
            ]
    except FileNotFoundError:
        return []


def _replace_event_file(
    directory: Path, mark: str, events: Sequence[event_pb2.Event], wall_time: float
) -> bool:
    """Makes ``events`` the only ``mark`` event file of ``directory``.

    Nothing is written when a file with the same content is already there. Otherwise the new
    file is written under a temporary name (which TensorBoard ignores: it has no ``tfevents``),
    flushed and renamed, and the older files of that mark are removed.

    Returns:
        Whether a file was written.
    """
    digest = _digest(events)
    existing = _files_marked(directory, mark)
    if any(path.name.endswith(f".{mark}.{digest}") for path in existing):
        return False
    directory.mkdir(parents=True, exist_ok=True)
    # TensorBoard reads a run's files in name order: a newer file must sort after older ones.
    stamps = [int(path.name.split(".")[3]) for path in existing if _stamped(path)]
    stamp = max([int(wall_time), *stamps])
    path = directory / f"events.out.tfevents.{stamp:010d}.{mark}.{digest}"
    write_atomic(path, _encode(events, wall_time))
    for old in existing:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    return True


def _stamped(path: Path) -> bool:
    parts = path.name.split(".")
    return len(parts) > 3 and parts[3].isdigit()


# --- writing a search ----------------------------------------------------------------------------
class HParamsWriter:
    """Keeps a TensorBoard log directory's HParams data in step with a search.

    Each call to :meth:`write` declares the experiment (when it changed) and writes a session for
    every finished trial that has none yet. Trials still running are left out; they are written
    once they finish. The experiment is declared once some finished trial has metrics, because
    TensorBoard never rereads a declaration it has loaded; until then TensorBoard infers the
    columns from the sessions.

    Not thread-safe: one writer per log directory, called by one thread.

    Args:
        log_dir: The TensorBoard log directory (created when missing).

    Example:
        >>> from tuner.results import read_project
        >>> writer = HParamsWriter("logs")
        >>> writer.write(read_project("runs/mlp"))
        10
    """

    def __init__(self, log_dir: str | os.PathLike[str]):
        self.log_dir = Path(log_dir)
        # trial id -> the (status, end time) last written; saves rebuilding unchanged trials.
        self._written: dict[str, tuple[str, float | None]] = {}

    def write(self, results: SearchResults) -> int:
        """Writes the experiment and the sessions of the finished trials that lack one.

        Args:
            results: The search: its space, objective and trials.

        Returns:
            How many trial sessions were written.
        """
        trials = list(results.trials)
        objective = results.objective
        finished = [trial for trial in trials if _is_finished(trial)]
        if any(final_metrics(trial, objective) for trial in finished):
            experiment = experiment_summary(results.hyperparameters, objective, trials)
            start_times = [t.start_time for t in trials if t.start_time is not None]
            created = min(start_times, default=time.time())
            event = event_pb2.Event(wall_time=created, step=0, summary=experiment)
            _replace_event_file(self.log_dir, EXPERIMENT_FILE_MARK, [event], time.time())
        written = 0
        for trial in finished:
            state = (trial.status.value, trial.end_time)
            if self._written.get(trial.trial_id) == state:
                continue
            events = trial_events(trial, objective)
            session_dir = self.log_dir / str(trial.trial_id)
            end = trial.end_time if trial.end_time is not None else time.time()
            written += _replace_event_file(session_dir, TRIAL_FILE_MARK, events, end)
            self._written[trial.trial_id] = state
        return written


class TensorBoardHParams(SearchCallback):
    """A search callback that writes the HParams dashboard of a search as its trials end.

    The Keras :class:`~tuner.Tuner` adds one for each ``keras.callbacks.TensorBoard`` passed to
    ``search()``; add one yourself to any tuner with ``tuner.add_search_callback``. A failure to
    write is reported as a warning: the dashboard is a view, and the search goes on.

    Args:
        log_dir: The TensorBoard log directory.

    Example:
        >>> import tuner as kt
        >>> tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=2,
        ...                         directory="runs", project_name="hparams")
        >>> tuner.add_search_callback(TensorBoardHParams("logs"))
    """

    def __init__(self, log_dir: str | os.PathLike[str]):
        self.log_dir = str(log_dir)
        self._writer = HParamsWriter(log_dir)

    def write(self, tuner: BaseTuner) -> None:
        """Writes what changed since the last call (the search so far)."""
        try:
            self._writer.write(SearchResults.from_tuner(tuner))
        except Exception as error:  # the search must not die for its dashboard
            warnings.warn(
                f"Could not write the TensorBoard HParams data to {self.log_dir}: {error!r}. "
                f"The trials are safe in {tuner.project_dir}; write it later with "
                "tuner.export_tensorboard(log_dir).",
                RuntimeWarning,
                stacklevel=2,
            )

    def on_search_begin(self, tuner: BaseTuner) -> None:
        self.write(tuner)

    def on_trial_end(self, tuner: BaseTuner, trial: Trial) -> None:
        self.write(tuner)


def execution_log_dir(log_dir: str, trial_id: str, execution: int) -> str:
    """``<log_dir>/<trial_id>/execution<k>``, emptied of what an earlier attempt left there.

    A trial runs again after a crash or a failure under the same id; its new curves replace
    the old ones rather than being drawn over them.
    """
    path = os.path.join(log_dir, str(trial_id), EXECUTION_DIR.format(execution))
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    return path


def export_hparams(project_dir: str, log_dir: str | None = None) -> str:
    """Writes the HParams dashboard of a project from its trial files alone.

    For a search run without a TensorBoard callback, spread over several workers, or resumed:
    finished trials are written once (a second export adds only the trials finished since), and
    running trials are left out. Nothing in the project is modified and nothing is imported or
    executed from it.

    Args:
        project_dir: ``<directory>/<project_name>``.
        log_dir: Where to write. Defaults to ``<project_dir>/logs``.

    Returns:
        The log directory, to pass to ``tensorboard --logdir``.

    Raises:
        StorageError: ``project_dir`` is not a tuner project.
        CorruptProjectFileError: A project file cannot be parsed (the message names it).

    Example:
        >>> export_hparams("runs/mlp")
        'runs/mlp/logs'
    """
    results = read_project(project_dir)
    target = str(ProjectLayout(Path(project_dir)).logs_dir) if log_dir is None else str(log_dir)
    HParamsWriter(target).write(results)
    return target


__all__ = [
    "EXPERIMENT_FILE_MARK",
    "SESSION_STATUS",
    "TRIAL_FILE_MARK",
    "HParamsWriter",
    "TensorBoardHParams",
    "execution_log_dir",
    "experiment_summary",
    "export_hparams",
    "final_metrics",
    "trial_events",
]
