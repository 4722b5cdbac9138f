"""Search algorithms. Each oracle proposes trials; none imports a deep-learning framework."""

from tuner.oracles.asha import AsyncSuccessiveHalvingOracle
from tuner.oracles.base import Oracle, OracleLike, Proposal, ProposalAction
from tuner.oracles.bayesian import BayesianOptimizationOracle
from tuner.oracles.grid import GridSearchOracle
from tuner.oracles.hyperband import HyperbandOracle
from tuner.oracles.random import RandomSearchOracle
from tuner.oracles.stopping import MedianStoppingRule, StoppingRule
from tuner.oracles.tpe import TPEOracle

# keras-tuner's names for the same classes.
RandomSearch = RandomSearchOracle
GridSearch = GridSearchOracle
BayesianOptimization = BayesianOptimizationOracle
Hyperband = HyperbandOracle

__all__ = [
    "AsyncSuccessiveHalvingOracle",
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
