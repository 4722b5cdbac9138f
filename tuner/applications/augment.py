"""HyperImageAugment: a tuned image-augmentation model (fixed sequence or RandAugment)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers

from tuner.applications.inputs import check_input, image_input
from tuner.hypermodel import HyperModel
from tuner.hyperparameters import HyperParameters

__all__ = ["HyperImageAugment", "RandAugment"]

#: The transforms, in the order keras-tuner registers them.
TRANSFORMS = ("rotate", "translate_x", "translate_y", "contrast")


def transform_layer(transform: str, factor: float) -> keras.layers.Layer:
    """The Keras random preprocessing layer of one transform, at strength ``factor``.

    ``translate_x`` moves images horizontally (a fraction of the width), ``translate_y``
    vertically (of the height), ``rotate`` turns them by up to ``factor`` of a full turn either
    way, ``contrast`` scales their contrast by up to ``1 ± factor``.
    """
    if transform == "rotate":
        return layers.RandomRotation(factor)
    if transform == "translate_x":
        return layers.RandomTranslation(height_factor=0.0, width_factor=factor)
    if transform == "translate_y":
        return layers.RandomTranslation(height_factor=factor, width_factor=0.0)
    if transform == "contrast":
        return layers.RandomContrast(factor)
    raise ValueError(f"Unknown transform {transform!r}; expected one of {TRANSFORMS}.")


@keras.saving.register_keras_serializable(package="tuner")
class RandAugment(keras.layers.Layer):
    """One RandAugment layer: each image gets one transform, drawn uniformly among them.

    A transform whose factor is 0 leaves the images it is drawn for unchanged. Like every
    Keras random preprocessing layer it acts only in training; at inference it is the identity.

    Args:
        transforms: Names among ``"rotate"``, ``"translate_x"``, ``"translate_y"``,
            ``"contrast"``.
        factors: One strength per transform (see :func:`transform_layer`).
        seed: Optional seed of the per-image draws.

    Example:
        >>> layer = RandAugment(["rotate", "contrast"], [0.1, 0.2])
    """

    def __init__(
        self,
        transforms: Sequence[str],
        factors: Sequence[float],
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if len(transforms) != len(factors) or not transforms:
            raise ValueError(
                f"RandAugment needs one factor per transform, got transforms={transforms!r} "
                f"and factors={factors!r}."
            )
        self.transforms = list(transforms)
        self.factors = [float(factor) for factor in factors]
        self.seed = seed
        self.transform_layers = [
            transform_layer(name, factor) if factor else None
            for name, factor in zip(self.transforms, self.factors, strict=True)
        ]
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape: Any) -> None:
        for layer in self.transform_layers:
            if layer is not None:
                layer.build(input_shape)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if not training:
            return inputs
        batch = keras.ops.shape(inputs)[0]
        drawn = keras.random.randint(
            (batch, 1, 1, 1), 0, len(self.transforms), seed=self.seed_generator
        )
        outputs = inputs
        for index, layer in enumerate(self.transform_layers):
            if layer is not None:
                changed = keras.ops.cast(layer(inputs, training=True), inputs.dtype)
                outputs = keras.ops.where(keras.ops.equal(drawn, index), changed, outputs)
        return outputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "transforms": self.transforms,
            "factors": self.factors,
            "seed": self.seed,
        }


def _factor_range(transform: str, setting: Any) -> tuple[float, float] | None:
    """``setting`` as a ``(min, max)`` factor range, or None when the transform is off.

    Raises:
        ValueError: ``setting`` is not a number in [0, 1] or a pair of them in order.
    """
    if setting is None or (not isinstance(setting, (list, tuple)) and setting == 0):
        return None
    if isinstance(setting, (list, tuple)):
        if len(setting) != 2:
            raise ValueError(
                f"HyperImageAugment: `{transform}` must be a number or a list of two numbers "
                f"[min, max], got {setting!r} ({len(setting)} items)."
            )
        low, high = setting
    else:
        low, high = 0, setting
    for value in (low, high):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(
                f"HyperImageAugment: `{transform}` must be an int or a float between 0 and 1 "
                f"(or a list of two), got {setting!r}."
            )
    if not 0 <= low <= high <= 1:
        raise ValueError(
            f"HyperImageAugment: `{transform}` must lie in [0, 1] with min <= max, "
            f"got {setting!r}."
        )
    return float(low), float(high)


def _layer_count_range(augment_layers: Any) -> tuple[int, int] | None:
    """``augment_layers`` as a ``(min, max)`` range, or None for the fixed augmentation.

    Raises:
        ValueError: ``augment_layers`` is not a non-negative int or a pair of them in order.
    """
    if augment_layers is None or (
        not isinstance(augment_layers, (list, tuple)) and augment_layers == 0
    ):
        return None
    if isinstance(augment_layers, (list, tuple)):
        if len(augment_layers) != 2:
            raise ValueError(
                "HyperImageAugment: `augment_layers` must be an int or a list of two ints "
                f"[min, max], got {augment_layers!r}."
            )
        low, high = augment_layers
    else:
        low, high = 0, augment_layers
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (low, high)):
        raise ValueError(
            f"HyperImageAugment: `augment_layers` must be int, but received {augment_layers!r}."
        )
    if not 0 <= low <= high:
        raise ValueError(
            "HyperImageAugment: `augment_layers` must be non-negative with min <= max, "
            f"got {augment_layers!r}."
        )
    return low, high


class HyperImageAugment(HyperModel):
    """Searches the strength of each image augmentation, and how many to apply (keras-tuner's).

    ``build`` returns an uncompiled Keras model from images to images of the same shape, to put
    in front of a classifier (for example as ``HyperEfficientNet``'s ``augmentation_model``).
    Like every Keras random preprocessing layer it changes images only in training.

    Each transform setting is a factor ``x`` (searched in ``[0, x]``), a pair ``[low, high]``
    (searched in it), or None (the transform is off); factors lie in [0, 1]. Its
    hyperparameter is ``factor_<transform>``.

    With ``augment_layers`` 0 (or None), every enabled transform is applied in turn, each
    ``factor_<transform>`` searched in steps of 0.05. Otherwise a simple RandAugment
    (https://arxiv.org/abs/1909.13719) is built: ``augment_layers`` (an int hyperparameter in
    ``[0, augment_layers]``, or in the given ``[min, max]``; default min) layers, each applying
    to every image one enabled transform drawn at random. All defaults are the range minimums,
    so the default model leaves images unchanged.

    Difference from keras-tuner: when ``augment_layers`` can be 0, the ``factor_*``
    hyperparameters are declared conditional on ``augment_layers`` being at least 1 (keras-tuner
    declares them only once a trial uses a layer), so the whole space is known from the first
    trial. ``translate_x`` translates horizontally, as keras-tuner documents (its code translates
    vertically).

    Args:
        input_shape: Image shape, e.g. ``(32, 32, 3)``. This or ``input_tensor`` is required.
        input_tensor: A Keras tensor (e.g. ``keras.Input(...)``) to use as the image input.
        rotate: Rotation, as a fraction of a full turn either way. Defaults to 0.5.
        translate_x: Horizontal translation, as a fraction of the width. Defaults to 0.4.
        translate_y: Vertical translation, as a fraction of the height. Defaults to 0.4.
        contrast: Contrast change, as a fraction. Defaults to 0.3.
        augment_layers: None, an int or a pair of ints: the RandAugment layer counts searched.
            Defaults to 3.
        **kwargs: Passed to :class:`~tuner.HyperModel` (``name``, ``tunable``).

    Raises:
        ValueError: Neither ``input_shape`` nor ``input_tensor`` is given, or a factor or
            ``augment_layers`` is malformed.

    Example:
        >>> import tuner as kt
        >>> augment = kt.applications.HyperImageAugment(
        ...     input_shape=(32, 32, 3), augment_layers=0, rotate=[0.2, 0.3],
        ...     translate_x=0.1, translate_y=None, contrast=None)
    """

    def __init__(
        self,
        input_shape: Sequence[int | None] | None = None,
        input_tensor: Any = None,
        rotate: float | Sequence[float] | None = 0.5,
        translate_x: float | Sequence[float] | None = 0.4,
        translate_y: float | Sequence[float] | None = 0.4,
        contrast: float | Sequence[float] | None = 0.3,
        augment_layers: int | Sequence[int] | None = 3,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.input_shape = check_input("HyperImageAugment", input_shape, input_tensor)
        self.input_tensor = input_tensor
        settings = dict(zip(TRANSFORMS, (rotate, translate_x, translate_y, contrast), strict=True))
        #: ``(transform, (min factor, max factor))`` of each enabled transform.
        self.transforms: list[tuple[str, tuple[float, float]]] = []
        for transform, setting in settings.items():
            factor_range = _factor_range(transform, setting)
            if factor_range is not None:
                self.transforms.append((transform, factor_range))
        layer_counts = _layer_count_range(augment_layers)
        if layer_counts is None:
            self.model_name = "image_augment"
        else:
            self.model_name = "image_rand_augment"
            self.augment_layers_min, self.augment_layers_max = layer_counts

    def build(self, hp: HyperParameters) -> keras.Model:
        inputs, x = image_input(self.input_shape, self.input_tensor)
        if self.model_name == "image_rand_augment":
            x = self._rand_augment(x, hp)
        else:
            x = self._fixed_augment(x, hp)
        return keras.Model(inputs, x, name=self.model_name)

    def _fixed_augment(self, x: Any, hp: HyperParameters) -> Any:
        for transform, (low, high) in self.transforms:
            factor = hp.Float(f"factor_{transform}", low, high, step=0.05, default=low)
            if factor:
                x = transform_layer(transform, factor)(x)
        return x

    def _rand_augment(self, x: Any, hp: HyperParameters) -> Any:
        low, high = self.augment_layers_min, self.augment_layers_max
        count = hp.Int("augment_layers", low, high, default=low)
        assert count is not None  # None only under an inactive conditional scope
        if not self.transforms:
            return x
        if low == 0 and high > 0:
            with hp.conditional_scope("augment_layers", list(range(1, high + 1))):
                factors = self._rand_factors(hp)
        else:
            factors = self._rand_factors(hp)
        names = [transform for transform, _ in self.transforms]
        # A factor is None only while augment_layers is 0, and then no layer is added.
        strengths = [factor for factor in factors if factor is not None]
        for _ in range(count):
            x = RandAugment(names, strengths)(x)
        return x

    def _rand_factors(self, hp: HyperParameters) -> list[float | None]:
        return [
            hp.Float(f"factor_{transform}", low, high, default=low)
            for transform, (low, high) in self.transforms
        ]
