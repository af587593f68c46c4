"""Workers Observability (Workers Logs) telemetry query: server-side counts per window.

``POST /accounts/{account}/workers/observability/telemetry/query`` with ``view:
"calculations"``: a ``count`` grouped by ``$workers.event.request.path``, ``.method``,
``$workers.event.response.status`` and ``$workers.outcome``, in a series of ``granularity``
buckets (the number of buckets, cloudflare-typescript 7.1.0 ``TelemetryQueryParams``) over
``timeframe {from, to}`` (UTC ms). Shapes: ``../shared/reference/cloudflare-live-sources.md``
§2 and ``worker-logs.md`` §4.

Before counting, ctoops proves the source can see the worker:

* ``POST .../telemetry/keys`` filtered on ``$metadata.service`` = the script over the range:
  no key means no event; over the 7 days kept, none means Workers Logs is not on for the
  script (:class:`NotEnabled`, exit 2; ``auto`` then falls back to GraphQL);
* each chunk's grouped rows are compared with the same query without ``groupBys`` (group
  rows beyond the ``limit`` are dropped silently, §2.3): a shortfall is refetched in halves,
  and what still cannot be attributed is reported, never dropped quietly.

Scaling [UNVERIFIED, §2.5]: a row's estimate is ``count x sampleInterval``; rows with
``sampleInterval`` above 1 (``head_sampling_rate`` below 1, or the account's 1 % day cap)
flag their window ``sampled`` with the factor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ctoops.cloudflare.counts import Row
from ctoops.cloudflare.span import Span, iso, parse_time
from ctoops.cloudflare.target import CannotSee, Target
from ctoops.errors import BadInput, UpstreamError
from ctoops.pool import thread_pool

RETENTION_S = 7 * 86400  # Workers Logs keeps 7 days [V workers-logs.mdx]
SLACK_MS = 600_000  # a range starting this little before the oldest kept starts there instead
MAX_BUCKETS = 1440  # buckets per query: ctoops' own bound (no documented one), 1 day of minutes
GROUP_LIMIT = 1000  # group rows per query (the MCP schema caps at 2000 [V])
CONCURRENCY = 4
DATASET = "cloudflare-workers"
PATH = "$workers.event.request.path"
METHOD = "$workers.event.request.method"
STATUS = "$workers.event.response.status"
OUTCOME = "$workers.outcome"
GROUPS = [
    {"type": "string", "value": PATH},
    {"type": "string", "value": METHOD},
    {"type": "number", "value": STATUS},
    {"type": "string", "value": OUTCOME},
]


class NotEnabled(CannotSee):
    """Workers Logs holds nothing for the script (observability off, or another name)."""


@dataclass
class Fetched:
    """What a source brought back besides the rows."""

    rows: list[Row] = field(default_factory=list)
    queries: int = 0
    unattributed: int = 0  # requests the grouped query could not place (reported)
    notes: list[str] = field(default_factory=list)


class Observability:
    """Counts for one script from the telemetry API. ``run`` is the whole fetch."""

    def __init__(self, target: Target, *, now_ms: Callable[[], int]) -> None:
        self.target = target
        self.now_ms = now_ms

    def path(self, leaf: str) -> str:
        return f"/accounts/{self.target.account_id()}/workers/observability/telemetry/{leaf}"

    def base_filters(self, script: str) -> list[dict[str, Any]]:
        return [
            {"key": "$metadata.service", "operation": "eq", "type": "string", "value": script},
            {"key": "$metadata.type", "operation": "eq", "type": "string", "value": "cf-worker-event"},
        ]

    # -- proving the source sees the worker --------------------------------------------------

    def probe(self, span: Span) -> bool:
        """True when Workers Logs holds events of the script in ``span``; :class:`NotEnabled`
        when it holds none over the whole retention."""
        script = self.target.script()
        if self._has_keys(span, script):
            return True
        now = self.now_ms()
        kept = Span(now - RETENTION_S * 1000, now)
        if not self._has_keys(kept, script):
            raise NotEnabled(
                f"Workers Logs holds no event of the script {script!r} in the last 7 days: observability is not "
                "enabled for it (wrangler.toml [observability] enabled = true), or the script name is wrong "
                "(set CLOUDFLARE_SCRIPT_NAME)"
            )
        return False

    def _has_keys(self, span: Span, script: str) -> bool:
        body = {
            "timeframe": {"from": span.start_ms, "to": span.end_ms},
            "datasets": [DATASET],
            "filters": [{"key": "$metadata.service", "operation": "eq", "type": "string", "value": script}],
            "limit": 10,
        }
        result = self.target.api.call("POST", self.path("keys"), json_body=body)
        if not isinstance(result, list):
            raise UpstreamError(
                f"Workers Observability answered telemetry/keys with {type(result).__name__}, not a list"
            )
        return len(result) > 0

    # -- counting -----------------------------------------------------------------------------

    def run(self, span: Span, width_s: int, paths: list[str]) -> Fetched:
        """Rows for ``paths`` over ``span`` in ``width_s`` buckets; exit 2 when the source
        cannot see the worker in it."""
        oldest = self.now_ms() - RETENTION_S * 1000
        if oldest - SLACK_MS <= span.start_ms < oldest:  # `--since 7d`, read a moment ago
            span = Span(oldest, span.end_ms)
        if span.start_ms < oldest:
            raise BadInput(
                f"--since {iso(span.start_ms)} is older than Workers Logs keeps (7 days, so from {iso(oldest)}): "
                "use --source graphql or Logpush archives for older traffic"
            )
        aligned = span.aligned(width_s)
        fetched = Fetched()
        if not self.probe(span):
            raise CannotSee(
                f"Workers Logs holds no event of the script {self.target.script()!r} between {iso(span.start_ms)} "
                f"and {iso(span.end_ms)} (it does hold older ones): no traffic reached the worker in this range"
            )
        fetched.queries += 1
        chunks = aligned.split(width_s, MAX_BUCKETS)
        with thread_pool(min(CONCURRENCY, len(chunks)), "ctoops-cf") as pool:
            for part in pool.map(lambda c: self._chunk(c, width_s, paths), chunks):
                fetched.rows += part.rows
                fetched.queries += part.queries
                fetched.unattributed += part.unattributed
                fetched.notes += part.notes
        return fetched

    def _chunk(self, chunk: Span, width_s: int, paths: list[str], depth: int = 0) -> Fetched:
        out = Fetched()
        rows, grouped = self._grouped(chunk, width_s, paths)
        total = self._total(chunk, paths)
        out.queries += 2
        if grouped >= total:
            out.rows = rows
            return out
        buckets = int(chunk.seconds // width_s)
        if buckets >= 2 and depth < 6:  # too many group rows for one query: halves
            half = chunk.start_ms + buckets // 2 * width_s * 1000
            for piece in (Span(chunk.start_ms, half), Span(half, chunk.end_ms)):
                sub = self._chunk(piece, width_s, paths, depth + 1)
                out.rows += sub.rows
                out.queries += sub.queries
                out.unattributed += sub.unattributed
            return out
        out.rows = rows
        out.unattributed = total - grouped
        out.notes.append(
            f"Workers Observability placed {grouped} of {total} requests between {iso(chunk.start_ms)} and "
            f"{iso(chunk.end_ms)} in groups (group limit {GROUP_LIMIT}): {total - grouped} are not counted"
        )
        return out

    def _query(self, chunk: Span, buckets: int, paths: list[str], grouped: bool) -> Any:
        parameters: dict[str, Any] = {
            "datasets": [DATASET],
            "filterCombination": "and",
            "filters": self.base_filters(self.target.script())
            + [{"key": PATH, "operation": "in", "type": "string", "value": ",".join(paths)}],
            "calculations": [{"operator": "count", "alias": "requests"}],
        }
        if grouped:
            parameters["groupBys"] = GROUPS
            parameters["limit"] = GROUP_LIMIT
        body = {
            "queryId": "ctoops-errors-trend",
            "view": "calculations",
            "dry": True,
            "timeframe": {"from": chunk.start_ms, "to": chunk.end_ms},
            "granularity": buckets,
            "parameters": parameters,
        }
        if not grouped:
            body["ignoreSeries"] = True
        result = self.target.api.call("POST", self.path("query"), json_body=body)
        calculations = result.get("calculations") if isinstance(result, dict) else None
        if not isinstance(calculations, list):
            raise UpstreamError(
                "Workers Observability answered the query without result.calculations: "
                f"{str(result)[:160]!r} (is this the telemetry query API?)"
            )
        return calculations[0] if calculations else {}

    def _total(self, chunk: Span, paths: list[str]) -> int:
        calc = self._query(chunk, 1, paths, grouped=False)
        total = 0
        for agg in calc.get("aggregates") or []:
            total += _estimate(agg)
        return total

    def _grouped(self, chunk: Span, width_s: int, paths: list[str]) -> tuple[list[Row], int]:
        buckets = max(1, int(chunk.seconds // width_s))
        calc = self._query(chunk, buckets, paths, grouped=True)
        rows: list[Row] = []
        placed = 0
        for entry in calc.get("series") or []:
            try:
                ts = parse_time(str(entry.get("time")))
            except ValueError:
                raise UpstreamError(
                    f"Workers Observability answered a series time ctoops cannot read: {entry.get('time')!r}"
                ) from None
            if (ts - chunk.start_ms) % (width_s * 1000) or not chunk.start_ms <= ts < chunk.end_ms:
                raise UpstreamError(
                    f"Workers Observability answered a series bucket at {iso(ts)}, not on the {width_s}s buckets "
                    f"asked for from {iso(chunk.start_ms)}: its counts cannot be put in windows"
                )
            for data in entry.get("data") or []:
                groups = {g.get("key"): g.get("value") for g in data.get("groups") or [] if isinstance(g, dict)}
                weight = _estimate(data)
                if weight <= 0:
                    continue
                placed += weight
                status = groups.get(STATUS)
                rows.append(
                    Row(
                        ts,
                        _text(groups.get(METHOD)),
                        _text(groups.get(PATH)),
                        int(status) if isinstance(status, (int, Decimal)) and not isinstance(status, bool) else None,
                        _text(groups.get(OUTCOME)),
                        weight,
                        _factor(data),
                    )
                )
        return rows, placed


def _factor(data: dict[str, Any]) -> float:
    value = data.get("sampleInterval")
    try:
        factor = float(value) if value is not None else 1.0
    except (TypeError, ValueError):
        factor = 1.0
    return factor if factor >= 1 else 1.0


def _estimate(data: dict[str, Any]) -> int:
    """``count x sampleInterval`` (the reference's rule, §2.5), rounded to whole requests."""
    raw = data.get("count", data.get("value", 0))
    try:
        count = float(raw)
    except (TypeError, ValueError):
        raise UpstreamError(f"Workers Observability answered a count ctoops cannot read: {raw!r}") from None
    return int(round(count * _factor(data)))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
