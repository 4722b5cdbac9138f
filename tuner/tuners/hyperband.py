"""keras-tuner <= 1.2's ``keras_tuner.tuners.hyperband`` module path."""

from __future__ import annotations

from tuner.oracles.hyperband import HyperbandOracle
from tuner.tuners import Hyperband

__all__ = ["Hyperband", "HyperbandOracle"]
