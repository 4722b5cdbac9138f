from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import all_types_space, conditional_space, small_grid_space
from tuner.hyperparameters import HyperParameters
from tuner.space import NEUTRAL, DimensionKind, SpaceCodec, latin_hypercube


@pytest.fixture(params=[all_types_space, conditional_space, small_grid_space])
def space(request) -> HyperParameters:
    return request.param()


def test_decoded_samples_are_legal_values_of_active_hyperparameters(space):
    codec = SpaceCodec(space)
    for vector in codec.sample(np.random.default_rng(0), 200):
        values = codec.decode(vector)
        assigned = space.with_values(values)
        for name, value in values.items():
            assert assigned.is_active(name), name
            assert assigned.get_hyperparameter(name).contains(value), (name, value)
        for hp in assigned.space:
            if assigned.is_active(hp.name):
                assert hp.name in values, hp.name


def test_encode_inverts_decode_and_project_is_idempotent(space):
    codec = SpaceCodec(space)
    raw = np.random.default_rng(1).random((100, codec.size))
    projected = codec.project(raw)
    np.testing.assert_allclose(codec.project(projected), projected)
    for row, vector in zip(raw, projected, strict=True):
        np.testing.assert_allclose(codec.encode(codec.decode(row)), vector)
    assert codec.bounds.shape == (codec.size, 2)
    assert ((projected >= 0) & (projected <= 1)).all()


def test_log_scaled_numbers_are_uniform_in_log_space():
    hp = HyperParameters()
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    codec = SpaceCodec(hp)
    assert codec.encode({"lr": 1e-3})[0] == pytest.approx(1 / 3)
    assert codec.decode([2 / 3])["lr"] == pytest.approx(1e-2)


def test_each_type_gets_its_layout():
    hp = HyperParameters()
    hp.Choice("activation", ["relu", "tanh", "gelu"])  # unordered: one-hot
    hp.Choice("optimizer", ["adam", "sgd"])  # two values: one column suffices
    hp.Choice("batch_size", [16, 32, 64])  # numbers are ordered: one column
    hp.Boolean("batch_norm")
    hp.Int("units", 8, 64, step=8)
    hp.Float("dropout", 0.0, 0.5)
    hp.Fixed("epochs", 3)  # no column
    codec = SpaceCodec(hp)
    kinds = {d.name: (d.kind, d.width) for d in codec.dimensions}
    assert kinds == {
        "activation": (DimensionKind.CATEGORICAL, 3),
        "optimizer": (DimensionKind.ORDINAL, 1),
        "batch_size": (DimensionKind.ORDINAL, 1),
        "batch_norm": (DimensionKind.ORDINAL, 1),
        "units": (DimensionKind.ORDINAL, 1),
        "dropout": (DimensionKind.CONTINUOUS, 1),
    }
    assert codec.size == 8
    vector = codec.encode({"activation": "gelu", "batch_size": 64, "units": 8, "epochs": 3})
    assert vector[:3].tolist() == [0.0, 0.0, 1.0]
    assert vector[4] == pytest.approx(5 / 6)  # third bucket of three
    assert vector[6] == pytest.approx(1 / 16)  # first bucket of eight
    assert codec.decode(vector)["epochs"] == 3
    assert codec.continuous_mask.tolist() == [False] * 7 + [True]


def test_inactive_dimensions_take_the_neutral_value():
    hp = HyperParameters()
    hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["cnn"]):
        hp.Choice("pooling", ["max", "avg", "none"])
        hp.Int("filters", 4, 32, step=4)
    codec = SpaceCodec(hp)
    mlp = codec.encode({"model": "mlp", "pooling": "avg", "filters": 8})
    assert mlp.tolist() == [0.25, 1 / 3, 1 / 3, 1 / 3, NEUTRAL]
    assert codec.decode(mlp) == {"model": "mlp"}
    cnn = codec.encode({"model": "cnn", "pooling": "avg", "filters": 8})
    assert cnn[1:4].tolist() == [0.0, 1.0, 0.0]
    active = codec.active_mask(np.vstack([mlp, cnn]))
    assert active[0].tolist() == [True, False, False, False, False]
    assert active[1].all()
    # Two points that differ only in inactive values encode identically.
    other = codec.encode({"model": "mlp", "pooling": "max", "filters": 32})
    np.testing.assert_array_equal(mlp, other)


def test_missing_or_illegal_values_stay_neutral_instead_of_snapping():
    hp = HyperParameters()
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    hp.Int("units", 1, 4)
    codec = SpaceCodec(hp)
    vector = codec.encode({"units": 99})  # added to the space after the trial ran / not legal
    assert vector.tolist() == [1 / 3, 1 / 3, 1 / 3, NEUTRAL]


def test_finite_spaces_are_enumerated_once_per_distinct_value_set():
    assert len(SpaceCodec(small_grid_space()).enumerate_values(100)) == 12
    hp = HyperParameters()
    hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", ["mlp"]):
        hp.Int("units", 1, 3)
    with hp.conditional_scope("model", ["cnn"]):
        hp.Boolean("pool")
    values = SpaceCodec(hp).enumerate_values(100)
    assert len(values) == 3 + 2
    assert {"model": "cnn", "pool": True} in values
    assert SpaceCodec(small_grid_space()).enumerate_values(5) is None  # over the limit
    assert SpaceCodec(all_types_space()).enumerate_values(10**6) is None  # continuous floats


def test_decode_names_the_expected_length():
    codec = SpaceCodec(small_grid_space())
    with pytest.raises(ValueError, match=f"has {codec.size} entries"):
        codec.decode([0.5])


def test_signature_changes_when_the_space_grows():
    hp = small_grid_space()
    before = SpaceCodec(hp).signature
    hp.Float("x", 0.0, 1.0)
    assert SpaceCodec(hp).signature != before


def test_latin_hypercube_uses_every_stratum_once():
    design = latin_hypercube(np.random.default_rng(3), 10, 4)
    assert design.shape == (10, 4)
    for column in design.T:
        assert sorted((column * 10).astype(int).tolist()) == list(range(10))
    closest = min(math.dist(a, b) for i, a in enumerate(design) for b in design[i + 1 :])
    assert closest > 0.05
