from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import all_types_space, conditional_space, small_grid_space
from tuner.hyperparameters import HyperParameters
from tuner.space import NEUTRAL, DimensionKind, SpaceCodec, latin_hypercube


def branch_space() -> HyperParameters:
    """One name per branch of a conditional scope, with different settings in each."""
    hp = HyperParameters()
    hp.Choice("model_type", ["mlp", "cnn", "rnn"])
    with hp.conditional_scope("model_type", "mlp"):
        hp.Int("units", 8, 64)
        hp.Choice("activation", ["relu", "tanh", "gelu"])
    with hp.conditional_scope("model_type", "cnn"):
        hp.Int("units", 128, 256, step=32)
        hp.Choice("activation", ["relu", "elu", "selu", "swish"])
        with hp.conditional_scope("units", [128, 256]):
            hp.Boolean("pool")
    with hp.conditional_scope("model_type", "rnn"):
        hp.Fixed("units", 32)
    return hp


def log_int_space() -> HyperParameters:
    hp = HyperParameters()
    hp.Int("n", 1, 1000, sampling="log")
    hp.Int("m", 2, 500, sampling="reverse_log")
    return hp


@pytest.fixture(
    params=[all_types_space, conditional_space, small_grid_space, branch_space, log_int_space]
)
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


def test_a_log_int_without_step_is_continuous_and_log_uniform_in_the_codec():
    codec = SpaceCodec(log_int_space())
    assert [d.kind for d in codec.dimensions] == [DimensionKind.CONTINUOUS] * 2
    decoded = [codec.decode(v) for v in codec.sample(np.random.default_rng(4), 3000)]
    assert np.mean([v["n"] < 32 for v in decoded]) == pytest.approx(0.502, abs=0.03)
    assert all(isinstance(v["n"], int) and 1 <= v["n"] <= 1000 for v in decoded)
    vector = codec.encode({"n": 31, "m": 400})
    assert codec.decode(vector) == {"n": 31, "m": 400}
    assert vector[0] == pytest.approx(math.log(31.5) / math.log(1001))


def test_each_branch_setting_gets_its_own_dimension():
    codec = SpaceCodec(branch_space())
    assert [d.key for d in codec.dimensions] == [
        "model_type",
        "units",
        "activation",
        "units[1]",
        "activation[1]",
        "pool",
    ]
    assert [d.name for d in codec.dimensions_of("units")] == ["units", "units"]
    assert codec.dimension("units[1]").hyperparameter.min_value == 128
    cnn = codec.encode({"model_type": "cnn", "units": 192, "activation": "selu"})
    assert codec.decode(cnn) == {"model_type": "cnn", "units": 192, "activation": "selu"}
    mask = codec.active_mask(cnn)[0]
    active = {d.key: bool(mask[d.start]) for d in codec.dimensions}
    assert active == {
        "model_type": True,
        "units": False,
        "activation": False,
        "units[1]": True,
        "activation[1]": True,
        "pool": False,  # 192 is not one of the values that turn pooling on
    }
    # A value legal only in the other branch is not carried over: it stays neutral.
    mlp = codec.encode({"model_type": "mlp", "units": 192, "activation": "relu"})
    assert codec.decode(mlp)["units"] == codec.dimension("units").value_at(NEUTRAL)
    rnn = codec.encode({"model_type": "rnn", "units": 32})
    assert codec.decode(rnn) == {"model_type": "rnn", "units": 32}
    assert codec.active_dimension("units", {"model_type": "cnn"}) is codec.dimension("units[1]")
    assert codec.active_dimension("units", {"model_type": "rnn"}) is None


def test_branch_samples_use_the_range_of_the_active_entry():
    space = branch_space()
    codec = SpaceCodec(space)
    seen = set()
    for vector in codec.sample(np.random.default_rng(5), 600):
        values = codec.decode(vector)
        model_type, units = values["model_type"], values["units"]
        if model_type == "mlp":
            assert 8 <= units <= 64 and values["activation"] in ("relu", "tanh", "gelu")
        elif model_type == "cnn":
            assert units in (128, 160, 192, 224, 256)
            assert ("pool" in values) == (units in (128, 256))
        else:
            assert units == 32 and set(values) == {"model_type", "units"}
        seen.add(model_type)
    assert seen == {"mlp", "cnn", "rnn"}
    enumerated = SpaceCodec(space).enumerate_values(10**5)
    # mlp: 57 units * 3 activations; cnn: 5 units * 4 activations, pool for two of them; rnn: 1.
    assert len(enumerated) == 57 * 3 + (3 + 2 * 2) * 4 + 1
    assert {"model_type": "cnn", "units": 256, "activation": "elu", "pool": True} in enumerated
    assert {"model_type": "rnn", "units": 32} in enumerated
