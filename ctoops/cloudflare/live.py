"""``errors trend --source live``: the tail's events counted as they arrive, until Ctrl-C.

The tail runs in a thread (:class:`~ctoops.cloudflare.tail.TailStream`); this thread takes what
arrived every ``tick`` seconds, writes it as ``wrangler tail --format json | jq -c`` lines and
hands them to the trends readers (``readers.detect``/``readers.parse``: the same parser, the
same malformed-record counting as a tail file), then to ``Tally``. Cloudflare's sampling
notices (``overload``/``overload-stop``) flag windows ``sampled`` there; the tail's
disconnections flag the windows they touch ``sampled`` too, with ``gap`` set, and are listed,
so a gap is never read as "no errors".
"""

from __future__ import annotations

import json
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
        from ctoops.trends.readers import Stats

        self.width = WINDOWS[window]
        self.tally = Tally(self.width, tuple(buckets or BUCKETS))
        self.stats = Stats()
        self.pending: list[str] = []
        self.lock = threading.Lock()
        self.line = 1
        self.sampling = False

    def put(self, message: str) -> None:
        with self.lock:
            self.pending.append(message)

    def drain(self) -> int:
        """Count what arrived; returns how many messages."""
        from ctoops.trends import readers

        with self.lock:
            batch, self.pending = self.pending, []
        if not batch:
            return 0
        lines = []
        for message in batch:
            try:
                lines.append(json.dumps(json.loads(message), separators=(",", ":")))
            except ValueError:
                lines.append(message.replace("\n", " "))  # the reader counts it as malformed, with its line
        chunk = ("\n".join(lines) + "\n").encode()
        layout = readers.detect(chunk, "tail") or readers.Layout("tail", False, dict(readers.TAIL_KEYS))
        before = len(self.tally.notices)
        self.tally.add(readers.parse(layout, memoryview(chunk), "cloudflare tail", self.line, self.stats))
        self.line += len(lines)
        for _, kind in self.tally.notices[before:]:
            self.sampling = kind == "overload"
        return len(batch)


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
    from ctoops.cloudflare.target import make_target
    from ctoops.trends import Trend

    counter = LiveCounter(window, buckets)
    if stream is None:
        target = make_target(app)
        stream = TailStream(TailApi(target), notify=app.notify)
        app.notify(f"live tail of the script {target.script()} (Ctrl-C for the final counts)")
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
