"""BaseTuner: the framework-free search loop, resume, best trials and summaries."""

from __future__ import annotations

import difflib
import inspect
import time
import traceback
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from tuner import errors
from tuner.callbacks import SearchCallback
from tuner.display import ConsoleDisplay
from tuner.execution.handle import OracleHandle
from tuner.execution.records import ExecutionRecord, normalize_result
from tuner.execution.scoring import mean_metrics
from tuner.execution.shipping import Travel
from tuner.hypermodel import HyperModel, get_hypermodel
from tuner.hyperparameters import HyperParameters
from tuner.logger import LoggerCallback
from tuner.objective import DEFAULT_OBJECTIVE_NAME, MultiObjective, is_default_objective
from tuner.oracles.base import Oracle, values_key
from tuner.pareto import pareto_front_text
from tuner.storage.base import Storage
from tuner.storage.json_dir import JsonDirStorage
from tuner.storage.layout import ProjectLayout
from tuner.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from tuner.distribute.config import RayWorkers

#: Builds made at most to discover conditional branches before a grid search.
_MAX_DISCOVERY_BUILDS = 32
#: Seconds a tuner waits when the oracle has nothing to propose yet.
_IDLE_WAIT = 0.5
#: The built-in ``run_trial`` methods, which build ``self.hypermodel`` (so a tuner using one
#: needs a hypermodel), as (module, qualified name): the Keras ones are not imported to check.
_HYPERMODEL_RUN_TRIALS = {
    ("tuner.search", "BaseTuner.run_trial"),
    ("tuner.integrations.keras", "Tuner.run_trial"),
    ("tuner.integrations.sklearn", "SklearnTuner.run_trial"),
}


class BaseTuner:
    """Runs a search: asks the oracle for trials, runs them, and reports the results.

    Framework-free: override :meth:`run_trial` to tune anything. The Keras :class:`~tuner.Tuner`
    builds on it.

    Args:
        oracle: The search algorithm (an :class:`~tuner.oracles.Oracle`).
        hypermodel: A :class:`~tuner.HyperModel` or a ``build_model(hp)`` function. Optional when
            :meth:`run_trial` is overridden.
        directory: Parent folder of the project directory. Defaults to ``"."``.
        project_name: Name of the project directory. Defaults to ``"untitled_project"``.
        overwrite: Delete an existing project of that name instead of resuming it.
        tuner_id: Name of this tuner among workers. Defaults to ``"tuner0"``.
        logger: A keras-tuner logger (``register_tuner``, ``register_trial``,
            ``report_trial_state``, ``exit``), called as keras-tuner <= 1.3 did, through a
            :class:`~tuner.logger.LoggerCallback`; see :mod:`tuner.logger`. Deprecated in
            keras-tuner 1.4, so a ``DeprecationWarning`` says so when one is given; for new
            code, a :class:`~tuner.SearchCallback` in ``search_callbacks`` does the same. Kept
            as ``tuner.logger``.
        workers: None (default) runs the trials one after another in this process;
            :class:`~tuner.RayWorkers` runs them in parallel on Ray (same project directory).
        search_callbacks: :class:`~tuner.SearchCallback` objects that see the search and each
            trial begin and end (an MLflow tracker, a dashboard), as if each were added with
            :meth:`add_search_callback`. Keyword only. With Ray workers they are shipped to
            the workers, where the trials run (see :class:`~tuner.SearchCallback`).

    Example:
        >>> import tempfile
        >>> import tuner as kt
        >>> class QuadraticTuner(kt.BaseTuner):
        ...     def run_trial(self, trial, *args, **kwargs):
        ...         x = trial.hyperparameters.Float("x", -2.0, 2.0)
        ...         return {"loss": (x - 0.5) ** 2}
        >>> search = QuadraticTuner(
        ...     kt.oracles.RandomSearchOracle(objective="loss", max_trials=5, seed=1),
        ...     directory=tempfile.mkdtemp(), project_name="quadratic")
        >>> search.search(verbose=0)
        >>> len(search.oracle.trials)
        5
    """

    #: Where each attribute set here goes when trials run in another process (see
    #: :mod:`tuner.execution.shipping`; subclasses declare their own the same way).
    _attribute_travel: ClassVar[dict[str, Travel]] = {
        "oracle": Travel.NOWHERE,  # a remote handle takes its place
        "_storage": Travel.NOWHERE,
        "workers": Travel.NOWHERE,
        "logger": Travel.LOOP,  # called by its LoggerCallback, which travels with the loop
        "_display": Travel.LOOP,
        "_search_callbacks": Travel.LOOP,
        "_declared_names": Travel.LOOP,  # read by search_space_summary only
        "hypermodel": Travel.EVERYWHERE,
        "directory": Travel.EVERYWHERE,
        "project_name": Travel.EVERYWHERE,
        "tuner_id": Travel.EVERYWHERE,
    }

    _storage: Storage

    def __init__(
        self,
        oracle: Oracle,
        hypermodel: HyperModel | Any = None,
        directory: str | None = None,
        project_name: str | None = None,
        overwrite: bool = False,
        tuner_id: str | None = None,
        logger: Any = None,
        workers: RayWorkers | None = None,
        *,
        search_callbacks: Iterable[SearchCallback] | None = None,
        **kwargs: Any,
    ):
        if kwargs:
            raise errors.InvalidArgumentError(_unrecognized_arguments(type(self), kwargs))
        if not isinstance(oracle, Oracle):
            raise errors.InvalidArgumentError(
                "oracle must be an instance of kt.Oracle (e.g. kt.oracles.RandomSearchOracle"
                f"(...)), got {oracle!r} (of type {type(oracle).__name__})."
            )
        if hypermodel is not None and not (
            isinstance(hypermodel, HyperModel) or callable(hypermodel)
        ):
            raise errors.InvalidArgumentError(
                "hypermodel must be a kt.HyperModel or a function build_model(hp), got "
                f"{hypermodel!r} (of type {type(hypermodel).__name__})."
            )
        if hypermodel is None and _run_trial_needs_hypermodel(type(self)):
            raise errors.InvalidArgumentError(
                f"{type(self).__name__} received hypermodel=None. A hypermodel (a "
                "build_model(hp) function or a kt.HyperModel) is needed, unless you subclass "
                "the tuner and override run_trial(self, trial, *args, **kwargs) to define and "
                "evaluate the search space yourself."
            )
        if workers is not None:
            from tuner.distribute.config import RayWorkers  # does not import Ray

            if not isinstance(workers, RayWorkers):
                raise TypeError(f"workers must be kt.RayWorkers(...) or None, got {workers!r}.")
        callbacks = _check_search_callbacks(search_callbacks)
        _refuse_keras_tuner_distribution()
        if logger is not None:
            warnings.warn(
                "The `logger` argument is deprecated (as in keras-tuner 1.4); tuner still calls "
                "it as keras-tuner 1.3 did. Pass a kt.SearchCallback in search_callbacks=[...] "
                "instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        self.workers = workers
        #: The oracle, through the only surface the loop uses (a remote one on a Ray worker).
        self.oracle: OracleHandle = oracle
        self.hypermodel = get_hypermodel(hypermodel)
        self.directory = str(directory) if directory is not None else "."
        self.project_name = project_name or "untitled_project"
        self.tuner_id = tuner_id or "tuner0"
        self.logger = logger
        self._display = ConsoleDisplay()
        self._search_callbacks: list[SearchCallback] = [self._display]
        if logger is not None:
            self._search_callbacks.append(LoggerCallback(logger))
        self._search_callbacks.extend(callbacks)
        self._open_project(oracle, overwrite)
        self._declare_hyperparameters()

    def _init_process_state(self) -> None:
        """Gives the attributes that never travel (:class:`Travel.NOWHERE`) fresh values.

        Called on a tuner rebuilt in another process from shipped attributes; subclasses that
        declare such attributes extend it.
        """
        self._storage = None  # type: ignore[assignment]  # a worker writes no project files
        self.workers = None
        if "logger" not in vars(self):  # a trial subprocess: the loop, and its logger, stay out
            self.logger = None

    # --- the project directory -------------------------------------------------------------------
    @property
    def project_dir(self) -> str:
        """``<directory>/<project_name>``."""
        return str(Path(self.directory) / self.project_name)

    @property
    def _layout(self) -> ProjectLayout:
        """The names of the project directory's files and folders."""
        return ProjectLayout(Path(self.project_dir))

    def _create_storage(self, project_dir: Path) -> Storage:
        """The storage of the project: the one place that chooses the backend."""
        return JsonDirStorage(project_dir)

    def _open_project(self, oracle: Oracle, overwrite: bool) -> None:
        project_dir = Path(self.project_dir)
        self._storage = self._create_storage(project_dir)
        if overwrite:
            self._storage.clear()  # before the lock: a refused folder is left as it was
        with self._storage.lock():
            reloaded = oracle.attach_storage(self._storage)
        if reloaded:
            print(f"Reloading Tuner from {project_dir}")

    def _declare_hyperparameters(self) -> None:
        """Adds what ``HyperModel.declare_hyperparameters`` registers to the space, as keras-tuner.

        Called once the project is open (a resumed one too: names already known are kept as
        they are), so that the declared hyperparameters are in the space before any build.
        """
        #: Names only the declaration put in the space (the summary still builds to find more).
        self._declared_names: set[str] = set()
        if self.hypermodel is None:
            return
        hp = self.oracle.get_space()
        known = {entry.name for entry in hp.space}
        self.hypermodel.declare_hyperparameters(hp)
        self.oracle.update_space(hp)
        self._declared_names = {entry.name for entry in hp.space} - known

    def add_search_callback(self, callback: SearchCallback) -> None:
        """Adds a callback that sees the search and each trial begin and end."""
        self._search_callbacks.append(callback)

    # --- the loop --------------------------------------------------------------------------------
    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """Runs trials until the oracle stops; arguments go to :meth:`run_trial` (then ``fit``).

        A search on an existing project resumes it: finished trials are kept, and trials that
        were running when it stopped run again.
        """
        self._display.verbose = fit_kwargs.get("verbose", 1)
        with self._storage.lock():
            try:
                self.on_search_begin()
                if self.workers is None:
                    self._run_trials(*fit_args, **fit_kwargs)
                else:  # Ray workers run _run_trials against this tuner's oracle
                    self.workers.run_search(self, fit_args, fit_kwargs)
            except BaseException as error:
                self._interrupt_callbacks(error)
                raise
            self.on_search_end()

    def _run_trials(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """The trial loop: asks ``self.oracle`` for trials and runs them until it stops.

        The one loop of every search: a Ray worker runs it too, with a remote handle of the
        oracle as ``self.oracle``.
        """
        while True:
            trial = self.oracle.create_trial(self.tuner_id)
            if trial.status == TrialStatus.STOPPED:
                break
            if trial.status == TrialStatus.IDLE:
                time.sleep(_IDLE_WAIT)
                continue
            self.on_trial_begin(trial)
            self._try_run_and_update_trial(trial, *fit_args, **fit_kwargs)
            self.on_trial_end(trial)

    def _try_run_and_update_trial(self, trial: Trial, *fit_args: Any, **fit_kwargs: Any) -> None:
        hp = trial.hyperparameters
        hp.new_entry_sampler = lambda entry: self.oracle.sample_new_entry(trial.trial_id, entry)
        try:
            results = self.run_trial(trial, *fit_args, **fit_kwargs)
            self._record_results(trial, results)
            if trial.status == TrialStatus.RUNNING:
                trial.status = TrialStatus.COMPLETED
        except errors.FatalError:
            raise
        except errors.FailedTrialError:  # an oversized model too: final, as in keras-tuner
            trial.status, trial.message = TrialStatus.FAILED, traceback.format_exc()
            trial.retryable = False
        except Exception:  # INVALID: run again while max_retries_per_trial allows
            trial.status, trial.message = TrialStatus.INVALID, traceback.format_exc()
        finally:
            hp.new_entry_sampler = None
            self.oracle.update_space(hp)

    def run_trial(self, trial: Trial, *fit_args: Any, **fit_kwargs: Any) -> Any:
        """Evaluates one trial. Override it to tune anything.

        Returns:
            The objective's value (a float), a dict of metrics, a Keras ``History``, or a list
            of these (one per execution), whose metrics are averaged. It may also return None
            after reporting metrics itself with ``self.oracle.update_trial``.
        """
        hp = trial.hyperparameters
        model = self.hypermodel.build(hp)  # type: ignore[union-attr]
        return self.hypermodel.fit(hp, model, *fit_args, **fit_kwargs)  # type: ignore[union-attr]

    # --- turning results into metrics ------------------------------------------------------------
    def _record_results(self, trial: Trial, results: Any) -> None:
        """Records what ``run_trial`` returned on the trial: its executions, and its metrics.

        The oracle scores the trial when it ends (:mod:`tuner.execution.scoring`).
        """
        objective = self.oracle.objective
        normalized = normalize_result(results, objective)
        if normalized.reported_itself:
            if trial.metrics.metrics:
                return  # run_trial reported through oracle.update_trial itself
            raise errors.FatalTypeError(
                "run_trial returned None and reported no metrics. Return the objective's value, "
                "a dict of metrics, a Keras History or a list of them."
            )
        records = list(normalized.records)
        means = mean_metrics(records)
        if not objective.has_value(means):
            raise errors.ObjectiveNotFoundError(
                _missing_objective_message(objective, trial, means, records)
            )
        if not trial.metrics.metrics:  # nothing reported live: record what the results hold
            if normalized.steps:
                for steps in normalized.steps:
                    for step, metrics in steps:
                        self.oracle.update_trial(trial.trial_id, metrics, step=step)
            else:  # cross-validation folds, which report no steps of their own
                self.oracle.update_trial(trial.trial_id, means, step=0)
        trial.executions = records

    # --- hooks -----------------------------------------------------------------------------------
    def on_search_begin(self) -> None:
        """Called when the search starts. Call ``super()`` when overriding."""
        if self.oracle.needs_initial_space and not self.oracle.trials:
            self._populate_initial_space()
        for callback in self._search_callbacks:
            callback.on_search_begin(self)

    def on_search_end(self) -> None:
        """Called when the search ends normally."""
        for callback in self._search_callbacks:
            callback.on_search_end(self)

    def _interrupt_callbacks(self, error: BaseException) -> None:
        """Tells every search callback that the search stopped on ``error``.

        Each one is told even if another fails, so that none keeps holding a resource (the
        live display the terminal, a tracker its run).
        """
        for callback in self._search_callbacks:
            try:
                callback.on_search_interrupted(self, error)
            except Exception as callback_error:  # the search's own error is the one to raise
                warnings.warn(
                    f"Search callback {type(callback).__name__} failed while the search "
                    f"stopped: {callback_error!r}",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def on_trial_begin(self, trial: Trial) -> None:
        """Called before a trial runs."""
        for callback in self._search_callbacks:
            callback.on_trial_begin(self, trial)

    def on_trial_end(self, trial: Trial) -> None:
        """Called after a trial ran: hands it to the oracle. Call ``super()`` when overriding."""
        self.oracle.end_trial(trial)
        for callback in self._search_callbacks:
            callback.on_trial_end(self, trial)

    def _build_for_discovery(self, hp: HyperParameters) -> None:
        """Builds the model once so that the hyperparameters it defines get registered."""
        self.hypermodel.build(hp)  # type: ignore[union-attr]

    def _populate_initial_space(self) -> None:
        """Discovers the whole space (every conditional branch) before a grid search."""
        if self.hypermodel is None:
            return
        explored: set[str] = set()
        assignments: list[dict[str, Any]] = [{}]
        for _ in range(_MAX_DISCOVERY_BUILDS):
            if not assignments:
                break
            hp = self.oracle.get_space().with_values(assignments.pop(0))
            self._build_for_discovery(hp)
            self.oracle.update_space(hp)
            explored.add(values_key(hp.values))
            for entry in self.oracle.hyperparameters.space:
                for condition in entry.conditions:
                    for value in condition.values:
                        assignment = {condition.parent_name: value}
                        key = values_key(assignment)
                        if key not in explored:
                            explored.add(key)
                            assignments.append(assignment)

    # --- results ---------------------------------------------------------------------------------
    @property
    def remaining_trials(self) -> int | None:
        """How many trials the oracle may still create (keras-tuner's attribute).

        ``max_trials`` minus the trials so far; None without ``max_trials`` (except where the
        algorithm's plan says, as for grid search and Hyperband).
        """
        return self.oracle.remaining_trials

    def get_trial_dir(self, trial_id: str) -> str:
        """The folder of a trial's files, created if need be: ``<project_dir>/checkpoints/<id>``.

        keras-tuner's is ``<project_dir>/trial_<id>``, holding the trial's record and files.
        tuner keeps the record in ``trials/<id>.json``, and the trial's files in this folder:
        the Keras tuner's best weights, and whatever a ``run_trial`` override writes there.
        Files written there by a Ray worker are shipped back into the project directory when
        the trial ends; ``keep_top_k`` deletes the folder of a trial that is not among the best.

        Raises:
            ValueError: ``trial_id`` is empty or holds a path separator.
        """
        path = self._layout.trial_files_dir(trial_id)
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        """The hyperparameters of the best trials, best first."""
        return [trial.hyperparameters for trial in self.oracle.get_best_trials(num_trials)]

    def get_pareto_front(self) -> list[Trial]:
        """The non-dominated, feasible, COMPLETED trials (see ``Oracle.get_pareto_front``)."""
        return self.oracle.get_pareto_front()

    def load_model(self, trial: Trial) -> Any:
        """Rebuilds the model of a trial with its best weights (Keras tuners implement it)."""
        raise NotImplementedError(f"{type(self).__name__} does not save models.")

    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The models of the best trials, rebuilt with their best weights, best first."""
        return [self.load_model(trial) for trial in self.oracle.get_best_trials(num_models)]

    def search_space_summary(self, extended: bool = False) -> None:
        """Prints the search space, as keras-tuner does.

        Before the first trial the space is discovered by building the model once (only then,
        so a search that never asks pays no extra build).
        """
        known = {hp.name for hp in self.oracle.hyperparameters.space}
        if known <= self._declared_names and not self.oracle.trials:
            self._populate_initial_space()
        space = self.oracle.get_space()
        print("Search space summary")
        print(f"Default search space size: {len(space)}")
        for hp in space.space:
            if not extended and hp.name.startswith("tuner/"):
                continue
            config = hp.get_config()
            config.pop("name")
            print(f"{hp.name} ({hp.type_name})")
            print(config)

    def results_dataframe(self) -> Any:
        """One row per trial as a pandas DataFrame (pandas is optional).

        Columns: ``trial_id``, ``status``, ``score``, ``best_step``, one per hyperparameter, the
        best and final value of every logged metric, spread over executions or folds when there
        are several, ``start_time``, ``duration`` and ``error``; see :mod:`tuner.results`.
        ``kt.load_results(directory, project_name)`` gives the same from the project directory.
        """
        from tuner.results import SearchResults  # pandas is imported there, only when called

        return SearchResults.from_tuner(self).to_dataframe()

    def export_tensorboard(self, log_dir: str | None = None) -> str:
        """Writes the HParams dashboard of this project's finished trials for TensorBoard.

        For a search run without a ``keras.callbacks.TensorBoard``; safe to repeat (a trial is
        written once). Any backend: TensorFlow is not needed. See
        :mod:`tuner.integrations.tensorboard`.

        Args:
            log_dir: Where to write. Defaults to ``<project_dir>/logs``.

        Returns:
            The log directory, for ``tensorboard --logdir``.
        """
        from tuner.integrations.tensorboard import export_hparams  # tensorboard only when called

        self._storage.flush()
        return export_hparams(self.project_dir, log_dir)

    def results_summary(self, num_trials: int = 10) -> None:
        """Prints the best trials (id, hyperparameter values, score), as keras-tuner does."""
        print("Results summary")
        print(f"Results in {self.project_dir}")
        print(f"Showing {num_trials} best trials")
        print(self.oracle.objective)
        constraints = getattr(self.oracle, "constraints", ())
        if constraints:
            print(f"Constraints: {', '.join(c.describe() for c in constraints)}")
        if getattr(self.oracle, "time_budget_spent", False):
            oracle: Any = self.oracle
            print(
                f"The time budget ended the search: it ran {oracle.seconds_spent:.0f} s "
                f"(max_time={oracle.max_time:g} s)."
            )
        for trial in self.oracle.get_best_trials(num_trials):
            print()
            trial.summary()
        if isinstance(self.oracle.objective, MultiObjective):
            print()
            print(pareto_front_text(self.oracle.objective, self.oracle.get_pareto_front()))

    def save(self) -> None:
        """Writes the oracle's state and any record held back: the project folder is complete.

        Trials are otherwise written as they change (see :class:`~tuner.storage.Storage`).
        """
        self.oracle.save()
        self._storage.flush()

    def reload(self) -> None:
        """Reloads the search from the project directory."""
        self.oracle.reload()


def _run_trial_needs_hypermodel(cls: type) -> bool:
    """Whether ``cls`` runs trials with a built-in ``run_trial``, which builds the hypermodel."""
    run_trial = inspect.getattr_static(cls, "run_trial", None)
    where = (getattr(run_trial, "__module__", None), getattr(run_trial, "__qualname__", None))
    return where in _HYPERMODEL_RUN_TRIALS


def _check_search_callbacks(callbacks: Any) -> list[SearchCallback]:
    """``search_callbacks`` as a list, each entry checked to be a :class:`SearchCallback`."""
    if callbacks is None:
        return []
    if isinstance(callbacks, SearchCallback):
        return [callbacks]
    if isinstance(callbacks, (str, bytes, Mapping)) or not isinstance(callbacks, Iterable):
        raise errors.InvalidArgumentError(
            f"search_callbacks must be a list of kt.SearchCallback, got {callbacks!r}."
        )
    checked = list(callbacks)
    for index, callback in enumerate(checked):
        if not isinstance(callback, SearchCallback):
            raise errors.InvalidArgumentError(
                f"search_callbacks[{index}] is {callback!r} (of type "
                f"{type(callback).__name__}), not a kt.SearchCallback. Keras callbacks go to "
                "search(..., callbacks=[...]); a search callback subclasses kt.SearchCallback."
            )
    return checked


def _unrecognized_arguments(cls: type, arguments: Mapping[str, Any]) -> str:
    """keras-tuner's "Unrecognized arguments" message, with the closest known names."""
    known = [
        name
        for klass in cls.__mro__
        if "__init__" in vars(klass)
        for name in inspect.signature(vars(klass)["__init__"]).parameters
        if name not in ("self", "args", "kwargs")
    ]
    hints = []
    for name in sorted(arguments):
        close = difflib.get_close_matches(name, known, n=1)
        if close:
            hints.append(f"{name!r}: did you mean {close[0]!r}?")
    hint = f" ({'; '.join(hints)})" if hints else ""
    return f"Unrecognized arguments {sorted(arguments)} for {cls.__name__}(){hint}."


def _refuse_keras_tuner_distribution() -> None:
    """Refuses a process launched for keras-tuner's distributed tuning (not supported yet)."""
    from tuner.distribute.config import keras_tuner_distribution_variables  # no Ray import

    found = keras_tuner_distribution_variables()
    if found:
        names = ", ".join(f"{name}={value!r}" for name, value in found.items())
        raise errors.UnsupportedLaunchError(
            f"This process has keras-tuner's distributed-tuning environment variables set "
            f"({names}). Launching a chief oracle and workers through KERASTUNER_* variables "
            "is not supported yet: unset them, and run one search process with "
            "workers=kt.RayWorkers(n) to run n trials in parallel on Ray."
        )


def _missing_objective_message(
    objective: Any, trial: Trial, means: Mapping[str, float], records: list[ExecutionRecord]
) -> str:
    """Why a trial's results cannot be scored, and what to change."""
    if is_default_objective(objective):
        return (
            "No objective was given, so run_trial (or HyperModel.fit) must return a single "
            f"number, which is recorded as {DEFAULT_OBJECTIVE_NAME!r} and minimized (as in "
            f"keras-tuner), or a dict with the key {DEFAULT_OBJECTIVE_NAME!r}. Trial "
            f"{trial.trial_id} returned the metrics {sorted(means)}: pass one of them as "
            'objective= (e.g. objective="val_loss") to the tuner or oracle.'
        )
    if any(record.fold is not None for record in records):
        return (
            f"The objective {objective!r} is not among the metrics every fold of trial "
            f"{trial.trial_id} reported: {sorted(means)}. Choose one of these as objective, or "
            "add the metric (e.g. compile(metrics=[...]))."
        )
    return (
        f"The objective {objective!r} is not among the metrics of trial {trial.trial_id}: "
        f"{sorted(means)}. Choose one of these as objective, or add the metric (e.g. "
        "compile(metrics=[...]) and validation data)."
    )
