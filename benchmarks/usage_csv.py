"""A million usage rows: the table and pandas frame built, then written to CSV, by ctoops'
path (Arrow, pyarrow's CSV writer) against pandas' own ``to_csv`` of the same frame, in the
same run. Target: the frame built and written in about a second.

    python benchmarks/usage_csv.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from ctoops.usage import export
from ctoops.usage.frame import to_frame, usage_table
from ctoops.usage.rows import Rows
from ctoops.usage.shapes import usage_names

MODELS = ["gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-realtime-1.5", "o4-mini-2025-04-16"]


def rows(n: int) -> Rows:
    """What the parser hands over (columns): hourly buckets x model x project, every metric
    present (the optional ones 0, as the parser fills them)."""
    out = Rows(usage_names("completions", ("model", "project_id")))
    start = 1767225600
    zeros = [0] * 12
    for i in range(n):
        bucket = start + (i // 200) * 3600
        out.append(
            [
                bucket,
                bucket + 3600,
                MODELS[i % 4],
                f"proj_{i % 50:03d}",
                1000 + i % 977,
                200 + i % 313,
                1 + i % 7,
                *zeros,
            ]
        )
    return out


def timed(fn, *args, **kwargs) -> float:
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = rows(args.rows)
    group_by = ("model", "project_id")
    import pandas  # noqa: F401  imports are not what is measured
    import pyarrow.csv  # noqa: F401

    build, frame_times, write, pandas_write = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            table = usage_table(data, "completions", group_by)
            build.append(time.perf_counter() - t0)
            frame_times.append(timed(to_frame, table))
            frame = to_frame(table)
            write.append(timed(export.write, table, Path(tmp) / "ctoops.csv"))
            pandas_write.append(timed(frame.to_csv, Path(tmp) / "pandas.csv", index=False))
        size = (Path(tmp) / "ctoops.csv").stat().st_size
    b, f, w, p = (statistics.median(x) for x in (build, frame_times, write, pandas_write))
    print(
        f"{args.rows:,} rows x {len(table.column_names)} columns, median of {args.repeat} ({size / 1e6:.0f} MB of CSV)"
    )
    print(f"  parsed rows -> Arrow table (sorted): {b:5.2f} s")
    print(f"  table -> pandas frame:             {f:5.2f} s")
    print(f"  CSV by ctoops (pyarrow, ISO UTC):  {w:5.2f} s")
    print(f"  CSV by pandas to_csv (same frame): {p:5.2f} s   ratio pandas/ctoops {p / w:.1f}x")
    print(f"  built and written: {b + f + w:.2f} s (target: about 1 s)")


if __name__ == "__main__":
    main()
