"""Which attributes of a tuner travel to a process that runs trials for it.

A trial subprocess (``trial_isolation="process"``) runs ``run_trial`` only; a Ray worker runs
the whole trial loop. Both get a copy of the tuner built from the attributes shipped to them.
Every attribute a tuner class of this library sets is declared, next to the class, in its
``_attribute_travel`` with one of the :class:`Travel` values; ``tests/execution`` checks that no
attribute of a shipped tuner is left undeclared. Attributes a user's subclass adds are its
settings: they travel everywhere.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any


class Travel(enum.Enum):
    """Where a tuner attribute goes when trials run in another process."""

    #: A setting ``run_trial`` needs (the hypermodel, the project's name): shipped everywhere.
    EVERYWHERE = "everywhere"
    #: Part of the trial loop (the console, search callbacks): shipped to Ray workers only.
    LOOP = "loop"
    #: A resource of this process (the oracle, the storage, a process pool): never shipped;
    #: the receiving side puts its own in place.
    NOWHERE = "nowhere"


#: What each destination receives.
DESTINATIONS: Mapping[str, frozenset[Travel]] = {
    "trial": frozenset({Travel.EVERYWHERE}),
    "loop": frozenset({Travel.EVERYWHERE, Travel.LOOP}),
}


def declared_travel(tuner_class: type) -> dict[str, Travel]:
    """Every attribute the classes of ``tuner_class``'s hierarchy declare, with its travel."""
    declared: dict[str, Travel] = {}
    for klass in reversed(tuner_class.__mro__):
        declared.update(vars(klass).get("_attribute_travel", {}))
    return declared


def shipped_state(tuner: Any, destination: str) -> dict[str, Any]:
    """The attributes of ``tuner`` that go to ``destination`` (``"trial"`` or ``"loop"``).

    Example:
        >>> class Settings:
        ...     _attribute_travel = {"oracle": Travel.NOWHERE, "display": Travel.LOOP}
        >>> settings = Settings()
        >>> settings.oracle, settings.display, settings.units = "o", "d", 8
        >>> shipped_state(settings, "trial"), sorted(shipped_state(settings, "loop"))
        ({'units': 8}, ['display', 'units'])
    """
    wanted = DESTINATIONS[destination]
    declared = declared_travel(type(tuner))
    return {
        name: value
        for name, value in vars(tuner).items()
        if declared.get(name, Travel.EVERYWHERE) in wanted
    }


def rebuild(tuner_class: type[Any], state: Mapping[str, Any]) -> Any:
    """A tuner of ``tuner_class`` made of shipped ``state``, without calling its constructor.

    Its attributes that never travel are given this process's fresh values by the class's
    ``_init_process_state()``; the caller then gives it an oracle handle.
    """
    tuner = object.__new__(tuner_class)
    vars(tuner).update(state)
    tuner._init_process_state()
    return tuner


def unpicklable_attribute(state: Mapping[str, Any], dumps: Callable[[Any], bytes]) -> str | None:
    """The name of the first attribute in ``state`` that ``dumps`` cannot serialise."""
    for name, value in state.items():
        try:
            dumps(value)
        except Exception:
            return name
    return None


def undeclared_attributes(tuner: Any, library_prefix: str = "tuner.") -> list[str]:
    """Attributes of ``tuner`` no class of this library declares (a user's subclass aside).

    For the test that keeps the declarations complete: it builds each tuner of the library
    and expects an empty list.
    """
    library_classes = [k for k in type(tuner).__mro__ if k.__module__.startswith(library_prefix)]
    declared: set[str] = set()
    for klass in library_classes:
        declared |= set(vars(klass).get("_attribute_travel", {}))
    return sorted(set(vars(tuner)) - declared)
