"""Terminal charts (plotext 6) readable at 3 am, on a dark or a light background.

* frame, ticks and text in the terminal's own foreground (plotext's ``simple`` theme: no
  colour is forced on them), so they show on any background;
* one colour and one marker per series, and the legend on its own line under the chart,
  never over the data;
* the y axis in percent, ticks on round values; thresholds drawn as lines in their series'
  colour (a signal, not plotext's ``line()``, which paints a white background), under the
  points, so a point on a threshold stays visible;
* points of windows with fewer requests than can be judged drawn apart, dim, with ``·``;
* x ticks on window starts, in compact UTC (``06:00``; ``11-24 06:00`` across days).

``rate_chart`` returns the text; it carries ANSI codes only when ``color`` is true.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# xterm's 16 colours, as plotext numbers them: readable on dark and light backgrounds alike
BLUE, MAGENTA, GRAY = 12, 13, 8


@dataclass(frozen=True)
class Series:
    """One line of a chart: ``points`` are (x, y) with y a fraction; ``thin`` marks the points
    drawn apart (windows under ``--min-requests``); ``limit``: the threshold, a fraction."""

    label: str
    points: Sequence[tuple[float, float]]
    marker: str
    color: int
    thin: Sequence[bool] = ()
    limit: float | None = None


def nice_step(top: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks up to ``top``."""
    import math

    if top <= 0:
        return 0.01
    raw = top / ticks
    power = float(10.0 ** math.floor(math.log10(raw)))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def percent_label(value: float, step: float) -> str:
    """``0.05`` -> ``5%``; with a step under 1% -> ``0.5%``."""
    digits = 0 if step >= 0.01 else 1 if step >= 0.001 else 2
    return f"{value * 100:.{digits}f}%"


def count_label(value: float, step: float) -> str:
    """Axis labels for counts and money: ``1,500``, ``2.5M``, ``12k``."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if step >= size / 10 and abs(value) >= size:
            text = f"{value / size:.1f}".removesuffix(".0")
            return f"{text}{suffix}"
    return f"{value:,.0f}" if step >= 1 else f"{value:,.2f}"


def time_ticks(starts: Sequence[int], room: int) -> tuple[list[int], list[str]]:
    """At most ``room`` ticks, on window starts, evenly picked; labels in compact UTC."""
    from datetime import UTC, datetime

    if not starts:
        return [], []
    every = max(1, -(-len(starts) // max(1, room)))
    chosen = list(starts[::every])
    days = {datetime.fromtimestamp(s, UTC).date() for s in starts}
    form = "%H:%M" if len(days) == 1 else "%m-%d %H:%M"
    if all(s % 86400 == 0 for s in starts):
        form = "%m-%d"
    return chosen, [datetime.fromtimestamp(s, UTC).strftime(form) for s in chosen]


def rate_chart(
    title: str,
    series: Sequence[Series],
    *,
    color: bool,
    width: int,
    height: int = 14,
    thin_note: str = "too few requests to judge",
    unit: str = "percent",
) -> str:
    """One chart of ``series`` (fractions, plotted in percent; or with ``unit="count"``
    plain amounts: tokens, requests, money), with its legend under it; ``thin_note`` names
    the points drawn apart (``under 20 requests, not judged``)."""
    import plotext as plt

    fig = plt.figure
    fig.clear()
    fig.plot_size(width, height)
    fig.theme("simple" if color else "colorless")
    fig.legend(False)
    xs_all = sorted({x for s in series for x, _ in s.points})
    for s in series:  # thresholds first: a point drawn on a line stays visible
        if s.limit is not None and xs_all:
            line = fig.signal([xs_all[0], xs_all[-1]], [s.limit, s.limit], marker=_marker(plt, "─", s.color))
            line.lines()
            fig.draw(line)
    for s in series:
        judged = [p for p, thin in zip(s.points, s.thin or [False] * len(s.points), strict=True) if not thin]
        thin = [p for p, t in zip(s.points, s.thin or [False] * len(s.points), strict=True) if t]
        if judged:
            sig = fig.signal([x for x, _ in judged], [y for _, y in judged], marker=_marker(plt, s.marker, s.color))
            sig.lines()
            fig.draw(sig)
        if thin:
            dots = fig.signal([x for x, _ in thin], [y for _, y in thin], marker=_marker(plt, "·", GRAY))
            fig.draw(dots)
    top = max([y for s in series for _, y in s.points] + [s.limit or 0 for s in series] + [0.0])
    step = nice_step(top * 1.1)
    ticks = [i * step for i in range(int(top * 1.1 / step) + 2)]
    fig.ruler(1).lim(0, ticks[-1])
    label = percent_label if unit == "percent" else count_label
    fig.ruler(1).ticks(ticks, [label(t, step) for t in ticks])
    positions, labels = time_ticks([int(x) for x in xs_all], max(2, width // 14))
    if positions:
        fig.ruler(0).ticks(positions, labels)
    fig.title(title)
    text = str(fig.build())
    fig.clear()
    if not color:
        text = plt.uncolorize(text)
    return text.rstrip("\n") + "\n" + legend(series, color=color, width=width, thin_note=thin_note) + "\n"


def legend(
    series: Sequence[Series], *, color: bool, width: int = 80, thin_note: str = "too few requests to judge"
) -> str:
    """The legend, under the chart: ``+ 429 rate ─ limit 5.0%   x 5xx rate ─ limit 2.0%   ·
    too few requests to judge``, in the series' colours, wrapped to ``width``."""
    parts: list[tuple[str, int]] = []
    for s in series:
        text = f"{s.marker} {s.label}" + (f" ─ limit {percent_label(s.limit, 0.001)}" if s.limit is not None else "")
        parts.append((text, s.color))
    if any(any(s.thin) for s in series):
        parts.append((f"· {thin_note}", GRAY))
    lines: list[str] = []
    line, used = "", 0
    for text, colour in parts:
        gap = 3 if used else 0
        if used and used + gap + len(text) > width:
            lines.append(line)
            line, used, gap = "", 0, 0
        line += " " * gap + _paint(text, colour, color)
        used += gap + len(text)
    lines.append(line)
    return "\n".join(lines)


def _marker(plt: Any, symbol: str, colour: int) -> Any:
    return plt.marker(symbol, pixel=plt.pixel(foreground=colour))


def _paint(text: str, colour: int, color: bool) -> str:
    if not color:
        return text
    return f"\x1b[38;5;{colour}m{text}\x1b[0m"
