"""A search run as a subprocess by tests/test_resume.py, to be killed with SIGKILL.

Usage: python resume_worker.py PROJECT_PARENT MAX_TRIALS LOG [KILL_AT_WRITE BEFORE|AFTER]

With KILL_AT_WRITE=k the process SIGKILLs itself at its k-th project-file write, just before or
just after the atomic rename: the instants where a crash would tear files or lose updates.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import types

import tuner as kt
from tuner.storage import writer

parent, max_trials, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]

if len(sys.argv) > 4:
    kill_at, when = int(sys.argv[4]), sys.argv[5]
    writes = 0

    def replace_then_maybe_die(source, destination):
        global writes
        writes += 1
        if writes == kill_at and when == "BEFORE":  # the temporary file is written and synced
            os.kill(os.getpid(), signal.SIGKILL)
        os.replace(source, destination)
        if writes == kill_at and when == "AFTER":
            os.kill(os.getpid(), signal.SIGKILL)

    # The project files' atomic writes (writer.write_atomic) rename through the `os` their
    # module sees; give that module alone an `os` whose replace may die, so the count is of
    # project-file writes only.
    writer.os = types.SimpleNamespace(**{**vars(os), "replace": replace_then_maybe_die})


def log(line: str) -> None:
    with open(log_path, "a") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


class SleepyTuner(kt.BaseTuner):
    def run_trial(self, trial, *args, **kwargs):
        log(f"START {trial.trial_id}")
        x = trial.hyperparameters.Float("x", -1.0, 1.0)
        time.sleep(0.05)
        return {"loss": x * x}

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        log(f"ENDED {trial.trial_id} {trial.status.value}")


oracle = kt.oracles.RandomSearchOracle(objective="loss", max_trials=max_trials, seed=1)
SleepyTuner(oracle, directory=parent, project_name="p").search(verbose=0)
log("SEARCH DONE")
