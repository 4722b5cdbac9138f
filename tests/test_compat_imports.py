"""keras-tuner's module paths (1.4's ``engine``, <= 1.2's ``tuners.<algorithm>``), its
``serialize``/``deserialize``, ``infer_metric_direction`` and the ``synchronized`` decorator.
"""

from __future__ import annotations

import importlib
import json
import threading
import time

import pytest

import tuner as kt
from tuner.engine import hyperparameters as hp_module
from tuner.errors import SearchSpaceError

# (module path, name, what it must be), as keras-tuner code spells them.
LIGHT_PATHS = [
    ("tuner.engine.hyperparameters", "HyperParameters", "tuner.hyperparameters.HyperParameters"),
    ("tuner.engine.hyperparameters", "HyperParameter", "tuner.hyperparameters.HyperParameter"),
    ("tuner.engine.hyperparameters", "Int", "tuner.hyperparameters.Int"),
    ("tuner.engine.hyperparameters", "Float", "tuner.hyperparameters.Float"),
    ("tuner.engine.hyperparameters", "Choice", "tuner.hyperparameters.Choice"),
    ("tuner.engine.hyperparameters", "Boolean", "tuner.hyperparameters.Boolean"),
    ("tuner.engine.hyperparameters", "Fixed", "tuner.hyperparameters.Fixed"),
    ("tuner.engine.base_tuner", "BaseTuner", "tuner.BaseTuner"),
    ("tuner.engine.hypermodel", "HyperModel", "tuner.HyperModel"),
    ("tuner.engine.oracle", "Oracle", "tuner.Oracle"),
    ("tuner.engine.oracle", "Objective", "tuner.Objective"),
    ("tuner.engine.oracle", "synchronized", "tuner.synchronized"),
    ("tuner.engine.objective", "Objective", "tuner.Objective"),
    ("tuner.engine.trial", "Trial", "tuner.Trial"),
    ("tuner.engine.trial", "TrialStatus", "tuner.TrialStatus"),
    ("tuner.engine.metrics_tracking", "MetricHistory", "tuner.trial.MetricHistory"),
    ("tuner.engine.metrics_tracking", "MetricObservation", "tuner.trial.MetricObservation"),
    ("tuner.engine.logger", "Logger", "tuner.logger.Logger"),
]

KERAS_PATHS = [
    ("tuner.engine.tuner", "Tuner", "tuner.Tuner"),
    ("tuner.tuners.randomsearch", "RandomSearch", "tuner.RandomSearch"),
    ("tuner.tuners.randomsearch", "RandomSearchOracle", "tuner.oracles.RandomSearchOracle"),
    ("tuner.tuners.gridsearch", "GridSearch", "tuner.GridSearch"),
    ("tuner.tuners.gridsearch", "GridSearchOracle", "tuner.oracles.GridSearchOracle"),
    ("tuner.tuners.hyperband", "Hyperband", "tuner.Hyperband"),
    ("tuner.tuners.hyperband", "HyperbandOracle", "tuner.oracles.HyperbandOracle"),
    ("tuner.tuners.bayesian", "BayesianOptimization", "tuner.BayesianOptimization"),
    (
        "tuner.tuners.bayesian",
        "BayesianOptimizationOracle",
        "tuner.oracles.BayesianOptimizationOracle",
    ),
    ("tuner.tuners.sklearn_tuner", "SklearnTuner", "tuner.SklearnTuner"),
    ("tuner.tuners", "SklearnTuner", "tuner.SklearnTuner"),
]


def resolve(dotted: str):
    """``a.b.C`` looked up attribute by attribute from the top package, as ``kt.a.b.C``."""
    value = importlib.import_module(dotted.split(".")[0])
    for part in dotted.split(".")[1:]:
        value = getattr(value, part)
    return value


@pytest.mark.parametrize(("module", "name", "expected"), LIGHT_PATHS + KERAS_PATHS)
def test_keras_tuner_path_is_tuners_own_object(module, name, expected):
    target = resolve(expected)
    # As `from module import name`...
    assert getattr(importlib.import_module(module), name) is target
    # ... and as attributes from the top package (`kt.engine.hyperparameters.Int`).
    assert resolve(f"{module}.{name}") is target


def test_engine_lists_keras_tuners_submodules_and_rejects_others():
    assert {"base_tuner", "hyperparameters", "oracle", "trial", "tuner"} <= set(dir(kt.engine))
    with pytest.raises(AttributeError, match=r"tuner\.engine.*conditions"):
        kt.engine.conditions  # noqa: B018


def test_applications_rejects_unknown_names():
    with pytest.raises(AttributeError, match="HyperVGG"):
        kt.applications.HyperVGG  # noqa: B018


def test_deprecated_sklearn_name_warns_and_is_a_sklearn_tuner(tmp_path):
    from sklearn.linear_model import Ridge

    from tuner.tuners.sklearn_tuner import Sklearn

    oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("score", "max"), max_trials=1)
    with pytest.warns(DeprecationWarning, match="SklearnTuner"):
        tuner = Sklearn(
            oracle=oracle,
            hypermodel=lambda hp: Ridge(alpha=hp.Float("alpha", 0.1, 1.0)),
            directory=str(tmp_path),
        )
    assert isinstance(tuner, kt.SklearnTuner)


# --- serialize / deserialize -------------------------------------------------------------------


def every_type() -> list[kt.engine.hyperparameters.HyperParameter]:
    hp = hp_module.HyperParameters()
    hp.Int("units", 8, 64, step=8, default=16)
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    hp.Choice("activation", ["relu", "tanh"], default="tanh")
    hp.Boolean("batch_norm", default=True)
    hp.Fixed("epochs", 3)
    with hp.conditional_scope("activation", ["relu"]):
        hp.Float("dropout", 0.0, 0.5, step=0.1)
    return hp.space


@pytest.mark.parametrize("hp", every_type(), ids=lambda hp: hp.name)
def test_serialize_round_trips_each_hyperparameter_through_json(hp):
    config = json.loads(json.dumps(hp_module.serialize(hp)))
    assert config == {"class_name": hp.type_name, "config": hp.get_config()}
    restored = hp_module.deserialize(config)
    assert type(restored) is type(hp)
    assert restored.get_config() == hp.get_config()


def test_serialize_round_trips_a_whole_space_with_its_values():
    hps = hp_module.HyperParameters()
    hps.Int("layers", 1, 3)
    with hps.conditional_scope("layers", [2, 3]):
        hps.Int("units_2", 8, 32, step=8)
    hps.values["layers"] = 2
    hps.values["units_2"] = 24
    config = json.loads(json.dumps(hp_module.serialize(hps)))
    assert config["class_name"] == "HyperParameters"
    restored = hp_module.deserialize(config)
    assert isinstance(restored, kt.HyperParameters)
    assert restored.values == {"layers": 2, "units_2": 24}
    assert restored.get_config() == hps.get_config()


def test_deserialize_reads_keras_3_serialization_with_extra_keys():
    config = {
        "module": "keras_tuner.src.engine.hyperparameters.hp_types.choice_hp",
        "class_name": "Choice",
        "config": {
            "name": "optimizer",
            "default": "adam",
            "conditions": [],
            "values": ["adam", "sgd"],
            "ordered": False,
        },
        "registered_name": "Choice",
    }
    restored = hp_module.deserialize(config)
    assert isinstance(restored, hp_module.Choice)
    assert restored.values == ["adam", "sgd"] and restored.default == "adam"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"class_name": "Dense", "config": {}}, "Dense"),
        ({"config": {}}, "class_name"),
        ("Int", "class_name"),
    ],
)
def test_deserialize_rejects_what_is_not_a_hyperparameter(bad, message):
    with pytest.raises(SearchSpaceError, match=message):
        hp_module.deserialize(bad)


def test_serialize_rejects_other_objects():
    with pytest.raises(TypeError, match="dict"):
        hp_module.serialize({"name": "units"})


# --- infer_metric_direction --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "direction"),
    [
        ("val_accuracy", "max"),
        ("acc", "max"),
        ("loss", "min"),
        ("val_loss", "min"),
        ("mean_absolute_error", "min"),
        ("weighted_binary_accuracy", "max"),
        ("val_auc", "max"),
        ("some_custom_score", None),
    ],
)
def test_infer_metric_direction_from_names(metric, direction):
    assert kt.engine.metrics_tracking.infer_metric_direction(metric) == direction


@pytest.mark.keras
def test_infer_metric_direction_from_keras_objects_and_functions():
    import keras

    infer = kt.engine.metrics_tracking.infer_metric_direction
    assert infer(keras.metrics.AUC()) == "max"
    assert infer(keras.metrics.CategoricalAccuracy()) == "max"
    assert infer(keras.metrics.TruePositives()) == "max"
    assert infer(keras.metrics.MeanSquaredError()) == "min"
    assert infer(keras.losses.BinaryCrossentropy()) == "min"
    assert infer(keras.losses.mean_squared_error) == "min"
    assert infer(keras.metrics.binary_accuracy) == "max"
    assert infer(lambda y_true, y_pred: 0.0) is None


# --- synchronized ------------------------------------------------------------------------------


class ConcurrencyProbe:
    """Counts how many threads are inside the probed section at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most_inside = 0
        self.calls = 0

    def enter(self) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        time.sleep(0.002)  # Let another thread run here, if it can.
        self.calls += 1
        self.inside -= 1


class ProbedOracle(kt.oracles.RandomSearchOracle):
    """An oracle whose overrides are decorated, as keras-tuner's docs show."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.probe = ConcurrencyProbe()

    @kt.synchronized
    def create_trial(self, tuner_id):
        self.probe.enter()
        return super().create_trial(tuner_id)

    @kt.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        self.probe.enter()
        return super().update_trial(trial_id, metrics, step)

    @kt.synchronized
    def end_trial(self, trial, status=None):
        self.probe.enter()
        self.probed_status()  # a decorated method calling another one: re-entrant
        return super().end_trial(trial, status)

    @kt.synchronized
    def probed_status(self):
        return self.probe.inside


def run_threads(target, count: int, timeout: float = 30.0) -> None:
    errors: list[BaseException] = []

    def guarded(index):
        try:
            target(index)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a thread is stuck: the lock deadlocked"
    assert not errors, errors


def test_synchronized_runs_one_thread_at_a_time_on_one_oracle():
    oracle = ProbedOracle(objective=kt.Objective("score", "max"), max_trials=40, seed=0)
    oracle.update_space(one_float_space())

    def worker(index):
        for _ in range(4):
            trial = oracle.create_trial(f"worker{index}")
            if trial.status != kt.TrialStatus.RUNNING:
                return
            oracle.update_trial(trial.trial_id, {"score": float(index)})
            # keras-tuner's old signature end_trial(trial_id, status) still goes through.
            oracle.end_trial(trial.trial_id, "COMPLETED")

    run_threads(worker, count=6)
    assert oracle.probe.most_inside == 1
    completed = [t for t in oracle.trials.values() if t.status == kt.TrialStatus.COMPLETED]
    assert len(completed) == 24 and oracle.probe.calls == 3 * 24


def one_float_space() -> kt.HyperParameters:
    hps = kt.HyperParameters()
    hps.Float("x", 0.0, 1.0)
    return hps


def test_an_undecorated_base_method_waits_for_a_synchronized_one():
    release = threading.Event()
    entered = threading.Event()

    class Holding(kt.oracles.RandomSearchOracle):
        @kt.synchronized
        def hold(self):
            entered.set()
            release.wait(10)

    oracle = Holding(objective="loss", max_trials=2)
    holder = threading.Thread(target=oracle.hold)
    holder.start()
    assert entered.wait(10)
    got = threading.Event()
    reader = threading.Thread(target=lambda: (oracle.get_best_trials(), got.set()))
    reader.start()
    assert not got.wait(0.2), "the base class's method ran while a synchronized one held the lock"
    release.set()
    holder.join(10)
    reader.join(10)
    assert got.is_set()


def test_synchronized_calls_on_different_oracles_do_not_block_each_other():
    release = threading.Event()
    entered = threading.Event()

    class Holding:  # not an Oracle: gets a lock of its own
        @kt.synchronized
        def hold(self):
            entered.set()
            return release.wait(10)

        @kt.synchronized
        def quick(self):
            return "done"

    first, second = Holding(), Holding()
    holder = threading.Thread(target=first.hold)
    holder.start()
    assert entered.wait(10)
    result = []
    other = threading.Thread(target=lambda: result.append(second.quick()))
    other.start()
    other.join(5)
    assert result == ["done"], "a call on another object was blocked"
    blocked = threading.Thread(target=lambda: result.append(first.quick()))
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive(), "a second call on the same object ran concurrently"
    release.set()
    holder.join(10)
    blocked.join(10)
    assert result == ["done", "done"]


def test_synchronized_keeps_the_method_name_and_rejects_non_callables():
    assert ProbedOracle.create_trial.__name__ == "create_trial"
    with pytest.raises(TypeError, match="method"):
        kt.synchronized(3)


def test_synchronized_on_an_unlockable_self_says_so():
    @kt.synchronized
    def method(self):
        return self

    with pytest.raises(TypeError, match="int"):
        method(3)
