"""`import tuner` stays light: no Keras, TensorFlow or other heavy framework until one is used.

Each check runs in a fresh interpreter, since this test process may have imported Keras already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

#: Modules that must not be imported by the framework-free part of tuner.
HEAVY_MODULES = ("tensorflow", "keras", "torch", "jax", "tensorboard", "ray", "pandas", "mlflow")


def heavy_modules_after(code: str) -> list[str]:
    """Runs ``code`` in a fresh interpreter and returns the heavy modules it left imported."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps([m for m in {HEAVY_MODULES!r} if m in sys.modules]))
        """
    )
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_import_tuner_imports_no_framework():
    assert heavy_modules_after("import tuner") == []


def test_building_hyperparameters_imports_no_keras():
    code = """
        import tuner as kt

        hp = kt.HyperParameters()
        hp.Int("units", 32, 512, step=32)
        hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
        hp.Choice("activation", ["relu", "tanh"])
        hp.Boolean("batch_norm")
        hp.Fixed("epochs", 3)
        with hp.conditional_scope("activation", ["relu"]):
            hp.Float("dropout", 0.0, 0.5)
        kt.HyperParameters.from_config(hp.get_config())
        kt.Objective("val_accuracy", "max")
        """
    assert heavy_modules_after(code) == []


def test_framework_free_search_imports_no_keras(tmp_path):
    code = f"""
        import tuner as kt

        class Quadratic(kt.BaseTuner):
            def run_trial(self, trial, *args, **kwargs):
                x = trial.hyperparameters.Float("x", -1.0, 1.0)
                return (x - 0.25) ** 2

        oracle = kt.oracles.RandomSearchOracle(objective="loss", max_trials=3, seed=0)
        search = Quadratic(oracle, directory={str(tmp_path)!r}, project_name="quadratic")
        search.search(verbose=0)
        assert len(search.oracle.trials) == 3
        """
    assert heavy_modules_after(code) == []


def test_keras_bound_names_are_listed_without_importing_keras():
    code = """
        import tuner
        for name in ("Tuner", "RandomSearch", "GridSearch"):
            assert name in tuner.__all__ and name in dir(tuner), name
        """
    assert heavy_modules_after(code) == []


def test_keras_tuner_engine_paths_import_no_keras():
    code = """
        import tuner as kt
        from tuner.engine.base_tuner import BaseTuner
        from tuner.engine.hypermodel import HyperModel
        from tuner.engine.hyperparameters import (
            Boolean, Choice, Fixed, Float, HyperParameter, HyperParameters, Int,
            deserialize, serialize,
        )
        from tuner.engine.metrics_tracking import infer_metric_direction
        from tuner.engine.objective import Objective
        from tuner.engine.oracle import Oracle, synchronized
        from tuner.engine.trial import Trial, TrialStatus

        assert kt.engine.hyperparameters.HyperParameters is kt.HyperParameters
        assert kt.engine.oracle.Oracle is kt.Oracle and kt.engine.oracle.Objective is kt.Objective
        assert kt.engine.base_tuner.BaseTuner is kt.BaseTuner
        assert kt.synchronized is synchronized
        hp = deserialize(serialize(Int("units", 8, 64, step=8)))
        assert isinstance(hp, kt.engine.hyperparameters.Int) and hp.step == 8
        assert infer_metric_direction("val_accuracy") == "max"
        assert "tuner" in dir(kt.engine) and "HyperResNet" in dir(kt.applications)
        """
    assert heavy_modules_after(code) == []


def test_keras_bound_compat_paths_import_keras_only_when_used():
    code = """
        import sys
        import tuner as kt

        assert "tensorflow" not in sys.modules and "keras" not in sys.modules
        from tuner.engine.tuner import Tuner
        assert Tuner is kt.Tuner
        """
    assert "keras" in heavy_modules_after(code)
