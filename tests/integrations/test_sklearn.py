"""SklearnTuner: cross-validated search over real scikit-learn estimators, and stored models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn import datasets, ensemble, linear_model, metrics
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import tuner as kt
from tuner import errors
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


def test_skops_stores_estimators_and_refuses_types_nobody_trusted(classification, tmp_path):
    pytest.importorskip("skops")
    x, y = classification

    def build_forest(hp):
        return ensemble.RandomForestClassifier(n_estimators=hp.Int("trees", 3, 6), random_state=0)

    search = kt.SklearnTuner(
        _oracle(max_trials=1), build_forest, cv=3, directory=tmp_path, project_name="forest"
    )
    assert search.model_format == "skops"
    search.search(x, y)
    assert (tmp_path / "forest" / "checkpoints" / "00" / "model.skops").exists()
    with pytest.raises(errors.StorageError, match=r"sklearn\.tree\._tree\.Tree"):
        search.get_best_models()
    trusting = kt.SklearnTuner(
        _oracle(max_trials=1), build_forest, cv=3, directory=tmp_path, project_name="forest",
        trusted_types=["sklearn.tree._tree.Tree"],
    )  # fmt: skip
    model = trusting.get_best_models()[0]
    assert isinstance(model, ensemble.RandomForestClassifier)
    assert model.predict(x[:5]).shape == (5,)

    ridge = kt.SklearnTuner(_oracle(max_trials=1), build_ridge, cv=3, directory=tmp_path)
    ridge.search(x, y)
    assert ridge.get_best_models()[0].predict(x[:2]).shape == (2,)  # trusted by default


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
