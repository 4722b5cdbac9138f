"""keras-tuner 1.4 behaviour of the Keras Tuner: reloading every kind of model, training hooks,
oversized models, damaged checkpoints and the public attributes keras-tuner users reach for."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import tuner as kt  # noqa: E402
from tuner.trial import TrialStatus  # noqa: E402

pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")[:240]
    y = y.astype("float32")[:240]
    return x[:160], y[:160], x[160:], y[160:]


class TwoLayerNet(keras.Model):
    """A subclassed model: it has no weights until its first call."""

    def __init__(self, units: int):
        super().__init__()
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(1, activation="sigmoid")

    def call(self, inputs):
        return self.out(self.hidden(inputs))


def _compiled(model, hp):
    model.compile(
        keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
        "binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def build_subclassed(hp):
    return _compiled(TwoLayerNet(hp.Int("units", 8, 16, step=8)), hp)


def build_sequential_without_input(hp):
    layers = [keras.layers.Dense(hp.Int("units", 8, 16, step=8), activation="relu"),
              keras.layers.Dense(1, activation="sigmoid")]  # fmt: skip
    return _compiled(keras.Sequential(layers), hp)


def build_functional(hp):
    inputs = keras.Input((30,))
    hidden = keras.layers.Dense(hp.Int("units", 8, 16, step=8), activation="relu")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(hidden)
    return _compiled(keras.Model(inputs, outputs), hp)


def build_sequential(hp):
    return _compiled(
        keras.Sequential([keras.Input((30,)),
                          keras.layers.Dense(hp.Int("units", 8, 16, step=8), activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")]),
        hp,
    )  # fmt: skip


# --- 1. every kind of model comes back with its checkpoint's weights ---------------------------
@pytest.mark.parametrize(
    "build", [build_subclassed, build_sequential_without_input, build_functional]
)
def test_best_model_of_any_kind_is_rebuilt_with_the_checkpoint_weights(tmp_path, data, build):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=1, seed=2,
                            directory=str(tmp_path), project_name="p")  # fmt: skip
    tuner.search(x, y, validation_data=(xv, yv), epochs=2, batch_size=32, verbose=0)
    trial = tuner.oracle.get_best_trials(1)[0]

    model = tuner.get_best_models()[0]

    assert model.built and model.count_params() > 0  # usable at once, like a trained model
    checkpoint = tmp_path / "p" / "checkpoints" / trial.trial_id / "weights.npz"
    with np.load(checkpoint) as archive:
        saved = [archive[f"arr_{i}"] for i in range(len(model.get_weights()))]
        assert sum(name.startswith("arr_") for name in archive.files) == len(saved)
    for loaded, stored in zip(model.get_weights(), saved, strict=True):
        np.testing.assert_array_equal(loaded, stored)
    # The best epoch's weights: the rebuilt model scores exactly what the trial scored.
    assert model.evaluate(xv, yv, verbose=0)[0] == pytest.approx(trial.score, rel=1e-5)
    # ...and predicts like a model built by hand and given the same weights.
    by_hand = build(trial.hyperparameters.copy())
    by_hand(xv[:1])
    by_hand.set_weights(saved)
    np.testing.assert_allclose(
        model.predict(xv, verbose=0), by_hand.predict(xv, verbose=0), rtol=1e-6
    )


def test_a_model_that_no_longer_fits_its_checkpoint_names_the_file(tmp_path, data):
    x, y, xv, yv = data
    widths = {"units": 8}

    def build(hp):
        hp.Fixed("lr", 0.01)
        return _compiled(TwoLayerNet(widths["units"]), hp)

    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=1,
                            directory=str(tmp_path), project_name="p")  # fmt: skip
    tuner.search(x, y, validation_data=(xv, yv), epochs=1, verbose=0)
    widths["units"] = 12  # the model-building code changed after the search
    with pytest.raises(kt.errors.FatalValueError, match=r"weights\.npz do not fit the model"):
        tuner.get_best_models()


# --- 2. keras-tuner's training hooks -----------------------------------------------------------
class RecordingTuner(kt.RandomSearch):
    """A custom tuner as in keras.io's guide: it overrides the four training hooks."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def on_epoch_begin(self, trial, model, epoch, logs=None):
        self.calls.append(("epoch_begin", trial.trial_id, id(model), epoch))

    def on_epoch_end(self, trial, model, epoch, logs=None):
        assert isinstance(model, keras.Model)
        self.calls.append(("epoch_end", trial.trial_id, id(model), epoch, sorted(logs)))
        logs["val_error"] = 1.0 - logs["val_accuracy"]  # a metric computed by the hook

    def on_batch_begin(self, trial, model, batch, logs=None):
        self.calls.append(("batch_begin", trial.trial_id, id(model), batch))

    def on_batch_end(self, trial, model, batch, logs=None):
        assert "loss" in logs
        self.calls.append(("batch_end", trial.trial_id, id(model), batch))


def test_overridden_training_hooks_see_every_epoch_and_batch_of_every_execution(tmp_path, data):
    x, y, xv, yv = data
    tuner = RecordingTuner(build_sequential, objective="val_error", max_trials=1, seed=1,
                           executions_per_trial=2, directory=str(tmp_path))  # fmt: skip
    tuner.search(x, y, validation_data=(xv, yv), epochs=2, batch_size=80, verbose=0)

    (trial,) = tuner.oracle.trials.values()
    assert trial.status == TrialStatus.COMPLETED
    calls = tuner.calls
    assert {call[1] for call in calls} == {trial.trial_id}
    models = list(dict.fromkeys(call[2] for call in calls))
    assert len(models) == 2  # one fresh model per execution, each seen by every hook
    metrics = ["accuracy", "loss", "val_accuracy", "val_loss"]
    per_execution = []
    for epoch in (0, 1):
        per_execution.append(("epoch_begin", epoch))
        for batch in (0, 1):  # 160 rows, batch_size=80
            per_execution += [("batch_begin", batch), ("batch_end", batch)]
        per_execution.append(("epoch_end", epoch, metrics))
    for model in models:
        seen = [(c[0], *c[3:]) for c in calls if c[2] == model]
        assert seen == per_execution
    # The metric the hook added to logs reached the oracle: it is the objective.
    assert len(trial.metrics.get_history("val_error")) == 2
    assert trial.score == pytest.approx(np.mean([e["score"] for e in trial.executions]))
    assert 0.0 <= trial.score <= 1.0


def test_batch_events_are_forwarded_only_when_a_batch_hook_is_overridden(tmp_path, data):
    x, y, xv, yv = data
    base = keras.callbacks.Callback
    forwarding = {}

    class Model(kt.HyperModel):
        def build(self, hp):
            return build_sequential(hp)

        def fit(self, hp, model, *args, callbacks=None, **kwargs):
            forwarding[self.tuner_name] = [
                type(c).on_train_batch_begin is not base.on_train_batch_begin
                or type(c).on_train_batch_end is not base.on_train_batch_end
                for c in callbacks
            ]
            return model.fit(*args, callbacks=callbacks, **kwargs)

    class EpochOnly(kt.RandomSearch):
        def on_epoch_end(self, trial, model, epoch, logs=None):
            pass

    class BatchEnd(kt.RandomSearch):
        def on_batch_end(self, trial, model, batch, logs=None):
            pass

    for cls in (kt.RandomSearch, EpochOnly, BatchEnd):
        hypermodel = Model()
        hypermodel.tuner_name = cls.__name__
        tuner = cls(hypermodel, objective="val_loss", max_trials=1,
                    directory=str(tmp_path), project_name=cls.__name__)  # fmt: skip
        tuner.search(x, y, validation_data=(xv, yv), epochs=1, verbose=0)
    assert forwarding == {
        "RandomSearch": [False, False],
        "EpochOnly": [False, False],
        "BatchEnd": [True, False],
    }


# --- 3. oversized models fail their trial ------------------------------------------------------
def test_a_search_whose_every_model_is_oversized_fails_and_says_why(tmp_path, data):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(build_sequential, objective="val_loss", max_trials=10, seed=0,
                            max_model_size=100, directory=str(tmp_path))  # fmt: skip
    with pytest.raises(kt.errors.TooManyFailedTrialsError):
        tuner.search(x, y, validation_data=(xv, yv), epochs=1, verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 3  # max_consecutive_failed_trials' default
    for trial in trials:
        units = trial.values["units"]
        assert trial.status == TrialStatus.FAILED
        assert f"Oversized model: {30 * units + units + units + 1} parameters" in trial.message
        assert "max_model_size=100" in trial.message
        assert not trial.metrics.metrics  # never trained


def test_max_model_size_and_distribution_strategy_are_checked(tmp_path):
    for bad in (0, -5, 2.5, "100", True):
        with pytest.raises(ValueError, match="max_model_size must be None or a positive"):
            kt.RandomSearch(build_sequential, objective="val_loss", max_model_size=bad,
                            directory=str(tmp_path))  # fmt: skip
    with pytest.raises(TypeError, match=r"distribution_strategy must be.*'mirrored'"):
        kt.RandomSearch(build_sequential, objective="val_loss",
                        distribution_strategy="mirrored", directory=str(tmp_path))  # fmt: skip


# --- 4. a damaged checkpoint -------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["truncated", "garbage", "npy"])
def test_a_damaged_checkpoint_names_the_file_and_the_remedy(tmp_path, data, damage):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(build_sequential, objective="val_loss", max_trials=1,
                            directory=str(tmp_path), project_name="p")  # fmt: skip
    tuner.search(x, y, validation_data=(xv, yv), epochs=1, verbose=0)
    (trial_id,) = tuner.oracle.trials
    path = tmp_path / "p" / "checkpoints" / trial_id / "weights.npz"
    content = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(content[: len(content) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    else:
        with open(path, "wb") as handle:
            np.save(handle, np.zeros(3))

    with pytest.raises(kt.errors.CorruptProjectFileError) as raised:
        tuner.get_best_models()
    message = str(raised.value)
    assert str(path) in message and "damaged" in message
    assert "Restore it from a backup, or delete it" in message
    assert isinstance(raised.value, kt.errors.StorageError)


# --- 5. the public surface keras-tuner users call ----------------------------------------------
def test_keras_tuner_attributes_and_methods(tmp_path, data, capsys):
    x, y, xv, yv = data
    optimizer = keras.optimizers.Adam(0.01)
    tuner = kt.RandomSearch(build_sequential, objective="val_loss", max_trials=2, seed=4,
                            executions_per_trial=1, max_model_size=10_000, optimizer=optimizer,
                            loss="binary_crossentropy", metrics=["accuracy"], tuner_id="chief",
                            directory=str(tmp_path), project_name="p")  # fmt: skip
    assert (tuner.executions_per_trial, tuner.max_model_size) == (1, 10_000)
    assert tuner.optimizer is optimizer and tuner.loss == "binary_crossentropy"
    assert tuner.metrics == ["accuracy"] and tuner.distribution_strategy is None
    assert tuner.tuner_id == "chief" and tuner.project_dir == str(tmp_path / "p")
    assert isinstance(tuner.oracle, kt.Oracle) and isinstance(tuner.hypermodel, kt.HyperModel)

    tuner.search_space_summary(extended=False)
    assert "Default search space size: 2" in capsys.readouterr().out
    tuner.search(x, y, validation_data=(xv, yv), epochs=1, verbose=0)
    tuner.results_summary(num_trials=1)
    out = capsys.readouterr().out
    assert "Results summary" in out and out.count("Score:") == 1
    best_hp = tuner.get_best_hyperparameters(num_trials=2)
    assert len(best_hp) == 2 and "units" in best_hp[0].values
    best_trial = tuner.oracle.get_best_trials(1)[0]
    model = tuner.load_model(best_trial)
    assert model.evaluate(xv, yv, verbose=0)[0] == pytest.approx(best_trial.score, rel=1e-5)

    tuner.save()
    again = kt.RandomSearch(build_sequential, objective="val_loss", max_trials=2,
                            directory=str(tmp_path), project_name="p")  # fmt: skip
    again.reload()
    assert set(again.oracle.trials) == set(tuner.oracle.trials)
    assert again.get_best_hyperparameters()[0].values == best_hp[0].values


@pytest.mark.parametrize("kind", ["history", "dict", "number", "list"])
def test_a_custom_run_trial_may_return_what_keras_tuner_accepts(tmp_path, data, kind):
    x, y, xv, yv = data

    class CustomTuner(kt.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            model = self.hypermodel.build(hp)
            history = model.fit(*args, **kwargs)
            self.save_model(trial.trial_id, model)
            val_loss = float(history.history["val_loss"][-1])
            return {
                "history": history,
                "dict": {"val_loss": val_loss, "note": "not a number"},
                "number": val_loss,
                "list": [{"val_loss": val_loss}, {"val_loss": val_loss + 1.0}],
            }[kind]

    oracle = kt.oracles.RandomSearchOracle(kt.Objective("val_loss", "min"), max_trials=1)
    tuner = CustomTuner(oracle, build_subclassed, directory=str(tmp_path), project_name="p")
    tuner.search(x, y, validation_data=(xv, yv), epochs=1, verbose=0)
    (trial,) = tuner.oracle.trials.values()
    assert trial.status == TrialStatus.COMPLETED
    model = tuner.get_best_models()[0]  # the subclassed model saved by save_model
    val_loss = model.evaluate(xv, yv, verbose=0)[0]
    expected = val_loss + 0.5 if kind == "list" else val_loss
    assert trial.score == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kind", ["tf.distribute", "keras.distribution"])
def test_a_distribution_strategy_scopes_building_training_and_reloading(tmp_path, data, kind):
    x, y, xv, yv = data
    if kind == "tf.distribute":
        if keras.backend.backend() != "tensorflow":
            pytest.skip("tf.distribute needs the TensorFlow backend")
        import tensorflow as tf

        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")

        def active():
            return tf.distribute.get_strategy() is strategy
    else:
        strategy = keras.distribution.DataParallel()

        def active():
            return keras.distribution.distribution() is strategy

    seen = []

    class Model(kt.HyperModel):
        def build(self, hp):
            seen.append(("build", active()))
            return build_sequential(hp)

        def fit(self, hp, model, *args, **kwargs):
            seen.append(("fit", active()))
            return model.fit(*args, **kwargs)

    tuner = kt.RandomSearch(Model(), objective="val_loss", max_trials=1,
                            distribution_strategy=strategy, directory=str(tmp_path))  # fmt: skip
    assert tuner.distribution_strategy is strategy
    tuner.search(x, y, validation_data=(xv, yv), epochs=1, verbose=0)
    model = tuner.get_best_models()[0]
    assert seen == [("build", True), ("fit", True), ("build", True)]  # the trial, the reload
    assert not active()
    (trial,) = tuner.oracle.trials.values()
    assert model.evaluate(xv, yv, verbose=0)[0] == pytest.approx(trial.score, rel=1e-5)


def test_a_promoted_trial_whose_parent_checkpoint_is_damaged_fails_once(tmp_path, data):
    x, y, xv, yv = data
    damaged = []

    class DamagingHyperband(kt.Hyperband):
        def on_trial_begin(self, trial):
            parent = trial.budget.parent_trial_id if trial.budget is not None else None
            if parent is not None and not damaged:
                path = tmp_path / "p" / "checkpoints" / parent / "weights.npz"
                path.write_bytes(path.read_bytes()[:100])
                damaged.append((trial.trial_id, path))
            super().on_trial_begin(trial)

    tuner = DamagingHyperband(build_sequential, objective="val_loss", max_epochs=3, factor=3,
                              seed=1, max_retries_per_trial=2, directory=str(tmp_path),
                              project_name="p")  # fmt: skip
    tuner.search(x, y, validation_data=(xv, yv), epochs=3, verbose=0)
    ((child_id, path),) = damaged
    child = tuner.oracle.trials[child_id]
    assert child.status == TrialStatus.FAILED
    assert "cannot start from the weights of trial" in child.message
    assert f"The checkpoint {path} is damaged" in child.message
    assert child.retries == 0  # the same file would fail again: no retry
    assert any(t.status == TrialStatus.COMPLETED for t in tuner.oracle.trials.values())
