"""keras-tuner's ``keras_tuner.engine.objective`` (a public path in keras-tuner 1.0-1.2)."""

from __future__ import annotations

from tuner.objective import MultiObjective, Objective, create_objective

__all__ = ["MultiObjective", "Objective", "create_objective"]
