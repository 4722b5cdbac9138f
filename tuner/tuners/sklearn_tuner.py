"""keras-tuner <= 1.2's ``keras_tuner.tuners.sklearn_tuner`` module path."""

from __future__ import annotations

import warnings
from typing import Any

from tuner.integrations.sklearn import SklearnTuner

__all__ = ["Sklearn", "SklearnTuner"]


class Sklearn(SklearnTuner):
    """keras-tuner 1.0's deprecated name of :class:`~tuner.SklearnTuner`.

    Example:
        >>> from tuner.tuners.sklearn_tuner import SklearnTuner  # use this name instead
    """

    def __init__(self, *args: Any, **kwargs: Any):
        warnings.warn(
            "The `Sklearn` tuner class is deprecated: use `SklearnTuner` (same arguments).",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(*args, **kwargs)
