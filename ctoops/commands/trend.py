"""ctoops errors: 429/5xx trends from the worker's request logs (runbook step 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ctoops.commands._options import format_option, pass_app
from ctoops.dates import iso_second as _iso
from ctoops.params import Fraction, UrlType, names_option

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
    type=click.Choice(["auto", "tail", "logpush", "observability", "graphql", "live"]),
    default="auto",
    show_default=True,
    help="File format (tail, logpush; auto detects it per file), or a Cloudflare source with no files: "
    "observability (Workers Logs), graphql (the zone's edge counts), live (a tail). auto with no files "
    "and a Cloudflare token: observability, else graphql.",
)
@click.option("--window", type=click.Choice(WINDOWS), default="5m", show_default=True, help="Window width (UTC).")
@click.option(
    "--since",
    metavar="TIME",
    help="Only events at or after TIME (ISO 8601, a date, or Nm/Nh/Nd ago). Cloudflare sources: default 1h.",
)
@click.option("--until", metavar="TIME", help="Only events before TIME.")
@names_option("--bucket", "buckets", metavar="B[,B]", help="realtime_token, cto_openai_proxy (default: both).")
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
@click.option(
    "--endpoint-url",
    metavar="URL",
    type=UrlType(),
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
    AWS_PROFILE; --endpoint-url for R2). Formats:
    `wrangler tail --format json` (pretty or through `jq -c`; LF or CRLF; UTF-8, or UTF-16/32
    with a BOM, as PowerShell saves it) and Logpush workers_trace_events NDJSON (epoch or
    RFC 3339 timestamps). With no SOURCE and a Cloudflare token
    (CLOUDFLARE_API_TOKEN, or `ctoops auth login --cloudflare`), Cloudflare counts instead:
    Workers Observability, else GraphQL analytics, or --source live for a live tail
    (docs/cloudflare.md; `ctoops doctor logs` says which are usable). Buckets as the
    worker's limiter: realtime_token is POST /api/v1/realtime/token; cto_openai_proxy is
    GET /api/v1/cto/openai/models and /usage.
    A 5xx is status 500-599, or an error outcome (exception, exceededCpu, ...) with no
    response. Records that cannot be counted (torn, stray text, no timestamp, over 16 MiB)
    are skipped and counted on stderr with their file:line.

    Thresholds are fractions (0.05 = 5%), checked per window and bucket: any window over
    one exits 1 and lists it. A range with no request in it exits 2, never an empty pass.
    On a live pipe, Ctrl-C or SIGTERM (timeout 60 ctoops errors trend -) stops reading and
    reports what arrived (exit 0, or 1 on a breach); anywhere else Ctrl-C exits 130.

    \b
    Examples:
      wrangler tail --format json | ctoops errors trend - --window 5m --plot
      ctoops errors trend ./logpush/ --window 1h --max-5xx-rate 0.01 --max-429-rate 0.05
      ctoops errors trend --since 24h --window 1h --plot --max-5xx-rate 0.02
      ctoops errors trend --source live --window 1m --plot
      ctoops errors trend s3://logs/opencto/ --since 30d --window 1d \\
        --endpoint-url https://$CLOUDFLARE_ACCOUNT_ID.r2.cloudflarestorage.com
    """
    from ctoops import trends
    from ctoops.checks.clock import now
    from ctoops.commands import _cloudflare
    from ctoops.dates import parse_instant

    chosen = buckets or None
    since_ms = parse_instant(since, "since", now=now()) if since else None
    until_ms = parse_instant(until, "until", now=now()) if until else None
    paths: list[Any] = list(sources)
    cloud = _cloudflare.choose(app, source_format, paths)
    if cloud == "live":
        return _cloudflare.live(app, window, chosen, max_429_rate, max_5xx_rate, min_requests, plot, fmt)
    if cloud is not None:
        trend = _cloudflare.fetch(app, cloud, since_ms, until_ms, window, chosen)
        return render(app, trend, window, max_429_rate, max_5xx_rate, min_requests, plot, fmt)
    if paths == ["-"] and _cloudflare.live_view_wanted(app, fmt):
        trend = _cloudflare.stdin_live(
            app, source_format, window, chosen, since_ms, until_ms, min_requests, plot, max_429_rate, max_5xx_rate
        )
        return render(app, trend, window, max_429_rate, max_5xx_rate, min_requests, plot, fmt)
    if not paths and app.settings.sandbox:
        from ctoops.sandbox.tail import sample_tail_log

        app.notify("sandbox: reading ctoops' built-in sample of wrangler tail output, not real logs")
        paths = [("sandbox sample", sample_tail_log())]
    if not paths:
        from ctoops.errors import BadInput

        raise BadInput("no log source: give files, folders, or - for stdin (wrangler tail --format json | ...)")
    storage = None
    if any(isinstance(p, str) and p.startswith("s3://") for p in paths):
        import sys

        from ctoops.trends.archives import Storage

        s = app.settings
        storage = Storage(
            endpoint_url=endpoint_url,
            timeout=s.timeout,
            max_retries=s.max_retries,
            notify=app.notify,
            progress=app.notify if sys.stderr.isatty() else None,
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
    render(app, trend, window, max_429_rate, max_5xx_rate, min_requests, plot, fmt)


def render(
    app: AppContext,
    trend: Any,
    window: str,
    max_429_rate: float | None,
    max_5xx_rate: float | None,
    min_requests: int,
    plot: bool,
    fmt: str,
) -> None:
    """The table (or JSON/CSV), the summary lines, the chart, then the shared rates verdict
    (``checks/rates.py``), for every source: files, stdin, Cloudflare, the live tail."""
    from ctoops.checks.rates import Thresholds, enforce, judge

    _report_stats(app, trend)
    verdict = judge(trend.rows, Thresholds(max_429_rate, max_5xx_rate, min_requests))
    try:
        _emit(app, trend, verdict, window, plot, fmt)
    except BrokenPipeError:  # the reader left (`| head`): stop writing, still give the verdict
        import os
        import sys

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    _breaches(verdict.breach_lines())
    enforce(verdict)


def _breaches(lines: list[str]) -> None:
    """``over threshold: ...`` lines on stderr: wrapped at word boundaries on a terminal (the
    terminal broke them mid-word), one line each otherwise, for grep."""
    import sys

    from ctoops.render import stderr_width, wrapped

    tty = sys.stderr.isatty()
    for line in lines:
        click.echo(wrapped(line, "    ", width=stderr_width()) if tty else line, err=True)


# The terminal form of the trend table: compact times, short group labels, percentages; the
# columns that matter least go first when the terminal is narrow (piped output keeps them all)
def _terminal_columns(rows: list[dict[str, Any]]) -> list[Any]:
    from ctoops.tables import Column
    from ctoops.trends.compute import SHORT_NAMES

    columns = [
        Column("window_start", "window", "time"),
        Column("bucket", "group", labels=SHORT_NAMES),
        Column("requests", kind="count"),
        Column("status_429", "429", "count"),
        Column("status_5xx", "5xx", "count"),
        Column("rate_429", "429 rate", "percent"),
        Column("rate_5xx", "5xx rate", "percent"),
        Column("error_outcomes", "errors", "count", priority=2),
        Column("sampled", priority=3),
    ]
    extra = [k for k in (rows[0] if rows else {}) if k not in {c.key for c in columns}]
    return columns + [Column(k, priority=4) for k in extra]


def _emit(app: AppContext, trend: Any, verdict: Any, window: str, plot: bool, fmt: str) -> None:
    from ctoops.render import color_enabled, emit, fitted_table, stdout_is_tty, symbols_enabled
    from ctoops.summary import thresholds_lines

    rows = [_shown(r) for r in trend.rows]
    if fmt == "table":
        if stdout_is_tty() and trend.rows:
            fitted_table(trend.rows, _terminal_columns(trend.rows))
        else:
            emit(rows, "table", columns=list(rows[0]) if rows else ["window_start", "bucket", "requests"])
        for line in verdict.summary_lines():
            click.echo(_wrapped(line) if stdout_is_tty() else line)
        summary = thresholds_lines(verdict, symbols=symbols_enabled())
        for line in summary:
            click.echo(_coloured(line) if color_enabled() else line)
    else:
        emit(rows, fmt, columns=None if fmt == "json" else list(rows[0]) if rows else None)
        for line in verdict.summary_lines():
            app.notify(line)
    if plot and trend.rows:
        from ctoops.render import rate_charts
        from ctoops.trends.compute import WINDOWS as SECONDS

        series: dict[str, list[tuple[int, float, float, int]]] = {}
        for r in trend.rows:
            point = (r["window_start"], r["rate_429"], r["rate_5xx"], r["requests"])
            series.setdefault(r["bucket"], []).append(point)
        # the chart is for people: on stdout with the table, on stderr when stdout carries data
        color = color_enabled() and fmt == "table"
        t = verdict.thresholds
        charts = rate_charts(
            series, SECONDS[window], color=color, max_429=t.max_429, max_5xx=t.max_5xx, min_requests=t.min_requests
        )
        click.echo(charts, err=fmt != "table", color=color)


def _wrapped(line: str) -> str:
    """A summary sentence wrapped at word boundaries to the terminal's width."""
    from ctoops.render import wrapped

    return wrapped(line)


def _coloured(line: str) -> str:
    """A thresholds line with its mark in green (passed), red (failed) or yellow (not judged)."""
    from ctoops.summary import STYLES, SYMBOLS

    stripped = line.lstrip()
    for status, symbol in SYMBOLS.items():
        for shown in (symbol, status):
            if stripped.startswith(shown + " "):
                lead = line[: len(line) - len(stripped)]
                return (
                    lead
                    + click.style(shown, fg=STYLES[status], bold=True if status == "FAIL" else None)
                    + stripped[len(shown) :]
                )
    return line


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "window_start": _iso(row["window_start"]),
        "rate_429": round(row["rate_429"], 6),
        "rate_5xx": round(row["rate_5xx"], 6),
    }


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _factor(row: dict[str, Any]) -> float:
    """A row's sample interval: 1.0 when exact (absent or null), else Cloudflare's factor."""
    return float(row.get("sample_interval") or 1.0)


def _report_stats(app: AppContext, trend: Any) -> None:
    stats, tally = trend.stats, trend.tally
    for line in stats.lines() + list(getattr(trend, "notes", [])):
        app.notify(line)  # skipped records by reason with file:line, bad bytes, unreadable files, other logs
    if tally.non_fetch:
        app.notify(f"skipped {_n(tally.non_fetch, 'non-request event')} (scheduled, alarm, queue, ...)")
    if getattr(tally, "outside", 0):
        app.notify(f"left out {_n(tally.outside, 'request event')} outside --since/--until")
    # Cloudflare's sampled analytics carry sample_interval; the live tail's gaps carry gap
    tail_sampled = [r for r in trend.rows if r["sampled"] and _factor(r) == 1 and not r.get("gap")]
    sampled = sorted({r["window_start"] for r in tail_sampled})
    if sampled:
        app.notify(
            f"wrangler tail was sampling in {_n(len(sampled), 'window')} from {_iso(sampled[0])}: "
            "their counts are a sample, not every request"
        )
    estimated = sorted({r["window_start"] for r in trend.rows if _factor(r) > 1})
    if estimated:
        worst = max(_factor(r) for r in trend.rows)
        app.notify(
            f"Cloudflare sampled {_n(len(estimated), 'window')} (up to 1 in {worst:g}): their counts are "
            "estimates, and a threshold verdict on them is an estimate too"
        )
    if trend.interrupted:
        app.notify("interrupted: these counts cover what arrived before reading stopped")
    if not trend.rows:
        app.notify("no request in the buckets in this input")
