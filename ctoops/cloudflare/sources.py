"""The Cloudflare sources of ``errors trend``: choose, fetch, count.

``observability`` (Workers Logs, 7 days, per script), ``graphql`` (the zone's edge counts) and
``auto`` (observability, falling back to GraphQL only when Workers Logs is not on for the
script). Each returns a ``ctoops.trends.Trend`` counted by the file sources' rules, and the
lines to say on stderr (which source, what it could not count).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ctoops.cloudflare import span as spans
from ctoops.cloudflare.target import Target, make_target

SOURCES = ("observability", "graphql")


@dataclass
class Result:
    trend: Any  # ctoops.trends.Trend
    source: str
    notes: list[str] = field(default_factory=list)
    unattributed: int = 0


def paths_for(buckets: tuple[str, ...] | None) -> list[str]:
    """Every path the chosen route groups count (the filter sent to Cloudflare)."""
    from ctoops.trends.compute import BUCKETS

    chosen = buckets or tuple(BUCKETS)
    return sorted({p for b in chosen if b in BUCKETS for p in BUCKETS[b][1]})


def fetch(
    app: Any,
    source: str,
    *,
    since_ms: int | None,
    until_ms: int | None,
    window: str,
    buckets: tuple[str, ...] | None,
    target: Target | None = None,
    sleep: Any = None,
) -> Result:
    """Counts from ``source`` (``auto``, ``observability`` or ``graphql``) over the range."""
    from ctoops.cloudflare.counts import count, table
    from ctoops.cloudflare.graphql import BUDGET, Budget, GraphQL
    from ctoops.cloudflare.observability import NotEnabled, Observability
    from ctoops.trends.compute import WINDOWS

    if window not in WINDOWS:
        from ctoops.errors import BadInput

        raise BadInput(f"unknown window {window!r} (windows: {', '.join(WINDOWS)})")
    width = WINDOWS[window]
    wanted = spans.span(since_ms, until_ms)
    target = target or make_target(app)
    paths = paths_for(buckets)

    def now_ms() -> int:
        return int(spans.now() * 1000)

    chosen = source
    notes: list[str] = []
    if source in ("auto", "observability"):
        try:
            fetched = Observability(target, now_ms=now_ms).run(wanted, width, paths)
            chosen = "observability"
        except NotEnabled as exc:
            if source != "auto":
                raise
            notes.append(f"{exc.format_message()}; falling back to GraphQL (the zone's edge counts)")
            chosen = "graphql"
    if chosen == "graphql":
        from ctoops import http

        budget = Budget(*BUDGET, clock=time.monotonic, sleep=sleep or http.sleep, notify=app.notify)
        fetched = GraphQL(target, now_ms=now_ms, budget=budget).run(wanted, width, paths)
    if chosen == "observability":
        label = f"Workers Observability (script {target.script()})"
    else:
        label = f"GraphQL httpRequestsAdaptiveGroups (zone {target.zone_id()}, host {target.host})"
    notes.append(
        f"source: {label}, {spans.iso(wanted.start_ms)} to {spans.iso(wanted.end_ms)} "
        f"({fetched.queries} {'query' if fetched.queries == 1 else 'queries'})"
    )
    notes += fetched.notes
    trend = count(
        [table(fetched.rows)],
        window=window,
        buckets=buckets,
        since_ms=wanted.aligned(60).start_ms,
        until_ms=wanted.aligned(60).end_ms,
    )
    if not trend.rows:
        from ctoops.errors import BadInput

        raise BadInput(
            f"{label} saw the worker but no request on the route groups' paths ({', '.join(paths)}) between "
            f"{spans.iso(wanted.start_ms)} and {spans.iso(wanted.end_ms)}: no rate can be given (no data is not 0%)"
        )
    return Result(trend, chosen, notes, fetched.unattributed)
