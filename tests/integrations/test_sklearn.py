"""SklearnTuner: cross-validated search over real scikit-learn estimators, and stored models."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn import (
    datasets,
    decomposition,
    ensemble,
    feature_selection,
    linear_model,
    metrics,
    neighbors,
)
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import tuner as kt
from tuner import errors
from tuner.integrations import cross_validation
from tuner.integrations import sklearn as sklearn_integration
from tuner.trial import TrialStatus

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def regression():
    return datasets.load_diabetes(return_X_y=True)


@pytest.fixture(scope="module")
def classification():
    x, y = datasets.load_breast_cancer(return_X_y=True)
    return x[:300], y[:300]


def build_ridge(hp):
    return linear_model.Ridge(alpha=hp.Float("alpha", 1e-3, 10.0, sampling="log"))


def _oracle(max_trials=3, **kwargs):
    return kt.oracles.RandomSearchOracle(
        kt.Objective("score", "max"), max_trials=max_trials, seed=1, **kwargs
    )


def test_fold_scores_are_scikit_learns_cross_validation_scores(regression, tmp_path):
    x, y = regression
    splitter = KFold(4, shuffle=True, random_state=0)
    search = kt.SklearnTuner(
        _oracle(), build_ridge, scoring="neg_mean_absolute_error",
        metrics=[metrics.r2_score], cv=splitter, model_format=None, directory=tmp_path,
    )  # fmt: skip
    search.search(x, y)
    assert len(search.oracle.trials) == 3
    for trial in search.oracle.trials.values():
        expected = cross_val_score(
            build_ridge(trial.hyperparameters.copy()), x, y, cv=splitter,
            scoring="neg_mean_absolute_error",
        )  # fmt: skip
        r2 = cross_val_score(
            build_ridge(trial.hyperparameters.copy()), x, y, cv=splitter, scoring="r2"
        )
        statistics = trial.fold_statistics()
        assert statistics["score"].values == pytest.approx(expected)
        assert statistics["r2_score"].values == pytest.approx(r2)
        assert statistics["score"].std == pytest.approx(expected.std())
        assert trial.score == pytest.approx(expected.mean())
        assert [r["fold"] for r in trial.executions] == [0, 1, 2, 3]
    best = search.oracle.get_best_trials()[0]
    assert best.score == max(t.score for t in search.oracle.trials.values())


def test_an_int_cv_stratifies_a_classifier_and_the_default_is_five_folds(classification, tmp_path):
    x, y = classification

    def build_logistic(hp):
        return make_pipeline(
            StandardScaler(), linear_model.LogisticRegression(C=hp.Float("C", 0.01, 1.0))
        )

    search = kt.SklearnTuner(
        _oracle(max_trials=1), build_logistic, model_format=None, directory=tmp_path
    )
    search.search(x, y)
    trial = search.oracle.trials["00"]
    assert trial.status == TrialStatus.COMPLETED and 0.8 < trial.score <= 1.0
    # keras-tuner's default of 5 folds, stratified and shuffled with the oracle's seed:
    stratified = StratifiedKFold(5, shuffle=True, random_state=search.oracle._seed)
    expected = cross_val_score(build_logistic(trial.hyperparameters.copy()), x, y, cv=stratified)
    assert trial.fold_statistics()["score"].values == pytest.approx(expected)


def test_groups_reach_the_splitter(regression, tmp_path):
    x, y = regression
    groups = np.arange(len(y)) % 7
    seen = []

    class RecordingGroupKFold(GroupKFold):
        def split(self, X, y=None, groups=None):
            seen.append(groups)
            return super().split(X, y, groups)

    search = kt.SklearnTuner(
        _oracle(max_trials=1), build_ridge, cv=RecordingGroupKFold(3), model_format=None,
        directory=tmp_path,
    )  # fmt: skip
    search.search(x, y, groups=groups)
    assert seen and seen[0] is groups
    assert search.oracle.trials["00"].fold_statistics()["score"].folds == 3


def test_a_search_interrupted_between_folds_runs_only_the_missing_ones(regression, tmp_path):
    x, y = regression
    fits = []

    class Interrupted(BaseException):
        """Stands for a crash: not an Exception, so the search loop does not record it."""

    class CountingRidge(linear_model.Ridge):
        def fit(self, X, y, sample_weight=None):
            fits.append(len(X))
            if len(fits) == 3 and interrupt:
                raise Interrupted
            return super().fit(X, y, sample_weight)

    def build(hp):
        return CountingRidge(alpha=hp.Float("alpha", 0.1, 1.0))

    def make_tuner():
        return kt.SklearnTuner(
            _oracle(max_trials=1), build, cv=4, model_format=None, directory=tmp_path,
            project_name="resume",
        )  # fmt: skip

    interrupt = True
    with pytest.raises(Interrupted):
        make_tuner().search(x, y)
    assert len(fits) == 3
    interrupt = False
    resumed = make_tuner()
    trial = resumed.oracle.trials["00"]
    assert trial.status == TrialStatus.RUNNING and [r["fold"] for r in trial.executions] == [0, 1]
    resumed.search(x, y)
    assert len(fits) == 5  # folds 2 and 3 only
    trial = resumed.oracle.trials["00"]
    assert trial.status == TrialStatus.COMPLETED
    assert [r["fold"] for r in trial.executions] == [0, 1, 2, 3]


def _last_fold(search, x, y):
    """The (training, held-out) rows of the last fold, whose estimator a trial stores."""
    return cross_validation.split_indices(search.cv, len(x), y, seed=search.oracle._seed)[-1]


@pytest.mark.parametrize(
    "build",
    [
        lambda hp: ensemble.RandomForestClassifier(
            n_estimators=hp.Int("trees", 3, 6), random_state=0
        ),
        lambda hp: neighbors.KNeighborsClassifier(hp.Int("k", 3, 7), algorithm="kd_tree"),
        lambda hp: make_pipeline(
            StandardScaler(), linear_model.LogisticRegression(C=hp.Float("C", 0.1, 1.0))
        ),
        lambda hp: make_pipeline(
            decomposition.PCA(2), neighbors.KNeighborsClassifier(hp.Int("k", 3, 7))
        ),
        lambda hp: ensemble.HistGradientBoostingClassifier(max_iter=hp.Int("iterations", 3, 6)),
    ],
    ids=["random_forest", "knn", "scaler_logistic_pipeline", "pca_knn_pipeline", "hist_boosting"],
)
def test_common_estimators_are_stored_with_skops_and_load_back(build, tmp_path):
    pytest.importorskip("skops")
    skops_io = pytest.importorskip("skops.io")
    x, y = datasets.load_iris(return_X_y=True)
    search = kt.SklearnTuner(_oracle(max_trials=1), build, cv=3, directory=tmp_path)
    assert search.model_format == "skops"
    search.search(x, y)
    trial = search.oracle.trials["00"]
    built = build(trial.hyperparameters.copy())
    path = Path(search.project_dir) / "checkpoints" / "00" / "model.skops"
    if isinstance(built, ensemble.RandomForestClassifier):
        # skops itself does not trust a forest's trees; scikit-learn's own classes are trusted.
        assert skops_io.get_untrusted_types(file=path) == ["sklearn.tree._tree.Tree"]
    (model,) = search.get_best_models()
    assert type(model) is type(built)
    # The stored estimator is the last fold's: it scores that fold as the search did.
    _, held_out = _last_fold(search, x, y)
    assert model.score(x[held_out], y[held_out]) == trial.executions[-1]["metrics"]["score"]


def test_functions_and_foreign_types_still_need_trusted_types(classification, tmp_path):
    pytest.importorskip("skops")
    x, y = classification

    def build_selected(hp):
        return make_pipeline(
            feature_selection.SelectKBest(feature_selection.f_classif, k=hp.Int("k", 2, 5)),
            linear_model.LogisticRegression(max_iter=500),
        )

    search = kt.SklearnTuner(
        _oracle(max_trials=1), build_selected, cv=3, directory=tmp_path, project_name="select"
    )
    search.search(x, y)
    # A function is never trusted implicitly: a file could have the loader call it.
    name = "sklearn.feature_selection._univariate_selection.f_classif"
    with pytest.raises(errors.StorageError, match=re.escape(f"['{name}']")):
        search.get_best_models()
    trusting = kt.SklearnTuner(
        _oracle(max_trials=1), build_selected, cv=3, directory=tmp_path, project_name="select",
        trusted_types=[name],
    )  # fmt: skip
    model = trusting.get_best_models()[0]
    assert model.steps[0][1].score_func is feature_selection.f_classif

    search = kt.SklearnTuner(
        _oracle(max_trials=1), lambda hp: ShiftedRidge(alpha=hp.Float("alpha", 0.1, 1.0)),
        cv=3, directory=tmp_path, project_name="foreign",
    )  # fmt: skip
    search.search(x, y)
    with pytest.raises(errors.StorageError, match=r"ShiftedRidge"):
        search.get_best_models()


class ShiftedRidge(linear_model.Ridge):
    """A class of the user's own: not scikit-learn's, so not trusted without being listed."""


def test_only_scikit_learns_classes_and_numpys_value_types_are_trusted_implicitly():
    safe = sklearn_integration._safe_type
    assert safe("sklearn.tree._tree.Tree")
    assert safe("sklearn.neighbors._kd_tree.KDTree")
    assert safe("sklearn.metrics._dist_metrics.EuclideanDistance64")
    assert safe("numpy.dtype") and safe("numpy.float32")
    assert not safe("numpy.memmap")  # a class, but one that opens files
    assert not safe("numpy.load")
    assert not safe("sklearn.feature_selection._univariate_selection.f_classif")
    assert not safe("sklearn.datasets.dump_svmlight_file")  # a function that writes files
    assert not safe("joblib.Memory") and not safe("builtins.eval") and not safe("os.system")
    assert not safe("sklearn.no_such_module.Thing") and not safe("sklearn")


def test_joblib_pickles_load_only_when_trusted_explicitly(regression, tmp_path):
    x, y = regression
    search = kt.SklearnTuner(
        _oracle(max_trials=1), build_ridge, cv=3, model_format="joblib", directory=tmp_path
    )
    search.search(x, y)
    with pytest.raises(errors.StorageError, match="trust_pickle=True"):
        search.get_best_models()
    search.trust_pickle = True
    model = search.get_best_models()[0]
    assert isinstance(model, linear_model.Ridge) and model.predict(x[:3]).shape == (3,)
    unsaved = kt.SklearnTuner(
        _oracle(max_trials=1), build_ridge, cv=3, model_format=None, directory=tmp_path,
        project_name="unsaved",
    )  # fmt: skip
    unsaved.search(x, y)
    with pytest.raises(errors.StorageError, match="no stored estimator"):
        unsaved.get_best_models()


def test_without_skops_auto_stores_nothing_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "skops", None)  # as if skops were not installed
    monkeypatch.setitem(sys.modules, "skops.io", None)
    with pytest.warns(UserWarning, match="pip install skops"):
        search = kt.SklearnTuner(_oracle(), build_ridge, directory=tmp_path)
    assert search.model_format is None
    with pytest.raises(errors.MissingDependencyError, match="skops"):
        kt.SklearnTuner(_oracle(), build_ridge, model_format="skops", directory=tmp_path)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="model_format"):
        kt.SklearnTuner(_oracle(), build_ridge, model_format="pickle", directory=tmp_path)
    with pytest.raises(ValueError, match="named function"):
        kt.SklearnTuner(
            _oracle(), build_ridge, metrics=[lambda a, b: 0.0], model_format=None,
            directory=tmp_path,
        )  # fmt: skip
    with pytest.raises(ValueError, match="not a scikit-learn scorer"):
        kt.SklearnTuner(_oracle(), build_ridge, scoring="accuracyy", directory=tmp_path)
    with pytest.raises(ValueError, match="cv must be"):
        kt.SklearnTuner(_oracle(), build_ridge, cv=1, directory=tmp_path)


def test_the_objective_must_be_among_the_fold_metrics(regression, tmp_path):
    x, y = regression
    search = kt.SklearnTuner(
        kt.oracles.RandomSearchOracle("val_loss", max_trials=1), build_ridge, cv=3,
        model_format=None, directory=tmp_path,
    )  # fmt: skip
    with pytest.raises(errors.ObjectiveNotFoundError, match="score"):
        search.search(x, y)


def test_sklearn_tuner_never_imports_keras(tmp_path):
    code = (
        "import sys, tuner as kt\n"
        "from sklearn import datasets, linear_model\n"
        "x, y = datasets.load_diabetes(return_X_y=True)\n"
        "o = kt.oracles.RandomSearchOracle(kt.Objective('score', 'max'), max_trials=1)\n"
        "t = kt.SklearnTuner(o, lambda hp: linear_model.Ridge(hp.Float('a', 0.1, 1.0)),\n"
        f"                   cv=3, model_format=None, directory={str(tmp_path)!r})\n"
        "t.search(x, y)\n"
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]


def test_sample_weights_follow_their_rows_into_each_fold(regression, tmp_path):
    x, y = regression
    x = x[:60]
    y = y[:60]
    weights = np.arange(60, dtype=float)  # a row's weight is its index
    x_indexed = np.column_stack([x, weights])  # the last column says which row it is
    seen = []

    class CheckingRidge(linear_model.Ridge):
        def fit(self, X, y, sample_weight=None):
            seen.append(np.array_equal(sample_weight, X[:, -1]))
            return super().fit(X, y, sample_weight)

    search = kt.SklearnTuner(
        _oracle(max_trials=1), lambda hp: CheckingRidge(alpha=hp.Float("alpha", 0.1, 1.0)),
        cv=3, model_format=None, directory=tmp_path,
    )  # fmt: skip
    search.search(x_indexed, y, sample_weight=weights)
    assert seen == [True, True, True]


def test_keras_tuners_import_paths_resolve():
    """keras-tuner code reaches the tuners through ``kt.tuners`` as well as ``kt``."""
    assert kt.tuners.SklearnTuner is kt.SklearnTuner
    assert kt.tuners.RandomSearch is kt.RandomSearch
    assert kt.tuners.BayesianOptimization is kt.BayesianOptimization
    assert "tuners" in dir(kt)
    with pytest.raises(AttributeError, match="no attribute 'tunerz'"):
        _ = kt.tunerz


# --- keras-tuner 1.4 behaviours -----------------------------------------------------------------
def build_family(hp):
    """keras-tuner's test space: a random forest, a ridge classifier or nearest neighbours."""
    kind = hp.Choice("model_type", ["random_forest", "ridge", "knn"])
    if kind == "random_forest":
        with hp.conditional_scope("model_type", "random_forest"):
            return ensemble.RandomForestClassifier(
                n_estimators=hp.Int("n_estimators", 3, 9, step=3),
                max_depth=hp.Int("max_depth", 2, 5), random_state=0,
            )  # fmt: skip
    if kind == "ridge":
        with hp.conditional_scope("model_type", "ridge"):
            return linear_model.RidgeClassifier(alpha=hp.Float("alpha", 1e-3, 1, sampling="log"))
    with hp.conditional_scope("model_type", "knn"):
        return neighbors.KNeighborsClassifier(
            n_neighbors=hp.Int("n_neighbors", 1, 15, default=5),
            weights=hp.Choice("weights", ["uniform", "distance"]),
        )


def test_keras_tuner_code_runs_unchanged(tmp_path):
    """keras-tuner's own construction by keyword, a scorer, metrics, a splitter, and loading."""
    pytest.importorskip("skops")
    x, y = datasets.load_iris(return_X_y=True)
    search = kt.SklearnTuner(
        oracle=kt.oracles.BayesianOptimizationOracle(
            objective=kt.Objective("score", "max"), max_trials=6, seed=2
        ),
        hypermodel=build_family,
        scoring=metrics.make_scorer(metrics.balanced_accuracy_score),
        metrics=[metrics.accuracy_score, metrics.balanced_accuracy_score],
        cv=StratifiedKFold(3),
        directory=tmp_path,
        project_name="my_project",
    )
    search.search(x, y, sample_weight=None, groups=None)
    trials = list(search.oracle.trials.values())
    assert len(trials) == 6 and all(trial.status == "COMPLETED" for trial in trials)
    kinds = {trial.hyperparameters.values["model_type"] for trial in trials}
    assert len(kinds) >= 2, kinds
    best = search.oracle.get_best_trials()[0]
    assert best.best_step == 0 and best.score is not None
    for name in ("score", "accuracy_score", "balanced_accuracy_score"):
        assert best.metrics.exists(name)
    assert best.metrics.get_last_value("balanced_accuracy_score") == pytest.approx(best.score)
    models = search.get_best_models(num_models=6)
    assert len(models) == 6
    assert models[0].score(x, y) > 0.8


def test_one_metric_function_is_accepted_as_a_list_of_one(regression, tmp_path):
    x, y = regression
    splitter = KFold(3, shuffle=True, random_state=0)
    search = kt.SklearnTuner(
        _oracle(max_trials=1), build_ridge, metrics=metrics.mean_absolute_error, cv=splitter,
        model_format=None, directory=tmp_path,
    )  # fmt: skip
    assert search.metrics == [metrics.mean_absolute_error]
    search.search(x, y)
    trial = search.oracle.trials["00"]
    expected = -cross_val_score(
        build_ridge(trial.hyperparameters.copy()), x, y, cv=splitter,
        scoring="neg_mean_absolute_error",
    )  # fmt: skip
    assert trial.fold_statistics()["mean_absolute_error"].values == pytest.approx(expected)
    assert trial.best_step == 0
    with pytest.raises(ValueError, match="metrics must be a function"):
        kt.SklearnTuner(_oracle(), build_ridge, metrics="r2", directory=tmp_path)


def test_a_pandas_data_frame_and_column_vector_target_are_split_by_position(tmp_path):
    pd = pytest.importorskip("pandas")
    x, y = datasets.load_iris(return_X_y=True)
    frame = pd.DataFrame(x, index=np.arange(len(x)) * 3 + 1000)  # an index that is not 0..n-1
    target = pd.DataFrame(y, index=frame.index)
    search = kt.SklearnTuner(
        _oracle(max_trials=1), lambda hp: neighbors.KNeighborsClassifier(hp.Int("k", 3, 7)),
        cv=3, model_format=None, directory=tmp_path,
    )  # fmt: skip
    search.search(frame, target)
    trial = search.oracle.trials["00"]
    assert trial.status == TrialStatus.COMPLETED and trial.score > 0.85


def _weighted_fold_scores(build, x, y, weights, splitter, metric=None):
    """What each fold scores with weighted fits and weighted scoring, by hand."""
    scores, metric_values = [], []
    for train, held_out in splitter.split(x, y):
        estimator = build().fit(x[train], y[train], sample_weight=weights[train])
        scores.append(estimator.score(x[held_out], y[held_out], sample_weight=weights[held_out]))
        if metric is not None:
            predictions = estimator.predict(x[held_out])
            metric_values.append(metric(y[held_out], predictions, sample_weight=weights[held_out]))
    return scores, metric_values


def test_sample_weights_weight_each_folds_fit_score_and_metrics(regression, tmp_path):
    x, y = regression
    weights = np.random.default_rng(0).uniform(0.1, 3.0, size=len(y))
    splitter = KFold(3, shuffle=True, random_state=0)
    search = kt.SklearnTuner(
        _oracle(max_trials=2), build_ridge, metrics=metrics.mean_absolute_error, cv=splitter,
        model_format=None, directory=tmp_path,
    )  # fmt: skip
    search.search(x, y, sample_weight=weights)
    for trial in search.oracle.trials.values():
        alpha = trial.hyperparameters.values["alpha"]
        scores, errors_ = _weighted_fold_scores(
            lambda alpha=alpha: linear_model.Ridge(alpha=alpha), x, y, weights, splitter,
            metrics.mean_absolute_error,
        )  # fmt: skip
        statistics = trial.fold_statistics()
        assert statistics["score"].values == pytest.approx(scores)
        assert statistics["mean_absolute_error"].values == pytest.approx(errors_)
        unweighted = cross_val_score(linear_model.Ridge(alpha=alpha), x, y, cv=splitter)
        assert not np.allclose(scores, unweighted)  # the weights made a difference


def test_a_pipeline_passes_sample_weights_to_its_final_step(regression, tmp_path):
    x, y = regression
    weights = np.random.default_rng(1).uniform(0.1, 3.0, size=len(y))
    splitter = KFold(3, shuffle=True, random_state=0)

    def build(hp):
        return make_pipeline(StandardScaler(), build_ridge(hp))

    search = kt.SklearnTuner(
        _oracle(max_trials=1), build, cv=splitter, model_format=None, directory=tmp_path
    )
    search.search(x, y, sample_weight=weights)
    trial = search.oracle.trials["00"]
    assert trial.status == TrialStatus.COMPLETED
    alpha = trial.hyperparameters.values["alpha"]
    expected = []
    for train, held_out in splitter.split(x, y):
        pipeline = make_pipeline(StandardScaler(), linear_model.Ridge(alpha=alpha))
        pipeline.fit(x[train], y[train], ridge__sample_weight=weights[train])
        expected.append(pipeline.score(x[held_out], y[held_out], sample_weight=weights[held_out]))
    assert trial.fold_statistics()["score"].values == pytest.approx(expected)


@pytest.mark.parametrize(
    "build, culprit",
    [
        (lambda hp: neighbors.KNeighborsClassifier(hp.Int("k", 3, 7)), "KNeighborsClassifier"),
        (
            lambda hp: make_pipeline(
                decomposition.PCA(2), neighbors.KNeighborsClassifier(hp.Int("k", 3, 7))
            ),
            "the final step of this Pipeline",
        ),
    ],
    ids=["knn", "pca_knn_pipeline"],
)
def test_sample_weights_for_an_estimator_whose_fit_cannot_take_them(build, culprit, tmp_path):
    x, y = datasets.load_iris(return_X_y=True)
    # Without weights nothing is passed, and these estimators run.
    plain = kt.SklearnTuner(
        _oracle(max_trials=2), build, cv=3, model_format=None, directory=tmp_path,
        project_name="plain",
    )  # fmt: skip
    plain.search(x, y)
    assert all(t.status == TrialStatus.COMPLETED for t in plain.oracle.trials.values())
    # With weights, each trial fails saying why, and the search stops after a few in a row.
    weighted = kt.SklearnTuner(
        _oracle(max_trials=5, max_consecutive_failed_trials=2), build, cv=3, model_format=None,
        directory=tmp_path, project_name="weighted",
    )  # fmt: skip
    with pytest.raises(errors.TooManyFailedTrialsError, match="takes no sample_weight"):
        weighted.search(x, y, sample_weight=np.ones(len(y)))
    trials = list(weighted.oracle.trials.values())
    assert [t.status for t in trials] == [TrialStatus.FAILED] * 2
    assert culprit in trials[0].message and "takes no sample_weight" in trials[0].message


def test_sample_weights_need_metrics_and_a_scorer_that_take_them(regression, tmp_path):
    x, y = regression

    def spread(y_true, y_pred):
        return float(np.std(y_true - y_pred))

    def plain_scorer(estimator, X, y):
        return estimator.score(X, y)

    for arguments, culprit in (({"metrics": spread}, "metric spread"),
                               ({"scoring": plain_scorer}, "scoring")):  # fmt: skip
        search = kt.SklearnTuner(
            _oracle(max_trials=1), build_ridge, cv=3, model_format=None, directory=tmp_path,
            overwrite=True, **arguments,
        )  # fmt: skip
        with pytest.raises(errors.FatalTypeError, match=culprit):
            search.search(x, y, sample_weight=np.ones(len(y)))
        assert search.oracle.trials == {}  # refused before any trial ran
        search.search(x, y)  # without weights they are fine
        assert search.oracle.trials["00"].status == TrialStatus.COMPLETED


def test_rows_that_do_not_match_x_are_refused_before_any_trial(regression, tmp_path):
    x, y = regression
    search = kt.SklearnTuner(_oracle(), build_ridge, cv=3, model_format=None, directory=tmp_path)
    for arguments, name in (
        ({"y": y[:-1]}, "y"),
        ({"y": y, "sample_weight": np.ones(10)}, "sample_weight"),
        ({"y": y, "groups": list(range(5))}, "groups"),
    ):
        with pytest.raises(errors.FatalValueError, match=rf"^{name} has \d+ rows but X has"):
            search.search(x, **arguments)
    assert search.oracle.trials == {}


def test_keras_tuners_deprecated_name_still_works(regression, tmp_path):
    with pytest.warns(DeprecationWarning, match="SklearnTuner"):
        search = sklearn_integration.Sklearn(
            _oracle(max_trials=1), build_ridge, cv=3, model_format=None, directory=tmp_path
        )
    assert isinstance(search, kt.SklearnTuner)
