"""Every example's ``--quick`` run, as a user would start it: a subprocess, real data, exit 0."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.keras, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
#: The data sets that ship with the examples.
DATA = EXAMPLES / "data"
#: Every example but the quick-start uses scikit-learn (its data sets, or ``cv=``).
needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="scikit-learn is not installed"
)
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def run_example(name: str, directory: Path, *extra: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--quick", "--directory", str(directory), *extra],
        capture_output=True, text=True, env=ENV, cwd=REPO, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@needs_sklearn
def test_concrete_cross_validated_random_search(tmp_path):
    output = run_example("concrete_cv.py", tmp_path)
    assert "Best mean absolute error: val_mae " in output
    assert " over 3 folds (MPa)" in output
    assert "val_mae" in output and "± " in output  # the summary's fold statistics
    assert len(output.split("Per-fold MAE: ")[1].split(",")) == 3


@needs_sklearn
def test_pima_grids_print_every_configuration(tmp_path):
    output = run_example("pima_grid.py", tmp_path)
    for grid in (
        "batch_size_epochs", "optimizer", "learning_rate_momentum", "initializer",
        "activation", "dropout_max_norm", "hidden_units",
    ):  # fmt: skip
        section = output.split(f"== {grid} ==")[1].split("==")[0]
        assert "Best: " in section and ") with: {" in section


@needs_sklearn
def test_digits_random_search_evaluates_on_a_test_split(tmp_path):
    output = run_example("digits_random.py", tmp_path)
    assert "Search space summary" in output and "num_layers (Int)" in output
    assert "Test accuracy of the best model: " in output


@needs_sklearn
def test_breast_cancer_random_search_reports_confusion_matrix_and_auc(tmp_path):
    output = run_example("breast_cancer_random.py", tmp_path)
    assert "confusion matrix" in output and "ROC AUC: " in output
    logs = tmp_path / "breast_cancer_random_quick" / "tensorboard"
    assert list(logs.rglob("events.out.tfevents.*")), "no TensorBoard event file was written"


@needs_sklearn
def test_breast_cancer_grid_runs_its_grid_and_draws_the_heatmap(tmp_path):
    output = run_example("breast_cancer_grid.py", tmp_path)
    assert "Configurations run: 4" in output
    heatmap = tmp_path / "breast_cancer_grid_quick" / "batch_size_dropout_heatmap.png"
    if importlib.util.find_spec("matplotlib") is None:  # the plot extra is optional
        assert "No heat-map: " in output and not heatmap.exists()
    else:
        assert "Heat-map of mean val_accuracy" in output
        assert heatmap.stat().st_size > 0


@needs_sklearn
def test_pareto_front_prints_and_draws_the_front(tmp_path):
    image = tmp_path / "front.png"
    output = run_example("pareto_front.py", tmp_path, "--output", str(image))
    assert "Pareto front: " in output and " parameters (" in output
    if importlib.util.find_spec("matplotlib") is not None:
        assert image.read_bytes()[:4] == b"\x89PNG"


@needs_sklearn
def test_importance_plot_ranks_the_hyperparameters_and_draws_them(tmp_path):
    output = run_example("importance_plot.py", tmp_path)
    ranking = output.split("(4 trials, fANOVA):\n")[1].split("\n\n")[0].split("\n")
    rows = [line.split() for line in ranking if line.startswith("  ")]
    assert len(rows) >= 2
    assert {row[0] for row in rows} <= {
        "learning_rate", "optimizer", "units", "dropout", "batch_norm", "batch_size",
    }  # fmt: skip
    shares = [float(row[1]) for row in rows]
    assert shares == sorted(shares, reverse=True) and abs(sum(shares) - 1) < 0.01
    chart = tmp_path / "importance_quick" / "importance.png"
    if importlib.util.find_spec("matplotlib") is None:  # the plot extra is optional
        assert "No chart: " in output and not chart.exists()
    else:
        assert f"Importance chart: {chart}" in output
        assert chart.stat().st_size > 10_000
    assert (REPO / "docs" / "images" / "importance.png").is_file()  # the full run's, committed


def test_quickstart_runs_small(tmp_path):
    output = run_example("quickstart.py", tmp_path)
    assert "Test accuracy of the best model" in output
    assert (tmp_path / "quickstart_quick" / "trials").is_dir()


def test_quickstart_needs_no_scikit_learn(tmp_path):
    """The README's first command installs only tuner's own dependencies: no scikit-learn."""
    blocker = tmp_path / "no_sklearn"
    blocker.mkdir()
    # A package named sklearn that refuses to import, first on the path: any import fails loudly.
    (blocker / "sklearn").mkdir()
    (blocker / "sklearn" / "__init__.py").write_text("raise ImportError('sklearn is blocked')\n")
    env = {**ENV, "PYTHONPATH": os.pathsep.join([str(blocker), str(REPO)])}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), "--quick", "--directory", str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Test accuracy of the best model" in result.stdout


def test_examples_and_tests_read_no_file_outside_the_repository():
    outside = "/".join(("..", "shared"))  # spelled so that this file does not match itself
    for path in [*EXAMPLES.glob("*.py"), *Path(__file__).parent.rglob("*.py")]:
        assert outside not in path.read_text().replace("\\", "/"), path


def test_every_example_is_run_here():
    tested = Path(__file__).read_text()
    missing = [path.name for path in EXAMPLES.glob("*.py") if f'"{path.name}"' not in tested]
    assert not missing, f"examples without a --quick test in {Path(__file__).name}: {missing}"
