"""429/5xx trends from the worker's request logs (runbook step 5).

``analyze`` reads files, folders, gzip, stdin and ``StreamSource`` streams in wrangler-tail
or Logpush form and counts requests, 429s and 5xx per window and bucket. The parts:
``sources`` (bytes as UTF-8: gzip, BOMs, live pipes), ``layout`` (which log it is),
``framing`` (chunks of whole records), ``duck`` and ``records`` (the record rules, in SQL
for speed and in Python as the reference that counts and locates every skip),
``compute`` (buckets, 429, 5xx), ``verdict`` (thresholds), ``ledger`` (what was skipped).
``docs/trends-engine.md`` explains the engine and its measurements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ctoops.errors import BadInput
from ctoops.trends.compute import BUCKETS, Tally, choose
from ctoops.trends.ledger import Stats
from ctoops.trends.sources import Source, StreamSource, Walk, expand

if TYPE_CHECKING:
    from ctoops.trends.archives import Storage

__all__ = ["Source", "Stats", "StreamSource", "Trend", "analyze"]


@dataclass
class Trend:
    """The counts (``rows``: see ``Tally.rows``), what was skipped (``stats``), the tally
    itself, ``interrupted`` (a live source ended with Ctrl-C or SIGTERM: the rows cover what
    arrived) and ``notes`` (lines about what was passed over, for stderr)."""

    rows: list[dict[str, Any]]
    stats: Stats
    tally: Tally
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    def frame(self) -> Any:
        """The rows as a pandas DataFrame (``window_start`` as UTC timestamps), for notebooks."""
        from ctoops.trends.compute import frame

        return frame(self.rows)


def analyze(
    sources: list[Source],
    *,
    source_format: str = "auto",
    window: str = "5m",
    buckets: tuple[str, ...] | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    on_progress: Callable[[Trend], None] | None = None,
    storage: Storage | None = None,
) -> Trend:
    """Counts for every window and bucket in ``sources``.

    ``sources``: paths (files or folders), ``"-"`` (stdin), ``(name, bytes)``,
    ``StreamSource``, or ``s3://bucket/prefix/`` (Logpush archives, reached as ``storage``
    says: ``archives.Storage``; only objects named in the range are read).
    ``source_format``: ``auto`` (per source), ``tail`` or ``logpush``.
    ``window``: a ``WINDOWS`` key. ``since_ms``/``until_ms``: the range ``[since, until)`` in
    ms since the epoch. ``on_progress(snapshot)``: called about every second while a live
    source (a pipe, a terminal, a live ``StreamSource``) is read, with the counts so far.

    Ctrl-C or SIGTERM while a live source is read ends reading and returns what arrived
    (``interrupted``); anywhere else it propagates (SIGHUP always does). Raises ``BadInput`` (exit 2) for a bad
    option, a missing path, when nothing usable was read (naming what was found instead),
    and when records were read but none falls in the range."""
    width, chosen = choose(window, buckets)
    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        raise BadInput(f"--since ({_iso(since_ms)}) is not before --until ({_iso(until_ms)}): the range is empty")
    walk = Walk()
    items = expand(sources, walk, since_ms=since_ms, until_ms=until_ms, storage=storage)
    stats = Stats()
    for path, reason in walk.unreadable:
        stats.unreadable.append((path, reason))
    tally = Tally(width, chosen, since_ms, until_ms)

    def progress() -> None:
        if on_progress is not None:
            on_progress(Trend(tally.rows(), stats, tally))

    from ctoops.trends.pipeline import Run

    interrupted = Run(items, source_format, tally, stats, progress).go()
    trend = Trend(tally.rows(), stats, tally, interrupted, _walk_notes(walk))
    _require_data(trend, sources, since_ms, until_ms)
    return trend


def _walk_notes(walk: Walk) -> list[str]:
    notes = []
    if walk.hidden:
        notes.append(f"passed over {walk.hidden} hidden entr{'y' if walk.hidden == 1 else 'ies'} in folders")
    if walk.special:
        notes.append(f"passed over {len(walk.special)} folder entries that are not files (first: {walk.special[0]})")
    return notes


def _require_data(trend: Trend, sources: list[Source], since_ms: int | None, until_ms: int | None) -> None:
    """No data is not zero: exit 2 saying why when nothing in the range was counted."""
    tally, stats = trend.tally, trend.stats
    if tally.events and not tally.counts:
        paths = "; ".join(
            f"{name}: {verb} {' or '.join(paths)}" for name, (verb, paths) in BUCKETS.items() if name in tally.buckets
        )
        raise BadInput(f"none of the {tally.events} request events read is in the buckets ({paths})")
    if tally.events:
        return
    if tally.outside:
        assert tally.first_ts is not None and tally.last_ts is not None
        wanted = f"from {_iso(since_ms) if since_ms else 'the start'} to {_iso(until_ms) if until_ms else 'the end'}"
        raise BadInput(
            f"no request event {wanted}: the {tally.outside} request events read run from "
            f"{_iso(tally.first_ts)} to {_iso(tally.last_ts)}"
        )
    if trend.interrupted and not stats.records and not stats.malformed:
        raise BadInput("interrupted before any log record arrived: nothing to count")
    where = ", ".join(s if isinstance(s, str) else getattr(s, "name", None) or s[0] for s in sources)  # type: ignore[index]
    if stats.other_logs and not stats.records:
        raise BadInput(f"{stats.other_logs[0][0]}: {stats.other_logs[0][1]}")
    if tally.non_fetch or tally.notices:
        raise BadInput(f"no request event in {where}: {tally.non_fetch} other events (scheduled, alarm, ...) only")
    found = []
    if stats.malformed:
        found.append(f"{stats.malformed} skipped (first at {stats.locations[0]})")
    if stats.unreadable:
        found.append(f"{len(stats.unreadable)} unreadable ({stats.unreadable[0][0]}: {stats.unreadable[0][1]})")
    detail = f" ({'; '.join(found)})" if found else ""
    raise BadInput(f"no usable log record in {where}{detail}: expected wrangler tail JSON or Logpush NDJSON")


def _iso(ms: int) -> str:
    from ctoops.dates import iso_ms

    return iso_ms(ms / 1000)
