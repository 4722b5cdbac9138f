"""Console progress of a search, written as a search callback. Never persisted."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tuner.callbacks import SearchCallback
from tuner.trial import TrialStatus

if TYPE_CHECKING:
    from tuner.search import BaseTuner
    from tuner.trial import Trial


def format_duration(seconds: float) -> str:
    """``3725`` -> ``"01h 02m 05s"``."""
    seconds = round(seconds)
    return f"{seconds // 3600:02d}h {seconds % 3600 // 60:02d}m {seconds % 60:02d}s"


def format_value(value: Any) -> str:
    """A hyperparameter value or score, short enough for a table cell."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class ConsoleDisplay(SearchCallback):
    """Prints each trial's values (beside the best trial's), its outcome and the best score.

    Args:
        verbose: 0 prints nothing; 1 (default) prints a block per trial.

    Example:
        >>> display = ConsoleDisplay(verbose=0)  # silent
    """

    def __init__(self, verbose: int = 1):
        self.verbose = verbose
        self._search_start: float | None = None
        self._console: Any = None

    def _print(self, text: str = "") -> None:
        if self._console is None:
            from rich.console import Console  # rich is a Keras dependency; imported on first use

            self._console = Console(highlight=False, soft_wrap=True)
        self._console.print(text, markup=False)

    def on_search_begin(self, tuner: BaseTuner) -> None:
        self._search_start = time.time()

    def on_trial_begin(self, tuner: BaseTuner, trial: Trial) -> None:
        if not self.verbose:
            return
        total = tuner.oracle.max_trials
        remaining = tuner.oracle.remaining_trials
        if remaining is not None:
            total = len(tuner.oracle.trials) + remaining
        of_total = f" of {total}" if total else ""
        retry = f" (retry {trial.retries})" if trial.retries else ""
        self._print(f"\nSearch: Running Trial #{trial.trial_id}{of_total}{retry}\n")
        best = tuner.oracle.get_best_trials(1)
        best_values = best[0].hyperparameters.values if best else {}
        rows = [("Value", "Best Value So Far", "Hyperparameter")]
        for name, value in trial.hyperparameters.values.items():
            rows.append((format_value(value), format_value(best_values.get(name, "?")), name))
        width = max(18, *(len(r[0]) + 1 for r in rows))
        self._print("\n".join(f"{a:<{width}}|{b:<{width}}|{c}" for a, b, c in rows) + "\n")

    def on_trial_end(self, tuner: BaseTuner, trial: Trial) -> None:
        if not self.verbose:
            return
        elapsed = format_duration(
            (trial.end_time or time.time()) - (trial.start_time or time.time())
        )
        objective = tuner.oracle.objective
        if trial.status == TrialStatus.RUNNING:  # queued for a retry
            last_line = (trial.message or "").strip().splitlines()[-1:] or [""]
            self._print(f"Trial {trial.trial_id} failed, will retry: {last_line[0]}")
            return
        if trial.status in (TrialStatus.FAILED, TrialStatus.INVALID):
            last_line = (trial.message or "").strip().splitlines()[-1:] or [""]
            self._print(f"Trial {trial.trial_id} {trial.status.value} [{elapsed}]: {last_line[0]}")
        else:
            self._print(f"Trial {trial.trial_id} Complete [{elapsed}]")
            self._print(f"{objective.name}: {format_value(trial.score)}")
        best = tuner.oracle.get_best_trials(1)
        if best:
            self._print(f"\nBest {objective.name} So Far: {format_value(best[0].score)}")
        if self._search_start is not None:
            self._print(f"Total elapsed time: {format_duration(time.time() - self._search_start)}")
