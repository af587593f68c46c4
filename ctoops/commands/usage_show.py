"""How `ctoops usage` runs a pull for a command and shows or writes what it got: the
progress bar, exports, summaries (tables through ``ctoops.render``), verdict lines."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ctoops.context import AppContext
    from ctoops.usage.query import Query
    from ctoops.usage.report import Result
    from ctoops.usage.run import Progress


def _via(app: AppContext) -> str:
    s = app.settings
    return f"via {s.via}{' (sandbox)' if s.sandbox else ''}"


def progress_of(app: AppContext) -> Progress:
    from ctoops.usage.run import Progress

    return Progress(on_event=lambda line: app.notify(line))


def pull_result(app: AppContext, query: Query, output: str | None, concurrency: int, at: float, *, fmt: str) -> Result:
    """Validate everything, then pull with a progress bar on a terminal.

    What is pulled (the kind, the range, the bucket, the backend) is said once: on stderr
    before the pull, unless the summary's title line (``fmt`` table, no ``output``) will say
    it on the same terminal; then on stderr only if the run fails before that title is shown
    (``said_if_failed``), so the error has it."""
    from ctoops.usage import run
    from ctoops.usage.export import check_output
    from ctoops.usage.query import validate

    validate(query, app.settings.via)
    if output:
        check_output(output)
    backend = app.backend()
    what = f"{query.what}, {query.span.label()}, {query.bucket} buckets, {_via(app)}"
    if output is None and fmt == "table" and _one_terminal():
        click.get_current_context().meta[UNSAID] = what  # the title will say it
    else:
        app.notify(what)
    with said_if_failed(app):
        with _progressbar(query.what) as on_window:
            progress = run.Progress(on_window, lambda line: app.notify(line))
            result = run.execute(backend, query, at, concurrency, progress)
    for note in result.pulled.notes:
        app.notify(f"note: {note}")
    if result.pulled.throttles:
        app.notify(
            f"the API answered 429 {result.pulled.throttles} time(s): the pull slowed to "
            f"{result.pulled.lowest_concurrency} request(s) at a time and completed"
        )
    return result


UNSAID = "ctoops.usage_unsaid"  # ctx.meta: what is pulled, left for the summary's title to say


@contextmanager
def said_if_failed(app: AppContext) -> Iterator[None]:
    """Around the steps between the pull and the summary's title (the pull, a forecast's
    history, budgets): when one fails, say on stderr what was pulled, which the title that
    will not come was to say."""
    from ctoops.errors import CtoopsError

    try:
        yield
    except CtoopsError:
        what = click.get_current_context().meta.pop(UNSAID, None)
        if what:
            app.notify(what)
        raise


def titled() -> None:
    """The summary's title line is being shown: what is pulled is said."""
    click.get_current_context().meta.pop(UNSAID, None)


def _one_terminal() -> bool:
    """Whether stdout and stderr both reach the terminal a person reads (``CLICOLOR_FORCE``
    counts as one, as for the verdicts): a line on each is seen twice."""
    import os

    from ctoops.render import stdout_is_tty

    forced = os.environ.get("CLICOLOR_FORCE", "0") not in ("", "0")
    return stdout_is_tty() and (forced or sys.stderr.isatty())


class _progressbar:
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


def deliver(
    app: AppContext,
    result: Result,
    output: str | None,
    fmt: str,
    dialect: str,
    at: float,
    extra: list[tuple[str, list[dict[str, Any]]]] | None = None,
) -> None:
    from pathlib import Path

    from ctoops.usage import export, run

    s = app.settings
    prov = run.provenance(result, s.via, s.sandbox)
    writes_csv = output.lower().endswith(".csv") if output else fmt == "csv"
    if dialect != "default" and not writes_csv:  # said, never silently ignored
        app.notify(f"note: --csv-dialect {dialect} applies to CSV only; this output is not CSV")
    if output:
        path = Path(output)
        if path.suffix.lower() == ".xlsx":
            from ctoops.usage import workbook

            workbook.write(path, result, run.about(prov, at, app.trace_id, app.target), extra or [])
        else:
            export.write(result.table, path, dialect=dialect, provenance=prov)
        requests = f"{result.pulled.requests} request{'s' if result.pulled.requests != 1 else ''}"
        app.notify(f"wrote {result.table.num_rows} rows to {output} ({requests}); {totals_line(result)}")
        app.notify(result.mark.describe())
        return
    if fmt == "json":
        from ctoops.render import emit

        emit(export.records(result.table), "json")
        app.notify(result.mark.describe())
        return
    if fmt == "csv":
        out = export.stdout_bytes()
        export.write_csv(result.table, out, dialect)
        out.flush()
        app.notify(result.mark.describe())
        return
    show_summary(app, result, _via(app), extra or [])


def verdicts_out(app: AppContext, verdicts: list[Any], fmt: str, output: str | None) -> None:
    """Each verdict (stdout for a table on screen, else stderr); exit 1 on a breach. Piped,
    a verdict is one line (CI logs grep it); on a terminal it is wrapped to the width."""
    if not verdicts:
        return
    import os

    from ctoops.redact import redact
    from ctoops.render import stdout_is_tty

    on_stdout = fmt == "table" and not output
    forced = os.environ.get("CLICOLOR_FORCE", "0") not in ("", "0")
    tty = stdout_is_tty() if on_stdout else (forced or sys.stderr.isatty())
    for verdict in verdicts:
        line = verdict.line() if on_stdout else f"ctoops: {redact(verdict.line())}"
        click.echo(_wrap_verdict(line) if tty else line, err=not on_stdout)
    failed = [v for v in verdicts if not v.passed]
    if failed:
        from ctoops.errors import CheckFailed

        raise CheckFailed(f"{len(failed)} of {len(verdicts)} budget{'s' if len(verdicts) != 1 else ''} failed")


def _wrap_verdict(line: str) -> str:
    """A verdict wrapped to the terminal (a hanging indent), an amount never apart from its
    currency (``355.97 usd``)."""
    import re

    from ctoops.render import wrapped

    bound = re.sub(r"(\d) (?=[A-Za-z]{3}\b)", "\\1\xa0", line)  # textwrap does not break at U+00A0
    return wrapped(bound, "    ").replace("\xa0", " ")


def _texts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from ctoops.render import stdout_is_tty
    from ctoops.usage.export import decimal_text

    if stdout_is_tty():  # the terminal table shows money right-aligned, 2 decimals, with its currency
        return rows

    return [{k: decimal_text(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in rows]


def totals_line(result: Result) -> str:
    """``total 25.1425634 usd`` or ``input_tokens 4090, ...`` (empty when a value was not sent)."""
    from ctoops.usage.export import decimal_text
    from ctoops.usage.report import costs_unknown, total_rows

    rows = total_rows(result)
    if result.query.is_costs:
        text = "total " + (", ".join(f"{decimal_text(r['amount'])} {r['currency']}" for r in rows) or "0")
        unknown = costs_unknown(result)
        if unknown:
            text += f" ({unknown} result{'s' if unknown != 1 else ''} without an amount, not counted)"
        return text
    return ", ".join(f"{r['metric']} {'(not sent)' if r['total'] is None else r['total']}" for r in rows)


def show_summary(app: AppContext, result: Result, via: str, extra: list[tuple[str, list[dict[str, Any]]]]) -> None:
    """Totals, every period with its status, and the first group-by field; then forecasts."""
    from ctoops.render import emit
    from ctoops.usage import report

    query = result.query
    titled()
    click.echo(f"{query.what}, {query.span.label()}, {query.bucket} buckets, {via}: {result.table.num_rows} rows")
    click.echo(f"{result.mark.describe()}\n")
    if query.is_costs:
        emit(_texts(report.total_rows(result)), "table", title="Totals", columns=["currency", "amount", "settled"])
        unknown = report.costs_unknown(result)
        if unknown:
            click.echo(f"{unknown} result{'s' if unknown != 1 else ''} came without an amount: not counted above")
    else:
        emit(report.total_rows(result), "table", title="Totals", columns=["metric", "total"])
    _periods(result)
    if query.group_by:
        first = query.group_by[0]
        columns = [first, "currency", *result.metrics] if query.is_costs else [first, *result.metrics]
        click.echo()
        emit(_texts(report.group_rows(result, first)), "table", title=f"By {first}", columns=columns)
    for title, rows in extra:
        if title == "Forecast" and rows:
            click.echo()
            shown = [
                {
                    k: r.get(k)
                    for k in ("scope", "currency", "settled", "total", "low", "high", "horizon", "daysUsed", "note")
                }
                for r in rows
            ]
            # a forecast's settled cell stays when nothing is settled: empty (never 0), its note says why
            columns = [
                c
                for c in shown[0]
                if any(r.get(c) is not None or (c == "settled" and r.get("total") is not None) for r in shown)
            ]
            emit(
                _texts(shown),
                "table",
                title="Forecast (90% interval, docs/forecast.md)",
                columns=columns,
                kinds={**dict.fromkeys(("settled", "total", "low", "high"), "money"), "daysUsed": "count"},
            )


def _periods(result: Result) -> None:
    from ctoops.render import emit
    from ctoops.usage import report

    key = result.period
    rows, future = report.shown_periods(report.period_rows(result))
    columns = (
        [key, "currency", *result.metrics, "status"] if result.query.is_costs else [key, *result.metrics, "status"]
    )
    click.echo()
    emit(_texts(rows), "table", title=f"By {key}", columns=columns)
    if future:
        click.echo(f"({future} {key}{'s' if future != 1 else ''} after today not shown: no data can exist yet)")


def show_report(app: AppContext, result: Result, sections: dict[str, Any]) -> None:
    """The report's sections as tables."""
    from ctoops.render import emit

    s = app.settings
    via = f"via {s.via}{' (sandbox)' if s.sandbox else ''}"
    titled()
    click.echo(f"Usage report, {result.query.span.label()}, {via}")
    click.echo(f"{result.mark.describe()}\n")
    emit([{"metric": m, "total": v} for m, v in sections["totals"].items()], "table", title="Totals")
    for title, key in (("By model", "byModel"), ("By project", "byProject")):
        click.echo()
        emit(sections[key], "table", title=title)
    click.echo()
    rows = [r for r in sections["byDay"] if r["status"] != "future"]
    emit(rows, "table", title="By day")
    click.echo()
    spans = sections["topMoversSpans"]
    if spans is None:
        click.echo("Top movers: fewer than 2 settled days, nothing to compare")
    else:
        first, second = spans["first"], spans["second"]
        title = (
            f"Top movers (tokens per day, {first['start']}..{first['end']} vs {second['start']}..{second['end']}, "
            f"{spans['daysEach']} days each, end exclusive)"
        )
        emit(sections["topMovers"], "table", title=title)
    if "forecast" in sections:
        click.echo()
        record = sections["forecast"]
        if record.get("forecast", True) is None:
            click.echo("Forecast: too few settled days")
        else:
            keys = ("settled", "total", "low", "high", "horizon", "daysUsed", *(("note",) if "note" in record else ()))
            emit(
                [{k: record[k] for k in keys}],
                "table",
                title="Forecast of tokens (input + output; 90% interval, docs/forecast.md)",
                # tokens are counts (kept as exact Decimals by the forecast): no decimals, no currency
                kinds=dict.fromkeys(("settled", "total", "low", "high", "daysUsed"), "count"),
            )


def tokens_chart(by_day: list[dict[str, Any]], *, color: bool) -> str:
    """Input and output tokens per UTC day (``usage report --plot``), settled days as lines
    and the days not settled yet (data still landing) drawn apart, as ``·``."""
    from ctoops.charts import BLUE, MAGENTA, Series, rate_chart
    from ctoops.render import terminal_width
    from ctoops.tables import as_datetime

    days = [r for r in by_day if r.get("status") not in ("future",) and r.get("day")]
    if not days:
        return "(no day to chart)"
    xs = [int(as_datetime(r["day"]).timestamp()) for r in days]  # type: ignore[union-attr]
    thin = [r.get("status") != "settled" for r in days]
    lines = [
        Series(
            "input tokens",
            [(x, float(r.get("input_tokens") or 0)) for x, r in zip(xs, days, strict=True)],
            "+",
            BLUE,
            thin,
        ),
        Series(
            "output tokens",
            [(x, float(r.get("output_tokens") or 0)) for x, r in zip(xs, days, strict=True)],
            "x",
            MAGENTA,
            thin,
        ),
    ]
    return rate_chart(
        "Tokens per day (UTC)",
        lines,
        color=color,
        width=min(terminal_width(), 140),
        unit="count",
        thin_note="not settled yet (still landing)",
    )
