"""Terminal tables: cell forms, and fitting a table to 80 and 120 columns without a wrapped row."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from ctoops.tables import Column, count, money, percent, terminal_table, time_forms

ANSI = re.compile(r"\x1b\[[0-9;]*m")

TREND_COLUMNS = [
    Column("window_start", "window", "time"),
    Column("bucket", "group", labels={"realtime_token": "rt", "cto_openai_proxy": "proxy"}),
    Column("requests", kind="count"),
    Column("status_429", "429", "count"),
    Column("status_5xx", "5xx", "count"),
    Column("rate_429", "429 rate", "percent"),
    Column("rate_5xx", "5xx rate", "percent"),
    Column("error_outcomes", "error outcomes", "count", priority=2),
    Column("sampled", priority=3),
]


def trend_rows(n: int = 6) -> list[dict]:
    start = 1795500000  # 2026-11-24T06:00:00Z
    return [
        {
            "window_start": start + i * 300,
            "bucket": bucket,
            "requests": 123456 + i,
            "status_429": 7 * i,
            "status_5xx": i,
            "rate_429": 7 * i / (123456 + i),
            "rate_5xx": i / (123456 + i),
            "error_outcomes": 0,
            "sampled": i == 2,
        }
        for i in range(n)
        for bucket in ("realtime_token", "cto_openai_proxy")
    ]


def test_cell_forms():
    assert count(1234567) == "1,234,567" and count(None) == ""
    assert percent(0.0525) == "5.2%" or percent(0.0525) == "5.3%"  # float binary form decides
    assert percent(None) == ""  # no data is never 0%
    assert money(Decimal("1234.5678"), "usd") == "1,234.57 USD"
    assert money(Decimal("0.125"), "usd") == "0.13 USD"  # half away from zero, as spreadsheets
    assert money(Decimal("0.004"), "usd") == "<0.01 USD"  # never shown as nothing when it is not
    assert money(Decimal("0"), "usd") == "0.00 USD"


def test_times_say_what_they_share_once():
    day = [1795500000, 1795500300]
    assert time_forms(day) == (["06:00", "06:05"], "UTC 2026-11-24")
    days = [1795478400, 1795564800]  # midnights: daily buckets
    assert time_forms(days) == (["11-24", "11-25"], "UTC 2026")
    years = ["2025-12-31T23:00:00Z", "2026-01-01T01:00:00Z"]
    assert time_forms(years) == (["2025-12-31 23:00", "2026-01-01 01:00"], "UTC")


@pytest.mark.parametrize("width", [80, 120])
def test_the_trend_table_fits_without_wrapping(width):
    rows = trend_rows()
    fitted = terminal_table(rows, TREND_COLUMNS, width, color=False)
    lines = str(fitted).splitlines()
    assert max(len(line) for line in lines) <= width
    body = fitted.text
    assert "times in UTC 2026-11-24" in body
    assert "123,456" in body and "06:00" in body and "rt " in body
    assert "group: rt = realtime_token, proxy = cto_openai_proxy" in fitted.notes
    assert len([line for line in lines if line.startswith(("06:", "07:"))]) == len(rows)


def test_columns_are_dropped_by_priority_with_a_note():
    fitted = terminal_table(trend_rows(), TREND_COLUMNS, 70, color=False)
    assert fitted.dropped == ["sampled", "error outcomes"]  # the highest priority goes first
    assert any("left out to fit 70 columns: sampled, error outcomes" in n for n in fitted.notes)
    wide = terminal_table(trend_rows(), TREND_COLUMNS, 120, color=False)
    assert wide.dropped == [] and "error outcomes" in wide.text


def test_a_flexible_column_is_cut_not_dropped():
    rows = [{"check": "models", "result": "FAIL", "detail": "x" * 200}]
    columns = [Column("check"), Column("result"), Column("detail", flex=True, min_width=20)]
    fitted = terminal_table(rows, columns, 80, color=False)
    assert fitted.dropped == [] and "…" in fitted.text
    assert max(len(line) for line in fitted.text.splitlines()) <= 80


def test_nothing_disappears_silently_when_even_the_kept_columns_do_not_fit():
    fitted = terminal_table(trend_rows(), TREND_COLUMNS, 30, color=False)
    assert "5xx rate" in fitted.text and "0.0%" in fitted.text
    said = " ".join(n.strip() for n in fitted.notes)
    assert "this table needs" in said and "the terminal has 30" in said


def test_colour_only_when_asked():
    styles = {"result": lambda text: "green" if text == "PASS" else "red"}
    rows = [{"check": "models", "result": "PASS"}, {"check": "usage", "result": "FAIL"}]
    columns = [Column("check"), Column("result")]
    coloured = terminal_table(rows, columns, 80, color=True, styles=styles).text
    plain = terminal_table(rows, columns, 80, color=False, styles=styles).text
    assert "\x1b[32mPASS" in coloured and "\x1b[31mFAIL" in coloured
    assert ANSI.search(plain) is None and ANSI.sub("", coloured) == plain
