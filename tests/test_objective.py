from __future__ import annotations

import pytest

from tuner.errors import SearchSpaceError
from tuner.objective import MultiObjective, Objective, create_objective, objective_from_dict


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("val_accuracy", "max"),
        ("accuracy", "max"),
        ("val_auc", "max"),
        ("precision", "max"),
        ("val_recall", "max"),
        ("val_loss", "min"),
        ("loss", "min"),
        ("val_mae", "min"),
        ("mean_squared_error", "min"),
        ("val_binary_crossentropy", "min"),
    ],
)
def test_direction_is_inferred_from_the_name(name, direction):
    assert create_objective(name) == Objective(name, direction)


def test_unknown_name_asks_for_an_explicit_objective():
    with pytest.raises(SearchSpaceError, match=r'kt.Objective\("val_custom", direction="min"\)'):
        create_objective("val_custom")


def test_default_is_keras_tuners_default_objective_and_objects_pass_through():
    assert create_objective(None) == Objective("default_objective", "min")
    custom = Objective("val_custom", "max")
    assert create_objective(custom) is custom
    assert create_objective(["val_loss"]) == Objective("val_loss", "min")


def test_bad_direction():
    with pytest.raises(SearchSpaceError, match="direction"):
        Objective("x", "up")


def test_multi_objective_sums_signed_values_and_round_trips():
    objective = create_objective(["val_loss", Objective("val_auc", "max")])
    assert isinstance(objective, MultiObjective)
    assert objective.get_value({"val_loss": 0.5, "val_auc": 0.75}) == pytest.approx(-0.25)
    assert objective.better_than(-0.3, -0.25)
    assert objective_from_dict(objective.to_dict()) == objective
    assert repr(Objective("val_loss", "min")) == 'Objective(name="val_loss", direction="min")'


@pytest.mark.parametrize("objective", [["val_loss", 3], [Objective("loss", "min"), None], 3.5])
def test_an_objective_that_is_not_a_name_or_objective_is_a_type_error(objective):
    with pytest.raises(TypeError, match=r"metric names or kt\.Objective|metric name, a kt\.Obj"):
        create_objective(objective)
