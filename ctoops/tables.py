"""Tables for a person at a terminal: every row on one line, whatever the width.

``render.table`` keeps the plain, complete form for pipes and files; this module draws the
terminal form (through rich), in which:

* numbers are right-aligned with thousands separators (``12,345``), rates are percentages
  with one decimal (``5.2%``), money is right-aligned with 2 decimals and its currency
  (``1,234.57 USD``; ``<0.01 USD`` for an amount that would round to nothing: an amount is
  never shown as zero when it is not). Exports keep the exact values; only the table rounds;
* times are compact: ``11-24 06:00``, with what every row shares (the UTC date, or the
  year) said once in the header;
* long category values (route groups) can be shown by a short label with a legend line;
* a column marked ``flex`` (a free-text detail) takes the width left and is cut with ``…``;
  when the table still does not fit, columns are dropped by ``priority`` (highest first) and
  a note says which, rather than letting the terminal wrap a row over several lines;
* when even that cannot fit (no column may go), each row is shown as a block of
  ``field  value`` lines (as ``psql``'s expanded display), long values wrapped under their
  field: nothing cut, nothing lost, no line wider than the terminal;
* cell text is text: a ``[section]`` in a value is shown as sent, never read as markup.

Nothing here prints; ``terminal_table`` returns the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ctoops.decimals import rounded

KINDS = ("text", "count", "number", "money", "percent", "time", "verdict")


@dataclass(frozen=True)
class Column:
    """One column of a terminal table.

    ``key``: the record field; ``header``: the title shown (``key`` when empty); ``kind``: one
    of ``KINDS``; ``priority``: 0 is never dropped, a higher one is dropped before a lower
    one; ``flex``: takes the width left and is cut (``…``) rather than dropped, down to
    ``min_width``; ``wrap`` (with ``flex``): wrapped within its cell at word boundaries
    instead of cut, the row taking more lines, its columns still aligned (a check's detail,
    whose every word may matter); ``labels``: short forms for long values (``{"realtime_token": "rt"}``),
    explained in a legend line; ``currency_key``: the record field holding a money cell's
    currency (``"currency"``)."""

    key: str
    header: str = ""
    kind: str = "text"
    priority: int = 0
    flex: bool = False
    wrap: bool = False
    min_width: int = 12
    labels: dict[str, str] = field(default_factory=dict)
    currency_key: str | None = None

    def title(self) -> str:
        return self.header or self.key


@dataclass
class Fitted:
    """A table fitted to a width: the text, the columns left out (their headers), and the
    lines to print under it (legend, note on the columns left out)."""

    text: str
    dropped: list[str]
    notes: list[str]

    def __str__(self) -> str:
        return self.text + "".join(f"{n}\n" for n in self.notes)


# -- cell forms --------------------------------------------------------------------------------


def count(value: Any) -> str:
    """``12345`` -> ``12,345``; None -> empty."""
    if value is None:
        return ""
    return f"{int(value):,}"


def number(value: Any) -> str:
    """A float with separators: whole ones as counts, others to 4 significant digits below
    1000 (``0.1235``), one decimal above (``12,345.7``)."""
    if value is None:
        return ""
    value = float(value)
    if value.is_integer():
        return f"{int(value):,}"
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.1f}"


def percent(rate: Any) -> str:
    """A fraction as a percentage with one decimal: ``0.0525`` -> ``5.3%``; None -> empty
    (no data is never shown as 0%)."""
    if rate is None:
        return ""
    return f"{float(rate) * 100:.1f}%"


def money(amount: Any, currency: str | None) -> str:
    """``Decimal("1234.5678")``, ``"usd"`` -> ``1,234.57 USD`` (half away from zero, as
    spreadsheets round); a non-zero amount under half a cent -> ``<0.01 USD``."""
    if amount is None:
        return ""
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    unit = f" {currency.upper()}" if currency else ""
    shown = rounded(value, 2, ROUND_HALF_UP)
    if shown == 0 and value != 0:
        return f"{'-' if value < 0 else ''}<0.01{unit}"
    return f"{shown:,.2f}{unit}"


def as_datetime(value: Any) -> datetime | None:
    """Unix seconds, an ISO 8601 text or a datetime, as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def time_forms(values: Sequence[Any]) -> tuple[list[str], str]:
    """Compact UTC times and what they share, for the header: all on one day ->
    (``06:00``..., ``UTC 2026-11-24``); one year -> (``11-24 06:00``, ``UTC 2026``); else
    ``2026-11-24 06:00`` and ``UTC``. Midnights only (daily buckets) drop the time of day."""
    moments = [as_datetime(v) for v in values]
    known = [m for m in moments if m is not None]
    if not known:
        return ["" for _ in values], "UTC"
    daily = all(m.hour == m.minute == m.second == 0 for m in known)
    if len({m.date() for m in known}) == 1 and not daily:
        form, shared = "%H:%M", f"UTC {known[0]:%Y-%m-%d}"
    elif len({m.year for m in known}) == 1:
        form, shared = ("%m-%d" if daily else "%m-%d %H:%M"), f"UTC {known[0]:%Y}"
    else:
        form, shared = ("%Y-%m-%d" if daily else "%Y-%m-%d %H:%M"), "UTC"
    if any(m.second for m in known):
        form = form.replace("%H:%M", "%H:%M:%S")
    return [m.strftime(form) if m else "" for m in moments], shared


# -- fitting ---------------------------------------------------------------------------------


def cells(rows: Sequence[dict[str, Any]], column: Column) -> tuple[list[str], str]:
    """The column's cell texts and its header (with what the times share), control
    characters shown escaped (``render.printable``): a server's ``\\n`` or ESC stays text."""
    from ctoops.render import printable

    texts, header = _cells(rows, column)
    return [printable(t) for t in texts], printable(header)


def _cells(rows: Sequence[dict[str, Any]], column: Column) -> tuple[list[str], str]:
    values = [row.get(column.key) for row in rows]
    header = column.title()
    if column.kind == "time":
        texts, _ = time_forms(values)
        return texts, header
    if column.kind == "count":
        return [count(v) for v in values], header
    if column.kind == "number":
        return [number(v) for v in values], header
    if column.kind == "percent":
        return [percent(v) for v in values], header
    if column.kind == "money":
        currencies = [row.get(column.currency_key) if column.currency_key else None for row in rows]
        return [money(v, c) for v, c in zip(values, currencies, strict=True)], header
    texts = ["" if v is None else ("yes" if v else "no") if isinstance(v, bool) else str(v) for v in values]
    if column.labels:
        texts = [column.labels.get(t, t) for t in texts]
    return texts, header


RIGHT = ("count", "number", "percent", "money")
# headers that stand for a longer field name, said in a legend line (OpenAI's metric names)
SHORTENED = {
    "input",
    "output",
    "requests",
    "cached in",
    "audio in",
    "audio out",
    "cache write",
    "uncached in",
    "text in",
    "text out",
    "image in",
    "image out",
    "1st half/day",
    "2nd half/day",
    "change/day",
}


def terminal_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    width: int,
    *,
    color: bool,
    title: str | None = None,
    styles: dict[str, Any] | None = None,
    blocks: bool = False,
) -> Fitted:
    """``rows`` as a terminal table no wider than ``width`` (see the module docstring);
    ``blocks``: one block per row whatever the width (rows of prose).

    ``styles`` maps a column key to a function of the cell text returning a rich style (or
    None), for verdict colours. ``color=False`` draws the same table without ANSI codes.
    """
    import io

    from rich import box
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    prepared = [(c, *cells(rows, c)) for c in columns]
    shared = [time_forms([r.get(c.key) for r in rows])[1] for c in columns if c.kind == "time"]
    if shared:  # what every time shares (the UTC date), said once
        title = f"{title}  (times in {shared[0]})" if title else f"times in {shared[0]}"
    console = Console(
        file=io.StringIO(),
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )

    from rich.text import Text

    def build(kept: list[tuple[Column, list[str], str]], cut: dict[str, int]) -> Table:
        grid = Table(
            title=Text(title) if title else None,
            box=box.SIMPLE_HEAD,
            title_justify="left",
            show_edge=False,
            pad_edge=False,
        )
        for column, texts, header in kept:
            longest = max([len(header), *(len(t) for t in texts)])
            grid.add_column(
                Text(header),
                justify="right" if column.kind in RIGHT else "left",
                no_wrap=not column.wrap,
                overflow="fold" if column.wrap else "ellipsis",
                # only a flexible column may be narrower than its content, and only by ``cut``
                min_width=None if column.flex else longest,
                max_width=cut.get(column.key),
            )
        for i in range(len(rows)):
            row = []
            for column, texts, _ in kept:
                style = (styles or {}).get(column.key)
                text = texts[i]
                row.append(Text(text) if style is None or not color else _styled(text, style(text)))
            grid.add_row(*row)
        return grid

    roomy = console.options.update_width(10_000)  # a measurement is clamped to the width given

    def natural(kept: list[tuple[Column, list[str], str]], cut: dict[str, int]) -> int:
        return Measurement.get(console, roomy, build(kept, cut)).maximum

    kept = list(prepared)
    dropped: list[str] = []
    cut: dict[str, int] = {}
    too_narrow = 0
    while True:
        over = natural(kept, {}) - width
        if over <= 0:
            cut = {}
            break
        # first, let the flexible columns give up what they can
        cut = {}
        for column, texts, header in kept:
            if column.flex:
                longest = max([len(header), *(len(t) for t in texts)])
                give = min(over, max(0, longest - column.min_width))
                if give:
                    cut[column.key] = longest - give
                    over -= give
        if over <= 0:
            break
        droppable = [k for k in kept if k[0].priority > 0]
        if not droppable:
            # nothing more may go: draw it whole (the terminal wraps it) rather than let a
            # column silently disappear; the note says how wide it needs the terminal
            too_narrow = natural(kept, cut)
            break
        victim = max(droppable, key=lambda k: (k[0].priority, kept.index(k)))
        kept.remove(victim)
        dropped.append(victim[0].title())
    if too_narrow or blocks:  # as blocks every column fits again: none is left out
        kept, dropped = list(prepared), []
    notes = _legends([k[0] for k in kept], rows)
    if too_narrow or blocks:
        text = _records(kept, len(rows), width, title)
        if too_narrow and not blocks:
            notes.append(f"(one block per row: as a table it needs {too_narrow} columns; the terminal has {width})")
    else:
        console.print(build(kept, cut))
        text = console.file.getvalue()  # type: ignore[attr-defined]
    if dropped:
        notes.append(f"(left out to fit {width} columns: {', '.join(dropped)}; --format csv shows every column)")
    import textwrap

    notes = [wrapped for note in notes for wrapped in textwrap.wrap(note, width, subsequent_indent=" ")]
    return Fitted(text, dropped, notes)


def _styled(text: str, style: Any) -> Any:
    from rich.text import Text

    return Text(text, style=style) if style else Text(text)


def _records(kept: Sequence[tuple[Column, list[str], str]], count: int, width: int, title: str | None) -> str:
    """Each row as a block of ``field  value`` lines, values wrapped under their field to
    ``width`` (a field name wider than half the width goes on its own line); blocks apart by
    a blank line. Plain text: the form for a table no terminal width can hold."""
    import textwrap

    label = min(max(len(header) for _, _, header in kept), width // 2)
    room = max(width - label - 2, 10)
    lines = [title] if title else []
    for i in range(count):
        if i or title:
            lines.append("")
        for _, texts, header in kept:
            value = texts[i]
            parts = textwrap.wrap(value, room, break_on_hyphens=False) or [""]
            if len(header) > label:
                lines.append(header)
                lines.extend(" " * (label + 2) + part for part in parts)
                continue
            lines.append(f"{header.ljust(label)}  {parts[0]}".rstrip())
            lines.extend(" " * (label + 2) + part for part in parts[1:])
    return "\n".join(lines) + "\n"


def _legends(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = []
    renamed = [f"{c.header} = {c.key}" for c in columns if c.header and c.header != c.key and c.header in SHORTENED]
    if renamed:
        lines.append("columns: " + ", ".join(renamed))
    for column in columns:
        if not column.labels:
            continue
        present = {str(row.get(column.key)) for row in rows}
        used = [f"{short} = {long}" for long, short in column.labels.items() if long in present and short != long]
        if used:
            lines.append(f"{column.title()}: " + ", ".join(used))
    return lines
