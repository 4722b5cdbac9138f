"""The project directory: one JSON file per trial, written atomically.

The names of its files and folders are declared in :mod:`tuner.storage.layout`. Opened
read-only (for viewers: results, the command line, the TensorBoard export), the storage takes no
lock, creates nothing and refuses every save, so a project can be read while its search runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuner.errors import (
    CorruptProjectFileError,
    FormatVersionError,
    ProjectLockedError,
    StorageError,
)
from tuner.storage.base import FORMAT_VERSION, Storage
from tuner.storage.layout import (
    LOCK_FILE,
    PROJECT_FILE,
    STATE_FILE,
    TRIALS_DIR,
    ProjectLayout,
    looks_like_a_project,
    looks_like_keras_tuner,
)
from tuner.storage.writer import FileWriter, encode_json, write_atomic
from tuner.trial import Trial

__all__ = [
    "LOCK_FILE",
    "PROJECT_FILE",
    "STATE_FILE",
    "TRIALS_DIR",
    "JsonDirStorage",
    "Remedies",
    "read_json",
    "write_json_atomic",
]


def write_json_atomic(path: str | os.PathLike[str], document: dict[str, Any]) -> None:
    """Writes ``document`` as JSON to ``path`` so that a crash leaves the old or the new file.

    See :func:`tuner.storage.writer.write_atomic`: temporary file, fsync, atomic rename.
    """
    write_atomic(path, encode_json(document))


def read_json(path: str | os.PathLike[str], remedy: str) -> dict[str, Any]:
    """Reads a document written by :func:`write_json_atomic`, checking its format version.

    Args:
        path: The file.
        remedy: What the user can do if the file is damaged, for the error message.

    Raises:
        CorruptProjectFileError: The file is not a JSON object (torn, truncated, edited).
        FormatVersionError: The file was written by a newer version of tuner.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CorruptProjectFileError(
            f"The project file {path} is damaged and cannot be read ({error}). {remedy}"
        ) from None
    if not isinstance(document, dict):
        raise CorruptProjectFileError(
            f"The project file {path} does not hold a JSON object. {remedy}"
        )
    version = document.get("format_version")
    if not isinstance(version, int):
        raise CorruptProjectFileError(
            f"The project file {path} has no format_version, so it was not written by tuner. "
            f"{remedy}"
        )
    if version > FORMAT_VERSION:
        raise FormatVersionError(
            f"The project file {path} was written by a newer version of tuner (format "
            f"{version}; this version reads up to {FORMAT_VERSION}). Upgrade tuner "
            "(`pip install -U tuner`) to open this project."
        )
    return document


@dataclass(frozen=True)
class Remedies:
    """What an error about a damaged file tells the user to do, by file.

    The search (which can start afresh) and a viewer (which only reads) give different advice.
    """

    #: For ``project.json``.
    project: str
    #: For ``oracle.json``.
    state: str
    #: For a trial's record; ``{trial_id}`` is replaced by the trial's id.
    trial: str


_SEARCH_REMEDIES = Remedies(
    project="Pass overwrite=True to start a new search in this folder.",
    state=(
        "Delete it to rebuild the oracle's state from the trial files (the algorithm may repeat "
        "some of its progress), or pass overwrite=True to start afresh."
    ),
    trial=(
        "Delete this file to run trial {trial_id} again, or pass overwrite=True to start the "
        "search afresh."
    ),
)
_VIEWER_REMEDIES = Remedies(
    project="Restore it from a backup, or run the search again with overwrite=True.",
    state=_SEARCH_REMEDIES.state,
    trial="Delete it to run trial {trial_id} again when the search resumes.",
)


class JsonDirStorage(Storage):
    """Stores a project as JSON files in a directory (see :mod:`tuner.storage.layout`).

    Args:
        project_dir: ``<directory>/<project_name>``; created when missing.
        read_only: Open the project to view it: no lock is taken, nothing is created, and every
            save (and :meth:`clear`) raises :class:`~tuner.errors.StorageError`. The folder
            must hold a project (``project.json``).
        on_write: Called after each save with the path it (re)writes, relative to the project
            directory with ``/`` separators (``"trials/03.json"``), in the order of the saves,
            in the caller's thread. A :meth:`save_started_trial` may reach the disk only at the
            next write or :meth:`flush`.

    Raises:
        StorageError: ``read_only`` and the folder is not a tuner project (the message says
            what it is: missing, a file, a parent of projects, keras-tuner's).

    Example:
        >>> import tempfile
        >>> storage = JsonDirStorage(tempfile.mkdtemp())
        >>> storage.save_state({"seed": 3}); storage.load_state()
        {'seed': 3}
    """

    def __init__(
        self,
        project_dir: str | os.PathLike[str],
        *,
        read_only: bool = False,
        on_write: Callable[[str], None] | None = None,
    ):
        self.layout = ProjectLayout(Path(project_dir))
        self.project_dir = self.layout.root
        self.location = str(self.project_dir)
        self.read_only = read_only
        #: What damaged-file errors advise.
        self.remedies = _VIEWER_REMEDIES if read_only else _SEARCH_REMEDIES
        self._on_write = on_write
        self._writer = FileWriter()
        self._lock: Any = None
        #: Whether this storage made the trials folder (then it is not the user's, for clear()).
        self._made_trials_dir = False
        if read_only:
            if not self.layout.project_file.is_file():
                raise _not_a_project(self.project_dir)
        else:
            self._made_trials_dir = not self.layout.trials_dir.exists()
            self.layout.trials_dir.mkdir(parents=True, exist_ok=True)
            # Imported here, not at module level: it would add about a fifth to `import tuner`.
            import filelock

            self._lock = filelock.FileLock(str(self.layout.lock_file), timeout=0)

    # --- reading ---------------------------------------------------------------------------------
    def _strip(self, document: dict[str, Any]) -> dict[str, Any]:
        document = dict(document)
        document.pop("format_version", None)
        return document

    def load_project(self) -> dict[str, Any] | None:
        self._writer.flush()
        path = self.layout.project_file
        if not path.exists():
            return None
        return self._strip(read_json(path, self.remedies.project))

    def load_state(self) -> dict[str, Any] | None:
        self._writer.flush()
        path = self.layout.state_file
        if not path.exists():
            return None
        return self._strip(read_json(path, self.remedies.state))

    def trial_path(self, trial_id: str) -> Path:
        """The file of one trial."""
        return self.layout.trial_file(trial_id)

    def load_trials(self) -> list[Trial]:
        self._writer.flush()
        trials_dir = self.layout.trials_dir
        try:
            with os.scandir(trials_dir) as entries:
                names = sorted(e.name for e in entries if self.layout.is_trial_file_name(e.name))
        except FileNotFoundError:
            return []
        trials = []
        for name in names:
            path = trials_dir / name
            remedy = self.remedies.trial.format(trial_id=self.layout.trial_id_of(name))
            document = read_json(path, remedy)
            try:
                trials.append(Trial.from_dict(self._strip(document)))
            except (KeyError, TypeError, ValueError) as error:
                raise CorruptProjectFileError(
                    f"The trial file {path} is not a valid trial ({error!r}). {remedy}"
                ) from None
        return trials

    # --- writing ---------------------------------------------------------------------------------
    def save_project(self, project: dict[str, Any]) -> None:
        self._write(self.layout.project_file, {"format_version": FORMAT_VERSION, **project})

    def save_state(self, state: dict[str, Any]) -> None:
        self._write(self.layout.state_file, {"format_version": FORMAT_VERSION, **state})

    def save_trial(self, trial: Trial) -> None:
        self._write(self.trial_path(trial.trial_id), self._trial_document(trial))

    def save_started_trial(self, trial: Trial) -> None:
        """Writes a trial that has just started, within half a second (see :class:`FileWriter`)."""
        path = self.trial_path(trial.trial_id)
        self._refuse_if_read_only("save_started_trial")
        self._writer.write_later(path, self._trial_document(trial))
        self._notify(path)

    def flush(self) -> None:
        self._writer.flush()

    def clear(self) -> None:
        """Deletes the project (every entry of its folder but the lock), as ``overwrite=True``.

        Checks the folder first, then takes the lock while it deletes: call it before
        :meth:`lock`, so that a folder it refuses is left as it was (the lock file would be new
        in it; the empty trials folder this storage made is removed again).

        Raises:
            StorageError: The folder holds entries and none of them belongs to a project (a
                user's own files under a mistyped ``project_name``): nothing is deleted or
                created. Or the storage is read-only.
        """
        self._refuse_if_read_only("clear")
        root = self.project_dir
        if not root.exists():
            return
        entries = {entry.name for entry in root.iterdir()}
        trials_dir = self.layout.trials_dir
        made_empty_trials_dir = (
            self._made_trials_dir and trials_dir.is_dir() and not any(trials_dir.iterdir())
        )
        if made_empty_trials_dir:
            entries.discard(trials_dir.name)  # ours, from opening: it says nothing of the folder
        if not looks_like_a_project(entries):
            if made_empty_trials_dir:
                trials_dir.rmdir()
            raise StorageError(
                f"overwrite=True would delete {root}, which does not look like a tuner "
                "project. Choose another directory or project_name."
            )
        with self.lock():
            self._writer.flush()  # a record held back must not reappear after the deletion
            for entry in root.iterdir():
                if entry.name == LOCK_FILE:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            trials_dir.mkdir()
            self._made_trials_dir = True

    def _write(self, path: Path, document: dict[str, Any]) -> None:
        self._refuse_if_read_only("save")
        self._writer.write(path, document)
        self._notify(path)

    def _notify(self, path: Path) -> None:
        if self._on_write is not None:
            self._on_write(self.layout.relative(path))

    def _refuse_if_read_only(self, operation: str) -> None:
        if self.read_only:
            raise StorageError(
                f"The project {self.project_dir} was opened read-only (to view it), so "
                f"{operation} cannot change it. Run the search (a tuner with this directory and "
                "project_name) to write to the project."
            )

    @staticmethod
    def _trial_document(trial: Trial) -> dict[str, Any]:
        return {"format_version": FORMAT_VERSION, **trial.to_dict()}

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Holds ``<project_dir>/.lock`` (an OS file lock, released even on SIGKILL).

        Re-entrant within a thread. Read-only, it takes nothing: a viewer never keeps the search
        out.
        """
        if self.read_only:
            yield
            return
        import filelock

        self.project_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise ProjectLockedError(
                f"The project {self.project_dir} is in use by another search (the lock "
                f"{self._lock.lock_file} is held). Wait for it to finish, or give this search "
                "another project_name or directory."
            ) from None
        try:
            yield
        finally:
            try:
                self._writer.flush()  # whoever takes the project next finds every file written
            finally:
                self._lock.release()


# --- a folder that is not a project --------------------------------------------------------------
def _projects_inside(folder: Path) -> list[str]:
    """Subfolders of ``folder`` that are tuner projects (to suggest one)."""
    try:
        return sorted(
            entry.name for entry in folder.iterdir() if ProjectLayout(entry).project_file.is_file()
        )
    except OSError:
        return []


def _not_a_project(folder: Path) -> StorageError:
    """The error for viewing ``folder``, which has no ``project.json``: says what it is instead."""
    if not folder.exists():
        return StorageError(f"The project directory {folder} does not exist.")
    if not folder.is_dir():
        return StorageError(f"{folder} is a file, not a project directory.")
    inside = _projects_inside(folder)
    if inside:
        names = ", ".join(str(folder / name) for name in inside[:5])
        return StorageError(
            f"{folder} is not a tuner project but holds projects: {names}. Pass one of them "
            "(<directory>/<project_name>)."
        )
    if looks_like_keras_tuner(entry.name for entry in folder.iterdir()):
        return StorageError(
            f"{folder} was written by keras-tuner, whose format tuner does not read. Run the "
            "search again with tuner to inspect it here."
        )
    return StorageError(
        f"{folder} is not a tuner project directory (it has no {PROJECT_FILE}). Pass "
        "<directory>/<project_name>, the folder a search wrote."
    )
