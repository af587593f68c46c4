"""``-o FILE.xlsx``: a workbook finance can open and send, written with XlsxWriter.

Why XlsxWriter (not openpyxl): ctoops only writes workbooks, and XlsxWriter is the library
made for exactly that: native charts with Excel's full chart model, a constant-memory mode
that streams large sheets row by row, and about twice openpyxl's write speed. openpyxl
(a reader too) is what the tests read the workbook back with, so a second, independent
library proves the file.

Sheets: **Totals**; **By day** (or **By month** with ``1mo``): every period with its
settled status and, beside it, a native line chart of daily spend (costs) or tokens
(usage); **By <field>** for each group-by field; **Rows**: every row as exported;
**Forecast** and **Budget** when asked; **About**: range, filters, group-by, bucket,
watermark, generated at, ctoops version, trace id. Money is an Excel number with a
currency format (exact as sent up to Excel's 15 significant digits; an amount with more
gets an exact text column beside it, and About says so); dates are Excel dates in UTC;
header rows are frozen; column widths fit their contents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctoops.errors import BadInput

if TYPE_CHECKING:
    from ctoops.usage.report import Result

MAX_ROWS = 1_048_576  # Excel's rows per worksheet
EXCEL_EPOCH = 25569.0  # the 1900 date system's serial of 1970-01-01 (days since 1899-12-30)
DAY = 86400
EXCEL_DIGITS = 15  # significant digits an Excel number keeps
CHARTED_USAGE = ("input_tokens", "output_tokens")


def check_fits(rows: int) -> None:
    """Exit 2 when the rows do not fit one worksheet (with its header row)."""
    if rows + 1 > MAX_ROWS:
        raise BadInput(
            f"{rows:,} rows do not fit an Excel worksheet ({MAX_ROWS:,} rows): write .csv or .parquet, "
            "or use a wider --bucket"
        )


def write(
    path: Path,
    result: Result,
    about: Sequence[tuple[str, Any]],
    extra: Sequence[tuple[str, list[dict[str, Any]]]] = (),
) -> None:
    """The workbook for ``result`` at ``path`` (atomically; see the module doc). ``extra``:
    more sheets (name, records), e.g. Forecast and Budget."""
    from ctoops.usage import export

    check_fits(result.table.num_rows)
    export.write_atomically(path, lambda tmp: _write(tmp, result, about, extra))


def _write(
    tmp: Path, result: Result, about: Sequence[tuple[str, Any]], extra: Sequence[tuple[str, list[dict[str, Any]]]]
) -> None:
    """The workbook is zipped in memory (the rows stream through XlsxWriter's temporary files),
    then written to ``tmp`` in one go: a full disk is then a plain OSError with the file
    closed (XlsxWriter leaves its zip open when a write to a file fails)."""
    import io

    from xlsxwriter.exceptions import FileCreateError

    buffer = io.BytesIO()
    try:
        _fill(buffer, result, about, extra)
    except FileCreateError as exc:  # its temporary files could not be written
        inner = exc.args[0] if exc.args else None
        _release(exc)
        if isinstance(inner, OSError):
            raise OSError(inner.errno, inner.strerror) from None
        raise OSError(str(exc)) from None
    except OSError as exc:  # a temporary file hit a full disk or a size limit
        _release(exc)
        raise OSError(exc.errno, exc.strerror) from None
    with open(tmp, "wb") as fh:
        fh.write(buffer.getbuffer())


def _release(exc: BaseException) -> None:
    """Free what a failed XlsxWriter run left open, now and quietly: its half-written zip
    (held by the traceback's frames) would otherwise complain at interpreter exit
    ("Exception ignored in: ZipFile.__del__ ... I/O operation on closed file")."""
    import gc
    import sys
    import traceback

    previous = sys.unraisablehook

    def quiet(unraisable: Any) -> None:
        if getattr(unraisable.object, "__qualname__", "") != "ZipFile.__del__":
            previous(unraisable)

    sys.unraisablehook = quiet
    try:
        pending: list[Any] = [exc]
        seen: set[int] = set()
        while pending:  # the error, what it wraps (FileCreateError's args) and its chain
            one = pending.pop()
            if not isinstance(one, BaseException) or id(one) in seen:
                continue
            seen.add(id(one))
            traceback.clear_frames(one.__traceback__)
            one.__traceback__ = None
            pending += [one.__context__, one.__cause__, *one.args]
        gc.collect()
    finally:
        sys.unraisablehook = previous


def _fill(
    target: Any, result: Result, about: Sequence[tuple[str, Any]], extra: Sequence[tuple[str, list[dict[str, Any]]]]
) -> None:
    import xlsxwriter

    from ctoops.usage import report

    book = xlsxwriter.Workbook(target, {"constant_memory": True})
    try:
        fmt = _Formats(book)
        costs = result.query.is_costs
        currencies = sorted({c for c in result.table["currency"].to_pylist() if c}) if costs else []
        # Totals
        totals = report.total_rows(result)
        if costs:
            _sheet(book, fmt, "Totals", ["currency", "amount", "settled"], totals, money_by_row="currency")
        else:
            _sheet(book, fmt, "Totals", ["metric", "total"], totals)
        # By day / month, pivoted per currency, with the chart
        _periods(book, fmt, result, currencies)
        for field in result.query.group_by:
            rows = report.group_rows(result, field)
            columns = [field, "currency", "amount"] if costs else [field, *result.metrics]
            _sheet(book, fmt, f"By {field}"[:31], columns, rows, money_by_row="currency" if costs else None)
        _rows_sheet(book, fmt, result)
        for name, records in extra:
            columns = list(dict.fromkeys(k for r in records for k in r))
            _sheet(book, fmt, name, columns, records, money_by_row="currency")
        _about(book, fmt, about, result)
    finally:
        book.close()


class _Formats:
    def __init__(self, book: Any) -> None:
        self.book = book
        self.header = book.add_format({"bold": True, "bottom": 1})
        self.day = book.add_format({"num_format": "yyyy-mm-dd"})
        self.time = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.int = book.add_format({"num_format": "#,##0"})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self._money: dict[str, Any] = {}
        self.exact_text: list[str] = []  # sheets (besides Rows) given exact text beside long amounts

    def money(self, currency: str | None) -> Any:
        code = (currency or "").upper()
        if code not in self._money:
            suffix = f' "{code}"' if code else ""
            self._money[code] = self.book.add_format({"num_format": f"#,##0.00########{suffix}"})
        return self._money[code]


def _sheet(
    book: Any,
    fmt: _Formats,
    name: str,
    columns: list[str],
    rows: Sequence[dict[str, Any]],
    *,
    money_by_row: str | None = None,
    money_columns: dict[str, str] | None = None,
) -> Any:
    """A sheet of records: header frozen, widths fitted, money/dates/ints formatted. A column
    with an amount Excel cannot hold (``too_long``) gets ``<column> (exact text)`` beside it,
    and About says so. Returns the sheet and its columns as written."""
    from ctoops.usage.export import decimal_text

    long = [c for c in columns if any(too_long(row.get(c)) for row in rows)]
    if long:
        fmt.exact_text.append(name)
        texts = {c: f"{c} (exact text)" for c in long}
        columns = [n for c in columns for n in ((c, texts[c]) if c in texts else (c,))]
        rows = [
            {**row, **{t: decimal_text(row[c]) if isinstance(row.get(c), Decimal) else None for c, t in texts.items()}}
            for row in rows
        ]
    sheet = book.add_worksheet(name)
    widths = [len(c) for c in columns]
    sheet.write_row(0, 0, columns, fmt.header)
    for r, row in enumerate(rows, start=1):
        for c, column in enumerate(columns):
            value = row.get(column)
            currency = (money_columns or {}).get(column) or (
                row.get(money_by_row) if money_by_row and isinstance(value, Decimal) else None
            )
            widths[c] = max(widths[c], _cell(sheet, fmt, r, c, value, currency))
    _finish(sheet, widths)
    return sheet, columns


def too_long(value: Any) -> bool:
    """A Decimal with more significant digits than an Excel number keeps (trailing zeros
    aside: ``190.0000000`` fits)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return False
    digits = value.as_tuple().digits
    return len(digits) > EXCEL_DIGITS and len(bytes(digits).rstrip(b"\x00")) > EXCEL_DIGITS


def _cell(sheet: Any, fmt: _Formats, r: int, c: int, value: Any, currency: str | None = None) -> int:
    """Write one value in its Excel type; returns its display width."""
    if value is None:
        return 0
    if isinstance(value, bool):
        sheet.write_boolean(r, c, value)
        return 5
    if isinstance(value, Decimal):
        sheet.write_number(r, c, float(value), fmt.money(currency) if currency is not None else None)
        return len(f"{value:,.2f}") + (4 if currency else 0)
    if isinstance(value, int):
        sheet.write_number(r, c, value, fmt.int)
        return len(f"{value:,}")
    if isinstance(value, float):
        sheet.write_number(r, c, value)
        return len(repr(value))
    if isinstance(value, datetime):
        moment = value.astimezone(UTC).replace(tzinfo=None)
        timed = moment.hour or moment.minute
        sheet.write_datetime(r, c, moment, fmt.time if timed else fmt.day)
        return 16 if timed else 10
    text = str(value)
    sheet.write_string(r, c, text)
    return len(text)


def _finish(sheet: Any, widths: list[int]) -> None:
    for c, width in enumerate(widths):
        sheet.set_column(c, c, min(60, width + 2))
    sheet.freeze_panes(1, 0)


def _periods(book: Any, fmt: _Formats, result: Result, currencies: list[str]) -> None:
    from ctoops.usage import report

    key = result.period
    rows = report.period_rows(result)
    if result.query.is_costs:
        pivot: dict[str, dict[str, Any]] = {}
        for row in rows:
            entry = pivot.setdefault(row[key], {key: row[key], "status": row["status"]})
            if row["currency"]:
                entry[f"amount ({row['currency']})"] = row["amount"]
            elif row["amount"] is not None:  # a settled period without data: 0 in every currency
                for c in currencies:
                    entry[f"amount ({c})"] = row["amount"]
        values = [f"amount ({c})" for c in currencies]
        records = list(pivot.values())
        money = {f"amount ({c})": c for c in currencies}
    else:
        values = list(result.metrics)
        records = rows
        money = {}
    columns = [f"{key} (UTC)", "status", *values]
    for record in records:
        record[f"{key} (UTC)"] = datetime.fromisoformat(record[key] + ("-01" if key == "month" else "")).replace(
            tzinfo=UTC
        )
    title = "By month" if key == "month" else "By day"
    sheet, columns = _sheet(book, fmt, title, columns, records, money_columns=money)
    charted = values if result.query.is_costs else [m for m in values if m in CHARTED_USAGE] or values[:1]
    if not records or not charted:
        return
    chart = book.add_chart({"type": "line"})
    last = len(records)
    for name in charted:
        col = columns.index(name)
        chart.add_series(
            {
                "name": [title, 0, col],
                "categories": [title, 1, 0, last, 0],
                "values": [title, 1, col, last, col],
                "marker": {"type": "circle", "size": 4},
            }
        )
    what = "Daily spend" if result.query.is_costs else "Daily tokens"
    chart.set_title({"name": f"{what} (UTC {key}s)" if key == "month" else f"{what} (UTC days)"})
    chart.set_x_axis({"date_axis": True, "num_format": "yyyy-mm-dd" if key == "day" else "yyyy-mm"})
    chart.set_legend({"position": "bottom"})
    chart.show_blanks_as("gap")  # a day not landed is a gap in the line, not a 0
    chart.set_size({"width": 720, "height": 360})
    sheet.insert_chart(1, len(columns) + 1, chart)


def _rows_sheet(book: Any, fmt: _Formats, result: Result) -> None:
    """Every row, column by column in Excel's types: times as date serials (computed from
    the unix seconds in Arrow: XlsxWriter's per-cell datetime conversion is most of the
    time on a large sheet), money as numbers in their currency's format."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ctoops.usage.export import decimal_text

    table = result.table
    names = list(table.column_names)
    amounts = table["amount"].to_pylist() if result.query.is_costs else []
    exact = any(too_long(d) for d in amounts)
    columns = list(names)
    if exact:
        columns.insert(columns.index("amount") + 1, "amount (exact text)")
    values: list[list[Any]] = []
    kinds: list[str] = []
    for name in columns:
        if name == "amount (exact text)":
            values.append([None if d is None else decimal_text(d) for d in amounts])
            kinds.append("text")
            continue
        column = table[name]
        if pa.types.is_timestamp(column.type):
            seconds = pc.cast(pc.cast(column, pa.timestamp("s")), pa.int64())
            values.append(pc.add(pc.divide(pc.cast(seconds, pa.float64()), float(DAY)), EXCEL_EPOCH).to_pylist())
            kinds.append("time")
        elif pa.types.is_decimal(column.type):
            values.append(pc.cast(column, pa.float64()).to_pylist())
            kinds.append("money")
        elif pa.types.is_integer(column.type):
            values.append(column.to_pylist())
            kinds.append("int")
        elif pa.types.is_floating(column.type):
            values.append(column.to_pylist())
            kinds.append("float")
        elif pa.types.is_boolean(column.type):
            values.append(column.to_pylist())
            kinds.append("bool")
        else:
            values.append(column.to_pylist())
            kinds.append("text")
    currencies = table["currency"].to_pylist() if "currency" in names else []
    timed = result.query.bucket == "1h"
    time_format = fmt.time if timed else fmt.day
    sheet = book.add_worksheet("Rows")
    widths = [len(c) for c in columns]
    sheet.write_row(0, 0, columns, fmt.header)
    for c, (kind, column_values) in enumerate(zip(kinds, values, strict=True)):
        if kind == "time":
            widths[c] = max(widths[c], 16 if timed else 10)
        elif kind in ("text",):
            widths[c] = max([widths[c], *(len(v) for v in column_values[:1000] if v is not None)])
        elif kind in ("int", "money", "float"):
            widths[c] = max([widths[c], *(len(f"{v:,.2f}") for v in column_values[:1000] if v is not None)])
    write_number, write_string, write_boolean = sheet.write_number, sheet.write_string, sheet.write_boolean
    for r in range(table.num_rows):
        row = r + 1
        for c, kind in enumerate(kinds):
            value = values[c][r]
            if value is None:
                continue
            if kind == "time":
                write_number(row, c, value, time_format)
            elif kind == "money":
                write_number(row, c, value, fmt.money(currencies[r] if currencies else None))
            elif kind == "int":
                write_number(row, c, value, fmt.int)
            elif kind == "float":
                write_number(row, c, value)
            elif kind == "bool":
                write_boolean(row, c, value)
            else:
                write_string(row, c, value)
    _finish(sheet, widths)


def _about(book: Any, fmt: _Formats, about: Sequence[tuple[str, Any]], result: Result) -> None:
    from ctoops.usage.export import decimal_text

    entries = list(about)
    notes = []
    if result.query.is_costs:
        long = [d for d in result.table["amount"].to_pylist() if too_long(d)]
        if long:
            notes.append(
                f"{len(long)} amounts have more than {EXCEL_DIGITS} significant digits (e.g. "
                f"{decimal_text(long[0])}): Excel keeps 15, so the Rows sheet has their exact text beside them"
            )
    if fmt.exact_text:
        notes.append(
            f"amounts in {', '.join(fmt.exact_text)} have more than {EXCEL_DIGITS} significant digits: Excel keeps "
            "15, so an exact text column is beside each of them"
        )
    if notes:
        entries.append(("exactness", "; ".join(notes)))
    sheet = book.add_worksheet("About")
    sheet.write_row(0, 0, ["field", "value"], fmt.header)
    widths = [5, 5]
    for r, (key, value) in enumerate(entries, start=1):
        sheet.write_string(r, 0, key)
        text = "" if value is None else str(value)
        sheet.write_string(r, 1, text)
        widths = [max(widths[0], len(key)), max(widths[1], min(len(text), 100))]
    _finish(sheet, widths)
