from __future__ import annotations

import itertools

from tests.conftest import conditional_space, drive, small_grid_space
from tuner.oracles import GridSearchOracle
from tuner.storage import JsonDirStorage


def test_exact_product_in_order_then_stop():
    oracle = GridSearchOracle(objective="loss", hyperparameters=small_grid_space())
    assert oracle.grid_size == 12 and oracle.remaining_trials == 12
    trials = drive(oracle)
    expected = list(itertools.product([1, 2, 3], [False, True], ["x", "y"]))
    assert [tuple(t.values.values()) for t in trials] == expected
    assert oracle.remaining_trials == 0


def test_max_trials_caps_the_grid():
    oracle = GridSearchOracle(objective="loss", max_trials=5, hyperparameters=small_grid_space())
    assert len(drive(oracle)) == 5


def test_conditional_grid_enumerates_each_branch():
    oracle = GridSearchOracle(objective="loss", hyperparameters=conditional_space())
    oracle.hyperparameters = conditional_space()
    values = [t.values for t in drive(oracle, limit=2000)]
    mlp = [v for v in values if v["model"] == "mlp"]
    cnn = [v for v in values if v["model"] == "cnn"]
    assert len(mlp) == 8 * 10 and len(cnn) == 8 * 2 * 10
    assert all("cnn_filters" not in v for v in mlp)
    assert oracle.grid_size == len(values)


def test_resumes_mid_grid_from_the_trial_files(tmp_path):
    first = GridSearchOracle(objective="loss", hyperparameters=small_grid_space())
    first.attach_storage(JsonDirStorage(tmp_path / "p"))
    done = []
    for _ in range(5):
        trial = first.create_trial("w")
        trial.status = "COMPLETED"
        first.update_trial(trial.trial_id, {"loss": 1.0})
        first.end_trial(trial)
        done.append(tuple(trial.values.values()))
    running = first.create_trial("w")  # killed while this one runs

    resumed = GridSearchOracle(objective="loss", hyperparameters=small_grid_space())
    resumed.attach_storage(JsonDirStorage(tmp_path / "p"))
    rest = drive(resumed)
    assert rest[0].trial_id == running.trial_id  # the interrupted trial runs again first
    order = [tuple(resumed.trials[k].values.values()) for k in sorted(resumed.trials)]
    assert order == list(itertools.product([1, 2, 3], [False, True], ["x", "y"]))
    assert order[:5] == done
