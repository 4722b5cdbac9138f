"""The progress display: plain lines off a terminal, a live panel on one, silent at verbose=0."""

from __future__ import annotations

import io
import re
import sys
from typing import Any

import pytest
from rich.console import Console

import tuner as kt
from tuner import display
from tuner.display import ConsoleDisplay
from tuner.errors import FatalError


def without_styles(text: str) -> str:
    """The text without ANSI colour and cursor sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


class FakeClock:
    """A clock that only moves when told to, so elapsed times and ETAs are exact."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class StepTuner(kt.BaseTuner):
    """Each trial takes 10 fake seconds; trial 02 fails; an optional trial raises FatalError."""

    def __init__(
        self,
        *args: Any,
        clock: FakeClock | None = None,
        fatal_at: str = "",
        chatty: bool = True,
        **kwargs: Any,
    ):
        self.clock = clock
        self.fatal_at = fatal_at
        self.chatty = chatty
        super().__init__(*args, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        x = trial.hyperparameters.Float("x", 0.0, 1.0)
        units = trial.hyperparameters.Choice("units", [8, 16])
        if self.clock is not None:
            self.clock.now += 10
        if self.chatty:
            print(f"user output of trial {trial.trial_id}")
        if trial.trial_id == self.fatal_at:
            raise FatalError("the data went away")
        if trial.trial_id == "02":
            raise ValueError("diverged")
        return {"loss": (x - 0.3) ** 2 + units / 100}


def make_tuner(tmp_path, max_trials: int = 4, **kwargs: Any) -> StepTuner:
    return StepTuner(
        kt.oracles.RandomSearchOracle("loss", max_trials=max_trials, seed=5),
        directory=str(tmp_path),
        project_name="display",
        **kwargs,
    )


def test_plain_lines_when_stdout_is_not_a_terminal(tmp_path, capsys):
    search = make_tuner(tmp_path)
    search.search(verbose=1)
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # no colours, no cursor movement
    lines = out.splitlines()
    begins = [line for line in lines if line.startswith("Search: Running Trial #")]
    assert [line.split()[3] for line in begins] == ["#1", "#2", "#3", "#4"]
    assert all(" of 4 (id " in line and "ETA" in line and "elapsed" in line for line in begins)
    assert "x=" in begins[1] and "units=" in begins[1]  # values known once the space is
    best = search.oracle.get_best_trials(1)[0]
    assert "Trial 00 Complete [" in out and f"(trial {best.trial_id})" in lines[-1]
    assert "Trial 02 FAILED [" in out and "ValueError: diverged" in out
    assert "Best loss So Far:" in out
    assert lines[-1].startswith("Search done: 4 trials (3 completed, 1 failed)")
    assert "user output of trial 01" in out


def test_verbose_0_prints_nothing(tmp_path, capsys):
    make_tuner(tmp_path, chatty=False).search(verbose=0)
    assert capsys.readouterr().out == ""


def test_elapsed_time_and_eta_come_from_the_trials_durations(tmp_path):
    clock = FakeClock()
    search = make_tuner(tmp_path, clock=clock)
    buffer = io.StringIO()
    search.add_search_callback(
        ConsoleDisplay(verbose=2, console=Console(file=buffer), clock=clock)
    )
    search.search(verbose=0)  # the tuner's own display stays silent
    begins = [line for line in buffer.getvalue().splitlines() if line.startswith("Search:")]
    assert begins[0].endswith("elapsed 0:00:00 · ETA ?")  # nothing measured yet
    assert begins[1].endswith("elapsed 0:00:10 · ETA 0:00:30")  # 3 trials of 10 s left
    assert begins[3].endswith("elapsed 0:00:30 · ETA 0:00:10")
    assert "Total elapsed time: 0:00:40" in buffer.getvalue()


def test_a_grid_search_counts_to_the_grid_size(tmp_path, capsys):
    class GridTuner(kt.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            return {"loss": hp.Choice("a", [1, 2, 3]) + hp.Boolean("b")}

    hp = kt.HyperParameters()
    hp.Choice("a", [1, 2, 3])
    hp.Boolean("b")
    search = GridTuner(
        kt.oracles.GridSearchOracle("loss", hyperparameters=hp),
        directory=str(tmp_path),
        project_name="grid",
    )
    search.search(verbose=2)
    out = capsys.readouterr().out
    assert "Running Trial #1 of 6 " in out and "Running Trial #6 of 6 " in out


def test_live_panel_on_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich treats the captured stdout as a terminal
    stdout = sys.stdout
    search = make_tuner(tmp_path)
    search.search(verbose=1)
    styled = capsys.readouterr().out
    assert sys.stdout is stdout
    assert "\x1b[2K" in styled and "\x1b[?25h" in styled  # redrawn in place; cursor shown again
    out = without_styles(styled)
    assert "Trial 4 of 4" in out and "ETA" in out
    assert "running trial 01" in out and "best loss" in out
    assert "user output of trial 01" in out  # printed above the panel
    assert "✓ Trial 00 Complete" in out and "✗ Trial 02 FAILED" in out
    assert out.rstrip().splitlines()[-1].startswith("Search done: 4 trials")
    assert "Search: Running Trial" not in out  # no plain lines besides the live panel


def test_an_error_ends_the_live_panel_and_gives_back_the_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    stdout = sys.stdout
    search = make_tuner(tmp_path, fatal_at="01")
    with pytest.raises(FatalError, match="the data went away"):
        search.search(verbose=1)
    assert sys.stdout is stdout
    assert display._LIVE_SLOT.acquire(blocking=False)  # released for the next search
    display._LIVE_SLOT.release()
    search.oracle.max_trials = 2
    search.fatal_at = ""
    search.search(verbose=1)  # a later search shows its panel again
    assert "Trial 2 of 2" in capsys.readouterr().out


def test_a_second_concurrent_search_prints_plain_lines(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert display._LIVE_SLOT.acquire(blocking=False)  # as if another search showed its panel
    try:
        make_tuner(tmp_path).search(verbose=1)
    finally:
        display._LIVE_SLOT.release()
    out = capsys.readouterr().out
    assert "Search: Running Trial #1 of 4" in out and "\x1b[2K" not in out


def test_a_bar_redrawn_in_place_leaves_only_its_final_line():
    buffer = io.StringIO()
    capture = display._LineCapture(Console(file=buffer), original=sys.__stdout__)
    capture.write("\r 1/3 ━━")
    capture.flush()
    capture.write("\b\b\b\r 2/3 ━━━━")
    assert capture.partial == " 2/3 ━━━━" and buffer.getvalue() == ""  # shown in the panel
    capture.write("\r 3/3 ━━━━━━ done\nEpoch 2/2\n")
    assert buffer.getvalue() == " 3/3 ━━━━━━ done\nEpoch 2/2\n" and capture.partial == ""
    capture.write("no newline yet")
    capture.finish()
    assert buffer.getvalue().endswith("no newline yet\n")


@pytest.mark.keras
def test_keras_epoch_progress_shows_above_the_live_panel(tmp_path, capsys, monkeypatch):
    import keras
    import numpy as np

    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")

    def build_model(hp):
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(hp.Int("units", 8, 16, step=8)),
                keras.layers.Dense(1),
            ]
        )
        model.compile("adam", "mse")
        return model

    search = kt.RandomSearch(
        build_model, objective="val_loss", max_trials=2, seed=1, directory=str(tmp_path)
    )
    search.search(x, y, epochs=2, validation_data=(x, y), verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "/step" in out and "val_loss:" in out  # Keras' own per-epoch bar, final state
    assert "Trial 2 of 2" in out and "Search done: 2 trials (2 completed)" in out


def test_a_trial_event_reads_only_new_and_running_trials(monkeypatch):
    """The display's per-trial cost must not grow with the number of trials (issue 2's floor)."""
    from types import SimpleNamespace

    from tuner.trial import TrialStatus

    oracle = kt.oracles.RandomSearchOracle(objective="loss", max_trials=2000, seed=0)
    oracle.hyperparameters.Float("x", 0.0, 1.0)

    def run_one():
        trial = oracle.create_trial("tuner0")
        oracle.update_trial(trial.trial_id, {"loss": trial.hyperparameters.values["x"]})
        trial.status = TrialStatus.COMPLETED
        return trial

    for _ in range(1500):  # a long search already run (in memory: no files)
        oracle.end_trial(run_one())
    shown = ConsoleDisplay(verbose=2)  # plain lines (verbose=0 shows nothing, reads nothing)
    search = SimpleNamespace(oracle=oracle)
    shown.on_search_begin(search)
    assert shown._counts() == (1500, 2000)

    reads = []
    original = TrialStatus.is_finished
    monkeypatch.setattr(
        TrialStatus,
        "is_finished",
        property(lambda status: reads.append(1) or original.fget(status)),
    )
    trial = run_one()
    shown.on_trial_begin(search, trial)
    oracle.end_trial(trial)
    shown.on_trial_end(search, trial)
    assert len(reads) <= 10  # the new trial's, not one per trial of the search
    assert shown._counts() == (1501, 2000)
