"""Every ``>>>`` example in tuner's docstrings runs, one test per docstring.

Why a test module rather than ``--doctest-modules``: docstrings are found by parsing the sources,
so collecting them imports nothing (no Keras, no Ray) and ``pytest tests/test_docstrings.py -k
hyperparameters`` stays light; each module is imported only when one of its examples runs. And
an example that needs an absent optional dependency (pandas, matplotlib, scikit-learn, Ray,
...) is skipped with a reason that names it, where pytest's doctest runner would fail it.

What every example can rely on, so that docstrings stay short:

- It runs in a fresh temporary folder (also ``tempfile``'s), so relative paths such as
  ``directory="runs"`` write nothing into the repository; its output is not a terminal, so a
  search's progress is printed as plain lines.
- ``runs/mlp`` in that folder is a finished ten-trial search (objective ``val_accuracy``,
  hyperparameters ``batch_size`` and ``dropout``; trial ``07`` is the best), as the README's
  ``tuner summary runs/mlp`` assumes.
- ``build_model`` (a tiny Keras classifier with one ``units`` hyperparameter) and its data ``x``,
  ``y``, ``x_val``, ``y_val`` are defined, as in keras-tuner's documentation, unless the module
  defines those names itself.

``# doctest: +SKIP`` is kept only for examples that need a Ray cluster; :data:`SKIPPED` lists
them with the reason, and a test keeps that list exact.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import io
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tuner

PACKAGE_DIR = Path(tuner.__file__).resolve().parent

#: Optional dependencies (import name -> how to get it). An example that fails only because one
#: of these is absent is skipped with this hint; every other failure fails the test.
OPTIONAL_DEPENDENCIES = {
    "pandas": "pip install tuner[results]",
    "matplotlib": "pip install tuner[plot]",
    "sklearn": "pip install tuner[cv]",
    "skops": "pip install tuner[sklearn]",
    "ray": "pip install tuner[ray]",
    "mlflow": "pip install tuner[mlflow]",
    "torch": "pip install torch",
    "jax": "pip install jax",
    "tensorflow": "pip install tensorflow",
    "keras": "pip install keras",
    "tensorboard": "pip install tensorboard",
}
#: The pip names tuner's MissingDependencyError may give in place of the import name.
PIP_NAMES = {"scikit-learn": "sklearn"}

#: Docstrings whose examples are marked ``# doctest: +SKIP``, and why they cannot run here.
SKIPPED = {
    "tuner.distribute.config.RayWorkers": "its search needs a Ray cluster",
    "tuner.distribute.oracle_host.OracleHost": "needs a Ray cluster",
    "tuner.distribute.worker.remote_oracle": "needs an OracleHost actor on a Ray cluster",
    "tuner.distribute.worker.TrialWorker": "needs an OracleHost actor on a Ray cluster",
}


@dataclass(frozen=True)
class Docstring:
    """One docstring with examples, found without importing its module."""

    module: str
    qualname: str  # "" for the module's own docstring
    all_skipped: bool
    has_skip: bool

    @property
    def name(self) -> str:
        """The name doctest gives it: ``module.qualname``."""
        return f"{self.module}.{self.qualname}" if self.qualname else self.module


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> list[Path]:
    # pytest's doctest collection leaves __main__.py out too: importing it runs the command.
    return sorted(p for p in PACKAGE_DIR.rglob("*.py") if p.name != "__main__.py")


def _documented(body: list[ast.stmt], prefix: str) -> list[tuple[str, str]]:
    """(qualname, docstring) of the classes and functions DocTestFinder visits: top level and
    class members, not functions nested in functions."""
    found = []
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            qualname = f"{prefix}{node.name}"
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                found.append((qualname, docstring))
            if isinstance(node, ast.ClassDef):
                found.extend(_documented(node.body, f"{qualname}."))
    return found


def discover() -> list[Docstring]:
    parser = doctest.DocTestParser()
    skip = doctest.OPTIONFLAGS_BY_NAME["SKIP"]
    found = []
    for path in source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        candidates = [("", ast.get_docstring(tree, clean=False) or "")]
        candidates += _documented(tree.body, "")
        for qualname, text in candidates:
            examples = parser.get_examples(text)
            if not examples:
                continue
            skipped = [bool(example.options.get(skip)) for example in examples]
            found.append(Docstring(module_name(path), qualname, all(skipped), any(skipped)))
    return found


DOCSTRINGS = discover()


def _is_absent(import_name: str) -> bool:
    try:
        return importlib.util.find_spec(import_name) is None
    except (ImportError, ValueError):
        return True


def missing_optional_dependency(error: BaseException) -> str | None:
    """The skip reason when ``error`` comes from an absent optional dependency, else None."""
    from tuner.errors import MissingDependencyError

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ModuleNotFoundError) and current.name:
            root = current.name.split(".")[0]
            if root in OPTIONAL_DEPENDENCIES and _is_absent(root):
                return f"needs {root}, which is not installed ({OPTIONAL_DEPENDENCIES[root]})"
        if isinstance(current, MissingDependencyError):
            named = re.search(r"optional package '([^']+)'", str(current))
            if named:
                root = PIP_NAMES.get(named.group(1), named.group(1))
                if root in OPTIONAL_DEPENDENCIES and _is_absent(root):
                    return str(current)
        current = current.__cause__ or current.__context__
    return None


class _Runner(doctest.DocTestRunner):
    """A doctest runner that tells an absent optional dependency from a failure."""

    def __init__(self) -> None:
        super().__init__(verbose=False, optionflags=0)
        self.skip_reason: str | None = None

    def report_unexpected_exception(self, out: Any, test: Any, example: Any, exc_info: Any):
        reason = missing_optional_dependency(exc_info[1])
        if reason is not None:
            self.skip_reason = self.skip_reason or reason
        super().report_unexpected_exception(out, test, example, exc_info)


# --- what the examples may assume --------------------------------------------------------------
def build_model(hp: Any) -> Any:
    """The examples' ``build_model``: a binary classifier small enough to train in a blink."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(hp.Int("units", 8, 32, step=8), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    # Eager: a model this small trains in less time than tf.function takes to trace it.
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"], run_eagerly=True)
    return model


def _example_data() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")
    return {"x": x[:64], "y": y[:64], "x_val": x[64:], "y_val": y[64:]}


class _FinishedSearch(tuner.BaseTuner):
    """A framework-free search whose best trial is trial 07, whatever the values drawn."""

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        trial.hyperparameters.Choice("batch_size", [16, 32, 64])
        trial.hyperparameters.Float("dropout", 0.0, 0.5)
        distance = abs(int(trial.trial_id) - 7)
        return {"val_accuracy": 0.95 - distance / 50, "val_loss": 0.2 + distance / 20}


@pytest.fixture(scope="session")
def finished_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("project")
    oracle = tuner.oracles.RandomSearchOracle(
        objective=tuner.Objective("val_accuracy", "max"), max_trials=10, seed=1
    )
    _FinishedSearch(oracle, directory=str(directory), project_name="mlp").search(verbose=0)
    return directory / "mlp"


@pytest.fixture
def example_folder(tmp_path, monkeypatch, finished_project) -> Iterator[Path]:
    shutil.copytree(finished_project, tmp_path / "runs" / "mlp")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)  # the console display prints plain lines
    environment = dict(os.environ)  # e.g. kt.RayWorkers(gpus_per_worker=0.25) sets variables
    yield tmp_path
    os.environ.clear()
    os.environ.update(environment)


def run_docstring(docstring: Docstring) -> None:
    """Runs one docstring's examples: passes, skips with a reason, or fails with the report."""
    try:
        module = importlib.import_module(docstring.module)
    except ImportError as error:
        reason = missing_optional_dependency(error)
        if reason is None:
            raise
        pytest.skip(reason)
    tests = {
        test.name: test
        for test in doctest.DocTestFinder(exclude_empty=True).find(module, docstring.module)
    }
    test = tests.get(docstring.name)
    assert test is not None, f"doctest does not find the docstring of {docstring.name}"
    for name, value in {"build_model": build_model, **_example_data()}.items():
        test.globs.setdefault(name, value)
    runner = _Runner()
    report = io.StringIO()
    result = runner.run(test, out=report.write, clear_globs=True)
    if runner.skip_reason is not None:
        pytest.skip(runner.skip_reason)
    if result.failed:
        pytest.fail(report.getvalue(), pytrace=False)


@pytest.mark.parametrize(
    "docstring",
    [
        pytest.param(
            d,
            id=d.name,
            marks=[pytest.mark.skip(reason=f"every example is +SKIP: {SKIPPED.get(d.name)}")]
            if d.all_skipped
            else [],
        )
        for d in DOCSTRINGS
    ],
)
def test_docstring_examples(docstring: Docstring, example_folder: Path) -> None:
    before = set(PACKAGE_DIR.parent.iterdir())
    run_docstring(docstring)
    leftovers = sorted(p.name for p in set(PACKAGE_DIR.parent.iterdir()) - before)
    assert not leftovers, f"{docstring.name} wrote {leftovers} outside its temporary folder"


def test_the_docstrings_are_found():
    names = {d.name for d in DOCSTRINGS}
    assert len(DOCSTRINGS) > 60
    assert {"tuner.hyperparameters.HyperParameters", "tuner.visualization"} <= names


def test_skip_directives_are_only_where_listed():
    assert {d.name for d in DOCSTRINGS if d.has_skip} == set(SKIPPED)


def test_an_absent_optional_dependency_skips_with_its_name(monkeypatch, example_folder):
    # None in sys.modules makes `import pandas` fail as if pandas were not installed.
    monkeypatch.setitem(sys.modules, "pandas", None)
    load_results = next(d for d in DOCSTRINGS if d.name == "tuner.results.load_results")
    with pytest.raises(pytest.skip.Exception, match="pandas"):
        run_docstring(load_results)


def test_only_an_absent_optional_dependency_is_a_skip_reason():
    from tuner.errors import MissingDependencyError

    assert missing_optional_dependency(ModuleNotFoundError("no", name="tuner.nothing")) is None
    # tensorflow is a dependency of tuner, so installed: an error blaming it is a bug.
    blames_tensorflow = MissingDependencyError("needs the optional package 'tensorflow'")
    assert missing_optional_dependency(blames_tensorflow) is None


def test_parsing_finds_every_docstring_that_doctest_finds():
    found = {d.name for d in DOCSTRINGS}
    missed = []
    for path in source_files():
        name = module_name(path)
        try:
            module = importlib.import_module(name)
        except ImportError as error:
            if missing_optional_dependency(error) is None:
                raise
            continue
        for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
            if test.examples and test.name not in found:
                missed.append(test.name)
    assert not missed, f"examples this harness would not run: {missed}"
