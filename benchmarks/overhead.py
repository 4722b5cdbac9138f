"""The search's own cost, without training: trials per second, per-trial growth, reload time.

Every tool runs the same trivial objective (a few float operations on the proposed values), so
what is measured is the tuner itself: proposing, book-keeping and crash-safe persistence.

- tuner: a :class:`tuner.BaseTuner` subclass whose ``run_trial`` returns a float, with the real
  project directory (``JsonDirStorage``: one JSON file per trial, fsync'ed atomic writes).
- keras-tuner: its ``RandomSearchOracle`` / ``GridSearchOracle`` driven by a
  ``keras_tuner.BaseTuner`` subclass with the same ``run_trial``.
- Optuna: ``RandomSampler`` / ``GridSampler`` with a file storage
  (``JournalStorage(JournalFileBackend(...))``).

Sections (choose with ``--section``; default: all):

- ``throughput``: random and grid search, 100 and 1,000 trials: trials/s, and the per-trial
  time of the last 10 % of trials over that of the first 10 % (growth).
- ``reload``: the time to reopen a project of 1,000 finished trials.
- ``latency``: seconds per proposal of the Bayesian and TPE oracles (tuner, keras-tuner's
  Bayesian oracle, Optuna's GP and TPE samplers) with 50, 200 and 1,000 finished trials
  (``--quick``: 50 and 200).

Adding a section (for example proposal latency of Bayesian or TPE oracles): write a function
``section_<name>(settings: Settings) -> SectionResult`` that runs its measurements, returns its
rows, a Markdown table and its floor lines, and register it in :data:`SECTIONS`; the command line,
the printed report and the JSON file (one key per section) pick it up.

Usage::

    python benchmarks/overhead.py            # everything, 3 repeats
    python benchmarks/overhead.py --quick    # 100 and 300 trials, 1 repeat
    python benchmarks/overhead.py --section reload
    git worktree add /tmp/before <commit>    # then, paired against that commit:
    python benchmarks/overhead.py --baseline /tmp/before --quick   # add --section to run more
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _report import floor_line, markdown_table, median, ratio, write_results

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tuner
from tuner.oracles import (
    BayesianOptimizationOracle,
    GridSearchOracle,
    RandomSearchOracle,
    TPEOracle,
)

#: A reference run of tuner with fsync disabled, to separate its own cost from the disk's.
NO_FSYNC = "tuner (no fsync, reference)"
TOOLS = ("tuner", "keras-tuner", "optuna", NO_FSYNC)
ALGORITHMS = ("random", "grid")
#: The floors of issue 2, checked at the largest trial count.
FLOOR_SPEEDUP_OVER_KERAS_TUNER = 5.0
FLOOR_GROWTH = 1.5
FLOOR_RELOAD_SECONDS = 1.0


@dataclass(frozen=True)
class Settings:
    """What to run: trial counts, repeats, and where the project directories go."""

    trial_counts: tuple[int, ...]
    repeats: int
    reload_trials: int
    workdir: Path
    tools: tuple[str, ...] = TOOLS


@dataclass
class SectionResult:
    """What a section hands back: rows for JSON, a Markdown table, floor lines."""

    title: str
    rows: list[dict[str, Any]]
    table: str
    floors: list[str] = field(default_factory=list)
    passed: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


# --- the trivial objective and its search spaces ---------------------------------------------
def objective(
    x: float, learning_rate: float, units: int, activation: str, batch_norm: bool
) -> float:
    """A few float operations: the "training" of every trial."""
    return (
        (x - 0.5) ** 2
        + abs(math.log10(learning_rate) + 3)
        + units / 512
        + len(activation) / 10
        + batch_norm
    )


def grid_objective(a: int, b: int, c: int) -> float:
    return (a - 3) ** 2 + (b - 6) ** 2 + (c - 1) ** 2


GRID_SIDE = 10  # 10 x 10 x 10 = 1,000 grid points


def define_random_space(hp: Any) -> None:
    """The random-search space, on any keras-tuner compatible ``HyperParameters``."""
    hp.Float("x", -5.0, 5.0)
    hp.Float("learning_rate", 1e-5, 1e-1, sampling="log")
    hp.Int("units", 8, 512, step=8)
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    hp.Boolean("batch_norm")


def define_grid_space(hp: Any) -> None:
    for name in ("a", "b", "c"):
        hp.Int(name, 0, GRID_SIDE - 1)


def evaluate(values: Any, algorithm: str) -> float:
    """The objective of a trial, from anything with ``[name]`` access to its values."""
    if algorithm == "grid":
        return grid_objective(values["a"], values["b"], values["c"])
    return objective(
        values["x"],
        values["learning_rate"],
        values["units"],
        values["activation"],
        values["batch_norm"],
    )


# --- one timed search per tool ---------------------------------------------------------------
@dataclass
class SearchTiming:
    """A search's wall and CPU time, and the start time of each trial."""

    seconds: float
    cpu_seconds: float
    trial_starts: list[float]
    end: float

    @property
    def trials(self) -> int:
        return len(self.trial_starts)

    def per_trial(self) -> list[float]:
        """Each trial's time: from its start to the next trial's start (or the search's end)."""
        boundaries = [*self.trial_starts, self.end]
        return [later - earlier for earlier, later in itertools.pairwise(boundaries)]

    def growth(self) -> float:
        """Median per-trial time of the last 10 % of trials over that of the first 10 %.

        Medians, not means: a single slow fsync (the disk is shared) would otherwise swing the
        ratio, while work that grows with the number of trials moves the median as much.
        """
        times = self.per_trial()
        window = max(1, len(times) // 10)
        return ratio(median(times[-window:]), median(times[:window]))


def timed_search(
    start_search: Callable[[], None], starts: list[float], expected: int, tool: str
) -> SearchTiming:
    """Times ``start_search()`` (construction and search); ``starts`` fills as trials begin."""
    begin, cpu_begin = time.perf_counter(), time.process_time()
    start_search()
    end, cpu_end = time.perf_counter(), time.process_time()
    if len(starts) != expected:
        raise RuntimeError(f"{tool} ran {len(starts)} trials instead of {expected}")
    return SearchTiming(end - begin, cpu_end - cpu_begin, list(starts), end)


def run_tuner(algorithm: str, trials: int, seed: int, project_dir: Path) -> SearchTiming:
    """tuner: a BaseTuner whose run_trial returns a float, on the real project directory."""
    starts: list[float] = []

    class TrivialTuner(tuner.BaseTuner):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> float:
            starts.append(time.perf_counter())
            return evaluate(trial.hyperparameters, algorithm)

    space = tuner.HyperParameters()
    if algorithm == "grid":
        define_grid_space(space)
        oracle: tuner.Oracle = GridSearchOracle(
            objective="loss", max_trials=trials, seed=seed, hyperparameters=space
        )
    else:
        define_random_space(space)
        oracle = RandomSearchOracle(
            objective="loss", max_trials=trials, seed=seed, hyperparameters=space
        )

    def start_search() -> None:
        search = TrivialTuner(
            oracle, directory=str(project_dir.parent), project_name=project_dir.name
        )
        search.search(verbose=0)

    return timed_search(start_search, starts, trials, "tuner")


def run_keras_tuner(algorithm: str, trials: int, seed: int, project_dir: Path) -> SearchTiming:
    """keras-tuner: its oracle through a keras_tuner.BaseTuner subclass, same run_trial."""
    import keras_tuner
    from keras_tuner.engine.base_tuner import BaseTuner as KerasTunerBaseTuner

    starts: list[float] = []

    class TrivialTuner(KerasTunerBaseTuner):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> float:
            starts.append(time.perf_counter())
            return evaluate(trial.hyperparameters, algorithm)

    space = keras_tuner.HyperParameters()
    objective_spec = keras_tuner.Objective("loss", "min")
    if algorithm == "grid":
        define_grid_space(space)
        oracle = keras_tuner.oracles.GridSearchOracle(
            objective=objective_spec, max_trials=trials, seed=seed, hyperparameters=space
        )
    else:
        define_random_space(space)
        oracle = keras_tuner.oracles.RandomSearchOracle(
            objective=objective_spec, max_trials=trials, seed=seed, hyperparameters=space
        )

    def start_search() -> None:
        search = TrivialTuner(
            oracle, directory=str(project_dir.parent), project_name=project_dir.name
        )
        with contextlib.redirect_stdout(io.StringIO()):  # its display ignores verbose=0 in places
            search.search(verbose=0)

    return timed_search(start_search, starts, trials, "keras-tuner")


def _optuna_storage(project_dir: Path) -> Any:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    project_dir.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(project_dir / "journal.log")))


def run_optuna(algorithm: str, trials: int, seed: int, project_dir: Path) -> SearchTiming:
    """Optuna with a file storage (JournalStorage + JournalFileBackend)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    starts: list[float] = []

    def run(trial: Any) -> float:
        starts.append(time.perf_counter())
        if algorithm == "grid":
            values = {n: trial.suggest_int(n, 0, GRID_SIDE - 1) for n in ("a", "b", "c")}
        else:
            values = {
                "x": trial.suggest_float("x", -5.0, 5.0),
                "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-1, log=True),
                "units": trial.suggest_int("units", 8, 512, step=8),
                "activation": trial.suggest_categorical("activation", ["relu", "tanh", "gelu"]),
                "batch_norm": trial.suggest_categorical("batch_norm", [False, True]),
            }
        return evaluate(values, algorithm)

    if algorithm == "grid":
        grid = {name: list(range(GRID_SIDE)) for name in ("a", "b", "c")}
        sampler: Any = optuna.samplers.GridSampler(grid, seed=seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)

    def start_search() -> None:
        study = optuna.create_study(
            storage=_optuna_storage(project_dir), sampler=sampler, study_name="overhead"
        )
        study.optimize(run, n_trials=trials)

    return timed_search(start_search, starts, trials, "optuna")


def run_tuner_without_fsync(
    algorithm: str, trials: int, seed: int, project_dir: Path
) -> SearchTiming:
    """Runs tuner with ``os.fsync`` disabled: its own cost without the disk's (a reference only).

    Still atomic (temporary file + rename), hence SIGKILL-safe; not what tuner ships.
    """
    real_fsync = os.fsync
    os.fsync = lambda descriptor: None
    try:
        return run_tuner(algorithm, trials, seed, project_dir)
    finally:
        os.fsync = real_fsync


RUNNERS: dict[str, Callable[[str, int, int, Path], SearchTiming]] = {
    "tuner": run_tuner,
    "keras-tuner": run_keras_tuner,
    "optuna": run_optuna,
    NO_FSYNC: run_tuner_without_fsync,
}


def fsync_latency(directory: Path, writes: int = 50) -> float:
    """Median seconds of one small fsync'ed atomic write in ``directory`` (the disk's cost)."""
    probe = Path(tempfile.mkdtemp(prefix="fsync-probe-", dir=directory))
    seconds = []
    try:
        for index in range(writes):
            start = time.perf_counter()
            descriptor, temporary = tempfile.mkstemp(dir=probe)
            os.write(descriptor, b'{"trial_id": "0000", "status": "COMPLETED"}' * 10)
            os.fsync(descriptor)
            os.close(descriptor)
            os.replace(temporary, probe / f"{index % 5}.json")
            seconds.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return median(seconds)


def fresh_project(settings: Settings, label: str) -> Path:
    """An empty project path under the work directory (its parent exists, it does not)."""
    parent = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=settings.workdir))
    return parent / "project"


# --- sections --------------------------------------------------------------------------------
def warm_up(settings: Settings) -> None:
    """Runs a short search with every tool, untimed: lazy imports and first-use costs."""
    for tool in settings.tools:
        for algorithm in ALGORITHMS:
            project = fresh_project(settings, f"warm-{tool}-{algorithm}")
            RUNNERS[tool](algorithm, 20, 0, project)
            shutil.rmtree(project.parent, ignore_errors=True)


def section_throughput(settings: Settings) -> SectionResult:
    """Trials/s and per-trial growth of random and grid search, every tool, alternating."""
    warm_up(settings)
    samples: dict[tuple[str, int, str], list[SearchTiming]] = {}
    fsync_seconds = []
    # Deleted at the end, not between runs: deleting a thousand files makes the next fsyncs
    # (of whichever tool runs next) wait for that work too.
    finished_projects: list[Path] = []
    for repeat in range(settings.repeats):
        fsync_seconds.append(fsync_latency(settings.workdir))
        for algorithm in ALGORITHMS:
            for trials in settings.trial_counts:
                # Rotate the order so that no tool always runs first (or after a cold cache).
                order = list(settings.tools)
                shift = repeat % len(order)
                for tool in order[shift:] + order[:shift]:
                    project = fresh_project(settings, f"{algorithm}-{trials}")
                    # Start every tool with no dirty pages left by the one before: an fsync would
                    # otherwise pay for the write-back of a tool that does not fsync.
                    os.sync()
                    timing = RUNNERS[tool](algorithm, trials, repeat, project)
                    finished_projects.append(project.parent)
                    samples.setdefault((algorithm, trials, tool), []).append(timing)
                    print(
                        f"  repeat {repeat + 1}/{settings.repeats} {algorithm:6} {trials:5} "
                        f"{tool:28} {timing.trials / timing.seconds:8.1f} trials/s "
                        f"cpu {1000 * timing.cpu_seconds / timing.trials:6.3f} ms/trial "
                        f"growth {timing.growth():.2f}",
                        flush=True,
                    )
    for parent in finished_projects:
        shutil.rmtree(parent, ignore_errors=True)
    rows = []
    for algorithm in ALGORITHMS:
        for trials in settings.trial_counts:
            rates = {
                tool: median([t.trials / t.seconds for t in samples[(algorithm, trials, tool)]])
                for tool in settings.tools
            }
            cpu = {
                tool: median(
                    [t.cpu_seconds / t.trials for t in samples[(algorithm, trials, tool)]]
                )
                for tool in settings.tools
            }
            for tool in settings.tools:
                timings = samples[(algorithm, trials, tool)]
                rows.append(
                    {
                        "algorithm": algorithm,
                        "trials": trials,
                        "tool": tool,
                        "trials/s": rates[tool],
                        "ms/trial": 1000 / rates[tool],
                        "CPU ms/trial": 1000 * cpu[tool],
                        "growth last/first 10%": median([t.growth() for t in timings]),
                        "tuner speed-up": ratio(rates.get("tuner", math.nan), rates[tool]),
                        "tuner CPU speed-up": ratio(cpu[tool], cpu.get("tuner", math.nan)),
                        "repeats": len(timings),
                    }
                )
    largest = max(settings.trial_counts)
    floors = []
    passed = True
    for algorithm in ALGORITHMS:
        at_largest = {
            r["tool"]: r for r in rows if r["algorithm"] == algorithm and r["trials"] == largest
        }
        if "tuner" not in at_largest:
            continue
        if "keras-tuner" in at_largest:
            speedup = at_largest["keras-tuner"]["tuner speed-up"]
            ok = speedup >= FLOOR_SPEEDUP_OVER_KERAS_TUNER
            passed &= ok
            floors.append(
                floor_line(
                    f"{algorithm}, {largest} trials: tuner >= "
                    f"{FLOOR_SPEEDUP_OVER_KERAS_TUNER:g}x keras-tuner's trials/s",
                    ok,
                    f"{speedup:.1f}x; CPU time "
                    f"{at_largest['keras-tuner']['tuner CPU speed-up']:.1f}x",
                )
            )
        growth = at_largest["tuner"]["growth last/first 10%"]
        ok = growth <= FLOOR_GROWTH
        passed &= ok
        floors.append(
            floor_line(
                f"{algorithm}, {largest} trials: tuner's last/first 10 % per-trial time "
                f"<= {FLOOR_GROWTH:g}",
                ok,
                f"{growth:.2f}",
            )
        )
    disk = median(fsync_seconds)
    floors.append(
        f"- Disk: one fsync'ed atomic write of a small file takes {1000 * disk:.2f} ms (median "
        "in this run); tuner does one per trial when its trials are this short (the trial file "
        "when it ends: the record of a starting trial is held back and superseded), "
        "keras-tuner none, Optuna's journal one per trial state change."
    )
    columns = [
        "algorithm",
        "trials",
        "tool",
        "trials/s",
        "ms/trial",
        "CPU ms/trial",
        "growth last/first 10%",
        "tuner speed-up",
        "tuner CPU speed-up",
    ]
    result = SectionResult(
        "Throughput with a trivial objective (medians over repeats)",
        rows,
        markdown_table(rows, columns),
        floors,
        passed,
    )
    result.extra["fsync_seconds"] = fsync_seconds
    return result


def _reload_seconds(tool: str, project: Path, trials: int) -> float:
    """Seconds to reopen a finished project and see all its trials."""
    if tool == "tuner":

        class Reopened(tuner.BaseTuner):
            def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> float:
                raise AssertionError("a reload runs no trial")

        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            search = Reopened(
                RandomSearchOracle(objective="loss", max_trials=trials),
                directory=str(project.parent),
                project_name=project.name,
            )
        seconds = time.perf_counter() - start
        seen = len(search.oracle.trials)
    elif tool == "keras-tuner":
        import keras_tuner
        from keras_tuner.engine.base_tuner import BaseTuner as KerasTunerBaseTuner

        class ReopenedKt(KerasTunerBaseTuner):
            def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> float:
                raise AssertionError("a reload runs no trial")

        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            search = ReopenedKt(
                keras_tuner.oracles.RandomSearchOracle(
                    objective=keras_tuner.Objective("loss", "min"), max_trials=trials
                ),
                directory=str(project.parent),
                project_name=project.name,
            )
        seconds = time.perf_counter() - start
        seen = len(search.oracle.trials)
    else:
        import optuna

        start = time.perf_counter()
        study = optuna.load_study(study_name="overhead", storage=_optuna_storage(project))
        seen = len(study.trials)
        seconds = time.perf_counter() - start
    if seen != trials:
        raise RuntimeError(f"{tool} reloaded {seen} trials instead of {trials}")
    return seconds


def section_reload(settings: Settings) -> SectionResult:
    """Time to reopen a project of ``reload_trials`` finished random-search trials."""
    trials = settings.reload_trials
    rows = []
    seconds_by_tool: dict[str, float] = {}
    tools = [tool for tool in settings.tools if tool != NO_FSYNC]  # same reader as "tuner"
    for tool in tools:
        project = fresh_project(settings, f"reload-{tool}")
        RUNNERS[tool]("random", trials, 0, project)
        measured = [
            _reload_seconds(tool, project, trials) for _ in range(max(3, settings.repeats))
        ]
        shutil.rmtree(project.parent, ignore_errors=True)
        seconds_by_tool[tool] = median(measured)
        print(f"  reload {tool:12} {seconds_by_tool[tool]:.3f} s", flush=True)
    for tool in tools:
        rows.append(
            {
                "tool": tool,
                "trials": trials,
                "reload s": seconds_by_tool[tool],
                "tuner speed-up": ratio(
                    seconds_by_tool[tool], seconds_by_tool.get("tuner", math.nan)
                ),
            }
        )
    reload_time = seconds_by_tool.get("tuner", math.nan)
    ok = reload_time <= FLOOR_RELOAD_SECONDS
    return SectionResult(
        f"Reload of a project of {trials} trials (median seconds)",
        rows,
        markdown_table(rows, ["tool", "trials", "reload s", "tuner speed-up"]),
        [
            floor_line(
                f"tuner reloads {trials} trials in <= {FLOOR_RELOAD_SECONDS:g} s",
                ok,
                f"{reload_time:.3f} s",
            )
        ],
        ok,
    )


# --- proposal latency of the model-based oracles (issue 4) ---------------------------------
#: Issue 4's floor: a Bayesian proposal at 200 finished trials.
FLOOR_BAYESIAN_LATENCY_SECONDS = 0.050
LATENCY_TOOLS = ("tuner-bayesian", "tuner-tpe", "keras-tuner-bayesian", "optuna-gp", "optuna-tpe")


def _latency_counts(settings: Settings) -> tuple[int, ...]:
    return (50, 200) if settings.repeats == 1 else (50, 200, 1000)


Timings = list[tuple[float, float]]  # (wall seconds, CPU seconds) of each timed proposal


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def _timed_proposals_tuner(oracle: tuner.Oracle, count: int, proposals: int) -> Timings:
    """Fills ``count`` finished trials (space-filling: cheap), then times model proposals."""
    times = []
    for index in range(count + 1 + proposals):
        start = _clock()
        trial = oracle.create_trial("worker")
        elapsed = _since(start)
        if index > count:  # the first model proposal fits the kernel from scratch: not timed
            times.append(elapsed)
        oracle.update_trial(trial.trial_id, {"loss": evaluate(trial.hyperparameters, "random")})
        trial.status = tuner.TrialStatus.COMPLETED
        oracle.end_trial(trial)
    return times


def _latency_tuner(kind: str, count: int, proposals: int, seed: int) -> Timings:
    space = tuner.HyperParameters()
    define_random_space(space)
    total = count + 1 + proposals
    if kind == "tuner-bayesian":
        oracle: tuner.Oracle = BayesianOptimizationOracle(
            objective="loss", max_trials=total, num_initial_points=count, seed=seed,
            hyperparameters=space,
        )  # fmt: skip
    else:
        oracle = TPEOracle(
            objective="loss", max_trials=total, num_initial_points=count, seed=seed,
            hyperparameters=space,
        )  # fmt: skip
    return _timed_proposals_tuner(oracle, count, proposals)


def _latency_keras_tuner(count: int, proposals: int, seed: int) -> Timings:
    with contextlib.redirect_stderr(io.StringIO()):
        import keras_tuner
    space = keras_tuner.HyperParameters()
    define_random_space(space)
    oracle = keras_tuner.oracles.BayesianOptimizationOracle(
        objective=keras_tuner.Objective("loss", "min"), max_trials=count + 1 + proposals,
        num_initial_points=count, seed=seed, hyperparameters=space,
    )  # fmt: skip
    directory = tempfile.mkdtemp(prefix="kt-latency-")
    times = []
    quiet = contextlib.redirect_stdout(io.StringIO())  # its oracle prints every trial
    try:
        quiet.__enter__()
        oracle._set_project_dir(directory, "latency")
        for index in range(count + 1 + proposals):
            start = _clock()
            trial = oracle.create_trial("worker")
            elapsed = _since(start)
            if index > count:
                times.append(elapsed)
            oracle.update_trial(
                trial.trial_id, {"loss": evaluate(trial.hyperparameters.values, "random")}
            )
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
    finally:
        quiet.__exit__(None, None, None)
        shutil.rmtree(directory, ignore_errors=True)
    return times


def _latency_optuna(kind: str, count: int, proposals: int, seed: int) -> Timings:
    import optuna
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    distributions = {
        "x": FloatDistribution(-5.0, 5.0),
        "learning_rate": FloatDistribution(1e-5, 1e-1, log=True),
        "units": IntDistribution(8, 512, step=8),
        "activation": CategoricalDistribution(["relu", "tanh", "gelu"]),
        "batch_norm": CategoricalDistribution([False, True]),
    }
    sampler = (
        optuna.samplers.GPSampler(seed=seed)
        if kind == "optuna-gp"
        else optuna.samplers.TPESampler(seed=seed)
    )
    study = optuna.create_study(sampler=sampler)
    # Prefilled with random finished trials: the model work starts at the first timed ask.
    rng = optuna.samplers.RandomSampler(seed=seed)
    filler = optuna.create_study(sampler=rng)
    prefill = []
    for _ in range(count):
        trial = filler.ask(distributions)
        params = dict(trial.params)
        prefill.append(
            optuna.trial.create_trial(
                params=params, distributions=distributions, value=evaluate(params, "random")
            )
        )
    study.add_trials(prefill)
    times = []
    for index in range(1 + proposals):
        start = _clock()
        trial = study.ask(distributions)
        elapsed = _since(start)
        if index > 0:
            times.append(elapsed)
        study.tell(trial, evaluate(trial.params, "random"))
    return times


def _measure_latencies(
    settings: Settings, rows: list[dict[str, Any]], medians: dict[tuple[str, int], float]
) -> None:
    for count in _latency_counts(settings):
        for kind in LATENCY_TOOLS:
            if kind == "tuner-bayesian":
                proposals = max(10, count // 10)
                times = _latency_tuner(kind, count, proposals, seed=1)
            elif kind == "tuner-tpe":
                times = _latency_tuner(kind, count, 10, seed=1)
            elif kind == "keras-tuner-bayesian":
                times = _latency_keras_tuner(count, 1 if count >= 1000 else 3, seed=1)
            else:
                times = _latency_optuna(kind, count, 10, seed=1)
            wall = [w for w, _ in times]
            cpu = [c for _, c in times]
            medians[(kind, count)] = median(wall)
            rows.append(
                {
                    "method": kind,
                    "trials": count,
                    "median s": median(wall),
                    "mean s": sum(wall) / len(wall),
                    "max s": max(wall),
                    "median CPU s": median(cpu),
                    "proposals timed": len(wall),
                }
            )
            print(f"  latency {kind:22} n={count:5d} median {median(wall):.4f} s", flush=True)


@contextlib.contextmanager
def _one_thread() -> Any:
    """One BLAS and one torch thread for every tool, as tuner's oracle uses during a proposal.

    On a shared machine threads mostly wait for each other; with one each, the comparison is of
    the work the algorithms do.
    """
    with contextlib.ExitStack() as stack:
        with contextlib.suppress(ImportError):
            import scipy.linalg  # noqa: F401 - load scipy's BLAS first, so that it is limited too
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(limits=1))
        try:
            import torch
        except ImportError:
            torch = None
        threads = torch.get_num_threads() if torch is not None else None
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(threads)


def section_latency(settings: Settings) -> SectionResult:
    """Seconds per proposal of the model-based oracles with 50, 200 and 1,000 finished trials.

    The mixed space of the throughput section (five hyperparameters of four types). Each run
    fills ``n`` finished trials, makes one untimed model proposal (a kernel fit from scratch),
    then times the next ones: ``max(10, n/10)`` for tuner's Bayesian oracle, so that the median
    is a typical proposal and the mean includes the kernel refit it makes every 10 % of growth
    beyond 64 trials; 10 for the TPE oracles and Optuna's GP; 3 for keras-tuner (1 at 1,000).
    Every tool runs with one BLAS and one torch thread (tuner's oracle limits itself to one BLAS
    thread during a proposal anyway). CPU seconds are reported beside wall seconds: on a shared
    machine they show the work itself.
    """
    rows = []
    medians: dict[tuple[str, int], float] = {}
    with _one_thread():
        _measure_latencies(settings, rows, medians)
    for row in rows:
        row["vs tuner-bayesian"] = ratio(
            row["median s"], medians.get(("tuner-bayesian", row["trials"]), math.nan)
        )
    at_200 = medians.get(("tuner-bayesian", 200), math.nan)
    ok = at_200 <= FLOOR_BAYESIAN_LATENCY_SECONDS
    columns = ["method", "trials", "median s", "mean s", "max s", "median CPU s"]
    columns.append("vs tuner-bayesian")
    return SectionResult(
        "Proposal latency of the model-based oracles (seconds; ratio of medians)",
        rows,
        markdown_table(rows, columns),
        [
            floor_line(
                "tuner Bayesian proposal at 200 trials <= "
                f"{FLOOR_BAYESIAN_LATENCY_SECONDS * 1000:g} ms (median)",
                ok,
                f"{at_200 * 1000:.1f} ms",
            )
        ],
        ok,
    )


#: Every section, in the order they run by default.
SECTIONS: dict[str, Callable[[Settings], SectionResult]] = {
    "throughput": section_throughput,
    "reload": section_reload,
    "latency": section_latency,
}


# --- this checkout against another one, paired -----------------------------------------------
#: Pairs of runs (one per checkout, in alternating order) per measurement of ``--baseline``.
BASELINE_PAIRS = 7


def _run_in_checkout(checkout: Path, algorithm: str, trials: int, project_dir: Path) -> float:
    """Seconds of one tuner search run in a subprocess that imports tuner from ``checkout``."""
    environment = dict(os.environ, PYTHONPATH=str(checkout))
    command = [sys.executable, __file__, "--child", algorithm, str(trials), str(project_dir)]
    output = subprocess.run(command, env=environment, check=True, capture_output=True, text=True)
    return float(json.loads(output.stdout.splitlines()[-1])["seconds"])


def compare_with_baseline(settings: Settings, baseline: Path) -> SectionResult:
    """This checkout's search time over ``baseline``'s, as the median of paired ratios.

    Each pair runs the same search once with each checkout, one right after the other, in an
    order that alternates from pair to pair, so slow periods of a noisy machine hit both.
    """
    current = Path(__file__).resolve().parent.parent
    trials = max(settings.trial_counts)
    rows = []
    for algorithm in ALGORITHMS:
        ratios, seconds = [], {"current": [], "baseline": []}
        for pair in range(BASELINE_PAIRS):
            order = [("current", current), ("baseline", baseline)]
            if pair % 2:
                order.reverse()
            timing = {}
            for label, checkout in order:
                project = fresh_project(settings, f"{label}-{algorithm}-{pair}")
                timing[label] = _run_in_checkout(checkout, algorithm, trials, project)
                seconds[label].append(timing[label])
            ratios.append(timing["current"] / timing["baseline"])
        rows.append(
            {
                "algorithm": algorithm,
                "trials": trials,
                "pairs": BASELINE_PAIRS,
                "this checkout (s, median)": median(seconds["current"]),
                "baseline (s, median)": median(seconds["baseline"]),
                "paired ratio (median)": median(ratios),
                "ratio range": f"{min(ratios):.2f}-{max(ratios):.2f}",
            }
        )
    columns = list(rows[0])
    return SectionResult(
        f"This checkout against {baseline} (search time, {trials} trials; < 1: faster)",
        rows,
        markdown_table(rows, columns),
    )


def _child_main(algorithm: str, trials: str, project_dir: str) -> int:
    """One search of ``--baseline``: prints its timing as JSON (tuner from PYTHONPATH)."""
    timing = run_tuner(algorithm, int(trials), 0, Path(project_dir))
    print(json.dumps({"seconds": timing.seconds, "tuner": tuner.__file__}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 300 trials, 1 repeat")
    parser.add_argument(
        "--section",
        choices=sorted(SECTIONS),
        action="append",
        help="run only this section (repeatable); default: all",
    )
    parser.add_argument("--trials", type=int, nargs="+", help="trial counts (default 100 1000)")
    parser.add_argument("--repeats", type=int, help="repeats per measurement (default 3)")
    parser.add_argument(
        "--tools", nargs="+", choices=TOOLS, default=list(TOOLS), help="tools to compare"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout of tuner (e.g. `git worktree add /tmp/before <commit>`): also "
        "report this checkout's search time over that one's, as paired ratios",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where project directories are written (default: a temporary folder on the same "
        "disk as this repository, so that fsync costs what it costs for users)",
    )
    args = parser.parse_args(argv)
    if args.child:
        return _child_main(*args.child)
    trial_counts = tuple(args.trials or ((100, 300) if args.quick else (100, 1000)))
    workdir = args.workdir or Path(__file__).resolve().parent / "results" / "overhead-projects"
    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        trial_counts=trial_counts,
        repeats=args.repeats or (1 if args.quick else 3),
        reload_trials=300 if args.quick else 1000,
        workdir=Path(tempfile.mkdtemp(dir=workdir)),
        tools=tuple(args.tools),
    )
    warnings.filterwarnings("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    results: dict[str, Any] = {}
    passed = True
    try:
        if args.baseline is not None:
            print("## baseline", flush=True)
            result = compare_with_baseline(settings, args.baseline.resolve())
            results["baseline"] = {"title": result.title, "rows": result.rows}
            print(f"\n### {result.title}\n\n{result.table}\n")
        for name in args.section or ([] if args.baseline else list(SECTIONS)):
            print(f"## {name}", flush=True)
            result = SECTIONS[name](settings)
            results[name] = {
                "title": result.title,
                "rows": result.rows,
                "floors": result.floors,
                **result.extra,
            }
            passed &= result.passed
            print(f"\n### {result.title}\n\n{result.table}\n")
            if result.floors:
                print("\n".join(result.floors) + "\n")
    finally:
        shutil.rmtree(settings.workdir, ignore_errors=True)
    path = write_results(
        "overhead",
        {
            "settings": {
                "trial_counts": settings.trial_counts,
                "repeats": settings.repeats,
                "reload_trials": settings.reload_trials,
                "tools": settings.tools,
                "quick": args.quick,
            },
            "sections": results,
            "floors_passed": passed,
        },
    )
    print(f"Results written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
