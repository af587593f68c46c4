"""Finance exports of a usage or costs table: CSV, JSON, Parquet or an Excel workbook,
chosen by the file's extension, written atomically (``files.atomic_write``): a failed or
interrupted pull or write leaves no file and no half file, and a full disk is named (exit 2).

* CSV: the table's column order, no index, timestamps as ISO 8601 UTC
  (``2026-10-01T00:00:00Z``), money as exact decimal text (``0.06``), an unsent value as an
  empty field, written by pyarrow (about 8x pandas' ``to_csv``). Fields are unquoted unless
  a value needs quotes; then every text field is quoted (RFC 4180). ``--format csv`` on
  stdout writes the same bytes as ``-o FILE.csv``. Dialect ``excel-eu`` (spreadsheets in
  locales with a decimal comma): ``;`` between fields, ``,`` in decimals, a UTF-8 BOM.
* JSON: one array of records, the same texts for time and money, ``null`` for unsent values.
* Parquet: typed columns (``timestamp[s, UTC]``, nullable ``int64``, ``decimal128`` wide
  enough for every amount exactly), and the pull's provenance in the schema metadata
  (``ctoops.*`` keys). Nothing that changes from run to run is written into CSV or Parquet,
  so the same closed range gives byte-identical files.
* XLSX: ``ctoops.usage.workbook``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ctoops.errors import BadInput

if TYPE_CHECKING:
    import pyarrow as pa

EXTENSIONS = (".csv", ".json", ".parquet", ".xlsx")
DIALECTS = ("default", "excel-eu")
BOM = b"\xef\xbb\xbf"


def check_output(given: str) -> Path:
    """Before any request: a known extension, an existing folder, not a folder itself (exit 2)."""
    from ctoops.files import check_writable

    if Path(given).suffix.lower() not in EXTENSIONS:
        raise BadInput(f"-o {given}: the extension chooses the format; use one of {', '.join(EXTENSIONS)}")
    return check_writable(given, "-o")


def write_atomically(path: Path, writer: Callable[[Path], None]) -> None:
    """``files.atomic_write``: a failed write (a full disk, a quota, a read-only or vanished
    folder) is one line, exit 2; nothing is left behind, any earlier file at ``path`` is
    untouched."""
    from ctoops.files import atomic_write

    atomic_write(path, writer)


def write(
    table: pa.Table,
    path: Path,
    *,
    dialect: str = "default",
    provenance: Mapping[str, str] | None = None,
) -> None:
    """Write ``table`` to ``path`` (.csv, .json or .parquet) atomically; ``provenance`` goes
    into Parquet's schema metadata as ``ctoops.<key>``."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        write_atomically(path, lambda tmp: _to_file(tmp, lambda fh: write_csv(table, fh, dialect)))
    elif suffix == ".json":
        write_atomically(path, lambda tmp: _to_file(tmp, lambda fh: write_json(table, fh)))
    elif suffix == ".parquet":
        write_atomically(path, lambda tmp: write_parquet(table, tmp, provenance or {}))
    else:
        raise BadInput(f"-o {path}: use one of {', '.join(EXTENSIONS)}")


def _to_file(tmp: Path, fill: Callable[[IO[bytes]], None]) -> None:
    with open(tmp, "wb") as fh:
        fill(fh)


# -- text forms ----------------------------------------------------------------------------------


def decimal_text(value: Decimal, comma: bool = False) -> str:
    """The value's exact digits without padding: 0.060000 -> 0.06, 1E+2 -> 100, however many
    digits (``normalize`` would round past the decimal context's 28)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    text = "0" if text in ("-0", "") else text
    return text.replace(".", ",") if comma else text


def _texts(table: pa.Table, comma: bool = False) -> pa.Table:
    """Timestamps as ISO 8601 UTC text, decimals as exact text (floats too with a decimal
    comma); everything else as is."""
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
            column = pa.array([None if d is None else decimal_text(d, comma) for d in column.to_pylist()], pa.string())
        elif comma and pa.types.is_floating(column.type):
            column = pc.replace_substring(pc.cast(column, pa.string()), ".", ",")
        columns.append((name, column))
    return pa.table(dict(columns))


def write_csv(table: pa.Table, out: IO[bytes], dialect: str = "default") -> None:
    """The table as CSV bytes on ``out`` (a file or stdout's binary stream): header, then
    rows, ``\\n`` line ends; see the module doc for quoting and the ``excel-eu`` dialect."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    eu = dialect == "excel-eu"
    delimiter = ";" if eu else ","
    text = _texts(table, comma=eu)
    needs = f'[{delimiter}"\\r\\n]'
    quote = any(
        pa.types.is_string(c.type) and c.null_count < len(c) and pc.any(pc.match_substring_regex(c, needs)).as_py()
        for c in text.columns
    )
    if eu:
        out.write(BOM)
    out.write((delimiter.join(text.column_names) + "\n").encode())  # plain names (pyarrow would quote them)
    if text.num_rows:
        options = pcsv.WriteOptions(
            include_header=False, delimiter=delimiter, quoting_style="needed" if quote else "none"
        )
        pcsv.write_csv(text, out, options)


def write_json(table: pa.Table, out: IO[bytes]) -> None:
    """One JSON array, a record per line; times and money as text, unsent values null."""
    from ctoops.render import json_text

    records = _texts(table).to_pylist()
    out.write(b"[\n")
    for i, record in enumerate(records):
        out.write((("  " if i == 0 else ",\n  ") + json_text(record)).encode())
    out.write(b"\n]\n" if records else b"]\n")


def write_parquet(table: pa.Table, path: Path, provenance: Mapping[str, str]) -> None:
    """Typed Parquet with ``provenance`` as ``ctoops.<key>`` schema metadata (all text)."""
    import pyarrow.parquet as pq

    metadata = dict(table.schema.metadata or {})
    metadata.update({f"ctoops.{k}".encode(): str(v).encode() for k, v in provenance.items()})
    with open(path, "wb") as fh:  # a Python file: a failed write is a plain OSError, the file closed
        pq.write_table(table.replace_schema_metadata(metadata), fh)


def records(table: pa.Table) -> list[dict[str, Any]]:
    """The rows as JSON-ready records (for --format json on stdout)."""
    found: list[dict[str, Any]] = _texts(table).to_pylist()
    return found


def stdout_bytes() -> IO[bytes]:
    """Standard output's binary stream (the one test runners capture too)."""
    import sys

    return sys.stdout.buffer
