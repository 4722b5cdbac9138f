"""keras-tuner <= 1.2's ``keras_tuner.tuners.gridsearch`` module path."""

from __future__ import annotations

from tuner.oracles.grid import GridSearchOracle
from tuner.tuners import GridSearch

__all__ = ["GridSearch", "GridSearchOracle"]
