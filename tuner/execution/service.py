"""``OracleService``: answers the requests of :mod:`tuner.execution.messages` with an oracle.

The serving side of every remote handle: the search process answering its trial subprocess,
and the Ray actor answering the workers. It decodes a request, calls the oracle, and encodes the
answer; an exception becomes an error reply, so the caller gets it back as the same class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tuner.execution import messages
from tuner.execution.handle import OracleHandle
from tuner.hyperparameters import HyperParameters
from tuner.trial import Trial, TrialStatus


class OracleService:
    """Serves one oracle (any :class:`~tuner.execution.OracleHandle`) to remote handles.

    Args:
        oracle: The oracle to serve.

    Example:
        >>> from tuner.oracles import RandomSearchOracle
        >>> service = OracleService(RandomSearchOracle(objective="loss", max_trials=1, seed=3))
        >>> service.handle(messages.request("describe"))["result"]["effective_seed"]
        3
    """

    def __init__(self, oracle: OracleHandle):
        self.oracle = oracle
        self._calls: dict[str, Callable[..., Any]] = {
            "describe": self.describe,
            "create_trial": self._create_trial,
            "update_trial": self._update_trial,
            "record_execution": self._record_execution,
            "end_trial": self._end_trial,
            "update_space": self._update_space,
            "sample_new_entry": self._sample_new_entry,
            "get_space": lambda: self.oracle.get_space().get_config(),
            "get_trial": lambda trial_id: self.oracle.get_trial(trial_id).to_dict(),
            "get_best_trials": lambda num_trials=1: [
                trial.to_dict() for trial in self.oracle.get_best_trials(num_trials)
            ],
            "get_trials": self._get_trials,
            "get_pareto_front": lambda: [
                trial.to_dict() for trial in self.oracle.get_pareto_front()
            ],
            "save": self.oracle.save,
            "reload": self.oracle.reload,
        }

    def handle(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """The reply to one request (an error reply when the call raised)."""
        try:
            call = self._calls.get(message.get("call", ""))
            if call is None:
                raise ValueError(f"Unknown oracle call {message.get('call')!r}.")
            return messages.result_reply(call(**message.get("arguments", {})))
        except Exception as error:
            return messages.error_reply(error)

    def describe(self) -> dict[str, Any]:
        """What a remote handle needs to know once: objective, seeds, ``max_trials``."""
        return {
            "objective": self.oracle.objective.to_dict(),
            "seed": self.oracle.seed,
            "effective_seed": self.oracle.effective_seed,
            "max_trials": self.oracle.max_trials,
        }

    def _create_trial(self, tuner_id: str) -> dict[str, Any]:
        return self.oracle.create_trial(tuner_id).to_dict()

    def _update_trial(self, trial_id: str, metrics: Mapping[str, float], step: int = 0) -> str:
        return TrialStatus(self.oracle.update_trial(trial_id, metrics, step=step)).value

    def _record_execution(self, trial_id: str, record: Mapping[str, Any]) -> None:
        self.oracle.record_execution(trial_id, record)

    def _end_trial(self, trial: Mapping[str, Any]) -> dict[str, Any]:
        incoming = Trial.from_dict(trial)
        self.oracle.end_trial(incoming)
        return self.oracle.get_trial(incoming.trial_id).to_dict()

    def _update_space(self, hyperparameters: Mapping[str, Any]) -> None:
        self.oracle.update_space(HyperParameters.from_config(hyperparameters))

    def _sample_new_entry(self, trial_id: str, hyperparameter: Mapping[str, Any]) -> Any:
        decoded = messages.decode_hyperparameter(hyperparameter)
        return self.oracle.sample_new_entry(trial_id, decoded)

    def _get_trials(self) -> dict[str, Any]:
        return {
            "trials": [trial.to_dict() for trial in self.oracle.trials.values()],
            "remaining_trials": self.oracle.remaining_trials,
        }
