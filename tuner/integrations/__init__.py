"""Integrations with frameworks; each module imports its framework.

The modules are imported on first access, so ``kt.integrations.mlflow.MLflowCallback`` works
after ``import tuner as kt`` alone, and importing this package imports no framework.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: The integration modules, each imported when first reached as an attribute.
_SUBMODULES = (
    "cross_validation",
    "isolation",
    "keras",
    "mlflow",
    "mlflow_records",
    "sklearn",
    "tensorboard",
)

__all__ = list(_SUBMODULES)


def __getattr__(name: str) -> ModuleType:
    if name not in _SUBMODULES:
        raise AttributeError(f"module 'tuner.integrations' has no attribute {name!r}")
    module = importlib.import_module(f"tuner.integrations.{name}")
    globals()[name] = module
    return module


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))
