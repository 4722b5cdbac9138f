"""keras-tuner <= 1.2's ``keras_tuner.tuners.bayesian`` module path."""

from __future__ import annotations

from tuner.oracles.bayesian import BayesianOptimizationOracle
from tuner.tuners import BayesianOptimization

__all__ = ["BayesianOptimization", "BayesianOptimizationOracle"]
