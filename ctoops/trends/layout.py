"""Which log a source holds, read from its first records (``worker-logs.md`` §1-3).

* ``tail``: ``wrangler tail --format json``: pretty-printed objects back to back (4- or
  2-space indent, LF or CRLF), or its ``jq -c`` one-per-line form;
* ``logpush``: Logpush ``workers_trace_events`` NDJSON, key case as found.

Detection does not hinge on the first line: stray text lines (older wrangler printed
banners into its JSON output) are passed over, and the first records decide. Keys are
spelled as the first record that has each one spells it (Logpush's output options change
case), so the readers look them up exactly. Inputs that are another log are named, with
what is needed instead: the zone ``http_requests`` dataset, Workers Logs events, and
wrangler's text output (``--format pretty``, its default on a terminal).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

HEAD = 256 << 10  # bytes read to decide (more for a live source, until a record is whole)
SAMPLE = 20  # records looked at for key spellings

TAIL_KEYS = {
    "ts": "eventTimestamp",
    "outcome": "outcome",
    "event": "event",
    "request": "request",
    "url": "url",
    "method": "method",
    "response": "response",
    "status": "status",
    "type": "type",
}
LOGPUSH_KEYS = {
    "ts": "EventTimestampMs",
    "outcome": "Outcome",
    "event": "Event",
    "request": "Request",
    "url": "URL",
    "method": "Method",
    "response": "Response",
    "status": "Status",
    "type": "EventType",
}
# where each key sits: top level, in the event, in the request, in the response
PLACES = {
    "ts": (),
    "outcome": (),
    "event": (),
    "request": ("event",),
    "response": ("event",),
    "url": ("event", "request"),
    "method": ("event", "request"),
    "status": ("event", "response"),
}

HTTP_REQUESTS = {"edgestarttimestamp", "clientrequesturi", "clientrequestpath", "edgeresponsestatus"}
NEEDED = (
    "errors trend reads the worker's own logs: `wrangler tail --format json` output, or Logpush's "
    "workers_trace_events dataset (an account Logpush job with dataset workers_trace_events, and "
    "logpush = true in the worker's wrangler config)"
)
# wrangler's --format pretty lines (workers-sdk packages/wrangler/src/tail/printing.ts)
TEXT_LINE = re.compile(
    r"(?:[A-Z]+ \S+|\[missing request\]|Unknown Event) - [A-Z][A-Za-z ]+ @ .+"
    r"|(?:\"[^\"]*\"|Alarm|Email from:\S* to:\S* size:\S*) @ .+ - [A-Z][A-Za-z ]+"
)


@dataclass(frozen=True)
class Layout:
    """How one source is shaped.

    ``kind``: ``"tail"`` or ``"logpush"``; ``pretty``: multi-line records (wrangler's own
    output) rather than one per line; ``keys``: canonical name -> the spelling in this source
    (see ``TAIL_KEYS``/``LOGPUSH_KEYS`` for the names)."""

    kind: str
    pretty: bool
    keys: dict[str, str]

    def __hash__(self) -> int:
        return hash((self.kind, self.pretty, tuple(sorted(self.keys.items()))))

    @property
    def label(self) -> str:
        return ("wrangler tail" if self.kind == "tail" else "Logpush workers_trace_events") + (
            " (pretty)" if self.pretty else ""
        )


class OtherLog(Exception):
    """The source is some other log, named in the message with what errors trend needs."""


def records(head: bytes) -> tuple[list[dict[str, Any]], list[str], bool]:
    """The whole JSON objects at the start of ``head``, the text lines passed over, and
    whether the records are pretty-printed (multi-line)."""
    found: list[dict[str, Any]] = []
    text: list[str] = []
    pretty = False
    lines = head.decode("utf-8", "replace").split("\n")
    i = 0
    while i < len(lines) - 1 and len(found) < SAMPLE:  # the last piece may be cut short
        line = lines[i].rstrip("\r")
        if line == "{":
            end = next((j for j in range(i + 1, len(lines) - 1) if lines[j].rstrip("\r") == "}"), None)
            if end is None:
                break
            piece, i = "\n".join(lines[i : end + 1]), end + 1
            pretty = True
        elif line.startswith("{"):
            piece, i = line, i + 1
        else:
            if line.strip():
                text.append(line)
            i += 1
            continue
        try:
            obj = json.loads(piece)
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict):
            found.append(obj)
    return found, text, pretty


def detect(head: bytes, forced: str, final: bool) -> Layout | None:
    """The layout of a source from its first bytes; None while undecided (more may come).

    Raises ``OtherLog`` when the head is recognisably another log."""
    found, text, pretty = records(head)
    if not found:
        if any(TEXT_LINE.fullmatch(line.strip()) for line in text):
            raise OtherLog(
                "this is wrangler tail's text output (--format pretty, its default on a terminal): "
                "run `wrangler tail --format json` and pipe or save that"
            )
        if final or len(head) >= HEAD:  # nothing recognisable: read it anyway, counting what is not a record
            kind = forced if forced != "auto" else "tail"
            return Layout(kind, pretty, dict(LOGPUSH_KEYS if kind == "logpush" else TAIL_KEYS))
        return None
    lowered = {k.lower() for obj in found for k in obj}
    if "eventtimestampms" not in lowered and "eventtimestamp" not in lowered:
        if lowered & HTTP_REQUESTS:
            raise OtherLog(
                "this is Cloudflare's zone http_requests Logpush dataset (EdgeStartTimestamp, "
                f"ClientRequestURI, EdgeResponseStatus), the edge's view of every host in the zone: {NEEDED}"
            )
        if {"$workers", "$metadata"} & lowered:
            raise OtherLog(f"these are Workers Logs (observability) events: {NEEDED}")
    if forced != "auto":
        kind = forced
    elif {"eventtimestampms", "eventtype"} & lowered:
        kind = "logpush"
    elif {"eventtimestamp", "event", "outcome"} & lowered:
        kind = "tail"
    else:
        names = sorted({k for obj in found for k in obj})
        more = ", ..." if len(names) > 6 else ""
        sample = f"with the keys {', '.join(names[:6])}{more}" if names else "all empty ({})"
        raise OtherLog(f"its JSON records ({sample}) are not worker request logs: {NEEDED}")
    base = LOGPUSH_KEYS if kind == "logpush" else TAIL_KEYS
    keys = {name: _spelling(found, PLACES[name], base, name) for name in PLACES}
    type_place = () if kind == "logpush" else ("event",)
    keys["type"] = _spelling(found, type_place, base, "type")
    return Layout(kind, pretty, keys)


def _spelling(found: list[dict[str, Any]], place: tuple[str, ...], base: dict[str, str], name: str) -> str:
    """The first spelling of key ``name`` at ``place`` among the records, any case."""
    wanted = base[name].lower()
    for obj in found:
        node: Any = obj
        for step in place:
            node = _lookup(node, base[step])
        if isinstance(node, dict):
            for key in node:
                if key.lower() == wanted:
                    return str(key)
    return base[name]


def _lookup(node: Any, name: str) -> Any:
    if not isinstance(node, dict):
        return None
    lowered = name.lower()
    for key, value in node.items():
        if key.lower() == lowered:
            return value
    return None
