"""The exception hierarchy of tuner.

Every error tuner raises on purpose derives from :class:`TunerError`, and its message names the
culprit (a hyperparameter, a file, a metric) and, where there is one, the remedy. The names that
keras-tuner 1.4 exposes in ``keras_tuner.errors`` (``FailedTrialError``, ``FatalError`` and its
``Fatal*Error`` variants) exist here with the same meaning, so user code that raises or catches
them keeps working.

Example:
    >>> import tuner as kt
    >>> def build_model(hp):
    ...     if hp.Int("units", 8, 64) > 48:
    ...         raise kt.errors.FailedTrialError("too wide for this device")  # no retry
"""

from __future__ import annotations


class TunerError(Exception):
    """Base class of every error raised on purpose by tuner."""


class SearchSpaceError(TunerError, ValueError):
    """A hyperparameter is specified wrongly (bad range, empty choice, conflicting definitions)."""


class SearchSpaceTypeError(SearchSpaceError, TypeError):
    """A hyperparameter is given an argument of the wrong type (e.g. a Choice of mixed types).

    keras-tuner raises ``TypeError`` in these cases; this error is both a ``TypeError`` and a
    :class:`SearchSpaceError` (hence a ``ValueError``), so either ``except`` clause catches it.
    """


class FailedTrialError(TunerError, RuntimeError):
    """Raise it from model-building or training code to fail the current trial without retrying it.

    The trial is recorded as FAILED with the message, and the search goes on.
    """


class OversizedModelError(FailedTrialError):
    """The built model has more parameters than the tuner's ``max_model_size``.

    As in keras-tuner, the trial is FAILED (a :class:`FailedTrialError`): it is not retried, and
    it counts towards ``max_consecutive_failed_trials``.
    """


class FatalError(TunerError, RuntimeError):
    """Raise it from model-building or training code to stop the whole search at once."""


class FatalValueError(FatalError, ValueError):
    """A fatal error caused by a bad value; stops the search."""


class FatalTypeError(FatalError, TypeError):
    """A fatal error caused by a bad type; stops the search."""


class FatalRuntimeError(FatalError, RuntimeError):
    """A fatal error raised at run time; stops the search."""


class ObjectiveNotFoundError(FatalValueError):
    """The objective's metric is not among the metrics a trial reported."""


class TooManyFailedTrialsError(TunerError, RuntimeError):
    """``max_consecutive_failed_trials`` trials failed in a row; the search stopped.

    A ``RuntimeError``, as keras-tuner's "Number of consecutive failures exceeded the limit".
    """


class InvalidArgumentError(TunerError, ValueError, TypeError):
    """A constructor argument is unknown or of the wrong kind.

    Raised for a misspelt keyword, or an ``oracle=``, ``hypermodel=`` or ``objective=`` that is
    not one. Both a ``ValueError`` (what keras-tuner raises for most of these) and a
    ``TypeError`` (what a wrong type is in Python), so code catching either keeps working.
    """


class ProjectMismatchError(FatalValueError):
    """An existing project was made by another oracle class or objective than the one reopening it.

    Pass ``overwrite=True`` to start afresh, or another ``project_name``.
    """


class UnsupportedLaunchError(TunerError, RuntimeError):
    """The process was launched in a way tuner does not support.

    keras-tuner's distributed tuning through ``KERASTUNER_*`` environment variables, for now.
    """


class TrialProcessError(TunerError, RuntimeError):
    """A trial run in its own subprocess (``trial_isolation="process"``) raised or died.

    The message holds the subprocess's traceback, or how it ended (e.g. killed by SIGKILL). The
    trial is FAILED and may be retried, as for any exception raised by a trial.
    """


class StorageError(TunerError, OSError):
    """A project directory cannot be used as it is."""


class CorruptProjectFileError(StorageError):
    """A file of the project directory cannot be parsed."""


class FormatVersionError(StorageError):
    """The project directory was written by a newer version of tuner."""


class ProjectLockedError(StorageError):
    """Another process is using the same project directory."""


class ImportanceError(TunerError, ValueError):
    """Hyperparameter importance cannot be computed from these trials.

    Too few completed trials with a value of the objective, no hyperparameter that took two
    values among them, or an objective that took one value only; the message says which.
    """


class MissingDependencyError(TunerError, ImportError):
    """An optional dependency needed by the requested feature is not installed."""


def missing_dependency(package: str, feature: str, extra: str) -> MissingDependencyError:
    """Builds the error raised when an optional dependency is missing.

    Args:
        package: The import name of the missing package.
        feature: What the user asked for, e.g. ``"results_dataframe()"``.
        extra: The pip extra of tuner that installs it.

    Returns:
        An error whose message says how to install what is missing.
    """
    return MissingDependencyError(
        f"{feature} needs the optional package '{package}', which is not installed. "
        f"Install it with `pip install {package}` or `pip install tuner[{extra}]`."
    )
