"""`ctoops errors trend s3://...` on a day of Logpush objects in a loopback S3 server, against
the same objects read as local files, in the same run.

A day of workers_trace_events (``--events``, default 1,000,000, the record shape of
gen_logpush.py) is cut into Logpush-shaped objects (``YYYYMMDD/<start>_<end>_<random>.log.gz``,
one per ``--batch-seconds``, default 30 as Logpush's default flush), gzipped, written to a
folder and put in moto's S3 server (tests/support/s3server.py, its own process on 127.0.0.1,
authentication off: it is the client's cost being measured, not moto's signature checks).
Then ctoops runs as fresh processes, alternately on the folder and on ``s3://bench/opencto/``,
per-hour counts; the counts must agree. Printed: each one's median wall time and peak RSS
(the process's own VmHWM, see peak_rss.py), the median paired ratio (target <= 1.3x at
< 300 MiB), and what moto alone takes to serve the same objects (8 threads, no parsing), which
bounds what any S3 client could do against this server.

    python benchmarks/errors_trend_s3.py [--events 1000000] [--batch-seconds 30] [--pairs 3]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from gen_logpush import HOST, ROUTES  # noqa: E402 - the benchmark's siblings
from s3server import S3Server  # noqa: E402

DAY0 = int(datetime(2026, 11, 21, tzinfo=UTC).timestamp() * 1000)


def stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y%m%dT%H%M%SZ")


def record(rng: random.Random, ts: int) -> bytes:
    _, method, path = rng.choices(ROUTES, [w for w, _, _ in ROUTES])[0]
    if method == "SCHEDULED":
        body = {"Event": {"Cron": "*/5 * * * *", "ScheduledTimeMs": ts}, "EventTimestampMs": ts}
        body |= {"EventType": "scheduled", "Exceptions": [], "Logs": [], "Outcome": "ok", "ScriptName": "opencto-api"}
        return json.dumps(body, separators=(",", ":")).encode()
    roll = rng.random()
    status = 429 if roll < 0.03 else 502 if roll < 0.037 else 500 if roll < 0.04 else 200
    request = {"URL": HOST + path, "Method": method}
    event: dict[str, object] = {"RayID": f"{rng.getrandbits(64):016x}", "Request": request}
    outcome = "exception" if roll > 0.998 else "ok"
    if outcome == "ok":
        event["Response"] = {"Status": status}
    logs = [{"Level": "log", "Message": ["request", path], "TimestampMs": ts + 3}] if ts % 3 == 0 else []
    body = {"CPUTimeMs": rng.randint(1, 9), "DispatchNamespace": "", "Entrypoint": "", "Event": event}
    body |= {"EventTimestampMs": ts, "EventType": "fetch", "Exceptions": [], "Logs": logs, "Outcome": outcome}
    body |= {"ScriptName": "opencto-api", "ScriptTags": [], "WallTimeMs": rng.randint(5, 900)}
    return json.dumps(body, separators=(",", ":")).encode()


def write_day(folder: Path, events: int, batch_s: int) -> dict[str, bytes]:
    """The day's objects (key -> gzip bytes), also written under ``folder``."""
    rng = random.Random(7)
    batch_ms = batch_s * 1000
    objects: dict[str, bytes] = {}
    lines: list[bytes] = []
    first = last = DAY0
    for i in range(events + 1):
        ts = DAY0 + i * 86_400_000 // events if i < events else None
        if lines and (ts is None or (ts - DAY0) // batch_ms != (first - DAY0) // batch_ms):
            suffix = hashlib.sha1(str(first).encode()).hexdigest()[:8]
            key = f"opencto/{stamp(first)[:8]}/{stamp(first)}_{stamp(last)}_{suffix}.log.gz"
            objects[key] = gzip.compress(b"\n".join(lines) + b"\n", 6)
            lines = []
        if ts is None:
            break
        if not lines:
            first = ts
        last = ts
        lines.append(record(rng, ts))
    for key, data in objects.items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return objects


def run(args: list[str], env: dict[str, str], peak: Path) -> tuple[float, float, bytes]:
    """(wall seconds, peak RSS MiB, stdout) of ctoops as a fresh process."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "peak_rss.py"), str(peak), "ctoops", *args]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(args)}\n{done.stderr.decode()}")
    return wall, int(peak.read_text()) / 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-seconds", type=int, default=30)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--duckdb", action="store_true", help="also time errors_trend.py's DuckDB job on the folder")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, S3Server(auth=False) as server:
        folder = Path(tmp) / "local"
        objects = write_day(folder, opts.events, opts.batch_seconds)
        s3 = server.client()
        s3.create_bucket(Bucket="bench")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda item: s3.put_object(Bucket="bench", Key=item[0], Body=item[1]), objects.items()))
        # moto alone: every object fetched by 8 threads, bodies read and dropped
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda key: s3.get_object(Bucket="bench", Key=key)["Body"].read(), objects))
        serve = time.perf_counter() - t0
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CTOOPS_"))}
        env |= {"AWS_ACCESS_KEY_ID": server.key_id, "AWS_SECRET_ACCESS_KEY": server.secret}
        env |= {"AWS_EC2_METADATA_DISABLED": "true"}
        common = ["--window", "1h", "--format", "json"]
        local = ["errors", "trend", str(folder / "opencto"), *common]
        remote = ["errors", "trend", "s3://bench/opencto/", "--endpoint-url", server.url, *common]
        peak = Path(tmp) / "peak"
        agree = json.loads(run(local, env, peak)[2]) == json.loads(run(remote, env, peak)[2])
        ours_local, ours_remote, ratios = [], [], []
        for _ in range(opts.pairs):
            a = run(local, env, peak)[:2]
            b = run(remote, env, peak)[:2]
            ours_local.append(a)
            ours_remote.append(b)
            ratios.append(b[0] / a[0])
        size = sum(len(v) for v in objects.values()) / 2**20
        print(
            f"{opts.events:,} Logpush events in {len(objects):,} objects of {opts.batch_seconds} s "
            f"({size:.0f} MiB gzipped); {opts.pairs} alternating pairs; counts agree: {agree}"
        )
        for name, runs in (("local folder", ours_local), ("s3:// (moto, loopback)", ours_remote)):
            print(
                f"  {name:<24} median {statistics.median(w for w, _ in runs):5.2f} s, "
                f"peak RSS {statistics.median(m for _, m in runs):5.0f} MiB (max {max(m for _, m in runs):.0f})"
            )
        print(
            f"  ratio s3 / local: median {statistics.median(ratios):.2f}x (min {min(ratios):.2f}, "
            f"max {max(ratios):.2f}); target <= 1.3x at < 300 MiB"
        )
        print(f"  moto alone serving the {len(objects):,} objects to 8 threads: {serve:.2f} s")
        if opts.duckdb:
            duck(Path(tmp), folder, run(local, env, peak)[2], opts.pairs)
        if not agree:
            raise SystemExit("the two disagree: fix before trusting the timings")


def duck(tmp: Path, folder: Path, ours: bytes, pairs: int) -> None:
    """errors_trend.py's DuckDB job (read_json_auto, the same rules as SQL) over the objects'
    glob, as a fresh process: what the same counting costs in an existing engine."""
    from errors_trend import DUCKDB_JOB

    job, out = tmp / "duckdb_job.py", tmp / "duckdb.json"
    job.write_text(DUCKDB_JOB)
    cmd = [sys.executable, str(job), str(folder / "opencto" / "*" / "*.log.gz"), str(out)]
    walls = []
    for _ in range(pairs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
    theirs = sorted(
        (r["window_start"], r["bucket"], r["requests"], r["status_429"], r["status_5xx"])
        for r in json.loads(out.read_text())
    )
    mine = sorted(
        (
            int(datetime.fromisoformat(r["window_start"].replace("Z", "+00:00")).timestamp()),
            r["bucket"],
            r["requests"],
            r["status_429"],
            r["status_5xx"],
        )
        for r in json.loads(ours)
    )
    print(
        f"  DuckDB job on the folder's glob: median {statistics.median(walls):5.2f} s; counts agree: {theirs == mine}"
    )


if __name__ == "__main__":
    main()
