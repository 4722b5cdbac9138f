"""A storage that keeps everything in memory: for tests and for projects never written to disk."""

from __future__ import annotations

import copy
import json
from typing import Any

from tuner.storage.base import Storage
from tuner.trial import Trial


class InMemoryStorage(Storage):
    """Keeps the project in this process only; it is lost when the process ends.

    Documents go through ``json.dumps``/``json.loads`` on every save, so anything that would not
    survive the project directory fails here too.

    Example:
        >>> from tuner.oracles import RandomSearchOracle
        >>> oracle = RandomSearchOracle(objective="loss", max_trials=3)  # in memory by default
    """

    location = "memory"

    def __init__(self) -> None:
        self._project: str | None = None
        self._state: str | None = None
        self._trials: dict[str, str] = {}

    def load_project(self) -> dict[str, Any] | None:
        return None if self._project is None else json.loads(self._project)

    def save_project(self, project: dict[str, Any]) -> None:
        self._project = json.dumps(project, allow_nan=False)

    def load_state(self) -> dict[str, Any] | None:
        return None if self._state is None else json.loads(self._state)

    def save_state(self, state: dict[str, Any]) -> None:
        self._state = json.dumps(state, allow_nan=False)

    def load_trials(self) -> list[Trial]:
        return [Trial.from_dict(json.loads(self._trials[k])) for k in sorted(self._trials)]

    def save_trial(self, trial: Trial) -> None:
        self._trials[trial.trial_id] = json.dumps(copy.copy(trial.to_dict()), allow_nan=False)

    def clear(self) -> None:
        self._project = None
        self._state = None
        self._trials = {}
