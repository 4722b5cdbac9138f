"""What one run of a trial produced: the :class:`ExecutionRecord`, and turning results into them.

A trial runs its model once per execution (``executions_per_trial``), and once per fold and
execution when it is cross-validated. Each run leaves one record in ``trial.executions``: the
metrics at the run's best step, that step, and the objective's value there. This module is the
only one that knows the record's keys and the shapes ``run_trial`` may return.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuner import errors
from tuner.json_numbers import decode_float, encode_float
from tuner.objective import Objective, is_finite_number

#: The keys of a record's JSON form (``trials/<id>.json``, ``executions`` entries).
METRICS = "metrics"
BEST_STEP = "best_step"
SCORE = "score"
FOLD = "fold"
EXECUTION = "execution"
_KNOWN_KEYS = (METRICS, BEST_STEP, SCORE, FOLD, EXECUTION)


def _is_number(value: Any) -> bool:
    """Whether ``value`` converts to a float (numbers, numpy and tensor scalars; not strings)."""
    if isinstance(value, (str, bytes)):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The entries of a metrics dict that are numbers, as floats."""
    return {str(name): float(value) for name, value in metrics.items() if _is_number(value)}


@dataclass(frozen=True, eq=False)
class ExecutionRecord(Mapping[str, Any]):
    """One finished run of a trial: an execution, or one execution of a cross-validation fold.

    Immutable. It also reads as the read-only mapping of its JSON form (``record["metrics"]``,
    ``record.get("fold")``), so code written against the dict records of earlier versions keeps
    working.

    Attributes:
        metrics: Every metric at the run's best step.
        best_step: That step (an epoch); None when the run has no steps (a number returned).
        score: The objective's value in ``metrics``; None when they do not hold it.
        fold: The cross-validation fold, or None when the trial is not cross-validated.
        execution: The execution within the fold (cross-validation only).
        extra: Other JSON entries a user's ``record_execution`` call gave; kept as they are.

    Example:
        >>> from tuner.objective import Objective
        >>> record = ExecutionRecord.scored({"val_loss": 0.25}, Objective("val_loss", "min"), 3)
        >>> record.score, record["best_step"]
        (0.25, 3)
    """

    metrics: Mapping[str, float]
    best_step: int | None = None
    score: float | None = None
    fold: int | None = None
    execution: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    @classmethod
    def scored(
        cls,
        metrics: Mapping[str, Any],
        objective: Any,
        best_step: int | None = None,
        *,
        fold: int | None = None,
        execution: int | None = None,
    ) -> ExecutionRecord:
        """A record whose score is ``objective``'s value in ``metrics`` (None if absent)."""
        values = numbers(metrics)
        score = objective.get_value(values) if objective.has_value(values) else None
        return cls(values, best_step, score, fold, execution)

    @classmethod
    def of(cls, record: ExecutionRecord | Mapping[str, Any]) -> ExecutionRecord:
        """``record`` as an :class:`ExecutionRecord` (a dict in its JSON form is converted).

        Raises:
            FatalTypeError: ``record`` has no ``"metrics"`` dict.
        """
        if isinstance(record, ExecutionRecord):
            return record
        metrics = record.get(METRICS) if isinstance(record, Mapping) else None
        if not isinstance(metrics, Mapping):
            raise errors.FatalTypeError(
                f"An execution record must be a dict with a {METRICS!r} dict of metric values, "
                f"got {record!r}."
            )
        best_step = record.get(BEST_STEP)
        fold, execution = record.get(FOLD), record.get(EXECUTION)
        return cls(
            {str(name): float(decode_float(value)) for name, value in metrics.items()},  # type: ignore[arg-type]
            None if best_step is None else int(best_step),
            decode_float(record.get(SCORE)),
            None if fold is None else int(fold),
            None if execution is None else int(execution),
            {key: value for key, value in record.items() if key not in _KNOWN_KEYS},
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, in strict JSON (non-finite numbers as strings)."""
        document = self._view()
        document[METRICS] = {name: encode_float(value) for name, value in self.metrics.items()}
        document[SCORE] = encode_float(self.score)
        return document

    def _view(self) -> dict[str, Any]:
        view: dict[str, Any] = {METRICS: self.metrics, BEST_STEP: self.best_step}
        view[SCORE] = self.score
        if self.fold is not None:
            view[FOLD] = self.fold
        if self.execution is not None:
            view[EXECUTION] = self.execution
        view.update(self.extra)
        return view

    def __eq__(self, other: object) -> bool:
        # Equal to a dict holding the same JSON-form entries, as the dict records were.
        if isinstance(other, Mapping):
            return self._view() == dict(other)
        return NotImplemented

    def __getitem__(self, key: str) -> Any:
        return self._view()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._view())

    def __len__(self) -> int:
        return len(self._view())


def records_of(records: Sequence[ExecutionRecord | Mapping[str, Any]]) -> list[ExecutionRecord]:
    """Every entry as an :class:`ExecutionRecord`, folds in (fold, execution) order."""
    converted = [ExecutionRecord.of(record) for record in records]
    if any(record.fold is not None for record in converted):
        converted.sort(key=lambda r: (r.fold if r.fold is not None else -1, r.execution or 0))
    return converted


# --- what run_trial returns ----------------------------------------------------------------------
class CrossValidationResults(list):
    """What a cross-validated ``run_trial`` returns: the trial's fold records, in any order."""


@dataclass(frozen=True)
class NormalizedResult:
    """``run_trial``'s return value in one form.

    Attributes:
        records: One per execution (or fold), in order.
        steps: Per execution, ``(step, metrics)`` for each step it logged (a ``History``'s
            epochs), or one ``(0, metrics)`` entry for a number or dict. What the loop reports
            as the trial's metrics when ``run_trial`` reported nothing while it ran. Empty for
            cross-validation, whose per-epoch metrics were reported live.
        reported_itself: ``run_trial`` returned None: it reported its metrics through
            ``oracle.update_trial`` itself.
    """

    records: tuple[ExecutionRecord, ...]
    steps: tuple[tuple[tuple[int, dict[str, float]], ...], ...] = ()
    reported_itself: bool = False


def normalize_result(result: Any, objective: Any) -> NormalizedResult:
    """Turns what ``run_trial`` (or ``HyperModel.fit``) returned into execution records.

    Knows a number (the objective's value), a dict of metrics, a Keras ``History`` (any object
    with a ``history`` dict of per-epoch lists, and optionally ``epoch``), a list of these (one
    per execution), :class:`CrossValidationResults`, and None.

    Args:
        result: What ``run_trial`` returned.
        objective: The search's objective: picks each run's best step.

    Raises:
        FatalTypeError: ``result`` has none of these shapes, or is a number while the
            objective has several metrics.
        FatalValueError: A ``History`` holds no epochs.

    Example:
        >>> from tuner.objective import Objective
        >>> normalized = normalize_result([{"loss": 1.0}, {"loss": 3.0}], Objective("loss", "min"))
        >>> [record.score for record in normalized.records]
        [1.0, 3.0]
    """
    if result is None:
        return NormalizedResult((), (), reported_itself=True)
    if isinstance(result, CrossValidationResults):
        return NormalizedResult(tuple(records_of(result)))
    items = result if isinstance(result, list) else [result]
    if not items:
        raise errors.FatalTypeError("run_trial returned an empty list: return one result per run.")
    records, steps = [], []
    for item in items:
        record, item_steps = _normalize_one(item, objective)
        records.append(record)
        steps.append(item_steps)
    return NormalizedResult(tuple(records), tuple(steps))


def _normalize_one(
    result: Any, objective: Any
) -> tuple[ExecutionRecord, tuple[tuple[int, dict[str, float]], ...]]:
    history = getattr(result, "history", None)
    if isinstance(history, Mapping):
        history = {str(name): list(values) for name, values in history.items()}
        length = max((len(values) for values in history.values()), default=0)
        if length == 0:
            raise errors.FatalValueError("fit returned a History with no epochs.")
        epochs = list(getattr(result, "epoch", None) or range(length))
        rows = [
            numbers(
                {
                    name: values[position]
                    for name, values in history.items()
                    if position < len(values)
                }
            )
            for position in range(length)
        ]
        best = _best_position(objective, rows)
        record = ExecutionRecord.scored(rows[best], objective, int(epochs[best]))
        return record, tuple((int(epochs[p]), rows[p]) for p in range(length))
    if isinstance(result, Mapping):
        record = ExecutionRecord.scored(result, objective)
        return record, ((0, dict(record.metrics)),)
    if _is_number(result):
        if not isinstance(objective, Objective):
            raise errors.FatalTypeError(
                "With several objectives, run_trial must return a dict of metrics, not a number."
            )
        record = ExecutionRecord.scored({objective.name: float(result)}, objective)
        return record, ((0, dict(record.metrics)),)
    raise errors.FatalTypeError(
        "run_trial (or HyperModel.fit) must return a number, a dict of metrics, a Keras "
        f"History or a list of them; got {type(result).__name__}."
    )


def _best_position(objective: Any, rows: Sequence[Mapping[str, float]]) -> int:
    """The epoch with the best finite objective value; the last one when there is none."""
    best = None
    best_value = None
    for position, row in enumerate(rows):
        if not objective.has_value(row):
            continue
        value = objective.get_value(row)
        if not is_finite_number(value):
            continue
        if best_value is None or objective.better_than(value, best_value):
            best, best_value = position, value
    return len(rows) - 1 if best is None else best
