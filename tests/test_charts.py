"""The rate chart: a colour per series, no ANSI without colour, percent axis, threshold and
thin windows drawn apart, legend outside the data, within the width."""

from __future__ import annotations

import re

import pytest

from ctoops.charts import BLUE, GRAY, MAGENTA, Series, nice_step, percent_label, rate_chart, time_ticks

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STARTS = [1795500000 + i * 300 for i in range(24)]  # 2026-11-24T06:00Z, 5-minute windows


def two_series(thin=(3, 4)):
    flags = [i in thin for i in range(len(STARTS))]
    return [
        Series("429 rate", [(x, 0.01 * (i % 7)) for i, x in enumerate(STARTS)], "+", BLUE, flags, limit=0.05),
        Series("5xx rate", [(x, 0.004 * (i % 5)) for i, x in enumerate(STARTS)], "x", MAGENTA, flags, limit=0.02),
    ]


def colours_of(text: str, glyph: str) -> set[str]:
    """The foreground colour codes painted on ``glyph`` in the chart body."""
    return set(re.findall(r"\x1b\[38;5;(\d+)m" + re.escape(glyph), text))


def test_each_series_has_its_own_colour_and_marker():
    text = rate_chart("realtime_token", two_series(), color=True, width=80)
    assert colours_of(text, "+") == {str(BLUE)}
    assert colours_of(text, "x") == {str(MAGENTA)}
    assert colours_of(text, "·") == {str(GRAY)}  # windows too thin to judge, drawn apart
    # the frame and the ticks carry no colour of their own: the terminal's foreground
    assert not re.search(r"\x1b\[38;5;\d+m[┌└│┤┬─]*[0-9]+%", text)
    assert "\x1b[48;5;" not in text  # no background painted anywhere


@pytest.mark.parametrize("width", [80, 120])
def test_without_colour_there_is_no_ansi_and_it_fits(width):
    text = rate_chart("realtime_token", two_series(), color=False, width=width, thin_note="under 20 requests")
    assert ANSI.search(text) is None
    assert max(len(line) for line in text.splitlines()) <= width
    assert "0%" in text and "6%" in text  # the y axis speaks percent, as the text does
    assert "06:00" in text  # x ticks on window starts
    body, legend = text.rsplit("┘", 1)
    assert "+ 429 rate ─ limit 5.0%" in legend and "· under 20 requests" in legend  # under the data


def test_the_threshold_is_a_line_across_the_chart():
    one = [Series("5xx rate", [(x, 0.0) for x in STARTS], "x", MAGENTA, limit=0.05)]
    text = rate_chart("g", one, color=False, width=80)
    assert any(line.count("─") > 60 for line in text.splitlines() if "┌" not in line and "└" not in line)


def test_a_point_on_the_threshold_stays_visible():
    """A window exactly at the limit (the one that matters at 3 am) is drawn over the line,
    never hidden under it; and another series' line does not hide it either."""
    on = [(x, 0.05 if i == 12 else 0.0) for i, x in enumerate(STARTS)]
    for series in (
        [Series("429 rate", on, "+", BLUE, limit=0.05)],
        [Series("429 rate", on, "+", BLUE), Series("5xx rate", [(x, 0.0) for x in STARTS], "x", MAGENTA, limit=0.05)],
    ):
        body = rate_chart("g", series, color=False, width=80).rsplit("┘", 1)[0]
        row = next(line for line in body.splitlines() if line.count("─") > 30 and not {"┌", "└"} & set(line))
        assert "+" in row, body


def test_ticks_and_steps():
    assert nice_step(0.11) == 0.05 and nice_step(0.011) == 0.005 and nice_step(0) == 0.01
    assert percent_label(0.05, 0.01) == "5%" and percent_label(0.005, 0.005) == "0.5%"
    positions, labels = time_ticks(STARTS, 4)
    assert positions[0] == STARTS[0] and set(positions) <= set(STARTS) and len(positions) <= 4
    assert labels[0] == "06:00"
