"""Search-level callbacks: hooks on the search and trial life cycle (not Keras callbacks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuner.search import BaseTuner
    from tuner.trial import Trial


class SearchCallback:
    """Receives the events of a search. Override the methods you need; each does nothing here.

    Keras callbacks passed to ``search(callbacks=[...])`` act inside each ``fit``; a
    ``SearchCallback`` sees whole trials. Pass them as ``search_callbacks=[...]`` to a tuner, or
    add one with ``tuner.add_search_callback(cb)``.

    Where each method runs: ``on_search_begin``, ``on_search_end`` and ``on_search_interrupted``
    in the search process; ``on_trial_begin`` and ``on_trial_end`` where the trial loop runs.
    With Ray workers (``workers=kt.RayWorkers(...)``) each worker gets a copy of the callbacks,
    pickled after ``on_search_begin`` ran on the driver (what it set there travels), so a
    callback must be picklable and should open connections lazily, in the process using them.

    Example:
        >>> class PrintScores(SearchCallback):
        ...     def on_trial_end(self, tuner, trial):
        ...         print(trial.trial_id, trial.status, trial.score)
    """

    def on_search_begin(self, tuner: BaseTuner) -> None:
        """The search starts (or resumes)."""

    def on_search_end(self, tuner: BaseTuner) -> None:
        """The search ended normally."""

    def on_search_interrupted(self, tuner: BaseTuner, error: BaseException) -> None:
        """The search stopped on ``error`` (an exception, Ctrl-C); ``on_search_end`` is not called.

        Release what the callback holds here (a terminal, a run of a tracking server). The
        error is raised again once every callback has seen it.
        """

    def on_trial_begin(self, tuner: BaseTuner, trial: Trial) -> None:
        """A trial is about to run."""

    def on_trial_end(self, tuner: BaseTuner, trial: Trial) -> None:
        """A trial ended (completed, failed, invalid, or queued for a retry)."""
