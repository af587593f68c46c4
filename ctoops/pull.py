"""Pulling a whole usage or costs range, page by page, never silently partial.

The range is split into windows of one page's worth of buckets (31 days at ``1d``, 168
hours at ``1h``, 180 days for costs) fetched concurrently (bounded); inside a window the
pages are followed through ``next_page`` while ``has_more``, every parameter resent. A page
that says ``has_more`` without a cursor, a cursor seen before, a bucket outside the window
or seen twice, a page without ``data``/``has_more``: each stops the pull with exit 4 naming
it, rather than returning totals that are quietly short. Windows are merged in order.

Through the worker (``--via opencto``) there is no paging: its usage proxy forwards only
``start`` and ``end``, so the range is one request, and an answer with ``has_more`` is an
error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ctoops.backends.base import UsageRequest
from ctoops.dates import DAY, Range, iso_day, iso_hour, windows
from ctoops.errors import BadInput, OpenAIRejected, Unsupported, UpstreamError
from ctoops.usage import (
    COSTS_GROUPS,
    DATE_PARAM_MEANING,
    KIND_GROUPS,
    LEGACY_GROUPS,
    Page,
    Rows,
    costs_names,
    is_date_param_error,
    parse_costs,
    parse_usage,
    usage_names,
)

if TYPE_CHECKING:
    from ctoops.backends.base import Backend

BUCKET_SECONDS = {"1d": DAY, "1h": 3600}
PAGE_LIMITS = {"1d": 31, "1h": 168}  # the usage API's maximum buckets per page
COSTS_LIMIT = 180  # the costs API's maximum (1d buckets only)
DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True)
class Query:
    kind: str  # a usage kind ("completions", ...) or "costs"
    span: Range
    bucket: str = "1d"
    group_by: tuple[str, ...] = ()

    @property
    def is_costs(self) -> bool:
        return self.kind == "costs"

    @property
    def limit(self) -> int:
        return COSTS_LIMIT if self.is_costs else PAGE_LIMITS[self.bucket]

    @property
    def names(self) -> list[str]:
        return costs_names(self.group_by) if self.is_costs else usage_names(self.kind, self.group_by)


@dataclass
class Pulled:
    rows: Rows
    requests: int = 0
    windows: int = 0
    notes: list[str] = field(default_factory=list)  # e.g. buckets the API did not (yet) return


def validate(query: Query, via: str) -> None:
    """Exit 2 before any request when the query breaks a rule of the API or the backend."""
    if query.is_costs:
        allowed: tuple[str, ...] = COSTS_GROUPS
        if via == "opencto":
            raise Unsupported(
                "costs are not available via opencto: the worker has no costs proxy; use --via openai with an "
                "admin key (OPENAI_ADMIN_KEY)"
            )
        if query.bucket != "1d":
            raise BadInput("costs come in 1d buckets only (the costs API supports no other width)")
    else:
        if query.kind not in KIND_GROUPS:
            raise BadInput(f"unknown usage kind {query.kind!r} (kinds: {', '.join(KIND_GROUPS)})")
        if query.bucket not in BUCKET_SECONDS:
            raise BadInput(f"unknown bucket {query.bucket!r} (buckets: {', '.join(BUCKET_SECONDS)})")
        allowed = KIND_GROUPS[query.kind]
        if via == "opencto":
            if query.kind != "completions":
                raise BadInput(
                    f"{query.kind} usage is not available through the worker's usage proxy (its legacy answer is "
                    "not split by kind); use --via openai"
                )
            allowed = tuple(g for g in allowed if g in LEGACY_GROUPS.values())
    bad = [g for g in query.group_by if g not in allowed]
    if bad:
        where = "through the worker's usage proxy" if via == "opencto" and not query.is_costs else f"for {query.kind}"
        raise BadInput(f"cannot group by {bad[0]!r} {where}: the fields are {', '.join(allowed)}")
    if len(set(query.group_by)) != len(query.group_by):
        raise BadInput("a group-by field is repeated")


def pull(
    backend: Backend,
    query: Query,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_window: Callable[[int, int], None] | None = None,
) -> Pulled:
    """Every row of the range, in bucket order. ``on_window(done, total)`` reports progress."""
    if backend.name == "opencto" and not query.is_costs:
        return _through_worker(backend, query)
    parts = windows(query.span, BUCKET_SECONDS[query.bucket], query.limit)
    done = 0
    results: list[Pulled] = []
    if len(parts) == 1 or concurrency <= 1:
        for window in parts:
            results.append(_window(backend, query, window))
            done += 1
            if on_window:
                on_window(done, len(parts))
    else:
        from concurrent.futures import as_completed

        from ctoops.pool import thread_pool

        with thread_pool(min(concurrency, len(parts)), "pull") as pool:
            futures = {pool.submit(_window, backend, query, window): i for i, window in enumerate(parts)}
            by_index: dict[int, Pulled] = {}
            try:
                for future in as_completed(futures):
                    by_index[futures[future]] = future.result()
                    done += 1
                    if on_window:
                        on_window(done, len(parts))
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
            results = [by_index[i] for i in range(len(parts))]
    merged = Pulled(rows=Rows(query.names), windows=len(parts))
    for part in results:
        merged.rows.extend(part.rows)
        merged.requests += part.requests
        merged.notes += part.notes
    return merged


def _fetch(backend: Backend, query: Query, window: Range, page: str | None) -> Page:
    request = UsageRequest(query.kind, window.start, window.end, query.bucket, query.group_by, query.limit, page)
    if query.is_costs:
        return parse_costs(backend.costs_page(request), query.group_by, "the costs API")
    body = backend.usage_page(request)
    return parse_usage(body, query.kind, query.group_by, "the usage API", BUCKET_SECONDS[query.bucket])


def _window(backend: Backend, query: Query, window: Range) -> Pulled:
    what = f"{'costs' if query.is_costs else 'usage'} for {iso_day(window.start)}..{iso_day(window.end)}"
    rows = Rows(query.names)
    starts: set[int] = set()
    cursors: set[str] = set()
    cursor: str | None = None
    requests = 0
    while True:
        page = _fetch(backend, query, window, cursor)
        requests += 1
        for start in page.starts:
            if not window.start <= start < window.end:
                raise UpstreamError(f"{what}: the API answered a bucket at {start}, outside the range asked for")
            if start in starts:
                raise UpstreamError(f"{what}: the API answered the bucket at {start} twice; not summing it twice")
            starts.add(start)
        rows.extend(page.rows)
        if not page.has_more:
            break
        if not page.next_page:
            raise UpstreamError(
                f"{what}: page {requests} says has_more but gives no next_page cursor, so the rest cannot be "
                "fetched; stopping rather than returning a partial range"
            )
        if page.next_page in cursors or page.next_page == cursor:
            raise UpstreamError(
                f"{what}: page {requests} repeats the cursor {page.next_page[:24]!r}; stopping rather than "
                "looping or returning a partial range"
            )
        cursors.add(page.next_page)
        cursor = page.next_page
    width = BUCKET_SECONDS[query.bucket]
    missing = [s for s in range(window.start, window.end, width) if s not in starts]
    notes = [f"{what}: no bucket for {_label(s, width)} (not landed yet?)" for s in missing]
    return Pulled(rows=rows, requests=requests, notes=notes)


def _label(start: int, width: int) -> str:
    return iso_day(start) if width >= DAY else iso_hour(start)


def _through_worker(backend: Backend, query: Query) -> Pulled:
    request = UsageRequest(query.kind, query.span.start, query.span.end, query.bucket, query.group_by)
    try:
        body = backend.usage_page(request)
    except OpenAIRejected as exc:
        if is_date_param_error(exc.openai_message):
            raise OpenAIRejected(
                f"{exc.format_message()}: {DATE_PARAM_MEANING}",
                status=exc.status or 400,
                code=exc.code,
                type=exc.type,
                openai_message=exc.openai_message,
            ) from None
        raise
    page = parse_usage(body, query.kind, query.group_by, "the worker's usage proxy", BUCKET_SECONDS[query.bucket])
    if page.has_more:
        raise UpstreamError(
            "the worker's usage proxy answered one page of several (has_more) and cannot fetch the rest (it "
            "forwards no cursor); use --via openai for this range"
        )
    inside = [query.span.start <= start < query.span.end for start in page.rows.column("start_time")]
    return Pulled(rows=page.rows.keep(inside), requests=1, windows=1)
