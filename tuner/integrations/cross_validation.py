"""Cross-validation as a tuner's objective: resolving ``cv=``, splitting data, fold records.

Shared by the Keras :class:`~tuner.Tuner` and :class:`~tuner.SklearnTuner`. A cross-validated
trial trains one model per fold (and per execution), with that fold's held-out part as its
validation data; each finished fold is appended to ``trial.executions`` as an
:class:`~tuner.execution.ExecutionRecord` with its ``fold`` and ``execution``, persisted at
once (:meth:`~tuner.oracles.Oracle.record_execution`), so a search killed in the middle of a
trial's folds runs only the missing folds when it resumes. The trial's metrics are the means
over folds; :meth:`~tuner.Trial.fold_statistics` gives the per-fold values and their spread.

scikit-learn is needed only here, and imported on first use.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 1] * 10)
    >>> folds = split_indices(5, n_samples=20, y=y, groups=None, seed=1)
    >>> len(folds), sorted(np.concatenate([held_out for _, held_out in folds]).tolist()) == list(
    ...     range(20))
    (5, True)
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuner import errors
from tuner.execution.records import ExecutionRecord
from tuner.trial import Trial

#: scikit-learn target types that get a stratified split when ``cv`` is an int.
CLASSIFICATION_TARGET_TYPES = ("binary", "multiclass")

FoldIndices = tuple[np.ndarray, np.ndarray]


def import_sklearn_module(name: str, feature: str = "cv=") -> Any:
    """Imports a scikit-learn module, or raises a clear error saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise errors.missing_dependency("scikit-learn", feature, "cv") from error


def check_cv(cv: Any) -> None:
    """Validates a ``cv=`` argument when a tuner is built, so that mistakes surface early.

    Args:
        cv: None, an int k >= 2, or a scikit-learn splitter (an object with ``split`` and
            ``get_n_splits``).

    Raises:
        ValueError: ``cv`` is none of these.
        MissingDependencyError: ``cv`` is an int and scikit-learn is not installed.
    """
    if cv is None:
        return
    if isinstance(cv, bool) or (isinstance(cv, (int, np.integer)) and cv < 2):
        raise ValueError(
            f"cv must be an int >= 2 (the number of folds) or a scikit-learn splitter such as "
            f"KFold(5); got {cv!r}."
        )
    if isinstance(cv, (int, np.integer)):
        import_sklearn_module("sklearn.model_selection")
        return
    is_splitter = callable(getattr(cv, "split", None)) and callable(
        getattr(cv, "get_n_splits", None)
    )
    if isinstance(cv, type) or not is_splitter:  # KFold, not KFold(5), is a common slip
        raise ValueError(
            f"cv must be an int >= 2 or a scikit-learn splitter (an object with split() and "
            f"get_n_splits(), such as KFold(5) or GroupKFold(3)); got {cv!r}."
        )


def stratification_labels(y: Any, n_splits: int | None = None) -> np.ndarray | None:
    """The class labels to stratify on, or None when ``y`` is not a classification target.

    Binary and multiclass labels (``(n,)`` or ``(n, 1)``) are classes, and so are one-hot rows
    (Keras' ``categorical_crossentropy`` targets); continuous values are not. With
    ``n_splits``, labels where some class has fewer than ``n_splits`` members count as a
    regression target too: integral regression targets (ages, counts, scikit-learn's diabetes
    progression) look like many small classes, and cannot be stratified anyway.
    """
    if y is None:
        return None
    multiclass = import_sklearn_module("sklearn.utils.multiclass")
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels.ravel()
    try:
        target_type = multiclass.type_of_target(labels)
    except ValueError:
        return None
    if target_type == "multilabel-indicator" and np.all(labels.sum(axis=1) == 1):
        labels = labels.argmax(axis=1)
    elif target_type not in CLASSIFICATION_TARGET_TYPES:
        return None
    if n_splits is not None:
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() < n_splits:
            return None
    return labels


def resolve_splitter(cv: Any, y: Any, seed: int) -> Any:
    """The scikit-learn splitter for ``cv``.

    An int k gives ``StratifiedKFold(k)`` for a classification target (see
    :func:`stratification_labels`) and ``KFold(k)`` otherwise, both shuffled with ``seed``. A
    splitter object is used as given, except that a shuffling splitter without a
    ``random_state`` gets a copy seeded with ``seed``: every trial of a search, and a resumed
    search, must see the same folds for their scores to compare.
    """
    if isinstance(cv, (int, np.integer)):
        model_selection = import_sklearn_module("sklearn.model_selection")
        if stratification_labels(y, int(cv)) is not None:
            return model_selection.StratifiedKFold(int(cv), shuffle=True, random_state=seed)
        return model_selection.KFold(int(cv), shuffle=True, random_state=seed)
    shuffles = getattr(cv, "shuffle", True)
    if hasattr(cv, "random_state") and cv.random_state is None and shuffles:
        cv = copy.deepcopy(cv)
        cv.random_state = seed
    return cv


def split_indices(
    cv: Any, n_samples: int, y: Any = None, groups: Any = None, seed: int = 0
) -> list[FoldIndices]:
    """The (training, held-out) index arrays of every fold.

    Raises:
        FatalValueError: The splitter cannot split this data (missing ``groups``, more folds
            than samples or than members of a class, ...), or it gives an empty part.
    """
    splitter = resolve_splitter(cv, y, seed)
    labels = stratification_labels(y)
    target = labels if labels is not None else (None if y is None else np.asarray(y))
    placeholder = np.zeros((n_samples, 1), dtype=np.float32)  # splitters only count X's rows
    try:
        folds = [
            (np.asarray(train), np.asarray(held_out))
            for train, held_out in splitter.split(placeholder, target, groups)
        ]
    except ValueError as error:
        raise errors.FatalValueError(
            f"cv={cv!r} cannot split this data: {error} (GroupKFold and the other group "
            "splitters need search(..., groups=...))."
        ) from error
    if not folds:
        raise errors.FatalValueError(f"cv={cv!r} produced no folds.")
    for index, (train, held_out) in enumerate(folds):
        if len(train) == 0 or len(held_out) == 0:
            raise errors.FatalValueError(
                f"Fold {index} of cv={cv!r} has an empty training or held-out part; use fewer "
                "folds or more data."
            )
    return folds


# --- splitting fit() arguments ------------------------------------------------------------------
def _is_splittable_leaf(data: Any) -> bool:
    return isinstance(data, np.ndarray) or (
        hasattr(data, "shape") and hasattr(data, "__len__") and not isinstance(data, str)
    )


def num_samples(data: Any, name: str) -> int:
    """The number of rows of an array, a pandas object, or a list/dict of them (Keras inputs)."""
    if isinstance(data, Mapping):
        if not data:
            raise errors.FatalValueError(f"{name} is an empty dict; cv= has nothing to split.")
        return num_samples(next(iter(data.values())), f"{name}[{next(iter(data))!r}]")
    if isinstance(data, (list, tuple)):
        if not data:
            raise errors.FatalValueError(f"{name} is empty; cv= has nothing to split.")
        return num_samples(data[0], f"{name}[0]")
    if _is_splittable_leaf(data):
        return len(data)
    raise errors.FatalValueError(
        f"cv= can split NumPy arrays, pandas objects, tensors, and lists or dicts of them; "
        f"{name} is a {type(data).__name__}, which cannot be split into folds. Pass arrays, or "
        "drop cv= and pass validation_data."
    )


def take_rows(data: Any, indices: np.ndarray) -> Any:
    """The rows ``indices`` of an array, a pandas object, a tensor, or a list/dict of them."""
    if data is None:
        return None
    if isinstance(data, Mapping):
        return {key: take_rows(value, indices) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(take_rows(value, indices) for value in data)
    if hasattr(data, "iloc"):  # pandas: by position, whatever the index
        return data.iloc[indices]
    if isinstance(data, np.ndarray) or hasattr(data, "tocsr"):  # NumPy, SciPy sparse
        return data[indices]
    return np.asarray(data)[indices]  # tensors and other array-likes


def _check_rows(data: Any, name: str, expected: int) -> None:
    if isinstance(data, Mapping):
        for key, value in data.items():
            _check_rows(value, f"{name}[{key!r}]", expected)
    elif isinstance(data, (list, tuple)):
        for position, value in enumerate(data):
            _check_rows(value, f"{name}[{position}]", expected)
    elif num_samples(data, name) != expected:
        raise errors.FatalValueError(
            f"{name} has {num_samples(data, name)} rows but x has {expected}; cv= needs one row "
            "per sample in x, y, sample_weight and groups."
        )


@dataclass
class FoldableFitArguments:
    """The arguments of one ``search()`` call, ready to be cut into folds.

    ``x`` and ``y`` keep the form they were given in (positional or keyword), so a
    ``HyperModel.fit(self, hp, model, features, labels)`` still receives them where it expects.

    Attributes:
        x, y, sample_weight: The data to split.
        positional_count: How many of x, y came positionally.
        other_kwargs: Every other fit argument, passed to each fold unchanged.
    """

    x: Any
    y: Any
    sample_weight: Any
    positional_count: int
    other_kwargs: dict[str, Any]

    @classmethod
    def from_fit_arguments(
        cls, fit_args: Sequence[Any], fit_kwargs: Mapping[str, Any]
    ) -> FoldableFitArguments:
        """Reads x, y and sample_weight from ``search()``'s arguments.

        Raises:
            FatalValueError: ``validation_data`` or ``validation_split`` is given (each fold's
                held-out part is the validation data), more than x and y come positionally, or
                the data cannot be split.
        """
        kwargs = dict(fit_kwargs)
        if kwargs.get("validation_data") is not None or kwargs.get("validation_split"):
            given = "validation_data"
            if kwargs.get("validation_data") is None:
                given = "validation_split"
            raise errors.FatalValueError(
                f"{given} cannot be used together with cv=: each fold's held-out part is its "
                f"validation data. Drop {given}, or drop cv= to validate on your own split."
            )
        kwargs.pop("validation_data", None)
        kwargs.pop("validation_split", None)
        if len(fit_args) > 2:
            raise errors.FatalValueError(
                "With cv=, pass only x and y positionally to search() and the other fit "
                f"arguments by keyword; got {len(fit_args)} positional arguments."
            )
        x = fit_args[0] if fit_args else kwargs.pop("x", None)
        y = fit_args[1] if len(fit_args) > 1 else kwargs.pop("y", None)
        if x is None:
            raise errors.FatalValueError("cv= needs the training data: search(x, y, ...).")
        sample_weight = kwargs.pop("sample_weight", None)
        rows = num_samples(x, "x")
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                _check_rows(value, name, rows)
        return cls(x, y, sample_weight, len(fit_args), kwargs)

    @property
    def n_samples(self) -> int:
        """Rows of x."""
        return num_samples(self.x, "x")

    def for_fold(self, train: np.ndarray, held_out: np.ndarray) -> tuple[tuple, dict[str, Any]]:
        """``fit`` arguments training on ``train`` and validating on ``held_out``."""
        x_train, y_train = take_rows(self.x, train), take_rows(self.y, train)
        validation: tuple[Any, ...] = (take_rows(self.x, held_out), take_rows(self.y, held_out))
        kwargs = dict(self.other_kwargs)
        if self.sample_weight is not None:
            kwargs["sample_weight"] = take_rows(self.sample_weight, train)
            validation = (*validation, take_rows(self.sample_weight, held_out))
        kwargs["validation_data"] = validation
        positional = (x_train, y_train)[: self.positional_count]
        if self.positional_count < 1:
            kwargs["x"] = x_train
        if self.positional_count < 2 and self.y is not None:
            kwargs["y"] = y_train
        return positional, kwargs


# --- fold records -------------------------------------------------------------------------------
def finished_runs(trial: Trial) -> dict[tuple[int, int], ExecutionRecord]:
    """The (fold, execution) pairs a trial has already finished (persisted before a crash)."""
    return {
        (record.fold, record.execution or 0): record
        for record in trial.executions
        if record.fold is not None
    }
