"""RayWorkers: how many Ray workers a search uses, what each one gets, and which cluster."""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuner.errors import missing_dependency

if TYPE_CHECKING:
    from tuner.search import BaseTuner

#: Environment variables of the driver that workers inherit when they are set (the Keras
#: backend must be the same everywhere, or a model built on a worker is not the driver's).
_INHERITED_VARIABLES = ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")

#: What tells each framework to share a GPU: TensorFlow grows its memory instead of taking the
#: device, JAX allocates on demand instead of preallocating 75%, torch's caching allocator
#: returns freed segments (its per-process fraction is set in the worker, in code).
_GPU_SHARING_VARIABLES = {
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
}


@dataclass(frozen=True)
class RayWorkers:
    """Runs a search's trials on ``num_workers`` Ray actors instead of in this process.

    Pass it as ``workers=`` to any tuner. The oracle stays the single writer of the project
    directory (in a Ray actor on this machine); each worker runs the tuner's own trial loop and
    streams each epoch's metrics back, so early-stopping oracles work as in one process. A
    worker that dies is replaced and its trial runs again elsewhere.

    Args:
        num_workers: How many trials run at once.
        cpus_per_worker: CPUs Ray reserves for each worker. TensorFlow in a worker is told to
            use that many threads, so workers do not fight over cores.
        gpus_per_worker: GPUs Ray reserves for each worker. A fraction (``0.25``) packs several
            workers on one GPU; each worker's framework is then told not to take the whole
            device (TensorFlow memory growth, JAX without preallocation, a torch memory
            fraction).
        address: None starts a local Ray runtime of the search's own (or uses the one already
            started by ``ray.init`` in this process, or the cluster ``RAY_ADDRESS`` names);
            ``"auto"`` or ``"host:port"`` joins a running cluster from one of its
            nodes; ``"ray://host:10001"`` joins one from outside through Ray Client (the oracle
            then works on a copy of the project in the cluster, copied back every second).
        env_vars: Extra environment variables for the worker processes.
        init_kwargs: Extra arguments for ``ray.init`` when this object starts Ray (for example
            ``{"num_cpus": 4}``; the dashboard is off unless ``{"include_dashboard": True}``).

    Raises:
        MissingDependencyError: Ray is not installed (``pip install tuner[ray]``).
        ValueError: A count or resource is out of range.

    Example:
        >>> import tuner as kt
        >>> workers = kt.RayWorkers(8, cpus_per_worker=1, gpus_per_worker=0.25)
        >>> tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=64,
        ...                         workers=workers)
        >>> tuner.search(x, y, epochs=20, validation_split=0.2)  # doctest: +SKIP
    """

    num_workers: int
    cpus_per_worker: float = 1
    gpus_per_worker: float = 0
    address: str | None = None
    env_vars: Mapping[str, str] = field(default_factory=dict)
    init_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.num_workers, bool) or not isinstance(self.num_workers, int):
            raise TypeError(
                f"RayWorkers needs an integer number of workers, got {self.num_workers!r}."
            )
        if self.num_workers < 1:
            raise ValueError(f"RayWorkers needs at least one worker, got {self.num_workers}.")
        if not _is_amount(self.cpus_per_worker):
            raise ValueError(
                f"cpus_per_worker must be a number >= 0, got {self.cpus_per_worker!r}."
            )
        if not _is_amount(self.gpus_per_worker):
            raise ValueError(
                f"gpus_per_worker must be a number >= 0, got {self.gpus_per_worker!r}."
            )
        if self.gpus_per_worker > 1 and self.gpus_per_worker != int(self.gpus_per_worker):
            raise ValueError(
                f"gpus_per_worker={self.gpus_per_worker}: Ray shares a GPU between workers only "
                "with fractions below 1; above 1 give a whole number of GPUs."
            )
        if self.address is not None and not isinstance(self.address, str):
            raise TypeError(f"address must be a string or None, got {self.address!r}.")
        if not _ray_is_installed():
            raise missing_dependency("ray", "kt.RayWorkers (parallel search)", "ray")
        if self.gpus_per_worker > 0:
            # This process builds models too (to learn the space, before a grid search or a
            # define-by-run one) and shares the GPUs with the workers: it must not take a
            # device's whole memory either. Set now, before the tuner is built: the frameworks
            # read these when they first touch a GPU.
            for name, value in _GPU_SHARING_VARIABLES.items():
                os.environ.setdefault(name, value)

    @property
    def packs_gpus(self) -> bool:
        """Whether several workers share one GPU."""
        return 0 < self.gpus_per_worker < 1

    def worker_env_vars(self) -> dict[str, str]:
        """The environment each worker process starts with (Ray's ``runtime_env``).

        Set before the worker imports its framework, which is when the frameworks read them.
        """
        env = {name: os.environ[name] for name in _INHERITED_VARIABLES if name in os.environ}
        if self.cpus_per_worker >= 1:
            threads = str(math.ceil(self.cpus_per_worker))
            env["TF_NUM_INTRAOP_THREADS"] = threads
            env["TF_NUM_INTEROP_THREADS"] = threads
        if self.packs_gpus:
            env.update(_GPU_SHARING_VARIABLES)
        env.update({str(name): str(value) for name, value in self.env_vars.items()})
        return env

    def run_search(
        self, tuner: BaseTuner, fit_args: tuple[Any, ...], fit_kwargs: dict[str, Any]
    ) -> None:
        """Runs the trials of ``tuner``'s search on Ray; called by ``BaseTuner.search``."""
        from tuner.distribute.driver import run_distributed_search  # imports ray

        run_distributed_search(self, tuner, fit_args, fit_kwargs)


def _is_amount(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _ray_is_installed() -> bool:
    """Whether ``import ray`` would find Ray (without importing it: that takes a second)."""
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):  # ValueError: sys.modules["ray"] is None
        return False


#: The environment variables through which keras-tuner launches its own distributed tuning
#: (a chief oracle serving workers over gRPC), which tuner does not support (yet).
KERAS_TUNER_DISTRIBUTION_VARIABLES = (
    "KERASTUNER_TUNER_ID",
    "KERASTUNER_ORACLE_IP",
    "KERASTUNER_ORACLE_PORT",
)


def keras_tuner_distribution_variables(
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """keras-tuner's distributed-tuning variables set in ``environ`` (the process's by default).

    The one place tuner reads them, when a tuner is constructed.
    """
    environment = os.environ if environ is None else environ
    return {
        name: environment[name]
        for name in KERAS_TUNER_DISTRIBUTION_VARIABLES
        if name in environment
    }
