"""HyperEfficientNet: Keras's EfficientNet B0-B7 with a tuned version and classification head."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers

from tuner.applications.inputs import channel_axis, check_classes, check_input, image_input
from tuner.hypermodel import HyperModel
from tuner.hyperparameters import HyperParameters

__all__ = ["HyperEfficientNet"]

#: The image side each EfficientNet version was designed for; inputs are resized to it.
IMAGE_SIZES = {
    "B0": 224,
    "B1": 240,
    "B2": 260,
    "B3": 300,
    "B4": 380,
    "B5": 456,
    "B6": 528,
    "B7": 600,
}


def _backbone(version: str, image_shape: tuple[int, ...], weights: str | None) -> keras.Model:
    """The convolutional part (no top) of ``keras.applications.EfficientNet<version>``."""
    constructor = getattr(keras.applications, f"EfficientNet{version}")
    return constructor(include_top=False, weights=weights, input_shape=image_shape)


class HyperEfficientNet(HyperModel):
    """An EfficientNet image classifier whose version and head are tuned (keras-tuner's).

    Images are resized to the chosen version's native size (224 for B0 up to 600 for B7) and
    fed to ``keras.applications.EfficientNet<version>``, which rescales 0-255 pixel values
    itself. Hyperparameters (keras-tuner's names, values and defaults): ``version`` (``"B0"``
    to ``"B7"``; default ``"B0"``), ``pooling`` (``"avg"`` or ``"max"``),
    ``top_dropout_rate`` (0.2 to 0.8 by 0.2; default 0.2) and ``learning_rate`` (0.1, 0.01,
    0.001; default 0.01) of SGD with momentum 0.1. The model is compiled with
    ``categorical_crossentropy`` (one-hot labels) and ``accuracy``; override ``_compile(model,
    hp)`` to compile it otherwise.

    Difference from keras-tuner: keras-tuner always loads the ImageNet weights (downloading
    them); here the network starts from random weights unless ``weights="imagenet"`` (or a
    weights file path) is passed, which then behaves as keras-tuner's.

    Args:
        input_shape: Image shape, e.g. ``(32, 32, 3)``. This or ``input_tensor`` is required.
        input_tensor: A Keras tensor (e.g. ``keras.Input(...)``) to use as the image input.
        classes: Number of classes (required).
        augmentation_model: Optional augmentation applied to the images first: a Keras
            ``Model`` or a :class:`~tuner.HyperModel` (e.g. ``HyperImageAugment``) built with the
            same hyperparameters, so its search space joins this one.
        weights: ``None`` (random initialisation, the default), ``"imagenet"``, or the path to a
            weights file, as for ``keras.applications``.
        **kwargs: Passed to :class:`~tuner.HyperModel` (``name``, ``tunable``).

    Raises:
        ValueError: ``classes`` is missing, neither ``input_shape`` nor ``input_tensor`` is
            given, or ``augmentation_model`` is neither a Keras model nor a HyperModel.

    Example:
        >>> import tuner as kt
        >>> augment = kt.applications.HyperImageAugment(input_shape=(32, 32, 3))
        >>> hypermodel = kt.applications.HyperEfficientNet(
        ...     input_shape=(32, 32, 3), classes=10, augmentation_model=augment)
    """

    def __init__(
        self,
        input_shape: Sequence[int | None] | None = None,
        input_tensor: Any = None,
        classes: int | None = None,
        augmentation_model: HyperModel | keras.Model | None = None,
        weights: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if not isinstance(augmentation_model, (HyperModel, keras.Model, type(None))):
            raise ValueError(
                "HyperEfficientNet: `augmentation_model` must be a HyperModel, a Keras Model or "
                f"None, got {augmentation_model!r}."
            )
        self.classes = check_classes("HyperEfficientNet", classes, required=True)
        self.input_shape = check_input("HyperEfficientNet", input_shape, input_tensor)
        self.input_tensor = input_tensor
        self.augmentation_model = augmentation_model
        self.weights = weights

    def build(self, hp: HyperParameters) -> keras.Model:
        inputs, x = image_input(self.input_shape, self.input_tensor)
        if isinstance(self.augmentation_model, HyperModel):
            x = self.augmentation_model.build(hp)(x)
        elif self.augmentation_model is not None:
            x = self.augmentation_model(x)

        version = hp.Choice("version", [f"B{i}" for i in range(8)], default="B0")
        size = IMAGE_SIZES[version]
        x = layers.Resizing(size, size, interpolation="bilinear")(x)
        channels = x.shape[channel_axis()]
        image_shape = (size, size, channels) if channel_axis() == -1 else (channels, size, size)
        x = _backbone(version, image_shape, self.weights)(x)

        pooling = hp.Choice("pooling", ["avg", "max"], default="avg")
        if pooling == "avg":
            x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        else:
            x = layers.GlobalMaxPooling2D(name="max_pool")(x)
        rate = hp.Float("top_dropout_rate", 0.2, 0.8, step=0.2, default=0.2)
        x = layers.Dropout(rate, name="top_dropout")(x)
        outputs = layers.Dense(self.classes, activation="softmax", name="probs")(x)
        model = keras.Model(inputs, outputs, name="EfficientNet")
        self._compile(model, hp)
        return model

    def _compile(self, model: keras.Model, hp: HyperParameters) -> None:
        """Compiles the model with the tuned learning rate; override to compile otherwise."""
        learning_rate = hp.Choice("learning_rate", [0.1, 0.01, 0.001], default=0.01)
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.1),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
