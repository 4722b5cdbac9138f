"""``python -m tuner``: the ``tuner`` command (see :mod:`tuner.cli`)."""

from __future__ import annotations

from tuner.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
