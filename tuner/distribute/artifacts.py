"""A trial's files (checkpoints, logs) as plain bytes, to move them between Ray nodes.

Workers write a trial's files in a scratch copy of the project directory; when the trial ends
they are shipped to the oracle's actor, which writes them into the real project directory, so
no shared file system is needed. Files are keyed by their path relative to the project
directory, with ``/`` separators, e.g. ``"checkpoints/0003/weights.npz"``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from tuner.storage.layout import ProjectLayout
from tuner.storage.writer import write_atomic


def collect_trial_files(project_dir: str | os.PathLike[str], trial_id: str) -> dict[str, bytes]:
    """Reads every file under ``<project_dir>/<folder>/<trial_id>/``, for every folder.

    Args:
        project_dir: The (scratch) project directory a worker wrote in.
        trial_id: The trial whose files to collect.

    Returns:
        Relative path -> content.
    """
    root = Path(project_dir)
    files: dict[str, bytes] = {}
    if not root.is_dir():
        return files
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files.update(_read_tree(root, folder / trial_id))
    return files


def collect_project_files(project_dir: str | os.PathLike[str]) -> dict[str, bytes]:
    """Reads every file of a project directory but its lock and temporary files."""
    root = Path(project_dir)
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def collect_checkpoint_files(
    project_dir: str | os.PathLike[str], trial_id: str
) -> dict[str, bytes]:
    """Reads the files of ``<project_dir>/checkpoints/<trial_id>/`` (a parent trial's weights)."""
    layout = ProjectLayout(Path(project_dir))
    return _read_tree(layout.root, layout.trial_files_dir(trial_id))


def empty_directory(directory: str | os.PathLike[str]) -> None:
    """Deletes everything inside ``directory`` (a worker's scratch project, once shipped)."""
    root = Path(directory)
    if not root.is_dir():
        return
    for entry in root.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def write_files(project_dir: str | os.PathLike[str], files: Mapping[str, bytes]) -> None:
    """Writes files under ``project_dir``, each atomically (a crash leaves old or new).

    Raises:
        ValueError: A path is absolute or leaves ``project_dir`` (it came from another
            process; nothing outside the project is ever written).
    """
    root = Path(project_dir)
    for relative, content in files.items():
        path = root / _safe_relative(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, content)


def _read_tree(root: Path, top: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    if not top.is_dir():
        return files
    for path in sorted(top.rglob("*")):
        # Temporary files of an interrupted atomic write start with a dot: never ship them.
        if path.is_file() and not path.name.startswith("."):
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def _safe_relative(relative: str) -> Path:
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
        raise ValueError(f"Refusing to write {relative!r}: not a path inside the project.")
    return Path(*parts)
