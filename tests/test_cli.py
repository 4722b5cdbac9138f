"""The `tuner` command, run as a real subprocess on a real project directory."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_results import FAILING_TRIAL, run_toy_search
from tests.test_visualization import png_size

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def tuner_command(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m tuner ARGS`` (the same entry point as the ``tuner`` console script)."""
    return subprocess.run(
        [sys.executable, "-m", "tuner", *map(str, args)],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=cwd,
        timeout=120,
    )


def assert_one_line_error(done: subprocess.CompletedProcess, status: int, *fragments: str):
    assert done.returncode == status, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return run_toy_search(tmp_path_factory.mktemp("cli"), max_trials=10)


@pytest.fixture(scope="module")
def project(toy) -> Path:
    return Path(toy.project_dir)


def test_every_command_has_help():
    for command in (
        [], ["summary"], ["trials"], ["best"], ["plot"], ["importance"], ["tensorboard"],
    ):  # fmt: skip
        done = tuner_command(*command, "--help")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("usage: tuner")
    assert (
        "--kind {history,heatmap,parallel,curves,pareto,importance}"
        in tuner_command("plot", "-h").stdout
    )


def test_the_console_script_is_installed():
    # The script of the environment running the tests, not whichever `tuner` PATH finds first.
    script = Path(sys.executable).with_name("tuner")
    if not script.exists():
        pytest.skip("the package is not installed in this environment (pip install -e .)")
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("tuner ")


def test_summary_ranks_the_completed_trials(toy, project):
    done = tuner_command("summary", project, "--top", "3")
    assert done.returncode == 0, done.stderr
    best = toy.oracle.get_best_trials(3)
    lines = done.stdout.splitlines()
    assert f"Best       trial {best[0].trial_id} · val_loss" in done.stdout
    assert "Trials     10: 9 completed, 1 failed" in done.stdout
    table = [line.split() for line in lines if line.split()[:1] in (["1"], ["2"], ["3"])]
    assert [row[1] for row in table] == [t.trial_id for t in best]
    assert "(6 more completed trials; --top 0 shows all)" in done.stdout
    assert f"{FAILING_TRIAL}: ValueError: diverged" in done.stdout


def test_trials_as_csv_has_a_row_per_trial(toy, project):
    done = tuner_command("trials", project, "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [row["trial_id"] for row in rows] == sorted(toy.oracle.trials)
    for row in rows:
        trial = toy.oracle.trials[row["trial_id"]]
        assert row["status"] == trial.status.value
        assert row["units"] == str(trial.values["units"])
        if trial.score is not None:
            assert float(row["score"]) == pytest.approx(trial.score)


def test_trials_as_json_to_a_file(toy, project, tmp_path):
    output = tmp_path / "trials.json"
    done = tuner_command("trials", project, "--format", "json", "--output", output)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "Wrote 10 trials" in done.stderr
    documents = json.loads(output.read_text())
    assert [d["trial_id"] for d in documents] == sorted(toy.oracle.trials)
    failed = next(d for d in documents if d["trial_id"] == FAILING_TRIAL)
    assert failed["status"] == "FAILED" and failed["score"] is None


def test_trials_as_a_table_lists_every_trial(toy, project):
    done = tuner_command("trials", project)
    assert done.returncode == 0, done.stderr
    for trial_id in toy.oracle.trials:
        assert f" {trial_id} " in done.stdout
    assert "FAILED" in done.stdout and "ValueError: diverged" in done.stdout


def test_best_prints_the_best_values_as_json(toy, project):
    done = tuner_command("best", project)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == toy.get_best_hyperparameters()[0].values


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("history", []),
        ("heatmap", ["--x", "units", "--y", "learning_rate"]),
        ("heatmap", []),  # the first two varied hyperparameters
        ("parallel", ["--hps", "units", "dropout", "learning_rate"]),
        ("curves", ["--trials", "0", "2", "--metric", "val_loss"]),
    ],
    ids=["history", "heatmap", "heatmap-default-axes", "parallel", "curves"],
)
def test_plot_writes_a_png_of_the_asked_size(project, tmp_path, kind, extra):
    output = tmp_path / f"{kind}.png"
    done = tuner_command(
        "plot", project, "--kind", kind, *extra, "--output", output,
        "--width", "600", "--height", "400", "--dpi", "100",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"Wrote the {kind} plot (600x400 px)" in done.stdout
    assert output.stat().st_size > 5_000
    assert png_size(output) == (600, 400)


def test_plot_default_size(project, tmp_path):
    output = tmp_path / "history.png"
    assert tuner_command("plot", project, "--output", output).returncode == 0
    assert png_size(output) == (1200, 750)  # 8 x 5 inches at 150 dpi


def test_bad_arguments_exit_non_zero_with_one_line(project, tmp_path):
    output = tmp_path / "x.png"
    assert_one_line_error(
        tuner_command("plot", project, "--kind", "heatmap", "--x", "batch", "--output", output),
        2,
        "tuner plot: error:",
        "No hyperparameter 'batch'",
        "units",
    )
    assert not output.exists()
    assert_one_line_error(
        tuner_command("plot", project, "--kind", "curves", "--trials", "77", "--output", output),
        2,
        "No trial '77'",
    )
    assert_one_line_error(
        tuner_command("plot", project, "--width", "600", "--output", output), 2, "--height"
    )
    assert_one_line_error(tuner_command("summary", tmp_path), 1, "not a tuner project")
    assert_one_line_error(tuner_command("best", project.parent), 1, "holds projects", project.name)
    assert_one_line_error(tuner_command("trials", tmp_path / "nowhere"), 1, "does not exist")
    done = tuner_command("plot", project, "--kind", "pie", "--output", output)
    assert done.returncode == 2 and "invalid choice: 'pie'" in done.stderr
    assert tuner_command("summary").returncode == 2  # DIR missing: argparse's usage error


def test_a_project_without_completed_trials(tmp_path):
    search = run_toy_search(tmp_path, max_trials=1)
    search.oracle.max_trials = 2
    search.oracle.create_trial("worker")  # the only other trial is running
    (Path(search.project_dir) / "trials" / "00.json").unlink()
    done = tuner_command("summary", search.project_dir)
    assert done.returncode == 0 and "none yet" in done.stdout
    assert_one_line_error(tuner_command("best", search.project_dir), 1, "no completed trial")


def test_tensorboard_writes_the_hparams_logs(project, tmp_path):
    log_dir = tmp_path / "tb"
    done = tuner_command("tensorboard", project, "--logdir", log_dir)
    # Whether the export must work depends on the environment only (TensorBoard is a
    # dependency), never on whether tuner's own module happens to import.
    if importlib.util.find_spec("tensorboard") is None:
        assert_one_line_error(done, 1, "TensorBoard export is not available")
        return
    assert done.returncode == 0, done.stderr
    assert f"tensorboard --logdir {log_dir}" in done.stdout
    assert any(log_dir.rglob("events.out.tfevents.*"))
    assert_one_line_error(tuner_command("tensorboard", tmp_path), 1, "not a tuner project")
