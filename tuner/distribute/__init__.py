"""Scale-out on Ray: the oracle as one actor, workers running the trial loop against it.

Importing this package does not import Ray; a search with ``workers=RayWorkers(...)`` does.
"""

from tuner.distribute.config import RayWorkers

__all__ = ["RayWorkers"]
