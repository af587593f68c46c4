"""``errors trend``'s Cloudflare side: which source a run uses, and the live runs.

Kept apart from ``commands/trend.py`` so the file sources' command stays as it was: the
command asks :func:`choose` first, and only a Cloudflare source or a live input comes here.
"""

from __future__ import annotations

import inspect
from typing import Any

from ctoops.errors import BadInput, Unsupported

CLOUD = ("observability", "graphql", "live")


def choose(app: Any, source_format: str, paths: list[Any]) -> str | None:
    """The Cloudflare source this run reads (``observability``, ``graphql``, ``auto``, ``live``),
    or None for files, stdin and the sandbox's sample."""
    if source_format in CLOUD:
        if paths:
            raise BadInput(
                f"--source {source_format} reads from Cloudflare, not from files: drop {paths[0]!r}, "
                "or use --source auto|tail|logpush for files"
            )
        if app.settings.sandbox:
            raise Unsupported(f"--source {source_format} talks to Cloudflare; the sandbox has no Cloudflare in it")
        return source_format
    if paths or app.settings.sandbox or source_format != "auto":
        return None
    from ctoops.cloudflare.settings import resolve

    if resolve(app).configured:
        return "auto"
    raise BadInput(
        "no log source: give files, folders, or - for stdin (wrangler tail --format json | ...), or set "
        "CLOUDFLARE_API_TOKEN (or run `ctoops auth login --cloudflare`) to count from Cloudflare"
    )


def fetch(
    app: Any, source: str, since_ms: int | None, until_ms: int | None, window: str, buckets: tuple[str, ...] | None
) -> Any:
    """A Trend from Workers Observability or GraphQL; its notes go to stderr."""
    from ctoops.cloudflare.sources import fetch as run

    result = run(app, source, since_ms=since_ms, until_ms=until_ms, window=window, buckets=buckets)
    for note in result.notes:
        app.notify(note)
    if result.unattributed:
        app.notify(f"{result.unattributed} requests could not be attributed to a path and status (see above)")
    return result.trend


def live_view_wanted(app: Any, fmt: str) -> bool:
    """True when stdin can be shown live: the trends engine reports progress (``on_progress``)."""
    from ctoops import trends

    return "on_progress" in inspect.signature(trends.analyze).parameters


def stdin_live(
    app: Any,
    source_format: str,
    window: str,
    buckets: tuple[str, ...] | None,
    since_ms: int | None,
    until_ms: int | None,
    min_requests: int,
    plot: bool,
    max_429: float | None = None,
    max_5xx: float | None = None,
) -> Any:
    """``-`` read through the trends engine with the live view redrawn on each progress report."""
    from ctoops import trends
    from ctoops.liveview import LiveView

    view = LiveView(window, min_requests=min_requests, plot=plot, title="stdin", max_429=max_429, max_5xx=max_5xx)
    with view:
        analyze: Any = trends.analyze
        trend = analyze(
            ["-"],
            source_format=source_format,
            window=window,
            buckets=buckets,
            since_ms=since_ms,
            until_ms=until_ms,
            on_progress=view.update,
        )
    return trend


def live(
    app: Any,
    window: str,
    buckets: tuple[str, ...] | None,
    max_429: float | None,
    max_5xx: float | None,
    min_requests: int,
    plot: bool,
    fmt: str,
) -> None:
    """``--source live``: a tail until Ctrl-C, redrawn in place; then the final counts and verdict."""
    from ctoops.cloudflare.live import watch
    from ctoops.commands.trend import render
    from ctoops.liveview import LiveView

    view = LiveView(
        window, min_requests=min_requests, plot=plot, title="Cloudflare live tail", max_429=max_429, max_5xx=max_5xx
    )
    with view:
        trend, coverage = watch(app, window=window, buckets=buckets, on_progress=view.update)
    for line in coverage:
        app.notify(line)
    if not trend.rows:
        raise BadInput("the live tail counted no request on the route groups' paths: no rate can be given")
    render(app, trend, window, max_429, max_5xx, min_requests, plot, fmt)


def runbook_rates(app: Any) -> Any:
    """Step 5's Cloudflare counts (``runbook.operations.Context.cloudflare``) when a Cloudflare
    token is configured, else None (step 5 then reads ``-p rates.sources=`` or is skipped)."""
    from ctoops.cloudflare.settings import resolve

    if app.settings.sandbox or not resolve(app).configured:
        return None

    def rows(
        source: str, since_ms: int | None, until_ms: int | None, window: str, buckets: tuple[str, ...] | None
    ) -> list[dict[str, Any]]:
        trend = fetch(app, source, since_ms, until_ms, window, buckets)
        result: list[dict[str, Any]] = trend.rows
        return result

    return rows
