"""keras-tuner's ``keras_tuner.engine.metrics_tracking``: metric histories and directions."""

from __future__ import annotations

from typing import Any

from tuner.objective import infer_direction
from tuner.trial import MetricHistory, MetricObservation, MetricsTracker

__all__ = ["MetricHistory", "MetricObservation", "MetricsTracker", "infer_metric_direction"]

#: keras-tuner counts these Keras metric classes as maximized; their names hold no hint.
_MAXIMIZED_CLASSES = frozenset(
    {"TruePositives", "TrueNegatives", "SensitivityAtSpecificity", "SpecificityAtSensitivity"}
)


def infer_metric_direction(metric: Any) -> str | None:
    """Whether a metric is maximized (``"max"``) or minimized (``"min"``), as keras-tuner infers.

    Args:
        metric: A metric name (``"val_accuracy"``), a Keras metric or loss object
            (``keras.metrics.AUC()``), or a metric function (``keras.metrics.mean_squared_error``).
            Keras is never imported: objects are recognised by their class or function name.

    Returns:
        ``"max"``, ``"min"``, or None when the direction cannot be inferred.

    Example:
        >>> infer_metric_direction("val_accuracy"), infer_metric_direction("loss")
        ('max', 'min')
    """
    if isinstance(metric, str):
        return infer_direction(metric)
    function_name = getattr(metric, "__name__", None)
    if isinstance(function_name, str):  # A metric or loss function (or class).
        names = [function_name]
    else:  # A metric or loss object: its class says more than its configurable name.
        names = [type(metric).__name__]
        if isinstance(getattr(metric, "name", None), str):
            names.append(metric.name)
    for name in names:
        if name in _MAXIMIZED_CLASSES:
            return "max"
        direction = infer_direction(name)
        if direction is not None:
            return direction
    return None
