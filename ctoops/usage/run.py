"""One usage or costs run, end to end, without printing: the range, the pull (and the
history a forecast needs), forecasts, budget verdicts and the provenance every export
carries. ``ctoops.commands.usage`` parses options, calls these, and renders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ctoops.dates import DAY, EARLIEST, HOUR, Range, iso_second, midnight, month_start, next_month
from ctoops.usage.query import Query

if TYPE_CHECKING:
    from ctoops.backends.base import Backend
    from ctoops.usage.budget import Budget, Verdict
    from ctoops.usage.forecast import Forecast
    from ctoops.usage.report import Result


def now() -> float:
    """The run's clock (unix seconds): ctoops' one clock, ``ctoops.checks.clock.now``."""
    from ctoops.checks import clock

    return clock.now()


def span_of(start: str, end: str | None, bucket: str, at: float) -> Range:
    """The range asked for (exit 2 with the rule otherwise), on the bucket's boundaries."""
    from ctoops.dates import parse_range

    return parse_range(start, end, now=at, unit=HOUR if bucket == "1h" else DAY)


def horizon_of(span: Range, end_given: bool, at: float) -> int:
    """Where a forecast ends: the range's end when ``--end`` was given or has passed, else the
    end of the current month (UTC)."""
    if end_given or span.end <= at:
        return span.end
    return max(span.end, next_month(month_start(int(at))))


@dataclass
class Progress:
    """The run's stderr channels: ``on_window(done, total)`` and ``on_event(line)``."""

    on_window: Callable[[int, int], None] | None = None
    on_event: Callable[[str], None] | None = None


def execute(backend: Backend, query: Query, at: float, concurrency: int, progress: Progress) -> Result:
    """Pull the range and read it (``ctoops.usage.report.Result``)."""
    from ctoops.usage.pull import pull
    from ctoops.usage.report import assemble

    pulled = pull(
        backend,
        query,
        now=at,
        concurrency=concurrency,
        on_window=progress.on_window,
        on_event=progress.on_event,
    )
    return assemble(query, pulled)


def history(backend: Backend, result: Result, at: float, concurrency: int, progress: Progress) -> Result | None:
    """The settled days just before the range that a forecast needs when the range itself
    has fewer than ``forecast.HISTORY_DAYS`` (one more request; None when not needed)."""
    from ctoops.usage.forecast import HISTORY_DAYS

    query = result.query
    span = query.span
    through = result.mark.settled_through or span.start
    if (through - span.start) // DAY >= HISTORY_DAYS:
        return None
    start = max(midnight(EARLIEST), span.start - HISTORY_DAYS * DAY)
    if start >= span.start:
        return None
    group = ("project_id",) if "project_id" in query.group_by else ()
    earlier = Query(query.kind, Range(start, span.start), "1d", group)
    return execute(backend, earlier, at, concurrency, progress)


def forecasts(result: Result, earlier: Result | None, horizon: int) -> list[tuple[dict[str, Any], Forecast | None]]:
    """(scope, forecast) per currency for costs (and per project and currency when grouped by
    project_id), or of tokens (input + output) for usage. A scope: ``{"scope": "total" or the
    project id, "currency": ...}`` (no currency for tokens)."""
    from ctoops.usage.report import forecast_for

    if not result.query.is_costs:
        return [({"scope": "total", "unit": "tokens"}, forecast_for(result, earlier, "tokens", horizon, {}, 0))]
    currencies = sorted(
        {c for part in (result, earlier) if part is not None for c in part.table["currency"].to_pylist() if c}
    ) or ["usd"]
    out: list[tuple[dict[str, Any], Forecast | None]] = []
    for currency in currencies:
        where = {"currency": currency}
        out.append(
            ({"scope": "total", "currency": currency}, forecast_for(result, earlier, "amount", horizon, where, 2))
        )
    if "project_id" in result.query.group_by:
        projects = sorted(
            {p for part in (result, earlier) if part is not None for p in part.table["project_id"].to_pylist() if p}
        )
        for project in projects:
            for currency in currencies:
                where = {"currency": currency, "project_id": project}
                found = forecast_for(result, earlier, "amount", horizon, where, 2)
                out.append(({"scope": project, "currency": currency}, found))
    return out


def judge(
    result: Result,
    budgets: list[Budget],
    found: list[tuple[dict[str, Any], Forecast | None]],
    gate_forecast: bool,
) -> list[Verdict]:
    """Each budget against the settled spend of its scope and currency, and the forecast."""
    from ctoops.usage.budget import Verdict
    from ctoops.usage.report import costs_unknown, settled_sum, unsettled_amount

    verdicts = []
    for budget in budgets:
        scope = budget.project or "total"
        seen = currencies_of(result, budget.project)
        # the currency as the API spells it (``USD`` or ``usd``): a budget names it in any case
        currency = next((c for c in seen if c.lower() == budget.currency), budget.currency)
        where: dict[str, Any] = {"currency": currency}
        if budget.project:
            where["project_id"] = budget.project
        spend = settled_sum(result, "amount", where)
        forecast = next(
            (f for s, f in found if s["scope"] == scope and s.get("currency") == currency),
            None,
        )
        verdicts.append(
            Verdict(
                budget=budget,
                spend=spend,
                unsettled=unsettled_amount(result, where),
                forecast=forecast,
                settled_label=result.mark.label(),
                gate_forecast=gate_forecast,
                unknown_amounts=costs_unknown(result),
                currencies=seen,
                unjudged=unjudged(result, budget, seen),
            )
        )
    return verdicts


def currencies_of(result: Result, project: str | None) -> tuple[str, ...]:
    """The currencies the range's costs are in (settled or not), for one project or all."""
    import pyarrow.compute as pc

    table = result.table
    if project is not None:
        table = table.filter(pc.equal(table["project_id"], project))
    return tuple(sorted({c for c in table["currency"].to_pylist() if c}))


def unjudged(result: Result, budget: Budget, currencies: tuple[str, ...]) -> str | None:
    """Why nothing proves the spend ``budget`` judges (its verdict is then FAIL), or None.

    Costs in other currencies but none in the budget's: the budget can never be judged
    (a mistyped or made-up currency, or costs billed in another). Nothing settled: no spend
    is known yet. No costs at all for the scope: a project the pull never saw (a mistyped id,
    or one with no costs) proves nothing either. No data is never a spend of 0."""
    c = budget.currency
    whose = f" of project {budget.project}" if budget.project else ""
    if currencies and c not in {x.lower() for x in currencies}:
        return (
            f"none of the costs{whose} in the range are in {c}: they are in {', '.join(currencies)} "
            "(a budget judges costs in its own currency; ctoops converts none)"
        )
    if result.mark.settled_through is None:
        return "nothing is settled yet (no day of the range has closed with its data landed): no spend to judge"
    if not currencies:
        return f"no costs{whose} in the range, in any currency: nothing proves the spend (no data is not 0)"
    return None


@dataclass
class CostsFollowup:
    """What comes after a costs pull when forecasts or budgets were asked for."""

    found: list[tuple[dict[str, Any], Forecast | None]]
    verdicts: list[Verdict]

    def sheets(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """The workbook's Forecast (and Budget) sheets."""
        rows = [{**scope, **forecast_record(f)} for scope, f in self.found]
        out = [("Forecast", rows)]
        if self.verdicts:
            out.append(("Budget", [v.flat() for v in self.verdicts]))
        return out

    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)


def costs_followup(
    backend: Backend,
    result: Result,
    *,
    at: float,
    concurrency: int,
    progress: Progress,
    budgets: list[Budget],
    end_given: bool,
    fail_on_forecast: bool,
) -> CostsFollowup:
    """Forecasts (with the history they need) and budget verdicts for a costs pull."""
    earlier = history(backend, result, at, concurrency, progress)
    found = forecasts(result, earlier, horizon_of(result.query.span, end_given, at))
    return CostsFollowup(found, judge(result, budgets, found, fail_on_forecast))


def forecast_record(found: Forecast | None) -> dict[str, Any]:
    """A forecast as a record (or a note that there is none)."""
    if found is None:
        return {"forecast": None, "note": "too few settled days for a forecast"}
    return found.as_record()


def provenance(result: Result, via: str, sandbox: bool) -> dict[str, str]:
    """What every export says about where its numbers come from; nothing that changes from
    run to run (no clock, no trace id), so a closed range gives byte-identical files."""
    from ctoops import __version__

    query = result.query
    if via == "opencto" and not query.is_costs:
        source = "the OpenCTO worker's usage proxy (GET /api/v1/cto/openai/usage)"
    else:
        source = "GET /v1/organization/costs" if query.is_costs else f"GET /v1/organization/usage/{query.kind}"
    return {
        "source": source + (" (ctoops sandbox)" if sandbox else ""),
        "kind": query.kind,
        "range_start": iso_second(query.span.start),
        "range_end": iso_second(query.span.end),
        "range_end_exclusive": "true",
        "bucket": query.bucket + (" (summed by ctoops from 1d buckets)" if query.bucket == "1mo" else ""),
        "group_by": ",".join(query.group_by),
        "filters": "none",
        "settled_through": "" if result.mark.settled_through is None else iso_second(result.mark.settled_through),
        "watermark": result.mark.describe(),
        "rows": str(result.table.num_rows),
        "ctoops_version": __version__,
    }


def about(prov: dict[str, str], at: float, trace_id: str, target: str) -> list[tuple[str, str]]:
    """The workbook's About sheet: the provenance, and what belongs to this run."""
    entries = [(k, v) for k, v in prov.items()]
    entries += [
        ("generated_at", iso_second(at)),
        ("trace_id", trace_id),
        ("target", target),
        ("days", "UTC; every range's end is exclusive"),
    ]
    return entries
