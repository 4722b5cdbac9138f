"""Shared fixtures: canonical search spaces, a pure-Python objective, and an oracle driver."""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Subprocesses a test starts import the tuner of this checkout, not another one installed.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)),
    ]
)

from tuner.hyperparameters import HyperParameters
from tuner.oracles.base import Oracle
from tuner.trial import Trial, TrialStatus


def all_types_space() -> HyperParameters:
    """One hyperparameter of every type and sampling."""
    hp = HyperParameters()
    hp.Int("layers", 1, 4)
    hp.Int("units", 8, 128, step=8)
    hp.Int("filters", 4, 64, step=2, sampling="log")
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    hp.Float("dropout", 0.0, 0.5)
    hp.Float("momentum", 0.5, 0.99, sampling="reverse_log")
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    hp.Choice("batch_size", [16, 32, 64])
    hp.Boolean("batch_norm")
    hp.Fixed("epochs", 3)
    return hp


def conditional_space() -> HyperParameters:
    """A model type with conditional children, as in keras-tuner's docs."""
    hp = HyperParameters()
    hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["mlp"]):
        hp.Int("mlp_units", 8, 64, step=8)
    with hp.conditional_scope("model", ["cnn"]):
        hp.Int("cnn_filters", 4, 32, step=4)
        hp.Choice("kernel", [3, 5])
    hp.Float("lr", 1e-3, 1e-1, sampling="log")
    return hp


def small_grid_space() -> HyperParameters:
    hp = HyperParameters()
    hp.Choice("a", [1, 2, 3])
    hp.Boolean("b")
    hp.Choice("c", ["x", "y"])
    return hp


SPACES: dict[str, Callable[[], HyperParameters]] = {
    "all_types": all_types_space,
    "conditional": conditional_space,
}


def quadratic(values: dict[str, Any]) -> float:
    """A deterministic objective over any space: distance of the unit-interval images to 0.3."""
    total = 0.0
    for name, value in sorted(values.items()):
        if name.startswith("tuner/"):
            continue
        if isinstance(value, bool):
            value = float(value)
        if isinstance(value, (int, float)):
            total += (math.log1p(abs(value)) - 0.3) ** 2
        else:
            total += (len(str(value)) - 4) ** 2 / 10
    return total


def drive(
    oracle: Oracle,
    objective: Callable[[dict[str, Any]], float] = quadratic,
    limit: int = 500,
    fail_when: Callable[[dict[str, Any]], bool] | None = None,
) -> list[Trial]:
    """Runs an oracle to the end with a pure-Python objective, one trial at a time.

    Budgets are honoured: a trial with a budget reports one value per epoch.
    """
    created: list[Trial] = []
    for _ in range(limit):
        trial = oracle.create_trial("worker")
        if trial.status == TrialStatus.STOPPED:
            return created
        assert trial.status == TrialStatus.RUNNING, trial.status
        created.append(trial)
        values = dict(trial.hyperparameters.values)
        if fail_when is not None and fail_when(values):
            trial.status = TrialStatus.FAILED
            trial.message = "objective raised"
            oracle.end_trial(trial)
            continue
        base = objective(values)
        if trial.budget is None:
            oracle.update_trial(trial.trial_id, {"loss": base}, step=0)
        else:
            for epoch in range(trial.budget.initial_epoch, trial.budget.epochs):
                status = oracle.update_trial(
                    trial.trial_id, {"loss": base + 1.0 / (epoch + 1)}, step=epoch
                )
                if status == TrialStatus.STOPPED:
                    break
        if trial.status == TrialStatus.RUNNING:
            trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
    raise AssertionError(f"the oracle did not stop within {limit} trials")


@pytest.fixture
def project_dir(tmp_path):
    return tmp_path / "project"


# --- MLflow stores -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def make_mlflow_store(tmp_path_factory) -> Callable[..., str]:
    """Makes fresh MLflow sqlite stores: ``make(folder, name="mlflow.db")`` gives its URI.

    Each is a copy of one empty database whose tables are made once per session (MLflow takes
    seconds for that). Skips the test when mlflow is not installed.
    """
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    empty = tmp_path_factory.mktemp("mlflow_template") / "mlflow.db"
    MlflowClient(f"sqlite:///{empty}").search_experiments()

    def make(folder: Path, name: str = "mlflow.db") -> str:
        shutil.copyfile(empty, folder / name)
        return f"sqlite:///{folder / name}"

    return make


@pytest.fixture
def mlflow_store(make_mlflow_store, tmp_path, monkeypatch) -> str:
    """A fresh sqlite tracking store; the working directory is the test's own (no stray files)."""
    monkeypatch.chdir(tmp_path)
    return make_mlflow_store(tmp_path)
