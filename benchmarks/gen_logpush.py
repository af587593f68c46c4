"""Generate worker logs for the trend benchmark: Logpush workers_trace_events NDJSON
(worker-logs.md §2), or the same events as `wrangler tail --format json` prints them
(pretty, 4-space indent, §1).

A week of traffic: POST /api/v1/realtime/token and GET /api/v1/cto/openai/models|usage
(most of it), other routes, CORS preflights, scheduled events; mostly 200, some 429 and 5xx,
a few exceptions with no Response. Deterministic for a given --events and --seed.

    python benchmarks/gen_logpush.py --events 1000000 -o benchmarks/data/logpush-1m.ndjson
    python benchmarks/gen_logpush.py --events 1000000 --tail -o benchmarks/data/tail-1m.json
    python benchmarks/gen_logpush.py --events 1000000 --gzip-parts 10 -o benchmarks/data/logpush-1m-gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

T0 = 1795255200000  # 2026-11-21T10:00:00Z
WEEK_MS = 7 * 86400 * 1000
HOST = "https://api.opencto.works"
ROUTES = [
    (40, "POST", "/api/v1/realtime/token"),
    (25, "GET", "/api/v1/cto/openai/models"),
    (15, "GET", "/api/v1/cto/openai/usage?start=2026-11-20&end=2026-11-21"),
    (8, "GET", "/api/v1/health"),
    (5, "OPTIONS", "/api/v1/realtime/token"),
    (4, "GET", "/api/v1/llm/keys?workspaceId=acme"),
    (3, "SCHEDULED", ""),
]


def events(count: int, seed: int) -> Iterator[tuple[int, str, str, int | None, str, list[Any], list[Any], Any]]:
    """(ts_ms, method, path, status or None, outcome, logs, exceptions, rng) per event."""
    rng = random.Random(seed)
    weights = [w for w, _, _ in ROUTES]
    for i in range(count):
        _, method, path = rng.choices(ROUTES, weights)[0]
        ts = T0 + i * WEEK_MS // count
        logs = [{"Level": "log", "Message": ["request", path], "TimestampMs": ts + 3}] if i % 3 == 0 else []
        if method == "SCHEDULED":
            yield ts, method, path, None, "ok", logs, [], rng
            continue
        roll = rng.random()
        status: int | None = 429 if roll < 0.03 else 502 if roll < 0.037 else 500 if roll < 0.04 else 200
        outcome, exceptions = "ok", []
        if roll > 0.998:  # an uncaught exception: no Response at all
            outcome, status = "exception", None
            exceptions = [{"Name": "Error", "Message": "upstream exploded", "TimestampMs": ts}]
        yield ts, method, path, status, outcome, logs, exceptions, rng


def logpush(ts: int, method: str, path: str, status: int | None, outcome: str, logs: Any, exc: Any, rng: Any) -> str:
    if method == "SCHEDULED":
        record: dict[str, Any] = {
            "CPUTimeMs": 1,
            "Event": {"Cron": "*/5 * * * *", "ScheduledTimeMs": ts},
            "EventTimestampMs": ts,
            "EventType": "scheduled",
            "Exceptions": [],
            "Logs": logs,
            "Outcome": "ok",
            "ScriptName": "opencto-api-worker",
            "ScriptTags": [],
            "WallTimeMs": 4,
        }
    else:
        event: dict[str, Any] = {
            "RayID": f"{rng.getrandbits(64):016x}",
            "Request": {"URL": HOST + path, "Method": method},
        }
        if status is not None:
            event["Response"] = {"Status": status}
        record = {
            "CPUTimeMs": rng.randint(1, 9),
            "DispatchNamespace": "",
            "Entrypoint": "",
            "Event": event,
            "EventTimestampMs": ts,
            "EventType": "fetch",
            "Exceptions": exc,
            "Logs": logs,
            "Outcome": outcome,
            "ScriptName": "opencto-api-worker",
            "ScriptTags": [],
            "WallTimeMs": rng.randint(5, 900),
        }
    return json.dumps(record, separators=(",", ":")) + "\n"


def tail(ts: int, method: str, path: str, status: int | None, outcome: str, logs: Any, exc: Any, rng: Any) -> str:
    tail_logs = [{"message": log["Message"], "level": "log", "timestamp": log["TimestampMs"]} for log in logs]
    tail_exc = [{"name": e["Name"], "message": e["Message"], "timestamp": e["TimestampMs"]} for e in exc]
    if method == "SCHEDULED":
        event: dict[str, Any] = {"cron": "*/5 * * * *", "scheduledTime": ts}
    else:
        event = {
            "request": {
                "url": HOST + path,
                "method": method,
                "headers": {"cf-ray": f"{rng.getrandbits(64):016x}", "content-type": "application/json"},
                "cf": {"colo": "FRA", "country": "DE"},
            }
        }
        if status is not None:
            event["response"] = {"status": status}
    record = {
        "outcome": outcome,
        "scriptName": "opencto-api-worker",
        "exceptions": tail_exc,
        "logs": tail_logs,
        "eventTimestamp": ts,
        "event": event,
    }
    return json.dumps(record, indent=4) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tail", action="store_true", help="wrangler tail's pretty JSON instead of Logpush NDJSON")
    parser.add_argument(
        "--gzip-parts", type=int, default=0, help="a folder of this many Logpush .log.gz files (in time order)"
    )
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    out = Path(args.output)
    shape = tail if args.tail else logpush
    if args.gzip_parts:
        per = -(-args.events // args.gzip_parts)
        handle = None
        for i, event in enumerate(events(args.events, args.seed)):
            if i % per == 0:
                if handle:
                    handle.close()
                day = "20261121"
                name = out / day / f"{day}T{i // per:06d}Z_{day}T{i // per + 1:06d}Z_{i // per:08x}.log.gz"
                name.parent.mkdir(parents=True, exist_ok=True)
                handle = gzip.open(name, "wt", compresslevel=6)
            assert handle is not None
            handle.write(shape(*event))
        if handle:
            handle.close()
        size = sum(p.stat().st_size for p in out.rglob("*.gz"))
        print(f"wrote {args.events:,} events, {size / 1e6:.0f} MB gzipped in {args.gzip_parts} files, to {out}")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as fh:
        for event in events(args.events, args.seed):
            fh.write(shape(*event))
    print(f"wrote {args.events:,} events, {out.stat().st_size / 1e6:.0f} MB, to {out}")


if __name__ == "__main__":
    main()
