"""Logpush objects for the archive tests, laid out as a job with ``{DATE}`` in its path
writes them (cloudflare-live-sources.md §4.1, worker-logs.md §2.4): daily ``YYYYMMDD/``
folders of ``<start>_<end>_<random>.log.gz`` objects holding ``workers_trace_events`` NDJSON.

What is in them is decided here, event by event, so a test can count what it expects
without ctoops: ``Event`` rows say which bucket each record belongs to and its status.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

HOST = "https://api.opencto.works"
# (method, path, the worker's rate-limit bucket or None); cycled through in this order
ROUTES = [
    ("POST", "/api/v1/realtime/token", "realtime_token"),
    ("POST", "/api/v1/realtime/token", "realtime_token"),
    ("GET", "/api/v1/cto/openai/models", "cto_openai_proxy"),
    ("GET", "/api/v1/cto/openai/usage?start=2026-11-20", "cto_openai_proxy"),
    ("GET", "/api/v1/health", None),
    ("OPTIONS", "/api/v1/realtime/token", None),
    ("SCHEDULED", "", None),
]


@dataclass
class Event:
    ts_ms: int
    bucket: str | None
    status: int | None  # None: an exception, no Response
    line: bytes


@dataclass
class Archive:
    """Object key -> bytes, and the events each object holds (the torn one excluded)."""

    objects: dict[str, bytes] = field(default_factory=dict)
    events: dict[str, list[Event]] = field(default_factory=dict)
    torn: str = ""  # the key of the object whose last record is cut off
    empty: str = ""  # the key of the empty object
    multi_member: list[str] = field(default_factory=list)  # keys gzipped as two members


def stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y%m%dT%H%M%SZ")


def event(i: int, ts_ms: int) -> Event:
    method, path, bucket = ROUTES[i % len(ROUTES)]
    if method == "SCHEDULED":
        record = {"Event": {"Cron": "*/5 * * * *"}, "EventTimestampMs": ts_ms, "EventType": "scheduled"}
        record |= {"Outcome": "ok", "ScriptName": "opencto-api", "Exceptions": [], "Logs": []}
        return Event(ts_ms, None, 200, json.dumps(record).encode())
    status: int | None = 429 if i % 11 == 0 else 502 if i % 13 == 0 else 200
    request = {"URL": HOST + path, "Method": method}
    body: dict[str, object] = {"RayID": f"{i:016x}", "Request": request}
    outcome = "ok"
    if i % 37 == 0:
        status, outcome = None, "exception"  # no Response at all
    else:
        body["Response"] = {"Status": status}
    record = {
        "CPUTimeMs": 1,
        "Event": body,
        "EventTimestampMs": ts_ms,
        "EventType": "fetch",
        "Exceptions": [],
        "Logs": [],
        "Outcome": outcome,
        "ScriptName": "opencto-api",
        "WallTimeMs": 12,
    }
    return Event(ts_ms, bucket, status, json.dumps(record, separators=(",", ":")).encode())


def build(
    prefix: str,
    start_ms: int,
    end_ms: int,
    *,
    every_ms: int = 15_000,
    batch_ms: int = 600_000,
    offset_ms: int = 0,
    torn: bool = True,
) -> Archive:
    """Events every ``every_ms`` in ``[start_ms, end_ms)``, cut into batches of ``batch_ms``
    whose boundaries sit ``offset_ms`` after the hour (so one can span midnight); each batch
    goes in the folder of its first event's day. Every 5th object is two gzip members; one
    object (the 3rd, unless ``torn`` is False) ends in a torn record; one empty object is added in the first folder."""
    archive = Archive()
    batch: list[Event] = []
    index = 0
    ts = start_ms

    def flush() -> None:
        if not batch:
            return
        first, last = batch[0].ts_ms, batch[-1].ts_ms
        digest = hashlib.sha1(f"{prefix}{first}".encode()).hexdigest()[:8]
        key = f"{prefix}{stamp(first)[:8]}/{stamp(first)}_{stamp(last)}_{digest}.log.gz"
        text = b"".join(e.line + b"\n" for e in batch)
        kept = list(batch)
        number = len(archive.objects)
        if torn and number == 2:  # a torn last record: the writer stopped mid-line
            text = text[: -len(batch[-1].line) // 2]
            kept = kept[:-1]
            archive.torn = key
        if number % 5 == 4:
            half = len(batch) // 2
            cut = sum(len(e.line) + 1 for e in batch[:half])
            data = gzip.compress(text[:cut], 1) + gzip.compress(text[cut:], 1)
            archive.multi_member.append(key)
        else:
            data = gzip.compress(text, 1)
        archive.objects[key] = data
        archive.events[key] = kept
        batch.clear()

    while ts < end_ms:
        if batch and (ts - offset_ms) // batch_ms != (batch[0].ts_ms - offset_ms) // batch_ms:
            flush()
        batch.append(event(index, ts))
        index += 1
        ts += every_ms
    flush()
    first_key = next(iter(archive.objects))
    folder = first_key.rsplit("/", 1)[0]
    archive.empty = f"{folder}/{stamp(start_ms)}_{stamp(start_ms)}_00000000.log.gz"
    archive.objects[archive.empty] = b""
    archive.events[archive.empty] = []
    return archive
