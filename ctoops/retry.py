"""Whether to send a failed request again, and when: a pure decision on what the answer means.

Each backend adapter parses its API's error envelope once into an ``ApiError``
(``backends/opencto.py`` for the worker, ``backends/openai.py`` for OpenAI); ``decide`` turns
(status, headers, that error, attempt) into a ``Decision``. No I/O, no clock but the one given:
it is tested as a table (``tests/test_retry.py``).

Rules (openai-python's, ``../shared/reference/openai-api.md`` §7, plus what the worker and the
quota codes need):

1. ``x-should-retry: false`` is obeyed; ``true`` makes any status retryable.
2. Never retried, whatever the status: a quota or billing limit (``insufficient_quota`` and the
   newer billing codes, also when the worker wraps them in ``OPENAI_ERROR``), and answers the
   adapter marks deterministic (the worker's ``CONFIG_ERROR``, its 502 "Unexpected response
   shape from OpenAI", OpenAI's "Request too large"): sending them again changes nothing.
3. Retryable statuses: 408, 409, 429, 5xx. Every other 4xx is final.
4. The wait is the server's when it gives one, in headers or body, in any unit OpenAI and the
   worker use: ``retry-after-ms`` (ms), ``Retry-After`` (seconds or an HTTP date), the worker's
   ``details.retryAfterSeconds``, OpenAI's "Please try again in 26.604s" text, and on a 429 the
   ``x-ratelimit-reset-requests``/``-tokens`` duration strings (``6m0s``, ``20ms``) of the limit
   that is exhausted. A wait over ``max_wait`` is not waited: the decision says how long it was.
5. Otherwise exponential backoff: 0.5 s, 1 s, 2 s ... capped at 8 s, each scaled down by up to
   25% (openai-python's jitter).
"""

from __future__ import annotations

import email.utils
import math
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

MAX_WAIT = 60.0  # seconds: the longest single wait ctoops accepts (the worker's windows are 60 s)
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 8.0
RETRY_STATUSES = frozenset({408, 409, 429})
# OpenAI codes that no retry can fix (openai-api.md §6.3): quota and billing.
QUOTA_CODES = frozenset(
    {
        "insufficient_quota",
        "credit_balance_exhausted",
        "organization_spend_limit_exceeded",
        "project_spend_limit_exceeded",
        "organization_usage_limit_exceeded",
    }
)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


@dataclass(frozen=True)
class ApiError:
    """One failed answer, as its backend adapter read it.

    ``origin`` says who really answered ("OpenAI", "OpenAI, via the worker", "the OpenCTO
    worker", "a proxy in front of the worker" for an HTML page). ``code``/``type`` are the
    API's (the worker's ``code``; OpenAI's ``error.code``/``error.type``). ``message`` is a
    short excerpt of the text as sent (redacted, then cut: ``envelope.message_excerpt``).
    ``body_wait`` is a wait in seconds the body asked for.
    ``final`` is the reason no retry can help, when the adapter knows one; ``quota`` marks a
    quota or billing limit. ``details`` carries fields the error message may name (the
    limiter's bucket, an excerpt of a non-JSON body).
    """

    status: int
    origin: str
    code: str | None = None
    type: str | None = None
    message: str = ""
    body_wait: float | None = None
    final: str | None = None
    quota: bool = False
    is_json: bool = True
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``429 insufficient_quota``: the status and the most specific code there is."""
        named = self.code or self.type
        return f"{self.status} {named}" if named else str(self.status)


@dataclass(frozen=True)
class Decision:
    """``retry``: send again after ``wait`` seconds. When not, ``reason`` says why it stopped
    early (None for a status that is simply final, such as a 400)."""

    retry: bool
    wait: float = 0.0
    reason: str | None = None


def decide(
    status: int,
    headers: Mapping[str, str],
    error: ApiError | None,
    attempt: int,
    *,
    max_wait: float = MAX_WAIT,
    now: float | None = None,
    jitter: Callable[[], float] = random.random,
) -> Decision:
    """Retry the answer ``status`` got on attempt ``attempt`` (1-based)?

    ``headers`` are the response's (any case); ``error`` is the adapter's reading of the body
    (None when the answer was a success or had no body to read). ``now`` (unix seconds) turns
    an HTTP-date ``Retry-After`` into seconds. Attempts left are the caller's business.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    should = lower.get("x-should-retry", "").strip().lower()
    if should == "false":
        return Decision(False, reason="the server said not to retry (x-should-retry: false)")
    if error is not None and error.quota:
        return Decision(False, reason="a quota or billing limit, which no retry can fix")
    if error is not None and error.final:
        return Decision(False, reason=error.final)
    if not (should == "true" or status in RETRY_STATUSES or status >= 500):
        return Decision(False)
    wait = server_wait(lower, error, status, now=now)
    if wait is None or wait <= 0:
        # no sign, or "now" (Retry-After: 0, a date already past): the backoff, never a tight
        # loop against a server that is failing (as openai-python does outside 0 < wait <= 60)
        return Decision(True, backoff(attempt, jitter))
    if wait > max_wait:
        return Decision(False, wait, f"it asks to wait {_seconds(wait)}, more than ctoops waits ({max_wait:.0f}s)")
    return Decision(True, wait + 0.25 * jitter())


def server_wait(
    headers: Mapping[str, str], error: ApiError | None, status: int, *, now: float | None = None
) -> float | None:
    """Seconds the server asked to wait, or None when it gave no sign.

    ``headers`` must have lower-case names. Order: ``retry-after-ms``, ``Retry-After``, the
    body's wait, then (429 only) the reset of the exhausted ``x-ratelimit-*`` limit.
    """
    value = headers.get("retry-after-ms")
    if value:
        number = _number(value)
        if number is not None:
            return max(0.0, number / 1000)
    value = headers.get("retry-after")
    if value:
        number = _number(value)
        if number is not None:
            return max(0.0, number)
        when = _http_date(value)
        if when is not None:
            import time

            return max(0.0, when - (now if now is not None else time.time()))
    if error is not None and error.body_wait is not None:
        return max(0.0, error.body_wait)
    if status == 429:
        resets = []
        for limit in ("requests", "tokens"):
            remaining = headers.get(f"x-ratelimit-remaining-{limit}", "").strip()
            reset = duration(headers.get(f"x-ratelimit-reset-{limit}", ""))
            if reset is not None and remaining in ("0", ""):
                resets.append(reset)
        if resets:
            return max(resets)
    return None


def duration(text: str) -> float | None:
    """Seconds in a Go-style duration (``1s``, ``6m0s``, ``20ms``, ``1h2m3.5s``), as OpenAI
    sends ``x-ratelimit-reset-*`` (openai-api.md §6.5); a bare number is seconds; else None."""
    text = text.strip()
    if not text:
        return None
    number = _number(text)
    if number is not None:
        return max(0.0, number)
    total = 0.0
    position = 0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            return None
        value = float(match.group(1))
        total += {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}[match.group(2)] * value
        position = match.end()
    return total if position == len(text) and position else None


def backoff(attempt: int, jitter: Callable[[], float] = random.random) -> float:
    """0.5 s, 1 s, 2 s ... capped at 8 s, each scaled down by up to 25% (openai-python's)."""
    delay = min(BACKOFF_INITIAL * 2 ** (attempt - 1), BACKOFF_MAX)
    return float(delay * (1 - 0.25 * jitter()))


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _http_date(text: str) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _seconds(wait: float) -> str:
    """``90s``; from 2 minutes on also in minutes, to one decimal: ``150s (2.5 min)``."""
    if wait < 120:
        return f"{wait:.0f}s"
    minutes = f"{wait / 60:.1f}".removesuffix(".0")
    return f"{wait:.0f}s ({minutes} min)"
