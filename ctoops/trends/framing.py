"""Cutting a stream into chunks of whole records, written to files the engine reads.

One buffer of ``CHUNK`` bytes is filled straight from the source (a live source hands over
what arrived once it has been quiet for ``QUIET`` seconds, or every ``QUIET`` seconds while
it keeps sending), cut after its last record boundary, and written to a temporary file; the
rest moves to the front. The boundary is the last newline for one record per line, or the
last ``}`` line (LF or CRLF) for pretty-printed records. Nothing is parsed here; lines are
counted once per chunk (``bytes.count``, about 10 ms per chunk), so every skipped record on
every path has its exact line.

Memory stays bounded whatever the input: a record longer than ``MAX_RECORD`` never fits
the buffer, so it is skipped (counted, with its line) and its bytes discarded up to the
next boundary; a chunk that may hold a record over half of ``MAX_RECORD`` is marked
``suspect`` so the record reader, which checks every length, reads it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ctoops.errors import BadInput
from ctoops.trends.layout import HEAD, Layout, OtherLog, detect
from ctoops.trends.ledger import MAX_RECORD, Stats
from ctoops.trends.sources import UNREADABLE, Item, Stopped, open_stream

CHUNK = 16 << 20  # bytes per chunk (the buffer: at least MAX_RECORD)
READ = 4 << 20  # bytes asked of the source at a time (straight into the buffer when undecoded)
QUIET = 0.25  # seconds without new bytes after which a live source's records are handed over
_TEXT = re.compile(rb"[^ \t\n\r\x0b\x0c]")  # not ASCII whitespace (what ``bytes.strip`` removes)


@dataclass
class Chunk:
    """A file of whole records: ``path``, their ``layout``, the line number of its first
    byte in the source, and whether a record in it may be over ``MAX_RECORD``."""

    item: Item
    path: str
    layout: Layout
    first_line: int
    size: int
    suspect: bool


@dataclass(frozen=True)
class Done:
    """The reader has read every item (the last message it puts)."""


@dataclass
class Note:
    """Something the reader saw that is not a chunk: skips (``stats``), a source that is
    another log (``other``), a read that failed (``unreadable``), or the end of a source."""

    item: Item
    stats: Stats = field(default_factory=Stats)
    other: str | None = None
    unreadable: str | None = None
    layout: Layout | None = None
    kind: str = "plain"
    end: bool = False


def has_text(data: bytearray, end: int) -> bool:
    """Whether ``data[:end]`` holds anything but ASCII whitespace. Stops at the first such
    byte and copies nothing (``data[:end].strip()`` copied a 16 MiB chunk twice)."""
    return _TEXT.search(data, 0, end) is not None


def boundary(data: bytearray, end: int, pretty: bool) -> int:
    """The end of the last whole record in ``data[:end]`` (0: none yet)."""
    if pretty:
        return max(
            (at + len(mark) for mark in (b"\n}\n", b"\n}\r\n") if (at := data.rfind(mark, 0, end)) >= 0), default=0
        )
    at = data.rfind(b"\n", 0, end)
    return at + 1 if at >= 0 else 0


def suspect(data: bytearray, end: int, pretty: bool) -> bool:
    """Whether ``data[:end]`` may hold a record longer than ``MAX_RECORD``: some window of
    ``MAX_RECORD // 2`` bytes (on a grid of that step) holds no record boundary. Any record
    over ``MAX_RECORD`` covers a whole such window, so none slips past; a false alarm only
    sends the chunk to the record reader."""
    step = MAX_RECORD // 2
    mark = b"\n}" if pretty else b"\n"
    return any(data.find(mark, start, min(start + step, end)) < 0 for start in range(0, end - step + 1, step))


def produce(
    items: list[Item], forced: str, folder: str, out: queue.Queue[Chunk | Note | Done], stop: threading.Event
) -> None:
    """Read ``items`` one after the other into chunk files in ``folder``, putting ``Chunk``
    and ``Note`` objects on ``out`` (a ``Note(end=True)`` after each item, and ``Done()``
    after the last, so the consumer never waits on a timeout to learn the reader finished).
    Runs in the reader thread; an unexpected error is put on ``out`` as the exception itself
    (and nothing after it). Once ``stop`` is set the consumer may have stopped reading, so
    ``Done()`` is then put only if the queue has room (the consumer also watches the thread)."""
    counter = 0
    buf = bytearray(CHUNK)
    for item in items:
        if stop.is_set():
            break
        try:
            counter = _one(item, forced, folder, out, stop, buf, counter)
        except Stopped:
            break
        except BaseException as exc:  # handed to the consumer, which raises it
            out.put(exc)  # type: ignore[arg-type]
            return
        out.put(Note(item, end=True))
    if not stop.is_set():
        out.put(Done())
        return
    with contextlib.suppress(queue.Full):
        out.put_nowait(Done())


def _one(
    item: Item,
    forced: str,
    folder: str,
    out: queue.Queue[Chunk | Note | Done],
    stop: threading.Event,
    buf: bytearray,
    counter: int,
) -> int:
    view = memoryview(buf)
    size = 0  # bytes in buf
    line = 1  # the line of buf[0] in the source
    layout: Layout | None = None
    skipping = False  # discarding an over-long record up to the next boundary
    try:
        stream_cm = open_stream(item, stop)
        stream = stream_cm.__enter__()
    except UNREADABLE as exc:  # also a gzip stream damaged in its first bytes (EOFError, zlib.error)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        out.put(Note(item, unreadable=reason))
        return counter

    def emit(cut: int) -> None:
        nonlocal counter, line, size
        assert layout is not None
        if has_text(buf, cut):
            counter += 1
            path = os.path.join(folder, f"chunk-{counter}")
            try:  # 0600: the logs' bytes, readable by their owner only
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
                    handle.write(view[:cut])
            except OSError as exc:  # a full or vanished scratch folder: the environment, not the logs
                raise BadInput(
                    f"cannot write the chunk files streams are read through in {os.path.dirname(folder)}: "
                    f"{exc.strerror or exc}; make room there, or set TMPDIR to a folder with room"
                ) from None
            out.put(Chunk(item, path, layout, line, cut, suspect(buf, cut, layout.pretty)))
        line += buf.count(b"\n", 0, cut)
        rest = bytes(view[cut:size])
        view[: len(rest)] = rest
        size = len(rest)

    try:
        eof = False
        while not eof:
            if stop.is_set():
                raise Stopped
            # fill: a file to the brim; a live source until it goes quiet with bytes in hand
            started = time.monotonic()
            while size < CHUNK:
                if item.live and size and (not stream.wait(QUIET) or time.monotonic() - started >= QUIET):
                    break
                try:
                    got = stream.readinto(view[size : min(CHUNK, size + READ)])
                except UNREADABLE as exc:
                    at = line + buf.count(b"\n", 0, size)
                    out.put(Note(item, unreadable=f"stopped after line {at}: {exc}"))
                    got = 0
                if not got:
                    eof = True
                    break
                size += got
            if layout is None:
                try:
                    layout = detect(bytes(view[: min(size, HEAD)]), forced, final=eof or size >= HEAD)
                except OtherLog as exc:
                    out.put(Note(item, other=str(exc)))
                    return counter
                if layout is None:
                    continue
                out.put(Note(item, layout=layout, kind=stream.kind))
            if skipping:
                cut = _first_boundary(buf, size, layout.pretty)
                line += buf.count(b"\n", 0, cut or size)
                rest = bytes(view[cut:size]) if cut else b""
                view[: len(rest)] = rest
                size = len(rest)
                skipping = not cut
                if skipping:
                    continue
            cut = size if eof else boundary(buf, size, layout.pretty)
            if cut:
                emit(cut)
            elif size >= CHUNK:  # one record fills the buffer: skip it, counted
                note = Note(item)
                note.stats.skip("oversized", f"{item.name}:{line}")
                out.put(note)
                skipping = True
    except Stopped:
        if not item.live or layout is None:
            raise
        # Ctrl-C on a live source: hand over the whole records; a record cut short is counted
        cut = boundary(buf, size, layout.pretty)
        if cut:
            emit(cut)
        if has_text(buf, size):
            note = Note(item)
            note.stats.skip("not-json", f"{item.name}:{line}")
            out.put(note)
    finally:
        stream_cm.__exit__(None, None, None)
    return counter


def _first_boundary(buf: bytearray, size: int, pretty: bool) -> int:
    if pretty:
        found = [at + len(mark) for mark in (b"\n}\n", b"\n}\r\n") if (at := buf.find(mark, 0, size)) >= 0]
        return min(found) if found else 0
    at = buf.find(b"\n", 0, size)
    return at + 1 if at >= 0 else 0


def drain(out: queue.Queue[Any]) -> None:
    """Empty ``out`` so a reader blocked on a full queue can finish."""
    try:
        while True:
            out.get_nowait()
    except queue.Empty:
        pass
