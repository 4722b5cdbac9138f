"""Floats in strict JSON: NaN and the infinities travel as strings (``"NaN"``, ``"Infinity"``)."""

from __future__ import annotations

import math

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_float(value: float | None) -> float | str | None:
    """A float as strict JSON allows it: NaN and infinities become strings.

    Example:
        >>> encode_float(float("nan")), encode_float(0.5)
        ('NaN', 0.5)
    """
    if value is None or math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def decode_float(value: float | str | None) -> float | None:
    """Inverse of :func:`encode_float`."""
    if isinstance(value, str):
        return _NON_FINITE[value]
    return None if value is None else float(value)
