"""The figures of a search: each kind renders a PNG of the asked size from a tuner or from disk."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

import tuner as kt
from tests.test_results import EPOCHS, FAILING_TRIAL, run_toy_search
from tuner import visualization
from tuner.visualization import BEST_COLOR


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file, from its IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return run_toy_search(tmp_path_factory.mktemp("viz"), max_trials=16)


@pytest.mark.parametrize(
    ("plot", "kwargs"),
    [
        (visualization.plot_optimization_history, {}),
        (visualization.plot_heatmap, {"x": "units", "y": "dropout"}),
        (visualization.plot_parallel_coordinates, {}),
        (visualization.plot_learning_curves, {}),
    ],
    ids=["history", "heatmap", "parallel", "curves"],
)
def test_each_plot_writes_a_png_of_the_asked_size(toy, tmp_path, plot, kwargs):
    figure = plot(toy, figsize=(6.4, 4.0), dpi=50, **kwargs)
    path = tmp_path / "figure.png"
    figure.savefig(path)
    assert path.stat().st_size > 5_000  # drawn, not blank
    assert png_size(path) == (320, 200)


def test_plots_work_on_loaded_results_and_a_filtered_dataframe(toy):
    loaded = kt.load_results(toy.directory, toy.project_name)
    title = visualization.plot_optimization_history(loaded).axes[0].get_title()
    assert "16 trials, 15 completed, 1 failed" in title
    first_five = loaded[loaded["trial_id"] < "05"]
    title = visualization.plot_optimization_history(first_five).axes[0].get_title()
    assert "5 trials, 4 completed, 1 failed" in title
    from_path = visualization.plot_optimization_history(toy.project_dir)
    assert "16 trials" in from_path.axes[0].get_title()


def test_history_shows_best_so_far_and_the_best_trial(toy):
    ax = visualization.plot_optimization_history(toy).axes[0]
    best = toy.oracle.get_best_trials(1)[0]
    best_so_far = next(line for line in ax.lines if line.get_label() == "best so far")
    values = list(best_so_far.get_ydata())
    assert values == sorted(values, reverse=True) and values[-1] == pytest.approx(best.score)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert any(f"best: trial {best.trial_id}" in label for label in labels)
    assert any(label.startswith("failed (1") for label in labels)
    assert ax.get_ylabel() == "val_loss (lower is better)"


def test_heatmap_cells_hold_mean_scores_and_outline_the_best_trial(toy):
    figure = visualization.plot_heatmap(toy, "units", "kind")
    ax = figure.axes[0]
    completed = [t for t in toy.oracle.trials.values() if t.status == "COMPLETED"]
    units = [8, 16, 24, 32]
    kinds = ["mlp", "cnn"]
    mesh = ax.collections[0]
    grid = mesh.get_array().reshape(len(kinds), len(units))
    for row, kind in enumerate(kinds):
        for column, unit in enumerate(units):
            matching = [
                t.score
                for t in completed
                if t.values["units"] == unit and t.values["kind"] == kind
            ]
            if matching:
                assert grid[row, column] == pytest.approx(sum(matching) / len(matching))
            else:
                assert grid.mask[row, column]
    best = toy.oracle.get_best_trials(1)[0]
    outlines = [p for p in ax.patches if p.get_edgecolor()[:3] != (0, 0, 0)]
    assert len(outlines) == 1
    x0, y0 = outlines[0].get_xy()
    assert units[round(x0 + 0.5)] == best.values["units"]
    assert kinds[round(y0 + 0.5)] == best.values["kind"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["8", "16", "24", "32"]
    assert "mean val_loss (lower is better)" in figure.axes[1].get_ylabel()


def test_log_sampled_hyperparameters_get_log_axes(toy):
    ax = visualization.plot_heatmap(toy, "learning_rate", "dropout").axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    assert ax.get_xlabel() == "learning_rate (log scale)"
    parallel = visualization.plot_parallel_coordinates(toy).axes[0]
    labels = [t.get_text() for t in parallel.get_xticklabels()]
    assert "learning_rate\n(log scale)" in labels and labels[-1].startswith("val_loss")
    assert "units" in labels and "filters" in labels
    texts = {t.get_text() for t in parallel.texts}
    assert {"0.0001", "0.001", "0.01", "0.1"} <= texts  # decades on the log axis
    assert "inactive" in texts  # filters is conditional on kind == "cnn"


def test_parallel_coordinates_draw_the_best_trial_in_red(toy):
    ax = visualization.plot_parallel_coordinates(toy, ["units", "learning_rate"]).axes[0]
    red = [line for line in ax.lines if line.get_color() == BEST_COLOR]
    assert len(red) == 1 and list(red[0].get_xdata()) == [0, 1, 2]
    best = toy.oracle.get_best_trials(1)[0]
    assert f"best trial {best.trial_id}" in ax.get_title()


def test_learning_curves_draw_training_and_validation_per_epoch(toy):
    best = toy.oracle.get_best_trials(2)
    ax = visualization.plot_learning_curves(toy, [best[1].trial_id, 0]).axes[0]
    lines = [line for line in ax.lines if len(line.get_xdata()) == EPOCHS]
    assert len(lines) == 4  # two trials x (loss, val_loss)
    assert {line.get_linestyle() for line in lines} == {"-", "--"}
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "loss (training)" in labels and "val_loss (validation)" in labels
    assert ax.get_xlabel() == "epoch"


def test_unknown_names_get_errors_that_list_the_known_ones(toy):
    with pytest.raises(ValueError, match=r"No hyperparameter 'batch' .*units, learning_rate"):
        visualization.plot_heatmap(toy, "batch", "units")
    with pytest.raises(ValueError, match="two different"):
        visualization.plot_heatmap(toy, "units", "units")
    with pytest.raises(ValueError, match="No hyperparameter 'nope'"):
        visualization.plot_parallel_coordinates(toy, ["units", "nope"])
    with pytest.raises(ValueError, match="No trial '99'"):
        visualization.plot_learning_curves(toy, ["99"])
    with pytest.raises(ValueError, match="logged metrics are: loss, val_loss"):
        visualization.plot_learning_curves(toy, metric="accuracy")
    with pytest.raises(TypeError, match="results_dataframe"):
        import pandas as pd

        visualization.plot_optimization_history(pd.DataFrame({"score": [1.0]}))
    assert FAILING_TRIAL in toy.oracle.trials


def test_without_matplotlib_the_error_says_how_to_install_it(toy):
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from tuner import visualization\n"
        "try:\n"
        f"    visualization.plot_optimization_history({toy.project_dir!r})\n"
        "except ImportError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("MissingDependencyError")
    assert "pip install matplotlib" in done.stdout and "tuner[plot]" in done.stdout


@pytest.mark.keras
def test_learning_curves_of_a_real_keras_search(tmp_path):
    import keras
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(axis=0)) / x.std(axis=0))[:300].astype("float32")
    y = y[:300].astype("float32")

    def build_model(hp):
        model = keras.Sequential(
            [
                keras.Input((x.shape[1],)),
                keras.layers.Dense(hp.Int("units", 8, 16, step=8), activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        learning_rate = hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")
        model.compile(
            keras.optimizers.Adam(learning_rate), "binary_crossentropy", metrics=["accuracy"]
        )
        return model

    search = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=2,
        seed=3,
        directory=str(tmp_path),
        project_name="keras",
    )
    search.search(x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0)
    frame = search.results_dataframe()
    assert len(frame) == 2 and set(frame["status"]) == {"COMPLETED"}
    assert {"accuracy_final", "val_accuracy_best", "loss_best", "val_loss_final"} <= set(
        frame.columns
    )
    assert np.allclose(frame["score"], frame["val_accuracy_best"])
    figure = visualization.plot_learning_curves(search)
    ax = figure.axes[0]
    assert ax.get_ylabel() == "accuracy"
    curves = [line for line in ax.lines if list(line.get_xdata()) == [0, 1, 2]]
    assert len(curves) == 4  # two trials x (accuracy, val_accuracy)
    path = tmp_path / "curves.png"
    visualization.plot_learning_curves(search.project_dir, metric="loss").savefig(path)
    assert png_size(path) == (800, 500)
