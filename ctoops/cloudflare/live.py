"""``errors trend --source live``: the tail's events counted as they arrive, until Ctrl-C.

The tail runs in a thread (:class:`~ctoops.cloudflare.tail.TailStream`) and writes each event as
a ``wrangler tail --format json | jq -c`` line. When the trends engine reads live streams
itself (``trends.StreamSource`` with ``live=True`` and ``analyze(on_progress=...)``), those
lines go through a :class:`TailPipe` into ``trends.analyze`` like a live stdin, which handles
Ctrl-C and progress. Otherwise (an engine without streams), this thread takes what arrived
every ``tick`` seconds and hands it to the trends readers (``readers.detect``/``parse``: the
same parser, the same malformed-record counting as a tail file), then to ``Tally``. Cloudflare's sampling
notices (``overload``/``overload-stop``) flag windows ``sampled`` there; the tail's
disconnections flag the windows they touch ``sampled`` too, with ``gap`` set, and are listed,
so a gap is never read as "no errors".
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ctoops.cloudflare.span import iso
from ctoops.cloudflare.tail import Gap, TailApi, TailStream


@dataclass
class Snapshot:
    """What the live view draws: rows as ``Trend.rows`` (with ``gap``), and the tail's state."""

    rows: list[dict[str, Any]]
    state: str
    events: int
    gaps: list[Gap] = field(default_factory=list)
    sampling: bool = False  # Cloudflare says the tail is in sampling mode now


def mark_gaps(rows: list[dict[str, Any]], gaps: list[Gap], width_s: int) -> list[dict[str, Any]]:
    """Rows whose window overlaps a gap: ``gap`` true and ``sampled`` true (partly seen)."""
    for row in rows:
        start = row["window_start"] * 1000
        end = start + width_s * 1000
        hit = any(g.start_ms < end and (g.end_ms or g.start_ms) > start for g in gaps)
        row["gap"] = hit
        row["sampled"] = bool(row["sampled"]) or hit
    return rows


def unseen_windows(rows: list[dict[str, Any]], gaps: list[Gap], width_s: int) -> list[int]:
    """Windows (unix s) a gap touched in which no request at all was counted: unknown, not zero."""
    counted = {r["window_start"] for r in rows}
    out: set[int] = set()
    for g in gaps:
        end = g.end_ms if g.end_ms is not None else g.start_ms
        for w in range(g.start_ms // 1000 // width_s * width_s, end // 1000 + 1, width_s):
            if w not in counted and w * 1000 < end:
                out.add(w)
    return sorted(out)


class LiveCounter:
    """Messages in, counts out: the reader side of a live tail."""

    def __init__(self, window: str, buckets: tuple[str, ...] | None) -> None:
        from ctoops.trends.compute import BUCKETS, WINDOWS, Tally

        self.width = WINDOWS[window]
        self.tally = Tally(self.width, tuple(buckets or BUCKETS))
        self.stats: Any = _new_stats()
        self.pending: list[str] = []
        self.lock = threading.Lock()
        self.line = 1
        self.sampling = False

    def put(self, message: str) -> None:
        with self.lock:
            self.pending.append(message)

    def drain(self) -> int:
        """Count what arrived; returns how many messages."""
        from ctoops.trends import readers  # type: ignore[attr-defined]  # the pre-DuckDB engine only: unreached now

        with self.lock:
            batch, self.pending = self.pending, []
        if not batch:
            return 0
        lines = [line_of(message) for message in batch]  # a torn one stays, to be counted as malformed
        chunk = b"".join(lines)
        layout = readers.detect(chunk, "tail") or readers.Layout("tail", False, dict(readers.TAIL_KEYS))
        before = len(self.tally.notices)
        self.tally.add(readers.parse(layout, memoryview(chunk), "cloudflare tail", self.line, self.stats))
        self.line += len(lines)
        for _, kind in self.tally.notices[before:]:
            self.sampling = kind == "overload"
        return len(batch)


class TailPipe(io.RawIOBase):
    """The tail's lines as a binary stream: ``read`` blocks until some arrived, ``b""`` once
    :meth:`finish` was called and everything was read."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._done = False
        self._ready = threading.Condition()

    def readable(self) -> bool:
        return True

    def feed(self, data: bytes) -> None:
        with self._ready:
            self._buffer += data
            self._ready.notify_all()

    def finish(self) -> None:
        with self._ready:
            self._done = True
            self._ready.notify_all()

    def readinto(self, target: Any) -> int:
        with self._ready:
            while not self._buffer and not self._done:
                self._ready.wait(0.5)
            n = min(len(target), len(self._buffer))
            target[:n] = self._buffer[:n]
            del self._buffer[:n]
            return n


def line_of(message: str) -> bytes:
    """One message as one NDJSON line (re-serialised compact; an unparsable one kept on one
    line, for the reader to count as malformed)."""
    try:
        return (json.dumps(json.loads(message), separators=(",", ":")) + "\n").encode()
    except ValueError:
        return (message.replace("\r", " ").replace("\n", " ") + "\n").encode()


def watch(
    app: Any,
    *,
    window: str,
    buckets: tuple[str, ...] | None,
    on_progress: Callable[[Snapshot], None],
    stream: TailStream | None = None,
    tick: float = 0.5,
) -> tuple[Any, list[str]]:
    """Count a live tail until Ctrl-C (or the tail gives up); returns the Trend and the
    coverage lines to print. ``on_progress`` is called every ``tick`` seconds."""
    from ctoops import trends
    from ctoops.cloudflare.target import make_target
    from ctoops.trends import Trend

    if stream is None:
        target = make_target(app)
        stream = TailStream(TailApi(target), notify=app.notify)
        app.notify(f"live tail of the script {target.script()} (Ctrl-C for the final counts)")
    if hasattr(trends, "StreamSource"):
        return _through_engine(app, window, buckets, on_progress, stream)
    counter = LiveCounter(window, buckets)
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            stream.run(counter.put, stop)
        except BaseException as exc:  # handed to the main thread
            failure.append(exc)

    reader = threading.Thread(target=run, name="ctoops-tail", daemon=True)
    reader.start()
    interrupted = False
    try:
        while reader.is_alive():
            reader.join(tick)
            counter.drain()
            on_progress(snapshot(counter, stream))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stop.set()
        reader.join(30)
    counter.drain()
    if failure and not interrupted:
        if not counter.tally.counts:
            raise failure[0]
        app.notify(f"the tail stopped: {getattr(failure[0], 'message', failure[0])}")
    gaps = stream.gaps()
    rows = mark_gaps(counter.tally.rows(), gaps, counter.width)
    trend = Trend(rows, counter.stats, counter.tally, interrupted=interrupted)
    return trend, coverage_lines(rows, gaps, counter.width, stream)


def _through_engine(
    app: Any,
    window: str,
    buckets: tuple[str, ...] | None,
    on_progress: Callable[[Snapshot], None],
    stream: TailStream,
) -> tuple[Any, list[str]]:
    """The tail as a live source of the trends engine: its lines go into an OS pipe, which the
    engine reads as it reads ``<(wrangler tail ...)`` (``/dev/fd/N``, polled, so it hands over
    what arrived at once), or as a live ``StreamSource`` where there is no ``/dev/fd``."""
    from ctoops import trends
    from ctoops.trends.compute import WINDOWS

    width = WINDOWS[window]
    read_end, write_end = os.pipe()
    stop = threading.Event()
    failure: list[BaseException] = []

    def hand_over(message: str) -> None:
        os.write(write_end, line_of(message))

    def run() -> None:
        try:
            stream.run(hand_over, stop)
        except BrokenPipeError:
            pass  # the engine stopped reading (Ctrl-C): nothing more to hand over
        except BaseException as exc:  # handed to the main thread
            failure.append(exc)
        finally:
            os.close(write_end)  # end of file for the engine

    def progress(trend: Any) -> None:
        gaps = stream.gaps()
        rows = mark_gaps([dict(r) for r in trend.rows], gaps, width)
        events = int(getattr(trend.stats, "records", 0) or 0)
        on_progress(Snapshot(rows, stream.coverage.state, events, gaps))

    path = f"/dev/fd/{read_end}"
    source: Any = path
    if not os.path.exists(path):
        stream_source: Any = getattr(trends, "StreamSource")  # noqa: B009 - only engines that have it come here
        source = stream_source(
            "cloudflare tail", open=lambda: os.fdopen(os.dup(read_end), "rb", buffering=0), live=True
        )
    reader = threading.Thread(target=run, name="ctoops-tail", daemon=True)
    reader.start()
    analyze: Any = trends.analyze
    try:
        trend = analyze([source], source_format="tail", window=window, buckets=buckets, on_progress=progress)
    except Exception:
        if failure:
            raise failure[0] from None
        raise
    finally:
        stop.set()
        os.close(read_end)  # a writer blocked on a full pipe gets EPIPE and ends
        reader.join(30)
    if failure and not trend.interrupted:
        app.notify(f"the tail stopped: {getattr(failure[0], 'message', failure[0])}")
    gaps = stream.gaps()
    trend.rows = mark_gaps(trend.rows, gaps, width)
    return trend, coverage_lines(trend.rows, gaps, width, stream)


def snapshot(counter: LiveCounter, stream: TailStream) -> Snapshot:
    gaps = stream.gaps()
    rows = mark_gaps(counter.tally.rows(), gaps, counter.width)
    return Snapshot(rows, stream.coverage.state, counter.stats.records, gaps, counter.sampling)


def coverage_lines(rows: list[dict[str, Any]], gaps: list[Gap], width_s: int, stream: TailStream) -> list[str]:
    """What stderr says about the tail's coverage: each gap, the windows it left unknown."""
    lines = []
    for g in gaps:
        lines.append(
            f"tail disconnected from {iso(g.start_ms)} to {iso(g.end_ms or g.start_ms)} ({g.why}): the windows it "
            "touches are marked sampled/gap, their counts are partial"
        )
    unseen = unseen_windows(rows, gaps, width_s)
    if unseen:
        shown = ", ".join(iso(w * 1000) for w in unseen[:5]) + (" ..." if len(unseen) > 5 else "")
        lines.append(f"{len(unseen)} window(s) were not observed at all (unknown, not zero): {shown}")
    if stream.coverage.delete_failures:
        lines.append(
            f"could not delete tail(s) {'; '.join(stream.coverage.delete_failures)}: they expire by themselves"
        )
    return lines


def _new_stats() -> Any:
    """The trends engine's ``Stats`` (exported by ``ctoops.trends`` in every version of it)."""
    from ctoops import trends

    return getattr(trends, "Stats")()  # noqa: B009 - not in ``__all__`` in every version
