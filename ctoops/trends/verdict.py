"""Judging trend rows against 429/5xx thresholds, saying what was and was not judged.

A window (per bucket) with fewer than ``min_requests`` requests is not held to the
thresholds: one 429 in two requests is not a 50% storm. Those windows are counted and said
(``not_judged``), never silently passed; a run where no window could be judged has proved
nothing about the rates (``Judgement.judged == 0``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ctoops.errors import BadInput


def fraction(value: Any, name: str) -> float | None:
    """A threshold as a finite fraction in [0, 1] (0.05 is 5%), None when not set.

    Raises ``BadInput`` (exit 2) for anything else: NaN would make every comparison false,
    so a gate set to it could never fire."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{name} {value!r} is not a number: give a fraction from 0 to 1 (0.05 is 5%)") from None
    if isinstance(value, bool) or not math.isfinite(number) or not 0 <= number <= 1:
        raise BadInput(f"{name} {value!r} is not a fraction from 0 to 1 (0.05 is 5%)")
    return number


@dataclass(frozen=True)
class Breach:
    """One window of one bucket over a limit: ``rate`` and ``limit`` are fractions."""

    window_start: int  # UTC seconds
    bucket: str
    what: str  # "429" | "5xx"
    rate: float
    limit: float
    requests: int


@dataclass(frozen=True)
class Judgement:
    """The verdict over trend rows: ``breaches`` (windows over a limit), ``judged`` (windows
    with at least ``min_requests`` requests, held to the limits), ``not_judged`` (windows
    under it, not held to them), per bucket and window."""

    breaches: list[Breach]
    judged: int
    not_judged: int
    min_requests: int

    def note(self) -> str:
        """``"3 windows under 10 requests not judged"``, or "" when every window was judged."""
        if not self.not_judged:
            return ""
        return f"{_n(self.not_judged, 'window')} under {self.min_requests} requests not judged"


def breaches(
    rows: Iterable[dict[str, Any]], max_429: float | None, max_5xx: float | None, min_requests: int
) -> Judgement:
    """Every window and bucket with at least ``min_requests`` requests whose rate is over its
    limit (a rate equal to the limit passes). Limits are checked with ``fraction``."""
    max_429 = fraction(max_429, "max_429_rate")
    max_5xx = fraction(max_5xx, "max_5xx_rate")
    found = []
    judged = not_judged = 0
    for row in rows:
        if row["requests"] < min_requests:
            not_judged += 1
            continue
        judged += 1
        for what, limit, rate in (("429", max_429, row["rate_429"]), ("5xx", max_5xx, row["rate_5xx"])):
            if limit is not None and rate > limit:
                found.append(Breach(row["window_start"], row["bucket"], what, rate, limit, row["requests"]))
    return Judgement(found, judged, not_judged, min_requests)


def summary(rows: list[dict[str, Any]], min_requests: int) -> list[dict[str, Any]]:
    """Per bucket: totals, overall rates, the worst judged window of each kind (None when no
    window had ``min_requests`` requests), and ``not_judged`` (windows under it)."""
    out = []
    for bucket in sorted({r["bucket"] for r in rows}):
        mine = [r for r in rows if r["bucket"] == bucket]
        requests = sum(r["requests"] for r in mine)
        s429 = sum(r["status_429"] for r in mine)
        s5xx = sum(r["status_5xx"] for r in mine)
        judged = [r for r in mine if r["requests"] >= min_requests]
        out.append(
            {
                "bucket": bucket,
                "windows": len(mine),
                "requests": requests,
                "status_429": s429,
                "status_5xx": s5xx,
                "rate_429": s429 / requests,
                "rate_5xx": s5xx / requests,
                "error_outcomes": sum(r["error_outcomes"] for r in mine),
                "worst_429": _worst(judged, "rate_429"),
                "worst_5xx": _worst(judged, "rate_5xx"),
                "not_judged": len(mine) - len(judged),
                "min_requests": min_requests,
            }
        )
    return out


def _worst(rows: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    if not rows:
        return None
    worst = max(rows, key=lambda r: (r[key], r["requests"]))
    return {"window_start": worst["window_start"], "rate": worst[key], "requests": worst["requests"]}


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
