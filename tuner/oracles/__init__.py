"""Search algorithms. Each oracle proposes trials; none imports a deep-learning framework."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tuner.oracles.base import Oracle, OracleLike, Proposal, ProposalAction
from tuner.oracles.grid import GridSearchOracle
from tuner.oracles.random import RandomSearchOracle

if TYPE_CHECKING:
    from tuner.oracles.asha import AsyncSuccessiveHalvingOracle
    from tuner.oracles.bayesian import BayesianOptimizationOracle
    from tuner.oracles.bohb import BOHBOracle
    from tuner.oracles.hyperband import HyperbandOracle
    from tuner.oracles.stopping import MedianStoppingRule, StoppingRule
    from tuner.oracles.tpe import TPEOracle

# keras-tuner's names for the same classes.
RandomSearch = RandomSearchOracle
GridSearch = GridSearchOracle

# The other algorithms are imported on first use, which keeps `import tuner` as fast as
# `import optuna` (issue 9): name -> (module, class).
_LAZY = {
    "AsyncSuccessiveHalvingOracle": ("tuner.oracles.asha", "AsyncSuccessiveHalvingOracle"),
    "BayesianOptimizationOracle": ("tuner.oracles.bayesian", "BayesianOptimizationOracle"),
    "BayesianOptimization": ("tuner.oracles.bayesian", "BayesianOptimizationOracle"),
    "BOHBOracle": ("tuner.oracles.bohb", "BOHBOracle"),
    "BOHB": ("tuner.oracles.bohb", "BOHBOracle"),
    "HyperbandOracle": ("tuner.oracles.hyperband", "HyperbandOracle"),
    "Hyperband": ("tuner.oracles.hyperband", "HyperbandOracle"),
    "MedianStoppingRule": ("tuner.oracles.stopping", "MedianStoppingRule"),
    "StoppingRule": ("tuner.oracles.stopping", "StoppingRule"),
    "TPEOracle": ("tuner.oracles.tpe", "TPEOracle"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'tuner.oracles' has no attribute {name!r}")
    module_name, class_name = _LAZY[name]
    value = getattr(importlib.import_module(module_name), class_name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BOHB",
    "AsyncSuccessiveHalvingOracle",
    "BOHBOracle",
    "BayesianOptimization",
    "BayesianOptimizationOracle",
    "GridSearch",
    "GridSearchOracle",
    "Hyperband",
    "HyperbandOracle",
    "MedianStoppingRule",
    "Oracle",
    "OracleLike",
    "Proposal",
    "ProposalAction",
    "RandomSearch",
    "RandomSearchOracle",
    "StoppingRule",
    "TPEOracle",
]
