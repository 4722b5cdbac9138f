"""Helpers shared by the speed and footprint benchmarks: medians, Markdown tables, JSON results.

Every benchmark prints Markdown tables and writes its figures to
``benchmarks/results/<name>.json`` (git-ignored). Importable from a script run as
``python benchmarks/<name>.py`` because Python puts the script's folder first on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (NaN for none)."""
    return statistics.median(values) if values else float("nan")


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else float("nan")


def format_number(value: Any, digits: int = 3) -> str:
    """A table cell: floats with ``digits`` significant digits, the rest as text."""
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        if abs(value) >= 10**digits:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows (dicts) as a Markdown table with these columns, in this order."""
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(format_number(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    """What the figures were measured on, for the JSON file."""
    versions: dict[str, str] = {}
    for module in ("tuner", "keras_tuner", "optuna", "keras", "tensorflow", "numpy"):
        loaded = sys.modules.get(module)
        if loaded is not None:
            versions[module] = str(getattr(loaded, "__version__", "?"))
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions,
    }


def write_results(name: str, payload: Mapping[str, Any]) -> Path:
    """Writes ``benchmarks/results/<name>.json`` and returns its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {"benchmark": name, "environment": environment(), **payload}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def floor_line(description: str, passed: bool, detail: str) -> str:
    """One line of the floors summary: ``PASS``/``FAIL``, what, and the measured figure."""
    return f"- {'PASS' if passed else 'FAIL'}: {description} ({detail})"


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    """Runs ``function`` and returns (seconds, its result)."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result
