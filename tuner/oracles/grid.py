"""Grid search: the exact product of every hyperparameter's values, in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tuner.hyperparameters import HyperParameter
from tuner.oracles.arguments import OracleOptions, takes_oracle_options
from tuner.oracles.base import Oracle, Proposal

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

_SIZE_LIMIT = 1_000_000


@takes_oracle_options()
class GridSearchOracle(Oracle):
    """Enumerates the grid in order: the last hyperparameter varies fastest.

    ``Int``, ``Choice``, ``Boolean``, ``Fixed`` and stepped ``Float`` contribute all their
    values; a ``Float`` without a step contributes 10 evenly spaced points of its scale.
    Conditional hyperparameters are only enumerated where their condition holds. The grid point
    of each new trial is the first one not yet tried, so a resumed search continues exactly where
    it stopped, and the search stops when the grid is exhausted (or at ``max_trials``).

    Args:
        objective: See :class:`~tuner.oracles.Oracle`.
        max_trials: Optional cap; None (default) runs the whole grid.
        seed: Unused by the grid itself; seeds model initialisation in Keras tuners.

    Example:
        >>> oracle = GridSearchOracle(objective="val_loss")
        >>> oracle.hyperparameters.Choice("units", [8, 16]); oracle.hyperparameters.Boolean("bn")
        8
        False
        >>> [tuple(v.values()) for v in oracle.grid()]
        [(8, False), (8, True), (16, False), (16, True)]
    """

    needs_initial_space = True

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = None,
        **options: Unpack[OracleOptions],
    ) -> None:
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            **options,
        )
        self._cursor: Iterator[dict[str, Any]] | None = None
        self._grid_size: int | None = None

    def grid(self) -> Iterator[dict[str, Any]]:
        """Yields every grid point (active hyperparameters only), in order."""
        names = [hp.name for hp in self.hyperparameters.space]
        names = list(dict.fromkeys(names))
        scratch = self.hyperparameters.copy()

        def walk(position: int, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
            if position == len(names):
                yield dict(values)
                return
            name = names[position]
            scratch.values = values
            if not scratch.is_active(name):
                yield from walk(position + 1, values)
                return
            for value in scratch.get_hyperparameter(name).grid_values():
                values[name] = value
                yield from walk(position + 1, values)
            del values[name]

        return walk(0, {})

    @property
    def grid_size(self) -> int | None:
        """The number of grid points (None above a million)."""
        with self._lock:
            space = self.hyperparameters.space
            if self._grid_size is None and not any(hp.conditions for hp in space):
                size = 1
                for name in dict.fromkeys(hp.name for hp in space):
                    size *= len(self.hyperparameters.get_hyperparameter(name).grid_values())
                self._grid_size = size if size <= _SIZE_LIMIT else None
                return self._grid_size
            if self._grid_size is None:
                count = 0
                for count, _ in enumerate(self.grid(), start=1):
                    if count > _SIZE_LIMIT:
                        return None
                self._grid_size = count
            return self._grid_size

    @property
    def remaining_trials(self) -> int | None:
        """Trials left: ``max_trials`` minus the trials so far, as in keras-tuner.

        Without ``max_trials``, the grid points not yet tried once the space is known (None
        before a search discovered it, where keras-tuner always says None).
        """
        if self.max_trials is not None:
            return super().remaining_trials
        with self._lock:
            if not self.hyperparameters.space and not self.trials:
                return None  # the space is not known yet (it is discovered as the search begins)
            size = self.grid_size
            return None if size is None else max(size - len(self.trials), 0)

    def _propose(self, trial_id: str) -> Proposal:
        if self._cursor is None:
            self._cursor = self.grid()
        for values in self._cursor:
            if not self._is_duplicate(values):
                return Proposal.run(values)
        return Proposal.stop()

    def _on_space_change(self) -> None:
        self._cursor = None  # enumerate again; tried points are skipped
        self._grid_size = None

    def _on_reload(self, trials: list[Any]) -> None:
        self._on_space_change()

    def _sample_new_entry(self, trial_id: str, hyperparameter: HyperParameter) -> Any:
        return hyperparameter.default
