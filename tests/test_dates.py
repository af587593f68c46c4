"""Date ranges: UTC days, end exclusive, relative forms, and windows that cover a range exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctoops.dates import DAY, Range, iso_day, parse_range, windows
from ctoops.errors import BadInput

NOW = datetime(2026, 11, 21, 15, 30, tzinfo=UTC).timestamp()


def days(r: Range) -> tuple[str, str]:
    return iso_day(r.start), iso_day(r.end)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-10-01", "2026-11-01", ("2026-10-01", "2026-11-01")),
        ("2026-10-01", None, ("2026-10-01", "2026-11-22")),  # through today
        ("7d", None, ("2026-11-14", "2026-11-21")),  # seven whole days, today excluded
        ("30d", "7d", ("2026-10-22", "2026-11-14")),
        ("mtd", None, ("2026-11-01", "2026-11-22")),
        ("last-month", None, ("2026-10-01", "2026-11-01")),
        ("yesterday", None, ("2026-11-20", "2026-11-21")),
        ("today", "tomorrow", ("2026-11-21", "2026-11-22")),
        ("2026-02-28", "2026-03-01", ("2026-02-28", "2026-03-01")),
    ],
)
def test_ranges(start, end, expected):
    assert days(parse_range(start, end, now=NOW)) == expected


def test_last_month_in_january_is_december():
    january = datetime(2027, 1, 10, tzinfo=UTC).timestamp()
    assert days(parse_range("last-month", None, now=january)) == ("2026-12-01", "2027-01-01")


def test_ranges_are_utc_midnights():
    r = parse_range("2026-10-01", "2026-10-02", now=NOW)
    assert r.start == int(datetime(2026, 10, 1, tzinfo=UTC).timestamp()) and r.end - r.start == DAY


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-10-01", "2026-10-01", "must come after the start"),
        ("2026-10-02", "2026-10-01", "must come after the start"),
        ("2026-13-01", None, "not a real date"),
        ("01/10/2026", None, "not understood"),
        ("next week", None, "not understood"),
        ("tomorrow", None, "in the future"),
        ("2027-01-01", None, "in the future"),
        ("2026-10-01", "next-month", "not understood"),
    ],
)
def test_bad_ranges_exit_2_with_the_rule(start, end, message):
    with pytest.raises(BadInput) as info:
        parse_range(start, end, now=NOW)
    assert message in info.value.message and info.value.exit_code == 2


@given(
    start_day=st.integers(0, 3000),
    length=st.integers(1, 800),
    hours=st.booleans(),
    per=st.integers(1, 200),
)
def test_windows_cover_the_range_exactly_without_overlap(start_day, length, hours, per):
    width = 3600 if hours else DAY
    span = Range(start_day * DAY, start_day * DAY + length * width)
    parts = windows(span, width, per)
    assert parts[0].start == span.start and parts[-1].end == span.end
    assert all(a.end == b.start for a, b in zip(parts, parts[1:], strict=False))
    assert all(0 < (p.end - p.start) <= per * width for p in parts)
