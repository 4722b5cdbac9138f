"""``synchronized``: one thread at a time in an oracle's methods (keras-tuner's decorator)."""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from tuner.oracles.base import Oracle

Method = TypeVar("Method", bound=Callable[..., Any])

#: Locks of objects that are not a :class:`~tuner.oracles.Oracle` (which has its own).
_FOREIGN_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_FOREIGN_LOCKS_GUARD = threading.Lock()


def oracle_lock(oracle: Any) -> threading.RLock:
    """The re-entrant lock that :func:`synchronized` methods of ``oracle`` hold.

    For a :class:`~tuner.oracles.Oracle` it is the lock every public method of the base class
    already takes, so a decorated override that calls ``super()`` (or is called by the base
    class, as ``populate_space`` is) re-enters one lock and can never deadlock against an
    undecorated base method running in another thread. Any other object gets one lock of its
    own, created on first use and dropped with the object.

    Raises:
        TypeError: When ``oracle`` can be given no lock (it cannot be weakly referenced).
    """
    if isinstance(oracle, Oracle):
        return oracle._lock
    with _FOREIGN_LOCKS_GUARD:
        try:
            lock = _FOREIGN_LOCKS.get(oracle)
            if lock is None:
                lock = _FOREIGN_LOCKS[oracle] = threading.RLock()
        except TypeError as error:
            raise TypeError(
                f"@synchronized decorates methods of an oracle; it was called with "
                f"{type(oracle).__name__!r} as `self`, which cannot hold a lock ({error})."
            ) from None
    return lock


def synchronized(method: Method) -> Method:
    """Decorates an oracle method so that calls on one oracle run one at a time.

    keras-tuner's ``keras_tuner.synchronized``: calls to the decorated methods of the *same*
    oracle, from any number of threads, are serialised (together with the base class's own
    methods, which share the lock); calls on different oracles do not block one another. The
    lock is re-entrant, so a decorated method may call other decorated methods, or ``super()``'s
    decorated version, in the same thread. It decorates methods only: the first argument of
    each call is taken as the oracle.

    Args:
        method: The method, e.g. an override of ``create_trial``, ``update_trial`` or
            ``end_trial``.

    Returns:
        The wrapped method (its name and docstring kept).

    Example:
        >>> import tuner as kt
        >>> class CountingOracle(kt.oracles.RandomSearchOracle):
        ...     @kt.synchronized
        ...     def end_trial(self, trial, status=None):
        ...         self.ended = getattr(self, "ended", 0) + 1
        ...         super().end_trial(trial, status)
    """
    if not callable(method):
        raise TypeError(f"@synchronized decorates a method, got {method!r}.")

    @functools.wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with oracle_lock(self):
            return method(self, *args, **kwargs)

    return locked  # type: ignore[return-value]
