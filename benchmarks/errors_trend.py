"""`ctoops errors trend` against the same job done directly in DuckDB, in the same run.

The DuckDB job is what an engineer would write by hand, in its best form: `read_json` given
the columns (format and compression stated), the same bucket mapping and 429/5xx rules,
per-hour counts fetched as Python rows. `read_json_auto` (schema inferred, into pandas, the
job this benchmark used to compare with) is kept as a second line. Cases: plain Logpush
NDJSON, the same file gzipped, a folder of gzipped parts (Logpush's layout), wrangler
tail's pretty output, and the NDJSON piped into `ctoops errors trend -` (compared with
the DuckDB job reading the same pipe as `/dev/stdin`, and with ctoops reading the file).

Every command runs as a fresh process (interpreter and imports included); the two sides
alternate (A B A B ...) and the ratio is the median of the per-pair ratios, so load from
other work on the machine hits both alike. Counts are checked equal first. Printed per
case: median wall, CPU (user+sys) and peak RSS of each side, and the ratio; then ctoops'
peak RSS as the input grows (it should stay flat: the input is streamed, never held).

    python benchmarks/errors_trend.py --events 1000000 [--pairs 5] [--cases plain,gz,folder,tail,pipe]
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
from datetime import datetime
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
RULES = """
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
"""
PATH = "regexp_replace({url}, '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*|[?#].*$', '', 'g')"
LOGPUSH_COLUMNS = (
    "{EventTimestampMs: 'BIGINT', EventType: 'VARCHAR', Outcome: 'VARCHAR', "
    "Event: 'STRUCT(Request STRUCT(URL VARCHAR, Method VARCHAR), Response STRUCT(Status BIGINT))'}"
)
TAIL_COLUMNS = (
    "{eventTimestamp: 'BIGINT', outcome: 'VARCHAR', "
    "event: 'STRUCT(request STRUCT(url VARCHAR, method VARCHAR), response STRUCT(status BIGINT))'}"
)


def schema_job(kind: str) -> str:
    """The hand-written DuckDB job with the columns given, printing JSON rows."""
    if kind == "tail":
        path = PATH.format(url="event.request.url")
        select = (
            f"SELECT eventTimestamp AS ts, event.request.method AS method, {path} AS path, "
            "event.response.status AS status, outcome AS outcome "
            f"FROM read_json(?, format = 'unstructured', columns = {TAIL_COLUMNS}) "
            "WHERE event.request.url IS NOT NULL"
        )
    else:
        path = PATH.format(url="Event.Request.URL")
        select = (
            f"SELECT EventTimestampMs AS ts, Event.Request.Method AS method, {path} AS path, "
            "Event.Response.Status AS status, Outcome AS outcome "
            "FROM read_json(?, format = 'newline_delimited', compression = '{compression}', "
            f"columns = {LOGPUSH_COLUMNS}) WHERE EventType = 'fetch'"
        )
    return (
        "import json, sys, duckdb\n"
        f"query = '''WITH e AS ({select}), b AS ({RULES}'''\n"
        "query = query.replace('{compression}', sys.argv[3])\n"
        "rows = duckdb.execute(query, [sys.argv[1]]).fetchall()\n"
        "json.dump([list(r) for r in rows], open(sys.argv[2], 'w'))\n"
    )


AUTO_JOB = (
    "import sys, duckdb\n"
    "query = '''WITH e AS (SELECT EventTimestampMs AS ts, Event.Request.Method AS method, "
    + PATH.format(url="Event.Request.URL")
    + " AS path, Event.Response.Status AS status, Outcome AS outcome "
    "FROM read_json_auto(?, format = 'newline_delimited', ignore_errors = true) WHERE EventType = 'fetch'), b AS ("
    + RULES
    + "'''\n"
    "frame = duckdb.execute(query, [sys.argv[1]]).df()\n"
    "frame.to_json(sys.argv[2], orient='records')\n"
)


def run(cmd: list[str], stdin_from: str | None = None) -> tuple[float, float, float]:
    """(wall s, peak RSS MiB, CPU s) of a child; with ``stdin_from``, `cat FILE |` into it."""
    t0 = time.perf_counter()
    feeder = subprocess.Popen(["cat", stdin_from], stdout=subprocess.PIPE) if stdin_from else None
    child = subprocess.Popen(
        cmd, stdin=feeder.stdout if feeder else subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if feeder and feeder.stdout:
        feeder.stdout.close()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    if feeder:
        feeder.wait()
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def piped(cmd: list[str], stdin_from: str | None, stdout: IO[str] | None = None) -> None:
    """Run ``cmd`` once (checked), with ``cat STDIN_FROM |`` in front when given."""
    feeder = subprocess.Popen(["cat", stdin_from], stdout=subprocess.PIPE) if stdin_from else None
    subprocess.run(cmd, stdin=feeder.stdout if feeder else None, stdout=stdout, stderr=subprocess.DEVNULL, check=True)
    if feeder:
        if feeder.stdout:
            feeder.stdout.close()
        feeder.wait()


def ours(source: str, out: str | None = None) -> list[str]:
    script = Path(sys.executable).with_name("ctoops")
    cmd = [str(script), "errors", "trend", source, "--window", "1h", "--format", "json"]
    return cmd if out is None else cmd


def counts(path: str, ctoops_output: bool) -> list[tuple[int, str, int, int, int]]:
    rows = json.loads(Path(path).read_text())
    if ctoops_output:
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
    if rows and isinstance(rows[0], dict):
        return [(r["window_start"], r["bucket"], r["requests"], r["status_429"], r["status_5xx"]) for r in rows]
    return [tuple(r) for r in rows]  # type: ignore[misc]


def data(events: int, folder: Path, cases: list[str]) -> dict[str, Path]:
    """The inputs the cases need, generated once per size (benchmarks/gen_logpush.py)."""
    tag = f"{events // 1_000_000}m" if events % 1_000_000 == 0 else str(events)
    paths = {
        "plain": folder / f"logpush-{tag}.ndjson",
        "gz": folder / f"logpush-{tag}.ndjson.gz",
        "folder": folder / f"logpush-{tag}-gz",
        "tail": folder / f"tail-{tag}.json",
    }
    gen = [sys.executable, str(HERE / "gen_logpush.py"), "--events", str(events)]
    if not paths["plain"].exists():
        subprocess.run([*gen, "-o", str(paths["plain"])], check=True, stdout=subprocess.DEVNULL)
    if "gz" in cases and not paths["gz"].exists():
        subprocess.run(f"gzip -6 -c {paths['plain']} > {paths['gz']}", shell=True, check=True)
    if "folder" in cases and not paths["folder"].exists():
        parts = max(1, events // 100_000)
        command = [*gen, "--gzip-parts", str(parts), "-o", str(paths["folder"])]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    if "tail" in cases and not paths["tail"].exists():
        subprocess.run([*gen, "--tail", "-o", str(paths["tail"])], check=True, stdout=subprocess.DEVNULL)
    return paths


def compare(
    name: str,
    a: list[str],
    b: list[str],
    pairs: int,
    a_stdin: str | None = None,
    labels: tuple[str, str] = ("ctoops", "DuckDB, schema"),
    b_stdin: str | None = None,
) -> float:
    runs_a, runs_b, ratios = [], [], []
    for _ in range(pairs):
        ra = run(a, a_stdin)
        rb = run(b, b_stdin)
        runs_a.append(ra)
        runs_b.append(rb)
        ratios.append(ra[0] / rb[0])
    for label, runs in ((labels[0], runs_a), (labels[1], runs_b)):
        print(
            f"    {label:<24} median {statistics.median(r[0] for r in runs):6.2f} s, "
            f"CPU {statistics.median(r[2] for r in runs):6.2f} s, peak RSS {max(r[1] for r in runs):5.0f} MiB"
        )
    ratio = statistics.median(ratios)
    print(f"    ratio {labels[0]} / {labels[1]}: median {ratio:.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f})")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--data", default=str(HERE / "data"))
    parser.add_argument("--cases", default="plain,gz,folder,tail,pipe")
    parser.add_argument("--no-auto", action="store_true", help="skip the read_json_auto line")
    parser.add_argument("--no-growth", action="store_true", help="skip the memory-as-the-input-grows probe")
    args = parser.parse_args()
    cases = args.cases.split(",")
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    paths = data(args.events, folder, cases)
    size = paths["plain"].stat().st_size / 1e6
    print(f"{args.events:,} events ({size:.0f} MB of NDJSON); {args.pairs} alternating pairs; {os.cpu_count()} cores")
    disagree = []
    with tempfile.TemporaryDirectory() as tmp:
        jobs = {}
        for kind in ("logpush", "tail"):
            jobs[kind] = Path(tmp) / f"duckdb_{kind}.py"
            jobs[kind].write_text(schema_job(kind))
        auto = Path(tmp) / "duckdb_auto.py"
        auto.write_text(AUTO_JOB)
        out_a, out_b = str(Path(tmp) / "a.json"), str(Path(tmp) / "b.json")
        for case in cases:
            source = str(paths["plain" if case == "pipe" else case])
            theirs_source = source if case != "folder" else f"{source}/**/*.gz"
            compression = "gzip" if case in ("gz", "folder") else "none"
            theirs = [
                sys.executable,
                str(jobs["tail" if case == "tail" else "logpush"]),
                theirs_source,
                out_b,
                compression,
            ]
            theirs_file = list(theirs)
            if case == "pipe":  # DuckDB reads the same pipe itself
                theirs[2] = "/dev/stdin"
            mine = ours("-" if case == "pipe" else source)
            # once each: the counts must agree (and the page cache is warm)
            with open(out_a, "w") as handle:
                piped(mine, source if case == "pipe" else None, stdout=handle)
            piped(theirs, source if case == "pipe" else None)
            agree = counts(out_a, True) == counts(out_b, False)
            label = {
                "plain": "plain NDJSON",
                "gz": "one .gz",
                "folder": "a folder of .gz",
                "tail": "pretty tail",
                "pipe": "cat NDJSON | ctoops -",
            }[case]
            print(f"  {label}: counts agree: {agree}")
            if not agree:
                disagree.append(case)
                continue
            if case == "pipe":
                labels = ("ctoops, pipe", "DuckDB, schema, pipe")
                compare(case, mine, theirs, args.pairs, a_stdin=source, labels=labels, b_stdin=source)
                compare(case, mine, ours(source), args.pairs, a_stdin=source, labels=("ctoops, pipe", "ctoops, file"))
                compare(case, theirs, theirs_file, args.pairs, a_stdin=source, labels=("DuckDB, pipe", "DuckDB, file"))
                continue
            compare(case, mine, theirs, args.pairs)
            if case in ("plain", "folder") and not args.no_auto:
                auto_cmd = [sys.executable, str(auto), theirs_source, out_b]
                compare(case, mine, auto_cmd, max(1, args.pairs // 2), labels=("ctoops", "DuckDB, read_json_auto"))
        if "plain" in cases and not args.no_growth:
            print("  ctoops peak RSS as the input grows (streaming: should stay flat):")
            lines = args.events
            for fraction in (0.25, 0.5, 1.0):
                part = Path(tmp) / f"part-{fraction}.ndjson"
                with open(paths["plain"], "rb") as src, open(part, "wb") as dst:
                    for i, line in enumerate(src):
                        if i >= lines * fraction:
                            break
                        dst.write(line)
                wall, rss, cpu = run(ours(str(part)))
                print(f"    {int(lines * fraction):>9,} events: {rss:5.0f} MiB, {wall:5.2f} s")
                part.unlink()
    if disagree:
        raise SystemExit(f"ctoops and DuckDB disagree on: {', '.join(disagree)}: fix before trusting the timings")


if __name__ == "__main__":
    main()
