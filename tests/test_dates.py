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
        # a fraction of a second was cut silently: the range ran as whole days
        ("2026-10-10T00:00:00.999999Z", None, "not on a bucket boundary"),
        ("2026-10-01", "2026-10-12T00:00:00.9Z", "not on a bucket boundary"),
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


# -- one vocabulary for usage and errors trend (issue 16) -------------------------------------------

from ctoops.dates import HOUR, parse_instant  # noqa: E402

# NOW is Saturday 2026-11-21 15:30 UTC


@pytest.mark.parametrize(
    ("start", "end", "unit", "expected"),
    [
        ("6h", None, DAY, ("2026-11-21T00:00Z", "2026-11-22T00:00Z")),  # 09:30 today, floored to the day
        ("20h", None, DAY, ("2026-11-20T00:00Z", "2026-11-22T00:00Z")),
        ("6h", None, HOUR, ("2026-11-21T09:00Z", "2026-11-22T00:00Z")),  # floored to the hour
        ("90m", "30m", HOUR, ("2026-11-21T14:00Z", "2026-11-21T15:00Z")),
        ("last-week", None, DAY, ("2026-11-09T00:00Z", "2026-11-16T00:00Z")),  # Monday to Monday
        ("last-week", "today", DAY, ("2026-11-09T00:00Z", "2026-11-21T00:00Z")),
        ("2026-11-20T10:00:00Z", "2026-11-20T12:00:00Z", HOUR, ("2026-11-20T10:00Z", "2026-11-20T12:00Z")),
        ("2026-11-20T11:00:00+01:00", "2026-11-20T12:00Z", HOUR, ("2026-11-20T10:00Z", "2026-11-20T12:00Z")),
        ("2026-10-01", "mtd", DAY, ("2026-10-01T00:00Z", "2026-11-01T00:00Z")),  # a named day works as an end
        ("7d", "yesterday", DAY, ("2026-11-14T00:00Z", "2026-11-20T00:00Z")),
    ],
)
def test_the_vocabulary_for_usage_ranges(start, end, unit, expected):
    from ctoops.dates import iso_hour

    r = parse_range(start, end, now=NOW, unit=unit)
    assert (iso_hour(r.start), iso_hour(r.end)) == expected


@pytest.mark.parametrize(
    ("start", "end", "unit", "message"),
    [
        ("2026-11-20T10:30:00Z", None, HOUR, "not on a bucket boundary: give a whole hour"),
        ("2026-11-20T10:00:00Z", None, DAY, "not on a bucket boundary: give 00:00 UTC"),
        ("2019-12-31", None, DAY, "before 2020-01-01"),
        ("0001-01-01", None, DAY, "before 2020-01-01"),
        ("2026-01-01", "2027-12-01", DAY, "more than a year ahead"),
        ("1h", None, DAY, None),  # fine: today
        ("2026-11-21T16:00:00Z", None, HOUR, "in the future"),
    ],
)
def test_what_no_user_means_is_refused(start, end, unit, message):
    if message is None:
        parse_range(start, end, now=NOW, unit=unit)
        return
    with pytest.raises(BadInput) as info:
        parse_range(start, end, now=NOW, unit=unit)
    assert message in info.value.message and info.value.exit_code == 2


def test_an_hourly_range_is_labelled_in_hours():
    r = parse_range("6h", "1h", now=NOW, unit=HOUR)
    assert r.label() == "2026-11-21T09:00Z to 2026-11-21T14:00Z (end exclusive, UTC)"


@pytest.mark.parametrize("word", ["today", "yesterday", "mtd", "last-month", "last-week", "2026-11-02"])
def test_usage_and_trend_read_a_named_day_the_same(word):
    assert parse_instant(word, "since", now=NOW) == parse_range(word, None, now=NOW).start * 1000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yesterday", "2026-11-20T00:00:00Z"),
        ("last-week", "2026-11-09T00:00:00Z"),
        ("mtd", "2026-11-01T00:00:00Z"),
        ("last-month", "2026-10-01T00:00:00Z"),
        ("6h", "2026-11-21T09:30:00Z"),  # exact for trends: their windows align it
        ("45m", "2026-11-21T14:45:00Z"),
        ("2d", "2026-11-19T15:30:00Z"),
        ("2026-11-21T10:00:00+02:00", "2026-11-21T08:00:00Z"),
        ("2026-11-21", "2026-11-21T00:00:00Z"),
    ],
)
def test_the_vocabulary_for_trend_instants(text, expected):
    from ctoops.dates import iso_second

    assert iso_second(parse_instant(text, "since", now=NOW) / 1000) == expected


def test_a_trend_instant_not_understood_names_the_words():
    with pytest.raises(BadInput) as info:
        parse_instant("next-week", "since", now=NOW)
    assert "last-week" in info.value.message and info.value.exit_code == 2
