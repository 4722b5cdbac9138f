"""Helpers of the MLflow tests: reading runs back, and a framework-free search to log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

import tuner as kt
from tuner.integrations.mlflow import PARENT_RUN_TAG, MLflowCallback


def all_runs(client: MlflowClient, experiment_name: str) -> list[Any]:
    experiment = client.get_experiment_by_name(experiment_name)
    assert experiment is not None, f"no experiment {experiment_name!r}"
    return client.search_runs([experiment.experiment_id], max_results=1000)


def split_runs(runs: list[Any]) -> tuple[list[Any], dict[str, list[Any]]]:
    """(parent runs, trial id -> its child runs)."""
    parents = [run for run in runs if PARENT_RUN_TAG not in run.data.tags]
    children: dict[str, list[Any]] = {}
    for run in runs:
        if PARENT_RUN_TAG in run.data.tags:
            children.setdefault(run.data.tags["trial_id"], []).append(run)
    return parents, children


def steps_and_values(client: MlflowClient, run: Any, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))


def assert_history(logged: list[tuple[int, float]], trial: kt.Trial, key: str) -> None:
    """The logged (step, value) pairs are the trial's metric history, each step once."""
    expected = [(o.step, o.value) for o in trial.metrics.get_history(key)]
    assert [step for step, _ in logged] == [step for step, _ in expected]
    assert [value for _, value in logged] == pytest.approx([value for _, value in expected])


class StepTuner(kt.BaseTuner):
    """Framework-free trials reporting three steps; set ``hook`` to act inside a trial."""

    hook: Any = None

    def run_trial(self, trial, *args, **kwargs):
        x = trial.hyperparameters.Float("x", -1.0, 1.0)
        if self.hook is not None:
            self.hook(trial)
        for step in range(3):
            self.oracle.update_trial(
                trial.trial_id, {"loss": (x - 0.3) ** 2 + 1 / (step + 1)}, step
            )


def step_search(directory: Path, callback: MLflowCallback, max_trials: int, **kwargs) -> StepTuner:
    """A StepTuner logging to ``callback``; oracle options among ``kwargs`` go to the oracle."""
    options = {
        name: kwargs.pop(name)
        for name in ("max_consecutive_failed_trials", "max_retries_per_trial")
        if name in kwargs
    }
    oracle = kt.oracles.RandomSearchOracle("loss", max_trials=max_trials, seed=5, **options)
    return StepTuner(
        oracle, directory=str(directory), project_name="steps", search_callbacks=[callback],
        **kwargs,
    )  # fmt: skip
