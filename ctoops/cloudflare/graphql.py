"""GraphQL Analytics: the zone's ``httpRequestsAdaptiveGroups``, counts per minute at the edge.

``POST <base>/graphql`` with ``{query, variables}``; answers ``{"data", "errors"}``, and a 200
can carry errors (``{"data": null, "errors": [...]}``), which are errors here, named by their
message (``../shared/reference/cloudflare-live-sources.md`` §3, ``worker-logs.md`` §5).

* Limits are read at run time from the zone's ``settings`` node (``enabled``, ``maxDuration``
  s, ``notOlderThan`` s, ``maxPageSize``); a range is split into chunks of at most
  ``maxDuration``, fetched concurrently, within 300 queries per 5 minutes (:class:`Budget`).
* No cursors: pages are ordered by the time dimension; a full page is cut before its last
  bucket, and the next page starts at that bucket (``datetime_geq``), so no row is lost or
  counted twice.
* The zone dataset sees the worker only through its zone route; each chunk also asks how
  many requests the host had at all (``seen``), so a zone that does not carry the worker is
  exit 2, never an empty table.
* ``count`` is already an estimate scaled by the sample rate (§3.2: do not multiply);
  ``avg.sampleInterval`` above 1 flags the window ``sampled``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ctoops.cloudflare.api import named
from ctoops.cloudflare.counts import Row
from ctoops.cloudflare.observability import SLACK_MS, Fetched
from ctoops.cloudflare.span import Span, iso, parse_time
from ctoops.cloudflare.target import CannotSee, Target
from ctoops.errors import BadInput, CtoopsError, NotAuthenticated, RateLimited, UpstreamError
from ctoops.pool import thread_pool

BUDGET = (300, 300.0)  # queries per seconds, per user [V limits.mdx]
CONCURRENCY = 4
PAGE_DEFAULT = 10000  # when settings gives no maxPageSize (docs example [V])
# the coarsest time dimension that divides each window (15 min: five-minute buckets)
DIMENSIONS = {60: "datetimeMinute", 300: "datetimeFiveMinutes", 900: "datetimeFiveMinutes", 3600: "datetimeHour"}

SETTINGS_QUERY = """query CtoopsLimits($zoneTag: string) {
  viewer { zones(filter: {zoneTag: $zoneTag}) { settings { httpRequestsAdaptiveGroups {
    enabled maxDuration maxPageSize notOlderThan } } } }
}"""


@dataclass(frozen=True)
class Limits:
    """The zone's limits for ``httpRequestsAdaptiveGroups`` (seconds, rows)."""

    enabled: bool
    max_duration: int
    not_older_than: int
    page_size: int


class Budget:
    """At most ``limit`` queries in any ``per`` seconds: waits (saying so) when spent.

    ``clock`` and ``sleep`` are seams; the tests never wait for real."""

    def __init__(
        self,
        limit: int,
        per: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        notify: Callable[[str], None],
    ) -> None:
        self.limit, self.per = limit, per
        self.clock, self.sleep, self.notify = clock, sleep, notify
        self.sent: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            now = self.clock()
            while self.sent and now - self.sent[0] >= self.per:
                self.sent.popleft()
            if len(self.sent) >= self.limit:
                wait = self.per - (now - self.sent[0])
                self.notify(f"GraphQL allows {self.limit} queries per {self.per:.0f}s: waiting {wait:.0f}s")
                self.sleep(wait)
                self.sent.popleft()
            self.sent.append(self.clock())


def error(errors: list[Any], status: int = 200) -> CtoopsError:
    """The ctoops error for GraphQL ``errors`` (documented messages and statuses, errors.mdx [V])."""
    from ctoops.cloudflare.api import errors_of

    found = errors_of({"errors": errors})
    text = named(found)
    lowered = text.lower()
    said = f"Cloudflare GraphQL answered {status} with errors: {text}"
    if status in (401, 403) or any(k in lowered for k in ("not authorized", "unauthorized", "authentication")):
        return NotAuthenticated(f"{said}; the token needs Analytics Read on the zone (Account Analytics Read)")
    if status == 429 or "budget depleted" in lowered or "too many nodes" in lowered or "excessive" in lowered:
        return RateLimited(said)
    if "older than" in lowered or "time range is too large" in lowered:
        return BadInput(f"{said}; shorten --since for this plan")
    if "unknown field" in lowered or "error parsing args" in lowered or "limit must be" in lowered:
        return UpstreamError(f"{said} (Cloudflare's schema differs from what ctoops asks for)")
    return UpstreamError(said)


class GraphQL:
    """Edge counts for the worker's host in its zone."""

    def __init__(self, target: Target, *, now_ms: Callable[[], int], budget: Budget) -> None:
        self.target = target
        self.now_ms = now_ms
        self.budget = budget

    def ask(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """``data`` of one query; any ``errors`` (even beside data, even on 200) raise."""
        self.budget.take()
        response = self.target.api.http.request("POST", "/graphql", json_body={"query": query, "variables": variables})
        body = response.data
        if not isinstance(body, dict) or "data" not in body and "errors" not in body:
            raise UpstreamError(f"Cloudflare GraphQL answered {str(body)[:160]!r}, not {{data, errors}}")
        if body.get("errors"):
            raise error(body["errors"])
        if not isinstance(body.get("data"), dict):
            raise UpstreamError("Cloudflare GraphQL answered data: null with no error")
        data: dict[str, Any] = body["data"]
        return data

    def zone(self, data: dict[str, Any]) -> dict[str, Any]:
        zones = (data.get("viewer") or {}).get("zones")
        if not zones:
            raise NotAuthenticated(
                f"Cloudflare GraphQL returned no zone for {self.target.zone_id()}: the token cannot read this "
                "zone's analytics (it needs Analytics Read on the zone), or the zone id is wrong"
            )
        zone: dict[str, Any] = zones[0]
        return zone

    def limits(self) -> Limits:
        """The zone's limits for the dataset, read at run time."""
        data = self.ask(SETTINGS_QUERY, {"zoneTag": self.target.zone_id()})
        node = ((self.zone(data).get("settings") or {}).get("httpRequestsAdaptiveGroups")) or {}
        try:
            return Limits(
                bool(node.get("enabled")),
                int(node.get("maxDuration") or 0),
                int(node.get("notOlderThan") or 0),
                int(node.get("maxPageSize") or PAGE_DEFAULT),
            )
        except (TypeError, ValueError):
            raise UpstreamError(f"Cloudflare GraphQL answered settings ctoops cannot read: {node!r}") from None

    def run(self, span: Span, width_s: int, paths: list[str]) -> Fetched:
        """Rows for ``paths`` on the worker's host over ``span``."""
        limits = self.limits()
        if not limits.enabled:
            raise CannotSee("httpRequestsAdaptiveGroups is not enabled for this zone on its plan")
        now = self.now_ms()
        oldest = now - limits.not_older_than * 1000
        if limits.not_older_than and oldest - SLACK_MS <= span.start_ms < oldest:  # `--since 30d` on a 30-day plan
            span = Span(oldest, span.end_ms)
        if limits.not_older_than and span.start_ms < oldest:
            raise BadInput(
                f"--since {iso(span.start_ms)} is older than this zone's plan keeps in GraphQL "
                f"({limits.not_older_than // 86400} days, notOlderThan {limits.not_older_than}s, so from "
                f"{iso(now - limits.not_older_than * 1000)})"
            )
        step = min(width_s, 3600)
        dimension = DIMENSIONS[step if step in DIMENSIONS else 60]
        aligned = span.aligned(60)
        chunk_s = limits.max_duration or 86400
        chunks = aligned.split(chunk_s, 1) if chunk_s < aligned.seconds else [aligned]
        fetched = Fetched(queries=1)
        seen = 0
        with thread_pool(min(CONCURRENCY, len(chunks)), "ctoops-gql") as pool:
            for rows, host_total, queries in pool.map(
                lambda c: self._chunk(c, dimension, paths, limits.page_size), chunks
            ):
                fetched.rows += rows
                fetched.queries += queries
                seen += host_total
        if seen == 0:
            raise CannotSee(
                f"the zone saw no request for {self.target.host} between {iso(span.start_ms)} and "
                f"{iso(span.end_ms)}: is the worker routed on this zone (a *.workers.dev URL is in none), "
                "and is CLOUDFLARE_ZONE_ID the zone of --api-url?"
            )
        if now - span.end_ms < 300_000:
            fetched.notes.append(
                f"Cloudflare aggregates with a few minutes' delay: counts after {iso(now - 300_000)} may still grow"
            )
        return fetched

    def _chunk(self, chunk: Span, dimension: str, paths: list[str], page: int) -> tuple[list[Row], int, int]:
        rows: list[Row] = []
        start = chunk.start_ms
        queries = 0
        host_total = 0
        first = True
        while True:
            data = self.ask(
                _rows_query(dimension, paths, page, with_total=first),
                {
                    "zoneTag": self.target.zone_id(),
                    "host": self.target.host,
                    "start": iso(start),
                    "end": iso(chunk.end_ms),
                },
            )
            queries += 1
            zone = self.zone(data)
            if first:
                host_total = sum(int(g.get("count") or 0) for g in zone.get("seen") or [])
                first = False
            groups = zone.get("rows") or []
            parsed = [_row(g, dimension) for g in groups]
            if len(groups) < page:
                rows += parsed
                return rows, host_total, queries
            last = parsed[-1].ts_ms
            kept = [r for r in parsed if r.ts_ms < last]
            if not kept:
                raise UpstreamError(
                    f"Cloudflare GraphQL has more than {page} groups in the single bucket {iso(last)}: "
                    "ctoops cannot page through it"
                )
            rows += kept
            start = last


def _rows_query(dimension: str, paths: list[str], page: int, *, with_total: bool) -> str:
    listed = ", ".join(f'"{p}"' for p in paths)
    seen = (
        "seen: httpRequestsAdaptiveGroups(limit: 1, filter: {datetime_geq: $start, datetime_lt: $end, "
        "clientRequestHTTPHost: $host}) { count }\n"
        if with_total
        else ""
    )
    return (
        "query CtoopsRates($zoneTag: string, $host: string, $start: Time, $end: Time) {\n"
        "  viewer { zones(filter: {zoneTag: $zoneTag}) {\n"
        f"    {seen}"
        f"    rows: httpRequestsAdaptiveGroups(limit: {page}, orderBy: [{dimension}_ASC], filter: {{"
        'datetime_geq: $start, datetime_lt: $end, clientRequestHTTPHost: $host, requestSource: "eyeball", '
        f"clientRequestPath_in: [{listed}]}}) {{\n"
        f"      count avg {{ sampleInterval }} dimensions {{ {dimension} clientRequestPath "
        "clientRequestHTTPMethodName edgeResponseStatus }\n"
        "    }\n  } }\n}"
    )


def _row(group: dict[str, Any], dimension: str) -> Row:
    dims = group.get("dimensions") or {}
    try:
        ts = parse_time(str(dims.get(dimension)))
        count = int(group.get("count"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UpstreamError(f"Cloudflare GraphQL answered a group ctoops cannot read: {group!r}") from None
    status = dims.get("edgeResponseStatus")
    interval = (group.get("avg") or {}).get("sampleInterval")
    try:
        factor = max(1.0, float(interval)) if interval is not None else 1.0
    except (TypeError, ValueError):
        factor = 1.0
    return Row(
        ts,
        dims.get("clientRequestHTTPMethodName"),
        dims.get("clientRequestPath"),
        int(status) if isinstance(status, int) or (isinstance(status, str) and status.isdigit()) else None,
        None,
        count,
        factor,
    )
