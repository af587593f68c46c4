"""Counting Cloudflare's pre-aggregated answers: ctoops against DuckDB, in the same run.

A day of GraphQL-shaped rows (per minute x path x method x status, each with its ``count``)
for a busy worker is counted into 5-minute windows and route groups twice, alternately:

* ctoops: ``ctoops.cloudflare.counts`` (the rows as weighted record tables through the trends
  engine's ``Tally``; with an engine that cannot count weights yet, each row is expanded into
  ``weight`` records, which this benchmark makes visible);
* DuckDB: the same rules as SQL over the same rows (``SUM(weight)``), the best alternative.

The counts must agree before any time is printed. Printed: the rows and the requests they
stand for, each side's median time, the paired ratio, and whether the engine counted the
weights natively.

    python benchmarks/cloudflare_counts.py [--requests-per-minute 7000] [--pairs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROUTES = [
    ("POST", "/api/v1/realtime/token"),
    ("GET", "/api/v1/cto/openai/models"),
    ("GET", "/api/v1/cto/openai/usage"),
    ("POST", "/api/v1/cto/openai/models"),
]
STATUSES = [(200, 0.88), (429, 0.07), (500, 0.02), (502, 0.02), (503, 0.01)]
DAY_MS = 1795219200000  # 2026-11-21T00:00:00Z

SQL = """
SELECT (ts_ms // 300000) * 300 AS window_start,
       CASE WHEN method = 'POST' AND url = '/api/v1/realtime/token' THEN 'realtime_token'
            WHEN method = 'GET' AND url IN ('/api/v1/cto/openai/models', '/api/v1/cto/openai/usage')
              THEN 'cto_openai_proxy' END AS bucket,
       SUM(weight) AS requests,
       SUM(CASE WHEN status = 429 THEN weight ELSE 0 END) AS status_429,
       SUM(CASE WHEN status BETWEEN 500 AND 599 THEN weight ELSE 0 END) AS status_5xx
FROM rows WHERE bucket IS NOT NULL GROUP BY ALL ORDER BY window_start, bucket
"""


def make_rows(per_minute: int, seed: int = 7) -> list:
    from ctoops.cloudflare.counts import Row

    rng = random.Random(seed)
    rows = []
    for minute in range(1440):
        ts = DAY_MS + minute * 60_000
        for method, path in ROUTES:
            share = per_minute // len(ROUTES)
            for status, fraction in STATUSES:
                count = max(0, int(share * fraction * rng.uniform(0.5, 1.5)))
                if count:
                    rows.append(Row(ts, method, path, status, "ok", count, 1.0))
    return rows


def run_ctoops(records) -> tuple[float, list[tuple]]:
    from ctoops.cloudflare.counts import count

    t0 = time.perf_counter()
    trend = count([records], window="5m", buckets=None, since_ms=None, until_ms=None)
    elapsed = time.perf_counter() - t0
    return elapsed, [
        (r["window_start"], r["bucket"], r["requests"], r["status_429"], r["status_5xx"]) for r in trend.rows
    ]


def run_duckdb(records) -> tuple[float, list[tuple]]:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.register("rows", records)
    out = [tuple(int(v) if not isinstance(v, str) else v for v in row) for row in con.execute(SQL).fetchall()]
    con.close()
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests-per-minute", type=int, default=7000)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()

    from ctoops.cloudflare.counts import engine_counts_weights, table

    rows = make_rows(args.requests_per_minute)
    records = table(rows)
    total = sum(r.weight for r in rows)
    print(f"{len(rows):,} rows standing for {total:,} requests (a day, {args.requests_per_minute:,}/min)")
    _, mine = run_ctoops(records)
    _, theirs = run_duckdb(records)
    print(f"counts agree: {mine == theirs}")
    if mine != theirs:
        sys.exit(1)
    ours, duck, ratios = [], [], []
    for _ in range(args.pairs):
        a, _ = run_ctoops(records)
        b, _ = run_duckdb(records)
        ours.append(a)
        duck.append(b)
        ratios.append(a / b)
    native = engine_counts_weights()
    print(f"engine counts weights natively: {native}" + ("" if native else " (rows expanded into records: the shim)"))
    print(
        f"ctoops median {statistics.median(ours) * 1000:.1f} ms, duckdb median {statistics.median(duck) * 1000:.1f} ms"
    )
    print(f"ratio ctoops/duckdb (median of {args.pairs} pairs): {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
