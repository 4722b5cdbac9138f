"""HyperXception: an Xception-style network of separable-convolution residual blocks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers

from tuner.applications.inputs import channel_axis, check_classes, check_input, image_input
from tuner.hypermodel import HyperModel
from tuner.hyperparameters import HyperParameters

__all__ = ["HyperXception"]


def _activated(x: Any, activation: str) -> Any:
    """ReLU after batch normalisation; SELU is self-normalising and is applied by the layer."""
    if activation == "relu":
        x = layers.BatchNormalization(axis=channel_axis())(x)
        x = layers.Activation("relu")(x)
    return x


def _convolution_settings(activation: str) -> dict[str, Any]:
    """Conv2D arguments: SELU wants LeCun-normal weights; ReLU gets a bias-free conv + BN."""
    if activation == "selu":
        return {"activation": "selu", "kernel_initializer": "lecun_normal"}
    return {"use_bias": False}


def _separable(x: Any, filters: int, kernel_size: int, activation: str) -> Any:
    settings: dict[str, Any] = {"use_bias": False}
    if activation == "selu":
        settings = {
            "activation": "selu",
            "depthwise_initializer": "lecun_normal",
            "pointwise_initializer": "lecun_normal",
        }
    x = layers.SeparableConv2D(filters, kernel_size, padding="same", **settings)(x)
    return _activated(x, activation)


def _residual(x: Any, filters: int, activation: str, downsample: bool) -> Any:
    """Two separable convolutions plus a shortcut (projected when shape or width changes)."""
    kernel_size = 3
    if downsample:
        shortcut = layers.Conv2D(filters, 1, strides=2, padding="same")(x)
    elif x.shape[channel_axis()] != filters:
        shortcut = layers.Conv2D(filters, 1, padding="same")(x)
    else:
        shortcut = x
    x = _separable(x, filters, kernel_size, activation)
    x = _separable(x, filters, kernel_size, activation)
    if downsample:
        x = layers.MaxPooling2D(kernel_size, strides=2, padding="same")(x)
    return layers.add([x, shortcut])


def _dense(x: Any, units: int, activation: str, batch_norm: bool, dropout_rate: float) -> Any:
    if activation == "selu":
        x = layers.Dense(units, activation="selu", kernel_initializer="lecun_normal")(x)
    else:
        x = layers.Dense(units, activation="relu")(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
    if dropout_rate:
        x = layers.Dropout(dropout_rate)(x)
    return x


class HyperXception(HyperModel):
    """An Xception-style image classifier whose width, depth and head are tuned (keras-tuner's).

    Hyperparameters (keras-tuner's names, values and defaults): ``activation`` (``"relu"`` or
    ``"selu"``), ``conv2d_num_filters`` (32, 64, 128; default 64), ``kernel_size`` (3 or 5),
    ``initial_strides`` (2), ``sep_num_filters`` (128 to 768 by 128; default 256),
    ``num_residual_blocks`` (2 to 8; default 4), ``pooling`` (``"avg"``, ``"flatten"``,
    ``"max"``), and with the classifier on top ``num_dense_layers`` (1 to 3),
    ``dropout_rate`` (0 to 0.6 by 0.1; default 0.5), ``dense_use_bn`` (True or False) and
    ``learning_rate`` (1e-3, 1e-4, 1e-5) of Adam. The hidden dense layers are ``classes``
    wide, as in keras-tuner.

    Args:
        include_top: Whether to end with the softmax classifier, compiled with
            ``categorical_crossentropy`` (one-hot labels) and ``accuracy``. Without it ``build``
            returns the uncompiled, pooled feature extractor.
        input_shape: Image shape, e.g. ``(224, 224, 3)``. This or ``input_tensor`` is required.
        input_tensor: A Keras tensor (e.g. ``keras.Input(...)``) to use as the image input.
        classes: Number of classes; required when ``include_top`` is True.
        **kwargs: Passed to :class:`~tuner.HyperModel` (``name``, ``tunable``).

    Raises:
        ValueError: Neither ``input_shape`` nor ``input_tensor`` is given, or ``include_top``
            is True without ``classes``.

    Example:
        >>> import tuner as kt
        >>> hypermodel = kt.applications.HyperXception(input_shape=(64, 64, 3), classes=10)
        >>> tuner = kt.Hyperband(hypermodel, objective="val_accuracy", max_epochs=9,
        ...                      directory="runs", project_name="xception")
    """

    def __init__(
        self,
        include_top: bool = True,
        input_shape: Sequence[int | None] | None = None,
        input_tensor: Any = None,
        classes: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.classes = check_classes("HyperXception", classes, required=include_top)
        self.input_shape = check_input("HyperXception", input_shape, input_tensor)
        self.input_tensor = input_tensor
        self.include_top = include_top

    def build(self, hp: HyperParameters) -> keras.Model:
        activation = hp.Choice("activation", ["relu", "selu"])
        inputs, x = image_input(self.input_shape, self.input_tensor)

        filters = hp.Choice("conv2d_num_filters", [32, 64, 128], default=64)
        kernel_size = hp.Choice("kernel_size", [3, 5])
        strides = hp.Choice("initial_strides", [2])
        x = layers.Conv2D(
            filters, kernel_size, strides=strides, padding="same",
            **_convolution_settings(activation),
        )(x)  # fmt: skip
        x = _activated(x, activation)

        separable_filters = hp.Int("sep_num_filters", 128, 768, step=128, default=256)
        residual_blocks = hp.Int("num_residual_blocks", 2, 8, default=4)
        # None only under an inactive conditional scope, and these have none.
        assert separable_filters is not None and residual_blocks is not None
        for _ in range(residual_blocks):
            x = _residual(x, separable_filters, activation, downsample=False)
        x = _residual(x, 2 * separable_filters, activation, downsample=True)

        pooling = hp.Choice("pooling", ["avg", "flatten", "max"])
        if pooling == "flatten":
            x = layers.Flatten()(x)
        elif pooling == "avg":
            x = layers.GlobalAveragePooling2D()(x)
        else:
            x = layers.GlobalMaxPooling2D()(x)
        if not self.include_top:
            return keras.Model(inputs, x, name="Xception")

        dense_layers = hp.Int("num_dense_layers", 1, 3)
        dropout_rate = hp.Float("dropout_rate", 0.0, 0.6, step=0.1, default=0.5)
        assert dense_layers is not None and dropout_rate is not None
        assert self.classes is not None  # check_classes requires it with include_top
        batch_norm = hp.Choice("dense_use_bn", [True, False])
        for _ in range(dense_layers):
            x = _dense(x, self.classes, activation, batch_norm, dropout_rate)
        outputs = layers.Dense(self.classes, activation="softmax")(x)
        model = keras.Model(inputs, outputs, name="Xception")
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-3, 1e-4, 1e-5])),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model
