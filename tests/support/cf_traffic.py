"""One synthetic day-part of worker traffic, and what each source makes of it.

``events()`` is a fixed list of requests (time, method, path, status or None, outcome) on the
worker; ``tail_ndjson`` writes them as ``wrangler tail --format json | jq -c`` lines
(worker-logs.md §1.2), the file source. ``tests/support/cf_fake.py`` answers Cloudflare's
APIs from the same list, so the counts of every source can be compared with the file's.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

START_MS = 1795251600000  # 2026-11-21T09:00:00Z
END_MS = 1795258800000  # 2026-11-21T11:00:00Z
ACCOUNT = "0123456789abcdef0123456789abcdef"
ZONE = "fedcba9876543210fedcba9876543210"
HOST = "api.opencto.works"
SCRIPT = "opencto-api"
ROUTES = [
    ("POST", "/api/v1/realtime/token"),
    ("GET", "/api/v1/cto/openai/models"),
    ("GET", "/api/v1/cto/openai/usage"),
    ("OPTIONS", "/api/v1/realtime/token"),  # a preflight: no bucket's
    ("GET", "/api/v1/health"),  # another path: the worker is seen, no bucket's
    ("POST", "/api/v1/cto/openai/models"),  # wrong method: no bucket's
]


@dataclass(frozen=True)
class Event:
    ts_ms: int
    method: str
    path: str
    status: int | None  # None: no response (an exception)
    outcome: str

    @property
    def edge_status(self) -> int:
        """What the edge (GraphQL) saw: an exception is Cloudflare's 1101 page, a 500."""
        return self.status if self.status is not None else 500


def events(start_ms: int = START_MS, end_ms: int = END_MS, seed: int = 13) -> list[Event]:
    rng = random.Random(seed)
    out = []
    ts = start_ms
    while ts < end_ms:
        ts += rng.randint(2_000, 25_000)
        if ts >= end_ms:
            break
        method, path = rng.choice(ROUTES)
        roll = rng.random()
        if roll < 0.08:
            status, outcome = 429, "ok"
        elif roll < 0.11:
            status, outcome = rng.choice([500, 502, 503]), "ok"
        elif roll < 0.13:
            status, outcome = None, "exception"
        else:
            status, outcome = 200, "ok"
        out.append(Event(ts, method, path, status, outcome))
    return out


def tail_ndjson(items: list[Event]) -> bytes:
    """The events as `wrangler tail --format json | jq -c` lines."""
    lines = []
    for e in items:
        event: dict = {"request": {"url": f"https://{HOST}{e.path}", "method": e.method, "headers": {}}}
        if e.status is not None:
            event["response"] = {"status": e.status}
        lines.append(
            json.dumps(
                {
                    "outcome": e.outcome,
                    "scriptName": SCRIPT,
                    "exceptions": [],
                    "logs": [],
                    "eventTimestamp": e.ts_ms,
                    "event": event,
                }
            )
        )
    return ("\n".join(lines) + "\n").encode()
