"""The sandbox's log sample: an hour of ``wrangler tail --format json`` output, for
``errors trend`` and the runbook's step 5 when no log source is given."""

from __future__ import annotations

import json
import time
from typing import Any

from ctoops.sandbox.data import amount


def sample_tail_log(now: float | None = None) -> bytes:
    """An hour of ``wrangler tail --format json`` output (4-space pretty objects) ending at the
    last whole 5-minute window before ``now``: steady traffic on both buckets (a request every
    2 s on each), a small 429 burst on realtime_token 20 minutes in, a few 502s and one
    exception on the proxies, CORS preflights. The same pattern every time, shifted to now;
    it stays under the default runbook's thresholds (5% 429, 2% 5xx)."""
    end = int(now if now is not None else time.time()) // 300 * 300
    start = end - 3600
    events = []
    for offset in range(0, 3600, 2):
        second = start + offset
        burst = 1200 <= offset < 1500 and amount(offset, "rt", scale=40) == 0
        events.append(_tail_event(second * 1000 + 120, "POST", "/api/v1/realtime/token", 429 if burst else 200))
        path = "/api/v1/cto/openai/models" if offset % 4 else "/api/v1/cto/openai/usage?start=2026-01-01&end=2026-01-02"
        proxy_status: int | None = 502 if amount(offset, "px", scale=300) == 0 else 200
        outcome = "ok"
        if offset == 2400:
            proxy_status, outcome = None, "exception"
        events.append(_tail_event(second * 1000 + 640, "GET", path, proxy_status, outcome))
        if offset % 60 == 0:
            events.append(_tail_event(second * 1000 + 900, "OPTIONS", "/api/v1/realtime/token", 204))
    return "".join(json.dumps(e, indent=4) + "\n" for e in events).encode()


def _tail_event(ts_ms: int, method: str, path: str, status: int | None, outcome: str = "ok") -> dict[str, Any]:
    event: dict[str, Any] = {
        "request": {
            "url": "https://sandbox.opencto.invalid" + path,
            "method": method,
            "headers": {"authorization": "REDACTED"},
            "cf": {"colo": "FRA"},
        }
    }
    if status is not None:
        event["response"] = {"status": status}
    return {
        "outcome": outcome,
        "scriptName": "opencto-api-worker",
        "exceptions": [],
        "logs": [],
        "eventTimestamp": ts_ms,
        "event": event,
    }
