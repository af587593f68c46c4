"""ctoops errors: 429/5xx trends from the worker's request logs (runbook step 5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ctoops.commands._options import format_option, pass_app
from ctoops.dates import iso_second as _iso
from ctoops.params import Fraction

if TYPE_CHECKING:
    from ctoops.checks.rates import Thresholds, Verdict
    from ctoops.context import AppContext
    from ctoops.trends import Trend

WINDOWS = ("1m", "5m", "15m", "1h", "1d")


@click.group()
def errors() -> None:
    """429 and 5xx rates from the worker's logs, per window and rate-limit bucket."""


@errors.command("trend")
@click.argument("sources", nargs=-1, metavar="[SOURCE...|-]")
@click.option(
    "--source",
    "source_format",
    type=click.Choice(["auto", "tail", "logpush"]),
    default="auto",
    show_default=True,
    help="Log format (detected per source).",
)
@click.option("--window", type=click.Choice(WINDOWS), default="5m", show_default=True, help="Window width (UTC).")
@click.option("--since", metavar="TIME", help="Only events at or after TIME (ISO 8601, a date, or Nm/Nh/Nd ago).")
@click.option("--until", metavar="TIME", help="Only events before TIME.")
@click.option(
    "--bucket", "buckets", multiple=True, metavar="B[,B]", help="realtime_token, cto_openai_proxy (default: both)."
)
@click.option("--max-429-rate", type=Fraction(), metavar="R", help="Fail when a window's 429 rate is over R (0-1).")
@click.option("--max-5xx-rate", type=Fraction(), metavar="R", help="Fail when a window's 5xx rate is over R (0-1).")
@click.option(
    "--min-requests",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    help="Windows with fewer requests are not held to the thresholds (and are said to be).",
)
@click.option("--plot/--no-plot", default=False, show_default=True, help="Chart the rates in the terminal.")
@format_option
@pass_app
def errors_trend(
    app: AppContext,
    sources: tuple[str, ...],
    source_format: str,
    window: str,
    since: str | None,
    until: str | None,
    buckets: tuple[str, ...],
    max_429_rate: float | None,
    max_5xx_rate: float | None,
    min_requests: int,
    plot: bool,
    fmt: str,
) -> None:
    """Count requests, 429s and 5xx per window and bucket from wrangler tail or Logpush logs.

    SOURCE: files, folders (Logpush's YYYYMMDD/ layout), .gz, or - for stdin. Formats:
    `wrangler tail --format json` (pretty or through `jq -c`; LF or CRLF; UTF-8, or UTF-16/32
    with a BOM, as PowerShell saves it) and Logpush workers_trace_events NDJSON (epoch or
    RFC 3339 timestamps). Buckets as the worker's limiter: realtime_token is POST
    /api/v1/realtime/token; cto_openai_proxy is GET /api/v1/cto/openai/models and /usage.
    A 5xx is status 500-599, or an error outcome (exception, exceededCpu, ...) with no
    response. Records that cannot be counted (torn, stray text, no timestamp, over 16 MiB)
    are skipped and counted on stderr with their file:line.

    Thresholds are fractions (0.05 = 5%), checked per window and bucket: any window over
    one exits 1 and lists it. A range with no request in it exits 2, never an empty pass.
    On a live pipe, Ctrl-C stops reading and reports what arrived (exit 0, or 1 on a breach).

    \b
    Examples:
      wrangler tail --format json | ctoops errors trend - --window 5m --plot
      ctoops errors trend ./logpush/ --window 1h --max-5xx-rate 0.01 --max-429-rate 0.05
    """
    try:
        from ctoops.checks.rates import Thresholds, enforce

        verdict = _run(
            app,
            sources,
            source_format,
            window,
            since,
            until,
            buckets,
            plot,
            fmt,
            Thresholds(max_429_rate, max_5xx_rate, min_requests),
        )
        for line in verdict.breach_lines():
            click.echo(line, err=True)
        enforce(verdict)
    except KeyboardInterrupt:
        click.echo("ctoops: interrupted", err=True)
        raise click.exceptions.Exit(130) from None


def _run(
    app: AppContext,
    sources: tuple[str, ...],
    source_format: str,
    window: str,
    since: str | None,
    until: str | None,
    buckets: tuple[str, ...],
    plot: bool,
    fmt: str,
    thresholds: Thresholds,
) -> Verdict:
    from ctoops import trends
    from ctoops.checks.rates import judge
    from ctoops.dates import parse_instant
    from ctoops.errors import BadInput

    chosen = tuple(b.strip() for item in buckets for b in item.split(",") if b.strip()) or None
    since_ms = parse_instant(since, "since") if since else None
    until_ms = parse_instant(until, "until") if until else None
    paths: list[Any] = list(sources)
    if not paths and app.settings.sandbox:
        from ctoops.sandbox.tail import sample_tail_log

        app.notify("sandbox: reading ctoops' built-in sample of wrangler tail output, not real logs")
        paths = [("sandbox sample", sample_tail_log())]
    if not paths:
        raise BadInput("no log source: give files, folders, or - for stdin (wrangler tail --format json | ...)")
    trend = trends.analyze(
        paths,
        source_format=source_format,
        window=window,
        buckets=chosen,
        since_ms=since_ms,
        until_ms=until_ms,
        on_progress=_progress(app),
    )
    _report_stats(app, trend)
    verdict = judge(trend.rows, thresholds)
    rows = [_shown(r) for r in trend.rows]
    try:
        _emit(app, trend, verdict, rows, fmt, plot, window)
    except BrokenPipeError:  # the reader left (`| head`): stop writing, still give the verdict
        import os
        import sys

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return verdict


def _emit(
    app: AppContext, trend: Trend, verdict: Verdict, rows: list[dict[str, Any]], fmt: str, plot: bool, window: str
) -> None:
    from ctoops.render import emit

    if fmt == "table":
        emit(rows, "table", columns=list(rows[0]))
        for line in verdict.summary_lines():
            click.echo(line)
    else:
        emit(rows, fmt, columns=None if fmt == "json" else list(rows[0]))
        for line in verdict.summary_lines():
            app.notify(line)
    if plot:
        from ctoops.render import color_enabled, rate_charts
        from ctoops.trends.compute import WINDOWS as SECONDS

        series: dict[str, list[tuple[int, float, float]]] = {}
        for r in trend.rows:
            series.setdefault(r["bucket"], []).append((r["window_start"], r["rate_429"], r["rate_5xx"]))
        # the chart is for people: on stdout with the table, on stderr when stdout carries data
        color = color_enabled() and fmt == "table"
        charts = rate_charts(series, SECONDS[window], color=color)
        click.echo(charts, err=fmt != "table", color=color)


def _progress(app: AppContext) -> Callable[[Trend], None]:
    """A stderr line while a live source is read, at most every 2 s and only on change."""
    import time

    last_at, last_seen = 0.0, (0, 0)

    def show(snapshot: Trend) -> None:
        nonlocal last_at, last_seen
        now = time.monotonic()
        seen = (snapshot.stats.records, snapshot.tally.events)
        if seen == last_seen or now - last_at < 2:
            return
        last_at, last_seen = now, seen
        requests = sum(r["requests"] for r in snapshot.rows)
        app.notify(
            f"reading: {_n(seen[0], 'record')}, {_n(requests, 'request')} in the buckets so far "
            "(Ctrl-C to stop and report)"
        )

    return show


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "window_start": _iso(row["window_start"]),
        "rate_429": round(row["rate_429"], 6),
        "rate_5xx": round(row["rate_5xx"], 6),
    }


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _report_stats(app: AppContext, trend: Trend) -> None:
    stats, tally = trend.stats, trend.tally
    for line in stats.lines() + trend.notes:
        app.notify(line)
    if tally.non_fetch:
        app.notify(f"skipped {_n(tally.non_fetch, 'non-request event')} (scheduled, alarm, queue, ...)")
    if tally.outside:
        app.notify(f"left out {_n(tally.outside, 'request event')} outside --since/--until")
    tail = sorted({r["window_start"] for r in trend.rows if r["sampled"] and r["sample_interval"] is None})
    if tail:
        app.notify(
            f"wrangler tail was sampling in {_n(len(tail), 'window')} from {_iso(tail[0])}: "
            "their counts are a sample, not every request"
        )
    scaled = [r for r in trend.rows if r["sample_interval"] is not None and r["sample_interval"] > 1]
    if scaled:
        largest = max(r["sample_interval"] for r in scaled)
        app.notify(
            f"{_n(len({r['window_start'] for r in scaled}), 'window')} hold estimates scaled from a sample "
            f"(sample interval up to {largest:g}): not every request was seen"
        )
    if trend.interrupted:
        app.notify("interrupted: these counts cover what arrived before Ctrl-C")
