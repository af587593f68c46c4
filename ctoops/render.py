"""Output: one renderer for table/json/csv on stdout, and the terminal charts.

Tables are drawn with rich on a terminal (colour unless ``NO_COLOR``) and as plain aligned
text when stdout is not a terminal, so pipes and CI logs get no ANSI codes and no box
drawing. ``CLICOLOR_FORCE=1`` forces terminal behaviour. Files are written by
``ctoops.files``, never here.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any


def stdout_is_tty() -> bool:
    if os.environ.get("CLICOLOR_FORCE", "0") not in ("", "0"):
        return True
    return sys.stdout.isatty()


def terminal_width() -> int:
    """The width tables and charts are drawn for: the terminal's, else ``COLUMNS``, else 80."""
    import shutil

    return shutil.get_terminal_size((80, 24)).columns


def stderr_width() -> int:
    """The width of the terminal stderr writes to (which may differ from stdout's: stdout
    piped, stderr on a 120-column terminal), else ``terminal_width()``."""
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return terminal_width()


def wrapped(line: str, indent: str = "  ", first: str = "", *, width: int | None = None) -> str:
    """A paragraph for a terminal (a verdict, a summary, a notice, a runbook's text): wrapped
    at word boundaries, never at a hyphen or a no-break space, to the terminal's width less
    one column (a line that fills the last column makes some terminals wrap twice); the first
    line after ``first``, later lines under a hanging ``indent``; ``width``: the terminal's
    columns when it is not stdout's (``stderr_width()``). The one wrapping rule for running
    text: callers give pipes the line as it is, for grep."""
    import textwrap

    columns = (width or terminal_width()) - 1
    return textwrap.fill(line, columns, initial_indent=first, subsequent_indent=indent, break_on_hyphens=False)


def symbols_enabled() -> bool:
    """Whether stdout can draw ✓ ✗ – (a terminal whose encoding has them)."""
    from ctoops.summary import can_draw

    return stdout_is_tty() and can_draw(getattr(sys.stdout, "encoding", None))


def fitted_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[Any], *, title: str | None = None, **kw: Any
) -> None:
    """``rows`` on the terminal, fitted to its width (``ctoops.tables``): no row wraps."""
    from ctoops.tables import terminal_table

    sys.stdout.write(str(terminal_table(rows, columns, terminal_width(), color=color_enabled(), title=title, **kw)))


def color_enabled() -> bool:
    return stdout_is_tty() and not os.environ.get("NO_COLOR")


def to_jsonable(value: Any) -> Any:
    """Decimals become strings (exact, as AWS Cost Explorer does); datetimes ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def dumps(data: Any) -> str:
    """JSON for people and scripts: indented, exact decimals as strings, every text redacted."""
    return json_text(clean(to_jsonable(data)), indent=2)


_RAW_IN_JSON = re.compile("[\x7f-\x9f]")  # DEL and C1: valid raw in JSON, acted on by some terminals


def json_text(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON text, the one serialiser of every JSON ctoops writes (stdout, reports,
    exports): UTF-8 text as it is (``ensure_ascii=False``), except DEL and the C1 controls
    (U+007F-U+009F), which JSON allows raw but a terminal may obey (U+009B is CSI): written
    ``\\u009b``, the same value to any JSON reader. C0 controls ``json`` escapes itself."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    if not _RAW_IN_JSON.search(text):
        return text
    # these characters can only be inside a JSON string here, where \uXXXX is their escape
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def clean(value: Any) -> Any:
    """``value`` with every string passed through the redactor, whatever its origin: a server
    may echo a secret in any field (a ``keyHint`` that is a whole key, a model id)."""
    from ctoops.redact import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with every control character (C0, DEL, C1) shown escaped: a newline as the two
    characters ``\\n`` (also ``\\r``, ``\\t``), any other as ``\\x1b``. So one record stays one
    line and no escape sequence a server sent reaches the terminal. Other text is unchanged."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(0)) or f"\\x{ord(m.group(0)):02x}", text)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (datetime, date, Decimal)):
        return str(to_jsonable(value))
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, (dict, list)):
        return json_text(to_jsonable(value))
    return str(value)


def emit(
    data: Any,
    fmt: str,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    out: IO[str] | None = None,
    blocks: bool = False,
    kinds: dict[str, str] | None = None,
) -> None:
    """Write ``data`` (a list of records, or one record) to stdout in ``fmt``. ``blocks``: on
    a terminal, one ``field  value`` block per row whatever the width, for rows of prose a
    table would have to cut (``doctor logs``). ``kinds``: a terminal cell form for a column
    whose values do not say it (``{"total": "money"}``, ``{"total": "count"}``; see
    ``infer_columns``)."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(dumps(selected(data)) + "\n")
        return
    rows = clean(data if isinstance(data, list) else [data])
    columns = list(columns or _columns(rows))
    if fmt == "csv":
        write_csv(rows, columns, out)
        return
    table(rows, columns, title=title, out=out, blocks=blocks, kinds=kinds)


def selected(data: Any) -> Any:
    """``data`` with only the fields ``--json FIELDS`` asked for (``ctoops.fields``), when
    the running command was given it; else ``data`` as it is."""
    import click

    ctx = click.get_current_context(silent=True)
    given = ctx.meta.get("ctoops.json_fields") if ctx is not None else None
    if given is None:
        return data
    from ctoops.fields import parse_fields, select

    records = [data] if isinstance(data, dict) else list(data)
    return select(data, parse_fields(given, _columns(records)))


def _columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(c)) for c in columns])


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, datetime, date)):
        return cell(value)
    return value


def table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    out: IO[str] | None = None,
    styles: dict[str, str] | None = None,
    blocks: bool = False,
    kinds: dict[str, str] | None = None,
) -> None:
    out = out or sys.stdout
    if stdout_is_tty() and out is sys.stdout:
        shown = infer_columns(rows, columns, kinds)
        fitted_table(rows, shown, title=title, styles=_style_functions(styles), blocks=blocks)
        return
    out.write(plain_table(rows, columns, title=title))


# OpenAI's metric names, shortened in terminal headers (a legend line gives the full names)
SHORT_HEADERS = {
    "input_tokens": "input",
    "output_tokens": "output",
    "num_model_requests": "requests",
    "input_cached_tokens": "cached in",
    "input_audio_tokens": "audio in",
    "output_audio_tokens": "audio out",
    "input_cache_write_tokens": "cache write",
    "input_uncached_tokens": "uncached in",
    "input_text_tokens": "text in",
    "output_text_tokens": "text out",
    "input_image_tokens": "image in",
    "output_image_tokens": "image out",
    "tokens_per_day_first": "1st half/day",
    "tokens_per_day_second": "2nd half/day",
    "change_per_day": "change/day",
}


def infer_columns(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], kinds: dict[str, str] | None = None
) -> list[Any]:
    """Terminal columns for plain records: whole numbers as counts (``12,345``), decimals as
    money with the row's ``currency`` (which then goes without a column of its own), other
    numbers with separators, a long text column cut (``…``) to fit rather than wrapped.
    ``kinds`` names a column's form where the values cannot say it: a token count kept as a
    Decimal is ``count``, an amount ``money`` whatever the type it came in."""
    from ctoops.tables import Column

    kinds = kinds or {}

    def values(name: str) -> list[Any]:
        return [r.get(name) for r in rows if r.get(name) is not None]

    has_currency = "currency" in columns
    numeric_seen = 0
    money = [
        c
        for c in columns
        if kinds.get(c) == "money" or (c not in kinds and values(c) and all(isinstance(v, Decimal) for v in values(c)))
    ]
    out = []
    for name in columns:
        found = values(name)
        if name == "currency" and money:
            continue
        if name in kinds and name not in money:
            out.append(Column(name, SHORT_HEADERS.get(name, ""), kinds[name]))
        elif name in money:
            out.append(Column(name, kind="money", currency_key="currency" if has_currency else None))
        elif found and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in found):
            kind = "count" if all(isinstance(v, int) for v in found) else "number"
            # the first metrics stay; later ones go first (right to left) when the terminal is narrow
            numeric_seen += 1
            priority = 0 if numeric_seen <= 3 else numeric_seen
            out.append(Column(name, SHORT_HEADERS.get(name, ""), kind, priority=priority))
        else:
            longest = max([len(cell(v)) for v in found] or [0])
            out.append(Column(name, flex=longest > 40, min_width=24))
    return out


def _style_functions(styles: dict[str, str] | None) -> dict[str, Any] | None:
    if not styles:
        return None
    return {name: (lambda text, style=style: style) for name, style in styles.items()}


def plain_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, title: str | None = None) -> str:
    """Columns aligned with two spaces; numbers right-aligned; no ANSI, no box drawing."""
    texts = [[printable(cell(r.get(c))) for c in columns] for r in rows]
    columns = [printable(c) for c in columns]
    widths = [max([len(c)] + [len(t[i]) for t in texts]) for i, c in enumerate(columns)]
    numeric = [
        bool(rows)
        and all(isinstance(r.get(c), (int, float, Decimal)) or r.get(c) is None for r in rows)
        and any(r.get(c) is not None for r in rows)
        for c in columns
    ]

    def line(values: Sequence[str]) -> str:
        cells = zip(values, widths, numeric, strict=True)
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in cells).rstrip()

    lines = [title] if title else []
    lines += [line(columns)] + [line(t) for t in texts]
    return "\n".join(lines) + "\n"


# -- check results -----------------------------------------------------------------------------


def emit_checks(results: Sequence[Any], fmt: str, *, header: dict[str, Any] | None = None) -> None:
    """Check results (``ctoops.checks.CheckResult``) as a table, JSON (``{..header, ok,
    checks}``) or CSV (one row per check)."""
    from ctoops.checks import passed

    records = [r.as_record() for r in results]
    if fmt == "json":
        emit({**(header or {}), "ok": passed(results), "checks": records}, "json")
        return
    if fmt == "csv":
        emit(records, "csv", columns=["check", "status", "ok", "latencyMs", "exitCode", "detail"])
        return
    out = sys.stdout
    if header:
        width = max(len(k) for k in header)
        for key, value in header.items():
            out.write(f"{key.ljust(width)}  {printable(cell(value))}\n")
    if not results:
        return
    if header:
        out.write("\n")
    if stdout_is_tty():
        from ctoops.summary import mark, mark_style
        from ctoops.tables import Column

        symbols = symbols_enabled()
        marked = [
            {
                "check": r.name,
                "result": mark(r.status, symbols=symbols),
                "latency": "" if r.skipped else f"{r.latency_ms:,.0f} ms",
                "detail": r.detail,
            }
            for r in results
        ]
        detail = Column("detail", flex=True, wrap=True, min_width=24)  # every word of a cause shown
        columns = [Column("check"), Column("result"), Column("latency"), detail]
        fitted_table(marked, columns, styles={"result": mark_style})
        return
    rows = [
        {
            "check": r.name,
            "result": r.status,  # SKIP is never shown as PASS: a check not run proved nothing
            "latency": "" if r.skipped else f"{r.latency_ms:.0f} ms",
            "detail": r.detail,
        }
        for r in results
    ]
    table(rows, ["check", "result", "latency", "detail"])


# -- charts ------------------------------------------------------------------------------------


def rate_charts(
    series: dict[str, list[tuple[int, float, float, int]]],
    window: int,
    *,
    color: bool,
    width: int | None = None,
    height: int = 14,
    max_429: float | None = None,
    max_5xx: float | None = None,
    min_requests: int = 0,
) -> str:
    """One chart per bucket (``ctoops.charts``): its 429 and 5xx rates (fractions, drawn in
    percent) per window start (unix s); points are (start, rate_429, rate_5xx, requests).

    Windows under ``min_requests`` are drawn apart (not judged); the thresholds are lines.
    Sized to the terminal (``COLUMNS`` when not a terminal, else 80), at most 140 wide; no
    ANSI codes unless ``color`` (a terminal without ``NO_COLOR``).
    """
    from ctoops.charts import BLUE, MAGENTA, Series, rate_chart

    width = width or min(terminal_width(), 140)
    span = f"{window // 60}m" if window < 3600 else f"{window // 3600}h" if window < 86400 else f"{window // 86400}d"
    out = []
    for bucket, points in series.items():
        thin = [p[3] < min_requests for p in points]
        lines = [
            Series("429 rate", [(p[0], p[1]) for p in points], "+", BLUE, thin, max_429),
            Series("5xx rate", [(p[0], p[2]) for p in points], "x", MAGENTA, thin, max_5xx),
        ]
        note = f"under {min_requests} requests, not judged"
        out.append(
            rate_chart(
                f"{bucket}: 429 and 5xx rates per {span} window (UTC)",
                lines,
                color=color,
                width=width,
                height=height,
                thin_note=note,
            )
        )
    return "\n".join(out)
