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
    # 33 digits: the default decimal context (28) refused to round it to cents (an internal error)
    big = Decimal("1234567890123456789012345678901.125")
    assert money(big, "usd") == "1,234,567,890,123,456,789,012,345,678,901.13 USD"


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


def test_a_wrapping_column_keeps_every_word_within_the_width():
    detail = "a proxy in front of the worker answered 502 Bad Gateway with text/html, not JSON " * 3
    rows = [
        {"check": "models", "result": "FAIL", "detail": detail},
        {"check": "usage", "result": "PASS", "detail": "ok"},
    ]
    columns = [Column("check"), Column("result"), Column("detail", flex=True, wrap=True, min_width=24)]
    fitted = terminal_table(rows, columns, 80, color=False)
    lines = fitted.text.splitlines()
    assert "…" not in fitted.text and max(len(line) for line in lines) <= 80
    start = lines[2].index("a proxy")  # the detail column: every later line of it starts there
    words = " ".join(line[start:].strip() for line in lines[2:] if line[start:].strip())
    assert words.startswith(detail.strip()) and words.endswith("ok")
    assert [line[:start].split() for line in lines[2:] if line[:start].strip()] == [
        ["models", "FAIL"],
        ["usage", "PASS"],
    ]


def test_a_table_no_width_can_hold_becomes_one_block_per_row_losing_nothing():
    rows = trend_rows()
    fitted = terminal_table(rows, TREND_COLUMNS, 30, color=False)
    said = " ".join(n.strip() for n in fitted.notes)
    assert "one block per row" in said and "the terminal has 30" in said
    assert fitted.dropped == []  # as blocks, every column fits again
    lines = fitted.text.splitlines()
    assert max(len(line) for line in lines) <= 30
    blocks = fitted.text.strip().split("\n\n")
    assert len(blocks) == len(rows) + 1  # the title (times in ...), then one block per row
    for column in TREND_COLUMNS:
        assert all(any(line.startswith(column.title()) for line in b.splitlines()) for b in blocks[1:]), column


def test_a_long_value_in_a_block_wraps_under_its_field():
    rows = [{"source": "graphql", "needs": "a token with Analytics Read on the zone " * 3}]
    columns = [Column("source"), Column("needs", flex=True, min_width=40)]
    fitted = terminal_table(rows, columns, 40, color=False)
    lines = fitted.text.splitlines()
    assert lines[0] == "source  graphql" and lines[1].startswith("needs   a token")
    assert all(line.startswith(" " * 8) for line in lines[2:]) and max(map(len, lines)) <= 40
    assert " ".join(line.strip() for line in lines[1:]).removeprefix("needs ").strip() == rows[0]["needs"].strip()


@pytest.mark.parametrize("width", [40, 120])
def test_cell_text_is_never_read_as_markup(width):
    rows = [{"needs": "wrangler.toml [observability] enabled = true", "x": "[bold]y[/bold]"}]
    fitted = terminal_table(rows, [Column("needs"), Column("x")], width, color=True)
    assert "[observability]" in fitted.text and "[bold]y[/bold]" in fitted.text


def test_colour_only_when_asked():
    styles = {"result": lambda text: "green" if text == "PASS" else "red"}
    rows = [{"check": "models", "result": "PASS"}, {"check": "usage", "result": "FAIL"}]
    columns = [Column("check"), Column("result")]
    coloured = terminal_table(rows, columns, 80, color=True, styles=styles).text
    plain = terminal_table(rows, columns, 80, color=False, styles=styles).text
    assert "\x1b[32mPASS" in coloured and "\x1b[31mFAIL" in coloured
    assert ANSI.search(plain) is None and ANSI.sub("", coloured) == plain
