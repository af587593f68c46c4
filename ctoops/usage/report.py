"""From a pull to the sections people read: totals, by period (every day or month of the
range, with its settled status), by group, the top movers, forecasts and budget verdicts.
Commands render these sections; nothing here prints.

Sums are exact (``ctoops.usage.frame``). A period the API has not settled shows its status,
and its sums only when data came (a settled period without data is 0: it landed empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ctoops.dates import DAY, iso_day
from ctoops.decimals import total
from ctoops.usage.frame import (
    before,
    between,
    by_month,
    costs_table,
    costs_totals,
    group_sums,
    shown_metrics,
    totals,
    unknown_amounts,
    usage_table,
)
from ctoops.usage.settled import FUTURE, SETTLED, Watermark, watermark

if TYPE_CHECKING:
    import pyarrow as pa

    from ctoops.usage.forecast import Forecast
    from ctoops.usage.pull import Pulled
    from ctoops.usage.query import Query


@dataclass
class Result:
    """A pull made readable: the table (``1mo`` already summed), its watermark, the metrics
    worth showing (``["amount"]`` for costs)."""

    query: Query
    pulled: Pulled
    table: pa.Table
    mark: Watermark
    metrics: list[str]

    @property
    def period(self) -> str:
        return "month" if self.query.bucket == "1mo" else "day"


def assemble(query: Query, pulled: Pulled) -> Result:
    """The table of a pull (``1mo`` summed from days), its watermark and shown metrics."""
    if query.is_costs:
        table = costs_table(pulled.rows, query.group_by)
        metrics = ["amount"]
    else:
        table = usage_table(pulled.rows, query.kind, query.group_by)
        metrics = shown_metrics(query.kind, table)
    if query.bucket == "1mo":
        table = by_month(table, query.group_by, query.span.start, query.span.end)
    return Result(query, pulled, table, watermark(pulled.coverage), metrics)


def total_rows(result: Result) -> list[dict[str, Any]]:
    """Usage: ``{metric, total}`` (None: a value was not sent); costs: ``{currency, amount,
    settled}`` (the settled part: buckets before the settled-through mark; None when nothing
    of the range is settled, never 0)."""
    if not result.query.is_costs:
        return [{"metric": m, "total": v} for m, v in totals(result.table, result.metrics).items()]
    everything = costs_totals(result.table)
    through = result.mark.settled_through
    if through is None:
        return [{"currency": c, "amount": v, "settled": None} for c, v in everything.items()]
    settled = costs_totals(result.table, settled_before=through)
    return [{"currency": c, "amount": v, "settled": settled.get(c, Decimal(0))} for c, v in everything.items()]


def period_rows(result: Result) -> list[dict[str, Any]]:
    """Every day (or month, with ``1mo``) of the range in order, with its ``status``
    (``settled``, ``open``, ``not landed``, ``missing``, ``unsettled``, ``future``); costs
    one row per currency. Sums of a period without data: 0 when settled, else None."""
    key = result.period
    keys = [key, "currency"] if result.query.is_costs else [key]
    sums: dict[str, list[dict[str, Any]]] = {}
    for row in group_sums(result.table, keys, result.metrics):
        sums.setdefault(row[key], []).append(row)
    out = []
    for start, _end, status in result.mark.periods(key):
        label = iso_day(start) if key == "day" else iso_day(start)[:7]
        found = sums.get(label)
        if found:
            out += [{**row, "status": status} for row in found]
            continue
        empty: Any = 0 if status == SETTLED else None
        if result.query.is_costs:
            empty = Decimal(0) if status == SETTLED else None
            out.append({key: label, "currency": None, "amount": empty, "status": status})
        else:
            out.append({key: label, **dict.fromkeys(result.metrics, empty), "status": status})
    return out


def group_rows(result: Result, field: str) -> list[dict[str, Any]]:
    """Sums by one group-by field (costs: and currency), in order."""
    keys = [field, "currency"] if result.query.is_costs else [field]
    return group_sums(result.table, keys, result.metrics)


def shown_periods(rows: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The period rows a table shows (future ones left out) and how many were left out."""
    kept = [r for r in rows if r["status"] != FUTURE]
    return kept, len(rows) - len(kept)


# -- top movers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoverSpans:
    """Two equal spans of settled days compared per day; an odd day between them is left out."""

    first: tuple[int, int]
    second: tuple[int, int]
    days_each: int
    left_out: int | None

    def as_record(self) -> dict[str, Any]:
        return {
            "first": {"start": iso_day(self.first[0]), "end": iso_day(self.first[1])},
            "second": {"start": iso_day(self.second[0]), "end": iso_day(self.second[1])},
            "daysEach": self.days_each,
            "dayLeftOut": None if self.left_out is None else iso_day(self.left_out),
        }


def mover_spans(result: Result) -> MoverSpans | None:
    """The first and last ``n // 2`` settled days of the range (None under 2 settled days)."""
    start = result.query.span.start
    through = result.mark.settled_through
    days = 0 if through is None else (through - start) // DAY
    each = days // 2
    if each < 1 or through is None:
        return None
    first = (start, start + each * DAY)
    second = (through - each * DAY, through)
    return MoverSpans(first, second, each, first[1] if days % 2 else None)


def movers(result: Result, key: str, top: int) -> list[dict[str, Any]]:
    """Groups whose tokens per day (input + output) changed most between two equal spans of
    settled days (``mover_spans``): ``tokens_per_day_first``/``_second`` (whole tokens),
    ``change_per_day``, ``change_pct`` (percent, 0.1; None from 0). Groups with an unsent token count in
    a span are left out (their rate is unknown)."""
    spans = mover_spans(result)
    if spans is None or not result.table.num_rows:
        return []
    table = result.table
    rates: dict[Any, list[float | None]] = {}  # tokens per day in each span
    for i, (a, b) in enumerate((spans.first, spans.second)):
        part = between(table, a, b)
        for row in group_sums(part, [key], ["input_tokens", "output_tokens"]):
            entry = rates.setdefault(row[key], [0.0, 0.0])
            if row["input_tokens"] is None or row["output_tokens"] is None:
                entry[i] = None
            else:
                entry[i] = (row["input_tokens"] + row["output_tokens"]) / spans.days_each
    out = []
    for group, (first, second) in rates.items():
        if first is None or second is None:
            continue
        out.append(
            {
                key: group,
                "tokens_per_day_first": round(first),
                "tokens_per_day_second": round(second),
                "change_per_day": round(second) - round(first),
                "change_pct": None if first == 0 else round(100 * (second - first) / first, 1),
            }
        )
    out.sort(key=lambda r: (-abs(r["change_per_day"]), str(r[key])))
    return out[:top]


# -- forecasts ------------------------------------------------------------------------------------


def daily_series(result: Result, history: Result | None, value: str, where: dict[str, Any]) -> list[tuple[int, Any]]:
    """(day, sum) for every settled day of ``history`` then ``result``, zero where a settled day
    had no row; only rows matching ``where`` (e.g. ``{"currency": "usd"}``). ``value`` is a
    column or ``tokens`` (input + output)."""
    series: list[tuple[int, Any]] = []
    for part in (history, result):
        if part is None or part.mark.settled_through is None:
            continue
        table = part.table
        for column, wanted in where.items():
            if column in table.column_names:
                import pyarrow.compute as pc

                table = table.filter(pc.equal(table[column], wanted))
        columns = ["input_tokens", "output_tokens"] if value == "tokens" else [value]
        sums = {r["day"]: r for r in group_sums(table, ["day"], columns)}
        for start, _end, status in part.mark.periods("day"):
            if status != SETTLED:
                break
            row = sums.get(iso_day(start))
            if row is None:
                series.append((start, 0))
            elif value == "tokens":
                if row["input_tokens"] is None or row["output_tokens"] is None:
                    continue
                series.append((start, row["input_tokens"] + row["output_tokens"]))
            elif row[value] is not None:
                series.append((start, row[value]))
    return series


def settled_sum(result: Result, value: str, where: dict[str, Any]) -> Decimal | None:
    """The exact sum of ``value`` (a column, or ``tokens``) over the settled part of the range
    (0 when its settled days had none); None when nothing of the range is settled. Amounts:
    the results that carried one, as in Totals (``costs_unknown`` counts the others)."""
    through = result.mark.settled_through
    if through is None:
        return None
    table = _matching(before(result.table, through), where, value)
    columns = ["input_tokens", "output_tokens"] if value == "tokens" else [value]
    sums = totals(table, columns)
    return total(v or 0 for v in sums.values())


def unsettled_amount(result: Result, where: dict[str, Any]) -> Decimal:
    """The exact sum of the amounts after the settled-through mark (all of them when nothing
    is settled): what the API reported for days not settled yet; results without an amount
    left out, as in ``settled_sum``."""
    through = result.mark.settled_through
    table = result.table if through is None else between(result.table, through, result.query.span.end)
    return total(v or 0 for v in totals(_matching(table, where, "amount"), ["amount"]).values())


def _matching(table: pa.Table, where: dict[str, Any], value: str) -> pa.Table:
    """The rows matching ``where``; for amounts, only those that carried one."""
    import pyarrow.compute as pc

    for column, wanted in where.items():
        table = table.filter(pc.equal(table[column], wanted))
    return table.filter(pc.is_valid(table["amount"])) if value == "amount" else table


def forecast_for(
    result: Result, history: Result | None, value: str, horizon: int, where: dict[str, Any], places: int
) -> Forecast | None:
    """The forecast of ``value`` over the range to ``horizon`` (see ``ctoops.usage.forecast``)."""
    from ctoops.usage.forecast import forecast

    since = result.mark.settled_through or result.query.span.start
    series = daily_series(result, history, value, where)
    return forecast(series, settled_sum(result, value, where), since, horizon, places=places)


def costs_unknown(result: Result) -> int:
    return unknown_amounts(result.table) if result.query.is_costs else 0


def long_rows(sections: dict[str, Any]) -> list[dict[str, Any]]:
    """Every section of a report as one long table: ``section``, ``key`` (the row's day,
    model, project... or empty), ``metric`` and ``value``. Documented in docs/cli.md."""
    out: list[dict[str, Any]] = []
    for section, body in sections.items():
        if isinstance(body, dict):
            for metric, value in _flat(body):
                out.append({"section": section, "key": "", "metric": metric, "value": value})
            continue
        for row in body or []:
            items = list(row.items())
            key_name, key_value = items[0]
            for metric, value in items[1:]:
                out.append({"section": section, "key": key_value, "metric": metric, "value": value})
    return out


def _flat(body: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in body.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _flat(v, f"{name}.")
        elif isinstance(v, list):
            out.append((name, "; ".join(str(x) for x in v)))
        else:
            out.append((name, v))
    return out
