"""keras-tuner's ``keras_tuner.engine.hypermodel``."""

from __future__ import annotations

from tuner.hypermodel import HyperModel, get_hypermodel

__all__ = ["HyperModel", "get_hypermodel"]
