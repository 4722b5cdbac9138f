"""The one message format between a tuner and an oracle in another process.

Every request and reply is a dict of JSON-compatible data, whatever carries it (a socket to a
trial subprocess, a call to a Ray actor):

- request: ``{"call": <OracleHandle method>, "arguments": {...}}``, plus ``"files"`` (relative
  path -> bytes) when a transport ships a trial's files with it;
- reply: ``{"result": ...}`` (plus ``"files"``), or ``{"error": {"type", "module", "message",
  "traceback"}}``, raised again on the calling side as the same :mod:`tuner.errors` class.

Trials travel as :meth:`Trial.to_dict`, hyperparameters as their config, execution records as
:meth:`ExecutionRecord.to_dict`. Nothing is pickled, so neither side runs code the other sent.
This module also encodes what ``run_trial`` returned, for a trial run in a subprocess.
"""

from __future__ import annotations

import builtins
import traceback
from collections.abc import Mapping
from typing import Any, NoReturn

import numpy as np

from tuner import errors
from tuner.execution.records import CrossValidationResults, ExecutionRecord
from tuner.hyperparameters import HyperParameter, hyperparameter_from_config

#: The calls a remote handle makes (the methods of :class:`~tuner.execution.OracleHandle`),
#: plus ``describe`` (what a handle needs to know once) and ``get_trials`` (a snapshot).
CALLS = (
    "describe",
    "create_trial",
    "update_trial",
    "record_execution",
    "end_trial",
    "update_space",
    "sample_new_entry",
    "get_space",
    "get_trial",
    "get_best_trials",
    "get_trials",
    "get_pareto_front",
    "save",
    "reload",
)
#: The calls about one running trial, which carry its ``trial_id`` (or ``trial``).
TRIAL_CALLS = ("update_trial", "record_execution", "end_trial")


def request(call: str, **arguments: Any) -> dict[str, Any]:
    """A request message.

    Example:
        >>> request("get_trial", trial_id="0003")
        {'call': 'get_trial', 'arguments': {'trial_id': '0003'}}
    """
    if call not in CALLS:
        raise ValueError(f"Unknown oracle call {call!r}; known: {', '.join(CALLS)}.")
    return {"call": call, "arguments": arguments}


def trial_id_of(message: Mapping[str, Any]) -> str | None:
    """The id of the trial a request is about, for the calls in :data:`TRIAL_CALLS`."""
    if message.get("call") not in TRIAL_CALLS:
        return None
    arguments = message["arguments"]
    if "trial" in arguments:
        return str(arguments["trial"]["trial_id"])
    return str(arguments["trial_id"])


def result_reply(result: Any, files: Mapping[str, bytes] | None = None) -> dict[str, Any]:
    """A reply carrying ``result`` (and files)."""
    reply: dict[str, Any] = {"result": result}
    if files:
        reply["files"] = dict(files)
    return reply


def error_reply(error: BaseException) -> dict[str, Any]:
    """A reply carrying ``error`` (call it in the ``except`` block, for the traceback)."""
    return {"error": encode_error(error)}


def encode_error(error: BaseException) -> dict[str, str]:
    """An exception as JSON: its class, module, message and the current traceback."""
    return {
        "type": type(error).__name__,
        "module": type(error).__module__,
        "message": str(error),
        "traceback": traceback.format_exc(),
    }


def rebuild_error(encoded: Mapping[str, str], message: str | None = None) -> BaseException:
    """The exception :func:`encode_error` describes, with ``message`` (default: its own).

    A :mod:`tuner.errors` class or a built-in exception comes back as itself; any other as
    :class:`~tuner.errors.TrialProcessError`, whose message names the original class.
    """
    text = encoded["message"] if message is None else message
    name, module = encoded.get("type", ""), encoded.get("module", "")
    source = errors if module == errors.__name__ else builtins if module == "builtins" else None
    error_class = getattr(source, name, None) if source is not None else None
    if isinstance(error_class, type) and issubclass(error_class, Exception):
        return error_class(text)
    return errors.TrialProcessError(f"{module}.{name}: {text}" if message is None else text)


def result_of(reply: Mapping[str, Any]) -> Any:
    """The result of a reply; raises the error it carries."""
    if "error" in reply:
        raise_error(reply["error"])
    return reply["result"]


def raise_error(encoded: Mapping[str, str]) -> NoReturn:
    """Raises the error a reply carries, as its own class where possible."""
    raise rebuild_error(encoded)


# --- arguments that are not plain JSON -----------------------------------------------------------
def encode_hyperparameter(hyperparameter: HyperParameter) -> dict[str, Any]:
    """One hyperparameter as ``{"class_name": ..., "config": ...}`` (a space entry's form)."""
    return {"class_name": hyperparameter.type_name, "config": hyperparameter.get_config()}


def decode_hyperparameter(encoded: Mapping[str, Any]) -> HyperParameter:
    """Inverse of :func:`encode_hyperparameter`."""
    return hyperparameter_from_config(encoded)


def encode_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Metric values as plain floats (numpy and tensor scalars included)."""
    return {str(name): float(value) for name, value in metrics.items()}


# --- what run_trial returned, from a subprocess --------------------------------------------------
class ReturnedHistory:
    """A Keras ``History`` that crossed a process boundary: ``history`` and ``epoch`` only."""

    def __init__(self, history: dict[str, list[float]], epoch: list[int]):
        self.history = history
        self.epoch = epoch


def encode_result(result: Any) -> dict[str, Any]:
    """What ``run_trial`` returned, as JSON (the shapes :func:`normalize_result` knows).

    Raises:
        FatalTypeError: ``result`` has none of those shapes.
    """
    if isinstance(result, CrossValidationResults):
        return {"cross_validation": [ExecutionRecord.of(r).to_dict() for r in result]}
    if isinstance(result, list):
        return {"list": [encode_result(item) for item in result]}
    history = getattr(result, "history", None)
    if isinstance(history, Mapping):
        return {
            "history": {
                str(name): [float(v) for v in values if np.ndim(v) == 0]
                for name, values in history.items()
            },
            "epoch": [int(e) for e in (getattr(result, "epoch", None) or [])],
        }
    if isinstance(result, Mapping):
        return {"metrics": encode_metrics(result)}
    if result is None:
        return {"none": True}
    try:
        return {"value": float(result)}
    except (TypeError, ValueError):
        raise errors.FatalTypeError(
            f"run_trial returned a {type(result).__name__}, which cannot be sent back from the "
            "trial's subprocess (trial_isolation='process'): return a number, a dict of "
            "metrics, a Keras History, or a list of them."
        ) from None


def decode_result(encoded: Mapping[str, Any]) -> Any:
    """Inverse of :func:`encode_result`."""
    if "cross_validation" in encoded:
        return CrossValidationResults(ExecutionRecord.of(r) for r in encoded["cross_validation"])
    if "list" in encoded:
        return [decode_result(item) for item in encoded["list"]]
    if "history" in encoded:
        return ReturnedHistory(encoded["history"], encoded["epoch"])
    if "metrics" in encoded:
        return dict(encoded["metrics"])
    if "none" in encoded:
        return None
    return encoded["value"]
