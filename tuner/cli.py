"""The ``tuner`` command: inspect, export and plot a project directory.

Every command takes DIR, the project directory ``<directory>/<project_name>``, and only reads
it (no model code runs, nothing is unpickled), so it works during a search and on a machine
without the search's code::

    tuner summary runs/mlp                       # ranked table of the best trials
    tuner trials runs/mlp --format csv --output trials.csv
    tuner best runs/mlp                          # best values as JSON, ready to paste
    tuner plot runs/mlp --kind heatmap --x batch_size --y dropout --output heatmap.png
    tuner importance runs/mlp                    # which hyperparameters matter (fANOVA)
    tuner tensorboard runs/mlp                   # HParams dashboard data for TensorBoard

Exit status: 0 on success, 1 when the project cannot be read or the result cannot be made
(one line on stderr says why), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tuner.display import format_seconds, format_value
from tuner.errors import TunerError
from tuner.results import SearchResults, read_project
from tuner.trial import TrialStatus

if TYPE_CHECKING:
    from rich.console import Console

#: Exit status of a command that could not do its work.
EXIT_FAILURE = 1
#: Exit status of a command given bad arguments (argparse's own).
EXIT_USAGE = 2


class CommandError(Exception):
    """Ends a command with one line on stderr and a non-zero exit status.

    Example:
        >>> raise CommandError("no hyperparameter 'batch'", EXIT_USAGE)
        Traceback (most recent call last):
        tuner.cli.CommandError: no hyperparameter 'batch'
    """

    def __init__(self, message: str, exit_status: int = EXIT_FAILURE):
        super().__init__(message)
        self.exit_status = exit_status


# --- output helpers ------------------------------------------------------------------------------
def _console() -> Console:
    from rich.console import Console

    console = Console(file=sys.stdout, highlight=False)
    if not console.is_terminal:  # a pipe or a file: no wrapping, the table keeps its width
        console = Console(file=sys.stdout, highlight=False, width=1000)
    return console


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value != value:  # NaN
        return "-"
    return format_value(value)


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    with open(output, "w", encoding="utf-8") as handle:
        handle.write(text)


def _visible_names(results: SearchResults) -> list[str]:
    """Hyperparameters worth a table column: not budget bookkeeping."""
    return [name for name in results.hyperparameter_names if not name.startswith("tuner/")]


def _trials_table(results: SearchResults, trials: Sequence[Any], ranked: bool) -> Any:
    from rich import box
    from rich.table import Table

    objective = results.objective
    tradeoffs = results.is_multi_objective or bool(results.constraints)
    front = {trial.trial_id for trial in results.pareto_front()} if tradeoffs else set()
    singles = objective.metric_names if results.is_multi_objective else []
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    if ranked:
        table.add_column("rank", justify="right")
    table.add_column("trial")
    if not ranked:
        table.add_column("status")
    if tradeoffs:
        table.add_column("pareto", justify="center")
    table.add_column(objective.name, justify="right", style="bold")
    for name in singles:
        table.add_column(name, justify="right")
    for constraint in results.constraints:
        table.add_column(constraint.describe(), justify="right")
    names = _visible_names(results)
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("best_step", justify="right")
    table.add_column("duration", justify="right")
    if not ranked:
        table.add_column("error", max_width=60, no_wrap=True, overflow="ellipsis")
    for rank, trial in enumerate(trials, start=1):
        cells = [str(rank)] if ranked else []
        cells.append(trial.trial_id)
        if not ranked:
            cells.append(trial.status.value)
        if tradeoffs:
            cells.append("*" if trial.trial_id in front else "")
        cells.append(_cell(trial.score))
        cells += [_cell(trial.objective_values.get(name)) for name in singles]
        for constraint in results.constraints:
            value = trial.constraint_values.get(constraint.metric)
            broken = value is None or constraint.violation(value) > 0
            mark = " (broken)" if broken and trial.status == TrialStatus.COMPLETED else ""
            cells.append(_cell(value) + mark if trial.constraint_values else "-")
        cells += [_cell(trial.values.get(name)) for name in names]
        cells.append(_cell(trial.best_step))
        cells.append("-" if trial.duration is None else format_seconds(trial.duration))
        if not ranked:
            from tuner.results import error_line

            failed = trial.status in (TrialStatus.FAILED, TrialStatus.INVALID)
            cells.append((error_line(trial.message) or "-") if failed else "")
        table.add_row(*cells)
    return table


# --- commands ------------------------------------------------------------------------------------
def _summary(args: argparse.Namespace) -> int:
    results = read_project(args.dir)
    objective = results.objective
    counts: dict[str, int] = {}
    for trial in results.trials:
        counts[trial.status.value.lower()] = counts.get(trial.status.value.lower(), 0) + 1
    console = _console()
    console.print(f"Project    {results.project_dir}", markup=False)
    console.print(f"Oracle     {results.oracle_class or '?'}", markup=False)
    console.print(f"Objective  {objective.name} ({objective.direction})", markup=False)
    detail = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    console.print(f"Trials     {len(results.trials)}" + (f": {detail}" if detail else ""))
    if results.constraints:
        infeasible = sum(
            1 for t in results.trials if t.status == TrialStatus.COMPLETED and not t.feasible
        )
        bounds = ", ".join(constraint.describe() for constraint in results.constraints)
        console.print(f"Constraints {bounds} · {infeasible} completed trial(s) infeasible")
    if results.is_multi_objective:
        front = results.pareto_front()
        console.print(
            f"Pareto     {len(front)} trial(s) on the front (marked * below): "
            + ", ".join(t.trial_id for t in front),
            markup=False,
        )
    best = results.best_trial
    if best is None:
        console.print("Best       none yet (no trial completed)")
        return 0
    console.print(
        f"Best       trial {best.trial_id} · {objective.name} {format_value(best.score)}",
        markup=False,
    )
    ranked = results.ranked_trials()
    shown = ranked if args.top <= 0 else ranked[: args.top]
    console.print()
    console.print(_trials_table(results, shown, ranked=True))
    if len(shown) < len(ranked):
        console.print(f"({len(ranked) - len(shown)} more completed trials; --top 0 shows all)")
    failed = [t for t in results.trials if t.status in (TrialStatus.FAILED, TrialStatus.INVALID)]
    if failed:
        from tuner.results import error_line

        console.print("Failed trials:")
        for trial in failed:
            console.print(f"  {trial.trial_id}: {error_line(trial.message)}", markup=False)
    return 0


def _trials(args: argparse.Namespace) -> int:
    results = read_project(args.dir)
    if args.format == "csv":
        _write(results.to_csv() or "", args.output)
    elif args.format == "json":
        _write(results.to_json() or "", args.output)
    elif args.output is None:
        _console().print(_trials_table(results, results.trials, ranked=False))
    else:
        from rich.console import Console

        with open(args.output, "w", encoding="utf-8") as handle:
            Console(file=handle, width=1000).print(
                _trials_table(results, results.trials, ranked=False)
            )
    if args.output is not None:
        print(f"Wrote {len(results.trials)} trials to {args.output}", file=sys.stderr)
    return 0


def _best(args: argparse.Namespace) -> int:
    results = read_project(args.dir)
    best = results.best_trial
    if best is None:
        raise CommandError(f"{args.dir} has no completed trial yet, so there is no best one.")
    values = {
        name: value
        for name, value in best.values.items()
        if args.all or not name.startswith("tuner/")
    }
    sys.stdout.write(json.dumps(values, indent=2) + "\n")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from tuner import visualization

    results = read_project(args.dir)
    axes = [] if args.kind == "pareto" else [args.x, args.y]  # pareto: objectives, not hps
    names = [name for name in axes if name is not None] + list(args.hps or [])
    for name in names:
        try:
            visualization.check_hyperparameter(results, name)
        except ValueError as error:
            raise CommandError(str(error), EXIT_USAGE) from None
    options: dict[str, Any] = {"dpi": args.dpi}
    if args.width is not None or args.height is not None:
        if args.width is None or args.height is None:
            raise CommandError("give both --width and --height (pixels), or neither", EXIT_USAGE)
        options["figsize"] = (args.width / args.dpi, args.height / args.dpi)
    if args.kind == "heatmap":
        x, y = args.x, args.y
        if x is None or y is None:
            varied = _varied_names(results)
            x = x or next((n for n in varied if n != y), None)
            y = y or next((n for n in varied if n != x), None)
            if x is None or y is None:
                raise CommandError(
                    "a heat-map needs two hyperparameters that took several values; this "
                    f"search has {', '.join(varied) or 'none'}",
                    EXIT_USAGE,
                )
        figure = visualization.plot_heatmap(results, x, y, aggregate=args.aggregate, **options)
    elif args.kind == "parallel":
        figure = visualization.plot_parallel_coordinates(results, args.hps, **options)
    elif args.kind == "curves":
        trial_ids = args.trials
        if trial_ids:
            for trial_id in trial_ids:
                try:
                    results.get_trial(trial_id)
                except KeyError as error:
                    raise CommandError(error.args[0], EXIT_USAGE) from None
        figure = visualization.plot_learning_curves(
            results, trial_ids or None, args.metric, num_trials=args.num_trials, **options
        )
    elif args.kind == "pareto":
        try:
            figure = visualization.plot_pareto_front(results, args.x, args.y, **options)
        except ValueError as error:
            raise CommandError(str(error), EXIT_USAGE) from None
    elif args.kind == "importance":
        figure = _importance_call(
            visualization.plot_param_importances, results, args.objective, **options
        )
    else:
        figure = visualization.plot_optimization_history(results, **options)
    figure.savefig(args.output)
    width, height = figure.get_size_inches() * figure.dpi
    print(f"Wrote the {args.kind} plot ({round(width)}x{round(height)} px) to {args.output}")
    return 0


def _varied_names(results: SearchResults) -> list[str]:
    """Hyperparameters that took more than one value among completed trials."""
    varied = []
    for name in _visible_names(results):
        seen = {repr(t.values.get(name)) for t in results.completed_trials if name in t.values}
        if len(seen) > 1:
            varied.append(name)
    return varied


def _importance_call(
    function: Any, results: SearchResults, objective: str | None, **kw: Any
) -> Any:
    """Calls an importance function; an unknown objective is a usage error (exit status 2)."""
    from tuner.errors import InvalidArgumentError

    try:
        return function(results, objective, **kw)
    except InvalidArgumentError as error:
        raise CommandError(str(error), EXIT_USAGE) from None


def _importance(args: argparse.Namespace) -> int:
    from tuner.hyperparameter_importance import importance

    results = read_project(args.dir)
    computed = _importance_call(importance, results, args.objective, seed=args.seed)
    nested = isinstance(next(iter(computed.values())), dict)
    if args.json:
        sys.stdout.write(json.dumps(computed, indent=2) + "\n")
        return 0
    panels = computed if nested else {args.objective or results.objective.name: computed}
    from rich import box
    from rich.table import Table

    console = _console()
    completed = len(results.completed_trials)
    for name, values in panels.items():
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
        table.title = f"Importance for {name} (fANOVA, {completed} completed trials)"
        table.add_column("hyperparameter")
        table.add_column("importance", justify="right", style="bold")
        table.add_column("")
        for hp_name, share in values.items():
            table.add_row(hp_name, f"{share:.3f}", "█" * round(share * 40))
        console.print(table)
    return 0


def _tensorboard(args: argparse.Namespace) -> int:
    read_project(args.dir)  # a clear error for a folder that is not a project, before any import
    try:
        from tuner.integrations.tensorboard import export_hparams
    except ImportError as error:
        raise CommandError(
            f"the TensorBoard export is not available in this installation ({error}); "
            "install TensorBoard with `pip install tensorboard`"
        ) from None
    log_dir = export_hparams(args.dir, args.logdir)
    print(f"Wrote the HParams dashboard data to {log_dir}")
    print(f"View it with: tensorboard --logdir {log_dir}")
    return 0


# --- the parser ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tuner`` command (one sub-command per action)."""
    from tuner import __version__

    parser = argparse.ArgumentParser(
        prog="tuner",
        description="Inspect, export and plot a tuner project directory "
        "(<directory>/<project_name>), read-only.",
    )
    parser.add_argument("--version", action="version", version=f"tuner {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("dir", metavar="DIR", help="the project directory")
        return command

    summary = add("summary", "Print the project, its best trial and a ranked table of trials.")
    summary.add_argument(
        "--top", type=int, default=10, metavar="N", help="rows of the table (0: all; default 10)"
    )
    summary.set_defaults(handler=_summary)

    trials = add("trials", "Print or write every trial, one row each.")
    trials.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table for reading, csv or json (every column) for other tools; default table",
    )
    trials.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    trials.set_defaults(handler=_trials)

    best = add("best", "Print the best trial's hyperparameter values as JSON.")
    best.add_argument(
        "--all", action="store_true", help="include the tuner/ budget entries (Hyperband)"
    )
    best.set_defaults(handler=_best)

    plot = add("plot", "Draw a figure of the search to an image file.")
    plot.add_argument(
        "--kind",
        choices=("history", "heatmap", "parallel", "curves", "pareto", "importance"),
        default="history",
        help="history: score per trial and best so far; heatmap: mean score over --x and --y; "
        "parallel: parallel coordinates; curves: learning curves of --trials; pareto: two "
        "objectives (--x, --y) and the Pareto front; importance: hyperparameter importance, "
        "fANOVA (default history)",
    )
    plot.add_argument(
        "--x", metavar="NAME", help="heatmap: hyperparameter along the x axis; pareto: objective"
    )
    plot.add_argument(
        "--y", metavar="NAME", help="heatmap: hyperparameter along the y axis; pareto: objective"
    )
    plot.add_argument(
        "--aggregate",
        choices=("mean", "best"),
        default="mean",
        help="heatmap: score shown per cell (default mean)",
    )
    plot.add_argument(
        "--hps", nargs="+", metavar="HP", help="parallel: the axes (default: every varied one)"
    )
    plot.add_argument(
        "--trials", nargs="+", metavar="ID", help="curves: trial ids (default: the best ones)"
    )
    plot.add_argument(
        "--num-trials",
        type=int,
        default=5,
        metavar="N",
        help="curves: how many best trials without --trials (default 5)",
    )
    plot.add_argument(
        "--metric", help="curves: metric, with or without val_ (default: the objective's)"
    )
    plot.add_argument(
        "--objective",
        metavar="NAME",
        help="importance: the objective of a multi-objective search (default: a panel each)",
    )
    plot.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="image file (.png, .svg, .pdf)"
    )
    plot.add_argument("--width", type=int, metavar="PX", help="image width in pixels")
    plot.add_argument("--height", type=int, metavar="PX", help="image height in pixels")
    plot.add_argument("--dpi", type=float, default=150, help="dots per inch (default 150)")
    plot.set_defaults(handler=_plot)

    importance = add(
        "importance",
        "Print how much each hyperparameter explains of the objective's variation (fANOVA).",
    )
    importance.add_argument("--json", action="store_true", help="print JSON instead of a table")
    importance.add_argument(
        "--objective",
        metavar="NAME",
        help="the objective of a multi-objective search, or any logged metric (default: each)",
    )
    importance.add_argument(
        "--seed", type=int, default=0, help="seed of the random forest (default 0)"
    )
    importance.set_defaults(handler=_importance)

    tensorboard = add("tensorboard", "Write the HParams dashboard data for TensorBoard.")
    tensorboard.add_argument(
        "--logdir", metavar="DIR", help="where to write (default: DIR/logs of the project)"
    )
    tensorboard.set_defaults(handler=_tensorboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``tuner`` command; returns its exit status.

    Args:
        argv: The arguments after the program name (default: ``sys.argv[1:]``).

    Example:
        >>> main(["best", "runs/mlp"])  # doctest: +ELLIPSIS
        {
          "batch_size": ...,
          "dropout": ...
        }
        0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # `tuner trials DIR | head`: the reader left, nothing to report
        # Point stdout at devnull so that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except CommandError as error:
        status, message = error.exit_status, str(error)
    except (TunerError, OSError, ValueError) as error:
        status, message = EXIT_FAILURE, str(error)
    except KeyboardInterrupt:
        return 130
    # One line: the remedy is in the message, a traceback would hide it.
    print(f"tuner {args.command}: error: {' '.join(message.split())}", file=sys.stderr)
    return status
