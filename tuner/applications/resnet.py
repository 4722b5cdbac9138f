"""HyperResNet: ResNet v1, v2 and ResNeXt, with the depth of two stages tuned."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers

from tuner.applications.inputs import channel_axis, check_classes, check_input, image_input
from tuner.hypermodel import HyperModel
from tuner.hyperparameters import HyperParameters

__all__ = ["HyperResNet"]

_EPSILON = 1.001e-5
#: Bottleneck widths of the four stages, per version (ResNeXt's are wider).
_STAGE_FILTERS = {
    "v1": (64, 128, 256, 512),
    "v2": (64, 128, 256, 512),
    "next": (64, 256, 512, 1024),
}
#: Groups of ResNeXt's grouped 3x3 convolution.
_GROUPS = 32


def _norm(x: Any, name: str) -> Any:
    return layers.BatchNormalization(axis=channel_axis(), epsilon=_EPSILON, name=name)(x)


def _v1_block(x: Any, filters: int, stride: int, project: bool, name: str) -> Any:
    """Post-activation bottleneck (ResNet v1): 1x1, 3x3, 1x1 convolutions, then the sum."""
    if project:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _norm(shortcut, f"{name}_0_bn")
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(_norm(x, f"{name}_1_bn"))
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(_norm(x, f"{name}_2_bn"))
    x = _norm(layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x), f"{name}_3_bn")
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _v2_block(x: Any, filters: int, stride: int, project: bool, name: str) -> Any:
    """Pre-activation bottleneck (ResNet v2): normalisation and ReLU before each convolution."""
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(_norm(x, f"{name}_preact_bn"))
    if project:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    elif stride > 1:
        shortcut = layers.MaxPooling2D(1, strides=stride, name=f"{name}_0_pool")(x)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.Activation("relu", name=f"{name}_1_relu")(_norm(x, f"{name}_1_bn"))
    x = layers.ZeroPadding2D(padding=1, name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(_norm(x, f"{name}_2_bn"))
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def _next_block(x: Any, filters: int, stride: int, project: bool, name: str) -> Any:
    """ResNeXt bottleneck: the 3x3 convolution split into 32 groups, output twice as wide."""
    width = (64 // _GROUPS) * filters
    if project:
        shortcut = layers.Conv2D(width, 1, strides=stride, use_bias=False, name=f"{name}_0_conv")(
            x
        )
        shortcut = _norm(shortcut, f"{name}_0_bn")
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(_norm(x, f"{name}_1_bn"))
    x = layers.ZeroPadding2D(padding=1, name=f"{name}_2_pad")(x)
    x = layers.Conv2D(
        filters, 3, strides=stride, groups=_GROUPS, use_bias=False, name=f"{name}_2_conv"
    )(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(_norm(x, f"{name}_2_bn"))
    x = _norm(layers.Conv2D(width, 1, use_bias=False, name=f"{name}_3_conv")(x), f"{name}_3_bn")
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _stage(x: Any, version: str, filters: int, blocks: int, stride: int, name: str) -> Any:
    """``blocks`` bottlenecks. v1 and ResNeXt downsample in the first block, v2 in the last."""
    for index in range(1, blocks + 1):
        block_name = f"{name}_block{index}"
        if version == "v2":
            block_stride = stride if index == blocks else 1
            x = _v2_block(x, filters, block_stride, project=index == 1, name=block_name)
        else:
            block = _v1_block if version == "v1" else _next_block
            x = block(x, filters, stride if index == 1 else 1, project=index == 1, name=block_name)
    return x


class HyperResNet(HyperModel):
    """A ResNet image classifier whose version and depth are tuned (keras-tuner's).

    Hyperparameters (keras-tuner's names, values and defaults): ``version`` (``"v1"``,
    ``"v2"``, ``"next"`` for ResNeXt; default ``"v2"``), ``conv3_depth`` (4 or 8 blocks) and
    ``conv4_depth`` (6, 23 or 36 blocks) — the defaults give ResNet-50's depth —,
    ``pooling`` (``"avg"`` or ``"max"``), and with the classifier on top ``optimizer``
    (``"adam"``, ``"rmsprop"``, ``"sgd"``) and ``learning_rate`` (0.1, 0.01 or 0.001; default
    0.01). Weights start random (keras-tuner has no pretrained ResNet either).

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
        >>> hypermodel = kt.applications.HyperResNet(input_shape=(32, 32, 3), classes=10)
        >>> tuner = kt.RandomSearch(hypermodel, objective="val_accuracy", max_trials=5,
        ...                         directory="runs", project_name="resnet")
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
        self.classes = check_classes("HyperResNet", classes, required=include_top)
        self.input_shape = check_input("HyperResNet", input_shape, input_tensor)
        self.input_tensor = input_tensor
        self.include_top = include_top

    def build(self, hp: HyperParameters) -> keras.Model:
        version = hp.Choice("version", ["v1", "v2", "next"], default="v2")
        conv3_depth = hp.Choice("conv3_depth", [4, 8])
        conv4_depth = hp.Choice("conv4_depth", [6, 23, 36])
        preact = version == "v2"

        inputs, x = image_input(self.input_shape, self.input_tensor)
        x = layers.ZeroPadding2D(padding=3, name="conv1_pad")(x)
        x = layers.Conv2D(64, 7, strides=2, use_bias=version != "next", name="conv1_conv")(x)
        if not preact:
            x = layers.Activation("relu", name="conv1_relu")(_norm(x, "conv1_bn"))
        x = layers.ZeroPadding2D(padding=1, name="pool1_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)

        filters = _STAGE_FILTERS[version]
        depths = (3, conv3_depth, conv4_depth, 3)
        # v1 keeps the resolution in its first stage; v2 and ResNeXt in their last.
        strides = (1, 2, 2, 2) if version == "v1" else (2, 2, 2, 1)
        stages = zip(filters, depths, strides, strict=True)
        for stage, (width, depth, stride) in enumerate(stages, start=2):
            x = _stage(x, version, width, depth, stride, name=f"conv{stage}")
        if preact:
            x = layers.Activation("relu", name="post_relu")(_norm(x, "post_bn"))

        pooling = hp.Choice("pooling", ["avg", "max"], default="avg")
        if pooling == "avg":
            x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        else:
            x = layers.GlobalMaxPooling2D(name="max_pool")(x)
        if not self.include_top:
            return keras.Model(inputs, x, name="ResNet")

        outputs = layers.Dense(self.classes, activation="softmax", name="probs")(x)
        model = keras.Model(inputs, outputs, name="ResNet")
        optimizer = keras.optimizers.get(
            hp.Choice("optimizer", ["adam", "rmsprop", "sgd"], default="adam")
        )
        optimizer.learning_rate = hp.Choice("learning_rate", [0.1, 0.01, 0.001], default=0.01)
        model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
        return model
