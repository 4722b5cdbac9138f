"""The image input every application hypermodel starts from, and its argument checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras


def check_input(
    owner: str, input_shape: Sequence[int | None] | None, input_tensor: Any
) -> tuple[int | None, ...] | None:
    """Checks that one of ``input_shape`` and ``input_tensor`` is given; returns the shape.

    Raises:
        ValueError: Neither is given, or ``input_shape`` is not a sequence of sizes.
    """
    if input_shape is None and input_tensor is None:
        raise ValueError(
            f"{owner}: you must specify either `input_shape` (e.g. (32, 32, 3)) or "
            "`input_tensor` (e.g. keras.Input((32, 32, 3)))."
        )
    if input_shape is None:
        return None
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence):
        raise ValueError(
            f"{owner}: `input_shape` must be a tuple of sizes such as (32, 32, 3), "
            f"got {input_shape!r}."
        )
    for size in input_shape:
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError(
                f"{owner}: `input_shape` must hold positive integers (or None), "
                f"got {input_shape!r}."
            )
    return tuple(input_shape)


def check_classes(owner: str, classes: Any, required: bool) -> int | None:
    """Checks ``classes``: a positive integer, required when the model has a classifier.

    Raises:
        ValueError: ``classes`` is missing while required, or not a positive integer.
    """
    if classes is None:
        if required:
            raise ValueError(
                f"{owner}: you must specify `classes` (the number of classes) when "
                "`include_top=True`."
            )
        return None
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"{owner}: `classes` must be a positive integer, got {classes!r}.")
    return classes


def image_input(input_shape: tuple[int | None, ...] | None, input_tensor: Any) -> tuple[Any, Any]:
    """``(model inputs, first tensor)``: a fresh ``keras.Input``, or the given tensor's sources."""
    if input_tensor is not None:
        return keras.utils.get_source_inputs(input_tensor), input_tensor
    inputs = keras.Input(shape=input_shape)
    return inputs, inputs


def channel_axis() -> int:
    """The channel axis of images under Keras's configured data format."""
    return -1 if keras.config.image_data_format() == "channels_last" else 1
