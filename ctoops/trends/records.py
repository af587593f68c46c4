"""The record rules, record by record: the reference every faster path must agree with.

A record becomes one *kind* (checked in this order; ``duck.py`` writes the same rules in
SQL, and a chunk it cannot read cleanly comes here, so skipped records are always counted
and located by this code):

* ``notice:overload`` / ``notice:overload-stop``: wrangler tail's sampling notices (an
  ``event`` with that ``type`` and no ``request``); they carry no timestamp;
* ``bad:no-timestamp``, ``bad:timestamp``: no timestamp, or one that is neither an epoch
  integer (seconds below 1e11, milliseconds below 1e14, microseconds below 1e17, else
  nanoseconds; a JSON number or a string of its digits) nor RFC 3339 text (``T``, ``t`` or a
  space; a fraction of any length, cut to milliseconds; ``Z`` or an offset);
* ``bad:status``: a response status that is not an integer (or a string of one);
* ``bad:no-url``: a request (or a Logpush ``fetch`` event) without a URL;
* ``other``: not a request (scheduled, alarm, queue, ...);
* ``outside``: a request outside ``[since, until)``;
* ``request``: a request to count.

Keys are looked up as the source spells them (``layout.py``), exactly as DuckDB does.
Records are grouped as ``Group`` tuples so that the rules for buckets, 429 and 5xx
(``compute.py``) run once per distinct value, whichever path read them.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ctoops.trends.layout import Layout
from ctoops.trends.ledger import MAX_RECORD, Stats

# kind, window_start (s, None unless a request), method, url (a bucket candidate, else None),
# status, outcome, weight (requests the group stands for), sample_interval (1.0 = exact),
# min and max timestamp (ms) of its records (None without one)
Group = tuple[str, int | None, str | None, str | None, int | None, str | None, int, float, int | None, int | None]

RFC3339 = (
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(\.[0-9]+)?"
    r"([Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_RFC3339 = re.compile(RFC3339)
_INT_TEXT = re.compile(r"-?[1-9][0-9]*|0")
INT64 = (-(2**63), 2**63 - 1)
NOTICES = ("overload", "overload-stop")
EPOCH_UNITS = ((10**11, 1000, 1), (10**14, 1, 1), (10**17, 1, 1000))  # (below, multiply, divide); else ns


@dataclass(frozen=True)
class Params:
    """What a reader needs besides the bytes: the window (ms), the range ``[since_ms,
    until_ms)`` (None: open), and the substrings a bucket's URL must hold (a necessary
    condition only: ``compute.bucket_of`` decides)."""

    window_ms: int
    since_ms: int | None
    until_ms: int | None
    candidates: tuple[str, ...]


def integer(value: Any) -> int | None:
    """``value`` as an int64 when it is a JSON integer or the canonical digits of one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if INT64[0] <= value <= INT64[1] else None
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        number = int(value)
        return number if INT64[0] <= number <= INT64[1] else None
    return None


def epoch_ms(value: Any) -> int | None:
    """Milliseconds since the epoch from an epoch integer (unit by magnitude) or RFC 3339
    text; None when it is neither, or not after 1970-01-01T00:00:00Z."""
    number = integer(value)
    if number is not None:
        if number <= 0:
            return None
        for below, multiply, divide in EPOCH_UNITS:
            if number < below:
                return number * multiply // divide
        return number // 1_000_000
    if not isinstance(value, str):
        return None
    m = _RFC3339.fullmatch(value)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    fraction, zone = m.group(7), m.group(8)
    if zone in ("Z", "z"):
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:  # 2026-02-30
        return None
    ms = int(moment.timestamp()) * 1000 + (int((fraction[1:] + "00")[:3]) if fraction else 0)
    return ms if ms > 0 else None


def kind_of(obj: dict[str, Any], layout: Layout, params: Params) -> tuple[str, int | None, Any, Any, Any, Any]:
    """(kind, ts_ms, method, url, status, outcome) of one record, by the rules above."""
    k = layout.keys
    event = _obj(obj.get(k["event"]))
    request = _obj(event.get(k["request"])) if event is not None else None
    response = _obj(event.get(k["response"])) if event is not None else None
    url = request.get(k["url"]) if request is not None else None
    etype = (obj if layout.kind == "logpush" else event or {}).get(k["type"])
    if layout.kind == "tail" and event is not None and request is None and etype in NOTICES:
        return f"notice:{etype}", None, None, None, None, None
    raw_ts = obj.get(k["ts"])
    if raw_ts is None:
        return "bad:no-timestamp", None, None, None, None, None
    ts = epoch_ms(raw_ts)
    if ts is None:
        return "bad:timestamp", None, None, None, None, None
    raw_status = response.get(k["status"]) if response is not None else None
    status = integer(raw_status)
    if raw_status is not None and status is None:
        return "bad:status", ts, None, None, None, None
    fetch = etype == "fetch"
    if url is None and (request is not None or (layout.kind == "logpush" and fetch)):
        return "bad:no-url", ts, None, None, None, None
    is_request = url is not None and (layout.kind == "tail" or etype is None or fetch)
    if not is_request:
        return "other", ts, None, None, None, None
    if (params.since_ms is not None and ts < params.since_ms) or (
        params.until_ms is not None and ts >= params.until_ms
    ):
        return "outside", ts, None, None, None, None
    method = request.get(k["method"]) if request is not None else None
    outcome = obj.get(k["outcome"])
    return "request", ts, _text(method), url, status, _text(outcome)


def _obj(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class Grouper:
    """Records in, ``Group`` tuples out (``groups()``), for one chunk of one source.

    ``max_ts`` is the latest timestamp seen so far in the source (ms, or None): a sampling
    notice has none of its own and is placed in the window of the latest record before it."""

    def __init__(self, params: Params, max_ts: int | None) -> None:
        self.params = params
        self.max_ts = max_ts
        self._groups: dict[tuple[Any, ...], list[Any]] = {}

    def add(
        self,
        kind: str,
        ts: int | None,
        method: str | None,
        url: Any,
        status: int | None,
        outcome: str | None,
        weight: int = 1,
        sample_interval: float = 1.0,
    ) -> None:
        p = self.params
        window = None
        if kind == "request":
            window = ts // p.window_ms * (p.window_ms // 1000) if ts is not None else None
            if not (isinstance(url, str) and any(c in url for c in p.candidates)):
                url = None
        elif kind.startswith("notice:"):
            window = self.max_ts // p.window_ms * (p.window_ms // 1000) if self.max_ts is not None else None
            method = url = status = outcome = None
        else:
            method = url = status = outcome = None
        key = (kind, window, method, url, status, outcome)
        entry = self._groups.get(key)
        if entry is None:
            self._groups[key] = [weight, sample_interval, ts, ts]
        else:
            entry[0] += weight
            entry[1] = max(entry[1], sample_interval)
            if ts is not None:
                entry[2] = ts if entry[2] is None else min(entry[2], ts)
                entry[3] = ts if entry[3] is None else max(entry[3], ts)
        if ts is not None and (self.max_ts is None or ts > self.max_ts):
            self.max_ts = ts

    def groups(self) -> list[Group]:
        return [(*key, *entry) for key, entry in self._groups.items()]


def pieces(chunk: bytes, first_line: int) -> Iterator[tuple[int, bytes | None]]:
    """(line, record bytes) for each record in ``chunk``; None for a torn record (it costs
    itself only).

    A record is a line starting with ``{`` (one per line), or the lines from a ``{`` line to
    the next ``}`` line (pretty-printed: every line inside is indented), LF or CRLF. An
    unindented line before that ``}`` means the record was torn: it is given up, and the
    line is read again as what it is. Any other line that is not blank is handed over as it
    is, so the reader can tell JSON that is not an object (``[1, 2]``, ``5``, ``null``) from
    a stray line of text."""
    # a UTF-8 byte-order mark starting a line is where another file begins (``cat a.json
    # b.json`` of files saved with one, or UTF-16 ones transcoded): it is not part of a record
    lines = [line.removeprefix(codecs.BOM_UTF8) for line in chunk.split(b"\n")]
    count = len(lines)
    i = 0
    while i < count:
        line = lines[i].rstrip(b"\r")
        if line == b"{":
            j = i + 1
            while j < count:
                inner = lines[j].rstrip(b"\r")
                if inner == b"}" or (inner[:1] not in (b" ", b"\t", b"") and inner.strip()):
                    break
                j += 1
            if j < count and lines[j].rstrip(b"\r") == b"}":
                yield first_line + i, b"\n".join(lines[i : j + 1])
                i = j + 1
            else:
                yield first_line + i, None
                i = j
        elif line.startswith(b"{"):
            yield first_line + i, line
            i += 1
        else:
            if line.strip():
                yield first_line + i, line
            i += 1


def read_chunk(
    chunk: bytes, layout: Layout, name: str, first_line: int, params: Params, max_ts: int | None
) -> tuple[list[Group], Stats, int | None]:
    """Every record of ``chunk`` by the rules: the groups, what was skipped (with
    ``name:line``), and the source's latest timestamp after it."""
    stats = Stats()
    grouper = Grouper(params, max_ts)
    for line, piece in pieces(chunk, first_line):
        where = f"{name}:{line}"
        if piece is None:
            stats.skip("not-json", where)
            continue
        if len(piece) > MAX_RECORD:
            stats.skip("oversized", where)
            continue
        try:
            text = piece.decode("utf-8")
        except UnicodeDecodeError:
            text = piece.decode("utf-8", "replace")
            stats.replaced += 1
            if len(stats.replaced_where) < 5:
                stats.replaced_where.append(where)
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            stats.skip("not-json", where)
            continue
        if isinstance(obj, float) and not math.isfinite(obj):
            # a line that is only NaN or Infinity: Python's parser takes it, JSON (RFC 8259)
            # has no such value. Inside a record they are kept, as DuckDB keeps them.
            stats.skip("not-json", where)
            continue
        if not isinstance(obj, dict):
            stats.skip("not-object", where)
            continue
        stats.records += 1
        kind, ts, method, url, status, outcome = kind_of(obj, layout, params)
        if kind.startswith("bad:"):
            stats.skip(kind[4:], where)
        grouper.add(kind, ts, method, url, status, outcome)
    return grouper.groups(), stats, grouper.max_ts
