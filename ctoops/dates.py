"""Dates for usage, costs and trends: one vocabulary, UTC, the end exclusive (as OpenAI's and
AWS's cost APIs), and the split of a range into page-sized windows.

Every date option takes the same words (``parse_range`` for usage and costs, ``parse_instant``
for ``errors trend``):

* ``YYYY-MM-DD`` (that day, 00:00 UTC) or an ISO 8601 time (``2026-11-21T10:00:00Z``; no zone
  means UTC);
* ``Nm``, ``Nh``, ``Nd``: N minutes, hours or days before now;
* ``today``, ``yesterday``, ``tomorrow`` (ends only), ``mtd`` (the 1st of this month),
  ``last-month`` (the 1st of last month), ``last-week`` (Monday of last ISO week).

For usage and costs, a relative time is floored to the bucket (the day, or the hour with
``1h``), and a range left without an end takes the start's natural end: ``last-month`` ends
on the 1st of this month, ``last-week`` on this week's Monday, ``Nd`` and ``yesterday`` end
today (whole days); anything else ends tomorrow (through today, whose bucket is still
filling). What no user means is refused before any request: a start before 2020-01-01
(OpenAI's API opened in June 2020; no usage exists earlier), a start in the future, an end
more than a year ahead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ctoops.errors import BadInput

DAY = 86400
HOUR = 3600
EARLIEST = date(2020, 1, 1)  # OpenAI's API opened in June 2020: nothing to pull before this
LATEST_AHEAD = timedelta(days=366)  # an end (a forecast horizon) at most a year ahead
RULE = (
    "a date is YYYY-MM-DD or an ISO 8601 time (UTC), Nm/Nh/Nd ago, today, yesterday, tomorrow, "
    "mtd, last-month or last-week"
)
_RELATIVE = re.compile(r"(\d{1,6})([mhd])")
_UNIT_SECONDS = {"m": 60, "h": HOUR, "d": DAY}


@dataclass(frozen=True)
class Range:
    start: int  # unix seconds, inclusive, at 00:00 UTC (or an hour with 1h buckets)
    end: int  # unix seconds, exclusive

    def label(self) -> str:
        show = iso_day if self.start % DAY == 0 and self.end % DAY == 0 else iso_hour
        return f"{show(self.start)} to {show(self.end)} (end exclusive, UTC)"


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


def midnight(day: date) -> int:
    """00:00 UTC of ``day``, in unix seconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


_ts = midnight


def _first_of_month(day: date, back: int = 0) -> date:
    year, month = day.year, day.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def month_start(ts: int) -> int:
    """00:00 UTC on the 1st of the month holding ``ts`` (unix seconds)."""
    return _ts(_first_of_month(datetime.fromtimestamp(ts, tz=UTC).date()))


def next_month(ts: int) -> int:
    """00:00 UTC on the 1st of the month after the one holding ``ts`` (unix seconds)."""
    day = datetime.fromtimestamp(ts, tz=UTC).date()
    return _ts(date(day.year + day.month // 12, day.month % 12 + 1, 1))


def named_day(word: str, today: date) -> date | None:
    """The day a word names (``today``, ``yesterday``, ``tomorrow``, ``mtd``, ``last-month``,
    ``last-week``), or None for any other word."""
    if word in ("today", "yesterday", "tomorrow"):
        return today + timedelta(days={"today": 0, "yesterday": -1, "tomorrow": 1}[word])
    if word == "mtd":
        return _first_of_month(today)
    if word == "last-month":
        return _first_of_month(today, 1)
    if word == "last-week":
        return today - timedelta(days=today.weekday() + 7)
    return None


def _iso(text: str) -> datetime | None:
    """An ISO 8601 time (``Z``, an offset, or none for UTC), or None when the text is not one."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment.timestamp()  # an offset past year 1 or 9999 overflows here
    except (ValueError, OverflowError):
        return None
    return moment


def _point(text: str, now: float, unit: int, which: str) -> tuple[int, str]:
    """(unix seconds, form) for one end of a usage range; relative forms floored to ``unit``."""
    value = text.strip().lower()
    today = datetime.fromtimestamp(now, tz=UTC).date()
    if m := _RELATIVE.fullmatch(value):
        ago = int(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        return int(now - ago) // unit * unit, "days" if m.group(2) == "d" else "relative"
    day = named_day(value, today)
    if day is not None:
        if which == "start" and value == "tomorrow":
            raise BadInput(f"--start tomorrow is in the future ({RULE})")
        return _ts(day), value
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return _ts(date.fromisoformat(value)), "date"
        except ValueError:
            raise BadInput(f"--{which} {text!r} is not a real date ({RULE})") from None
    moment = _iso(text.strip()) if re.match(r"\d{4}-\d{2}-\d{2}[t ]\d", value) else None
    if moment is None:
        raise BadInput(f"--{which} {text!r} is not understood: {RULE}")
    ts = int(moment.timestamp())
    if ts % unit or moment.microsecond:  # 00:00:00.9 is not 00:00: never cut silently
        what = "00:00 UTC (1d buckets)" if unit == DAY else "a whole hour (1h buckets)"
        raise BadInput(f"--{which} {text!r} is not on a bucket boundary: give {what}")
    return ts, "time"


def parse_range(start: str, end: str | None, *, now: float | None = None, unit: int = DAY) -> Range:
    """The range asked for, in unix seconds on ``unit`` boundaries (``DAY`` or ``HOUR``).

    Raises ``BadInput`` (exit 2) with the rule for a form not understood, an end not after
    the start, a start before 2020-01-01 or in the future, an end more than a year ahead.
    """
    current = now if now is not None else datetime.now(UTC).timestamp()
    today = _ts(datetime.fromtimestamp(current, tz=UTC).date())
    first, kind = _point(start, current, unit, "start")
    if end is not None:
        last, _ = _point(end, current, unit, "end")
    elif kind == "last-month":
        last = month_start(int(current))
    elif kind == "last-week":
        last = first + 7 * DAY
    elif kind in ("days", "yesterday"):
        last = today
    else:
        last = today + DAY
    if first < _ts(EARLIEST):
        raise BadInput(
            f"--start {start!r} is before {EARLIEST.isoformat()}: OpenAI's API opened in June 2020, so "
            "there is no usage or cost to pull before then"
        )
    if first > current:
        raise BadInput(f"--start {iso_second(first)} is in the future (now is {iso_second(current)} UTC)")
    if last > today + LATEST_AHEAD.days * DAY:
        raise BadInput(f"--end {end!r} is more than a year ahead; no forecast reaches that far")
    if last <= first:
        show = iso_day if first % DAY == 0 and last % DAY == 0 else iso_second
        raise BadInput(
            f"the end ({show(last)}) must come after the start ({show(first)}): the end is exclusive, "
            f"so one day is --start {iso_day(first)} --end {iso_day(first + DAY)}"
        )
    return Range(first, last)


def windows(span: Range, bucket_seconds: int, buckets_per_window: int) -> list[Range]:
    """Consecutive windows of at most ``buckets_per_window`` buckets covering ``span`` exactly."""
    step = bucket_seconds * buckets_per_window
    return [Range(s, min(s + step, span.end)) for s in range(span.start, span.end, step)]


def parse_instant(text: str, which: str, *, now: float | None = None) -> int:
    """Milliseconds since the epoch from an ISO 8601 time (``2026-11-21T10:00:00Z``; no zone
    means UTC), a date (its 00:00 UTC), a relative ``Nm``, ``Nh``, ``Nd`` ago (exact, not
    floored), or a named day (``today``, ``yesterday``, ``mtd``, ``last-month``,
    ``last-week``: its 00:00 UTC). Raises ``BadInput`` (exit 2) with the rule otherwise."""
    value = text.strip()
    current = now if now is not None else datetime.now(UTC).timestamp()
    if m := _RELATIVE.fullmatch(value.lower()):
        seconds = int(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        return int((current - seconds) * 1000)
    day = named_day(value.lower(), datetime.fromtimestamp(current, tz=UTC).date())
    if day is not None:
        return _ts(day) * 1000
    moment = _iso(value)
    if moment is None:
        raise BadInput(
            f"--{which} {text!r} is not understood: give an ISO 8601 time (2026-11-21T10:00:00Z), "
            "a date (2026-11-21, UTC), Nm/Nh/Nd ago, or today, yesterday, mtd, last-month, last-week"
        )
    return int(moment.timestamp() * 1000)
