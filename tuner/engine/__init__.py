"""keras-tuner's ``keras_tuner.engine`` module paths, for code written against them.

``from tuner.engine.hyperparameters import HyperParameters`` and
``kt.engine.tuner.Tuner`` resolve to tuner's own classes. Each submodule is imported on first
access: ``tuner.engine.tuner`` imports Keras, the others do not.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: keras-tuner's ``engine`` submodules (1.4, plus ``objective`` from 1.0-1.2 and ``logger``
#: from 1.0-1.3).
_SUBMODULES = (
    "base_tuner",
    "hypermodel",
    "hyperparameters",
    "logger",
    "metrics_tracking",
    "objective",
    "oracle",
    "trial",
    "tuner",
)

__all__ = list(_SUBMODULES)


def __getattr__(name: str) -> ModuleType:
    if name not in _SUBMODULES:
        raise AttributeError(f"module 'tuner.engine' has no attribute {name!r}")
    module = importlib.import_module(f"tuner.engine.{name}")
    globals()[name] = module
    return module


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))
