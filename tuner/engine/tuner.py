"""keras-tuner's ``keras_tuner.engine.tuner``: the Keras tuner (importing it imports Keras)."""

from __future__ import annotations

from tuner.integrations.keras import Tuner

__all__ = ["Tuner"]
