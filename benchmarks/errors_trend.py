"""`ctoops errors trend` against the same job done directly in DuckDB, in the same run.

The DuckDB job is what an engineer would write by hand: read_json_auto over the file, the
same bucket mapping and 429/5xx rules, per-hour counts into a pandas DataFrame. Both run as
fresh processes (interpreter and imports included), alternately, and the counts must
agree. Printed: each one's median wall time and peak RSS, the paired ratio, and ctoops'
peak RSS as the input grows (it should stay flat: the input is streamed, never held).

    python benchmarks/gen_logpush.py --events 1000000 -o benchmarks/data/logpush-1m.ndjson
    python benchmarks/errors_trend.py benchmarks/data/logpush-1m.ndjson [--pairs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DUCKDB_JOB = r"""
import sys, duckdb
query = '''
WITH e AS (
  SELECT EventTimestampMs AS ts, Event.Request.Method AS method,
         regexp_replace(Event.Request.URL, '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*|[?#].*$', '', 'g') AS path,
         Event.Response.Status AS status, Outcome AS outcome
  FROM read_json_auto(?, format = 'newline_delimited', ignore_errors = true)
  WHERE EventType = 'fetch'
), b AS (
  SELECT *, CASE
      WHEN method = 'POST' AND path = '/api/v1/realtime/token' THEN 'realtime_token'
      WHEN method = 'GET' AND path IN ('/api/v1/cto/openai/models', '/api/v1/cto/openai/usage') THEN 'cto_openai_proxy'
    END AS bucket
  FROM e
)
SELECT (ts // 3600000) * 3600 AS window_start, bucket, count(*) AS requests,
       sum(CASE WHEN status = 429 THEN 1 ELSE 0 END) AS status_429,
       sum(CASE WHEN status BETWEEN 500 AND 599
                  OR (status IS NULL AND outcome IN ('exception', 'exceededCpu', 'exceededMemory',
                                                     'scriptNotFound', 'unknown')) THEN 1 ELSE 0 END) AS status_5xx
FROM b WHERE bucket IS NOT NULL GROUP BY ALL ORDER BY 1, 2
'''
frame = duckdb.execute(query, [sys.argv[1]]).df()
frame.to_json(sys.argv[2], orient="records")
"""


def run(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of a child process."""
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024


def counts(path: str, ctoops_output: bool) -> list[tuple]:
    rows = json.loads(Path(path).read_text())
    if ctoops_output:
        from datetime import datetime

        return [
            (
                int(datetime.fromisoformat(r["window_start"].replace("Z", "+00:00")).timestamp()),
                r["bucket"],
                r["requests"],
                r["status_429"],
                r["status_5xx"],
            )
            for r in rows
        ]
    return [(r["window_start"], r["bucket"], r["requests"], r["status_429"], r["status_5xx"]) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("ctoops")
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "duckdb_job.py"
        job.write_text(DUCKDB_JOB)
        ours_json, theirs_json = str(Path(tmp) / "ctoops.json"), str(Path(tmp) / "duckdb.json")
        ours = [str(script), "errors", "trend", args.log, "--window", "1h", "--format", "json"]
        theirs = [sys.executable, str(job), args.log, theirs_json]
        # once each, to check they agree (and to warm the page cache)
        with open(ours_json, "w") as out:
            subprocess.run(ours, stdout=out, stderr=subprocess.DEVNULL, check=True)
        subprocess.run(theirs, check=True)
        agree = counts(ours_json, True) == counts(theirs_json, False)
        ours_runs, theirs_runs, ratios = [], [], []
        for _ in range(args.pairs):
            a = run(ours + ["--window", "1h"])
            b = run(theirs)
            ours_runs.append(a)
            theirs_runs.append(b)
            ratios.append(a[0] / b[0])
        size = os.path.getsize(args.log) / 1e6
        lines = sum(1 for _ in open(args.log, "rb"))
        print(f"{lines:,} Logpush events, {size:.0f} MB; {args.pairs} alternating pairs; counts agree: {agree}")
        for name, runs in (("ctoops errors trend", ours_runs), ("DuckDB read_json_auto job", theirs_runs)):
            print(
                f"  {name:<26} median {statistics.median(w for w, _ in runs):5.2f} s, "
                f"peak RSS {statistics.median(m for _, m in runs):5.0f} MiB"
            )
        print(
            f"  ratio ctoops / DuckDB: median {statistics.median(ratios):.2f}x "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f}); target <= 1.0x, first milestone 1.5x"
        )
        # memory as the input grows: the first quarter, half, and all of it
        print("  ctoops peak RSS as the input grows (streaming: should stay flat):")
        for fraction in (0.25, 0.5, 1.0):
            part = Path(tmp) / f"part-{fraction}.ndjson"
            with open(args.log, "rb") as src, open(part, "wb") as dst:
                for i, line in enumerate(src):
                    if i >= lines * fraction:
                        break
                    dst.write(line)
            wall, rss = run([str(script), "errors", "trend", str(part), "--window", "1h", "--format", "json"])
            print(f"    {int(lines * fraction):>9,} events: {rss:5.0f} MiB, {wall:5.2f} s")
            part.unlink()
        if not agree:
            raise SystemExit("the two disagree: fix before trusting the timings")


if __name__ == "__main__":
    main()
