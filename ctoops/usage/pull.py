"""Pulling a whole usage or costs range, page by page, never silently partial.

The range is split into windows of one page's worth of buckets (31 days at ``1d``, 168
hours at ``1h``, 180 days for costs) fetched concurrently, under an adaptive limit
(``ctoops.usage.adaptive``: fewer at a time while the API answers 429); inside a window the
pages are followed through ``next_page`` while ``has_more``, every parameter resent. A page
that says ``has_more`` without a cursor, a cursor seen before, a bucket outside the window
or seen twice, a page without ``data``/``has_more``: each stops the pull with exit 4 naming
it, rather than returning totals that are quietly short. Windows are merged in order.

Only buckets that can have begun are asked for: the range is clipped at the end of the
current bucket (a future ``--end`` is a forecast horizon, not a request). Which buckets came
back, and which held data, is kept (``Coverage``) for the settled-through mark.

Through the worker (``--via opencto``) there is no paging: its usage proxy forwards only
``start`` and ``end``, so the range is one request, and an answer with ``has_more`` is an
error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from ctoops.backends.base import UsageRequest
from ctoops.dates import Range, iso_day, windows
from ctoops.errors import OpenAIRejected, UpstreamError
from ctoops.usage import adaptive
from ctoops.usage.query import DEFAULT_CONCURRENCY, Query
from ctoops.usage.rows import Rows
from ctoops.usage.shapes import DATE_PARAM_MEANING, Page, is_date_param_error, parse_costs, parse_usage, when

if TYPE_CHECKING:
    from ctoops.backends.base import Backend


@dataclass
class Coverage:
    """Which buckets of the range the API answered. Times are unix seconds (UTC).

    ``fetched_end``: where the request stopped (the end of the current bucket at the time
    of the pull, or the range's end if earlier); ``returned``: every bucket start answered;
    ``filled``: the ones that held at least one result."""

    span: Range
    bucket_seconds: int
    fetched_end: int
    now: float
    returned: set[int] = field(default_factory=set)
    filled: set[int] = field(default_factory=set)


@dataclass
class Pulled:
    """Every row of a pull, what the API answered for each bucket, and how it went."""

    rows: Rows
    coverage: Coverage
    requests: int = 0
    windows: int = 0
    throttles: int = 0  # 429s answered by slowing down
    lowest_concurrency: int = 0
    notes: list[str] = field(default_factory=list)  # what was set aside, counted


def fetch_span(query: Query, now: float) -> Range:
    """The part of the range that can hold data at ``now``: clipped at the end of the
    current bucket (``query.span`` unchanged when it ends earlier)."""
    width = query.bucket_seconds
    current_end = (int(now) // width + 1) * width
    return Range(query.span.start, max(query.span.start, min(query.span.end, current_end)))


def pull(
    backend: Backend,
    query: Query,
    *,
    now: float,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_window: Callable[[int, int], None] | None = None,
    on_event: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = adaptive.default_sleep,
) -> Pulled:
    """Every row of the range, in bucket order.

    ``now`` (unix seconds) is the run's clock; ``on_window(done, total)`` reports progress;
    ``on_event(line)`` says when the pace changes; ``sleep`` waits between throttled tries.
    Raises ``UpstreamError`` (4) for an answer that would make the range quietly short,
    ``RateLimited`` (5) when even one request at a time is refused.
    """
    span = fetch_span(query, now)
    coverage = Coverage(query.span, query.bucket_seconds, span.end, now)
    if backend.name == "opencto" and not query.is_costs:
        return _through_worker(backend, query, coverage)
    parts = windows(span, query.bucket_seconds, query.limit) if span.end > span.start else []
    say = on_event or (lambda line: None)

    def changed(old: int, new: int) -> None:
        if new < old:
            say(f"the API answered 429: {new} request{'s' if new != 1 else ''} at a time (was {old})")

    limiter = adaptive.AdaptiveLimit(min(concurrency, max(1, len(parts))), changed)
    stop = threading.Event()  # set when a window fails: the others send nothing more

    def fetch(window: Range) -> tuple[Rows, int, set[int], set[int]]:
        try:
            return _window(backend, query, window, limiter, sleep, stop)
        except BaseException:
            stop.set()
            raise

    results: list[tuple[Rows, int, set[int], set[int]]] = []
    done = 0
    if len(parts) <= 1 or concurrency <= 1:
        for window in parts:
            results.append(fetch(window))
            done += 1
            if on_window:
                on_window(done, len(parts))
    else:
        from concurrent.futures import as_completed

        from ctoops.pool import thread_pool

        with thread_pool(limiter.maximum, "pull") as pool:
            futures = {pool.submit(fetch, w): i for i, w in enumerate(parts)}
            by_index = {}
            try:
                for future in as_completed(futures):
                    by_index[futures[future]] = future.result()
                    done += 1
                    if on_window:
                        on_window(done, len(parts))
            except BaseException as exc:
                stop.set()
                for future in futures:
                    future.cancel()
                if isinstance(exc, _Stopped):  # this window stopped for another's failure: raise that one
                    for future in futures:
                        failure = None if future.cancelled() else future.exception()
                        if failure is not None and not isinstance(failure, _Stopped):
                            raise failure from None
                raise
            results = [by_index[i] for i in range(len(parts))]
    merged = Pulled(Rows(query.names), coverage, windows=len(parts))
    for rows, requests, returned, filled in results:
        merged.rows.extend(rows)
        merged.requests += requests
        coverage.returned |= returned
        coverage.filled |= filled
    merged.throttles = limiter.throttles
    merged.lowest_concurrency = limiter.lowest
    return merged


def _fetch(backend: Backend, query: Query, window: Range, page: str | None) -> Page:
    request = UsageRequest(query.kind, window.start, window.end, query.fetch_bucket, query.group_by, query.limit, page)
    if query.is_costs:
        return parse_costs(backend.costs_page(request), query.group_by, "the costs API")
    body = backend.usage_page(request)
    return parse_usage(body, query.kind, query.group_by, "the usage API", query.bucket_seconds)


class _Stopped(Exception):
    """Another window failed: this one stops before sending more (the pull fails anyway)."""


def _window(
    backend: Backend,
    query: Query,
    window: Range,
    limiter: adaptive.AdaptiveLimit,
    sleep: Callable[[float], None],
    stop: threading.Event,
) -> tuple[Rows, int, set[int], set[int]]:
    what = f"{'costs' if query.is_costs else 'usage'} for {iso_day(window.start)}..{iso_day(window.end)}"
    rows = Rows(query.names)
    starts: set[int] = set()
    filled: set[int] = set()
    cursors: set[str] = set()
    cursor: str | None = None
    requests = 0
    while True:
        if stop.is_set():
            raise _Stopped(what)
        page = limiter.call(partial(_fetch, backend, query, window, cursor), sleep, what)
        requests += 1
        for start in page.starts:
            if not window.start <= start < window.end:
                raise UpstreamError(f"{what}: the API answered a bucket at {when(start)}, outside the range asked for")
            if start in starts:
                raise UpstreamError(f"{what}: the API answered the bucket of {when(start)} twice; not summing it twice")
            starts.add(start)
        filled |= page.filled
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
    return rows, requests, starts, filled


def _through_worker(backend: Backend, query: Query, coverage: Coverage) -> Pulled:
    request = UsageRequest(query.kind, query.span.start, query.span.end, query.fetch_bucket, query.group_by)
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
    page = parse_usage(body, query.kind, query.group_by, "the worker's usage proxy", query.bucket_seconds)
    if page.has_more:
        raise UpstreamError(
            "the worker's usage proxy answered one page of several (has_more) and cannot fetch the rest (it "
            "forwards no cursor); use --via openai for this range"
        )
    span = query.span
    inside = [span.start <= start < span.end for start in page.rows.column("start_time")]
    coverage.filled = {s for s in page.filled if span.start <= s < span.end}
    if page.shape == "legacy":  # it lists only what was used: it answered for every bucket asked
        coverage.returned = set(range(span.start, coverage.fetched_end, query.bucket_seconds))
    else:
        coverage.returned = {s for s in page.starts if span.start <= s < span.end}
    pulled = Pulled(rows=page.rows.keep(inside), coverage=coverage, requests=1, windows=1, lowest_concurrency=1)
    outside = len(inside) - sum(inside)
    if outside:
        pulled.notes.append(
            f"the worker's usage proxy answered {outside} row{'s' if outside != 1 else ''} outside "
            f"{span.label()}; left out of every total"
        )
    return pulled
