"""ctoops usage: usage and costs for a date range, for on-call and for finance.

Thin: options are parsed here, the work is ``ctoops.usage.run`` and the rendering below."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ctoops.commands._options import format_option, pass_app
from ctoops.params import names_option

if TYPE_CHECKING:
    from ctoops.context import AppContext

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
DATES = (
    "Dates are UTC, the end exclusive: YYYY-MM-DD or an ISO time, Nd/Nh ago, today, yesterday, "
    "tomorrow, mtd, last-month, last-week."
)


def range_options(fn: F) -> F:
    fn = click.option(
        "--concurrency",
        type=click.IntRange(1, 16),
        default=4,
        show_default=True,
        help="Windows fetched at once (fewer while the API answers 429).",
    )(fn)
    fn = click.option("--end", metavar="DATE", help="Exclusive end (default: the start's natural end).")(fn)
    fn = click.option("--start", metavar="DATE", required=True, help="Inclusive start.")(fn)
    return fn


def export_options(fn: F) -> F:
    fn = click.option(
        "--csv-dialect",
        "dialect",
        type=click.Choice(["default", "excel-eu"]),
        default="default",
        show_default=True,
        help="CSV for other locales: excel-eu is ';' between fields, decimal comma, UTF-8 BOM.",
    )(fn)
    fn = click.option(
        "-o", "--output", metavar="FILE", help="Write to FILE: .csv, .json, .parquet or .xlsx (a workbook)."
    )(fn)
    return format_option(fn)


@click.group()
def usage() -> None:
    """Usage and costs for a date range: summaries, forecasts, budget gates, exact exports."""


@usage.command("pull")
@range_options
@click.option(
    "--bucket",
    type=click.Choice(["1d", "1h", "1mo"]),
    default="1d",
    show_default=True,
    help="Bucket width (1mo: calendar months, summed by ctoops from 1d).",
)
@click.option("--kind", type=click.Choice(KINDS), default="completions", show_default=True, help="Usage endpoint.")
@names_option(
    "--group-by",
    "group_by",
    metavar="F[,F]",
    help="model, project_id, api_key_id, user_id, batch, service_tier (per kind).",
)
@export_options
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
    dialect: str,
) -> None:
    """Pull usage for a range: one row per bucket and group, OpenAI's metric names.

    Via openai (the finance path) it pages GET /organization/usage/<kind> with the admin key,
    a page's worth of buckets per window, windows fetched concurrently. Via opencto it asks
    the worker's usage proxy (which passes OpenAI's answer through; no paging, and only
    model, project_id and api_key_id to group by).

    Without -o: a summary (totals, every day with its settled status, by the first group-by
    field); --format json or csv prints every row instead. A metric the API did not send is
    empty, never 0. Dates are UTC, the end exclusive: YYYY-MM-DD or an ISO time, Nd/Nh ago,
    today, yesterday, tomorrow, mtd, last-month, last-week.

    \b
    Examples:
      ctoops --via openai usage pull --start 2026-07-01 --end 2026-10-01 --group-by model -o q3.csv
      ctoops --via openai usage pull --start last-month --group-by model,project_id -o usage.xlsx
    """
    from ctoops.usage.query import Query

    at, span = _clock_and_span(start, end, bucket)
    query = Query(kind, span, bucket, group_by)
    from ctoops.commands.usage_show import deliver, pull_result

    result = pull_result(app, query, output, concurrency, at, fmt=fmt)
    deliver(app, result, output, fmt, dialect, at)


@usage.command("costs")
@range_options
@click.option(
    "--bucket",
    type=click.Choice(["1d", "1mo"]),
    default="1d",
    show_default=True,
    help="Bucket width (1mo: calendar months, summed by ctoops from 1d).",
)
@names_option("--group-by", "group_by", metavar="F[,F]", help="project_id, line_item.")
@click.option("--forecast", is_flag=True, help="Forecast the total to the end of the month (or of --end).")
@click.option(
    "--budget",
    metavar="AMOUNT",
    help="Exit 1 when settled spend, or settled + unsettled spend reported so far, exceeds AMOUNT, or a "
    "result came without an amount (usd; 5000eur).",
)
@names_option(
    "--budget-by",
    "budget_by",
    metavar="PROJECT=AMOUNT[,...]",
    help="A budget per project (needs --group-by project_id).",
)
@click.option("--fail-on-forecast", is_flag=True, help="Also exit 1 when the forecast's high end exceeds a budget.")
@export_options
@pass_app
def usage_costs(
    app: AppContext,
    start: str,
    end: str | None,
    concurrency: int,
    bucket: str,
    group_by: tuple[str, ...],
    forecast: bool,
    budget: str | None,
    budget_by: tuple[str, ...],
    fail_on_forecast: bool,
    output: str | None,
    fmt: str,
    dialect: str,
) -> None:
    """Pull costs for a range (GET /organization/costs, 1d buckets, via openai).

    `amount` is kept exactly as OpenAI sent it (a decimal, never a float) with its
    `currency`; totals are summed in decimals, per currency. Every result states how far it
    is settled (buckets closed and landed); days not landed are never counted as 0.

    --forecast estimates the total to the end of the month (or of --end) from settled days,
    with a 90% interval (docs/forecast.md). --budget/--budget-by judge settled spend (and,
    with --fail-on-forecast, the forecast's high end): exit 1 on a breach, for CI, and also
    when settled spend is within a budget but the unsettled spend already reported would
    take it over (not proven within budget: never a pass).

    \b
    Examples:
      ctoops --via openai usage costs --start 2026-07-01 --end 2026-10-01 \\
        --group-by project_id,line_item -o q3-costs.csv
      ctoops --via openai usage costs --start mtd --forecast --budget 5000 --fail-on-forecast -o spend.xlsx
    """
    from ctoops.usage.budget import parse_budgets
    from ctoops.usage.query import Query

    budgets = parse_budgets(budget, budget_by, group_by)
    at, span = _clock_and_span(start, end, bucket)
    query = Query("costs", span, bucket, group_by)
    if (forecast or budgets or fail_on_forecast) and bucket != "1d":
        from ctoops.errors import BadInput

        raise BadInput("--forecast and budgets work on daily costs: leave --bucket at 1d")
    from ctoops.commands.usage_show import deliver, progress_of, pull_result, said_if_failed, verdicts_out

    result = pull_result(app, query, output, concurrency, at, fmt=fmt)
    extra: list[tuple[str, list[dict[str, Any]]]] = []
    verdicts: list[Any] = []
    if forecast or budgets or fail_on_forecast:
        from ctoops.usage import run

        with said_if_failed(app):  # the history pull, before the summary's title
            followup = run.costs_followup(
                app.backend(),
                result,
                at=at,
                concurrency=concurrency,
                progress=progress_of(app),
                budgets=budgets,
                end_given=end is not None,
                fail_on_forecast=fail_on_forecast,
            )
        extra, verdicts = followup.sheets(), followup.verdicts
    deliver(app, result, output, fmt, dialect, at, extra)
    verdicts_out(app, verdicts, fmt, output)


@usage.command("report")
@range_options
@click.option("--top", type=click.IntRange(1, 100), default=5, show_default=True, help="How many top movers.")
@click.option("--forecast", is_flag=True, help="Forecast tokens to the end of the month (or of --end).")
@click.option("--plot/--no-plot", default=False, show_default=True, help="Chart input and output tokens per day.")
@format_option
@pass_app
def usage_report(
    app: AppContext, start: str, end: str | None, concurrency: int, top: int, forecast: bool, plot: bool, fmt: str
) -> None:
    """A human summary of completions usage: totals, by model, by project, by day, top movers.

    Top movers compare tokens per day (input + output) over two equal spans of settled days:
    the first and the last half of them (a middle day of an odd count is left out), so a
    31-day month is 15 days against 15. --format json gives every section as one object;
    --format csv every section as one long table: section, key, metric, value.
    """
    from ctoops.commands.usage_show import progress_of, pull_result, said_if_failed, show_report
    from ctoops.render import emit
    from ctoops.usage import report
    from ctoops.usage.query import Query

    at, span = _clock_and_span(start, end, "1d")
    query = Query("completions", span, "1d", ("model", "project_id"))
    result = pull_result(app, query, None, concurrency, at, fmt=fmt)
    spans = report.mover_spans(result)
    sections: dict[str, Any] = {
        "range": {"start": _day(span.start), "end": _day(span.end), "endExclusive": True},
        "watermark": result.mark.as_record(),
        "totals": {r["metric"]: r["total"] for r in report.total_rows(result)},
        "byModel": report.group_rows(result, "model"),
        "byProject": report.group_rows(result, "project_id"),
        "byDay": report.period_rows(result),
        "topMovers": report.movers(result, "model", top),
        "topMoversSpans": None if spans is None else spans.as_record(),
    }
    if forecast:
        from ctoops.usage import run

        with said_if_failed(app):  # the history pull, before the report's title
            earlier = run.history(app.backend(), result, at, concurrency, progress_of(app))
        ((_, found),) = run.forecasts(result, earlier, run.horizon_of(span, end is not None, at))
        sections["forecast"] = run.forecast_record(found)
    if fmt == "json":
        emit(sections, "json")
    elif fmt == "csv":
        emit(report.long_rows(sections), "csv", columns=["section", "key", "metric", "value"])
    else:
        show_report(app, result, sections)
    if plot:
        from ctoops.commands.usage_show import tokens_chart
        from ctoops.render import color_enabled

        # for people: on stdout with the tables, on stderr when stdout carries data
        color = color_enabled() and fmt == "table"
        click.echo(tokens_chart(sections["byDay"], color=color), err=fmt != "table", color=color)


# -- shared ----------------------------------------------------------------------------------------


def _clock_and_span(start: str, end: str | None, bucket: str) -> tuple[float, Any]:
    from ctoops.usage import run

    at = run.now()
    return at, run.span_of(start, end, bucket, at)


def _day(ts: int) -> str:
    from ctoops.dates import iso_day

    return iso_day(ts)
