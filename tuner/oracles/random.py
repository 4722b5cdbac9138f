"""Random search: every hyperparameter drawn uniformly on its own scale."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tuner.hyperparameters import HyperParameter
from tuner.oracles.arguments import OracleOptions, takes_oracle_options
from tuner.oracles.base import Oracle, Proposal, trial_index

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11


@takes_oracle_options()
class RandomSearchOracle(Oracle):
    """Draws each active hyperparameter uniformly through its unit-interval map.

    Log-sampled hyperparameters are uniform in log space; a value set already tried is never
    proposed again, and the search stops when ``max_collisions`` draws in a row were all taken
    (the space is exhausted).

    Args:
        objective: See :class:`~tuner.oracles.Oracle`.
        max_trials: How many trials to run. Defaults to 10.

    Example:
        >>> oracle = RandomSearchOracle(objective="val_loss", max_trials=5, seed=0)
        >>> oracle.hyperparameters.Float("lr", 1e-4, 1e-1, sampling="log")
        0.0001
        >>> 1e-4 <= oracle.create_trial("w").values["lr"] <= 1e-1
        True
    """

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = 10,
        **options: Unpack[OracleOptions],
    ) -> None:
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            **options,
        )

    def _propose(self, trial_id: str) -> Proposal:
        for attempt in range(self.max_collisions):
            # Python's generator, seeded through SHA-512 of the seed, the trial and the attempt:
            # independent streams as with NumPy's SeedSequence, at half the cost per trial.
            stream = random.Random(f"{self._seed}/{trial_index(trial_id)}/{attempt}")
            values = self.hyperparameters.sample_values(_uniform_draws(stream))
            if not self._is_duplicate(values):
                return Proposal.run(values)
        return Proposal.stop()


def _uniform_draws(stream: random.Random) -> Callable[[HyperParameter], Any]:
    """Chooses each hyperparameter's value from the next uniform draw of ``stream``."""
    return lambda hp: hp.unit_to_value(stream.random())
