"""HyperModel: the object that builds (and optionally fits) a model from hyperparameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuner.hyperparameters import HyperParameters


class HyperModel:
    """Builds a model from a :class:`~tuner.HyperParameters`; subclass it to tune ``fit`` too.

    Args:
        name: Optional name.
        tunable: Whether the hyperparameters it defines are tuned (kept for keras-tuner
            compatibility).

    Example:
        >>> class MyHyperModel(HyperModel):
        ...     def build(self, hp):
        ...         import keras
        ...         model = keras.Sequential([keras.layers.Dense(hp.Int("units", 8, 64)),
        ...                                   keras.layers.Dense(1)])
        ...         model.compile("adam", "mse")
        ...         return model
        ...
        ...     def fit(self, hp, model, *args, **kwargs):
        ...         return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 32]), **kwargs)
    """

    def __init__(self, name: str | None = None, tunable: bool = True):
        self.name = name
        self.tunable = tunable

    def build(self, hp: HyperParameters) -> Any:
        """Builds and returns a (compiled) model. Subclasses must implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement build(hp).")

    def declare_hyperparameters(self, hp: HyperParameters) -> None:
        """Optionally registers hyperparameters ahead of any ``build`` (keras-tuner's hook).

        The tuner calls it once, when it is created, and adds what it defines to the search
        space (``search_space_summary()`` lists them before the first trial). ``build`` still
        defines them as usual; the declaration only makes them known sooner.
        """

    def fit(self, hp: HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        """Trains the model; override it to tune fit arguments such as ``batch_size``.

        Returns:
            What ``model.fit`` returns (a History), a float, or a dict of metrics.
        """
        return model.fit(*args, **kwargs)


class _FunctionHyperModel(HyperModel):
    """Wraps a ``build_model(hp)`` function."""

    def __init__(self, build: Callable[[HyperParameters], Any]):
        super().__init__(name=getattr(build, "__name__", None))
        self._build = build

    def build(self, hp: HyperParameters) -> Any:
        return self._build(hp)


def get_hypermodel(
    hypermodel: HyperModel | Callable[[HyperParameters], Any] | None,
) -> HyperModel | None:
    """Accepts a :class:`HyperModel`, a build function, or None."""
    if hypermodel is None or isinstance(hypermodel, HyperModel):
        return hypermodel
    if callable(hypermodel):
        return _FunctionHyperModel(hypermodel)
    raise TypeError(
        f"hypermodel must be a HyperModel or a function build_model(hp), got {hypermodel!r}."
    )
