"""Tuner: the search loop for Keras models (build, compile, fit, best weights, executions)."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import time
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import keras
import numpy as np

from tuner import errors
from tuner.execution.handle import OracleHandle
from tuner.execution.records import CrossValidationResults, normalize_result
from tuner.execution.shipping import Travel
from tuner.hypermodel import HyperModel
from tuner.hyperparameters import HyperParameters
from tuner.integrations import cross_validation, isolation
from tuner.objective import is_finite_number
from tuner.oracles.base import Oracle, trial_index
from tuner.search import BaseTuner
from tuner.storage.writer import atomic_output
from tuner.trial import Trial, TrialStatus

#: The file of a trial's best weights, in its folder (``checkpoints/<trial_id>/``).
WEIGHTS_FILE = "weights.npz"
#: The checkpoint entry holding ``model.get_build_config()`` as JSON.
BUILD_CONFIG_KEY = "build_config"
#: The entry older checkpoints held instead: ``model.input_shape`` as JSON.
_LEGACY_INPUT_SHAPE_KEY = "input_shape"


#: What every Keras execution records beside the model's metrics, so that size and speed can
#: be objectives or constraints: the parameter count and the mean wall time of an epoch so far.
COST_METRICS = ("model_params", "epoch_seconds")


class _TrialReporter(keras.callbacks.Callback):
    """Reports each epoch to the oracle and keeps the best epoch's weights in memory.

    Each epoch's report also holds :data:`COST_METRICS` (unless the model logs metrics of those
    names itself). It stops training when the oracle answers that the trial should stop.
    """

    def __init__(self, oracle: OracleHandle, trial: Trial):
        super().__init__()
        self._oracle = oracle
        self._trial = trial
        self._objective = oracle.objective
        self.best_value: float | None = None
        self.best_weights: list[np.ndarray] | None = None
        #: Whether the oracle asked the trial to stop.
        self.stopped = False
        #: The cost metrics of each epoch, to add to the History fit returns.
        self.cost_history: dict[str, list[float]] = {name: [] for name in COST_METRICS}
        self._epoch_seconds: list[float] = []
        self._epoch_start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_start = time.perf_counter()

    def _costs(self) -> dict[str, float]:
        self._epoch_seconds.append(time.perf_counter() - self._epoch_start)
        costs = {"epoch_seconds": sum(self._epoch_seconds) / len(self._epoch_seconds)}
        with contextlib.suppress(ValueError):  # a model that is still not built has no count
            costs["model_params"] = float(self.model.count_params())
        for name, value in costs.items():
            self.cost_history[name].append(value)
        return costs

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {name: float(value) for name, value in (logs or {}).items() if np.ndim(value) == 0}
        logs = {**self._costs(), **logs}
        status = self._oracle.update_trial(self._trial.trial_id, logs, step=epoch)
        if self._objective.has_value(logs):
            value = self._objective.get_value(logs)
            if is_finite_number(value) and (
                self.best_value is None or self._objective.better_than(value, self.best_value)
            ):
                self.best_value = value
                # In memory only: the trial's checkpoint is written once, when it ends.
                self.best_weights = [np.array(w) for w in self.model.get_weights()]
        if status == TrialStatus.STOPPED:
            self.stopped = True
            self.model.stop_training = True


class _TunerHooks(keras.callbacks.Callback):
    """Forwards Keras' epoch events to the tuner's ``on_epoch_begin``/``on_epoch_end`` hooks.

    It sits before the trial's reporter, so metrics a hook adds to ``logs`` are reported too.
    """

    def __init__(self, tuner: Tuner, trial: Trial):
        super().__init__()
        self._tuner = tuner
        self._trial = trial

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._tuner.on_epoch_begin(self._trial, self.model, epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._tuner.on_epoch_end(self._trial, self.model, epoch, logs)


class _TunerBatchHooks(_TunerHooks):
    """Also forwards training batches (used only when a batch hook is overridden)."""

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._tuner.on_batch_begin(self._trial, self.model, batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._tuner.on_batch_end(self._trial, self.model, batch, logs)


class Tuner(BaseTuner):
    """Tunes Keras models: builds one per trial, trains it with ``fit`` and keeps its best weights.

    Args:
        oracle: The search algorithm.
        hypermodel: A ``build_model(hp)`` function or a :class:`~tuner.HyperModel` returning a
            compiled Keras model (or an uncompiled one when ``optimizer`` and ``loss`` are given).
        max_model_size: Models with more parameters (``model.count_params()``) are not
            trained: their trial is FAILED, with a message naming the count and the limit, and
            counts towards ``max_consecutive_failed_trials``. A subclassed model that is only
            built by its first batch cannot be measured before training, so it is not checked.
        optimizer, loss, metrics: When given, the model is (re)compiled with them.
        distribution_strategy: A ``tf.distribute.Strategy`` (TensorFlow backend) or a
            ``keras.distribution.Distribution`` (e.g. ``DataParallel``): anything with a
            ``scope()``. Each model is built, compiled, trained and reloaded in its scope.
        executions_per_trial: Models trained per trial; metrics are averaged over them, and each
            execution's result is kept in ``trial.executions``.
        cv: Cross-validation: an int k (stratified k-fold for classification targets, k-fold
            otherwise, shuffled with the oracle's seed) or a scikit-learn splitter
            (``KFold(10)``, ``GroupKFold(5)`` with ``search(..., groups=...)``, ...). Each trial
            then trains one model per fold (and execution), validated on the fold's held-out
            part; its metrics are the means over folds, and ``trial.fold_statistics()`` holds
            the per-fold values. Needs scikit-learn, and array data in ``search(x, y)``.
        keep_top_k: None (default) keeps every trial's checkpoint. An integer k deletes, after
            each trial, the checkpoints of finished trials that are neither among the best k
            (``oracle.get_best_trials(k)``) nor still needed by the oracle to warm-start a
            trial (``oracle.warm_start_trial_ids()``: Hyperband keeps a bracket's until it
            ends), so long searches do not fill the disk.
        trial_isolation: ``"none"`` (default) trains every trial in the search process;
            ``"process"`` trains each trial in a fresh subprocess, which gives back all the
            memory TensorFlow keeps of each model (a few MB per trial otherwise), at the cost of
            starting Python and Keras once per trial (seconds). Numpy training data is shared
            through memory-mapped files; the hypermodel, callbacks and other fit arguments must
            be picklable (cloudpickle). See :mod:`tuner.integrations.isolation`.
        directory, project_name, overwrite, tuner_id, logger: See :class:`~tuner.BaseTuner`.
        **kwargs: The other arguments of :class:`~tuner.BaseTuner` (``workers``,
            ``search_callbacks``).

    Each execution starts from a fresh model. With a seed on the oracle, each execution's weights
    initialisation (and Keras' data shuffling) is seeded from it, so a whole search is
    reproducible. The best epoch's weights of the best execution are written once per trial to
    ``<project>/checkpoints/<trial_id>/weights.npz``.

    Subclasses may override keras-tuner's training hooks ``on_epoch_begin``, ``on_epoch_end``,
    ``on_batch_begin`` and ``on_batch_end`` (each ``(trial, model, epoch_or_batch, logs)``); they
    run in every execution through a Keras callback the tuner adds after the user's callbacks
    (with ``trial_isolation="process"``, in the trial's subprocess).

    Example:
        >>> import tuner as kt
        >>> def build_model(hp):
        ...     model = keras.Sequential([keras.layers.Dense(hp.Int("units", 8, 32)),
        ...                               keras.layers.Dense(1)])
        ...     model.compile("adam", "mse")
        ...     return model
        >>> tuner = kt.Tuner(kt.oracles.RandomSearchOracle("val_loss", max_trials=2),
        ...                  build_model, directory="runs", project_name="regression")
    """

    _attribute_travel: ClassVar[dict[str, Travel]] = {
        "keep_top_k": Travel.EVERYWHERE,
        "trial_isolation": Travel.EVERYWHERE,
        "cv": Travel.EVERYWHERE,
        "max_model_size": Travel.EVERYWHERE,
        "optimizer": Travel.EVERYWHERE,
        "loss": Travel.EVERYWHERE,
        "metrics": Travel.EVERYWHERE,
        "distribution_strategy": Travel.EVERYWHERE,
        "executions_per_trial": Travel.EVERYWHERE,
        "_current_model": Travel.EVERYWHERE,  # None between trials
        "_trial_data": Travel.NOWHERE,  # this process's trial subprocesses
        "_tensorboard_hparams": Travel.NOWHERE,  # writers of this process's event files
    }

    def __init__(
        self,
        oracle: Oracle,
        hypermodel: HyperModel | Any = None,
        max_model_size: int | None = None,
        optimizer: Any = None,
        loss: Any = None,
        metrics: Any = None,
        distribution_strategy: Any = None,
        directory: str | None = None,
        project_name: str | None = None,
        logger: Any = None,
        tuner_id: str | None = None,
        overwrite: bool = False,
        executions_per_trial: int = 1,
        cv: Any = None,
        keep_top_k: int | None = None,
        trial_isolation: str = "none",
        **kwargs: Any,
    ):
        if executions_per_trial < 1:
            raise ValueError(f"executions_per_trial must be >= 1, got {executions_per_trial}.")
        cross_validation.check_cv(cv)
        if keep_top_k is not None and (
            isinstance(keep_top_k, bool) or not isinstance(keep_top_k, int) or keep_top_k < 0
        ):
            raise ValueError(
                f"keep_top_k must be None (keep all) or an integer >= 0, got {keep_top_k!r}."
            )
        if max_model_size is not None and (
            isinstance(max_model_size, bool)
            or not isinstance(max_model_size, (int, np.integer))
            or max_model_size < 1
        ):
            raise ValueError(
                f"max_model_size must be None or a positive integer, got {max_model_size!r}."
            )
        if distribution_strategy is not None and not callable(
            getattr(distribution_strategy, "scope", None)
        ):
            raise TypeError(
                "distribution_strategy must be a tf.distribute.Strategy or a "
                "keras.distribution.Distribution (something with a scope() method), got "
                f"{distribution_strategy!r}."
            )
        self.keep_top_k = keep_top_k
        self.trial_isolation = isolation.check_isolation(trial_isolation)
        # Shared training data and the spare trial subprocess (trial_isolation="process").
        self._trial_data: isolation.TrialProcesses | None = None
        self.cv = cv
        self.max_model_size = max_model_size
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.distribution_strategy = distribution_strategy
        self.executions_per_trial = executions_per_trial
        self._current_model: Any = None
        # log_dir of each keras.callbacks.TensorBoard seen in search() -> its HParams writer.
        self._tensorboard_hparams: dict[str, Any] = {}
        super().__init__(
            oracle,
            hypermodel,
            directory=directory,
            project_name=project_name,
            overwrite=overwrite,
            tuner_id=tuner_id,
            logger=logger,
            **kwargs,
        )

    # --- building -------------------------------------------------------------------------------
    def _init_process_state(self) -> None:
        super()._init_process_state()
        self._trial_data = None
        self._tensorboard_hparams = {}

    def _distribution_scope(self) -> contextlib.AbstractContextManager[Any]:
        """The scope of ``distribution_strategy``, or a no-op without one."""
        if self.distribution_strategy is None:
            return contextlib.nullcontext()
        return self.distribution_strategy.scope()

    def _build_model(self, hp: HyperParameters) -> Any:
        with self._distribution_scope():
            model = self.hypermodel.build(hp)  # type: ignore[union-attr]
            self._override_compile(model)
        if model is None or not hasattr(model, "fit"):
            raise errors.FatalTypeError(
                f"The hypermodel's build(hp) must return a Keras model, got {model!r}."
            )
        return model

    def _try_build(self, hp: HyperParameters) -> Any:
        """Builds a model for ``hp``, checking its size against ``max_model_size``."""
        # Free the previous trial's graph state; the garbage collection is left to Python.
        keras.backend.clear_session(free_memory=False)
        model = self._build_model(hp)
        if self.max_model_size is not None:
            try:
                size = model.count_params()
            except ValueError:  # an unbuilt subclassed model: its size is unknown yet
                size = None
            if size is not None and size > self.max_model_size:
                # FAILED, as in keras-tuner: a search whose every model is too big stops after
                # max_consecutive_failed_trials instead of ending quietly with no result.
                raise errors.FailedTrialError(
                    f"Oversized model: {size} parameters, more than max_model_size="
                    f"{self.max_model_size}. The trial is not trained; raise max_model_size or "
                    "shrink the search space."
                )
        return model

    def _override_compile(self, model: Any) -> None:
        if self.optimizer is None and self.loss is None and self.metrics is None:
            return
        optimizer = self.optimizer
        if optimizer is not None and not isinstance(optimizer, str):
            optimizer = optimizer.__class__.from_config(optimizer.get_config())  # a fresh state
        model.compile(
            optimizer=optimizer or getattr(model, "optimizer", None) or "adam",
            loss=self.loss if self.loss is not None else getattr(model, "loss", None),
            metrics=self.metrics,
        )

    def _build_for_discovery(self, hp: HyperParameters) -> None:
        keras.backend.clear_session(free_memory=False)
        self._build_model(hp)

    # --- running a trial -------------------------------------------------------------------------
    def _execution_seed(self, trial: Trial, execution: int) -> int | None:
        if self.oracle.seed is None:
            return None
        sequence = np.random.SeedSequence(
            [self.oracle.seed, trial_index(trial.trial_id), execution]
        )
        return int(sequence.generate_state(1)[0] % (2**31 - 1))

    def _copy_callbacks(
        self, callbacks: Sequence[Any] | None, trial: Trial, execution: int
    ) -> list[Any]:
        callbacks = list(callbacks or [])
        try:
            callbacks = copy.deepcopy(callbacks)
        except Exception as error:
            raise errors.FatalValueError(
                "Every callback passed to search() must support copy.deepcopy (each trial gets "
                f"its own copy); this one does not: {error}"
            ) from error
        for callback in callbacks:
            if isinstance(callback, keras.callbacks.TensorBoard):
                callback.log_dir = self._tensorboard_run_dir(callback.log_dir, trial, execution)
        return callbacks

    def _tensorboard_run_dir(self, log_dir: str, trial: Trial, execution: int) -> str:
        """``<log_dir>/<trial_id>/execution<k>``; the trials' HParams go to ``log_dir``."""
        from tuner.integrations import tensorboard  # only searches with TensorBoard need it

        key = os.path.abspath(log_dir)
        if key not in self._tensorboard_hparams:
            self._tensorboard_hparams[key] = tensorboard.TensorBoardHParams(log_dir)
        return tensorboard.execution_log_dir(log_dir, trial.trial_id, execution)

    def on_trial_end(self, trial: Trial) -> None:
        """Hands the trial to the oracle, then writes it to the HParams dashboards.

        Then deletes the checkpoints no longer needed (``keep_top_k``).
        """
        try:
            super().on_trial_end(trial)
        finally:  # also when too many failures end the search: the last failure shows too
            for hparams in self._tensorboard_hparams.values():
                hparams.write(self)
        self._delete_unneeded_checkpoints()

    def run_trial(self, trial: Trial, *fit_args: Any, **fit_kwargs: Any) -> list[Any]:
        """Trains ``executions_per_trial`` models and returns their histories.

        The best epoch's weights of the best execution are saved as the trial's checkpoint.
        """
        if self.trial_isolation == "process":
            # Registers the HParams writers of TensorBoard callbacks here, in the search process.
            self._copy_callbacks(fit_kwargs.get("callbacks"), trial, 0)
            return isolation.run_trial_in_subprocess(self, trial, fit_args, fit_kwargs)
        if self.cv is not None:
            return self._run_cross_validated_trial(trial, *fit_args, **fit_kwargs)
        if "groups" in fit_kwargs:
            raise errors.FatalValueError(
                "search(..., groups=...) is for cross-validation; pass cv= (e.g. GroupKFold(5)) "
                "to the tuner, or drop groups."
            )
        histories = []
        best_value: float | None = None
        best_weights: list[np.ndarray] | None = None
        objective = self.oracle.objective
        for execution in range(self.executions_per_trial):
            history, reporter = self._run_execution(trial, execution, fit_args, fit_kwargs)
            histories.append(history)
            weights, value = self._best_weights_of(reporter)
            if best_weights is None or (
                value is not None
                and (best_value is None or objective.better_than(value, best_value))
            ):
                best_value, best_weights = value, weights
            if reporter.stopped:  # the oracle ended the trial early: no more executions
                break
        if best_weights is not None:
            self._save_weights(trial.trial_id, best_weights, self._current_model)
        self._current_model = None
        return histories

    def _run_execution(
        self,
        trial: Trial,
        execution: int,
        fit_args: Sequence[Any],
        fit_kwargs: dict[str, Any],
    ) -> tuple[Any, _TrialReporter]:
        """Trains one fresh model of the trial; returns what fit returned and its reporter.

        ``execution`` numbers the models of a trial (folds included): it seeds the model and
        names its TensorBoard logs.
        """
        kwargs = dict(fit_kwargs)
        reporter = _TrialReporter(self.oracle, trial)
        kwargs["callbacks"] = [
            *self._copy_callbacks(fit_kwargs.get("callbacks"), trial, execution),
            self._hooks_callback(trial),
            reporter,
        ]
        if trial.budget is not None:
            kwargs["epochs"] = trial.budget.epochs
            kwargs["initial_epoch"] = trial.budget.initial_epoch
        seed = self._execution_seed(trial, execution)
        if seed is not None:
            keras.utils.set_random_seed(seed)
        history = self._build_and_fit_model(trial, *fit_args, **kwargs)
        _add_cost_history(history, reporter.cost_history)
        return history, reporter

    def _hooks_callback(self, trial: Trial) -> _TunerHooks:
        """The callback that calls this tuner's training hooks; batch hooks only if overridden.

        Keras calls every callback at every batch, so the batch-level forwarding is added only
        for a subclass that overrides ``on_batch_begin`` or ``on_batch_end``.
        """
        cls = type(self)
        if cls.on_batch_begin is Tuner.on_batch_begin and cls.on_batch_end is Tuner.on_batch_end:
            return _TunerHooks(self, trial)
        return _TunerBatchHooks(self, trial)

    # --- training hooks (keras-tuner's; no-ops here) ------------------------------------------
    def on_epoch_begin(
        self, trial: Trial, model: Any, epoch: int, logs: dict[str, Any] | None = None
    ) -> None:
        """Called at the start of each training epoch of each execution. Override it.

        Args:
            trial: The running trial.
            model: The Keras model being trained.
            epoch: The epoch's index (from ``initial_epoch``).
            logs: What Keras passes (usually empty).
        """

    def on_epoch_end(
        self, trial: Trial, model: Any, epoch: int, logs: dict[str, Any] | None = None
    ) -> None:
        """Called at the end of each training epoch, before the epoch is reported. Override it.

        Args:
            trial: The running trial.
            model: The Keras model being trained.
            epoch: The epoch's index.
            logs: The epoch's metrics; a metric added here is reported to the oracle too.
        """

    def on_batch_begin(
        self, trial: Trial, model: Any, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        """Called before each training batch. Override it (it costs nothing otherwise).

        Args:
            trial: The running trial.
            model: The Keras model being trained.
            batch: The batch's index within the epoch.
            logs: What Keras passes (usually empty).
        """

    def on_batch_end(
        self, trial: Trial, model: Any, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        """Called after each training batch. Override it (it costs nothing otherwise).

        Args:
            trial: The running trial.
            model: The Keras model being trained.
            batch: The batch's index within the epoch.
            logs: The batch's metrics so far.
        """

    def _best_weights_of(self, reporter: _TrialReporter) -> tuple[list[np.ndarray], float | None]:
        """The best epoch's weights of the last model trained, and its objective value."""
        if reporter.best_weights is None:  # fit ran without our callback (a custom fit)
            return self._current_model.get_weights(), None
        return reporter.best_weights, reporter.best_value

    def _run_cross_validated_trial(
        self, trial: Trial, *fit_args: Any, **fit_kwargs: Any
    ) -> CrossValidationResults:
        """Trains one model per fold and execution, validated on the fold's held-out part.

        Each finished fold is persisted at once (``oracle.record_execution``); the folds a
        trial already finished before an interruption are not run again. The checkpoint holds
        the best epoch's weights of the best fold, written before that fold is recorded.
        """
        fit_kwargs = dict(fit_kwargs)
        groups = fit_kwargs.pop("groups", None)
        data = cross_validation.FoldableFitArguments.from_fit_arguments(fit_args, fit_kwargs)
        # The oracle's effective seed (persisted in project.json): a resumed search, and every
        # trial, get the same folds even when the user gave no seed.
        folds = cross_validation.split_indices(
            self.cv, data.n_samples, data.y, groups, seed=self.oracle.effective_seed
        )
        objective = self.oracle.objective
        finished = cross_validation.finished_runs(trial)
        records = [
            record
            for (fold, execution), record in finished.items()
            if fold < len(folds) and execution < self.executions_per_trial
        ]
        has_checkpoint = bool(records)  # a fold is recorded only after the checkpoint
        best_score = None
        for record in records:
            score = record.score
            if (
                score is not None
                and is_finite_number(score)
                and (best_score is None or objective.better_than(score, best_score))
            ):
                best_score = score
        for fold, (train, held_out) in enumerate(folds):
            args, kwargs = data.for_fold(train, held_out)
            for execution in range(self.executions_per_trial):
                if (fold, execution) in finished:
                    continue
                run = fold * self.executions_per_trial + execution
                history, reporter = self._run_execution(trial, run, args, kwargs)
                run_record = normalize_result(history, objective).records[0]
                record = replace(run_record, fold=fold, execution=execution)
                score = record.score
                improves = (
                    score is not None
                    and is_finite_number(score)
                    and (best_score is None or objective.better_than(score, best_score))
                )
                if improves or not has_checkpoint:
                    weights, _ = self._best_weights_of(reporter)
                    self._save_weights(trial.trial_id, weights, self._current_model)
                    has_checkpoint = True
                    if improves:
                        best_score = score
                self.oracle.record_execution(trial.trial_id, record)
                records.append(record)
                if reporter.stopped:  # the oracle ended the trial early: no more folds
                    self._current_model = None
                    return CrossValidationResults(records)
        self._current_model = None
        return CrossValidationResults(records)

    def _build_and_fit_model(self, trial: Trial, *fit_args: Any, **fit_kwargs: Any) -> Any:
        """Builds the trial's model and fits it; returns what ``HyperModel.fit`` returned."""
        hp = trial.hyperparameters
        model = self._try_build(hp)
        if trial.budget is not None and trial.budget.parent_trial_id is not None:
            self._warm_start(model, trial)
        self._current_model = model
        with self._distribution_scope():  # a keras.distribution shards the data in fit
            return self.hypermodel.fit(hp, model, *fit_args, **fit_kwargs)  # type: ignore[union-attr]

    def _warm_start(self, model: Any, trial: Trial) -> None:
        """Loads the parent's best weights into a promoted trial's model (Hyperband, ASHA)."""
        parent_id = str(trial.budget.parent_trial_id)  # type: ignore[union-attr]
        path = self._checkpoint_path(parent_id)
        if not path.exists():
            raise errors.FailedTrialError(
                f"Trial {trial.trial_id} continues trial {parent_id} from epoch "
                f"{trial.budget.initial_epoch}, but {path} is missing (deleted by hand, or "  # type: ignore[union-attr]
                "the parent never saved weights), so it cannot start from the parent's weights."
            )
        try:
            with self._distribution_scope():
                self._load_weights(model, path)
        except errors.CorruptProjectFileError as error:  # retrying would read the same file
            raise errors.FailedTrialError(
                f"Trial {trial.trial_id} cannot start from the weights of trial {parent_id}: "
                f"{error}"
            ) from error

    # --- checkpoints -----------------------------------------------------------------------------
    def _checkpoint_path(self, trial_id: str) -> Path:
        return self._layout.trial_files_dir(str(trial_id)) / WEIGHTS_FILE

    def _save_weights(self, trial_id: str, weights: list[np.ndarray], model: Any = None) -> None:
        """Writes the weights (and the model's build config) atomically, as a pickle-free npz.

        The build config (Keras' ``model.get_build_config()``: the input shapes the model was
        first called with) lets :meth:`load_model` build a model that only builds itself on
        its first batch (a subclassed ``keras.Model``, a ``Sequential`` without ``Input``)
        before loading its weights.
        """
        arrays: dict[str, Any] = {f"arr_{i}": weight for i, weight in enumerate(weights)}
        build_config = _build_config_of(model)
        if build_config is not None:
            arrays[BUILD_CONFIG_KEY] = np.array(build_config)
        path = self._checkpoint_path(trial_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as handle:
            np.savez(handle, **arrays)

    def save_model(self, trial_id: str, model: Any, step: int = 0) -> None:
        """Saves ``model``'s weights as the checkpoint of ``trial_id`` (keras-tuner's hook)."""
        self._save_weights(trial_id, model.get_weights(), model)

    def load_model(self, trial: Trial) -> Any:
        """Rebuilds the trial's model and loads its best weights.

        Raises:
            StorageError: The trial has no checkpoint.
            CorruptProjectFileError: The checkpoint file is damaged.
            FatalValueError: The rebuilt model does not match the checkpoint's weights.
        """
        path = self._checkpoint_path(trial.trial_id)
        if not path.exists():
            raise errors.StorageError(
                f"Trial {trial.trial_id} has no saved weights ({path} is missing): it did not "
                "complete, or its checkpoint was deleted. Rebuild it with "
                "tuner.hypermodel.build(trial.hyperparameters) and train it again."
            )
        hp = trial.hyperparameters.copy()
        model = self._build_model(hp)
        with self._distribution_scope():
            self._load_weights(model, path)
        return model

    @staticmethod
    def _load_weights(model: Any, path: Path) -> None:
        """Sets a model's weights from a checkpoint, building the model first when needed."""
        weights, build_config = _read_checkpoint(path)
        if not getattr(model, "built", True) and build_config is not None:
            # A subclassed model (or a Sequential without Input) has no weights until it is
            # built: build it from the input shapes recorded when it was trained.
            model.build_from_config(build_config)
            if model.weights and all(layer.built for layer in getattr(model, "layers", [])):
                # As after a first call: summary() and count_params() work at once.
                model.built = True
        try:
            model.set_weights(weights)
        except ValueError as error:
            raise errors.FatalValueError(
                f"The weights in {path} do not fit the model that build_model(hp) returns for "
                f"these hyperparameters ({error}). Either the model-building code changed since "
                "the search, or the model cannot be built before its first batch: give it a "
                "keras.Input or call model.build(input_shape) in build_model."
            ) from error

    def _delete_unneeded_checkpoints(self) -> None:
        """Deletes the checkpoints no trial will read again.

        That is, those of finished trials outside the best ``keep_top_k`` that the oracle will
        not warm-start from.
        """
        warm_start_trial_ids = getattr(self.oracle, "warm_start_trial_ids", None)
        if self.keep_top_k is None or warm_start_trial_ids is None:
            return  # keep all; an oracle that cannot say what it needs keeps all too
        root = self._layout.checkpoints_dir
        if not root.is_dir():
            return
        keep = set(warm_start_trial_ids())
        keep |= {t.trial_id for t in self.oracle.get_best_trials(self.keep_top_k)}
        trials = self.oracle.trials
        for folder in root.iterdir():
            trial = trials.get(folder.name)
            if trial is not None and trial.status.is_finished and folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)


def _add_cost_history(history: Any, costs: Mapping[str, list[float]]) -> None:
    """Adds the cost metrics to what ``fit`` returned: a History's series, or a dict of values.

    A name the model logged itself is left alone, as is a result of another kind (a number a
    ``HyperModel.fit`` override returned).
    """
    series = getattr(history, "history", None)
    if isinstance(series, dict):
        epochs = len(next(iter(series.values()), []))
        for name, values in costs.items():
            if name not in series and len(values) == epochs:
                series[name] = list(values)
    elif isinstance(history, dict):
        for name, values in costs.items():
            if values:
                history.setdefault(name, values[-1])


def _build_config_of(model: Any) -> str | None:
    """``model.get_build_config()`` as JSON, or None when the model has none to give."""
    get_build_config = getattr(model, "get_build_config", None)
    if get_build_config is None:
        return None
    try:
        config = get_build_config()
        return json.dumps(config) if config else None
    except (TypeError, ValueError):  # shapes that are not plain ints (e.g. symbolic)
        return None


def _as_shapes(value: Any) -> Any:
    """Turns JSON lists back into shape tuples, batch size left open: ``[32, 5]`` -> ``(None, 5)``.

    The batch size recorded is the training batch's; a model rebuilt with it would refuse the
    ``model.build((None, ...))`` that user code (keras-tuner's guides) calls on it.
    """
    if isinstance(value, dict):
        return {key: _as_shapes(item) for key, item in value.items()}
    if isinstance(value, list):
        if all(item is None or isinstance(item, int) for item in value):
            return (None, *value[1:]) if value else ()
        return [_as_shapes(item) for item in value]
    return value


#: What numpy raises on a truncated, overwritten or edited npz file.
_DAMAGED_ARCHIVE_ERRORS = (zipfile.BadZipFile, EOFError, ValueError, KeyError, zlib.error)


def _read_checkpoint(path: Path) -> tuple[list[np.ndarray], dict[str, Any] | None]:
    """The weights and build config held in a checkpoint file.

    Raises:
        CorruptProjectFileError: The file is not a checkpoint tuner wrote, or it is damaged
            (truncated, overwritten, edited).
    """
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # a bare .npy array
            raise ValueError("a single array, not an npz archive of weights")
        with archive:
            names = set(archive.files)
            count = sum(name.startswith("arr_") for name in names)
            weights = [archive[f"arr_{i}"] for i in range(count)]
            build_config = None
            if BUILD_CONFIG_KEY in names:
                build_config = _as_shapes(json.loads(str(archive[BUILD_CONFIG_KEY])))
            elif _LEGACY_INPUT_SHAPE_KEY in names:
                shape = json.loads(str(archive[_LEGACY_INPUT_SHAPE_KEY]))
                build_config = {"input_shape": _as_shapes(shape)}
    except _DAMAGED_ARCHIVE_ERRORS as error:
        raise errors.CorruptProjectFileError(
            f"The checkpoint {path} is damaged and cannot be read ({type(error).__name__}: "
            f"{error}). Restore it from a backup, or delete it: the trial's hyperparameters "
            "stay in trials/, so tuner.hypermodel.build(trial.hyperparameters) rebuilds the "
            "model to train again."
        ) from error
    return weights, build_config
