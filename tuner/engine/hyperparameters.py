"""keras-tuner's ``keras_tuner.engine.hyperparameters``: the types, ``serialize``, ``deserialize``.

Importing it imports no framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuner.errors import SearchSpaceError
from tuner.hyperparameters import (
    Boolean,
    Choice,
    Fixed,
    Float,
    HyperParameter,
    HyperParameters,
    Int,
    hyperparameter_from_config,
)

__all__ = [
    "Boolean",
    "Choice",
    "Fixed",
    "Float",
    "HyperParameter",
    "HyperParameters",
    "Int",
    "deserialize",
    "serialize",
]


def serialize(obj: HyperParameter | HyperParameters) -> dict[str, Any]:
    """A hyperparameter, or a whole :class:`HyperParameters`, as ``{"class_name", "config"}``.

    The layout of keras-tuner's ``serialize`` (Keras's object serialization): ``class_name`` is
    ``"Int"``, ``"Float"``, ``"Choice"``, ``"Boolean"``, ``"Fixed"`` or ``"HyperParameters"``
    and ``config`` is the object's ``get_config()``. The result is plain JSON.

    Raises:
        TypeError: ``obj`` is neither a hyperparameter nor a HyperParameters.

    Example:
        >>> config = serialize(Int("units", 8, 64, step=8))
        >>> config["class_name"], deserialize(config).max_value
        ('Int', 64)
    """
    if isinstance(obj, HyperParameters):
        return {"class_name": "HyperParameters", "config": obj.get_config()}
    if isinstance(obj, HyperParameter):
        return {"class_name": obj.type_name, "config": obj.get_config()}
    raise TypeError(
        f"serialize() takes a HyperParameter or a HyperParameters, got {type(obj).__name__} "
        f"({obj!r})."
    )


def deserialize(config: Mapping[str, Any]) -> HyperParameter | HyperParameters:
    """Rebuilds what :func:`serialize` returned (keras-tuner's ``deserialize``).

    Keys other than ``class_name`` and ``config`` (Keras 3 adds ``module`` and
    ``registered_name``) are ignored, so keras-tuner's output under Keras 2 or 3 is read too.

    Raises:
        SearchSpaceError: ``config`` is not a ``{"class_name", "config"}`` mapping, or names a
            class that is not a hyperparameter type.
    """
    if not isinstance(config, Mapping) or "class_name" not in config or "config" not in config:
        raise SearchSpaceError(
            f'deserialize() takes a {{"class_name": ..., "config": ...}} mapping, got {config!r}.'
        )
    if config["class_name"] == "HyperParameters":
        return HyperParameters.from_config(config["config"])
    return hyperparameter_from_config(config)
