"""keras-tuner <= 1.2's ``keras_tuner.tuners.randomsearch`` module path."""

from __future__ import annotations

from tuner.oracles.random import RandomSearchOracle
from tuner.tuners import RandomSearch

__all__ = ["RandomSearch", "RandomSearchOracle"]
