"""Generate Logpush workers_trace_events NDJSON (worker-logs.md §2) for the trend benchmark.

A week of traffic: POST /api/v1/realtime/token and GET /api/v1/cto/openai/models|usage
(most of it), other routes, CORS preflights, scheduled events; mostly 200, some 429 and 5xx,
a few exceptions with no Response. Deterministic for a given --events and --seed.

    python benchmarks/gen_logpush.py --events 1000000 -o benchmarks/data/logpush-1m.ndjson
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    weights = [w for w, _, _ in ROUTES]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as fh:
        for i in range(args.events):
            _, method, path = rng.choices(ROUTES, weights)[0]
            ts = T0 + i * WEEK_MS // args.events
            logs = [{"Level": "log", "Message": ["request", path], "TimestampMs": ts + 3}] if i % 3 == 0 else []
            if method == "SCHEDULED":
                record = {
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
                roll = rng.random()
                status = 429 if roll < 0.03 else 502 if roll < 0.037 else 500 if roll < 0.04 else 200
                event = {"RayID": f"{rng.getrandbits(64):016x}", "Request": {"URL": HOST + path, "Method": method}}
                outcome, exceptions = "ok", []
                if roll > 0.998:  # an uncaught exception: no Response at all
                    outcome = "exception"
                    exceptions = [{"Name": "Error", "Message": "upstream exploded", "TimestampMs": ts}]
                else:
                    event["Response"] = {"Status": status}
                record = {
                    "CPUTimeMs": rng.randint(1, 9),
                    "DispatchNamespace": "",
                    "Entrypoint": "",
                    "Event": event,
                    "EventTimestampMs": ts,
                    "EventType": "fetch",
                    "Exceptions": exceptions,
                    "Logs": logs,
                    "Outcome": outcome,
                    "ScriptName": "opencto-api-worker",
                    "ScriptTags": [],
                    "WallTimeMs": rng.randint(5, 900),
                }
            fh.write(json.dumps(record, separators=(",", ":")) + "\n")
    print(f"wrote {args.events:,} events, {out.stat().st_size / 1e6:.0f} MB, to {out}")


if __name__ == "__main__":
    main()
