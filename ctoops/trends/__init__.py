"""429/5xx trends from the worker's request logs (runbook step 5).

``readers`` turns files, folders, gzip and stdin in wrangler-tail or Logpush form into
record tables chunk by chunk; ``compute`` reduces each chunk to counts per window and
bucket. ``analyze`` runs the two over a set of sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ctoops.errors import BadInput
from ctoops.trends.compute import WINDOWS, Tally
from ctoops.trends.readers import Source, Stats, _name, expand, read

if TYPE_CHECKING:
    from ctoops.trends.archives import Storage


@dataclass
class Trend:
    rows: list[dict[str, Any]]
    stats: Stats
    tally: Tally
    interrupted: bool = False

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
    storage: Storage | None = None,
) -> Trend:
    """Counts for every window and bucket in ``sources``. Exit 2 when nothing usable was read.
    ``storage`` says how to reach ``s3://`` sources (``archives.Storage``)."""
    from ctoops.trends.compute import BUCKETS

    if window not in WINDOWS:
        raise BadInput(f"unknown window {window!r} (windows: {', '.join(WINDOWS)})")
    chosen = tuple(buckets or BUCKETS)
    unknown = [b for b in chosen if b not in BUCKETS]
    if unknown:
        raise BadInput(f"unknown bucket {unknown[0]!r} (buckets: {', '.join(BUCKETS)})")
    files = expand(sources, since_ms=since_ms, until_ms=until_ms, storage=storage)
    stats = Stats()
    tally = Tally(WINDOWS[window], chosen, since_ms, until_ms)
    interrupted = False
    # counting chunk N (Arrow kernels, no GIL) overlaps with parsing chunk N+1
    from concurrent.futures import Future, ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ctoops-tally") as counter:
        pending: Future[None] | None = None
        try:
            for table in read(files, source_format, stats):
                if pending is not None:
                    pending.result()
                pending = counter.submit(tally.add, table)
        except KeyboardInterrupt:  # a live pipe stopped with Ctrl-C: report what arrived
            interrupted = True
        if pending is not None:
            pending.result()
    if tally.usable == 0:
        where = ", ".join(_name(s) for s in sources)
        bad = f"; {stats.malformed} malformed (first at {stats.locations[0]})" if stats.malformed else ""
        raise BadInput(f"no usable log record in {where}{bad}: expected wrangler tail JSON or Logpush NDJSON")
    return Trend(tally.rows(), stats, tally, interrupted)
