"""The boundary between the search loop and wherever a trial runs (framework-free).

- :class:`OracleHandle` (:mod:`~tuner.execution.handle`): everything a tuner may ask of its
  oracle; the oracle itself and :class:`~tuner.execution.remote.RemoteOracle` implement it.
- :class:`ExecutionRecord` and :func:`normalize_result` (:mod:`~tuner.execution.records`): what
  one run of a trial produced, from whatever ``run_trial`` returned.
- :mod:`~tuner.execution.scoring`: the one rule that turns records or metrics into a score.
- :mod:`~tuner.execution.messages`, :mod:`~tuner.execution.service`,
  :mod:`~tuner.execution.remote`: one JSON message format, its serving side and its calling side,
  shared by trial subprocesses and Ray workers.
- :mod:`~tuner.execution.shipping`: which tuner attributes travel to a worker.
"""

from tuner.execution.handle import OracleHandle
from tuner.execution.records import (
    CrossValidationResults,
    ExecutionRecord,
    NormalizedResult,
    normalize_result,
)
from tuner.execution.scoring import score_trial

__all__ = [
    "CrossValidationResults",
    "ExecutionRecord",
    "NormalizedResult",
    "OracleHandle",
    "normalize_result",
    "score_trial",
]
