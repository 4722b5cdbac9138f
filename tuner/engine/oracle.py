"""keras-tuner's ``keras_tuner.engine.oracle``: the Oracle base class and ``synchronized``."""

from __future__ import annotations

from tuner.objective import Objective
from tuner.oracles.base import Oracle
from tuner.oracles.locking import synchronized

__all__ = ["Objective", "Oracle", "synchronized"]
