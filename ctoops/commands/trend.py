"""ctoops errors: 429/5xx trends from the worker's request logs (runbook step 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ctoops.commands._options import format_option, pass_app
from ctoops.dates import iso_second as _iso

if TYPE_CHECKING:
    from ctoops.context import AppContext

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
@click.option(
    "--max-429-rate", type=click.FloatRange(0, 1), metavar="R", help="Fail when a window's 429 rate is over R."
)
@click.option(
    "--max-5xx-rate", type=click.FloatRange(0, 1), metavar="R", help="Fail when a window's 5xx rate is over R."
)
@click.option(
    "--min-requests",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    help="Windows with fewer requests are not held to the thresholds.",
)
@click.option("--plot/--no-plot", default=False, show_default=True, help="Chart the rates in the terminal.")
@click.option(
    "--endpoint-url",
    metavar="URL",
    help="S3 endpoint for s3:// sources (R2: https://ACCOUNT_ID.r2.cloudflarestorage.com); "
    "default AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the AWS profile's, else AWS.",
)
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
    endpoint_url: str | None,
    fmt: str,
) -> None:
    """Count requests, 429s and 5xx per window and bucket from wrangler tail or Logpush logs.

    SOURCE: files, folders (Logpush's YYYYMMDD/ layout), .gz, - for stdin, or Logpush
    archives in a bucket, s3://BUCKET/PREFIX/ (R2 or S3; only the objects whose names fall
    in --since/--until are read; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or
    AWS_PROFILE). Formats:
    `wrangler tail --format json` (pretty or through `jq -c`) and Logpush
    workers_trace_events NDJSON. Buckets as the worker's limiter: realtime_token is POST
    /api/v1/realtime/token; cto_openai_proxy is GET /api/v1/cto/openai/models and /usage.
    A 5xx is status 500-599, or an error outcome (exception, exceededCpu, ...) with no
    response. Malformed records are skipped and counted on stderr.

    Thresholds are checked per window and bucket: any window over one exits 1 and lists it.

    \b
    Examples:
      wrangler tail --format json | ctoops errors trend - --window 5m --plot
      ctoops errors trend ./logpush/ --window 1h --max-5xx-rate 0.01 --max-429-rate 0.05
      ctoops errors trend s3://logs/opencto/ --since 30d --window 1d \\
        --endpoint-url https://$CLOUDFLARE_ACCOUNT_ID.r2.cloudflarestorage.com
    """
    from ctoops import trends
    from ctoops.checks.rates import Thresholds, enforce, judge
    from ctoops.dates import parse_instant
    from ctoops.render import emit

    chosen = tuple(b.strip() for item in buckets for b in item.split(",") if b.strip()) or None
    since_ms = parse_instant(since, "since") if since else None
    until_ms = parse_instant(until, "until") if until else None
    paths: list[Any] = list(sources)
    if not paths and app.settings.sandbox:
        from ctoops.sandbox.tail import sample_tail_log

        app.notify("sandbox: reading ctoops' built-in sample of wrangler tail output, not real logs")
        paths = [("sandbox sample", sample_tail_log())]
    if not paths:
        from ctoops.errors import BadInput

        raise BadInput("no log source: give files, folders, or - for stdin (wrangler tail --format json | ...)")
    storage = None
    if any(isinstance(p, str) and p.startswith("s3://") for p in paths):
        from ctoops.trends.archives import Storage

        s = app.settings
        storage = Storage(
            endpoint_url=endpoint_url,
            timeout=s.timeout,
            max_retries=s.max_retries,
            notify=app.notify,
            progress=app.notify if _stderr_tty() else None,
            log=app.log if app.verbose else None,
        )
    trend = trends.analyze(
        paths,
        source_format=source_format,
        window=window,
        buckets=chosen,
        since_ms=since_ms,
        until_ms=until_ms,
        storage=storage,
    )
    _report_stats(app, trend)
    verdict = judge(trend.rows, Thresholds(max_429_rate, max_5xx_rate, min_requests))
    rows = [_shown(r) for r in trend.rows]
    if fmt == "table":
        emit(rows, "table", columns=list(rows[0]) if rows else ["window_start", "bucket", "requests"])
        for line in verdict.summary_lines():
            click.echo(line)
    else:
        emit(rows, fmt, columns=None if fmt == "json" else list(rows[0]) if rows else None)
        for line in verdict.summary_lines():
            app.notify(line)
    if plot and trend.rows:
        from ctoops.render import color_enabled, rate_charts
        from ctoops.trends.compute import WINDOWS as SECONDS

        series: dict[str, list[tuple[int, float, float]]] = {}
        for r in trend.rows:
            series.setdefault(r["bucket"], []).append((r["window_start"], r["rate_429"], r["rate_5xx"]))
        # the chart is for people: on stdout with the table, on stderr when stdout carries data
        color = color_enabled() and fmt == "table"
        charts = rate_charts(series, SECONDS[window], color=color)
        click.echo(charts, err=fmt != "table", color=color)
    for line in verdict.breach_lines():
        click.echo(line, err=True)
    enforce(verdict)


def _stderr_tty() -> bool:
    import sys

    return sys.stderr.isatty()


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "window_start": _iso(row["window_start"]),
        "rate_429": round(row["rate_429"], 6),
        "rate_5xx": round(row["rate_5xx"], 6),
    }


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _report_stats(app: AppContext, trend: Any) -> None:
    stats, tally = trend.stats, trend.tally
    if stats.malformed:
        app.notify(f"skipped {_n(stats.malformed, 'malformed record')} (first at {', '.join(stats.locations)})")
    if tally.non_fetch:
        app.notify(f"skipped {_n(tally.non_fetch, 'non-request event')} (scheduled, alarm, queue, ...)")
    sampled = sorted({r["window_start"] for r in trend.rows if r["sampled"]})
    if sampled:
        app.notify(
            f"wrangler tail was sampling in {_n(len(sampled), 'window')} from {_iso(sampled[0])}: "
            "their counts are a sample, not every request"
        )
    if trend.interrupted:
        app.notify("interrupted: these counts cover what arrived before Ctrl-C")
    if not trend.rows:
        app.notify("no request in the buckets in this input")
