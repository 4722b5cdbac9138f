"""keras-tuner 1.4 behaviour of oracles, trials and BaseTuner, through the public API.

Pure-Python ``run_trial`` tuners; the two Keras checks only construct a tuner (no training).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

import tuner as kt
from tuner.errors import FailedTrialError, ObjectiveNotFoundError, TooManyFailedTrialsError
from tuner.trial import TrialStatus


class FunctionTuner(kt.BaseTuner):
    """Runs ``function(hp)`` (or ``function(hp, tuner, trial)``) as the trial."""

    def __init__(self, oracle, function, **kwargs: Any):
        self.function = function
        super().__init__(oracle, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        return self.function(trial.hyperparameters)


def _search(tmp_path, oracle, function, **kwargs) -> FunctionTuner:
    search = FunctionTuner(oracle, function, directory=str(tmp_path), project_name="p", **kwargs)
    search.search(verbose=0)
    return search


# --- 1. custom oracles -----------------------------------------------------------------------
def test_populate_space_of_a_built_in_oracle_subclass_is_honoured_and_may_call_super(tmp_path):
    proposed: list[str] = []

    class EvenOnly(kt.oracles.RandomSearchOracle):
        def populate_space(self, trial_id):
            response = super().populate_space(trial_id)  # the random search's proposal
            proposed.append(trial_id)
            response["values"]["x"] -= response["values"]["x"] % 2
            return response

    hp = kt.HyperParameters()
    hp.Int("x", 0, 99)
    oracle = EvenOnly(objective="loss", max_trials=6, seed=3, hyperparameters=hp)
    search = _search(tmp_path, oracle, lambda hp: {"loss": float(hp.get("x"))})
    values = [t.values["x"] for t in search.oracle.trials.values()]
    assert len(values) == 6 and proposed == sorted(search.oracle.trials)
    assert all(x % 2 == 0 for x in values)


def test_stopped_from_populate_space_ends_the_search(tmp_path):
    class ThreeThenStop(kt.oracles.GridSearchOracle):
        def populate_space(self, trial_id):
            if len(self.trials) == 3:
                return {"status": "STOPPED", "values": None}
            return {"status": "RUNNING", "values": {"x": len(self.trials) * 10}}

    oracle = ThreeThenStop(objective="loss", max_trials=50)
    search = _search(tmp_path, oracle, lambda hp: {"loss": float(hp.Int("x", 0, 100))})
    assert [t.values["x"] for t in search.oracle.trials.values()] == [0, 10, 20]
    assert search.oracle.create_trial("again").status == TrialStatus.STOPPED


def test_the_most_derived_override_wins_whether_propose_or_populate_space():
    class KerasTunerStyle(kt.oracles.RandomSearchOracle):
        def populate_space(self, trial_id):
            return {"status": "RUNNING", "values": {"source": "populate_space"}}

    class TunerStyle(KerasTunerStyle):
        def _propose(self, trial_id):
            return kt.oracles.Proposal.run({"source": "_propose"})

    assert KerasTunerStyle("loss").create_trial("w").values == {"source": "populate_space"}
    assert TunerStyle("loss").create_trial("w").values == {"source": "_propose"}


def test_a_bad_populate_space_status_is_named():
    class Confused(kt.Oracle):
        def populate_space(self, trial_id):
            return {"status": "DONE", "values": {}}

    with pytest.raises(ValueError, match=r"Confused.populate_space returned the status 'DONE'"):
        Confused(objective="loss").create_trial("w")


# --- 2. Trial, statuses, start/end order -----------------------------------------------------
def test_trial_takes_keras_tuners_signature_and_the_older_one():
    hp = kt.HyperParameters()
    hp.Int("units", 8, 32)
    trial = kt.Trial(hp)
    assert trial.hyperparameters is hp and trial.status == "RUNNING"
    assert isinstance(trial.trial_id, str) and len(trial.trial_id) == 32
    assert kt.Trial(hp).trial_id != trial.trial_id
    named = kt.Trial(hp, "07", kt.TrialStatus.COMPLETED, "all good")
    assert (named.trial_id, named.status, named.message) == ("07", "COMPLETED", "all good")
    older = kt.Trial("08", hp, "FAILED", score=None, retries=1)
    assert (older.trial_id, older.hyperparameters, older.status) == ("08", hp, "FAILED")
    assert older.retries == 1 and older.metrics.metrics == {} and older.executions == []
    with pytest.raises(TypeError, match=r"needs a kt\.HyperParameters"):
        kt.Trial({"units": 8})


def test_failed_trial_errors_are_final_and_consecutive_ones_stop_the_search(tmp_path):
    calls = []

    def always_fails(hp):
        calls.append(hp.Int("x", 0, 100))
        raise FailedTrialError("model too large for this device")

    oracle = kt.oracles.RandomSearchOracle(
        "loss", max_trials=10, seed=1, max_retries_per_trial=2, max_consecutive_failed_trials=3
    )
    with pytest.raises(RuntimeError, match="consecutive failures exceeded the limit of 3") as info:
        _search(tmp_path, oracle, always_fails)
    assert isinstance(info.value, TooManyFailedTrialsError)
    assert "model too large for this device" in str(info.value)
    assert len(calls) == 3  # no retry of a FailedTrialError
    assert [t.status for t in oracle.trials.values()] == ["FAILED"] * 3
    assert oracle.end_order == oracle.start_order == sorted(oracle.trials)


def test_an_exception_makes_the_trial_invalid_until_its_retries_are_spent(tmp_path):
    seen: list[str] = []

    class Recorder(kt.SearchCallback):
        def on_trial_end(self, tuner, trial):
            seen.append(trial.status.value)

    runs = []

    def flaky(hp):
        runs.append(hp.Int("x", 0, 100))
        raise RuntimeError("transient")

    oracle = kt.oracles.RandomSearchOracle(
        "loss", max_trials=1, seed=1, max_retries_per_trial=1, max_consecutive_failed_trials=5
    )
    search = FunctionTuner(oracle, flaky, directory=str(tmp_path), project_name="p")
    search.add_search_callback(Recorder())
    search.search(verbose=0)
    assert len(runs) == 2 and runs[0] == runs[1]  # the same trial, run again
    assert seen == ["INVALID", "FAILED"]  # retried while INVALID, then final
    trial = oracle.trials[oracle.start_order[0]]
    assert trial.status == TrialStatus.FAILED and "RuntimeError: transient" in trial.message


# --- 3. errors keras-tuner raises --------------------------------------------------------------
def test_reopening_a_project_with_another_oracle_class_is_refused(tmp_path):
    _search(tmp_path, kt.oracles.RandomSearchOracle("loss", max_trials=1), lambda hp: 1.0)
    with pytest.raises(ValueError, match=r"RandomSearchOracle.*GridSearchOracle.*overwrite=True"):
        FunctionTuner(
            kt.oracles.GridSearchOracle("loss"), lambda hp: 1.0, directory=str(tmp_path),
            project_name="p",
        )  # fmt: skip
    again = FunctionTuner(
        kt.oracles.GridSearchOracle("loss"), lambda hp: 1.0, directory=str(tmp_path),
        project_name="p", overwrite=True,
    )  # fmt: skip
    assert again.oracle.trials == {}


def test_a_tuner_without_hypermodel_or_run_trial_is_refused_at_construction(tmp_path):
    oracle = kt.oracles.RandomSearchOracle("loss", max_trials=1)
    with pytest.raises(ValueError, match=r"hypermodel=None.*override run_trial"):
        kt.BaseTuner(oracle, directory=str(tmp_path))
    FunctionTuner(oracle, lambda hp: 1.0, directory=str(tmp_path))  # run_trial overridden: fine


def test_a_keras_tuner_without_hypermodel_is_refused_at_construction(tmp_path):
    pytest.importorskip("keras")
    with pytest.raises(ValueError, match="RandomSearch received hypermodel=None"):
        kt.RandomSearch(objective="val_loss", max_trials=1, directory=str(tmp_path))


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"projet_name": "p"}, ValueError, r"Unrecognized arguments \['projet_name'\].*mean"),
        ({"oracle": "random"}, ValueError, r"oracle must be an instance of kt\.Oracle.*'random'"),
        ({"hypermodel": 42}, ValueError, r"hypermodel must be a kt\.HyperModel.*42"),
    ],
)  # fmt: skip
def test_bad_constructor_arguments_are_named(tmp_path, arguments, error, message):
    arguments = {"oracle": kt.oracles.RandomSearchOracle("loss"), **arguments}
    with pytest.raises(error, match=message):
        kt.BaseTuner(directory=str(tmp_path), **arguments)


def test_a_list_objective_with_a_non_objective_entry_is_a_type_error():
    with pytest.raises(TypeError, match="entry 1 is 3"):
        kt.oracles.RandomSearchOracle(objective=["val_loss", 3])


def test_logger_is_deprecated_but_kept(tmp_path):
    logger = object()
    with pytest.warns(DeprecationWarning, match="logger"):
        search = FunctionTuner(
            kt.oracles.RandomSearchOracle("loss"), lambda hp: 1.0, directory=str(tmp_path),
            logger=logger,
        )  # fmt: skip
    assert search.logger is logger
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FunctionTuner(
            kt.oracles.RandomSearchOracle("loss"), lambda hp: 1.0, directory=str(tmp_path)
        )


@pytest.mark.parametrize(
    "variables",
    [
        {"KERASTUNER_TUNER_ID": "chief", "KERASTUNER_ORACLE_IP": "127.0.0.1",
         "KERASTUNER_ORACLE_PORT": "8000"},
        {"KERASTUNER_ORACLE_IP": "10.0.0.2"},
    ],
)  # fmt: skip
def test_keras_tuners_distributed_launch_is_refused_with_the_way_that_works(
    tmp_path, monkeypatch, variables
):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(
        RuntimeError, match=r"not supported yet.*workers=kt\.RayWorkers\(n\)"
    ) as info:
        FunctionTuner(
            kt.oracles.RandomSearchOracle("loss"), lambda hp: 1.0, directory=str(tmp_path)
        )
    assert all(name in str(info.value) for name in variables)


# --- 4. remaining_trials -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "make_oracle",
    [
        lambda: kt.oracles.RandomSearchOracle("loss", max_trials=5, seed=0),
        lambda: kt.oracles.GridSearchOracle("loss", max_trials=5),
        lambda: kt.oracles.BayesianOptimizationOracle("loss", max_trials=5, seed=0),
        lambda: kt.oracles.TPEOracle("loss", max_trials=5, seed=0),
    ],
    ids=["random", "grid", "bayesian", "tpe"],
)
def test_remaining_trials_is_max_trials_minus_the_trials_so_far(tmp_path, make_oracle):
    oracle = make_oracle()
    search = FunctionTuner(oracle, lambda hp: float(hp.Int("x", 0, 99)), directory=str(tmp_path))
    assert search.remaining_trials == 5  # before the search, the space still unknown
    oracle.max_trials = 2
    search.search(verbose=0)
    oracle.max_trials = 5
    assert len(oracle.trials) == 2 and search.remaining_trials == 3


def test_remaining_trials_of_an_unbounded_search_is_none_until_the_grid_is_known(tmp_path):
    search = FunctionTuner(kt.oracles.RandomSearchOracle("loss", max_trials=None), lambda hp: 1.0,
                           directory=str(tmp_path))  # fmt: skip
    assert search.remaining_trials is None
    grid = FunctionTuner(kt.oracles.GridSearchOracle("loss"), lambda hp: 1.0,
                         directory=str(tmp_path), project_name="grid")  # fmt: skip
    assert grid.remaining_trials is None  # keras-tuner's answer: the grid is not known yet


# --- 5. tune_new_entries=False -----------------------------------------------------------------
def test_search_space_summary_lists_only_the_tuned_entries(tmp_path, capsys):
    hp = kt.HyperParameters()
    hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")

    def function(hp):
        units = hp.Int("units", 8, 64, default=16)
        return {"loss": hp.get("learning_rate") * units}

    oracle = kt.oracles.RandomSearchOracle(
        "loss", max_trials=3, seed=0, hyperparameters=hp, tune_new_entries=False
    )
    search = _search(tmp_path, oracle, function)
    assert {t.values["units"] for t in oracle.trials.values()} == {16}  # the default
    capsys.readouterr()
    search.search_space_summary()
    out = capsys.readouterr().out
    assert "Default search space size: 1" in out
    assert "learning_rate (Float)" in out and "units" not in out


# --- 6. default_objective ----------------------------------------------------------------------
def test_a_number_with_no_objective_is_keras_tuners_default_objective(tmp_path):
    oracle = kt.oracles.RandomSearchOracle(max_trials=4, seed=0)
    search = _search(tmp_path, oracle, lambda hp: (hp.Float("x", -1.0, 1.0) - 0.25) ** 2)
    assert oracle.objective == kt.Objective("default_objective", "min")
    best = oracle.get_best_trials(1)[0]
    assert best.metrics.get_best_value("default_objective") == best.score
    assert best.score == min(t.score for t in oracle.trials.values())
    assert search.get_best_hyperparameters()[0] is best.hyperparameters


def test_with_no_objective_a_dict_needs_the_default_objective_key(tmp_path):
    oracle = kt.oracles.RandomSearchOracle(max_trials=1, seed=0)
    _search(tmp_path, oracle, lambda hp: {"default_objective": 0.5, "other": 2.0})
    assert oracle.get_best_trials(1)[0].score == 0.5
    other = kt.oracles.RandomSearchOracle(max_trials=1, seed=0)
    with pytest.raises(ObjectiveNotFoundError, match=r"No objective was given.*\['val_loss'\]"):
        _search(tmp_path / "other", other, lambda hp: {"val_loss": 0.5})


# --- 7. get_trial_dir --------------------------------------------------------------------------
def test_get_trial_dir_is_the_trials_own_folder_in_the_project(tmp_path):
    class SavingTuner(kt.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            folder = Path(self.get_trial_dir(trial.trial_id))
            (folder / "notes.txt").write_text(str(trial.hyperparameters.Int("x", 0, 9)))
            return 1.0

    search = SavingTuner(kt.oracles.RandomSearchOracle(max_trials=2, seed=0),
                         directory=str(tmp_path), project_name="p")  # fmt: skip
    search.search(verbose=0)
    for trial_id, trial in search.oracle.trials.items():
        folder = Path(search.get_trial_dir(trial_id))
        assert folder == tmp_path / "p" / "checkpoints" / trial_id
        assert (folder / "notes.txt").read_text() == str(trial.values["x"])
    fresh = Path(search.get_trial_dir("99"))
    assert fresh.is_dir() and fresh.parent == tmp_path / "p" / "checkpoints"
    with pytest.raises(ValueError, match="trial id"):
        search.get_trial_dir("../elsewhere")
