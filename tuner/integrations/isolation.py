"""Each Keras trial in a fresh subprocess: ``Tuner(..., trial_isolation="process")``.

Why: TensorFlow keeps a few MB of every model trained in a process (traced functions and their
graphs) that neither ``keras.backend.clear_session()`` nor ``gc.collect()`` give back, so a long
search grows by hundreds of MB. A trial run in its own process returns all of it when it exits.

How it works (the parent is the search process, the child trains one trial):

- The parent keeps the oracle and is still the only writer of the project's JSON files. The
  child asks it over a socket for what the in-process tuner asks the oracle during a trial
  (``update_trial`` after each epoch, ``record_execution`` after each fold,
  ``sample_new_entry`` for a hyperparameter first met while building), as JSON requests
  answered in JSON.
- Training data: the numpy arrays among the fit arguments are written once per search to
  ``.npy`` files in a private temporary folder and memory-mapped by every child, so they cross
  no pipe and share one page cache.
- The rest travels parent to child with cloudpickle (functions defined in ``__main__`` by value):
  the tuner's settings and hypermodel, the other fit arguments, the trial (as its JSON form).
  The child never unpickles anything read from the project directory: everything it unpickles
  comes from its parent's memory, and everything it sends back is JSON.
- The child runs the tuner's own ``run_trial`` (the same code as in process: executions,
  cross-validation, seeding, callbacks) and writes the trial's checkpoint as the in-process
  tuner does. It then sends back the results (histories as JSON) and the hyperparameters its
  build registered.
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
import struct
import subprocess
import sys
import tempfile
import traceback
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tuner import errors
from tuner.hyperparameters import HyperParameter, HyperParameters, hyperparameter_from_config
from tuner.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from tuner.integrations.keras import Tuner

#: The accepted values of ``Tuner(trial_isolation=...)``.
ISOLATION_MODES = ("none", "process")
#: Tuner attributes that stay in the parent: the oracle and its storage (the child talks to
#: them over the socket), the console, search callbacks, and this module's own state.
PARENT_ONLY_ATTRIBUTES = frozenset(
    {
        "oracle",
        "_storage",
        "_display",
        "_search_callbacks",
        "workers",
        "logger",
        "_tensorboard_hparams",
        "_trial_data",
    }
)
_HEADER = struct.Struct("!Q")


def check_isolation(mode: str) -> str:
    """Validates ``trial_isolation``; returns it."""
    if mode not in ISOLATION_MODES:
        raise ValueError(
            f"trial_isolation must be one of {ISOLATION_MODES}, got {mode!r}: 'none' runs each "
            "trial in the search process, 'process' in a fresh subprocess."
        )
    return mode


# --- framing over the socket ---------------------------------------------------------------------
class _Channel:
    """Length-prefixed frames over a connected socket."""

    def __init__(self, connection: socket.socket):
        self._connection = connection

    def send(self, payload: bytes) -> None:
        self._connection.sendall(_HEADER.pack(len(payload)) + payload)

    def receive(self) -> bytes:
        (length,) = _HEADER.unpack(self._receive_exactly(_HEADER.size))
        return self._receive_exactly(length)

    def _receive_exactly(self, count: int) -> bytes:
        chunks = []
        while count:
            chunk = self._connection.recv(min(count, 1 << 20))
            if not chunk:
                raise EOFError("the other end of the trial channel closed")
            chunks.append(chunk)
            count -= len(chunk)
        return b"".join(chunks)

    def send_json(self, message: Mapping[str, Any]) -> None:
        self.send(json.dumps(message, allow_nan=True).encode())

    def receive_json(self) -> dict[str, Any]:
        return json.loads(self.receive())

    def close(self) -> None:
        self._connection.close()


# --- training data through memory-mapped files -----------------------------------------------
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


def _load_shared(value: Any) -> Any:
    """Inverse of :meth:`SharedTrainingData.share`, in the child: read-only memory maps."""
    if isinstance(value, _ArrayFile):
        return np.load(value.path, mmap_mode="r", allow_pickle=False)
    if isinstance(value, tuple):
        return tuple(_load_shared(item) for item in value)
    if isinstance(value, list):
        return [_load_shared(item) for item in value]
    if isinstance(value, dict):
        return {key: _load_shared(item) for key, item in value.items()}
    return value


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
        self.channel = _Channel(parent_socket)

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


# --- what run_trial returns, as JSON -----------------------------------------------------------
class ReturnedHistory:
    """The parent's copy of a Keras ``History`` from the child: ``history`` and ``epoch``."""

    def __init__(self, history: dict[str, list[float]], epoch: list[int]):
        self.history = history
        self.epoch = epoch


def _encode_results(results: Any) -> Any:
    from tuner.integrations.cross_validation import CrossValidationResults

    if isinstance(results, CrossValidationResults):
        return {"cross_validation": [dict(record) for record in results]}
    if isinstance(results, list):
        return {"list": [_encode_results(item) for item in results]}
    history = getattr(results, "history", None)
    if isinstance(history, Mapping):
        return {
            "history": {
                name: [float(v) for v in values if np.ndim(v) == 0]
                for name, values in history.items()
            },
            "epoch": [int(e) for e in (getattr(results, "epoch", None) or [])],
        }
    if isinstance(results, Mapping):
        return {"metrics": {name: float(value) for name, value in results.items()}}
    if results is None:
        return {"none": True}
    try:
        return {"value": float(results)}
    except (TypeError, ValueError):
        raise errors.FatalTypeError(
            f"run_trial returned a {type(results).__name__}, which cannot be sent back from the "
            "trial's subprocess (trial_isolation='process'): return a number, a dict of "
            "metrics, a Keras History, or a list of them."
        ) from None


def _decode_results(encoded: Mapping[str, Any]) -> Any:
    from tuner.integrations.cross_validation import CrossValidationResults

    if "cross_validation" in encoded:
        return CrossValidationResults(encoded["cross_validation"])
    if "list" in encoded:
        return [_decode_results(item) for item in encoded["list"]]
    if "history" in encoded:
        return ReturnedHistory(encoded["history"], encoded["epoch"])
    if "metrics" in encoded:
        return dict(encoded["metrics"])
    if "none" in encoded:
        return None
    return encoded["value"]


# --- the parent's side -----------------------------------------------------------------------
def _tuner_state(tuner: Tuner) -> dict[str, Any]:
    """The tuner's attributes the child needs (all but :data:`PARENT_ONLY_ATTRIBUTES`)."""
    return {
        name: value for name, value in vars(tuner).items() if name not in PARENT_ONLY_ATTRIBUTES
    }


def _unpicklable_error(tuner: Tuner, error: Exception) -> errors.FatalError:
    """Names what could not be pickled for the child: a tuner setting or the fit arguments."""
    import cloudpickle

    for name, value in _tuner_state(tuner).items():
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


def _serve(tuner: Tuner, request: Mapping[str, Any]) -> Any:
    """Runs one oracle request of the child; returns its JSON answer."""
    call = request["call"]
    if call == "update_trial":
        status = tuner.oracle.update_trial(
            request["trial_id"], request["metrics"], step=request["step"]
        )
        return TrialStatus(status).value
    if call == "record_execution":
        tuner.oracle.record_execution(request["trial_id"], request["record"])
        return None
    if call == "sample_new_entry":
        hyperparameter = hyperparameter_from_config(request["hyperparameter"])
        return tuner.oracle.sample_new_entry(request["trial_id"], hyperparameter)
    raise errors.FatalValueError(f"Unknown request from a trial subprocess: {call!r}.")


def _raise_child_error(failure: Mapping[str, Any]) -> None:
    """Raises the child's exception in the parent, with the child's traceback."""
    error_class = getattr(errors, failure["type"], None)
    message = (
        f"Trial failed in its subprocess (trial_isolation='process'):\n{failure['traceback']}"
    )
    if (
        failure.get("module") == errors.__name__
        and isinstance(error_class, type)
        and issubclass(error_class, Exception)
    ):
        raise error_class(message)
    raise errors.TrialProcessError(message)


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "did not exit"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (the system may have run out of memory)" if name == "SIGKILL" else ""
        return f"was killed by {name}{hint}"
    return f"exited with status {returncode}"


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
                "tuner_state": _tuner_state(tuner),
                "oracle": {
                    "objective": tuner.oracle.objective,
                    "seed": tuner.oracle.seed,
                    "effective_seed": tuner.oracle._seed,
                },
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
                child.channel.send_json({"result": _serve(tuner, message)})
            else:  # the end: results, or an error; either way the hyperparameters it met
                outcome = message.get("done") or message["failed"]
                registered = HyperParameters.from_config(outcome["hyperparameters"])
                trial.hyperparameters.merge(registered, overwrite=False)
                if "failed" in message:
                    _raise_child_error(message["failed"])
                return _decode_results(outcome["results"])
    finally:
        child.close()


# --- the child's side ------------------------------------------------------------------------
class _OracleProxy:
    """What ``run_trial`` uses of the oracle, answered by the parent's oracle over the socket."""

    def __init__(self, channel: _Channel, objective: Any, seed: int | None, effective_seed: int):
        self._channel = channel
        self.objective = objective
        self.seed = seed
        self._seed = effective_seed

    def _call(self, call: str, **arguments: Any) -> Any:
        self._channel.send_json({"call": call, **arguments})
        return self._channel.receive_json()["result"]

    def update_trial(
        self, trial_id: str, metrics: Mapping[str, float], step: int = 0
    ) -> TrialStatus:
        metrics = {name: float(value) for name, value in metrics.items()}
        return TrialStatus(
            self._call("update_trial", trial_id=trial_id, metrics=metrics, step=int(step))
        )

    def record_execution(self, trial_id: str, record: Mapping[str, Any]) -> None:
        self._call("record_execution", trial_id=trial_id, record=dict(record))

    def sample_new_entry(self, trial_id: str, hyperparameter: HyperParameter) -> Any:
        config = {"class_name": hyperparameter.type_name, "config": hyperparameter.get_config()}
        return self._call("sample_new_entry", trial_id=trial_id, hyperparameter=config)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"oracle.{name} is not available inside a trial's subprocess "
            "(trial_isolation='process'): run_trial may use oracle.objective, oracle.seed, "
            "update_trial, record_execution and sample_new_entry. Use trial_isolation='none' "
            "for a run_trial that needs more."
        )


def child_main(socket_descriptor: int) -> None:
    """Entry point of a trial's subprocess: receives the trial, runs it, reports back."""
    import cloudpickle

    # The expensive imports first: a spare child does them while the current trial trains.
    importlib.import_module("tuner.integrations.keras")

    channel = _Channel(socket.socket(fileno=socket_descriptor))
    try:
        payload = cloudpickle.loads(channel.receive())  # from the parent's memory, see above
    except EOFError:
        return
    hp: HyperParameters | None = None
    try:
        oracle = _OracleProxy(
            channel,
            payload["oracle"]["objective"],
            payload["oracle"]["seed"],
            payload["oracle"]["effective_seed"],
        )
        runner = payload["tuner_class"].__new__(payload["tuner_class"])
        runner.__dict__.update(payload["tuner_state"])
        runner.oracle = oracle
        runner.trial_isolation = "none"
        runner._trial_data = None
        runner._tensorboard_hparams = {}
        trial = Trial.from_dict(payload["trial"])
        hp = trial.hyperparameters
        hp.new_entry_sampler = lambda entry: oracle.sample_new_entry(trial.trial_id, entry)
        results = runner.run_trial(
            trial, *_load_shared(payload["fit_args"]), **_load_shared(payload["fit_kwargs"])
        )
        hp.new_entry_sampler = None
        channel.send_json(
            {"done": {"results": _encode_results(results), "hyperparameters": hp.get_config()}}
        )
    except BaseException as error:  # reported to the parent, which decides what it means
        channel.send_json(
            {
                "failed": {
                    "type": type(error).__name__,
                    "module": type(error).__module__,
                    "traceback": traceback.format_exc(),
                    "hyperparameters": hp.get_config() if hp is not None else {},
                }
            }
        )
    finally:
        channel.close()
