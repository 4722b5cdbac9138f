"""Ready-made image hypermodels (keras-tuner's ``keras_tuner.applications``), on Keras 3.

``HyperResNet``, ``HyperXception``, ``HyperEfficientNet`` and ``HyperImageAugment`` take
keras-tuner's constructor arguments and define its hyperparameters (same names and ranges).
Each class is imported, with Keras, on first access.

Example:
    >>> import tuner as kt
    >>> hypermodel = kt.applications.HyperResNet(input_shape=(32, 32, 3), classes=10)
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "HyperEfficientNet": "tuner.applications.efficientnet",
    "HyperImageAugment": "tuner.applications.augment",
    "HyperResNet": "tuner.applications.resnet",
    "HyperXception": "tuner.applications.xception",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tuner.applications' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
