"""Reading the worker's request logs, streamed in chunks into one record schema.

Sources: files, folders (Logpush's ``YYYYMMDD/`` layout, walked in name order), gzip
(by its magic bytes, whatever the name), and ``-`` (stdin, read as events arrive).
Formats (``../shared/reference/worker-logs.md`` §1, §2), detected per source from its first
record unless forced:

* ``tail``: ``wrangler tail --format json``: pretty-printed objects back to back (4- or
  2-space indent), or its ``jq -c`` NDJSON form;
* ``logpush``: ``workers_trace_events`` NDJSON (``EventTimestampMs``, ``Event.Request.URL``/
  ``Method``, ``Event.Response.Status``, ``Outcome``, ``EventType``), key case as found.

Every chunk (a few MiB, cut at a record boundary) is parsed by Arrow's JSON reader with an
explicit schema of just the fields needed; a chunk Arrow refuses (a torn or malformed
record) is parsed again record by record in Python, skipping and counting the bad ones
with their line numbers. Memory stays bounded by the chunk size whatever the input size.

Each chunk becomes one Arrow table: ``ts_ms`` (int64), ``method``, ``url`` (strings),
``status`` (int64, null when there was no response), ``outcome``, ``notice`` (tail's
sampling notices: ``overload``/``overload-stop``), ``fetch`` (bool: a request event).
"""

from __future__ import annotations

import gzip
import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from ctoops.errors import BadInput

if TYPE_CHECKING:
    import pyarrow as pa

    from ctoops.trends.archives import Storage

CHUNK = 16 << 20  # bytes of input per parse (Arrow splits it in blocks across the cores)
BLOCK = 4 << 20
TS_NS = 10**14  # an epoch above this is nanoseconds; below 10**11, seconds


@dataclass
class Stats:
    """What the readers saw besides usable events."""

    records: int = 0
    malformed: int = 0
    locations: list[str] = field(default_factory=list)  # the first few bad records, file:line
    formats: dict[str, str] = field(default_factory=dict)  # source -> detected format

    def bad(self, where: str, count: int = 1) -> None:
        self.malformed += count
        if len(self.locations) < 5:
            self.locations.append(where)


# -- sources ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamSource:
    """A source that is a byte stream rather than a path: an object in a bucket, say.

    ``name`` is what messages call it (``name:line`` for a malformed record); ``open()``
    returns its bytes from the start, read once and closed by the readers (gzip is detected
    by its magic bytes, whatever the name); ``size`` is its length in bytes when known."""

    name: str
    open: Callable[[], BinaryIO]
    size: int | None = None


Source = str | tuple[str, bytes] | StreamSource  # a path, "-", (a name, the bytes themselves), a stream


def expand(
    sources: list[Source],
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    storage: Storage | None = None,
) -> list[Source]:
    """Files to read, in order; folders walked; ``s3://bucket/prefix/`` listed (objects named
    in ``[since_ms, until_ms)``, see ``archives``). A missing path is exit 2 before any reading."""
    if not sources:
        raise BadInput("no log source: give files, folders, or - for stdin")
    files: list[Source] = []
    for source in sources:
        if isinstance(source, (tuple, StreamSource)):
            files.append(source)
            continue
        if source == "-":
            files.append("-")
            continue
        if source.startswith("s3://"):
            from ctoops.trends.archives import sources as archived

            files += archived(source, since_ms=since_ms, until_ms=until_ms, storage=storage)
            continue
        path = Path(source)
        if path.is_dir():
            found = sorted(
                str(p) for p in path.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.parts)
            )
            if not found:
                raise BadInput(f"folder {source} holds no log files")
            files += found
        elif path.is_file():
            files.append(str(path))
        elif path.exists():
            raise BadInput(f"{source} is not a file or a folder")
        else:
            raise BadInput(f"no such file or folder: {source}")
    return files


def _name(source: Source) -> str:
    if isinstance(source, StreamSource):
        return source.name
    return source[0] if isinstance(source, tuple) else source


@contextmanager
def _open(source: Source) -> Iterator[IO[bytes]]:
    """The source's bytes, gunzipped when they start with gzip's magic; closed after (not stdin)."""
    if isinstance(source, StreamSource):
        raw: IO[bytes] = source.open()
        if not hasattr(raw, "peek"):
            raw = io.BufferedReader(raw)  # type: ignore[type-var]
    elif isinstance(source, tuple):
        raw = io.BufferedReader(io.BytesIO(source[1]))
    elif source == "-":
        raw = sys.stdin.buffer
    else:
        raw = open(source, "rb")  # noqa: SIM115 - closed below
    try:
        peek = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        if peek == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield unzipped  # type: ignore[misc]
        else:
            yield raw
    finally:
        if source != "-":
            raw.close()


def _read(stream: IO[bytes]) -> bytes:
    """As much as is there, up to a chunk (a pipe returns what has arrived)."""
    reader = getattr(stream, "read1", None)
    return reader(CHUNK) if reader else stream.read(CHUNK)


# -- format detection ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """How one source is shaped: the format, pretty or one record per line, key spellings."""

    kind: str  # "tail" | "logpush"
    pretty: bool
    keys: dict[str, str]  # canonical -> as spelled in this source
    ts_text: bool = False  # timestamps as RFC 3339 text (Logpush's timestamp_format)


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


def _first_record(data: bytes, pretty: bool) -> Any:
    text = data.decode("utf-8", "replace").lstrip()
    try:
        if pretty:
            return json.JSONDecoder().raw_decode(text)[0]
        return json.loads(text.split("\n", 1)[0])
    except ValueError:
        return None


def _spelling(obj: Any, canonical: str) -> str:
    if isinstance(obj, dict):
        for key in obj:
            if key.lower() == canonical.lower():
                return key
    return canonical


def detect(head: bytes, forced: str) -> Layout | None:
    """The layout of a source from its first bytes; None when nothing there parses."""
    stripped = head.lstrip()
    first_line = stripped.split(b"\n", 1)[0].strip()
    pretty = first_line == b"{"
    record = _first_record(stripped, pretty)
    if not isinstance(record, dict):
        return None
    lowered = {k.lower() for k in record}
    kind = forced if forced != "auto" else ("logpush" if {"eventtimestampms", "eventtype"} & lowered else "tail")
    base = LOGPUSH_KEYS if kind == "logpush" else TAIL_KEYS
    event = record.get(_spelling(record, base["event"]))
    request = event.get(_spelling(event, base["request"])) if isinstance(event, dict) else None
    response = event.get(_spelling(event, base["response"])) if isinstance(event, dict) else None
    keys = {
        "ts": _spelling(record, base["ts"]),
        "outcome": _spelling(record, base["outcome"]),
        "event": _spelling(record, base["event"]),
        "request": _spelling(event, base["request"]),
        "url": _spelling(request, base["url"]),
        "method": _spelling(request, base["method"]),
        "response": _spelling(event, base["response"]),
        "status": _spelling(response, base["status"]),
        "type": _spelling(record if kind == "logpush" else event, base["type"]),
    }
    ts_text = isinstance(record.get(keys["ts"]), str)
    return Layout(kind, pretty, keys, ts_text)


# -- chunks -------------------------------------------------------------------------------------


def chunks(source: Source, forced: str, stats: Stats) -> Iterator[tuple[Layout, memoryview, int]]:
    """(layout, chunk, first line number) for one source; chunks end on record boundaries."""
    name = _name(source)
    with _open(source) as stream:
        buffer = b""
        layout: Layout | None = None
        line = 1
        eof = False
        while not eof:
            try:
                data = _read(stream)
            except (OSError, EOFError) as exc:  # a truncated gzip member, a disk error
                stats.bad(f"{name}: unreadable after line {line} ({exc})")
                data = b""
            eof = not data
            buffer += data
            if layout is None:
                if not buffer.strip():
                    if eof:
                        return
                    continue
                layout = detect(buffer, forced)
                if layout is None and not eof and len(buffer) < CHUNK:
                    continue  # the first record is not whole yet
                if layout is None:  # nothing at the head parses: read record by record
                    pretty = buffer.lstrip().startswith(b"{\n")
                    layout = Layout(
                        forced if forced != "auto" else "tail",
                        pretty,
                        dict(LOGPUSH_KEYS if forced == "logpush" else TAIL_KEYS),
                    )
                stats.formats[name] = layout.kind + (" (pretty)" if layout.pretty else "")
            cut = len(buffer) if eof else _boundary(buffer, layout.pretty)
            if cut:
                if cut > 65536 or buffer[:cut].strip():
                    yield layout, memoryview(buffer)[:cut], line  # no copy of the chunk
                line += buffer.count(b"\n", 0, cut)
                buffer = buffer[cut:]


def _boundary(buffer: bytes, pretty: bool) -> int:
    """The end of the last whole record in ``buffer`` (0: none yet)."""
    if pretty:
        end = buffer.rfind(b"\n}\n")
        return end + 3 if end >= 0 else 0
    end = buffer.rfind(b"\n")
    return end + 1 if end >= 0 else 0


# -- parsing ------------------------------------------------------------------------------------


def schema(layout: Layout) -> pa.Schema:
    import pyarrow as pa

    k = layout.keys
    request = pa.struct([(k["url"], pa.string()), (k["method"], pa.string())])
    response = pa.struct([(k["status"], pa.int64())])
    ts = pa.string() if layout.ts_text else pa.int64()
    if layout.kind == "tail":
        event = pa.struct([(k["request"], request), (k["response"], response), (k["type"], pa.string())])
        return pa.schema([(k["ts"], ts), (k["outcome"], pa.string()), (k["event"], event)])
    event = pa.struct([(k["request"], request), (k["response"], response)])
    return pa.schema([(k["ts"], ts), (k["outcome"], pa.string()), (k["type"], pa.string()), (k["event"], event)])


def parse(layout: Layout, chunk: memoryview, source: str, line: int, stats: Stats) -> pa.Table:
    """One chunk as the record table; Arrow first, record by record when Arrow refuses it."""
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        table = pj.read_json(
            pa.BufferReader(pa.py_buffer(chunk)),
            read_options=pj.ReadOptions(block_size=BLOCK),
            parse_options=pj.ParseOptions(
                explicit_schema=schema(layout),
                unexpected_field_behavior="ignore",
                newlines_in_values=layout.pretty,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _records(layout, bytes(chunk), source, line, stats)
    stats.records += table.num_rows
    return _normalise(layout, table)


def _normalise(layout: Layout, table: pa.Table) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    from ctoops.trends._arrow import boolean, string

    k = layout.keys
    event = table[k["event"]]
    request = pc.struct_field(event, [k["request"]])
    url = pc.struct_field(request, [k["url"]])
    method = pc.struct_field(request, [k["method"]])
    status = pc.struct_field(event, [k["response"], k["status"]])
    if layout.kind == "tail":
        notice = pc.struct_field(event, [k["type"]])
        fetch = pc.is_valid(url)
    else:
        notice = pa.nulls(table.num_rows, pa.string())
        kind = table[k["type"]]
        fetch = pc.and_(pc.is_valid(url), pc.or_kleene(pc.is_null(kind), pc.equal(kind, string("fetch"))))
        fetch = pc.fill_null(fetch, boolean(False))
    return pa.table(
        {
            "ts_ms": _ms(table[k["ts"]]),
            "method": method,
            "url": url,
            "status": status,
            "outcome": table[k["outcome"]],
            "notice": notice,
            "fetch": fetch,
        }
    )


def _ms(ts: Any) -> Any:
    """Milliseconds from ms, ns, s or RFC 3339 text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(ts.type):
        parsed = pc.cast(
            pc.cast(pc.strptime(ts, format="%Y-%m-%dT%H:%M:%S%z", unit="ms", error_is_null=True), pa.timestamp("ms")),
            pa.int64(),
        )
        return parsed
    from ctoops.trends._arrow import int64

    ts = pc.cast(ts, pa.int64())
    low, high = pc.min_max(ts).values()
    if low.as_py() is None or (low.as_py() >= 10**11 and high.as_py() <= TS_NS):
        return ts  # milliseconds already (the usual case): no per-row work
    nanos = pc.greater(ts, int64(TS_NS))
    seconds = pc.less(ts, int64(10**11))
    return pc.if_else(nanos, pc.divide(ts, int64(1_000_000)), pc.if_else(seconds, pc.multiply(ts, int64(1000)), ts))


def _records(layout: Layout, chunk: bytes, source: str, line: int, stats: Stats) -> pa.Table:
    """The slow path: every record on its own, the bad ones skipped and counted."""
    import pyarrow as pa

    rows: dict[str, list[Any]] = {n: [] for n in ("ts_ms", "method", "url", "status", "outcome", "notice", "fetch")}
    for start_line, text in _pieces(chunk, layout.pretty, line):
        try:
            obj = json.loads(text)
        except ValueError:
            stats.bad(f"{source}:{start_line}")
            continue
        if not isinstance(obj, dict):
            stats.bad(f"{source}:{start_line}")
            continue
        stats.records += 1
        for name, value in zip(rows, _fields(layout, obj), strict=True):
            rows[name].append(value)
    types = {
        "ts_ms": pa.int64(),
        "method": pa.string(),
        "url": pa.string(),
        "status": pa.int64(),
        "outcome": pa.string(),
        "notice": pa.string(),
        "fetch": pa.bool_(),
    }
    return pa.table({n: pa.array(v, type=types[n]) for n, v in rows.items()})


def _pieces(chunk: bytes, pretty: bool, line: int) -> Iterator[tuple[int, bytes]]:
    if not pretty:
        for offset, text in enumerate(chunk.split(b"\n")):
            if text.strip():
                yield line + offset, text
        return
    start = 0
    while start < len(chunk):
        end = chunk.find(b"\n}\n", start)
        end = len(chunk) if end < 0 else end + 3
        text = chunk[start:end]
        if text.strip():
            first = start + len(text) - len(text.lstrip())
            yield line + chunk.count(b"\n", 0, first), text
        start = end


def _get(obj: Any, name: str) -> Any:
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if key.lower() == lowered:
            return value
    return None


def _fields(layout: Layout, obj: dict[str, Any]) -> tuple[Any, ...]:
    base = TAIL_KEYS if layout.kind == "tail" else LOGPUSH_KEYS
    event = _get(obj, base["event"])
    request = _get(event, base["request"])
    url = _get(request, base["url"])
    method = _get(request, base["method"])
    status = _get(_get(event, base["response"]), base["status"])
    if not isinstance(status, int) or isinstance(status, bool):
        status = None
    ts = _timestamp(_get(obj, base["ts"]))
    if layout.kind == "tail":
        notice = _get(event, "type")
        fetch = isinstance(url, str)
    else:
        notice = None
        kind = _get(obj, base["type"])
        fetch = isinstance(url, str) and kind in (None, "fetch")
    outcome = _get(obj, base["outcome"])
    return (
        ts,
        method if isinstance(method, str) else None,
        url if isinstance(url, str) else None,
        status,
        outcome if isinstance(outcome, str) else None,
        notice if isinstance(notice, str) else None,
        fetch,
    )


def _timestamp(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        value = int(value)
        return value // 1_000_000 if value > TS_NS else value * 1000 if value < 10**11 else value
    if isinstance(value, str):
        from datetime import datetime

        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return None
    return None


def read(sources: list[Source], forced: str, stats: Stats) -> Iterator[pa.Table]:
    """Record tables, chunk by chunk, source after source.

    A reader thread cuts the next chunks (I/O, gunzip, line counts) while this thread has
    Arrow parse the current one (Arrow lets go of the GIL); at most two chunks wait, so
    memory stays bounded."""
    import queue
    import threading

    ready: queue.Queue[Any] = queue.Queue(maxsize=2)
    done = object()

    def produce() -> None:
        try:
            for source in sources:
                for layout, chunk, line in chunks(source, forced, stats):
                    ready.put((layout, chunk, _name(source), line))
            ready.put(done)
        except BaseException as exc:  # handed to the consumer, which raises it
            ready.put(exc)

    threading.Thread(target=produce, name="ctoops-log-reader", daemon=True).start()
    while True:
        item = ready.get()
        if item is done:
            return
        if isinstance(item, BaseException):
            raise item
        layout, chunk, name, line = item
        yield parse(layout, chunk, name, line, stats)
