"""Date ranges for usage and costs: UTC days, the end exclusive (as OpenAI's and AWS's cost
APIs), from ISO dates or relative forms, and their split into page-sized windows.

``--start`` takes ``YYYY-MM-DD``, ``Nd`` (N days before today), ``today``, ``yesterday``,
``mtd`` (the first of this month) or ``last-month`` (the first of last month). ``--end``
takes ``YYYY-MM-DD``, ``Nd``, ``today``, ``yesterday`` or ``tomorrow``; left out, it is the
start's natural end: ``last-month`` ends on the first of this month, ``Nd`` and
``yesterday`` end today (whole days), anything else ends tomorrow (through today, whose
bucket is still filling).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ctoops.errors import BadInput

DAY = 86400
RULE = "a date is YYYY-MM-DD (UTC) or one of Nd, today, yesterday, tomorrow, mtd, last-month"


@dataclass(frozen=True)
class Range:
    start: int  # unix seconds, inclusive, at 00:00 UTC
    end: int  # unix seconds, exclusive

    def label(self) -> str:
        return f"{iso_day(self.start)} to {iso_day(self.end)} (end exclusive, UTC)"


def iso_day(ts: float) -> str:
    """``2026-11-21``: the UTC day of ``ts`` (unix seconds)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def iso_second(ts: float) -> str:
    """``2026-11-21T10:05:00Z``: ``ts`` (unix seconds) in UTC, to the second."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(ts: float) -> str:
    """``2026-11-21T10:05:00.250Z``: ``ts`` (unix seconds) in UTC, to the millisecond."""
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_hour(ts: float) -> str:
    """``2026-11-21T10:00Z``: the UTC hour of ``ts`` (unix seconds), for hourly buckets."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:00Z")


def day_start(ts: float) -> int:
    """00:00 UTC of the day holding ``ts`` (unix seconds)."""
    return int(ts) // DAY * DAY


def _ts(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _first_of_month(day: date, back: int = 0) -> date:
    year, month = day.year, day.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def _parse(text: str, today: date, which: str) -> tuple[date, str]:
    value = text.strip().lower()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value), "date"
        except ValueError:
            raise BadInput(f"--{which} {text!r} is not a real date ({RULE})") from None
    if m := re.fullmatch(r"(\d{1,4})d", value):
        return today - timedelta(days=int(m.group(1))), "days"
    named = {"today": today, "yesterday": today - timedelta(days=1), "tomorrow": today + timedelta(days=1)}
    if value in named and not (which == "start" and value == "tomorrow"):
        return named[value], value
    if which == "start" and value == "mtd":
        return _first_of_month(today), "mtd"
    if which == "start" and value == "last-month":
        return _first_of_month(today, 1), "last-month"
    raise BadInput(f"--{which} {text!r} is not understood: {RULE}")


def parse_range(start: str, end: str | None, *, now: float | None = None) -> Range:
    """The range asked for; exit 2 with the rule when it is not one."""
    today = datetime.fromtimestamp(now if now is not None else datetime.now(UTC).timestamp(), tz=UTC).date()
    first, kind = _parse(start, today, "start")
    if end is not None:
        last, _ = _parse(end, today, "end")
    elif kind == "last-month":
        last = _first_of_month(today)
    elif kind in ("days", "yesterday"):
        last = today
    else:
        last = today + timedelta(days=1)
    if first > today:
        raise BadInput(f"--start {first.isoformat()} is in the future (today is {today.isoformat()} UTC)")
    if last <= first:
        raise BadInput(
            f"the end ({last.isoformat()}) must come after the start ({first.isoformat()}): the end is exclusive, "
            f"so one day is --start {first.isoformat()} --end {(first + timedelta(days=1)).isoformat()}"
        )
    return Range(_ts(first), _ts(last))


def windows(span: Range, bucket_seconds: int, buckets_per_window: int) -> list[Range]:
    """Consecutive windows of at most ``buckets_per_window`` buckets covering ``span`` exactly."""
    step = bucket_seconds * buckets_per_window
    return [Range(s, min(s + step, span.end)) for s in range(span.start, span.end, step)]


def parse_instant(text: str, which: str, *, now: float | None = None) -> int:
    """Milliseconds since the epoch from an ISO 8601 time (``2026-11-21T10:00:00Z``; no zone
    means UTC), a date (its 00:00 UTC), or a relative ``Nm``, ``Nh``, ``Nd`` ago."""
    value = text.strip()
    current = now if now is not None else datetime.now(UTC).timestamp()
    if m := re.fullmatch(r"(\d{1,6})([mhd])", value.lower()):
        seconds = int(m.group(1)) * {"m": 60, "h": 3600, "d": DAY}[m.group(2)]
        return int((current - seconds) * 1000)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"--{which} {text!r} is not understood: give an ISO 8601 time (2026-11-21T10:00:00Z), "
            "a date (2026-11-21, UTC), or Nm/Nh/Nd ago"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
