from __future__ import annotations

import json
import math

import numpy as np
import pytest

import tuner as kt
from tests.conftest import drive
from tests.oracles.test_contract import ORACLE_FACTORIES
from tuner.errors import SearchSpaceError
from tuner.hyperparameters import (
    Boolean,
    Choice,
    Fixed,
    Float,
    HyperParameters,
    Int,
    hyperparameter_from_config,
)
from tuner.trial import TrialStatus


def test_defaults_when_building_with_an_empty_space():
    hp = HyperParameters()
    assert hp.Int("units", 32, 512, step=32) == 32
    assert hp.Float("lr", 1e-4, 1e-2, sampling="log") == pytest.approx(1e-4)
    assert hp.Choice("optimizer", ["adam", "sgd"]) == "adam"
    assert hp.Boolean("bn") is False
    assert hp.Fixed("epochs", 5) == 5
    assert hp.Int("with_default", 1, 9, default=4) == 4
    assert hp.values == {
        "units": 32,
        "lr": pytest.approx(1e-4),
        "optimizer": "adam",
        "bn": False,
        "epochs": 5,
        "with_default": 4,
    }


def test_registering_again_returns_the_same_value():
    hp = HyperParameters()
    hp.values["units"] = 96
    assert hp.Int("units", 32, 512, step=32) == 96
    assert hp.Int("units", 32, 512, step=32) == 96
    assert len(hp.space) == 1


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda hp: hp.Int("n", 5, 1), r"min_value \(5\) is greater than max_value \(1\)"),
        (lambda hp: hp.Float("lr", 0.0, 1.0, sampling="log"), "needs min_value > 0"),
        (lambda hp: hp.Int("n", 1, 10, step=0), "step must be positive"),
        (lambda hp: hp.Float("x", 0.0, 1.0, step=-0.1), "step must be positive"),
        (lambda hp: hp.Choice("c", []), "must not be empty"),
        (lambda hp: hp.Choice("c", [1, "a"]), "of one type"),
        (lambda hp: hp.Choice("c", [True, 1]), "of one type"),
        (lambda hp: hp.Int("n", 1.5, 3), "must be an integer"),
        (lambda hp: hp.Int("n", 1, 3, sampling="cubic"), "sampling must be one of"),
        (lambda hp: hp.Int("n", 1, 3, default=7), "outside"),
        (lambda hp: hp.Choice("c", ["a", "b"], default="z"), "not one of"),
        (lambda hp: hp.Float("x", 0.0, math.inf), "finite"),
    ],
)
def test_bad_specs_raise_value_error_naming_the_hyperparameter(build, fragment):
    with pytest.raises(ValueError, match=fragment) as info:
        build(HyperParameters())
    assert isinstance(info.value, SearchSpaceError)
    name = str(info.value).split("'")[1]
    assert name in {"n", "lr", "x", "c"}


def test_redefinition_with_another_type_or_range_is_an_error():
    hp = HyperParameters()
    hp.Int("units", 32, 512, step=32)
    with pytest.raises(ValueError, match="'units' is defined twice"):
        hp.Int("units", 32, 256, step=32)
    with pytest.raises(ValueError, match="'units' is defined twice"):
        hp.Float("units", 32, 512)


def test_int_and_float_with_ints_mix_as_floats_in_choice():
    assert Choice("dropout", [0, 0.3, 0.6]).values == [0.0, 0.3, 0.6]


@pytest.mark.parametrize(
    "hp",
    [
        Int("a", 32, 512, step=32),
        Int("b", 1, 5),
        Int("c", 8, 128, step=2, sampling="log"),
        Int("d", 1, 1000, sampling="log"),
        Int("e", 1, 1000, sampling="reverse_log"),
        Float("f", 1e-4, 1e-1, sampling="log"),
        Float("g", 0.0, 1.0, step=0.1),
        Float("h", 0.5, 0.999, sampling="reverse_log"),
        Float("i", -3.0, 3.0),
        Choice("j", ["relu", "tanh", "gelu"]),
        Boolean("k"),
        Fixed("l", "x"),
    ],
)
def test_unit_interval_map_round_trips_and_stays_in_range(hp):
    for unit in np.linspace(0, 1, 101):
        value = hp.unit_to_value(unit)
        assert hp.contains(value), (unit, value)
        assert 0.0 <= hp.value_to_unit(value) <= 1.0
        assert hp.unit_to_value(hp.value_to_unit(value)) == pytest.approx(value)


def test_discrete_values_are_equally_likely_under_uniform_draws():
    hp = Int("n", 1, 4)
    rng = np.random.default_rng(0)
    counts = np.bincount([hp.random_sample(rng) for _ in range(8000)], minlength=5)[1:]
    assert counts.min() > 1800 and counts.max() < 2200


def test_log_sampling_is_uniform_in_log_space():
    hp = Float("lr", 1e-4, 1e-0, sampling="log")
    rng = np.random.default_rng(1)
    draws = np.log10([hp.random_sample(rng) for _ in range(4000)])
    assert np.mean(draws < -2) == pytest.approx(0.5, abs=0.04)


def test_grid_values():
    assert Int("a", 32, 128, step=32).grid_values() == [32, 64, 96, 128]
    assert Int("b", 8, 64, step=2, sampling="log").grid_values() == [8, 16, 32, 64]
    assert Float("c", 0.0, 0.3, step=0.1).grid_values() == [0.0, 0.1, 0.2, 0.3]
    grid = Float("d", 1e-4, 1e-2, sampling="log").grid_values()
    assert len(grid) == 10 and grid[0] == pytest.approx(1e-4) and grid[-1] == pytest.approx(1e-2)
    assert Boolean("e").grid_values() == [False, True]
    assert Fixed("f", 3).grid_values() == [3]


def test_conditional_scope_makes_children_inactive():
    hp = HyperParameters()
    model = hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["cnn"]):
        filters = hp.Int("filters", 8, 64)
    with hp.conditional_scope("model", "mlp"):
        units = hp.Int("units", 8, 64)
    assert model == "mlp" and filters is None and units == 8
    assert hp.values == {"model": "mlp", "units": 8}
    assert not hp.is_active("filters") and hp.is_active("units")
    with pytest.raises(ValueError, match="inactive"):
        hp.get("filters")
    hp.values["model"] = "cnn"
    assert hp.is_active("filters")


def test_parent_name_and_parent_values_arguments():
    hp = HyperParameters()
    hp.Boolean("use_dropout", default=True)
    rate = hp.Float("rate", 0.1, 0.5, parent_name="use_dropout", parent_values=[True])
    assert rate == pytest.approx(0.1)
    hp2 = HyperParameters()
    hp2.Boolean("use_dropout")
    assert hp2.Float("rate", 0.1, 0.5, parent_name="use_dropout", parent_values=[True]) is None


def test_conditional_scope_needs_a_known_parent():
    with (
        pytest.raises(ValueError, match="'nope' must be defined before"),
        HyperParameters().conditional_scope("nope", [1]),
    ):
        pass


def test_nested_conditions_follow_the_chain():
    hp = HyperParameters()
    hp.Choice("a", ["x", "y"])
    with hp.conditional_scope("a", "y"):
        hp.Choice("b", ["p", "q"])
        with hp.conditional_scope("b", "q"):
            hp.Int("c", 1, 3)
    assert hp.active_space({"a": "y", "b": "q"})[-1].name == "c"
    # b keeps a value of "q" but is itself inactive, so c is inactive too
    assert [h.name for h in hp.active_space({"a": "x", "b": "q"})] == ["a"]


def test_name_scope_prefixes_names():
    hp = HyperParameters()
    with hp.name_scope("block1"):
        hp.Int("units", 1, 4)
        with hp.name_scope("inner"):
            hp.Boolean("bn")
    assert set(hp.values) == {"block1/units", "block1/inner/bn"}
    assert "block1/units" in hp and hp["block1/units"] == 1


def test_get_unknown_name_is_a_key_error():
    with pytest.raises(KeyError, match="does not exist"):
        HyperParameters().get("missing")


def test_config_round_trips_through_json():
    hp = HyperParameters()
    hp.Choice("model", ["mlp", "cnn"], default="cnn")
    with hp.conditional_scope("model", ["cnn"]):
        hp.Int("filters", 8, 64, step=8)
    hp.Float("lr", 1e-4, 1e-2, sampling="log")
    hp.Boolean("bn", default=True)
    hp.Fixed("epochs", 3)
    restored = HyperParameters.from_config(json.loads(json.dumps(hp.get_config())))
    assert restored.values == hp.values
    assert [h.get_config() for h in restored.space] == [h.get_config() for h in hp.space]
    assert restored.is_active("filters")
    single = hyperparameter_from_config({"class_name": "Int", "config": hp.space[1].get_config()})
    assert single.same_spec(hp.space[1])


def test_copy_and_merge():
    hp = HyperParameters()
    hp.Int("a", 1, 3)
    clone = hp.copy()
    clone.values["a"] = 3
    assert hp.values["a"] == 1
    other = HyperParameters()
    other.Choice("b", ["x", "y"], default="y")
    hp.merge(other)
    assert hp.values == {"a": 1, "b": "y"} and "b" in hp


def test_new_entry_sampler_chooses_values_of_new_hyperparameters():
    hp = HyperParameters()
    hp.new_entry_sampler = lambda entry: entry.unit_to_value(0.99)
    assert hp.Int("units", 1, 10) == 10
    assert hp.Fixed("f", 2) == 2  # fixed values are never sampled


def test_sample_values_fills_only_active_hyperparameters_parents_first():
    hp = HyperParameters()
    hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["cnn"]):
        hp.Int("filters", 8, 64)
    values = hp.sample_values(lambda entry: entry.unit_to_value(0.99))
    assert values == {"model": "cnn", "filters": 64}
    values = hp.sample_values(lambda entry: entry.unit_to_value(0.0))
    assert values == {"model": "mlp"}


def test_overrides_passed_by_the_user_win_over_the_model_definition():
    hp = HyperParameters()
    hp.Fixed("lr", 0.01)
    hp.Choice("units", [8])
    hp.overrides.add("units")
    assert hp.Float("lr", 1e-4, 1e-1, sampling="log") == 0.01
    assert hp.Int("units", 8, 64, step=8) == 8
    restored = HyperParameters.from_config(json.loads(json.dumps(hp.get_config())))
    assert restored.overrides == {"units"} and restored.copy().overrides == {"units"}


# --- Int on a log scale without step (keras-tuner's Int.prob_to_value) ---------------------------


def test_log_int_without_step_is_log_uniform():
    hp = kt.HyperParameters()
    hp.Int("n", 1, 1000, sampling="log")
    entry = hp.get_hyperparameter("n")
    rng = np.random.default_rng(7)
    draws = np.array([entry.random_sample(rng) for _ in range(4000)])
    # keras-tuner: floor(1001 ** u), so P(n < 32) = log(32) / log(1001) = 0.502.
    assert np.mean(draws < 32) == pytest.approx(0.502, abs=0.03)
    assert draws.min() >= 1 and draws.max() <= 1000
    assert all(isinstance(int(v), int) and v == int(v) for v in draws[:50])
    assert entry.unit_to_value(0.5) == 31  # floor(sqrt(1001)), as keras-tuner
    assert entry.unit_to_value(0.0) == 1 and entry.unit_to_value(1.0) == 1000


def test_reverse_log_int_without_step_is_dense_near_the_top():
    entry = Int("n", 1, 1000, sampling="reverse_log")
    rng = np.random.default_rng(8)
    draws = np.array([entry.random_sample(rng) for _ in range(4000)])
    assert np.mean(draws >= 970) == pytest.approx(0.502, abs=0.03)
    assert draws.min() >= 1 and draws.max() <= 1000


def test_linear_int_is_unchanged_and_has_step_one_as_keras_tuner():
    entry = Int("n", 1, 1000)
    rng = np.random.default_rng(9)
    draws = np.array([entry.random_sample(rng) for _ in range(4000)])
    assert np.mean(draws < 32) == pytest.approx(0.031, abs=0.01)
    assert entry.step == 1 and entry.get_config()["step"] == 1
    assert Int("m", 0, 9).unit_to_value(0.55) == 5  # bucket 5 of 10
    assert Int("m", 0, 9).value_to_unit(5) == pytest.approx(0.55)


@pytest.mark.parametrize("sampling", ["log", "reverse_log"])
def test_log_int_grid_and_unit_map_are_consistent(sampling):
    entry = Int("n", 1, 1000, sampling=sampling)
    grid = entry.grid_values()
    assert len(grid) == 10 and grid[0] == 1 and grid[-1] == 1000 and grid == sorted(set(grid))
    assert list(entry.values) == grid
    for value in [*grid, 2, 31, 32, 500, 999]:
        assert entry.contains(value)
        assert entry.unit_to_value(entry.value_to_unit(value)) == value
    assert Int("few", 1, 8, sampling=sampling).grid_values() == list(range(1, 9))
    assert not entry.contains(2.5) and not entry.contains(1001)


def test_random_search_over_a_log_int_is_log_uniform():
    space = kt.HyperParameters()
    space.Int("n", 1, 1000, sampling="log")
    space.Float("x", 0.0, 1.0)  # makes every value set new: no duplicate is redrawn
    oracle = kt.oracles.RandomSearchOracle(
        objective="loss", max_trials=300, seed=3, hyperparameters=space
    )
    values = np.array([t.hyperparameters.values["n"] for t in drive(oracle)])
    assert len(values) == 300
    assert np.mean(values < 32) == pytest.approx(0.5, abs=0.1)


# --- the same name in different branches of a conditional scope ---------------------------------


def _branch_model(hp: kt.HyperParameters) -> int | None:
    model_type = hp.Choice("model_type", ["mlp", "cnn"])
    with hp.conditional_scope("model_type", "mlp"):
        mlp_units = hp.Int("units", 8, 64)
    with hp.conditional_scope("model_type", "cnn"):
        cnn_units = hp.Int("units", 128, 256)
    return mlp_units if model_type == "mlp" else cnn_units


def test_one_entry_per_branch_and_the_active_one_is_used():
    hp = kt.HyperParameters()
    assert _branch_model(hp) == 8
    assert hp.values == {"model_type": "mlp", "units": 8}
    assert hp.get("units") == 8 and hp["units"] == 8
    units = [e for e in hp.space if e.name == "units"]
    assert [(e.min_value, e.max_value) for e in units] == [(8, 64), (128, 256)]
    assert [e.conditions[0].values for e in units] == [("mlp",), ("cnn",)]
    assert hp.get_hyperparameter("units").max_value == 64

    cnn = kt.HyperParameters.from_config(hp.get_config())
    cnn.values = {"model_type": "cnn"}
    assert _branch_model(cnn) == 128  # the cnn entry's default
    assert cnn.values == {"model_type": "cnn", "units": 128}
    assert cnn.get_hyperparameter("units").min_value == 128
    assert len(cnn.space) == 3  # building again adds nothing


def test_branch_space_round_trips_through_config_and_keeps_its_values():
    hp = kt.HyperParameters()
    _branch_model(hp)
    hp.values = {"model_type": "cnn", "units": 200}
    restored = kt.HyperParameters.from_config(json.loads(json.dumps(hp.get_config())))
    assert restored.get_config() == hp.get_config()
    assert _branch_model(restored) == 200
    assert restored.get_hyperparameter("units").min_value == 128
    assert restored.copy().get("units") == 200


def test_branch_values_are_sampled_from_the_active_entry():
    hp = kt.HyperParameters()
    _branch_model(hp)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        values = hp.sample_values(lambda entry: entry.random_sample(rng))
        low, high = (8, 64) if values["model_type"] == "mlp" else (128, 256)
        assert low <= values["units"] <= high, values
        seen.add(values["model_type"])
    assert seen == {"mlp", "cnn"}
    assert [e.min_value for e in hp.active_space({"model_type": "cnn"})[1:]] == [128]


def test_a_conflicting_redefinition_in_the_same_branch_is_an_error():
    hp = kt.HyperParameters()
    _branch_model(hp)
    with (
        pytest.raises(SearchSpaceError, match="'units' is defined twice under the same"),
        hp.conditional_scope("model_type", "cnn"),
    ):
        hp.Int("units", 128, 512)
    # The same definition again is fine.
    with hp.conditional_scope("model_type", "cnn"):
        assert hp.Int("units", 128, 256) is None


def test_a_conditional_hyperparameter_cannot_be_named_like_its_parent():
    hp = kt.HyperParameters()
    hp.Choice("a", [1, 2])
    with (
        pytest.raises(SearchSpaceError, match=r"'a'.* same name as its parent"),
        hp.conditional_scope("a", 1),
    ):
        hp.Int("a", 1, 5)
    with pytest.raises(SearchSpaceError, match="same name as its parent"):
        hp.Int("a", 1, 5, parent_name="a", parent_values=[1])
    assert len(hp.space) == 1


def test_branches_as_in_keras_tuner_dict_methods_and_fixed_entries():
    hps = kt.HyperParameters()
    hps.Choice("b", [1, 2], default=2)
    with hps.conditional_scope("b", 1):
        hps.Float("c", -10, 10, default=3)
        with pytest.raises(ValueError, match="inactive"):
            hps["c"]
    with hps.conditional_scope("b", 2):
        hps.Float("c", -30, -20, default=-25)
    assert hps["c"] == -25
    with hps.conditional_scope("b", 2):
        assert hps.Fixed("d", 4) == 4
    with hps.conditional_scope("b", 1):
        assert hps.Fixed("d", 5) is None
    assert hps.get("d") == 4


def test_merge_keeps_one_entry_per_branch():
    source = kt.HyperParameters()
    _branch_model(source)
    target = kt.HyperParameters()
    target.merge(source)
    assert [(e.name, e.conditions) for e in target.space] == [
        (e.name, e.conditions) for e in source.space
    ]
    replacement = kt.HyperParameters()
    replacement.Choice("model_type", ["mlp", "cnn"])
    with replacement.conditional_scope("model_type", "cnn"):
        replacement.Int("units", 300, 400)
    target.merge(replacement.space)  # replaces the cnn entry only
    assert [e.min_value for e in target.space if e.name == "units"] == [8, 300]
    target.merge([Int("units", 1, 2, conditions=source.space[1].conditions)], overwrite=False)
    assert [e.min_value for e in target.space if e.name == "units"] == [8, 300]


def _units_range(values: dict) -> tuple[int, int]:
    return (8, 64) if values["model_type"] == "mlp" else (128, 256)


@pytest.mark.parametrize("oracle_name", sorted(ORACLE_FACTORIES))
def test_every_oracle_proposes_units_in_the_active_branch_range(oracle_name):
    hp = kt.HyperParameters()
    hp.Choice("model_type", ["mlp", "cnn"])
    with hp.conditional_scope("model_type", "mlp"):
        hp.Int("units", 8, 64, step=8)
    with hp.conditional_scope("model_type", "cnn"):
        hp.Int("units", 128, 256, step=64)
        hp.Choice("kernel", [3, 5])
    hp.Choice("lr", [0.01, 0.1])
    oracle = ORACLE_FACTORIES[oracle_name](hp, 5, 40)  # the grid has 8 * 2 + 3 * 2 * 2 = 28
    trials = drive(oracle)
    assert trials
    seen = set()
    for trial in trials:
        values = trial.hyperparameters.values
        low, high = _units_range(values)
        assert low <= values["units"] <= high, (oracle_name, values)
        assert ("kernel" in values) == (values["model_type"] == "cnn"), values
        seen.add((values["model_type"], values["units"]))
    assert {model_type for model_type, _ in seen} == {"mlp", "cnn"}, oracle_name
    if oracle_name == "grid":
        assert len(trials) == 28 and len(seen) == 8 + 3


class _BranchTuner(kt.BaseTuner):
    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        units = _branch_model(hp)
        assert units is not None
        return {"loss": abs(units - 100) + (hp.get("model_type") == "mlp")}


def test_grid_search_defined_by_running_the_model_covers_both_branches(tmp_path):
    def model(hp):
        model_type = hp.Choice("model_type", ["mlp", "cnn"])
        with hp.conditional_scope("model_type", "mlp"):
            mlp_units = hp.Int("units", 8, 32, step=8)
        with hp.conditional_scope("model_type", "cnn"):
            cnn_units = hp.Int("units", 128, 256, step=64)
        return mlp_units if model_type == "mlp" else cnn_units

    class GridTuner(kt.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            units = model(trial.hyperparameters)
            return {"loss": float(units)}

    search = GridTuner(
        kt.oracles.GridSearchOracle(objective="loss", max_trials=50, seed=1),
        directory=tmp_path,
        project_name="grid",
    )
    search.search(verbose=0)
    found = sorted(
        (t.hyperparameters.values["model_type"], t.hyperparameters.values["units"])
        for t in search.oracle.trials.values()
    )
    expected = [("cnn", 128), ("cnn", 192), ("cnn", 256)] + [("mlp", u) for u in (8, 16, 24, 32)]
    assert found == sorted(expected)
    assert [e.name for e in search.oracle.hyperparameters.space] == [
        "model_type",
        "units",
        "units",
    ]


def test_random_search_defined_by_running_the_model_samples_each_branch_range(tmp_path):
    search = _BranchTuner(
        kt.oracles.RandomSearchOracle(objective="loss", max_trials=30, seed=2),
        directory=tmp_path,
        project_name="random",
    )
    search.search(verbose=0)
    trials = list(search.oracle.trials.values())
    assert len(trials) == 30
    assert all(t.status == TrialStatus.COMPLETED for t in trials), [t.message for t in trials]
    types = set()
    for trial in trials:
        values = trial.hyperparameters.values
        low, high = _units_range(values)
        assert low <= values["units"] <= high, values
        types.add(values["model_type"])
    assert types == {"mlp", "cnn"}


# --- values and the attributes of HyperParameters.space ------------------------------------------


def test_values_of_every_type_as_keras_tuner():
    assert list(Int("a", 1, 5).values) == [1, 2, 3, 4, 5]
    assert list(Int("b", 6, 13, step=3).values) == [6, 9, 12]
    assert list(Int("c", 2, 32, step=2, sampling="log").values) == [2, 4, 8, 16, 32]
    assert len(Int("d", 0, 10**9).values) == 10**9 + 1  # lazy: a range
    assert list(Float("e", 2, 8, step=2).values) == [2.0, 4.0, 6.0, 8.0]
    assert list(Float("f", 0.1, 100.0, step=10, sampling="log").values) == [0.1, 1.0, 10.0, 100.0]
    assert len(Float("g", 2, 1024, sampling="log").values) == 10
    assert Boolean("h").values == (True, False)
    assert Fixed("i", "x").values == ("x",)
    assert list(Choice("j", [0, 1, 2]).values) == [0, 1, 2]


def test_space_entries_expose_keras_tuner_attributes():
    hp = kt.HyperParameters()
    hp.Choice("model_type", ["mlp", "cnn"], default="cnn")
    with hp.conditional_scope("model_type", ["cnn"]):
        hp.Int("filters", 8, 64, step=8, default=16)
    hp.Float("lr", 1e-4, 1e-2, sampling="log")
    hp.Boolean("bn", default=True)
    hp.Fixed("epochs", 3)
    choice, filters, lr, bn, epochs = hp.space
    assert (choice.name, choice.default, choice.values, choice.ordered) == (
        "model_type",
        "cnn",
        ["mlp", "cnn"],
        False,
    )
    assert choice.conditions == ()
    assert (filters.min_value, filters.max_value, filters.step, filters.sampling) == (
        8,
        64,
        8,
        "linear",
    )
    assert filters.default == 16 and len(filters.conditions) == 1
    assert filters.conditions[0].parent_name == "model_type"
    assert filters.conditions[0].values == ("cnn",)
    assert (lr.min_value, lr.max_value, lr.step, lr.sampling, lr.default) == (
        1e-4,
        1e-2,
        None,
        "log",
        1e-4,
    )
    assert (bn.name, bn.default, bn.values) == ("bn", True, (True, False))
    assert (epochs.name, epochs.value, epochs.default, epochs.values) == ("epochs", 3, 3, (3,))


# --- TypeError where keras-tuner raises TypeError ------------------------------------------------


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda hp: hp.Choice("a", [1, "x"]), "of one type"),
        (lambda hp: hp.Choice("a", ["a", "b", 0]), "of one type"),
        (lambda hp: hp.Choice("a", [True, 1]), "of one type"),
        (lambda hp: hp.Choice("a", [{"a": 1}, {"a": 2}]), "numbers, strings or booleans"),
        (lambda hp: hp.Choice("a", [None, 1]), "numbers, strings or booleans"),
        (lambda hp: hp.Choice("a", 5), "must be a list"),
        (lambda hp: hp.Int("a", None, 5), "min_value must be a number"),
        (lambda hp: hp.Int("a", 1, "9"), "max_value must be a number"),
        (lambda hp: hp.Float("a", 0.0, 1.0, step="0.1"), "step must be a number"),
        (lambda hp: hp.Float("a", 0.0, 1.0, default=[0.5]), "default must be a number"),
    ],
)
def test_wrong_types_raise_a_type_error_naming_the_hyperparameter(build, fragment):
    with pytest.raises(TypeError, match=fragment) as info:
        build(kt.HyperParameters())
    assert isinstance(info.value, kt.errors.SearchSpaceTypeError)
    assert isinstance(info.value, SearchSpaceError) and isinstance(info.value, ValueError)
    assert "'a'" in str(info.value)


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda hp: hp.Choice("a", []), "must not be empty"),
        (lambda hp: hp.Choice("a", [1, 2], default=4), "not one of"),
        (lambda hp: hp.Choice("a", ["x", "y"], ordered=True), "only possible for numeric"),
        (lambda hp: hp.Int("a", 0.5, 10), "must be an integer"),
        (lambda hp: hp.Int("a", 0, 10, sampling="invalid"), "sampling must be one of"),
        (lambda hp: hp.Int("a", 1, 0), "greater than max_value"),
        (lambda hp: hp.Int("a", -10, -1, sampling="log"), "needs min_value > 0"),
        (lambda hp: hp.Float("a", 1.0, 10.0, step=1.0, sampling="log"), "greater than 1"),
        (lambda hp: hp.Boolean("a", default="yes"), "must be a bool"),
        (lambda hp: hp.Fixed("a", [1]), "must be a number, string or bool"),
    ],
)
def test_bad_values_raise_a_value_error_that_is_not_a_type_error(build, fragment):
    with pytest.raises(ValueError, match=fragment) as info:
        build(kt.HyperParameters())
    assert isinstance(info.value, SearchSpaceError)
    assert not isinstance(info.value, TypeError)
    assert "'a'" in str(info.value)


def test_bad_parent_values_are_named():
    hp = kt.HyperParameters()
    hp.Choice("p", [1, 2])
    with (
        pytest.raises(TypeError, match=r"parent 'p'.*got None"),
        hp.conditional_scope("p", [None]),
    ):
        pass
    with pytest.raises(SearchSpaceError, match="parent 'p' must not be empty"):
        hp.Int("c", 1, 3, parent_name="p", parent_values=[])
    with pytest.raises(SearchSpaceError, match="'missing' must be defined before"):
        hp.Int("c", 1, 3, parent_name="missing", parent_values=[1])
