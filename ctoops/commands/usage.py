"""ctoops usage: usage and costs for a date range, for on-call and for finance."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ctoops.commands._options import format_option, pass_app

if TYPE_CHECKING:
    from ctoops.context import AppContext
    from ctoops.pull import Pulled, Query

F = TypeVar("F", bound=Callable[..., Any])
KINDS = (
    "completions",
    "embeddings",
    "moderations",
    "images",
    "audio_speeches",
    "audio_transcriptions",
    "vector_stores",
    "code_interpreter_sessions",
    "file_search_calls",
    "web_search_calls",
)


def range_options(fn: F) -> F:
    fn = click.option(
        "--concurrency", type=click.IntRange(1, 16), default=4, show_default=True, help="Windows fetched at once."
    )(fn)
    fn = click.option("--end", metavar="DATE", help="Exclusive end (default: the start's natural end, see above).")(fn)
    fn = click.option("--start", metavar="DATE", required=True, help="Inclusive start.")(fn)
    return fn


def _groups(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(g.strip() for item in value for g in item.split(",") if g.strip())


@click.group()
def usage() -> None:
    """Usage and costs for a date range: summaries, and exact CSV/JSON/Parquet exports."""


@usage.command("pull")
@range_options
@click.option("--bucket", type=click.Choice(["1d", "1h"]), default="1d", show_default=True, help="Bucket width.")
@click.option("--kind", type=click.Choice(KINDS), default="completions", show_default=True, help="Usage endpoint.")
@click.option(
    "--group-by",
    "group_by",
    multiple=True,
    metavar="F[,F]",
    help="model, project_id, api_key_id, user_id, batch, service_tier (per kind).",
)
@click.option("-o", "--output", metavar="FILE", help="Write every row to FILE: .csv, .json or .parquet.")
@format_option
@pass_app
def usage_pull(
    app: AppContext,
    start: str,
    end: str | None,
    concurrency: int,
    bucket: str,
    kind: str,
    group_by: tuple[str, ...],
    output: str | None,
    fmt: str,
) -> None:
    """Pull usage for a range: one row per bucket and group, OpenAI's metric names.

    Via openai (the finance path) it pages GET /organization/usage/<kind> with the admin key,
    a page's worth of buckets per window, windows fetched concurrently. Via opencto it asks
    the worker's usage proxy (which passes OpenAI's answer through; no paging, and only
    model, project_id and api_key_id to group by).

    Without -o: a summary (totals, by day, by the first group-by field); --format json or
    csv prints every row instead. Dates are UTC days, the end exclusive: YYYY-MM-DD, Nd (N
    days ago), today, yesterday, tomorrow; --start also takes mtd and last-month.

    \b
    Examples:
      ctoops --via openai usage pull --start 2026-07-01 --end 2026-10-01 --group-by model -o q3.csv
      ctoops --via openai usage pull --start last-month --group-by model,project_id -o usage.parquet
    """
    from ctoops.pull import Query
    from ctoops.usage_frame import usage_table

    query = Query(kind, _span(start, end), bucket, _groups(group_by))
    pulled = _pull(app, query, output, concurrency)
    table = usage_table(pulled.rows, kind, query.group_by)
    _deliver(app, query, pulled, table, output, fmt)


@usage.command("costs")
@range_options
@click.option("--group-by", "group_by", multiple=True, metavar="F[,F]", help="project_id, line_item.")
@click.option("-o", "--output", metavar="FILE", help="Write every row to FILE: .csv, .json or .parquet.")
@format_option
@pass_app
def usage_costs(
    app: AppContext,
    start: str,
    end: str | None,
    concurrency: int,
    group_by: tuple[str, ...],
    output: str | None,
    fmt: str,
) -> None:
    """Pull costs for a range (GET /organization/costs, 1d buckets, via openai).

    `amount` is kept exactly as OpenAI sent it (a decimal, never a float) with its
    `currency`; totals are summed in decimals, per currency. Dates as for `usage pull`.

    \b
    Example:
      ctoops --via openai usage costs --start 2026-07-01 --end 2026-10-01 \
        --group-by project_id,line_item -o q3-costs.csv
    """
    from ctoops.pull import Query
    from ctoops.usage_frame import costs_table

    query = Query("costs", _span(start, end), "1d", _groups(group_by))
    pulled = _pull(app, query, output, concurrency)
    table = costs_table(pulled.rows, query.group_by)
    _deliver(app, query, pulled, table, output, fmt)


@usage.command("report")
@range_options
@click.option("--top", type=click.IntRange(1, 100), default=5, show_default=True, help="How many top movers.")
@format_option
@pass_app
def usage_report(app: AppContext, start: str, end: str | None, concurrency: int, top: int, fmt: str) -> None:
    """A human summary of completions usage: totals, by model, by project, by day, top movers.

    Top movers are the models whose tokens (input + output) changed most between the first
    and the second half of the range. --format json gives the same sections as one object.
    """
    from ctoops.pull import Query
    from ctoops.render import dumps, emit
    from ctoops.usage import KIND_METRICS
    from ctoops.usage_frame import group_sums, movers, shown_metrics, to_frame, totals, usage_table

    query = Query("completions", _span(start, end), "1d", ("model", "project_id"))
    pulled = _pull(app, query, None, concurrency)
    frame = to_frame(usage_table(pulled.rows, "completions", query.group_by))
    sums = totals(frame, KIND_METRICS["completions"])
    metrics = shown_metrics("completions", sums)
    sections = {
        "range": {"start": _day(query.span.start), "end": _day(query.span.end), "endExclusive": True},
        "totals": {m: sums[m] for m in metrics},
        "byModel": group_sums(frame, "model", metrics),
        "byProject": group_sums(frame, "project_id", metrics),
        "byDay": group_sums(frame, "day", metrics),
        "topMovers": movers(frame, "model", query.span.start, query.span.end, top),
    }
    if fmt == "json":
        click.echo(dumps(sections))
        return
    if fmt == "csv":
        emit(sections["byDay"], "csv")
        return
    click.echo(f"Usage report, {query.span.label()}, {_via(app)}\n")
    emit([{"metric": m, "total": v} for m, v in sections["totals"].items()], "table", title="Totals")
    for title, key in (
        ("By model", "byModel"),
        ("By project", "byProject"),
        ("By day", "byDay"),
        ("Top movers (tokens, second half vs first)", "topMovers"),
    ):
        click.echo()
        emit(sections[key], "table", title=title)


# -- shared ----------------------------------------------------------------------------------------


def _span(start: str, end: str | None) -> Any:
    from ctoops.dates import parse_range

    return parse_range(start, end)


def _day(ts: int) -> str:
    from ctoops.dates import iso_day

    return iso_day(ts)


def _via(app: AppContext) -> str:
    s = app.settings
    return f"via {s.via}{' (sandbox)' if s.sandbox else ''}"


def _pull(app: AppContext, query: Query, output: str | None, concurrency: int) -> Pulled:
    """Validate everything, then pull with a progress bar on a terminal; notes go to stderr."""
    from ctoops.export import check_output
    from ctoops.pull import pull, validate

    validate(query, app.settings.via)
    if output:
        check_output(output)
    backend = app.backend()
    what = "costs" if query.is_costs else f"usage {query.kind}"
    app.notify(f"{what}, {query.span.label()}, {query.bucket} buckets, {_via(app)}")
    with _progress(what) as on_window:
        pulled = pull(backend, query, concurrency=concurrency, on_window=on_window)
    for note in pulled.notes[:5]:
        app.notify(f"note: {note}")
    if len(pulled.notes) > 5:
        app.notify(f"note: ... and {len(pulled.notes) - 5} more buckets missing")
    return pulled


class _progress:
    """A transient progress bar on stderr, only on a terminal and only for several windows."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Callable[[int, int], None]:
        return self.update

    def update(self, done: int, total: int) -> None:
        if total < 2 or not sys.stderr.isatty():
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(f"pulling {self.what}", total=total)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _deliver(app: AppContext, query: Query, pulled: Pulled, table: Any, output: str | None, fmt: str) -> None:
    from pathlib import Path

    from ctoops import export
    from ctoops.render import emit
    from ctoops.usage_frame import to_frame

    frame = to_frame(table)
    if output:
        export.write(table, Path(output))
        requests = f"{pulled.requests} request{'s' if pulled.requests != 1 else ''}"
        app.notify(f"wrote {table.num_rows} rows to {output} ({requests}); {_totals_line(query, frame)}")
        return
    if fmt == "json":
        emit(export.records(table), "json")
        return
    if fmt == "csv":
        emit(export.records(table), "csv", columns=table.column_names)
        return
    _summary(app, query, frame)


def _metrics(query: Query, frame: Any) -> list[str]:
    from ctoops.usage import KIND_METRICS
    from ctoops.usage_frame import shown_metrics, totals

    if query.is_costs:
        return ["amount"]
    return shown_metrics(query.kind, totals(frame, KIND_METRICS[query.kind]))


def _totals_line(query: Query, frame: Any) -> str:
    from ctoops.export import decimal_text
    from ctoops.usage_frame import costs_totals, totals

    if query.is_costs:
        sums = costs_totals(frame)
        return "total " + (", ".join(f"{decimal_text(v)} {c}" for c, v in sums.items()) or "0")
    metrics = _metrics(query, frame)
    return ", ".join(f"{m} {v}" for m, v in totals(frame, metrics).items())


def _summary(app: AppContext, query: Query, frame: Any) -> None:
    from ctoops.export import decimal_text
    from ctoops.render import emit
    from ctoops.usage_frame import costs_totals, group_sums, totals

    what = "costs" if query.is_costs else f"usage {query.kind}"
    click.echo(f"{what}, {query.span.label()}, {query.bucket} buckets, {_via(app)}: {len(frame)} rows\n")
    metrics = _metrics(query, frame)
    if query.is_costs:
        rows = [{"currency": c, "amount": decimal_text(v)} for c, v in costs_totals(frame).items()]
        emit(rows, "table", title="Totals", columns=["currency", "amount"])
    else:
        emit([{"metric": m, "total": v} for m, v in totals(frame, metrics).items()], "table", title="Totals")
    click.echo()
    emit(_texts(group_sums(frame, "day", metrics)), "table", title="By day", columns=["day", *metrics])
    if query.group_by:
        first = query.group_by[0]
        click.echo()
        emit(_texts(group_sums(frame, first, metrics)), "table", title=f"By {first}", columns=[first, *metrics])


def _texts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from decimal import Decimal

    from ctoops.export import decimal_text

    return [{k: decimal_text(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in rows]
