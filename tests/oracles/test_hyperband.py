from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import SPACES, drive
from tuner.errors import FatalValueError
from tuner.hyperparameters import HyperParameters
from tuner.oracles import HyperbandOracle
from tuner.oracles.hyperband import hyperband_schedule
from tuner.storage import JsonDirStorage
from tuner.storage.json_dir import STATE_FILE
from tuner.trial import Trial, TrialStatus


def _oracle(**kwargs) -> HyperbandOracle:
    arguments = {"objective": "loss", "max_epochs": 9, "factor": 3, "seed": 3}
    arguments.update(kwargs)
    arguments.setdefault("hyperparameters", SPACES["all_types"]())
    return HyperbandOracle(**arguments)


def _report(oracle: HyperbandOracle, trial: Trial, loss: float) -> None:
    """Reports one loss per epoch of the trial's budget and completes it."""
    for epoch in range(trial.budget.initial_epoch, trial.budget.epochs):
        oracle.update_trial(trial.trial_id, {"loss": loss}, step=epoch)
    trial.status = TrialStatus.COMPLETED
    oracle.end_trial(trial)


def test_schedule_follows_li_et_al_with_keras_tuners_rounding():
    schedule = hyperband_schedule(27, 3)
    assert [[(r.size, r.epochs) for r in b.rounds] for b in schedule] == [
        [(27, 1), (9, 3), (3, 9), (1, 27)],
        [(12, 3), (4, 9), (2, 27)],
        [(6, 9), (2, 27)],
        [(4, 27)],
    ]
    assert [b.index for b in schedule] == [3, 2, 1, 0]
    # Warm starts: a promoted trial trains only the epochs its round adds.
    assert [b.epochs for b in schedule] == [81, 96, 90, 108]
    # A max_epochs that is no power of the factor still ends every bracket at max_epochs.
    for bracket in hyperband_schedule(25, 3):
        assert bracket.rounds[-1].epochs == 25


@pytest.mark.keras  # keras-tuner imports TensorFlow
def test_schedule_equals_keras_tuners():
    keras_tuner = pytest.importorskip("keras_tuner")
    for max_epochs in (1, 2, 3, 8, 9, 10, 25, 27, 50, 100, 243):
        for factor in (2, 3, 4):
            theirs = keras_tuner.oracles.HyperbandOracle(
                objective="loss", max_epochs=max_epochs, factor=factor
            )
            count = theirs._get_num_brackets()
            expected = [
                [(theirs._get_size(b, r), theirs._get_epochs(b, r)) for r in range(b + 1)]
                for b in reversed(range(count))
            ]
            ours = [
                [(r.size, r.epochs) for r in b.rounds]
                for b in hyperband_schedule(max_epochs, factor)
            ]
            assert ours == expected, (max_epochs, factor)


@pytest.mark.parametrize(
    ("arguments", "culprit"),
    [({"factor": 1}, "factor"), ({"max_epochs": 0}, "max_epochs"), ({"factor": 2.5}, "factor")],
)
def test_bad_arguments_are_named(arguments, culprit):
    with pytest.raises(ValueError, match=culprit):
        _oracle(**arguments)


def test_epochs_spent_never_exceed_the_schedule_and_no_trial_passes_max_epochs():
    oracle = _oracle(hyperband_iterations=2)
    assert oracle.remaining_trials == 2 * 23
    trials = drive(oracle)
    assert oracle.remaining_trials == 0
    assert sum(t.budget.epochs_to_train for t in trials) == oracle.total_epochs == 2 * 75
    assert max(t.budget.epochs for t in trials) == 9
    for trial in trials:
        steps = [o.step for o in trial.metrics.get_history("loss")]
        assert steps == list(range(trial.budget.initial_epoch, trial.budget.epochs))
    assert oracle.create_trial("late").status == TrialStatus.STOPPED


def test_each_round_promotes_the_best_of_the_previous_one():
    oracle = _oracle()
    trials = drive(oracle)
    by_id = {t.trial_id: t for t in trials}
    rounds: dict[tuple[int, int, int], list[Trial]] = {}
    for trial in trials:  # one iteration: a bracket is identified by its index
        rounds.setdefault((trial.budget.bracket, trial.budget.round, 0), []).append(trial)
    for (bracket, round_number, _), members in rounds.items():
        if round_number == 0:
            continue
        previous = sorted(rounds[(bracket, round_number - 1, 0)], key=lambda t: t.score)
        parents = [by_id[t.budget.parent_trial_id] for t in members]
        assert sorted(p.trial_id for p in parents) == sorted(
            p.trial_id for p in previous[: len(members)]
        )
        for child, parent in zip(members, parents, strict=True):
            assert child.budget.initial_epoch == parent.budget.epochs
            assert {k: v for k, v in child.values.items() if not k.startswith("tuner/")} == {
                k: v for k, v in parent.values.items() if not k.startswith("tuner/")
            }


def test_budget_is_visible_as_keras_tuner_values():
    oracle = _oracle()
    trials = drive(oracle)
    promoted = next(t for t in trials if t.budget.parent_trial_id is not None)
    assert promoted.values["tuner/epochs"] == promoted.budget.epochs == 3
    assert promoted.values["tuner/initial_epoch"] == 1
    assert promoted.values["tuner/bracket"] == 2
    assert promoted.values["tuner/round"] == 1
    assert promoted.values["tuner/trial_id"] == promoted.budget.parent_trial_id
    assert "tuner/trial_id" not in trials[0].values


def test_best_trial_is_the_most_trained_not_a_lucky_short_one():
    oracle = _oracle(max_epochs=3, hyperparameters=None)
    oracle.hyperparameters.Int("x", 0, 100)
    first = [oracle.create_trial("w") for _ in range(1)]
    _report(oracle, first[0], 0.1)  # lucky after 1 epoch
    for loss in (0.5, 0.6):
        _report(oracle, oracle.create_trial("w"), loss)
    promoted = oracle.create_trial("w")
    assert promoted.budget.parent_trial_id == first[0].trial_id
    _report(oracle, promoted, 0.3)  # the same configuration, trained to 3 epochs
    full = oracle.create_trial("w")  # bracket 0: trained 3 epochs from scratch
    _report(oracle, full, 0.2)
    best = oracle.get_best_trials(10)
    assert [t.trial_id for t in best[:2]] == [full.trial_id, promoted.trial_id]
    # Each configuration once, through its most-trained trial: the lucky parent is not listed.
    assert first[0].trial_id not in [t.trial_id for t in best]


def test_equally_trained_trials_are_ranked_by_their_last_epoch_not_a_lucky_one():
    oracle = _oracle(max_epochs=3, hyperparameters=None)
    oracle.hyperparameters.Int("x", 0, 100)
    for _ in range(4):  # bracket 1: three 1-epoch trials and one promotion
        trial = oracle.create_trial("w")
        _report(oracle, trial, 0.5)
    spiky, steady = oracle.create_trial("a"), oracle.create_trial("b")  # bracket 0: 3 epochs
    for epoch, (spike, flat) in enumerate([(0.9, 0.4), (0.1, 0.35), (0.6, 0.3)]):
        oracle.update_trial(spiky.trial_id, {"loss": spike}, step=epoch)
        oracle.update_trial(steady.trial_id, {"loss": flat}, step=epoch)
    for trial in (spiky, steady):
        trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
    assert spiky.score < steady.score  # its best epoch was a lucky one
    ranked = [t.trial_id for t in oracle.get_best_trials(10)]
    assert ranked.index(steady.trial_id) < ranked.index(spiky.trial_id)
    assert ranked[0] == steady.trial_id


def test_failed_trials_are_not_promoted_and_retries_hold_the_round():
    oracle = _oracle(max_epochs=3, max_retries_per_trial=1, max_consecutive_failed_trials=10)
    a, b = oracle.create_trial("a"), oracle.create_trial("b")
    _report(oracle, a, 0.9)
    b.status = TrialStatus.INVALID
    oracle.end_trial(b)  # retried: the round is not over
    c = oracle.create_trial("c")
    assert c.trial_id == b.trial_id
    assert oracle.create_trial("d").budget.round == 0  # round 0's third trial
    c.status = TrialStatus.FAILED  # final, retries left or not
    oracle.end_trial(c)
    d = oracle.ongoing_trials["d"]
    _report(oracle, d, 0.5)
    promoted = oracle.create_trial("a")
    assert promoted.budget.parent_trial_id == d.trial_id  # the failed trial never wins


def test_workers_wait_for_a_round_or_start_the_next_bracket():
    oracle = _oracle(max_epochs=3)  # brackets: 3 x 1 epoch then 1 x 3; and 2 x 3 epochs
    round_zero = [oracle.create_trial(f"w{i}") for i in range(3)]
    assert {t.budget.bracket for t in round_zero} == {1}
    # Round 0 is running: a fourth worker starts the next bracket instead of idling.
    other = [oracle.create_trial("w3"), oracle.create_trial("w4")]
    assert {t.budget.bracket for t in other} == {0}
    assert oracle.create_trial("w5").status == TrialStatus.IDLE  # nothing left to start
    for trial, loss in zip(round_zero, (0.3, 0.1, 0.2), strict=True):
        _report(oracle, trial, loss)
    promoted = oracle.create_trial("w5")
    assert promoted.budget.parent_trial_id == round_zero[1].trial_id
    for trial in [*other, promoted]:
        _report(oracle, trial, 0.4)
    assert oracle.create_trial("w0").status == TrialStatus.STOPPED


def test_warm_start_trial_ids_are_the_open_brackets_trials():
    oracle = _oracle(max_epochs=3)
    round_zero = [oracle.create_trial(f"w{i}") for i in range(3)]
    for trial in round_zero:
        _report(oracle, trial, 0.5)
    assert oracle.warm_start_trial_ids() == {t.trial_id for t in round_zero}
    promoted = oracle.create_trial("w0")
    _report(oracle, promoted, 0.4)  # the bracket is done: nothing to warm-start from
    assert oracle.warm_start_trial_ids() == set()


def _proposals(trials) -> list[tuple[str, dict, dict]]:
    return [(t.trial_id, dict(t.values), t.budget.to_dict()) for t in trials]


@pytest.mark.parametrize("crash_at", range(23))
def test_resume_when_killed_between_the_trial_file_and_the_state(tmp_path, crash_at):
    """A crash after a new trial's file is written but before oracle.json: the same search."""
    expected = _proposals(drive(_oracle()))

    first = _oracle()
    storage = JsonDirStorage(tmp_path / "p")
    first.attach_storage(storage)
    for _ in range(crash_at):
        trial = first.create_trial("w")
        _report(first, trial, _loss(trial))
    state_file = tmp_path / "p" / STATE_FILE
    before = state_file.read_bytes() if state_file.exists() else None
    first.create_trial("w")  # its trial file is written, then oracle.json
    if before is None:
        state_file.unlink()
    else:
        state_file.write_bytes(before)  # as if killed between the two writes

    resumed = _oracle()
    assert resumed.attach_storage(JsonDirStorage(tmp_path / "p")) is True
    got = []
    while (trial := resumed.create_trial("w")).status == TrialStatus.RUNNING:
        got.append(trial)
        _report(resumed, trial, _loss(trial))
    everything = sorted(resumed.trials.values(), key=lambda t: t.trial_id)
    assert _proposals(everything) == expected


def _loss(trial: Trial) -> float:
    from tests.conftest import quadratic

    return quadratic(dict(trial.values)) + 1.0 / trial.budget.epochs


def test_resume_refuses_another_schedule(tmp_path):
    oracle = _oracle()
    oracle.attach_storage(JsonDirStorage(tmp_path / "p"))
    _report(oracle, oracle.create_trial("w"), 0.5)
    with pytest.raises(FatalValueError, match="max_epochs=9"):
        _oracle(max_epochs=27).attach_storage(JsonDirStorage(tmp_path / "p"))


def test_state_is_small_json(tmp_path):
    oracle = _oracle(hyperband_iterations=3)
    oracle.attach_storage(JsonDirStorage(tmp_path / "p"))
    drive(oracle)
    state = json.loads((tmp_path / "p" / STATE_FILE).read_text())
    assert state["brackets"] == []  # finished brackets are not kept
    assert state["brackets_opened"] == 9
    shutil.rmtree(tmp_path / "p")


def test_a_small_space_ends_the_search():
    space = HyperParameters()
    space.Choice("a", [1, 2])
    oracle = HyperbandOracle("loss", max_epochs=9, factor=3, seed=0, hyperparameters=space)
    trials = drive(oracle)
    round_zero = [t for t in trials if t.budget.round == 0]
    assert len(round_zero) == 2  # only two configurations exist
    assert sum(t.budget.epochs_to_train for t in trials) <= oracle.total_epochs
