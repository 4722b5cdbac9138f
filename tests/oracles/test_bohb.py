"""BOHBOracle: Hyperband's schedule, new configurations from a TPE model fitted per budget."""

from __future__ import annotations

import json
import math
import statistics
import zlib
from typing import Any

import pytest

from tuner.hyperparameters import HyperParameters
from tuner.oracles import AsyncSuccessiveHalvingOracle, BOHBOracle, HyperbandOracle
from tuner.oracles.hyperband import objective_at_step
from tuner.storage import JsonDirStorage
from tuner.trial import Trial, TrialStatus


def space() -> HyperParameters:
    hp = HyperParameters()
    hp.Float("x", 0.0, 1.0)
    hp.Float("y", 0.0, 1.0)
    hp.Choice("act", ["relu", "tanh", "elu"])
    return hp


def final_loss(values: dict[str, Any]) -> float:
    """The converged loss: a narrow basin at x=0.8, y=0.25, act="tanh"."""
    penalty = {"relu": 0.3, "tanh": 0.0, "elu": 0.15}[values["act"]]
    return 4 * (values["x"] - 0.8) ** 2 + 4 * (values["y"] - 0.25) ** 2 + penalty


def loss_at(values: dict[str, Any], epoch: int) -> float:
    """A learning curve whose early epochs predict the final ranking (with a little noise)."""
    key = json.dumps([values["x"], values["y"], values["act"], epoch]).encode()
    noise = (zlib.crc32(key) / 2**32 - 0.5) * 0.02
    return final_loss(values) + 1.0 / (epoch + 1) + noise


def run(oracle, stop_after: int | None = None) -> list[Trial]:
    """Drives the oracle one trial at a time on :func:`loss_at` (at most ``stop_after``)."""
    created = []
    while stop_after is None or len(created) < stop_after:
        trial = oracle.create_trial("worker")
        if trial.status == TrialStatus.STOPPED:
            break
        created.append(trial)
        for epoch in range(trial.budget.initial_epoch, trial.budget.epochs):
            oracle.update_trial(trial.trial_id, {"loss": loss_at(trial.values, epoch)}, step=epoch)
        trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
    return created


def configurations(trials) -> list[dict[str, Any]]:
    return [dict(t.hyperparameters.values) for t in trials]


def final_regret(oracle) -> float:
    best = oracle.get_best_trials(1)[0]
    return final_loss(best.hyperparameters.values) - 0.0


def test_a_full_search_keeps_hyperbands_schedule_and_finds_the_basin():
    bohb = BOHBOracle(objective="loss", max_epochs=9, factor=3, seed=1, hyperparameters=space())
    hyperband = HyperbandOracle(
        objective="loss", max_epochs=9, factor=3, seed=1, hyperparameters=space()
    )
    bohb_trials, hb_trials = run(bohb), run(hyperband)
    # Same brackets, rounds and budgets, trial by trial.
    budgets = [(t.budget.epochs, t.budget.initial_epoch, t.budget.bracket) for t in bohb_trials]
    assert budgets == [
        (t.budget.epochs, t.budget.initial_epoch, t.budget.bracket) for t in hb_trials
    ]
    assert bohb.remaining_trials == 0
    assert bohb.model_budget() == 9  # three brackets trained configurations to 9 epochs
    # The model proposed some of the new configurations (not Hyperband's random draws).
    assert configurations(bohb_trials) != configurations(hb_trials)
    best = bohb.get_best_trials(1)[0]
    assert best.budget.epochs == 9
    assert final_loss(best.values) < 0.25


def test_proposals_stay_within_the_space_and_are_never_repeated():
    oracle = BOHBOracle(
        objective="loss",
        max_epochs=9,
        seed=3,
        hyperparameters=space(),
        hyperband_iterations=2,
        random_fraction=0.0,
    )
    trials = run(oracle)
    new = [t for t in trials if not t.budget.round]
    assert len({json.dumps(configurations([t]), sort_keys=True) for t in new}) == len(new)
    for trial in trials:
        assert 0.0 <= trial.values["x"] <= 1.0 and 0.0 <= trial.values["y"] <= 1.0
        assert trial.values["act"] in ("relu", "tanh", "elu")


def test_before_enough_observations_it_proposes_exactly_what_hyperband_does():
    # Never enough data: the whole search is Hyperband's, configuration for configuration.
    never = BOHBOracle(
        objective="loss", max_epochs=9, seed=5, hyperparameters=space(), min_points_in_model=99
    )
    hyperband = HyperbandOracle(objective="loss", max_epochs=9, seed=5, hyperparameters=space())
    assert never.model_budget() is None
    assert configurations(run(never)) == configurations(run(hyperband))

    # The default (3 tuned dimensions + 1 = 4 points): the first 4 are Hyperband's, then the
    # model (at budget 1 epoch) takes over for the non-random fraction.
    default = BOHBOracle(objective="loss", max_epochs=9, seed=5, hyperparameters=space())
    first = run(default, stop_after=4)
    assert configurations(first) == configurations(list(hyperband.trials.values())[:4])
    assert default.model_budget() == 1
    rest = run(default, stop_after=5)
    assert configurations(rest) != configurations(list(hyperband.trials.values())[4:9])


def test_state_round_trips_through_json():
    oracle = BOHBOracle(objective="loss", max_epochs=9, seed=2, hyperparameters=space())
    run(oracle, stop_after=7)
    state = json.loads(json.dumps(oracle.get_state()))
    other = BOHBOracle(objective="loss", max_epochs=9, seed=2, hyperparameters=space())
    other.set_state(state)
    assert other.get_state() == oracle.get_state()
    assert oracle.get_config()["random_fraction"] == pytest.approx(1 / 3)


def test_a_resumed_search_proposes_what_an_uninterrupted_one_does(tmp_path):
    def make() -> BOHBOracle:
        return BOHBOracle(
            objective="loss", max_epochs=9, seed=8, hyperparameters=space(), random_fraction=0.2
        )

    expected = configurations(run(make()))
    first = make()
    first.attach_storage(JsonDirStorage(tmp_path / "p"))
    run(first, stop_after=11)  # past the point where the model takes over
    resumed = make()
    assert resumed.attach_storage(JsonDirStorage(tmp_path / "p")) is True
    run(resumed)
    got = sorted(resumed.trials.values(), key=lambda t: t.trial_id)
    assert configurations(got) == expected


def test_the_model_uses_the_largest_budget_with_enough_observations():
    oracle = BOHBOracle(
        objective="loss", max_epochs=9, seed=4, hyperparameters=space(), min_points_in_model=3
    )
    run(oracle, stop_after=9)  # bracket 0's round 0: nine configurations at 1 epoch
    assert oracle.model_budget() == 1
    run(oracle, stop_after=3)  # its round 1: three of them continued to 3 epochs
    assert oracle.model_budget() == 3
    at_three = [
        t for t in oracle.trials.values() if objective_at_step(t, oracle.objective, 2) is not None
    ]
    assert len(at_three) == 3


def test_bad_arguments_name_the_culprit():
    with pytest.raises(ValueError, match="random_fraction"):
        BOHBOracle(objective="loss", random_fraction=1.5)
    with pytest.raises(ValueError, match="min_points_in_model"):
        BOHBOracle(objective="loss", min_points_in_model=0)


def test_bohb_beats_hyperbands_median_final_regret_when_early_epochs_predict():
    def regret(cls, seed: int, **extra: Any) -> float:
        oracle = cls(
            objective="loss",
            max_epochs=9,
            factor=3,
            hyperband_iterations=3,
            seed=seed,
            hyperparameters=space(),
            **extra,
        )
        run(oracle)
        return final_regret(oracle)

    seeds = range(8)
    bohb = statistics.median(regret(BOHBOracle, seed) for seed in seeds)
    hyperband = statistics.median(regret(HyperbandOracle, seed) for seed in seeds)
    assert math.isfinite(bohb)
    assert bohb < 0.75 * hyperband, (bohb, hyperband)


def run_asha(oracle) -> list[Trial]:
    """Drives ASHA one trial at a time: it stops a trial at a rung by answering STOPPED."""
    created = []
    while (trial := oracle.create_trial("worker")).status == TrialStatus.RUNNING:
        created.append(trial)
        for epoch in range(trial.budget.initial_epoch, trial.budget.epochs):
            loss = loss_at(trial.values, epoch)
            if oracle.update_trial(trial.trial_id, {"loss": loss}, step=epoch) == "STOPPED":
                break
        if trial.status == TrialStatus.RUNNING:
            trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
    return created


def asha(sampler: str, seed: int) -> AsyncSuccessiveHalvingOracle:
    return AsyncSuccessiveHalvingOracle(
        objective="loss",
        max_trials=60,
        max_epochs=9,
        seed=seed,
        hyperparameters=space(),
        sampler=sampler,
    )


def test_asha_random_sampler_is_unchanged_and_tpe_sampler_uses_the_model():
    random_trials = run_asha(asha("random", 6))
    default = AsyncSuccessiveHalvingOracle(
        objective="loss", max_trials=60, max_epochs=9, seed=6, hyperparameters=space()
    )
    assert configurations(run_asha(default)) == configurations(random_trials)
    tpe = asha("tpe", 6)
    tpe_trials = run_asha(tpe)
    # Before enough results (4 at one rung) the proposals are ASHA's random ones.
    assert configurations(tpe_trials[:4]) == configurations(random_trials[:4])
    assert configurations(tpe_trials) != configurations(random_trials)
    assert tpe.get_config()["sampler"] == "tpe"
    with pytest.raises(ValueError, match="sampler"):
        AsyncSuccessiveHalvingOracle(objective="loss", sampler="gp")


def test_asha_with_the_tpe_sampler_beats_random_asha_over_seeds():
    def regret(sampler: str, seed: int) -> float:
        oracle = asha(sampler, seed)
        run_asha(oracle)
        return final_regret(oracle)

    seeds = range(8)
    tpe = statistics.median(regret("tpe", seed) for seed in seeds)
    random = statistics.median(regret("random", seed) for seed in seeds)
    assert tpe < 0.75 * random, (tpe, random)


@pytest.mark.keras
def test_the_bohb_tuner_trains_keras_models_on_hyperbands_budgets(tmp_path):
    import numpy as np

    import tuner as kt

    keras = pytest.importorskip("keras")

    def build_model(hp):
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(hp.Int("units", 2, 16), activation="relu"),
             keras.layers.Dense(1)]
        )  # fmt: skip
        model.compile(optimizer=keras.optimizers.SGD(hp.Float("lr", 1e-3, 0.1)), loss="mse")
        return model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    search = kt.BOHB(
        build_model, objective="val_loss", max_epochs=3, factor=3, seed=1,
        min_points_in_model=2, directory=tmp_path, project_name="bohb",
    )  # fmt: skip
    search.search(x, y, validation_split=0.25, verbose=0, batch_size=16)
    trials = list(search.oracle.trials.values())
    assert isinstance(search.oracle, BOHBOracle)
    assert {t.values["tuner/epochs"] for t in trials} == {1, 3}
    assert all(t.status == TrialStatus.COMPLETED for t in trials)
    assert search.oracle.model_budget() == 3
    assert search.get_best_models(1)[0] is not None


def test_several_objectives_rank_by_their_signed_sum_at_the_budget():
    from tuner.objective import Objective

    oracle = BOHBOracle(
        objective=[Objective("loss", "min"), Objective("score", "max")],
        max_epochs=9,
        seed=0,
        hyperparameters=space(),
        min_points_in_model=3,
    )
    while (trial := oracle.create_trial("w")).status == TrialStatus.RUNNING:
        for epoch in range(trial.budget.initial_epoch, trial.budget.epochs):
            loss = loss_at(trial.values, epoch)
            oracle.update_trial(trial.trial_id, {"loss": loss, "score": -loss}, step=epoch)
        trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
    assert len(oracle.trials) == 23
    budget, ranked = oracle._choose_budget(3)
    sums = [2 * loss_at(t.values, budget - 1) for t in ranked]
    assert budget == 9 and sums == sorted(sums)
