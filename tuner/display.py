"""Console progress of a search, written as a search callback. Never persisted.

On a terminal (``verbose=1``) a compact live panel sits at the bottom of the screen: trial k of
N (or of the grid size), a progress bar, the elapsed time and an ETA, the running trial's values
and the best score so far with its trial. Keras' per-step progress bar animates inside the
panel; each finished line (Keras' line per epoch, the user's prints) scrolls above it, and one
line per finished trial stays in the scroll-back.

Elsewhere (CI logs, notebooks, files) or with ``verbose=2`` the same information comes as plain
lines without cursor movement, using keras-tuner's phrases ("Running Trial #3", "Best val_loss
So Far"), so existing log greps keep working. ``verbose=0`` prints nothing.

The ``verbose`` value is also passed to Keras' ``fit``, whose own progress bar therefore shows
with ``verbose=1`` and ``verbose=2`` (one line per epoch).
"""

from __future__ import annotations

import collections
import io
import itertools
import statistics
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuner.callbacks import SearchCallback
from tuner.trial import TrialStatus

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from tuner.search import BaseTuner
    from tuner.trial import Trial

#: One live display per process: a second concurrent search (a tuner thread) prints plain lines,
#: since two live panels would overwrite each other's lines.
_LIVE_SLOT = threading.Lock()


def format_clock(seconds: float | None) -> str:
    """``3725`` -> ``"1:02:05"``; ``None`` -> ``"?"``."""
    if seconds is None:
        return "?"
    seconds = max(round(seconds), 0)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def format_seconds(seconds: float) -> str:
    """A trial's duration: ``0.31`` -> ``"0.31s"``, ``75`` -> ``"0:01:15"``."""
    return f"{seconds:.2g}s" if seconds < 10 else format_clock(seconds)


def format_value(value: Any) -> str:
    """A hyperparameter value or score, short enough for a table cell."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_values(values: Mapping[str, Any]) -> str:
    """``{"units": 32, "lr": 0.001}`` -> ``"units=32, lr=0.001"``."""
    return ", ".join(f"{name}={format_value(value)}" for name, value in values.items())


def _last_line(message: str | None) -> str:
    lines = (message or "").strip().splitlines()
    return lines[-1].strip() if lines else ""


@dataclass(frozen=True)
class _Snapshot:
    """What the display shows of the oracle's state, as of the last search event."""

    finished: int = 0
    total: int | None = None
    recorded_trial_seconds: float | None = None
    best_score: str | None = None
    best_trial_id: str | None = None
    objective_name: str = "score"


class _TrialTally:
    """Finished trials and their recorded durations, counted incrementally.

    A snapshot is taken at every trial's begin and end; a pass over every trial each time would
    make a long search's per-trial cost grow with its length. A finished trial never runs
    again, so each trial is read until it is seen finished, and only new and still-running
    trials are read afterwards. A different trials mapping (a reloaded oracle, a remote one)
    is counted afresh.
    """

    def __init__(self) -> None:
        self._reset(None)

    def _reset(self, source: Mapping[str, Any] | None) -> None:
        self._source = source
        #: How many of the source's trials (in insertion order) have been looked at.
        self._seen = 0
        #: Ids of trials looked at but not finished yet.
        self._pending: set[str] = set()
        self.finished = 0
        self._durations_total = 0.0
        self._durations_count = 0

    def update(self, trials: Mapping[str, Trial]) -> None:
        """Counts what changed in ``trials`` (the oracle's dict) since the last call."""
        if trials is not self._source or len(trials) < self._seen:
            self._reset(trials)
        if len(trials) > self._seen:  # trials are added in order: read only the new ones
            self._pending.update(itertools.islice(trials, self._seen, None))
            self._seen = len(trials)
        for trial_id in list(self._pending):
            trial = trials.get(trial_id)
            if trial is not None and trial.status.is_finished:
                self._pending.discard(trial_id)
                self.finished += 1
                if trial.duration is not None:
                    self._durations_total += trial.duration
                    self._durations_count += 1

    @property
    def mean_duration(self) -> float | None:
        """Mean duration of the finished trials that recorded one (None: none did)."""
        if not self._durations_count:
            return None
        return self._durations_total / self._durations_count


class _LineCapture(io.TextIOBase):
    r"""``sys.stdout`` while the live panel is shown.

    Whole lines are printed above the panel. The line being written, which progress bars such
    as Keras' redraw in place with ``"\r"``, is kept in :attr:`partial` and shown inside the
    panel, so it animates there instead of leaving one line per redraw in the scroll-back.
    """

    def __init__(self, console: Console, original: Any):
        self._console = console
        self.original = original
        #: The text after the last newline, as a terminal would show it (after the last "\r").
        self.partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        from rich.text import Text

        with self._lock:
            *lines, rest = (self.partial + text).split("\n")
            self.partial = rest.rsplit("\r", 1)[-1]
        for line in lines:
            self._console.print(Text.from_ansi(line.rsplit("\r", 1)[-1]), soft_wrap=True)
        return len(text)

    def finish(self) -> None:
        """Prints what is left of an unfinished line."""
        if self.partial.strip():
            from rich.text import Text

            self._console.print(Text.from_ansi(self.partial), soft_wrap=True)
        self.partial = ""

    def flush(self) -> None:
        """Nothing to do: lines are printed as they end."""

    def isatty(self) -> bool:
        return True  # progress bars keep redrawing in place, which the panel shows

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", None) or "utf-8"

    def fileno(self) -> int:
        return self.original.fileno()


class ConsoleDisplay(SearchCallback):
    """Shows a search's progress: live on a terminal, as plain lines elsewhere.

    Args:
        verbose: 0 prints nothing; 1 (default) shows the live panel on a terminal and plain
            lines elsewhere; 2 always prints plain lines.
        console: The ``rich`` console to write to. Defaults to one on ``sys.stdout`` as it is
            when the search begins (so redirections and captured output are honoured).
        clock: Returns seconds (monotonic); elapsed times and the ETA are measured with it.

    Example:
        >>> display = ConsoleDisplay(verbose=0)  # silent
    """

    def __init__(
        self,
        verbose: int | str = 1,
        console: Console | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.verbose = verbose
        self._given_console = console
        self._clock = clock
        self._console: Console | None = None
        self._live: Any = None
        self._capture: _LineCapture | None = None
        self._holds_live_slot = False
        self._search_start: float | None = None
        self._trial_start: float | None = None
        self._tuner: BaseTuner | None = None
        self._current: Trial | None = None
        #: Seconds taken by each trial that finished in this search call.
        self._durations: list[float] = []
        self._values_shown = True
        self._snapshot = _Snapshot()
        self._tally = _TrialTally()

    # --- what to show ----------------------------------------------------------------------------
    @property
    def _level(self) -> int:
        if self.verbose == "auto":
            return 1
        try:
            return int(self.verbose)
        except (TypeError, ValueError):
            return 1

    def _take_snapshot(self) -> None:
        """Reads the oracle's state for the display; called on the search's own thread.

        The live panel is redrawn from another thread, which must not read the oracle while
        the search changes it (nor call a remote oracle several times a second).
        """
        oracle = self._tuner.oracle if self._tuner is not None else None
        if oracle is None or self._level <= 0:  # nothing is shown: skip the work
            return
        trials = getattr(oracle, "trials", None) or {}
        remaining = getattr(oracle, "remaining_trials", None)
        self._tally.update(trials)
        best = oracle.get_best_trials(1)
        self._snapshot = _Snapshot(
            finished=self._tally.finished,
            total=None if remaining is None else len(trials) + remaining,
            recorded_trial_seconds=self._tally.mean_duration,
            best_score=format_value(best[0].score) if best else None,
            best_trial_id=best[0].trial_id if best else None,
            objective_name=oracle.objective.name,
        )

    def _counts(self) -> tuple[int, int | None]:
        """(finished trials, total trials or None when unbounded) of the search so far."""
        return self._snapshot.finished, self._snapshot.total

    def _expected_trial_seconds(self) -> float | None:
        """Typical seconds per trial: this run's trials, else those recorded in the project."""
        if self._durations:
            return statistics.fmean(self._durations)
        return self._snapshot.recorded_trial_seconds

    def eta_seconds(self) -> float | None:
        """Seconds until the search ends, from the mean trial duration (None when unknown)."""
        finished, total = self._counts()
        per_trial = self._expected_trial_seconds()
        if total is None or per_trial is None:
            return None
        left = max(total - finished, 0) * per_trial
        if self._current is not None and self._trial_start is not None:
            left -= min(self._clock() - self._trial_start, per_trial)
        return max(left, 0.0)

    def elapsed_seconds(self) -> float:
        """Seconds since the search (this call of ``search``) began."""
        return 0.0 if self._search_start is None else self._clock() - self._search_start

    def _best(self) -> tuple[str, str] | None:
        """(score text, trial id) of the best trial so far."""
        snapshot = self._snapshot
        if snapshot.best_score is None or snapshot.best_trial_id is None:
            return None
        return snapshot.best_score, snapshot.best_trial_id

    def _objective_name(self) -> str:
        return self._snapshot.objective_name

    def _position(self) -> str:
        finished, total = self._counts()
        number = finished + (1 if self._current is not None else 0)
        return f"{number} of {total}" if total else str(number)

    # --- output ----------------------------------------------------------------------------------
    def _open_console(self) -> Console:
        if self._given_console is not None:
            return self._given_console
        from rich.console import Console  # rich is a Keras dependency; imported on first use

        return Console(file=sys.stdout, highlight=False, soft_wrap=True)

    def _print(self, text: str) -> None:
        if self._console is not None:
            # Plain lines are never wrapped by rich: log readers and greps see whole lines.
            self._console.print(text, markup=False, highlight=False, soft_wrap=self._live is None)

    def __rich__(self) -> RenderableType:
        """The live panel, rebuilt at each refresh so the clocks tick."""
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        finished, total = self._counts()
        header = Table.grid(padding=(0, 1))
        header.add_column(no_wrap=True)
        header.add_column(width=30)
        header.add_column(no_wrap=True)
        title = Text(f"Trial {self._position()}", style="bold")
        bar = ProgressBar(total=total, completed=finished, width=30)
        clocks = Text(
            f"elapsed {format_clock(self.elapsed_seconds())} · ETA "
            f"{format_clock(self.eta_seconds())}",
            style="dim",
        )
        header.add_row(title, bar, clocks)
        lines: list[Any] = [header]
        if self._current is not None:
            running = self._clock() - (self._trial_start or self._clock())
            current = Text("  running ", style="dim")
            current.append(f"trial {self._current.trial_id}", style="cyan")
            current.append(f" ({format_clock(running)})  ", style="dim")
            current.append(format_values(self._current.hyperparameters.values))
            current.no_wrap, current.overflow = True, "ellipsis"
            lines.append(current)
        best = self._best()
        if best is not None:
            line = Text("  best ", style="dim")
            line.append(f"{self._objective_name()} {best[0]}", style="bold green")
            line.append(f"  trial {best[1]}", style="dim")
            lines.append(line)
        capture = self._capture
        if capture is not None and capture.partial.strip():
            drawing = Text.from_ansi(capture.partial)
            drawing.no_wrap, drawing.overflow = True, "ellipsis"
            lines.append(drawing)
        grid = Table.grid()
        for line in lines:
            grid.add_row(line)
        return grid

    # --- the callback ----------------------------------------------------------------------------
    def on_search_begin(self, tuner: BaseTuner) -> None:
        self._tuner = tuner
        self._search_start = self._clock()
        self._durations = []
        self._current = None
        self._take_snapshot()
        if self._level <= 0:
            return
        self._console = self._open_console()
        if self._level == 1 and self._console.is_terminal and self._live is None:
            self._start_live()

    def _start_live(self) -> None:
        if not _LIVE_SLOT.acquire(blocking=False):
            return
        self._holds_live_slot = True
        from rich.live import Live

        console = self._console
        assert console is not None
        # Pin the console to the real stream before sys.stdout is replaced below.
        console.file = console.file
        self._live = Live(
            self,
            console=console,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=False,  # replaced by _LineCapture, which keeps the line being drawn
            redirect_stderr=True,
        )
        try:
            self._live.start()
        except Exception:  # another live display of rich is active: fall back to plain lines
            self._live = None
            self._release_live_slot()
            return
        self._capture = _LineCapture(console, sys.stdout)
        sys.stdout = self._capture

    def _release_live_slot(self) -> None:
        if self._holds_live_slot:
            self._holds_live_slot = False
            _LIVE_SLOT.release()

    def on_trial_begin(self, tuner: BaseTuner, trial: Trial) -> None:
        self._tuner = tuner
        self._take_snapshot()
        self._current = trial
        self._trial_start = self._clock()
        if self._level <= 0 or self._live is not None:
            return
        retry = f" (retry {trial.retries})" if trial.retries else ""
        values = trial.hyperparameters.values
        # Define-by-run: a first trial's values are only known once its model is built.
        self._values_shown = bool(values)
        shown = f" · {format_values(values)}" if values else ""
        self._print(
            f"Search: Running Trial #{self._position()} (id {trial.trial_id}){retry}{shown} · "
            f"elapsed {format_clock(self.elapsed_seconds())} · ETA "
            f"{format_clock(self.eta_seconds())}"
        )

    def on_trial_end(self, tuner: BaseTuner, trial: Trial) -> None:
        duration = self._clock() - (self._trial_start or self._clock())
        self._current = None
        if trial.status != TrialStatus.RUNNING:  # RUNNING: queued for a retry, not finished
            self._durations.append(duration)
        self._take_snapshot()
        if self._level <= 0:
            return
        objective = self._objective_name()
        took = format_seconds(duration)
        if trial.status == TrialStatus.RUNNING:
            outcome = f"Trial {trial.trial_id} failed, will retry: {_last_line(trial.message)}"
        elif trial.status in (TrialStatus.FAILED, TrialStatus.INVALID):
            outcome = (
                f"Trial {trial.trial_id} {trial.status.value} [{took}]: "
                f"{_last_line(trial.message)}"
            )
        else:
            outcome = (
                f"Trial {trial.trial_id} Complete [{took}] · {objective}: "
                f"{format_value(trial.score)}"
            )
        best = self._best()
        if best is not None:
            outcome += f" · Best {objective} So Far: {best[0]} (trial {best[1]})"
        if self._live is not None:
            mark = "✓" if trial.status == TrialStatus.COMPLETED else "✗"
            self._print(f"{mark} {outcome} · {format_values(trial.hyperparameters.values)}")
        else:
            if not self._values_shown:
                outcome += f" · {format_values(trial.hyperparameters.values)}"
            self._print(
                f"{outcome} · elapsed {format_clock(self.elapsed_seconds())} · ETA "
                f"{format_clock(self.eta_seconds())}"
            )

    def on_search_end(self, tuner: BaseTuner) -> None:
        self.close()
        if self._level <= 0:
            return
        trials = getattr(tuner.oracle, "trials", None) or {}
        by_status = collections.Counter(t.status.value.lower() for t in trials.values())
        counts = ", ".join(f"{count} {status}" for status, count in sorted(by_status.items()))
        line = (
            f"Search done: {len(trials)} trials ({counts}) · Total elapsed time: "
            f"{format_clock(self.elapsed_seconds())}"
        )
        best = self._best()
        if best is not None:
            line += f" · Best {self._objective_name()}: {best[0]} (trial {best[1]})"
        self._print(line)

    def on_search_interrupted(self, tuner: BaseTuner, error: BaseException) -> None:
        # An error or Ctrl-C must not leave the live panel holding the terminal.
        self.close()

    def close(self) -> None:
        """Stops the live panel, if one is shown (safe to call several times)."""
        live, self._live = self._live, None
        capture, self._capture = self._capture, None
        try:
            if capture is not None:
                if sys.stdout is capture:
                    sys.stdout = capture.original
                capture.finish()
            if live is not None:
                live.stop()
        finally:
            self._release_live_slot()
