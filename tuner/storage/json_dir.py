"""The project directory: one JSON file per trial, written atomically.

Layout of ``<directory>/<project_name>/``:

- ``project.json``: format_version, objective, oracle class and config, search space.
- ``oracle.json``: the oracle's algorithm state (small; never the list of all trials).
- ``trials/<trial_id>.json``: one file per trial, rewritten on every status change.
- ``checkpoints/<trial_id>/`` and ``logs/<trial_id>/``: written by the Keras integration.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tuner.errors import CorruptProjectFileError, FormatVersionError, ProjectLockedError
from tuner.storage.base import FORMAT_VERSION, Storage
from tuner.storage.writer import FileWriter, encode_json, write_atomic
from tuner.trial import Trial

PROJECT_FILE = "project.json"
STATE_FILE = "oracle.json"
TRIALS_DIR = "trials"
LOCK_FILE = ".lock"


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


class JsonDirStorage(Storage):
    """Stores a project as JSON files in a directory (see the module docstring for the layout).

    Args:
        project_dir: ``<directory>/<project_name>``; created when missing.

    Example:
        >>> import tempfile
        >>> storage = JsonDirStorage(tempfile.mkdtemp())
        >>> storage.save_state({"seed": 3}); storage.load_state()
        {'seed': 3}
    """

    def __init__(self, project_dir: str | os.PathLike[str]):
        self.project_dir = Path(project_dir)
        self.location = str(self.project_dir)
        self._trials_dir = self.project_dir / TRIALS_DIR
        self._trials_dir.mkdir(parents=True, exist_ok=True)
        # Imported here, not at module level: it would add about a fifth to `import tuner`.
        import filelock

        self._lock = filelock.FileLock(str(self.project_dir / LOCK_FILE), timeout=0)
        self._writer = FileWriter()

    def _strip(self, document: dict[str, Any]) -> dict[str, Any]:
        document = dict(document)
        document.pop("format_version", None)
        return document

    def load_project(self) -> dict[str, Any] | None:
        self._writer.flush()
        path = self.project_dir / PROJECT_FILE
        if not path.exists():
            return None
        return self._strip(
            read_json(path, "Pass overwrite=True to start a new search in this folder.")
        )

    def save_project(self, project: dict[str, Any]) -> None:
        self._writer.write(
            self.project_dir / PROJECT_FILE, {"format_version": FORMAT_VERSION, **project}
        )

    def load_state(self) -> dict[str, Any] | None:
        self._writer.flush()
        path = self.project_dir / STATE_FILE
        if not path.exists():
            return None
        return self._strip(
            read_json(
                path,
                "Delete it to rebuild the oracle's state from the trial files (the algorithm "
                "may repeat some of its progress), or pass overwrite=True to start afresh.",
            )
        )

    def save_state(self, state: dict[str, Any]) -> None:
        self._writer.write(
            self.project_dir / STATE_FILE, {"format_version": FORMAT_VERSION, **state}
        )

    def trial_path(self, trial_id: str) -> Path:
        """The file of one trial."""
        return self._trials_dir / f"{trial_id}.json"

    def load_trials(self) -> list[Trial]:
        self._writer.flush()
        trials = []
        with os.scandir(self._trials_dir) as entries:
            names = sorted(
                e.name for e in entries if e.name.endswith(".json") and not e.name.startswith(".")
            )
        for name in names:
            path = self._trials_dir / name
            remedy = (
                f"Delete this file to run trial {name[:-5]} again, or pass overwrite=True to "
                "start the search afresh."
            )
            document = read_json(path, remedy)
            try:
                trials.append(Trial.from_dict(self._strip(document)))
            except (KeyError, TypeError, ValueError) as error:
                raise CorruptProjectFileError(
                    f"The trial file {path} is not a valid trial ({error!r}). {remedy}"
                ) from None
        return trials

    def save_trial(self, trial: Trial) -> None:
        self._writer.write(self.trial_path(trial.trial_id), self._trial_document(trial))

    def save_started_trial(self, trial: Trial) -> None:
        """Writes a trial that has just started, within half a second (see :class:`FileWriter`)."""
        self._writer.write_later(self.trial_path(trial.trial_id), self._trial_document(trial))

    def flush(self) -> None:
        self._writer.flush()

    @staticmethod
    def _trial_document(trial: Trial) -> dict[str, Any]:
        return {"format_version": FORMAT_VERSION, **trial.to_dict()}

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Holds ``<project_dir>/.lock`` (an OS file lock, released even on SIGKILL)."""
        import filelock

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
