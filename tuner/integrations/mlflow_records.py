"""What a trial is in MLflow: its params, metric values, tags and how its run ends.

Pure functions of tuner's objects, for :class:`~tuner.integrations.mlflow.MLflowCallback`:
nothing here imports mlflow or talks to a tracking server. Names are made valid for MLflow
(:func:`mlflow_key`), and values kept within the limits every MLflow >= 2.10 accepts.
"""

from __future__ import annotations

import math
import os
import re
import sys
import urllib.parse
from typing import Any

from tuner.trial import Trial, TrialStatus

#: The tag MLflow reads to nest a run under another (``mlflow.utils.mlflow_tags``).
PARENT_RUN_TAG = "mlflow.parentRunId"
#: The longest tag value every MLflow >= 2.10 stores.
TAG_LIMIT = 5000
#: The longest param value (MLflow's ``MAX_PARAM_VAL_LENGTH``) and key.
PARAM_LIMIT = 6000
KEY_LIMIT = 250
#: How an MLflow run ends for each status a trial ends with.
RUN_STATUS = {
    TrialStatus.COMPLETED: "FINISHED",
    TrialStatus.STOPPED: "FINISHED",  # ended early by the oracle, with valid metrics
    TrialStatus.FAILED: "FAILED",
    TrialStatus.INVALID: "FAILED",
}
#: Tags a trial's run may hold from an earlier attempt that the next one must not keep.
OPTIONAL_TAGS = ("score", "best_step", "error")


def absolute_tracking_uri(uri: str) -> str:
    """``uri`` with a relative ``sqlite:`` database or local folder made absolute.

    A Ray worker may run in another working directory; the driver's meaning is the one kept.

    Example:
        >>> absolute_tracking_uri("http://127.0.0.1:5000")
        'http://127.0.0.1:5000'
        >>> absolute_tracking_uri("sqlite:///mlflow.db") == "sqlite:///" + os.path.abspath(
        ...     "mlflow.db")
        True
    """
    if uri.startswith("sqlite:///"):
        path, question, query = uri[len("sqlite:///") :].partition("?")
        if path and path != ":memory:" and not os.path.isabs(path):
            return f"sqlite:///{os.path.abspath(path)}{question}{query}"
        return uri
    if len(urllib.parse.urlparse(uri).scheme) <= 1:  # a folder (or a Windows drive's)
        return os.path.abspath(uri)
    return uri


def mlflow_key(name: str) -> str:
    """A metric or param name MLflow accepts: other characters become ``_``, no ``..`` parts.

    Example:
        >>> mlflow_key("tuner/epochs"), mlflow_key("val_loss"), mlflow_key("auc@k=5")
        ('tuner/epochs', 'val_loss', 'auc_k_5')
    """
    cleaned = re.sub(r"[^\w.\- /]", "_", str(name))
    parts = ["_" if part in (".", "..") else part for part in cleaned.split("/") if part]
    return "/".join(parts)[:KEY_LIMIT] or "_"


def observed(step: int, value: float) -> tuple[int, float | str]:
    """What identifies a logged metric value: its step and value.

    Every non-finite value counts as one, since stores write infinities as the largest float.

    Example:
        >>> observed(3, 0.5), observed(3, float("inf")) == observed(3, float("nan"))
        ((3, 0.5), True)
    """
    finite = math.isfinite(value) and abs(value) < sys.float_info.max
    return step, value if finite else "non-finite"


def milliseconds(seconds: float | None) -> int | None:
    """A Unix time in seconds as MLflow's milliseconds."""
    return None if seconds is None else int(seconds * 1000)


def tail(text: str, limit: int = TAG_LIMIT) -> str:
    """The end of ``text`` (where a traceback names the error), within ``limit`` characters.

    Example:
        >>> tail("Traceback ... ValueError: bad", limit=16)
        '...lueError: bad'
    """
    return text if len(text) <= limit else "..." + text[-(limit - 3) :]


def active_values(trial: Trial) -> dict[str, Any]:
    """The trial's values of its active hyperparameters (inactive conditional ones left out).

    Example:
        >>> import tuner as kt
        >>> hp = kt.HyperParameters()
        >>> model = hp.Choice("model", ["mlp", "cnn"])
        >>> with hp.conditional_scope("model", ["cnn"]):
        ...     filters = hp.Int("filters", 8, 64)
        >>> active_values(kt.Trial(hp.with_values({"model": "mlp", "filters": 8})))
        {'model': 'mlp'}
    """
    hp = trial.hyperparameters
    return {
        name: value
        for name, value in hp.values.items()
        if name not in hp or hp.is_active(name)  # values a tuner sets beside the space are kept
    }


def trial_params(trial: Trial) -> dict[str, str]:
    """The trial's params: its active values as text, one per valid key.

    Example:
        >>> import tuner as kt
        >>> hp = kt.HyperParameters()
        >>> units, rate = hp.Int("units", 8, 64), hp.Float("learning rate!", 1e-4, 1e-2)
        >>> trial_params(kt.Trial(hp.with_values({"units": 32, "learning rate!": 0.001})))
        {'units': '32', 'learning rate_': '0.001'}
    """
    params: dict[str, str] = {}
    for name, value in active_values(trial).items():
        params.setdefault(mlflow_key(name), str(value)[:PARAM_LIMIT])
    return params


def trial_tags(trial: Trial, tuner_id: str) -> dict[str, str]:
    """The tags of the run of a trial that ended (see :mod:`tuner.integrations.mlflow`).

    ``error`` is the end of the traceback of a FAILED or INVALID trial; a trial that completed
    on a retry keeps its earlier error in ``trial.message``, which is left out.

    Example:
        >>> import tuner as kt
        >>> trial = kt.Trial(kt.HyperParameters(), trial_id="03", status="COMPLETED",
        ...                  score=0.25, best_step=4)
        >>> trial_tags(trial, "tuner0")["score"], trial_tags(trial, "tuner0")["best_step"]
        ('0.25', '4')
    """
    tags = {
        "trial_id": trial.trial_id,
        "tuner_id": trial.tuner_id or tuner_id,
        "status": trial.status.value,
        "retries": str(trial.retries),
    }
    if trial.score is not None:
        tags["score"] = str(trial.score)
    if trial.best_step is not None:
        tags["best_step"] = str(trial.best_step)
    if trial.message and trial.status in (TrialStatus.FAILED, TrialStatus.INVALID):
        tags["error"] = tail(trial.message)
    return tags


def run_status(trial: Trial) -> str:
    """The status the MLflow run of an ended trial ends with (KILLED for one still running)."""
    return RUN_STATUS.get(trial.status, "KILLED")
