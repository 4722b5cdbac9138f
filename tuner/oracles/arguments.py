"""The options every oracle takes and every tuner forwards to its oracle, declared once.

keras-tuner repeats the same arguments in each oracle, and again in each tuner, which passes them
on to its oracle. Here they are declared once, in :class:`OracleOptions`: their names, types,
defaults and documentation. A class names only its own parameters and takes the options as
``**options`` (an oracle) or inside ``**kwargs`` (a tuner); :func:`takes_oracle_options` gives it
keras-tuner's public signature (the same names, order, defaults, positional use included, as
``inspect.signature`` and ``help()`` show) and documents every option in its docstring.

``objective`` and ``max_trials`` are not options: each class places and documents them itself,
since their defaults differ (and Hyperband has no ``max_trials``).

Adding a common option is one entry in :class:`OracleOptions` (at the end: keras-tuner code
passes the others by position), plus what it does, in ``Oracle.__init__``.
"""

from __future__ import annotations

import functools
import inspect
import re
import textwrap
import types
import typing
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, TypedDict, TypeVar, cast

from tuner.constraints import Constraint
from tuner.hyperparameters import HyperParameters

ClassT = TypeVar("ClassT", bound=type)


@dataclass(frozen=True)
class Option:
    """The default and the text of one option: metadata of an :class:`OracleOptions` key.

    Example:
        >>> Option(0, "How many times a trial that raised is run again.").default
        0
    """

    default: Any
    doc: str


class OracleOptions(TypedDict, total=False):
    """The options, in the order keras-tuner's oracles take them (``RandomSearchOracle``, ...).

    The type of an oracle's ``**options`` (``Unpack[OracleOptions]``), so that type checkers
    check the options' names and types; each key's :class:`Option` gives its default and text.

    Example:
        >>> options: OracleOptions = {"seed": 1, "max_retries_per_trial": 2}
        >>> sorted(options)
        ['max_retries_per_trial', 'seed']
    """

    seed: Annotated[
        int | None,
        Option(
            None,
            "Makes the proposals reproducible (and, in a Keras tuner, each model's "
            "initialisation); different seeds give independent sequences. None (default): a "
            "random seed.",
        ),
    ]
    hyperparameters: Annotated[
        HyperParameters | None,
        Option(
            None,
            "Optional starting space: these hyperparameters override those of the same name "
            "the model defines; with ``tune_new_entries=False`` only these are tuned.",
        ),
    ]
    allow_new_entries: Annotated[
        bool,
        Option(
            True,
            "Whether the model may define hyperparameters not in ``hyperparameters``. "
            "Defaults to True.",
        ),
    ]
    tune_new_entries: Annotated[
        bool,
        Option(
            True,
            "Whether such new hyperparameters are tuned (else each keeps its default). "
            "Defaults to True.",
        ),
    ]
    max_retries_per_trial: Annotated[
        int, Option(0, "How many times a trial that raised is run again. Defaults to 0.")
    ]
    max_consecutive_failed_trials: Annotated[
        int,
        Option(
            3,
            "The search stops with an error after this many failed trials in a row. "
            "Defaults to 3.",
        ),
    ]
    constraints: Annotated[
        list[Constraint] | None,
        Option(
            None,
            'Bounds on metrics, e.g. ``[kt.Constraint("epoch_seconds", max_value=2.0)]``: a '
            "trial that breaks one (or lacks its metric) stays COMPLETED but is infeasible, "
            "never a best trial nor on the Pareto front. Not in keras-tuner. Defaults to None.",
        ),
    ]
    max_time: Annotated[
        float | timedelta | None,
        Option(
            None,
            "A time budget, in seconds or a ``datetime.timedelta``: once the search has run "
            "this long (counted across resumes), no trial starts, and a running trial stops at "
            "its next report (a Keras trial at the end of its epoch, scored on what it "
            "trained). Not in keras-tuner. Defaults to None.",
        ),
    ]


#: keras-tuner's base ``Oracle`` takes ``seed`` after the two entry flags.
BASE_ORACLE_ORDER: tuple[str, ...] = (
    "hyperparameters",
    "allow_new_entries",
    "tune_new_entries",
    "seed",
)
#: keras-tuner's tuners take ``tune_new_entries`` before ``allow_new_entries``.
TUNER_ORDER: tuple[str, ...] = ("seed", "hyperparameters", "tune_new_entries", "allow_new_entries")

#: The name of an oracle's ``**`` parameter that stands for the options.
_OPTIONS_PARAMETER = "options"


@dataclass(frozen=True)
class _Declared:
    name: str
    annotation: str
    option: Option


@functools.cache
def _declared_options() -> tuple[_Declared, ...]:
    """The options as declared in :class:`OracleOptions`, in order."""
    hints = typing.get_type_hints(OracleOptions, include_extras=True)
    declared = []
    for name, hint in hints.items():
        value_type, option = typing.get_args(hint)
        declared.append(_Declared(name, _annotation_text(value_type), option))
    return tuple(declared)


def _annotation_text(annotation: Any) -> str:
    """``int | None`` as the text a postponed annotation shows (``inspect`` prints it quoted)."""
    if isinstance(annotation, types.UnionType):
        return " | ".join(_annotation_text(part) for part in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    if isinstance(annotation, types.GenericAlias):
        arguments = ", ".join(_annotation_text(part) for part in typing.get_args(annotation))
        return f"{_annotation_text(typing.get_origin(annotation))}[{arguments}]"
    return str(annotation.__name__)


def option_names() -> tuple[str, ...]:
    """The options' names, in :class:`OracleOptions` order.

    Example:
        >>> option_names()[:2]
        ('seed', 'hyperparameters')
    """
    return tuple(declared.name for declared in _declared_options())


def option_defaults() -> dict[str, Any]:
    """Each option's default.

    Example:
        >>> option_defaults()["max_consecutive_failed_trials"]
        3
    """
    return {declared.name: declared.option.default for declared in _declared_options()}


def pop_oracle_options(arguments: MutableMapping[str, Any]) -> OracleOptions:
    """Takes the options out of a tuner's ``**kwargs`` (the rest goes to :class:`~tuner.Tuner`).

    Example:
        >>> kwargs = {"seed": 1, "directory": "runs"}
        >>> pop_oracle_options(kwargs), kwargs
        ({'seed': 1}, {'directory': 'runs'})
    """
    names = option_names()
    return cast(OracleOptions, {name: arguments.pop(name) for name in names if name in arguments})


def _ordered(order: Sequence[str]) -> list[_Declared]:
    by_name = {declared.name: declared for declared in _declared_options()}
    unknown = [name for name in order if name not in by_name]
    if unknown:
        raise ValueError(f"Not oracle options: {unknown}.")
    listed = [by_name[name] for name in order]
    return listed + [declared for declared in by_name.values() if declared.name not in order]


def takes_oracle_options(order: Sequence[str] = ()) -> Callable[[ClassT], ClassT]:
    """Gives a class keras-tuner's signature: its own parameters with the options at their place.

    The decorated class's ``__init__`` lists its own parameters, then takes the options either
    as ``**options`` (an oracle; the options replace it) or inside another ``**kwargs``, which
    stays last (a tuner; :func:`pop_oracle_options` takes them out). The options go after the
    positional parameters; keyword-only parameters follow them, as ordinary ones. Calls are
    bound to that signature, so the options may be passed by position, and every option the
    caller left out arrives with its default. The docstring's ``Args:`` section gets an entry
    for each option the class does not document itself, in signature order.

    Args:
        order: Options that come first, in this order (keras-tuner's order differs between its
            base ``Oracle``, its oracles and its tuners); the others follow in declared order.

    Raises:
        TypeError: The class's docstring misses a parameter, or documents one it lacks.

    Example:
        >>> @takes_oracle_options()
        ... class MyOracle:
        ...     '''An oracle.
        ...
        ...     Args:
        ...         objective: What to minimize.
        ...     '''
        ...     def __init__(self, objective=None, **options):
        ...         self.options = options
        >>> list(inspect.signature(MyOracle).parameters)[:3]
        ['objective', 'seed', 'hyperparameters']
        >>> MyOracle("loss", 7).options["seed"]  # by position, as keras-tuner allows
        7
    """
    options = _ordered(order)

    def decorate(cls: ClassT) -> ClassT:
        implementation = vars(cls)["__init__"]
        public = _public_signature(cls, inspect.signature(implementation), options)
        var_keyword = next(
            (p.name for p in public.parameters.values() if p.kind is p.VAR_KEYWORD), None
        )

        @functools.wraps(implementation)
        def __init__(*args: Any, **kwargs: Any) -> None:
            try:
                bound = public.bind(*args, **kwargs)
            except TypeError as error:
                raise TypeError(f"{cls.__qualname__}(): {error}") from None
            bound.apply_defaults()  # the options a caller left out, with their defaults
            arguments = dict(bound.arguments)
            extra = arguments.pop(var_keyword) if var_keyword else {}
            implementation(**arguments, **extra)

        __init__.__signature__ = public  # type: ignore[attr-defined]
        cls.__init__ = __init__  # type: ignore[misc]
        cls.__doc__ = _document(cls, public, {o.name: o.option for o in options})
        return cls

    return decorate


def _public_signature(
    cls: type, implementation: inspect.Signature, options: Sequence[_Declared]
) -> inspect.Signature:
    """The implementation's signature with the options in place of (or before) its ``**``."""
    positional, keyword_only, var_keyword = [], [], None
    for parameter in implementation.parameters.values():
        if parameter.kind is parameter.POSITIONAL_OR_KEYWORD:
            positional.append(parameter)
        elif parameter.kind is parameter.KEYWORD_ONLY:
            keyword_only.append(parameter.replace(kind=parameter.POSITIONAL_OR_KEYWORD))
        elif parameter.kind is parameter.VAR_KEYWORD:
            var_keyword = parameter
        else:
            raise TypeError(f"{cls.__name__}.__init__ may not take {parameter}.")
    if var_keyword is None:
        raise TypeError(f"{cls.__name__}.__init__ must take the options as **options.")
    taken = {parameter.name for parameter in [*positional, *keyword_only]}
    clashes = sorted(taken & {declared.name for declared in options})
    if clashes:
        raise TypeError(f"{cls.__name__}.__init__ names the options {clashes} itself.")
    parameters = [
        *positional,
        *(
            inspect.Parameter(
                declared.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=declared.option.default,
                annotation=declared.annotation,
            )
            for declared in options
        ),
        *keyword_only,
    ]
    if var_keyword.name != _OPTIONS_PARAMETER:
        parameters.append(var_keyword)
    # No return annotation: help() shows a class's signature as keras-tuner's, without one.
    return implementation.replace(parameters=parameters, return_annotation=inspect.Signature.empty)


#: The first line of a Google-style ``Args:`` entry: ``name:``, ``name (type):`` or ``**name:``.
_ENTRY = re.compile(r"(\*{0,2}\w+)(?: \([^)]*\))?:")


def _document(cls: type, public: inspect.Signature, options: Mapping[str, Option]) -> str:
    """``cls``'s docstring with an ``Args:`` entry per parameter, in signature order."""
    lines = (cls.__doc__ or "").split("\n")
    header = next((i for i, line in enumerate(lines) if line.strip() == "Args:"), None)
    if header is None:
        raise TypeError(f"{cls.__name__}'s docstring has no Args: section.")
    indent = lines[header][: len(lines[header]) - len(lines[header].lstrip())] + "    "
    end = header + 1  # the section runs to the next line indented less than its entries
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(indent)):
        end += 1
    while end > header + 1 and not lines[end - 1].strip():
        end -= 1  # the blank line before the next section stays
    entries: dict[str, list[str]] = {}
    for line in lines[header + 1 : end]:
        if not line.strip():
            continue
        match = None if line[len(indent)].isspace() else _ENTRY.match(line, len(indent))
        if match:
            entries[match.group(1)] = [line]
        elif entries:
            entries[next(reversed(entries))].append(line)  # a continuation line
        else:
            raise TypeError(f"{cls.__name__}'s Args: section starts with {line.strip()!r}.")

    documented: list[str] = []
    for parameter in list(public.parameters.values())[1:]:  # not self
        key = f"**{parameter.name}" if parameter.kind is parameter.VAR_KEYWORD else parameter.name
        if key in entries:
            documented += entries.pop(key)
        elif parameter.name in options:
            documented += textwrap.wrap(
                f"{parameter.name}: {options[parameter.name].doc}",
                width=95,
                initial_indent=indent,
                subsequent_indent=indent + "    ",
            )
        else:
            raise TypeError(f"{cls.__name__}'s docstring does not document {key!r}.")
    if entries:
        raise TypeError(f"{cls.__name__}'s docstring documents {sorted(entries)}, not parameters.")
    return "\n".join([*lines[: header + 1], *documented, *lines[end:]])
