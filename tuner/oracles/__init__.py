"""Search algorithms. Each oracle proposes trials; none imports a deep-learning framework."""

from tuner.oracles.base import Oracle, OracleLike, Proposal, ProposalAction
from tuner.oracles.grid import GridSearchOracle
from tuner.oracles.random import RandomSearchOracle

# keras-tuner's names for the same classes.
RandomSearch = RandomSearchOracle
GridSearch = GridSearchOracle

__all__ = [
    "GridSearch",
    "GridSearchOracle",
    "Oracle",
    "OracleLike",
    "Proposal",
    "ProposalAction",
    "RandomSearch",
    "RandomSearchOracle",
]
