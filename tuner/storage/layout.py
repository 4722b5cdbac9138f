"""The layout of a project directory: every file and folder name, declared once.

``<directory>/<project_name>/`` holds:

- ``project.json``: format_version, objective, oracle class and config, search space.
- ``oracle.json``: the oracle's algorithm state (small; never the list of all trials).
- ``trials/<trial_id>.json``: one file per trial, rewritten on every status change.
- ``checkpoints/<trial_id>/``: the trial's own files (the Keras tuner's best weights, the
  scikit-learn tuner's estimator, whatever a ``run_trial`` override writes there).
- ``logs/``: the default folder of the TensorBoard HParams export.
- ``mlflow.json``: the MLflow run of the project, for each tracking store and experiment
  (written by :class:`~tuner.integrations.mlflow.MLflowCallback`, so that a resumed search
  logs to the same run).
- ``.lock``: the file lock of the search that owns the project.

Modules that read or write the project directory ask :class:`ProjectLayout` for paths instead
of spelling names, so the layout changes in one place.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROJECT_FILE = "project.json"
STATE_FILE = "oracle.json"
TRIALS_DIR = "trials"
LOCK_FILE = ".lock"
CHECKPOINTS_DIR = "checkpoints"
LOGS_DIR = "logs"
MLFLOW_FILE = "mlflow.json"
#: The entries a project directory may hold (what makes a folder look like a project).
KNOWN_ENTRIES = frozenset(
    {PROJECT_FILE, STATE_FILE, TRIALS_DIR, LOCK_FILE, CHECKPOINTS_DIR, LOGS_DIR, MLFLOW_FILE}
)
#: keras-tuner's project directory holds ``oracle.json`` and one ``trial_<id>`` folder per trial.
_KERAS_TUNER_ORACLE_FILE = "oracle.json"
_KERAS_TUNER_TRIAL_PREFIX = "trial_"


def looks_like_keras_tuner(entries: Iterable[str]) -> bool:
    """Whether a folder holding ``entries`` (names) was written by keras-tuner."""
    names = set(entries)
    return _KERAS_TUNER_ORACLE_FILE in names or any(
        name.startswith(_KERAS_TUNER_TRIAL_PREFIX) for name in names
    )


def looks_like_a_project(entries: Iterable[str]) -> bool:
    """Whether a folder holding ``entries`` may be a project (tuner's or keras-tuner's).

    An empty folder counts: there is nothing in it to lose.
    """
    names = set(entries)
    return not names or bool(names & KNOWN_ENTRIES) or looks_like_keras_tuner(names)


@dataclass(frozen=True)
class ProjectLayout:
    """The paths of one project directory (see the module docstring). Pure: touches no file.

    Args:
        root: ``<directory>/<project_name>``.

    Example:
        >>> layout = ProjectLayout(Path("runs/mlp"))
        >>> layout.trial_file("03").as_posix()
        'runs/mlp/trials/03.json'
        >>> layout.relative(layout.trial_file("03"))
        'trials/03.json'
        >>> layout.trial_files_dir("03").as_posix()
        'runs/mlp/checkpoints/03'
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def project_file(self) -> Path:
        """The project description."""
        return self.root / PROJECT_FILE

    @property
    def state_file(self) -> Path:
        """The oracle's algorithm state."""
        return self.root / STATE_FILE

    @functools.cached_property  # built once: a trial file's path is asked for on every write
    def trials_dir(self) -> Path:
        """The folder of the trial records."""
        return self.root / TRIALS_DIR

    @property
    def lock_file(self) -> Path:
        """The lock of the search that owns the project."""
        return self.root / LOCK_FILE

    @property
    def checkpoints_dir(self) -> Path:
        """The folder holding one folder of files per trial."""
        return self.root / CHECKPOINTS_DIR

    @property
    def logs_dir(self) -> Path:
        """The default folder of the TensorBoard export."""
        return self.root / LOGS_DIR

    @property
    def mlflow_file(self) -> Path:
        """The MLflow runs the project logs to (see :mod:`tuner.integrations.mlflow`)."""
        return self.root / MLFLOW_FILE

    def trial_file(self, trial_id: str) -> Path:
        """The record of one trial."""
        return self.trials_dir / f"{trial_id}.json"

    @staticmethod
    def is_trial_file_name(name: str) -> bool:
        """Whether a name in :attr:`trials_dir` is a trial's record (not a temporary file)."""
        return name.endswith(".json") and not name.startswith(".")

    @staticmethod
    def trial_id_of(name: str) -> str:
        """The trial id of a trial record's file name: ``"03.json"`` -> ``"03"``."""
        return name[: -len(".json")]

    def trial_files_dir(self, trial_id: str) -> Path:
        """The folder of one trial's files: ``checkpoints/<trial_id>``.

        Raises:
            ValueError: ``trial_id`` is empty, ``.`` or ``..``, or holds a path separator (it
                would name a folder outside the trial's own).
        """
        name = str(trial_id)
        if not name or name in (".", "..") or "/" in name or "\\" in name:
            raise ValueError(f"get_trial_dir needs a trial id, got {trial_id!r}.")
        return self.checkpoints_dir / name

    def relative(self, path: Path) -> str:
        """``path`` relative to the project directory, with ``/`` separators."""
        return Path(path).relative_to(self.root).as_posix()
