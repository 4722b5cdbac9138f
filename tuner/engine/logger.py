"""keras-tuner <= 1.3's ``keras_tuner.engine.logger``: the ``Logger`` base class of a logger."""

from __future__ import annotations

from tuner.logger import Logger

__all__ = ["Logger"]
