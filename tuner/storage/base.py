"""The storage interface: six methods and a lock (and three with defaults)."""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from typing import Any

from tuner.trial import Trial

#: Version of every JSON document tuner writes. Readers refuse documents of a newer version.
FORMAT_VERSION = 1


class Storage(abc.ABC):
    """Persists a project: its description, the oracle's state, and one record per trial.

    Contract:
        - One writer: only the process (or Ray actor) that owns the oracle calls the ``save_*``
          methods; calls are serialised by the oracle's lock, so implementations need no locking
          of their own.
        - Every ``save_*`` is atomic: after a crash at any instant, a reader sees either the old
          or the new document, never a mix.
        - ``load_*`` return plain JSON-compatible data (or trials built from it) and never
          execute code; a document that cannot be parsed raises ``CorruptProjectFileError``
          naming it, and one from a newer format raises ``FormatVersionError``.
        - Saves reach the disk in the order they were made. The only one that may be skipped is
          a :meth:`save_started_trial` whose trial is saved again before anything else.
        - The storage does not interpret the project or the oracle state: they are opaque dicts.

    Example:
        >>> from tuner.storage import InMemoryStorage
        >>> storage = InMemoryStorage()
        >>> storage.save_state({"seed": 1}); storage.load_state()
        {'seed': 1}
    """

    #: Where the project lives, for messages (a path, or a description).
    location: str = "memory"

    @abc.abstractmethod
    def load_project(self) -> dict[str, Any] | None:
        """The project description, or None for a new project."""

    @abc.abstractmethod
    def save_project(self, project: dict[str, Any]) -> None:
        """Writes the project description (objective, oracle class and config, search space)."""

    @abc.abstractmethod
    def load_state(self) -> dict[str, Any] | None:
        """The oracle's algorithm state, or None when never saved."""

    @abc.abstractmethod
    def save_state(self, state: dict[str, Any]) -> None:
        """Writes the oracle's algorithm state."""

    @abc.abstractmethod
    def load_trials(self) -> list[Trial]:
        """Every persisted trial, ordered by trial id."""

    @abc.abstractmethod
    def save_trial(self, trial: Trial) -> None:
        """Writes (or rewrites) one trial."""

    def save_started_trial(self, trial: Trial) -> None:
        """Writes a trial that has just started (RUNNING, no results yet).

        A storage may hold this write back briefly: until its next write (which writes it first,
        or replaces it when it is of the same trial), :meth:`flush`, or a short grace period. A
        trial lost in that window is simply proposed again on resume, and a trial that ends
        within it costs one write instead of two. The default writes at once.
        """
        self.save_trial(trial)

    def flush(self) -> None:  # noqa: B027 - a hook: most storages never hold a write back
        """Returns once every save so far is on disk (a no-op for storages that never wait)."""

    def clear(self) -> None:
        """Deletes the whole project, so that a new search starts afresh (``overwrite=True``).

        Called before :meth:`lock`, when the search is about to reload the project. A storage
        that cannot tell its own data from someone else's refuses with
        :class:`~tuner.errors.StorageError` rather than delete it.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot clear its project.")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Holds the project for exclusive use by this process; a no-op by default."""
        yield
