from __future__ import annotations

import json
import math

import numpy as np
import pytest

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
