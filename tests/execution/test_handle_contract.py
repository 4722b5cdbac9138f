"""The OracleHandle contract, run against every kind of handle a tuner may hold.

- ``local``: the :class:`~tuner.oracles.Oracle` itself (one process);
- ``loopback``: a :class:`~tuner.execution.remote.RemoteOracle` whose requests cross a real
  socket to an :class:`~tuner.execution.service.OracleService` thread (what a trial subprocess
  uses);
- ``ray``: the remote handle of a Ray worker, talking to an ``OracleHost`` actor on a real local
  Ray cluster.

Each check starts from a new project with the same oracle, so every handle must give the same
answers.
"""

from __future__ import annotations

import math
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tuner import errors
from tuner.constraints import Constraint
from tuner.execution import OracleHandle
from tuner.execution.channel import SocketChannel
from tuner.execution.remote import RemoteOracle
from tuner.execution.service import OracleService
from tuner.hyperparameters import HyperParameters, Int
from tuner.objective import Objective
from tuner.oracles import RandomSearchOracle
from tuner.storage import JsonDirStorage
from tuner.trial import TrialStatus

HandleFactory = Callable[..., OracleHandle]
KINDS = ("local", "loopback", "ray")


def _oracle(tmp_path: Path, **overrides: Any) -> RandomSearchOracle:
    hp = HyperParameters()
    hp.Float("x", 0.0, 1.0)
    settings: dict[str, Any] = {"objective": "loss", "max_trials": 3, "seed": 11}
    settings.update(overrides)
    oracle = RandomSearchOracle(hyperparameters=hp, **settings)
    oracle.attach_storage(JsonDirStorage(tmp_path / "project"))
    return oracle


def _serve_over_a_socket(oracle: OracleHandle) -> RemoteOracle:
    """A remote handle whose oracle answers on the other end of a socket pair, in a thread."""
    near, far = socket.socketpair()
    service, server = OracleService(oracle), SocketChannel(far)

    def serve() -> None:
        while True:
            try:
                message = server.receive_json()
            except (EOFError, OSError):
                return
            server.send_json(service.handle(message))

    threading.Thread(target=serve, daemon=True).start()
    return RemoteOracle(SocketChannel(near).call)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install tuner[ray])")
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(params=KINDS)
def make_handle(request: pytest.FixtureRequest, tmp_path: Path) -> HandleFactory:
    """Builds the oracle of a new project (keyword arguments override its settings) and a
    handle of the parametrized kind to it."""
    kind = request.param

    def make(**overrides: Any) -> OracleHandle:
        oracle = _oracle(tmp_path, **overrides)
        if kind == "local":
            return oracle
        if kind == "loopback":
            return _serve_over_a_socket(oracle)
        request.getfixturevalue("ray_cluster")
        import ray

        from tuner.distribute.oracle_host import OracleHost, OracleSpec
        from tuner.distribute.worker import remote_oracle

        host = ray.remote(OracleHost).remote(OracleSpec.of(oracle), str(tmp_path / "project"), 1)
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        return remote_oracle(host, "w0", str(scratch))

    return make


def test_it_is_an_oracle_handle_that_describes_the_search(make_handle):
    handle = make_handle(seed=None)
    assert isinstance(handle, OracleHandle)
    assert handle.objective == Objective("loss", "min")
    assert handle.seed is None and isinstance(handle.effective_seed, int)
    assert handle.max_trials == 3
    assert [hp.name for hp in handle.get_space().space] == ["x"]
    assert [hp.name for hp in handle.hyperparameters.space] == ["x"]


def test_the_effective_seed_is_the_one_given(make_handle):
    assert make_handle(seed=11).effective_seed == 11


def test_a_trial_runs_reports_and_ends_with_the_verdict_on_the_same_object(make_handle):
    handle = make_handle()
    trial = handle.create_trial("w0")
    assert trial.status == TrialStatus.RUNNING and 0.0 <= trial.values["x"] <= 1.0
    assert handle.create_trial("w0").trial_id == trial.trial_id  # not ended yet: the same
    assert handle.update_trial(trial.trial_id, {"loss": 0.5}, step=0) == TrialStatus.RUNNING
    assert handle.update_trial(trial.trial_id, {"loss": 0.25}, step=1) == TrialStatus.RUNNING
    trial.status = TrialStatus.COMPLETED
    handle.end_trial(trial)
    assert (trial.status, trial.score, trial.best_step) == (TrialStatus.COMPLETED, 0.25, 1)
    stored = handle.get_trial(trial.trial_id)
    assert stored.score == 0.25 and stored.metrics.get_best_value("loss") == 0.25
    assert [best.trial_id for best in handle.get_best_trials(1)] == [trial.trial_id]
    assert set(handle.trials) == {trial.trial_id}
    assert handle.remaining_trials == 2


def test_a_recorded_execution_is_kept_and_scores_the_trial(make_handle):
    handle = make_handle()
    trial = handle.create_trial("w0")
    for fold, loss in enumerate([1.0, 3.0]):
        record = {"metrics": {"loss": loss}, "best_step": 2, "score": loss, "fold": fold}
        handle.record_execution(trial.trial_id, record)
    stored = handle.get_trial(trial.trial_id)
    assert [r.fold for r in stored.executions] == [0, 1]
    assert stored.executions[1]["metrics"] == {"loss": 3.0}
    trial.status = TrialStatus.COMPLETED
    handle.end_trial(trial)
    assert (trial.score, trial.best_step) == (2.0, 2)  # the mean over folds


def test_a_non_finite_score_fails_the_trial_for_good(make_handle):
    handle = make_handle()
    trial = handle.create_trial("w0")
    handle.update_trial(trial.trial_id, {"loss": math.nan})
    trial.status = TrialStatus.COMPLETED
    handle.end_trial(trial)
    assert trial.status == TrialStatus.FAILED and not trial.retryable
    assert "diverged" in trial.message
    assert handle.get_best_trials(1) == []


def test_failures_in_a_row_raise_the_oracles_own_error(make_handle):
    handle = make_handle(max_consecutive_failed_trials=1)
    trial = handle.create_trial("w0")
    trial.status, trial.message = TrialStatus.FAILED, "it broke"
    with pytest.raises(errors.TooManyFailedTrialsError, match="it broke"):
        handle.end_trial(trial)


def test_a_hyperparameter_met_first_is_sampled_then_joins_the_space(make_handle):
    handle = make_handle()
    trial = handle.create_trial("w0")
    value = handle.sample_new_entry(trial.trial_id, Int("units", 8, 64, step=8))
    assert value in range(8, 65, 8)
    built = trial.hyperparameters.copy()
    built.Int("units", 8, 64, step=8)
    handle.update_space(built)
    assert sorted(hp.name for hp in handle.get_space().space) == ["units", "x"]


def test_the_search_stops_after_max_trials(make_handle):
    handle = make_handle(max_trials=1)
    trial = handle.create_trial("w0")
    handle.update_trial(trial.trial_id, {"loss": 1.0})
    trial.status = TrialStatus.COMPLETED
    handle.end_trial(trial)
    assert handle.create_trial("w0").status == TrialStatus.STOPPED
    assert handle.remaining_trials == 0


def test_save_and_reload_keep_the_trials(make_handle):
    handle = make_handle()
    trial = handle.create_trial("w0")
    handle.update_trial(trial.trial_id, {"loss": 0.75})
    trial.status = TrialStatus.COMPLETED
    handle.end_trial(trial)
    handle.save()
    handle.reload()
    assert handle.get_trial(trial.trial_id).score == 0.75


def test_trade_offs_reach_the_caller_and_the_front_is_the_oracles(make_handle):
    handle = make_handle(
        objective=["loss", Objective("size", "min")],
        constraints=[Constraint("seconds", max_value=1.0)],
        max_trials=4,
    )
    ended = []
    for loss, size, seconds in [
        (0.2, 9.0, 0.5),
        (0.5, 1.0, 0.5),
        (0.1, 1.0, 3.0),
        (0.6, 9.5, 0.1),
    ]:
        trial = handle.create_trial("w0")
        handle.update_trial(trial.trial_id, {"loss": loss, "size": size, "seconds": seconds})
        trial.status = TrialStatus.COMPLETED
        handle.end_trial(trial)
        ended.append(trial)
    assert [t.feasible for t in ended] == [True, True, False, True]
    assert ended[2].status == TrialStatus.COMPLETED and "seconds = 3 breaks" in ended[2].message
    assert ended[0].objective_values == {"loss": 0.2, "size": 9.0}
    assert ended[2].constraint_values == {"seconds": 3.0}
    front = [t.trial_id for t in handle.get_pareto_front()]
    assert front == [ended[1].trial_id, ended[0].trial_id]  # keras-tuner's order: signed sum
    assert handle.get_best_trials(1)[0].trial_id == front[0]
