"""Adapt under pressure: fewer requests at a time while the API answers 429, more on success.

The AWS CLI's ``adaptive`` retry mode keeps a client-side rate that drops on a throttle and
climbs back on success (CUBIC). ctoops does the same to its window concurrency, in the
simplest form that converges (AIMD, as TCP): a 429 that survived the HTTP layer's own
retries halves the number of requests in flight (never below 1); ``limit`` successes in a
row add one back (up to ``--concurrency``). Several requests failing together count as one
signal: only a request sent under the current limit lowers it again. The throttled request
waits (``retry.backoff``: exponential with jitter) and is sent again, so a long pull completes whenever
the API allows one request at a time; it gives up (exit 5) only when requests sent alone
keep being refused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from ctoops.errors import CtoopsError, RateLimited
from ctoops.retry import QUOTA_CODES, backoff

T = TypeVar("T")
# Requests refused with 429 while nothing else was in flight, before the pull gives up.
ALONE_LIMIT = 4


def is_throttle(exc: BaseException) -> bool:
    """A 429 that asks for a slower pace: not a quota or billing limit (``retry.QUOTA_CODES``),
    and not one ``retry.decide`` gave up on for a reason (a wait over its cap, a request too
    large: the HTTP layer says "not retried: <reason>")."""
    if not isinstance(exc, CtoopsError) or exc.status != 429:
        return False
    if exc.code in QUOTA_CODES or getattr(exc, "type", None) == "insufficient_quota":
        return False
    return "; not retried: " not in exc.format_message()


class AdaptiveLimit:
    """A concurrency limit between 1 and ``maximum`` that requests acquire a slot of.

    ``on_change(old, new)`` is called (outside the lock) when the limit moves.
    """

    def __init__(self, maximum: int, on_change: Callable[[int, int], None] | None = None) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.lowest = self.maximum
        self.throttles = 0  # 429s answered by lowering or waiting
        self.in_flight = 0
        self.peak = 0
        self._epoch = 0
        self._successes = 0
        self._cond = threading.Condition()
        self._on_change = on_change or (lambda old, new: None)

    def acquire(self) -> tuple[int, int]:
        """Wait for a slot; returns (epoch, limit) at the time the request goes out."""
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return self._epoch, self.limit

    def succeeded(self) -> None:
        change = None
        with self._cond:
            self.in_flight -= 1
            self._successes += 1
            if self._successes >= self.limit and self.limit < self.maximum:
                change = (self.limit, self.limit + 1)
                self.limit += 1
                self._successes = 0
            self._cond.notify_all()
        if change:
            self._on_change(*change)

    def failed(self) -> None:
        with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def throttled(self, epoch: int) -> None:
        change = None
        with self._cond:
            self.in_flight -= 1
            self.throttles += 1
            self._successes = 0
            if epoch == self._epoch and self.limit > 1:
                change = (self.limit, max(1, self.limit // 2))
                self.limit = change[1]
                self.lowest = min(self.lowest, self.limit)
            if epoch == self._epoch:
                self._epoch += 1
            self._cond.notify_all()
        if change:
            self._on_change(*change)

    def call(self, fn: Callable[[], T], sleep: Callable[[float], None], what: str) -> T:
        """``fn()`` in a slot; a throttle lowers the limit, waits and sends again."""
        alone = 0
        attempt = 0
        while True:
            epoch, limit = self.acquire()
            try:
                result = fn()
            except BaseException as exc:
                if not is_throttle(exc):
                    self.failed()
                    raise
                self.throttled(epoch)
                attempt += 1
                alone += limit == 1
                if alone >= ALONE_LIMIT:
                    raise RateLimited(
                        f"{what}: still answered 429 with one request at a time, {alone} times ({exc})",
                        status=429,
                    ) from None
                sleep(backoff(attempt))
                continue
            self.succeeded()
            return result


def default_sleep(seconds: float) -> None:
    """The wait between throttled attempts: ctoops' one wait, ``ctoops.http.sleep`` (which the
    tests record instead of paying)."""
    from ctoops import http

    http.sleep(seconds)
