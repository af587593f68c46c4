"""The costs family: `usage costs` as a check, for a runbook step or CI (runbook operation
``usage costs``, the command's parameters in ``[step.with]``).

It pulls the range, states the settled-through mark, forecasts when asked, and judges the
budgets: the check fails (exit 1) when a budget is breached or not proven within (settled
spend within it, the unsettled spend reported so far over it), with each verdict's line
(spend, forecast, interval, budget, watermark). An export (``output``) is written whatever
the verdict, as the command does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ctoops.checks import Check, Outcome
from ctoops.errors import BadInput, CheckFailed

if TYPE_CHECKING:
    from ctoops.backends.base import Backend

BUCKETS = ("1d", "1mo")
DIALECTS = ("default", "excel-eu")


def check_params(params: dict[str, Any], where: str) -> None:
    """The rules the command checks before any request, at load time: a ``start``, a range
    ctoops can pull, budgets it can read, an output it can write (BadInput, exit 2)."""
    from ctoops.usage import run
    from ctoops.usage.budget import parse_budgets
    from ctoops.usage.export import check_output

    if not params.get("start"):
        raise BadInput(f'{where}: `usage costs` needs `start` (a date, e.g. "mtd" or "2026-10-01")')
    bucket = params.get("bucket", "1d")
    try:
        run.span_of(params["start"], params.get("end"), bucket, run.now())
        parse_budgets(params.get("budget"), tuple(params.get("budget_by", ())), tuple(params.get("group_by", ())))
        if params.get("output"):
            check_output(params["output"])
    except BadInput as exc:
        raise BadInput(f"{where}: {exc.format_message()}") from None
    if bucket != "1d" and (params.get("forecast") or params.get("budget") or params.get("budget_by")):
        raise BadInput(f"{where}: forecasts and budgets work on daily costs: leave `bucket` at 1d")


def costs_check(
    backend: Backend, params: dict[str, Any], *, via: str, sandbox: bool, trace_id: str = "", target: str = ""
) -> Check:
    """A check over ``params`` (``start``, ``end``, ``bucket``, ``group_by``, ``forecast``,
    ``budget``, ``budget_by``, ``fail_on_forecast``, ``concurrency``, ``output``,
    ``csv_dialect``: the command's options). Passes when every budget holds (or none is
    given); its data carries the totals, the watermark, forecasts and verdicts."""

    def check() -> Outcome:
        from pathlib import Path

        from ctoops.render import to_jsonable
        from ctoops.usage import export, run
        from ctoops.usage.budget import parse_budgets
        from ctoops.usage.query import Query, validate
        from ctoops.usage.report import total_rows

        group_by = tuple(params.get("group_by", ()))
        budgets = parse_budgets(params.get("budget"), tuple(params.get("budget_by", ())), group_by)
        at = run.now()
        bucket = params.get("bucket", "1d")
        span = run.span_of(params["start"], params.get("end"), bucket, at)
        query = Query("costs", span, bucket, group_by)
        validate(query, via)
        concurrency = int(params.get("concurrency", 4))
        result = run.execute(backend, query, at, concurrency, run.Progress())
        gate = params.get("fail_on_forecast", False)
        followup = None
        if params.get("forecast") or budgets or gate:
            followup = run.costs_followup(
                backend,
                result,
                at=at,
                concurrency=concurrency,
                progress=run.Progress(),
                budgets=budgets,
                end_given=params.get("end") is not None,
                fail_on_forecast=gate,
            )
        output = params.get("output")
        if output:
            path = Path(output)
            prov = run.provenance(result, via, sandbox)
            if path.suffix.lower() == ".xlsx":
                from ctoops.usage import workbook

                sheets = followup.sheets() if followup else []
                workbook.write(path, result, run.about(prov, at, trace_id, target), sheets)
            else:
                export.write(result.table, path, dialect=params.get("csv_dialect", "default"), provenance=prov)
        totals = total_rows(result)
        spent = ", ".join(f"{export.decimal_text(r['amount'])} {r['currency']}" for r in totals) or "nothing"
        detail = f"costs {span.label()}: {spent}; {result.mark.describe()}"
        data: dict[str, Any] = {
            "settledThrough": result.mark.as_record()["settledThrough"],
            "totals": to_jsonable(totals),
        }
        if followup:
            data["forecasts"] = to_jsonable([{**s, **run.forecast_record(f)} for s, f in followup.found])
            data["budgets"] = to_jsonable([v.as_record() for v in followup.verdicts])
            lines = [v.line() for v in followup.verdicts]
            if not followup.passed():
                failed = [v.line() for v in followup.verdicts if not v.passed]
                raise CheckFailed("; ".join(failed), data=data)
            if lines:
                detail = f"{detail}; " + "; ".join(lines)
        return Outcome(detail, data)

    return check
