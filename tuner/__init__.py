"""tuner: hyperparameter tuning for Keras, with keras-tuner's API.

``import tuner as kt`` works where ``import keras_tuner as kt`` did. Importing this package
imports neither Keras nor TensorFlow: the Keras-bound names (``Tuner``, ``RandomSearch``, ...)
are resolved on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from tuner import errors, oracles
from tuner.callbacks import SearchCallback
from tuner.constraints import Constraint
from tuner.hypermodel import HyperModel
from tuner.hyperparameters import HyperParameters
from tuner.objective import Objective
from tuner.oracles import Oracle
from tuner.oracles.locking import synchronized
from tuner.results import load_results
from tuner.search import BaseTuner
from tuner.trial import Budget, Trial, TrialStatus

__version__ = "0.1.0"

# Public names whose modules import Keras: loaded on first attribute access.
_LAZY = {
    "Tuner": "tuner.integrations.keras",
    "RandomSearch": "tuner.tuners",
    "GridSearch": "tuner.tuners",
    "Hyperband": "tuner.tuners",
    "BOHB": "tuner.tuners",
    "AsyncSuccessiveHalving": "tuner.tuners",
    "BayesianOptimization": "tuner.tuners",
    "TPESearch": "tuner.tuners",
    "SklearnTuner": "tuner.integrations.sklearn",
    # Imports Ray only when a search uses it; resolved lazily all the same.
    "RayWorkers": "tuner.distribute",
    # Imports scikit-learn only when called; its module is loaded on first use all the same.
    "importance": "tuner.hyperparameter_importance",
}

__all__ = [
    "BOHB",
    "AsyncSuccessiveHalving",
    "BaseTuner",
    "BayesianOptimization",
    "Budget",
    "Constraint",
    "GridSearch",
    "HyperModel",
    "HyperParameters",
    "Hyperband",
    "Objective",
    "Oracle",
    "RandomSearch",
    "RayWorkers",
    "SearchCallback",
    "SklearnTuner",
    "TPESearch",
    "Trial",
    "TrialStatus",
    "Tuner",
    "errors",
    "importance",
    "load_results",
    "oracles",
    "synchronized",
]


#: Subpackages reached as attributes in keras-tuner code (``kt.tuners.SklearnTuner``,
#: ``kt.engine.hyperparameters.HyperParameters``, ``kt.applications.HyperResNet``): imported on
#: first access, since they import Keras (or matplotlib, or Ray), or may.
_LAZY_MODULES = (
    "tuners",
    "integrations",
    "distribute",
    "visualization",
    "engine",
    "applications",
)


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        value = importlib.import_module(f"tuner.{name}")
        globals()[name] = value
        return value
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tuner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_MODULES))
