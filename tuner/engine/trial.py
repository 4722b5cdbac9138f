"""keras-tuner's ``keras_tuner.engine.trial``."""

from __future__ import annotations

from tuner.trial import Trial, TrialStatus

__all__ = ["Trial", "TrialStatus"]
