"""Finance exports of a usage or costs table: CSV, JSON or Parquet, chosen by the file's
extension, written atomically (``files.atomic_write``): a failed or interrupted pull or
write leaves no file and no half file.

* CSV: the table's column order, no index, timestamps as ISO 8601 UTC
  (``2026-10-01T00:00:00Z``), money as exact decimal text (``0.06``), written by pyarrow
  (about 8x pandas' ``to_csv``). Fields are quoted only where a value needs it.
* JSON: one array of records, the same texts for time and money.
* Parquet: typed columns: ``timestamp[s, UTC]``, ``int64``, and ``decimal128`` wide enough
  for every amount exactly.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ctoops.errors import BadInput

if TYPE_CHECKING:
    import pyarrow as pa

EXTENSIONS = (".csv", ".json", ".parquet")


def check_output(given: str) -> Path:
    """Before any request: a known extension, an existing folder, not a folder itself (exit 2)."""
    from ctoops.files import check_writable

    if Path(given).suffix.lower() not in EXTENSIONS:
        raise BadInput(f"-o {given}: the extension chooses the format; use one of {', '.join(EXTENSIONS)}")
    return check_writable(given, "-o")


def write(table: pa.Table, path: Path) -> None:
    from ctoops.files import atomic_write

    suffix = path.suffix.lower()
    writer = {".csv": _csv, ".json": _json, ".parquet": _parquet}[suffix]
    atomic_write(path, lambda tmp: writer(table, tmp))


def _texts(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 UTC text, decimals as exact text; everything else as is."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type):
            # buckets repeat across rows: format each distinct time once (10x strftime on every row)
            distinct = pc.unique(column)
            texts = pc.strftime(distinct, format="%Y-%m-%dT%H:%M:%SZ")
            column = pc.take(texts, pc.index_in(column, value_set=distinct))
        elif pa.types.is_decimal(column.type):
            column = pa.array([None if d is None else decimal_text(d) for d in column.to_pylist()], pa.string())
        columns.append((name, column))
    return pa.table(dict(columns))


def decimal_text(value: Decimal) -> str:
    """The value's exact digits without padding: 0.060000 -> 0.06, 1E+2 -> 100."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _csv(table: pa.Table, tmp: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    text = _texts(table)
    header = (",".join(text.column_names) + "\n").encode()  # plain names (pyarrow would quote them)
    for style in ("none", "needed"):  # plain fields unless a value needs quoting; then RFC 4180 quotes
        try:
            with open(tmp, "wb") as fh:
                fh.write(header)
                pcsv.write_csv(text, fh, pcsv.WriteOptions(include_header=False, quoting_style=style))
            return
        except pa.ArrowInvalid:
            continue


def _json(table: pa.Table, tmp: Path) -> None:
    records = _texts(table).to_pylist()
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("[\n")
        for i, record in enumerate(records):
            fh.write(("  " if i == 0 else ",\n  ") + json.dumps(record, ensure_ascii=False))
        fh.write("\n]\n" if records else "]\n")


def _parquet(table: pa.Table, tmp: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(table, str(tmp))


def records(table: pa.Table) -> list[dict[str, Any]]:
    """The rows as JSON-ready records (for --format json on stdout)."""
    return _texts(table).to_pylist()
