"""keras-tuner's ``logger=``: the ``Logger`` interface, and the search callback that calls one.

keras-tuner up to 1.3 called a logger passed as ``BaseTuner(logger=...)`` at four points of a
search; 1.4 deprecated the argument and stopped calling it. tuner keeps the deprecation warning
and still calls it, through :class:`LoggerCallback`, a :class:`~tuner.SearchCallback` that the
tuner adds when a logger is given:

- ``register_tuner(tuner_state)`` when the search begins (or resumes), in the search process;
- ``register_trial(trial_id, trial_state)`` when a trial begins, where the trial runs;
- ``report_trial_state(trial_id, trial_state)`` when it ends, after the oracle scored it, so
  the state holds the trial's final status, score and metrics;
- ``exit()`` once when the search ends, or stops on an error, in the search process.

Every state is plain JSON data: ``trial_state`` is the trial's JSON form
(:meth:`~tuner.Trial.to_dict`, keras-tuner's ``Trial.get_state()``: ``trial_id``,
``hyperparameters`` as ``{"space": [...], "values": {...}}``, ``metrics``, ``score``,
``best_step``, ``status``, ``message``, ...), ``tuner_state`` is :func:`tuner_state`'s dict.

With Ray workers (``workers=kt.RayWorkers(...)``) the trial loop, and the callback with its
logger, is shipped to each worker (so the logger must be picklable): ``register_trial`` and
``report_trial_state`` run on the worker that runs the trial, ``register_tuner`` and ``exit``
on the driver.

A logger that raises does not stop the search: the first error is reported as a
``RuntimeWarning`` (naming the logger, the method and the error), later ones are only counted in
:attr:`LoggerCallback.failures`, and the logger keeps being called (a tracking server that was
down may come back).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from tuner.callbacks import SearchCallback

if TYPE_CHECKING:
    from tuner.search import BaseTuner
    from tuner.trial import Trial


class Logger:
    """The interface of a keras-tuner logger; each method does nothing here.

    Subclass it (or write any object with these four methods) and pass it as
    ``logger=`` to a tuner. The states are plain JSON-ready dicts (see :mod:`tuner.logger`).

    Example:
        >>> class PrintingLogger(Logger):
        ...     def report_trial_state(self, trial_id, trial_state):
        ...         print(trial_id, trial_state["status"], trial_state["score"])
        >>> PrintingLogger().report_trial_state("00", {"status": "COMPLETED", "score": 0.5})
        00 COMPLETED 0.5
    """

    def register_tuner(self, tuner_state: dict[str, Any]) -> None:
        """The search begins (or resumes)."""

    def register_trial(self, trial_id: str, trial_state: dict[str, Any]) -> None:
        """A trial begins."""

    def report_trial_state(self, trial_id: str, trial_state: dict[str, Any]) -> None:
        """A trial ended; its state holds the oracle's verdict (status, score, best step)."""

    def exit(self) -> None:
        """The search is over: send what is pending, release what the logger holds."""


def tuner_state(tuner: BaseTuner) -> dict[str, Any]:
    """What ``register_tuner`` receives: the tuner, its project, oracle and search space.

    Keys: ``tuner_id``, ``tuner_class``, ``project_name``, ``directory``, ``project_dir``,
    ``oracle`` (``class_name``, ``objective`` in its JSON form, ``max_trials``, ``seed``),
    ``hyperparameters`` (the space known so far, as ``{"space": [...], "values": {...}}``) and
    ``trials`` (how many the project holds: more than 0 when a search resumes).

    Example:
        >>> import tempfile
        >>> import tuner as kt
        >>> search = kt.BaseTuner(kt.oracles.RandomSearchOracle("loss", max_trials=3),
        ...                       build_model, directory=tempfile.mkdtemp(), project_name="p")
        >>> state = tuner_state(search)
        >>> state["project_name"], state["oracle"]["class_name"], state["oracle"]["max_trials"]
        ('p', 'RandomSearchOracle', 3)
    """
    oracle = tuner.oracle
    return {
        "tuner_id": tuner.tuner_id,
        "tuner_class": type(tuner).__name__,
        "project_name": tuner.project_name,
        "directory": tuner.directory,
        "project_dir": tuner.project_dir,
        "oracle": {
            "class_name": type(oracle).__name__,
            "objective": oracle.objective.to_dict(),
            "max_trials": oracle.max_trials,
            "seed": oracle.seed,
        },
        "hyperparameters": oracle.get_space().get_config(),
        "trials": len(oracle.trials),
    }


class LoggerCallback(SearchCallback):
    """Calls a keras-tuner logger at the points of a search where keras-tuner <= 1.3 did.

    ``BaseTuner(logger=...)`` adds one; see :mod:`tuner.logger` for what is called, when and
    where, and what happens when the logger raises.

    Args:
        logger: An object with ``register_tuner``, ``register_trial``, ``report_trial_state``
            and ``exit`` (a :class:`Logger`, or any object written for keras-tuner).

    Attributes:
        failures: How many calls of the logger raised (in this process).

    Example:
        >>> import tempfile
        >>> import tuner as kt
        >>> class Recorder(Logger):
        ...     def __init__(self):
        ...         self.calls = []
        ...     def register_trial(self, trial_id, trial_state):
        ...         self.calls.append(("register_trial", trial_id))
        ...     def exit(self):
        ...         self.calls.append(("exit",))
        >>> class ConstantTuner(kt.BaseTuner):
        ...     def run_trial(self, trial, *args, **kwargs):
        ...         return trial.hyperparameters.Float("x", 0.0, 1.0)
        >>> recorder = Recorder()
        >>> search = ConstantTuner(kt.oracles.RandomSearchOracle("loss", max_trials=2),
        ...                        directory=tempfile.mkdtemp(), project_name="p")
        >>> search.add_search_callback(LoggerCallback(recorder))
        >>> search.search(verbose=0)
        >>> recorder.calls
        [('register_trial', '00'), ('register_trial', '01'), ('exit',)]
    """

    def __init__(self, logger: Any):
        self.logger = logger
        self.failures = 0
        self._exited = False

    def _call(self, method: str, *arguments: Any) -> None:
        """Calls ``logger.<method>(*arguments)``; an error is warned about once, never raised."""
        try:
            getattr(self.logger, method)(*arguments)
        except Exception as error:  # the search must not die for its logger
            self.failures += 1
            if self.failures == 1:
                warnings.warn(
                    f"The logger {type(self.logger).__name__} failed in {method}(): {error!r}. "
                    "The search goes on and keeps calling the logger; its later errors are not "
                    "reported.",
                    RuntimeWarning,
                    stacklevel=3,
                )

    def on_search_begin(self, tuner: BaseTuner) -> None:
        self._exited = False
        self._call("register_tuner", tuner_state(tuner))

    def on_trial_begin(self, tuner: BaseTuner, trial: Trial) -> None:
        self._call("register_trial", trial.trial_id, trial.to_dict())

    def on_trial_end(self, tuner: BaseTuner, trial: Trial) -> None:
        self._call("report_trial_state", trial.trial_id, trial.to_dict())

    def on_search_end(self, tuner: BaseTuner) -> None:
        self._exit()

    def on_search_interrupted(self, tuner: BaseTuner, error: BaseException) -> None:
        self._exit()

    def _exit(self) -> None:
        if not self._exited:  # once per search, however it ends
            self._exited = True
            self._call("exit")
