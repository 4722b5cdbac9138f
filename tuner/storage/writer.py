"""Atomic, durable file writes, and a writer that may hold the record of a starting trial back.

Every write goes to a temporary file in the same folder, which is fsync'ed and then renamed over
the target, so a crash at any instant (SIGKILL, or power loss once the fsync has returned) leaves
the old file or the new one, never a torn one.

:class:`FileWriter` adds one liberty, for the record a trial gets when it starts: that record only
says "this trial is running", and a trial lost in its first instants is simply proposed again on
resume. So the writer may keep it back for a short grace period. Any other write (or
:meth:`FileWriter.flush`) writes it first, or drops it when the new write is of the same file,
which then supersedes it. Either way the files on disk always show a state the project really
passed through, in the order it passed through them; a trial that ends within its grace period
costs one durable write instead of two.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from tuner.errors import StorageError

#: Makes temporary names unique within this process (the pid makes them unique across processes).
_temporary_names = itertools.count()


def encode_json(document: dict[str, Any]) -> bytes:
    """Strict, compact JSON (NaN and infinities are refused: they would not read back)."""
    return json.dumps(document, allow_nan=False, separators=(",", ":")).encode()


def _temporary_name(path: str) -> str:
    """A fresh name beside ``path``; it starts with a dot, so readers of the folder skip it."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.{os.getpid()}-{next(_temporary_names)}.tmp")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file through which to write ``path`` atomically, for writers that want a handle.

    What the block writes goes to a temporary file in the same folder; when the block ends
    without error it is fsync'ed and renamed over ``path``, otherwise deleted.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "weights.bin"
        >>> with atomic_output(target) as handle:
        ...     _ = handle.write(b"weights")
        >>> target.read_bytes()
        b'weights'
    """
    path = os.fspath(path)
    temporary = _temporary_name(path)
    try:
        with open(temporary, "xb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Writes ``data`` to ``path`` so that a crash leaves either the old or the new file.

    The bytes go to a temporary file in the same folder, which is fsync'ed and then renamed over
    ``path`` (a rename within one file system is atomic). The same as :func:`atomic_output`,
    with a few system calls less: every trial's record goes through here.
    """
    path = os.fspath(path)
    temporary = _temporary_name(path)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class FileWriter:
    """Writes JSON files atomically, in order; may hold back one write for a grace period.

    Args:
        grace_seconds: How long :meth:`write_later` may keep its write back.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> writer = FileWriter()
        >>> writer.write_later(folder / "a.json", {"status": "RUNNING"})
        >>> writer.write(folder / "a.json", {"status": "COMPLETED"})  # supersedes it
        >>> (folder / "a.json").read_text()
        '{"status":"COMPLETED"}'
    """

    #: Idle wake-ups of the background thread before it exits (it restarts when needed).
    _IDLE_ROUNDS = 20

    def __init__(self, grace_seconds: float = 0.5):
        self.grace_seconds = grace_seconds
        self._lock = threading.Lock()  # held while a file is written: writes stay in order
        #: (path, document, deadline). The document is encoded only if it is written: most are
        #: superseded. It must not be changed after it was handed over.
        self._held: tuple[Path, dict[str, Any], float] | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        _open_writers.add(self)

    def write(self, path: Path, document: dict[str, Any]) -> None:
        """Writes ``document`` to ``path`` now; returns when it is on disk."""
        with self._lock:
            self._raise_background_error()
            if self._held is not None:
                held_path = self._held[0]
                if held_path != path:
                    self._write(held_path, self._held[1])
                self._held = None
            self._write(path, document)

    def write_later(self, path: Path, document: dict[str, Any]) -> None:
        """Writes ``document`` to ``path`` soon, unless a newer write of that file replaces it.

        It is written before any later write of another file, by :meth:`flush`, or at the end of
        the grace period, whichever comes first. ``document`` must not be changed afterwards.
        """
        with self._lock:
            self._raise_background_error()
            if self._held is not None and self._held[0] != path:
                self._write(self._held[0], self._held[1])
            self._held = (path, document, time.monotonic() + self.grace_seconds)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._write_held_in_time, name="tuner-file-writer", daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        """Writes what is held back; returns when every write so far is on disk."""
        with self._lock:
            self._raise_background_error()
            if self._held is not None:
                path, document, _ = self._held
                self._held = None
                self._write(path, document)

    def _write(self, path: Path, document: dict[str, Any]) -> None:
        data = encode_json(document)
        try:
            write_atomic(path, data)
        except OSError as error:
            raise StorageError(
                f"Could not write {path} ({error.strerror or error}). Check that the disk has "
                "space and the folder is writable, then run the search again: it resumes."
            ) from error

    def _raise_background_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _write_held_in_time(self) -> None:
        """The background thread: writes a held record once its grace period is over."""
        idle_rounds = 0
        while True:
            time.sleep(self.grace_seconds / 2)
            with self._lock:
                if self._held is None:
                    idle_rounds += 1
                    if idle_rounds >= self._IDLE_ROUNDS:
                        self._thread = None
                        return
                    continue
                idle_rounds = 0
                path, document, deadline = self._held
                if time.monotonic() < deadline:
                    continue
                self._held = None
                try:
                    self._write(path, document)
                except BaseException as error:  # reported by the next call of the owner
                    self._error = error


_open_writers: weakref.WeakSet[FileWriter] = weakref.WeakSet()


def _forget_writers_in_child() -> None:
    """A forked child does not write its parent's records (and must not wait on its locks)."""
    global _open_writers
    _open_writers = weakref.WeakSet()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_writers_in_child)


@atexit.register
def _flush_open_writers() -> None:
    """A held record is written even when the program ends without closing its search."""
    for writer in list(_open_writers):
        with contextlib.suppress(Exception):  # nothing more can be done about it at exit
            writer.flush()
