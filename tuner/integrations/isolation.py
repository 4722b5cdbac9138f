"""Each Keras trial in a fresh subprocess: ``Tuner(..., trial_isolation="process")``.

Why: TensorFlow keeps a few MB of every model trained in a process (traced functions and their
graphs) that neither ``keras.backend.clear_session()`` nor ``gc.collect()`` give back, so a long
search grows by hundreds of MB. A trial run in its own process returns all of it when it exits.

This module is the transport and the lifecycle only (the parent is the search process, the
child trains one trial):

- The parent keeps the oracle and is still the only writer of the project's JSON files. The
  child's tuner has a :class:`~tuner.execution.remote.RemoteOracle` whose requests travel over a
  socket as the JSON messages of :mod:`tuner.execution.messages`, answered by an
  :class:`~tuner.execution.service.OracleService` in the parent.
- Training data: numpy arrays of the fit arguments go through memory-mapped files
  (:mod:`tuner.execution.shared_arrays`).
- The rest travels parent to child with cloudpickle (functions defined in ``__main__`` by
  value): the tuner's attributes shipped to a trial (:mod:`tuner.execution.shipping`), the other
  fit arguments, the trial (as its JSON form). The child never unpickles anything read from the
  project directory, and everything it sends back is JSON.
- The child runs the tuner's own ``run_trial`` and writes the trial's checkpoint as the
  in-process tuner does. It then sends back the results and the hyperparameters its build
  registered.
- Failures keep their meaning: an exception in the child is raised in the parent as the same
  :mod:`tuner.errors` class (or :class:`~tuner.errors.TrialProcessError` for any other
  exception), with the child's traceback in the message; a child that dies (killed, out of
  memory) fails the trial with its exit status.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tuner import errors
from tuner.execution import messages
from tuner.execution.channel import SocketChannel
from tuner.execution.remote import RemoteOracle
from tuner.execution.service import OracleService
from tuner.execution.shared_arrays import SharedTrainingData, load_shared
from tuner.execution.shipping import rebuild, shipped_state
from tuner.hyperparameters import HyperParameters
from tuner.trial import Trial

if TYPE_CHECKING:
    from tuner.integrations.keras import Tuner

#: The accepted values of ``Tuner(trial_isolation=...)``.
ISOLATION_MODES = ("none", "process")


def check_isolation(mode: str) -> str:
    """Validates ``trial_isolation``; returns it."""
    if mode not in ISOLATION_MODES:
        raise ValueError(
            f"trial_isolation must be one of {ISOLATION_MODES}, got {mode!r}: 'none' runs each "
            "trial in the search process, 'process' in a fresh subprocess."
        )
    return mode


class _Child:
    """A trial subprocess and the parent's end of its socket."""

    def __init__(self) -> None:
        import keras

        parent_socket, child_socket = socket.socketpair()
        environment = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
        self.process = subprocess.Popen(
            _child_command(child_socket.fileno()),
            pass_fds=[child_socket.fileno()],
            env=environment,
        )
        child_socket.close()
        self.channel = SocketChannel(parent_socket)

    def close(self, timeout: float = 30) -> None:
        """Closes the socket (a waiting child then exits) and reaps the process."""
        self.channel.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _close_children(children: list[_Child], folder: str) -> None:
    for child in children:
        child.close(timeout=5)
    children.clear()
    shutil.rmtree(folder, ignore_errors=True)


class TrialProcesses:
    """The search process's side of ``trial_isolation="process"``.

    Holds the shared training data and one spare subprocess: the next trial's child is started
    while the current trial trains, so that starting Python and importing Keras (seconds)
    overlaps with training instead of adding to it. Everything is released when this object is
    collected, at interpreter exit, or by :meth:`close`.

    Example:
        >>> processes = TrialProcesses()
        >>> processes.close()
    """

    def __init__(self) -> None:
        self.data = SharedTrainingData()
        self._spare: list[_Child] = []
        self._finalizer = weakref.finalize(self, _close_children, self._spare, self.data.folder)

    def take(self) -> _Child:
        """A child for the next trial: the spare if it is still waiting, else a new one."""
        while self._spare:
            child = self._spare.pop()
            if child.process.poll() is None:
                return child
            child.close()
        return _Child()

    def start_spare(self) -> None:
        """Starts the child of the trial after this one, to warm up while this one trains."""
        if not self._spare:
            self._spare.append(_Child())

    def close(self) -> None:
        """Stops the spare child and deletes the shared data now."""
        self._finalizer()


# --- the parent's side -----------------------------------------------------------------------
def _unpicklable_error(tuner: Tuner, error: Exception) -> errors.FatalError:
    """Names what could not be pickled for the child: a tuner setting or the fit arguments."""
    import cloudpickle

    for name, value in shipped_state(tuner, "trial").items():
        try:
            cloudpickle.dumps(value)
        except Exception as culprit:
            return errors.FatalValueError(
                "trial_isolation='process' sends the tuner's settings to each trial's "
                f"subprocess, but its attribute {name!r} ({type(value).__name__}) cannot be "
                f"pickled: {culprit}. Use trial_isolation='none' with this setting."
            )
    return errors.FatalValueError(
        "trial_isolation='process' sends the fit arguments to each trial's subprocess: numpy "
        "arrays through memory-mapped files, anything else pickled, but these arguments cannot "
        f"be pickled ({error}). Pass numpy arrays (not a tf.data.Dataset or a generator), or "
        "use trial_isolation='none'."
    )


def _child_command(child_socket: int) -> list[str]:
    bootstrap = (
        "import json, sys\n"
        "sys.path[:0] = [p for p in json.loads(sys.argv[1]) if p not in sys.path]\n"
        "from tuner.integrations.isolation import child_main\n"
        "child_main(int(sys.argv[2]))\n"
    )
    return [sys.executable, "-c", bootstrap, json.dumps(sys.path), str(child_socket)]


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "did not exit"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (the system may have run out of memory)" if name == "SIGKILL" else ""
        return f"was killed by {name}{hint}"
    return f"exited with status {returncode}"


def _raise_child_error(failure: Mapping[str, Any]) -> None:
    """Raises the child's exception in the parent, with the child's traceback."""
    message = (
        f"Trial failed in its subprocess (trial_isolation='process'):\n{failure['traceback']}"
    )
    error = messages.rebuild_error(failure, message)
    if not isinstance(error, errors.TunerError):  # a built-in class: not the tuner's meaning
        error = errors.TrialProcessError(message)
    raise error


def run_trial_in_subprocess(
    tuner: Tuner, trial: Trial, fit_args: tuple[Any, ...], fit_kwargs: dict[str, Any]
) -> Any:
    """Runs ``tuner.run_trial(trial, ...)`` in a fresh subprocess; returns its results.

    Raises:
        The child's exception class (see the module docstring), or
        :class:`~tuner.errors.TrialProcessError` when the child died.
    """
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - a dependency of tuner
        raise errors.MissingDependencyError(
            "Tuner(trial_isolation='process') needs cloudpickle, a dependency of tuner that is "
            "not installed: pip install cloudpickle"
        ) from None
    if tuner._trial_data is None:
        tuner._trial_data = TrialProcesses()
    processes = tuner._trial_data
    shared_args, shared_kwargs = processes.data.share((tuple(fit_args), dict(fit_kwargs)))
    try:
        payload = cloudpickle.dumps(
            {
                "tuner_class": type(tuner),
                "tuner_state": shipped_state(tuner, "trial"),
                "trial": trial.to_dict(),
                "fit_args": shared_args,
                "fit_kwargs": shared_kwargs,
            }
        )
    except Exception as error:
        raise _unpicklable_error(tuner, error) from None
    child = processes.take()
    if tuner.oracle.remaining_trials != 0:  # 0: this is the last trial, no spare needed
        processes.start_spare()
    service = OracleService(tuner.oracle)
    try:
        child.channel.send(payload)
        while True:
            try:
                message = child.channel.receive_json()
            except EOFError:
                child.process.wait()
                ending = _describe_exit(child.process.returncode)
                raise errors.TrialProcessError(
                    f"The subprocess of trial {trial.trial_id} {ending} before reporting its "
                    "results."
                ) from None
            if "call" in message:
                child.channel.send_json(service.handle(message))
                continue
            # The end: results, or an error; either way the hyperparameters its build met.
            outcome = message.get("done") or message["failed"]
            registered = HyperParameters.from_config(outcome["hyperparameters"])
            trial.hyperparameters.merge(registered, overwrite=False)
            if "failed" in message:
                _raise_child_error(message["failed"])
            return messages.decode_result(outcome["results"])
    finally:
        child.close()


# --- the child's side ------------------------------------------------------------------------
def child_main(socket_descriptor: int) -> None:
    """Entry point of a trial's subprocess: receives the trial, runs it, reports back."""
    import cloudpickle

    # The expensive imports first: a spare child does them while the current trial trains.
    importlib.import_module("tuner.integrations.keras")

    channel = SocketChannel(socket.socket(fileno=socket_descriptor))
    try:
        payload = cloudpickle.loads(channel.receive())  # from the parent's memory, see above
    except EOFError:
        return
    hp: HyperParameters | None = None
    try:
        oracle = RemoteOracle(channel.call)
        runner = rebuild(payload["tuner_class"], payload["tuner_state"])
        runner.oracle, runner.trial_isolation = oracle, "none"
        trial = Trial.from_dict(payload["trial"])
        hp = trial.hyperparameters
        hp.new_entry_sampler = lambda entry: oracle.sample_new_entry(trial.trial_id, entry)
        results = runner.run_trial(
            trial, *load_shared(payload["fit_args"]), **load_shared(payload["fit_kwargs"])
        )
        hp.new_entry_sampler = None
        channel.send_json(
            {
                "done": {
                    "results": messages.encode_result(results),
                    "hyperparameters": hp.get_config(),
                }
            }
        )
    except BaseException as error:  # reported to the parent, which decides what it means
        failure = messages.encode_error(error)
        failure["hyperparameters"] = hp.get_config() if hp is not None else {}  # type: ignore[assignment]
        channel.send_json({"failed": failure})
    finally:
        channel.close()
