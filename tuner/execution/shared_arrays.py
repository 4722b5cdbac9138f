"""Training data for trial subprocesses: numpy arrays saved once, memory-mapped by each child.

The numpy arrays among a search's fit arguments are written once to ``.npy`` files in a private
temporary folder (never the project directory) and opened read-only by every trial's
subprocess, so they cross no pipe and share one page cache.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class _ArrayFile:
    """Stands for a numpy array of the fit arguments, saved as an ``.npy`` file."""

    path: str


class SharedTrainingData:
    """The numpy arrays of a search's fit arguments, saved once as ``.npy`` files.

    The files live in a private temporary folder (never the project directory), removed when
    this object is collected or the interpreter exits.

    Example:
        >>> data = SharedTrainingData()
        >>> shared = data.share({"x": np.zeros((4, 2))})
        >>> type(shared["x"]).__name__
        '_ArrayFile'
    """

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="tuner-trial-data-")
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.folder, True)
        # id(array) -> (array, its file); the array is held so that its id stays its own.
        self._files: dict[int, tuple[np.ndarray, _ArrayFile]] = {}

    def share(self, value: Any) -> Any:
        """``value`` with every numpy array (in tuples, lists and dicts) replaced by its file.

        Arrays of the previous call that are not among these are deleted from disk.
        """
        seen: set[int] = set()
        shared = self._replace(value, seen)
        for key in set(self._files) - seen:
            _, stale = self._files.pop(key)
            os.unlink(stale.path)
        return shared

    def _replace(self, value: Any, seen: set[int]) -> Any:
        if isinstance(value, np.ndarray) and value.dtype != object:
            seen.add(id(value))
            if id(value) not in self._files:
                path = os.path.join(self.folder, f"{len(os.listdir(self.folder))}.npy")
                np.save(path, value, allow_pickle=False)
                self._files[id(value)] = (value, _ArrayFile(path))
            return self._files[id(value)][1]
        if isinstance(value, tuple):
            return tuple(self._replace(item, seen) for item in value)
        if isinstance(value, list):
            return [self._replace(item, seen) for item in value]
        if isinstance(value, dict):
            return {key: self._replace(item, seen) for key, item in value.items()}
        return value

    def close(self) -> None:
        """Deletes the files now."""
        self._files.clear()
        self._finalizer()


def load_shared(value: Any) -> Any:
    """Inverse of :meth:`SharedTrainingData.share`, in the child: read-only memory maps."""
    if isinstance(value, _ArrayFile):
        return np.load(value.path, mmap_mode="r", allow_pickle=False)
    if isinstance(value, tuple):
        return tuple(load_shared(item) for item in value)
    if isinstance(value, list):
        return [load_shared(item) for item in value]
    if isinstance(value, dict):
        return {key: load_shared(item) for key, item in value.items()}
    return value
