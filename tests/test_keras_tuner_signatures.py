"""Every public oracle and tuner has keras-tuner 1.4's signature, positional use included.

The expected lists are keras-tuner 1.4.7's constructors, written out by hand: names, order and
defaults. The common options are declared once (``tuner/oracles/arguments.py``); these tests
check that what users see, ``inspect.signature``, ``help()`` and the docstrings, is still
keras-tuner's.
"""

from __future__ import annotations

import inspect
import pydoc
import re
from typing import Any

import pytest

import tuner as kt
from tuner.oracles.arguments import OracleOptions, option_defaults, option_names

_ORACLE_TAIL = [
    ("seed", None),
    ("hyperparameters", None),
    ("allow_new_entries", True),
    ("tune_new_entries", True),
    ("max_retries_per_trial", 0),
    ("max_consecutive_failed_trials", 3),
]
# keras-tuner's tuners swap the two entry flags.
_TUNER_TAIL = [
    ("seed", None),
    ("hyperparameters", None),
    ("tune_new_entries", True),
    ("allow_new_entries", True),
    ("max_retries_per_trial", 0),
    ("max_consecutive_failed_trials", 3),
]
KWARGS = ("**kwargs", inspect.Parameter.empty)

#: keras-tuner 1.4.7: class -> [(parameter, default)], in order.
KERAS_TUNER_1_4: dict[str, list[tuple[str, Any]]] = {
    "Oracle": [
        ("objective", None),
        ("max_trials", None),
        ("hyperparameters", None),
        ("allow_new_entries", True),
        ("tune_new_entries", True),
        ("seed", None),
        ("max_retries_per_trial", 0),
        ("max_consecutive_failed_trials", 3),
    ],
    "RandomSearchOracle": [("objective", None), ("max_trials", 10), *_ORACLE_TAIL],
    "GridSearchOracle": [("objective", None), ("max_trials", None), *_ORACLE_TAIL],
    "HyperbandOracle": [
        ("objective", None),
        ("max_epochs", 100),
        ("factor", 3),
        ("hyperband_iterations", 1),
        *_ORACLE_TAIL,
    ],
    "BayesianOptimizationOracle": [
        ("objective", None),
        ("max_trials", 10),
        ("num_initial_points", None),
        ("alpha", 1e-4),
        ("beta", 2.6),
        *_ORACLE_TAIL,
    ],
    "RandomSearch": [
        ("hypermodel", None),
        ("objective", None),
        ("max_trials", 10),
        *_TUNER_TAIL,
        KWARGS,
    ],
    "GridSearch": [
        ("hypermodel", None),
        ("objective", None),
        ("max_trials", None),
        *_TUNER_TAIL,
        KWARGS,
    ],
    "Hyperband": [
        ("hypermodel", None),
        ("objective", None),
        ("max_epochs", 100),
        ("factor", 3),
        ("hyperband_iterations", 1),
        *_TUNER_TAIL,
        KWARGS,
    ],
    "BayesianOptimization": [
        ("hypermodel", None),
        ("objective", None),
        ("max_trials", 10),
        ("num_initial_points", None),
        ("alpha", 1e-4),
        ("beta", 2.6),
        *_TUNER_TAIL,
        KWARGS,
    ],
}

#: Where tuner deliberately differs (README, "Bayesian optimization and TPE"): class ->
#: {parameter: our default}, and the parameters it adds after keras-tuner's.
DIFFERENT_DEFAULTS = {
    "BayesianOptimizationOracle": {"alpha": 1e-6},
    "BayesianOptimization": {"alpha": 1e-6},
}
ADDED_AFTER = {"BayesianOptimizationOracle": [("acquisition", "log_ei")]}

#: tuner's own algorithms, in keras-tuner's style (not in keras-tuner): their signatures as
#: released, so that a change shows.
OWN: dict[str, list[tuple[str, Any]]] = {
    "TPEOracle": [
        ("objective", None),
        ("max_trials", 10),
        *_ORACLE_TAIL,
        ("num_initial_points", 10),
        ("candidates", 24),
        ("gamma", None),
        ("prior_weight", 0.5),
    ],
    "AsyncSuccessiveHalvingOracle": [
        ("objective", None),
        ("max_trials", 100),
        ("max_epochs", 100),
        ("factor", 3),
        ("min_epochs", 1),
        *_ORACLE_TAIL,
        ("sampler", "random"),
    ],
    "BOHBOracle": [
        ("objective", None),
        ("max_epochs", 100),
        ("factor", 3),
        ("hyperband_iterations", 1),
        *_ORACLE_TAIL,
        ("random_fraction", 1 / 3),
        ("min_points_in_model", None),
        ("candidates", 24),
        ("prior_weight", 0.5),
    ],
    "BOHB": [
        ("hypermodel", None),
        ("objective", None),
        ("max_epochs", 100),
        ("factor", 3),
        ("hyperband_iterations", 1),
        *_TUNER_TAIL,
        ("random_fraction", 1 / 3),
        ("min_points_in_model", None),
        KWARGS,
    ],
    "TPESearch": [
        ("hypermodel", None),
        ("objective", None),
        ("max_trials", 10),
        ("num_initial_points", 10),
        ("candidates", 24),
        *_TUNER_TAIL,
        KWARGS,
    ],
    "AsyncSuccessiveHalving": [
        ("hypermodel", None),
        ("objective", None),
        ("max_trials", 100),
        ("max_epochs", 100),
        ("factor", 3),
        ("min_epochs", 1),
        *_TUNER_TAIL,
        ("sampler", "random"),
        KWARGS,
    ],
}


def public_class(name: str) -> type:
    if name.endswith("Oracle"):
        return getattr(kt.oracles, name)
    return getattr(kt, name)


def parameters(cls: type) -> list[tuple[str, Any]]:
    """``[(name, default)]`` of ``inspect.signature(cls)``, ``**kwargs`` spelled so."""
    found = []
    for parameter in inspect.signature(cls).parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            found.append((f"**{parameter.name}", parameter.empty))
            continue
        assert parameter.kind is parameter.POSITIONAL_OR_KEYWORD, parameter  # positional use
        found.append((parameter.name, parameter.default))
    return found


#: The options tuner adds after keras-tuner's last one (which positional keras-tuner code
#: never reaches): every oracle and tuner takes them.
ADDED_OPTIONS = [("constraints", None), ("max_time", None)]


def expected(name: str) -> list[tuple[str, Any]]:
    if name in OWN:
        listed = list(OWN[name])
    else:
        changed = DIFFERENT_DEFAULTS.get(name, {})
        listed = [(p, changed.get(p, default)) for p, default in KERAS_TUNER_1_4[name]]
        added = ADDED_AFTER.get(name, [])
        if listed and listed[-1] == KWARGS:
            listed = [*listed[:-1], *added, KWARGS]
        else:
            listed = [*listed, *added]
    last = [p for p, _ in listed].index("max_consecutive_failed_trials")
    return [*listed[: last + 1], *ADDED_OPTIONS, *listed[last + 1 :]]


ALL = sorted([*KERAS_TUNER_1_4, *OWN])


@pytest.mark.parametrize("name", ALL)
def test_the_signature_is_keras_tuners(name):
    assert parameters(public_class(name)) == expected(name)


@pytest.mark.parametrize("name", ALL)
def test_help_shows_the_signature(name):
    cls = public_class(name)
    text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
    assert f"{name}({str(inspect.signature(cls))[1:]}" in text
    assert "max_consecutive_failed_trials: 'int' = 3" in text


def documented_parameters(doc: str) -> list[str]:
    """The names of the entries of a Google-style ``Args:`` section, in order."""
    lines = doc.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip() == "Args:")
    indent = len(lines[start]) - len(lines[start].lstrip()) + 4
    names = []
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break
        match = re.match(rf"^ {{{indent}}}(\*{{0,2}}\w+)( \(.*\))?: \S", line)
        if match:
            names.append(match.group(1))
    return names


@pytest.mark.parametrize("name", ALL)
def test_the_docstring_documents_every_parameter_in_order(name):
    documented = documented_parameters(public_class(name).__doc__)
    assert documented == [parameter for parameter, _ in expected(name)]


def test_the_declared_options_are_the_ones_every_class_takes():
    assert list(OracleOptions.__annotations__) == list(option_names())
    assert option_defaults() == dict([*_ORACLE_TAIL, *ADDED_OPTIONS])
    for name in ALL:
        taken = dict(parameters(public_class(name)))
        assert {option: taken.get(option) for option in option_names()} == option_defaults()


def test_keras_tuner_aliases_are_the_same_classes():
    assert kt.oracles.RandomSearch is kt.oracles.RandomSearchOracle
    assert kt.oracles.GridSearch is kt.oracles.GridSearchOracle
    assert kt.oracles.Hyperband is kt.oracles.HyperbandOracle
    assert kt.oracles.BayesianOptimization is kt.oracles.BayesianOptimizationOracle


def _space() -> kt.HyperParameters:
    hp = kt.HyperParameters()
    hp.Int("units", 8, 64)
    return hp


def _check_options(oracle, seed, allow, tune, retries, failures):
    assert oracle.seed == seed
    assert [hp.name for hp in oracle.hyperparameters.space] == ["units"]
    assert (oracle.allow_new_entries, oracle.tune_new_entries) == (allow, tune)
    assert oracle.max_retries_per_trial == retries
    assert oracle.max_consecutive_failed_trials == failures


def test_oracles_take_every_argument_by_position():
    hp = _space()
    oracle = kt.oracles.Oracle("loss", 4, hp, False, True, 11, 2, 5)
    _check_options(oracle, 11, False, True, 2, 5)
    assert (oracle.objective.name, oracle.max_trials) == ("loss", 4)

    for cls in (kt.oracles.RandomSearchOracle, kt.oracles.GridSearchOracle):
        oracle = cls("loss", 4, 11, hp, True, False, 2, 5)
        _check_options(oracle, 11, True, False, 2, 5)
        assert (oracle.objective.name, oracle.max_trials) == ("loss", 4)

    oracle = kt.oracles.HyperbandOracle("loss", 27, 2, 3, 11, hp, True, False, 2, 5)
    _check_options(oracle, 11, True, False, 2, 5)
    assert (oracle.max_epochs, oracle.factor, oracle.hyperband_iterations) == (27, 2, 3)

    oracle = kt.oracles.BayesianOptimizationOracle(
        "loss", 4, 3, 1e-3, 1.5, 11, hp, True, False, 2, 5, None, None, "ucb"
    )
    _check_options(oracle, 11, True, False, 2, 5)
    assert (oracle.num_initial_points, oracle.alpha, oracle.beta) == (3, 1e-3, 1.5)
    assert oracle.acquisition == "ucb"


def test_a_subclass_passing_everything_through_keeps_positional_use():
    class MyOracle(kt.oracles.RandomSearchOracle):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)

    _check_options(MyOracle("loss", 4, 11, _space(), True, False, 2, 5), 11, True, False, 2, 5)


def test_wrong_arguments_are_refused_naming_the_class():
    with pytest.raises(TypeError, match=r"RandomSearchOracle\(\): .*unexpected .*'sed'"):
        kt.oracles.RandomSearchOracle("loss", sed=1)
    with pytest.raises(TypeError, match=r"RandomSearchOracle\(\): too many positional"):
        kt.oracles.RandomSearchOracle("loss", 4, 11, None, True, False, 2, 5, None, None, "extra")
    with pytest.raises(TypeError, match="multiple values for argument 'seed'"):
        kt.oracles.RandomSearchOracle("loss", 4, 11, seed=12)


@pytest.mark.keras
def test_tuners_forward_every_argument_by_position_to_their_oracle(tmp_path):
    def build_model(hp):
        hp.Int("units", 8, 64)
        return None

    hp = _space()
    # keras-tuner's tuner order: seed, hyperparameters, tune_new_entries, allow_new_entries, ...
    tuner = kt.RandomSearch(
        build_model, "val_loss", 4, 11, hp, False, True, 2, 5, directory=tmp_path
    )
    _check_options(tuner.oracle, 11, True, False, 2, 5)
    assert isinstance(tuner.oracle, kt.oracles.RandomSearchOracle)
    assert (tuner.oracle.objective.name, tuner.oracle.max_trials) == ("val_loss", 4)

    tuner = kt.Hyperband(
        build_model, "val_loss", 27, 2, 3, 11, hp, True, False, 2, 5,
        directory=tmp_path, project_name="hb",
    )  # fmt: skip
    _check_options(tuner.oracle, 11, False, True, 2, 5)
    assert (tuner.oracle.max_epochs, tuner.oracle.factor) == (27, 2)

    tuner = kt.BayesianOptimization(
        build_model, "val_loss", 4, 3, 1e-3, 1.5, seed=11, hyperparameters=hp,
        max_retries_per_trial=2, directory=tmp_path, project_name="bo",
    )  # fmt: skip
    assert (tuner.oracle.num_initial_points, tuner.oracle.beta, tuner.oracle.seed) == (3, 1.5, 11)
    assert tuner.oracle.max_retries_per_trial == 2
    assert tuner.project_dir == str(tmp_path / "bo")  # the other arguments reach the Tuner


@pytest.mark.keras
def test_a_misspelt_tuner_argument_is_still_named(tmp_path):
    with pytest.raises(kt.errors.InvalidArgumentError, match="'sed': did you mean 'seed'"):
        kt.RandomSearch(lambda hp: None, "val_loss", sed=1, directory=tmp_path)
