"""The one clock every check reads: secret expiries, "yesterday", report timestamps.

Tests pin it (``monkeypatch.setattr("ctoops.checks.clock.now", ...)``) to a recording's time.
"""

from __future__ import annotations

import time


def now() -> float:
    """Unix seconds (UTC wall clock)."""
    return time.time()
