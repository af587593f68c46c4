"""Writing a costs workbook: ctoops' path (XlsxWriter, constant memory, every sheet and the
chart) against the alternatives on the same rows, in the same run: openpyxl's write-only
mode and pandas' ``to_excel`` (openpyxl engine), each writing only the Rows sheet. Prints the
median time, the file size, the peak of traced Python memory (a separate run: tracing slows
Python) and the ratios.

    python benchmarks/usage_xlsx.py [--rows 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

from ctoops.dates import DAY, Range
from ctoops.usage import workbook
from ctoops.usage.frame import costs_table
from ctoops.usage.pull import Coverage, Pulled
from ctoops.usage.query import Query
from ctoops.usage.report import Result
from ctoops.usage.rows import Rows
from ctoops.usage.settled import watermark
from ctoops.usage.shapes import costs_names

START = 1735689600  # 2025-01-01T00:00:00Z
GROUPS = ("project_id", "line_item")
ITEMS = [f"gpt-4o-2024-08-06, {side}" for side in ("input", "output")] + ["web search", "file search"]


def result(n: int) -> Result:
    """``n`` costs rows (project x line item per day), amounts with seven decimals."""
    rows = Rows(costs_names(GROUPS))
    per_day = 200
    days = max(1, n // per_day)
    for i in range(n):
        day = START + (i // per_day) * DAY
        amount = Decimal(1000 + i % 9973).scaleb(-7) * (1 + i % 7)
        rows.append([day, day + DAY, f"proj_{i % 50:03d}", ITEMS[i % 4], amount, "usd", 1000 + i % 977, "tokens"])
    span = Range(START, START + days * DAY)
    coverage = Coverage(span, DAY, span.end, span.end + DAY, set(range(span.start, span.end, DAY)))
    coverage.filled = set(coverage.returned)
    query = Query("costs", span, "1d", GROUPS)
    return Result(query, Pulled(rows, coverage), costs_table(rows, GROUPS), watermark(coverage), ["amount"])


def ctoops_book(data: Result, path: Path) -> None:
    workbook.write(path, data, [("source", "benchmark")])


def openpyxl_rows(data: Result, path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Rows")
    sheet.append(data.table.column_names)
    for batch in data.table.to_batches(max_chunksize=10_000):
        columns = [c.to_pylist() for c in batch.columns]
        for row in zip(*columns, strict=True):
            sheet.append([v.replace(tzinfo=None) if hasattr(v, "tzinfo") else v for v in row])
    book.save(path)


def pandas_rows(data: Result, path: Path) -> None:
    frame = data.table.to_pandas()
    for column in ("start_time", "end_time"):
        frame[column] = frame[column].dt.tz_localize(None)
    frame["amount"] = frame["amount"].astype(float)
    frame.to_excel(path, sheet_name="Rows", index=False, engine="openpyxl")


def timed(fn, data: Result, path: Path) -> float:
    t0 = time.perf_counter()
    fn(data, path)
    return time.perf_counter() - t0


def peak(fn, data: Result, path: Path) -> int:
    """Peak traced Python memory of one run (a separate run: tracing slows Python down)."""
    tracemalloc.start()
    fn(data, path)
    top = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = result(args.rows)
    import openpyxl  # noqa: F401  imports are not what is measured
    import pandas  # noqa: F401
    import xlsxwriter  # noqa: F401

    runs = {"ctoops (XlsxWriter, every sheet + chart)": ctoops_book, "openpyxl write-only (Rows only)": openpyxl_rows}
    runs["pandas to_excel, openpyxl (Rows only)"] = pandas_rows
    print(f"{args.rows:,} costs rows x {data.table.num_columns} columns, median of {args.repeat}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in runs.items():
            walls = [timed(fn, data, Path(tmp) / f"{i}-{fn.__name__}.xlsx") for i in range(args.repeat)]
            path = Path(tmp) / f"0-{fn.__name__}.xlsx"
            size = path.stat().st_size
            top = peak(fn, data, Path(tmp) / f"traced-{fn.__name__}.xlsx")
            results[name] = statistics.median(walls)
            print(f"  {name:42s} {results[name]:6.2f} s  {size / 1e6:6.1f} MB  peak traced {top / 1e6:6.0f} MB")
    ours = results["ctoops (XlsxWriter, every sheet + chart)"]
    for name, wall in results.items():
        if not name.startswith("ctoops"):
            print(f"  ratio {name.split(' (')[0]} / ctoops: {wall / ours:.2f}x")


if __name__ == "__main__":
    main()
