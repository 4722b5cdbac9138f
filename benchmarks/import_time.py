"""Import time: ``import tuner`` vs ``import optuna`` vs ``import keras_tuner``, same run.

Each measurement is a fresh Python subprocess that times its own ``import`` with
``time.perf_counter`` (interpreter start-up excluded) and reports which heavy modules the import
pulled in. The tools alternate (rotating order) so that a busy moment of the machine hits all of
them alike; the table shows medians over the repeats. One untimed warm-up per tool first fills
the file-system cache.

Also measured: ``import tuner`` followed by building a ``HyperParameters`` with a few
hyperparameters, the first thing every user script does; neither may import Keras or TensorFlow.

Usage::

    python benchmarks/import_time.py            # 15 repeats
    python benchmarks/import_time.py --quick    # 3 repeats
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

from _report import floor_line, markdown_table, median, ratio, write_results

#: What each case runs after the timer starts.
CASES: dict[str, str] = {
    "tuner": "import tuner",
    "tuner + HyperParameters": (
        "import tuner\n"
        "hp = tuner.HyperParameters()\n"
        "hp.Int('units', 32, 512, step=32)\n"
        "hp.Float('learning_rate', 1e-4, 1e-2, sampling='log')\n"
        "hp.Choice('activation', ['relu', 'tanh'])\n"
        "hp.Boolean('batch_norm')"
    ),
    "optuna": "import optuna",
    "keras_tuner": "import keras_tuner",
}
#: Modules whose presence after the import is reported.
HEAVY_MODULES = ("tensorflow", "keras", "torch", "jax", "scipy", "pandas", "sklearn")

_PROBE = """
import json, sys, time
start = time.perf_counter()
{code}
seconds = time.perf_counter() - start
heavy = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"seconds": seconds, "heavy": heavy, "modules": len(sys.modules)}}))
"""


def measure(code: str) -> dict[str, Any]:
    """Runs ``code`` in a fresh interpreter; returns its import seconds and heavy modules."""
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code, heavy=HEAVY_MODULES)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{code!r} failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    parser.add_argument("--repeats", type=int, help="fresh interpreters per case (default 15)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 15)

    names = list(CASES)
    for name in names:  # warm the file-system cache; not timed
        measure(CASES[name])
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(measure(CASES[name]))
        print(
            f"  repeat {repeat + 1}/{repeats}: "
            + ", ".join(f"{n} {samples[n][-1]['seconds']:.3f} s" for n in names),
            flush=True,
        )

    seconds = {name: median([s["seconds"] for s in samples[name]]) for name in names}
    rows = [
        {
            "import": name,
            "median s": seconds[name],
            "min s": min(s["seconds"] for s in samples[name]),
            "vs tuner": ratio(seconds[name], seconds["tuner"]),
            "modules loaded": samples[name][-1]["modules"],
            "heavy modules": ", ".join(samples[name][-1]["heavy"]) or "none",
        }
        for name in names
    ]
    table = markdown_table(
        rows, ["import", "median s", "min s", "vs tuner", "modules loaded", "heavy modules"]
    )
    tuner_heavy = {
        m
        for name in ("tuner", "tuner + HyperParameters")
        for s in samples[name]
        for m in s["heavy"]
    }
    floors = [
        floor_line(
            "import tuner <= import optuna",
            seconds["tuner"] <= seconds["optuna"],
            f"{seconds['tuner']:.3f} s vs {seconds['optuna']:.3f} s",
        ),
        floor_line(
            "import tuner (and building HyperParameters) imports neither Keras nor TensorFlow",
            not tuner_heavy & {"keras", "tensorflow"},
            f"heavy modules: {', '.join(sorted(tuner_heavy)) or 'none'}",
        ),
    ]
    print(f"\n### Import time (median of {repeats} fresh interpreters)\n\n{table}\n")
    print("\n".join(floors) + "\n")
    path = write_results(
        "import_time",
        {
            "repeats": repeats,
            "rows": rows,
            "samples": samples,
            "floors": floors,
        },
    )
    print(f"Results written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
