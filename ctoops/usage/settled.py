"""The settled-through mark: how far a usage or costs result is complete.

OpenAI does not say when a bucket's data has landed (openai-api.md §3.4: "UNVERIFIED"; costs
lag by a day or more in the field), and an empty bucket reads the same whether nothing
happened or nothing has arrived yet. So ctoops states only what the answer proves:

* a bucket is **settled** when it has closed (its end is past at the time of the pull), the
  API returned it, and a later closed bucket holds data (so data had landed past it), or it
  holds data itself; every bucket before it must be settled too;
* **settled through** is the end of the last settled bucket (exclusive, UTC), or none;
* after it: **open** (the bucket has not ended: still filling), **not landed** (closed but
  empty or absent, with no data after it: maybe no usage, maybe not arrived), **missing**
  (the API did not return a closed bucket at all; every bucket after a missing one is at
  most **unsettled**), and **future** (not begun at the time of the pull: not asked for).

A missing or not-landed bucket is never a 0: summaries show it as such and leave it out
of settled figures; forecasts use settled buckets only.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ctoops.dates import DAY, iso_day, iso_hour, iso_second, month_start, next_month

if TYPE_CHECKING:
    from ctoops.usage.pull import Coverage

SETTLED, OPEN, NOT_LANDED, MISSING, UNSETTLED, FUTURE = (
    "settled",
    "open",
    "not landed",
    "missing",
    "unsettled",
    "future",
)
PARTLY = "partly settled"  # a day or month whose first buckets are settled and later ones not


@dataclass(frozen=True)
class Watermark:
    """Each bucket's status over the range, and the settled-through time (unix s, exclusive)."""

    start: int
    end: int
    bucket_seconds: int
    settled_through: int | None
    statuses: tuple[tuple[int, str], ...]  # (bucket start, status) for every bucket of the range

    @property
    def complete(self) -> bool:
        """Every bucket of the range is settled."""
        return self.settled_through == self.end

    def status(self, start: int) -> str:
        i = bisect.bisect_left(self.statuses, (start, ""))
        return self.statuses[i][1] if i < len(self.statuses) and self.statuses[i][0] == start else FUTURE

    def unsettled(self) -> list[tuple[int, str]]:
        return [(s, st) for s, st in self.statuses if st != SETTLED]

    def label(self) -> str:
        """``2026-11-19`` (the last settled day), or "nothing" when no bucket is settled."""
        if self.settled_through is None:
            return "nothing"
        return _show(self.settled_through - self.bucket_seconds, self.bucket_seconds)

    def describe(self) -> str:
        """One line: settled through what, and what is not settled, counted by status."""
        head = (
            f"settled through {self.label()}"
            if self.settled_through is not None
            else "nothing settled (no bucket of the range has closed with its data landed)"
        )
        if self.complete:
            return f"{head}: the whole range"
        parts = []
        for status in (OPEN, NOT_LANDED, MISSING, UNSETTLED, FUTURE):
            starts = [s for s, st in self.statuses if st == status]
            if starts:
                parts.append(f"{status} {_stretch(starts, self.bucket_seconds)}")
        return f"{head}; not settled: {'; '.join(parts)}"

    def period_status(self, start: int, end: int) -> str:
        """The status of a longer period (a day of hours, a month of days): settled when every
        bucket in it is; ``partly settled`` when some are, then not (a month settled through
        its 28th is not "not landed"); else the status of its first bucket."""
        first = i = bisect.bisect_left(self.statuses, (start, ""))
        while i < len(self.statuses) and self.statuses[i][0] < end:
            if self.statuses[i][1] != SETTLED:
                return PARTLY if i > first else self.statuses[i][1]
            i += 1
        return SETTLED

    def periods(self, unit: str) -> list[tuple[int, int, str]]:
        """(start, end, status) of every UTC ``day`` or ``month`` of the range (clipped)."""
        out = []
        cursor = self.start
        while cursor < self.end:
            nxt = next_month(month_start(cursor)) if unit == "month" else (cursor // DAY + 1) * DAY
            nxt = min(nxt, self.end)
            out.append((cursor, nxt, self.period_status(cursor, nxt)))
            cursor = nxt
        return out

    def as_record(self) -> dict[str, Any]:
        """JSON-ready: ``settledThrough`` (ISO 8601 UTC, exclusive end, or null), ``complete``,
        ``notSettled`` (each unsettled bucket with its status)."""
        return {
            "settledThrough": None if self.settled_through is None else iso_second(self.settled_through),
            "lastSettledBucket": None if self.settled_through is None else self.label(),
            "complete": self.complete,
            "notSettled": [{"bucket": _show(s, self.bucket_seconds), "status": st} for s, st in self.unsettled()],
        }


def watermark(coverage: Coverage) -> Watermark:
    """The statuses of every bucket of ``coverage.span`` (see the module doc)."""
    width = coverage.bucket_seconds
    span = coverage.span
    statuses: list[tuple[int, str]] = []
    closed_end = coverage.now  # a bucket has closed when its end is not after the pull's clock
    # the last closed bucket with data, before any missing one
    last_filled: int | None = None
    for start in range(span.start, span.end, width):
        if start >= coverage.fetched_end or start + width > closed_end:
            break
        if start not in coverage.returned:
            break
        if start in coverage.filled:
            last_filled = start
    through = None if last_filled is None else last_filled + width
    seen_gap = False
    for start in range(span.start, span.end, width):
        if through is not None and start < through:
            statuses.append((start, SETTLED))
        elif start >= coverage.fetched_end:
            statuses.append((start, FUTURE))
        elif start + width > closed_end:
            statuses.append((start, OPEN))
        elif start not in coverage.returned:
            statuses.append((start, MISSING))
            seen_gap = True
        elif seen_gap:
            statuses.append((start, UNSETTLED))
        else:
            statuses.append((start, NOT_LANDED))
    return Watermark(span.start, span.end, width, through, tuple(statuses))


def _show(start: int, width: int) -> str:
    return iso_day(start) if width >= DAY else iso_hour(start)


def _stretch(starts: list[int], width: int) -> str:
    """``2026-11-20`` or ``2026-11-20..2026-11-22 (3)`` for a run of buckets."""
    if len(starts) == 1:
        return _show(starts[0], width)
    return f"{_show(starts[0], width)}..{_show(starts[-1], width)} ({len(starts)})"
