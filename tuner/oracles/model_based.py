"""What the model-based oracles share: the whole-space codec and the pool of a small space."""

from __future__ import annotations

from typing import Any, ClassVar

from tuner.oracles.base import Oracle, values_key
from tuner.space import SpaceCodec


class ModelBasedOracle(Oracle):
    """Base of the oracles that model the space as a unit cube (Bayesian optimization, TPE).

    It keeps a :class:`~tuner.space.SpaceCodec` in step with the space, and enumerates small
    finite spaces so that a search stops exactly when every value set has been tried.

    Example:
        >>> from tuner.oracles import TPEOracle
        >>> isinstance(TPEOracle(objective="loss"), ModelBasedOracle)
        True
    """

    #: Finite spaces up to this many value sets are enumerated (scored exhaustively, and the
    #: search stops exactly when they are all tried).
    exhaustive_limit: ClassVar[int] = 2048
    _codec_cache: tuple[str, SpaceCodec] | None = None
    _pool_cache: tuple[str, list[tuple[str, dict[str, Any]]] | None] | None = None

    def _codec(self) -> SpaceCodec:
        """The codec of the current space (rebuilt when the space grows)."""
        fingerprint = values_key({"space": self.hyperparameters.get_config()["space"]})
        if self._codec_cache is None or self._codec_cache[0] != fingerprint:
            self._codec_cache = (fingerprint, SpaceCodec(self.hyperparameters))
        return self._codec_cache[1]

    def _untried_pool(self, codec: SpaceCodec) -> list[dict[str, Any]] | None:
        """Every untried value set of a small finite space; None for other spaces."""
        if self._pool_cache is None or self._pool_cache[0] != codec.signature:
            enumerated = codec.enumerate_values(self.exhaustive_limit)
            keyed = None if enumerated is None else [(values_key(v), v) for v in enumerated]
            self._pool_cache = (codec.signature, keyed)
        keyed = self._pool_cache[1]
        if keyed is None:
            return None
        return [values for key, values in keyed if key not in self._tried]
