"""keras-tuner's ``keras_tuner.engine.base_tuner``: the framework-free search loop."""

from __future__ import annotations

from tuner.search import BaseTuner

__all__ = ["BaseTuner"]
