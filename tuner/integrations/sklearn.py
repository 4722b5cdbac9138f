"""SklearnTuner: cross-validated search over scikit-learn estimators (keras-tuner's API).

Fitted estimators are stored without pickle when possible: with skops (``model_format="skops"``,
the default when skops is installed), whose loader refuses types nobody declared trusted. Beyond
skops' own defaults, loading trusts the classes that scikit-learn itself defines (the trees of a
forest, a nearest-neighbours index, a distance metric, ...) and NumPy's dtypes and scalar types,
whose construction runs no code of the file's choosing; any other type, and every function, must
be listed in ``trusted_types``. ``model_format="joblib"`` stores pickles, and reading one back
needs ``trust_pickle=True``: unpickling a file can run arbitrary code, so it never happens
implicitly.

``sample_weight`` (when given to ``search``) weights each fold's fit, its score and its
metrics, as in keras-tuner. An estimator whose ``fit`` takes no ``sample_weight`` fails its
trial with a message saying so; a ``Pipeline`` passes the weights to its final step
(``<step>__sample_weight``), and fails the same way when that step cannot take them.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from tuner import errors
from tuner.execution.records import CrossValidationResults, ExecutionRecord
from tuner.execution.shipping import Travel
from tuner.hypermodel import HyperModel
from tuner.integrations import cross_validation
from tuner.oracles.base import Oracle
from tuner.search import BaseTuner
from tuner.storage.writer import atomic_output
from tuner.trial import Trial

#: File name of a trial's stored estimator (in ``checkpoints/<trial_id>/``), by ``model_format``.
MODEL_FILES = {"skops": "model.skops", "joblib": "model.joblib"}
MODEL_FORMATS = ("auto", "skops", "joblib", None)
#: Folds when ``cv`` is not given, as in keras-tuner.
DEFAULT_FOLDS = 5
#: The fit, score and metric argument that carries the weights.
SAMPLE_WEIGHT = "sample_weight"


def _skops_io() -> Any:
    try:
        return importlib.import_module("skops.io")
    except ImportError as error:
        raise errors.missing_dependency(
            "skops", 'SklearnTuner(model_format="skops")', "sklearn"
        ) from error


def _accepts_keyword(function: Callable[..., Any], name: str) -> bool:
    """Whether ``function`` takes a keyword argument ``name`` (by name or through ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a builtin): let the call decide
        return True
    return any(
        parameter.name == name or parameter.kind is inspect.Parameter.VAR_KEYWORD
        for parameter in parameters
    )


def _rows(data: Any) -> int:
    """Rows of an array, a pandas object or a list."""
    shape = getattr(data, "shape", None)
    return int(shape[0]) if shape else len(data)


def _routes_metadata() -> bool:
    """Whether scikit-learn's metadata routing is on (then a Pipeline routes the weights)."""
    base = importlib.import_module("sklearn")
    return bool(base.get_config().get("enable_metadata_routing", False))


def sample_weight_parameter(estimator: Any) -> str | None:
    """The ``fit`` keyword that gives ``estimator`` its sample weights, or None if none does.

    ``"sample_weight"`` for an estimator whose ``fit`` takes it; for a ``Pipeline``,
    ``"<final step>__sample_weight"`` (nested pipelines: ``"<step>__<inner step>__..."``) when
    its final step takes it, or ``"sample_weight"`` when scikit-learn's metadata routing is on.

    Example:
        >>> from sklearn import linear_model, neighbors, pipeline, preprocessing
        >>> sample_weight_parameter(linear_model.Ridge())
        'sample_weight'
        >>> sample_weight_parameter(pipeline.make_pipeline(
        ...     preprocessing.StandardScaler(), linear_model.Ridge()))
        'ridge__sample_weight'
        >>> sample_weight_parameter(neighbors.KNeighborsClassifier()) is None
        True
    """
    pipeline_type = importlib.import_module("sklearn.pipeline").Pipeline
    if isinstance(estimator, pipeline_type):
        if _routes_metadata():
            return SAMPLE_WEIGHT
        name, final_step = estimator.steps[-1]
        if final_step is None or isinstance(final_step, str):  # "passthrough"
            return None
        inner = sample_weight_parameter(final_step)
        return None if inner is None else f"{name}__{inner}"
    fit = getattr(estimator, "fit", None)
    if fit is None or not _accepts_keyword(fit, SAMPLE_WEIGHT):
        return None
    return SAMPLE_WEIGHT


def _metric_name(metric: Callable[..., Any]) -> str:
    name = getattr(metric, "__name__", None)
    if not callable(metric) or not name or name == "<lambda>":
        raise ValueError(
            f"Every entry of metrics must be a named function metric(y_true, y_pred), such as "
            f"sklearn.metrics.mean_absolute_error; got {metric!r}. Wrap a lambda or partial in "
            "a def to give it a name."
        )
    return name


#: Top-level packages whose own classes a skops file may create without being listed.
SAFE_CLASS_PACKAGES = ("sklearn",)


def _safe_type(name: str) -> bool:
    """Whether loading may create the type ``name`` that skops does not trust by default.

    True for a class that scikit-learn itself defines (``sklearn.tree._tree.Tree``,
    ``sklearn.neighbors._kd_tree.KDTree``, ...) and for NumPy's dtypes and scalar types: a skops
    file can make the loader call a trusted type with arguments of its choosing, and these do
    nothing but build a value. Functions are never trusted implicitly (a file could have the
    loader call one), nor are classes that perform I/O, such as ``numpy.memmap``. Only modules
    of those packages are imported to find out.
    """
    module_name, _, attribute = name.rpartition(".")
    package = module_name.split(".")[0]
    if package not in (*SAFE_CLASS_PACKAGES, "numpy") or not attribute:
        return False
    try:
        found = getattr(importlib.import_module(module_name), attribute, None)
    except (ImportError, ValueError, TypeError):  # not a module name, or one that fails to import
        return False
    if not isinstance(found, type):
        return False
    if package == "numpy":
        numpy = importlib.import_module("numpy")
        return issubclass(found, (numpy.dtype, numpy.generic))
    return (found.__module__ or "").split(".")[0] in SAFE_CLASS_PACKAGES


class SklearnTuner(BaseTuner):
    """Tunes scikit-learn estimators by cross-validation.

    Each trial builds a fresh estimator per fold with ``hypermodel.build(hp)``, fits it on the
    fold's training part and scores it on the held-out part. The trial's metrics are the means
    over folds: ``"score"`` (from ``scoring``) and one per function in ``metrics``; the per-fold
    values are in ``trial.executions`` and ``trial.fold_statistics()``, and a search stopped in
    the middle of a trial's folds runs only the missing folds when it resumes.

    Args:
        oracle: The search algorithm; its objective is usually ``Objective("score", "max")``.
            Oracles that grant training budgets (Hyperband) do not apply to estimators.
        hypermodel: A ``build_model(hp)`` function or :class:`~tuner.HyperModel` returning an
            unfitted estimator.
        scoring: None (the estimator's own ``score``), the name of a scikit-learn scorer
            (``"neg_mean_absolute_error"``), or a scorer ``scoring(estimator, X, y)`` (which
            must also take ``sample_weight=`` when ``search`` gets sample weights).
        metrics: A function ``metric(y_true, y_pred)``, or a list of them, also computed on each
            held-out part and reported under their ``__name__``; they do not steer the search.
        cv: An int k (stratified k-fold for classification targets, k-fold otherwise, shuffled
            with the oracle's seed) or a scikit-learn splitter. Defaults to 5 folds.
        model_format: How each trial's estimator (the last fold's, as keras-tuner does) is
            stored: ``"skops"`` (no pickle), ``"joblib"`` (a pickle), None (not stored), or
            ``"auto"`` (skops when installed, else not stored, with a warning).
        trusted_types: Types beyond skops' defaults, scikit-learn's own classes and NumPy's
            dtypes that loading a skops file may create: your own estimator classes, or
            functions an estimator holds
            (``"sklearn.feature_selection._univariate_selection.f_classif"`` for
            ``SelectKBest(f_classif)``). Only list types whose files you trust.
        trust_pickle: Allows :meth:`load_model` to unpickle ``"joblib"`` files. Leave it False
            unless this process or someone you trust wrote the project directory.
        **kwargs: ``directory``, ``project_name``, ``overwrite``, ... (see
            :class:`~tuner.BaseTuner`).

    Example:
        >>> import tuner as kt
        >>> from sklearn import datasets, linear_model
        >>> def build_model(hp):
        ...     return linear_model.Ridge(alpha=hp.Float("alpha", 1e-3, 10.0, sampling="log"))
        >>> search = kt.SklearnTuner(
        ...     kt.oracles.RandomSearchOracle(kt.Objective("score", "max"), max_trials=3, seed=1),
        ...     build_model, cv=3, model_format=None, directory="runs", project_name="ridge")
        >>> X, y = datasets.load_diabetes(return_X_y=True)
        >>> search.search(X, y)  # doctest: +ELLIPSIS
        Search: Running Trial #1 of 3 (id 00) ...
        Search done: 3 trials (3 completed) ...
        >>> search.oracle.get_best_trials()[0].fold_statistics()["score"].folds
        3
    """

    _attribute_travel: ClassVar[dict[str, Travel]] = {
        name: Travel.EVERYWHERE
        for name in (
            "scoring", "metrics", "cv", "model_format", "trusted_types", "trust_pickle", "_scorer"
        )
    }  # fmt: skip

    def __init__(
        self,
        oracle: Oracle,
        hypermodel: HyperModel | Callable[..., Any],
        scoring: str | Callable[..., float] | None = None,
        metrics: Callable[..., float] | Sequence[Callable[..., float]] | None = None,
        cv: Any = None,
        model_format: str | None = "auto",
        trusted_types: Sequence[str] | None = None,
        trust_pickle: bool = False,
        **kwargs: Any,
    ):
        cv = DEFAULT_FOLDS if cv is None else cv
        cross_validation.check_cv(cv)
        cross_validation.import_sklearn_module("sklearn.base", "SklearnTuner")
        if model_format not in MODEL_FORMATS:
            raise ValueError(
                f"model_format must be one of {MODEL_FORMATS}, got {model_format!r}: 'skops' "
                "stores estimators without pickle, 'joblib' stores pickles, None stores nothing."
            )
        if model_format == "auto":
            try:
                importlib.import_module("skops.io")
                model_format = "skops"
            except ImportError:
                model_format = None
                warnings.warn(
                    "SklearnTuner does not store the fitted estimators because skops is not "
                    "installed, so get_best_models() cannot return them. Install skops "
                    "(`pip install skops`), or pass model_format='joblib' (a pickle) or "
                    "model_format=None to silence this warning.",
                    stacklevel=2,
                )
        elif model_format == "skops":
            _skops_io()
        if metrics is None:
            metrics = []
        elif callable(metrics):  # one function, as keras-tuner accepts
            metrics = [metrics]
        elif isinstance(metrics, (str, bytes)) or not isinstance(metrics, Sequence):
            raise ValueError(
                f"metrics must be a function metric(y_true, y_pred) or a list of them, such as "
                f"[sklearn.metrics.mean_absolute_error]; got {metrics!r}."
            )
        metrics = list(metrics)
        names = [_metric_name(metric) for metric in metrics]
        duplicates = sorted({n for n in names if names.count(n) > 1 or n == "score"})
        if duplicates:
            raise ValueError(
                f"metrics must have distinct names other than 'score'; got {duplicates} twice "
                "(or as 'score', which is the scoring's name)."
            )
        self.scoring = scoring
        self.metrics = metrics
        self.cv = cv
        self.model_format = model_format
        self.trusted_types = list(trusted_types or [])
        self.trust_pickle = trust_pickle
        self._scorer = self._resolve_scoring(scoring)
        super().__init__(oracle, hypermodel, **kwargs)

    @staticmethod
    def _resolve_scoring(scoring: Any) -> Callable[[Any, Any, Any], float] | None:
        if scoring is None:
            return None
        if isinstance(scoring, str):
            metrics_module = cross_validation.import_sklearn_module("sklearn.metrics")
            try:
                return metrics_module.get_scorer(scoring)
            except ValueError as error:
                raise ValueError(
                    f"scoring={scoring!r} is not a scikit-learn scorer name ({error}). See "
                    "sklearn.metrics.get_scorer_names()."
                ) from None
        if callable(scoring):
            return scoring
        raise ValueError(
            f"scoring must be None, a scorer name or a function scoring(estimator, X, y); got "
            f"{scoring!r}."
        )

    # --- the search ------------------------------------------------------------------------------
    def search(self, X: Any, y: Any = None, sample_weight: Any = None, groups: Any = None) -> None:
        """Runs the search: every trial is cross-validated on ``X``, ``y``.

        Args:
            X: The features (an array, a pandas object or a sparse matrix).
            y: The targets (None for estimators that take none).
            sample_weight: One weight per row of ``X``, or None. Each fold's ``fit`` gets the
                weights of its training rows, and its score and metrics those of its held-out
                rows (keras-tuner's behaviour).
            groups: Group labels for group splitters such as ``GroupKFold``.

        Raises:
            FatalValueError: ``y``, ``sample_weight`` or ``groups`` has not one row per row of
                ``X``.
            FatalTypeError: ``sample_weight`` is given and ``scoring`` or a metric takes no
                ``sample_weight``.
        """
        rows = cross_validation.num_samples(X, "X")
        for name, value in (("y", y), ("sample_weight", sample_weight), ("groups", groups)):
            if value is not None and _rows(value) != rows:
                raise errors.FatalValueError(
                    f"{name} has {_rows(value)} rows but X has {rows}; SklearnTuner.search "
                    f"needs one {name} entry per row of X."
                )
        if sample_weight is not None:
            self._check_weighted_scoring()
        super().search(X, y, sample_weight=sample_weight, groups=groups)

    def _check_weighted_scoring(self) -> None:
        """With sample weights, the scoring and every metric must take ``sample_weight``."""
        functions = [("metric", metric, _metric_name(metric)) for metric in self.metrics]
        if self._scorer is not None:
            functions.insert(0, ("scoring", self._scorer, repr(self.scoring)))
        for role, function, name in functions:
            if not _accepts_keyword(function, SAMPLE_WEIGHT):
                raise errors.FatalTypeError(
                    f"search() got sample_weight, which weights each fold's score and metrics "
                    f"too, but the {role} {name} takes no sample_weight argument. Give it one "
                    "(sample_weight=None), or search without sample_weight."
                )

    def run_trial(
        self, trial: Trial, X: Any, y: Any = None, sample_weight: Any = None, groups: Any = None
    ) -> CrossValidationResults:
        """Fits and scores one estimator per fold not yet finished; returns the fold records."""
        n_samples = cross_validation.num_samples(X, "X")
        # The oracle's effective seed (persisted): the same folds in every trial and on resume.
        folds = cross_validation.split_indices(
            self.cv, n_samples, y, groups, seed=self.oracle.effective_seed
        )
        finished = cross_validation.finished_runs(trial)
        records = [record for (fold, _), record in finished.items() if fold < len(folds)]
        last_fold = len(folds) - 1
        for fold, (train, held_out) in enumerate(folds):
            if (fold, 0) in finished:
                continue
            estimator = self._build_estimator(trial)
            fit_kwargs = {}
            if sample_weight is not None:
                parameter = self._sample_weight_parameter(trial, estimator)
                fit_kwargs[parameter] = cross_validation.take_rows(sample_weight, train)
            x_train = cross_validation.take_rows(X, train)
            y_train = cross_validation.take_rows(y, train)
            if y is None:
                estimator.fit(x_train, **fit_kwargs)
            else:
                estimator.fit(x_train, y_train, **fit_kwargs)
            metrics = self._score_fold(
                estimator,
                cross_validation.take_rows(X, held_out),
                cross_validation.take_rows(y, held_out),
                cross_validation.take_rows(sample_weight, held_out),
            )
            # One fit per fold, nothing per epoch: the best step is 0, as in keras-tuner.
            record = ExecutionRecord.scored(
                metrics, self.oracle.objective, best_step=0, fold=fold, execution=0
            )
            if fold == last_fold:  # stored before it is recorded, so a record implies the file
                self.save_model(trial.trial_id, estimator)
            self.oracle.record_execution(trial.trial_id, record)
            records.append(record)
        return CrossValidationResults(records)

    def _build_estimator(self, trial: Trial) -> Any:
        estimator = self.hypermodel.build(trial.hyperparameters)  # type: ignore[union-attr]
        if not callable(getattr(estimator, "fit", None)):
            raise errors.FatalTypeError(
                f"The hypermodel's build(hp) must return a scikit-learn estimator (with fit), "
                f"got {estimator!r}."
            )
        return estimator

    @staticmethod
    def _sample_weight_parameter(trial: Trial, estimator: Any) -> str:
        parameter = sample_weight_parameter(estimator)
        if parameter is None:
            kind = type(estimator).__name__
            if isinstance(estimator, importlib.import_module("sklearn.pipeline").Pipeline):
                kind = f"the final step of this Pipeline ({estimator.steps[-1][1]!r})"
            raise errors.FailedTrialError(
                f"search() got sample_weight, but the fit of {kind}, built for trial "
                f"{trial.trial_id}, takes no sample_weight. Search without sample_weight, or "
                "build estimators whose fit accepts it (a Pipeline passes it to its final step)."
            )
        return parameter

    def _score_fold(
        self, estimator: Any, x_held_out: Any, y_held_out: Any, weights: Any = None
    ) -> dict[str, float]:
        weighting = {} if weights is None else {SAMPLE_WEIGHT: weights}
        if self._scorer is None:
            if weighting and not _accepts_keyword(estimator.score, SAMPLE_WEIGHT):
                raise errors.FailedTrialError(
                    f"search() got sample_weight, but {type(estimator).__name__}.score takes "
                    "no sample_weight to weight the held-out rows. Pass scoring= (a scorer "
                    "name or function that takes sample_weight), or drop sample_weight."
                )
            score = estimator.score(x_held_out, y_held_out, **weighting)
        else:
            score = self._scorer(estimator, x_held_out, y_held_out, **weighting)
        metrics = {"score": float(score)}
        if self.metrics:
            predictions = estimator.predict(x_held_out)
            for metric in self.metrics:
                value = metric(y_held_out, predictions, **weighting)
                metrics[_metric_name(metric)] = float(value)
        return metrics

    # --- stored estimators -----------------------------------------------------------------------
    def _model_path(self, trial_id: str, model_format: str) -> Path:
        return self._layout.trial_files_dir(str(trial_id)) / MODEL_FILES[model_format]

    def save_model(self, trial_id: str, model: Any, step: int = 0) -> None:
        """Stores a fitted estimator as the trial's model, atomically, in ``model_format``."""
        if self.model_format is None:
            return
        path = self._model_path(trial_id, self.model_format)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as handle:
            if self.model_format == "skops":
                _skops_io().dump(model, handle)
            else:
                import joblib  # installed with scikit-learn

                joblib.dump(model, handle)

    def load_model(self, trial: Trial) -> Any:
        """The fitted estimator stored for a trial (its last fold's).

        Raises:
            StorageError: Nothing was stored, a pickle would need ``trust_pickle=True``, or a
                skops file holds types nobody declared trusted.
        """
        stored = {
            fmt: self._model_path(trial.trial_id, fmt)
            for fmt in MODEL_FILES
            if self._model_path(trial.trial_id, fmt).exists()
        }
        if "skops" in stored and self.model_format != "joblib":
            return self._load_skops(stored["skops"])
        if "joblib" in stored:
            if not self.trust_pickle:
                raise errors.StorageError(
                    f"The estimator of trial {trial.trial_id} is a pickle ({stored['joblib']}); "
                    "unpickling a file can run arbitrary code, so it is never done implicitly. If "
                    "you trust this project directory, pass trust_pickle=True to SklearnTuner."
                )
            import joblib

            return joblib.load(stored["joblib"])
        if "skops" in stored:
            return self._load_skops(stored["skops"])
        raise errors.StorageError(
            f"Trial {trial.trial_id} has no stored estimator (model_format={self.model_format!r}"
            " when it ran, or it did not complete). Store them with model_format='skops' "
            "(`pip install skops`), or rebuild one: "
            "tuner.hypermodel.build(trial.hyperparameters).fit(X, y)."
        )

    def _load_skops(self, path: Path) -> Any:
        skops_io = _skops_io()
        unknown = skops_io.get_untrusted_types(file=path)
        trusted = [name for name in unknown if name in self.trusted_types or _safe_type(name)]
        untrusted = [name for name in unknown if name not in trusted]
        if untrusted:
            raise errors.StorageError(
                f"{path} holds types that skops does not trust by default: {untrusted}. If you "
                "trust this project directory, pass them as SklearnTuner(trusted_types=[...])."
            )
        return skops_io.load(path, trusted=trusted or None)


class Sklearn(SklearnTuner):
    """keras-tuner's deprecated name of :class:`SklearnTuner`; warns, then behaves the same."""

    def __init__(self, *args: Any, **kwargs: Any):
        warnings.warn(
            "Sklearn is a deprecated name; use SklearnTuner.", DeprecationWarning, stacklevel=2
        )
        super().__init__(*args, **kwargs)
