"""Tuner: the search loop for Keras models (build, compile, fit, best weights, executions)."""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from tuner import errors
from tuner.hypermodel import HyperModel
from tuner.hyperparameters import HyperParameters
from tuner.objective import is_finite_number
from tuner.oracles.base import Oracle, trial_index
from tuner.search import BaseTuner
from tuner.trial import Trial, TrialStatus

CHECKPOINTS_DIR = "checkpoints"
WEIGHTS_FILE = "weights.npz"


class _TrialReporter(keras.callbacks.Callback):
    """Reports each epoch to the oracle and keeps the best epoch's weights in memory.

    It also stops training when the oracle answers that the trial should stop.
    """

    def __init__(self, oracle: Oracle, trial: Trial):
        super().__init__()
        self._oracle = oracle
        self._trial = trial
        self._objective = oracle.objective
        self.best_value: float | None = None
        self.best_weights: list[np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {name: float(value) for name, value in (logs or {}).items() if np.ndim(value) == 0}
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
            self.model.stop_training = True


class Tuner(BaseTuner):
    """Tunes Keras models: builds one per trial, trains it with ``fit`` and keeps its best weights.

    Args:
        oracle: The search algorithm.
        hypermodel: A ``build_model(hp)`` function or a :class:`~tuner.HyperModel` returning a
            compiled Keras model (or an uncompiled one when ``optimizer`` and ``loss`` are given).
        max_model_size: Models with more parameters are skipped (their trial is INVALID).
        optimizer, loss, metrics: When given, the model is (re)compiled with them.
        distribution_strategy: A ``tf.distribute`` strategy (TensorFlow backend only).
        executions_per_trial: Models trained per trial; metrics are averaged over them, and each
            execution's result is kept in ``trial.executions``.
        directory, project_name, overwrite, tuner_id, logger: See :class:`~tuner.BaseTuner`.

    Each execution starts from a fresh model. With a seed on the oracle, each execution's weights
    initialisation (and Keras' data shuffling) is seeded from it, so a whole search is
    reproducible. The best epoch's weights of the best execution are written once per trial to
    ``<project>/checkpoints/<trial_id>/weights.npz``.

    Example:
        >>> import tuner as kt
        >>> def build_model(hp):
        ...     model = keras.Sequential([keras.layers.Dense(hp.Int("units", 8, 32)),
        ...                               keras.layers.Dense(1)])
        ...     model.compile("adam", "mse")
        ...     return model
        >>> tuner = kt.Tuner(kt.oracles.RandomSearchOracle("val_loss", max_trials=2),
        ...                  build_model, directory="/tmp/kt_doc", overwrite=True)
    """

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
        **kwargs: Any,
    ):
        if executions_per_trial < 1:
            raise ValueError(f"executions_per_trial must be >= 1, got {executions_per_trial}.")
        self.max_model_size = max_model_size
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.distribution_strategy = distribution_strategy
        self.executions_per_trial = executions_per_trial
        self._current_model: Any = None
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
    def _build_model(self, hp: HyperParameters) -> Any:
        if self.distribution_strategy is not None:
            with self.distribution_strategy.scope():
                model = self.hypermodel.build(hp)  # type: ignore[union-attr]
                self._override_compile(model)
        else:
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
                raise errors.OversizedModelError(
                    f"The model has {size} parameters, more than max_model_size="
                    f"{self.max_model_size}; this trial is skipped."
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
                callback.log_dir = os.path.join(
                    callback.log_dir, str(trial.trial_id), f"execution{execution}"
                )
        return callbacks

    def run_trial(self, trial: Trial, *fit_args: Any, **fit_kwargs: Any) -> list[Any]:
        """Trains ``executions_per_trial`` models and returns their histories.

        The best epoch's weights of the best execution are saved as the trial's checkpoint.
        """
        histories = []
        best_value: float | None = None
        best_weights: list[np.ndarray] | None = None
        objective = self.oracle.objective
        for execution in range(self.executions_per_trial):
            kwargs = dict(fit_kwargs)
            reporter = _TrialReporter(self.oracle, trial)
            kwargs["callbacks"] = [
                *self._copy_callbacks(fit_kwargs.get("callbacks"), trial, execution),
                reporter,
            ]
            if trial.budget is not None:
                kwargs["epochs"] = trial.budget.epochs
                kwargs["initial_epoch"] = trial.budget.initial_epoch
            seed = self._execution_seed(trial, execution)
            if seed is not None:
                keras.utils.set_random_seed(seed)
            history = self._build_and_fit_model(trial, *fit_args, **kwargs)
            histories.append(history)
            weights = reporter.best_weights
            value = reporter.best_value
            if weights is None:  # fit ran without our callback (a custom HyperModel.fit)
                weights, value = self._current_model.get_weights(), None
            if best_weights is None or (
                value is not None
                and (best_value is None or objective.better_than(value, best_value))
            ):
                best_value, best_weights = value, weights
        if best_weights is not None:
            self._save_weights(trial.trial_id, best_weights)
        self._current_model = None
        return histories

    def _build_and_fit_model(self, trial: Trial, *fit_args: Any, **fit_kwargs: Any) -> Any:
        """Builds the trial's model and fits it; returns what ``HyperModel.fit`` returned."""
        hp = trial.hyperparameters
        model = self._try_build(hp)
        self._current_model = model
        return self.hypermodel.fit(hp, model, *fit_args, **fit_kwargs)  # type: ignore[union-attr]

    # --- checkpoints -----------------------------------------------------------------------------
    def _checkpoint_path(self, trial_id: str) -> Path:
        return Path(self.project_dir) / CHECKPOINTS_DIR / str(trial_id) / WEIGHTS_FILE

    def _save_weights(self, trial_id: str, weights: list[np.ndarray]) -> None:
        path = self._checkpoint_path(trial_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".weights.", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, *weights)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def save_model(self, trial_id: str, model: Any, step: int = 0) -> None:
        """Saves ``model``'s weights as the checkpoint of ``trial_id`` (keras-tuner's hook)."""
        self._save_weights(trial_id, model.get_weights())

    def load_model(self, trial: Trial) -> Any:
        """Rebuilds the trial's model and loads its best weights."""
        path = self._checkpoint_path(trial.trial_id)
        if not path.exists():
            raise errors.StorageError(
                f"Trial {trial.trial_id} has no saved weights ({path} is missing): it did not "
                "complete, or its checkpoint was deleted. Rebuild it with "
                "tuner.hypermodel.build(trial.hyperparameters) and train it again."
            )
        hp = trial.hyperparameters.copy()
        model = self._build_model(hp)
        with np.load(path, allow_pickle=False) as archive:
            weights = [archive[f"arr_{i}"] for i in range(len(archive.files))]
        model.set_weights(weights)
        return model
