"""On whose behalf a request runs, and how long it waited: shared by checks and HTTP.

A check runs inside ``acting_for(name)``; ``ctoops.http`` reads ``current()`` to name the
check in its retry notices and to add every wait (a server's ``Retry-After``, the worker's
``retryAfterSeconds``, backoff) to ``waited_s``, so a check's latency is the request's time,
not the wait a server asked for. Context variables follow the thread that sets them, so
concurrent checks keep their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class Activity:
    """``name``: the check (``realtime_token``) or operation; ``waited_s``: seconds slept."""

    name: str
    waited_s: float = 0.0


_current: ContextVar[Activity | None] = ContextVar("ctoops_activity", default=None)


def current() -> Activity | None:
    """The activity of this thread's running check, if any."""
    return _current.get()


@contextmanager
def acting_for(name: str) -> Iterator[Activity]:
    """Run the block as ``name``; yields the Activity that collects its waits."""
    activity = Activity(name)
    token = _current.set(activity)
    try:
        yield activity
    finally:
        _current.reset(token)
