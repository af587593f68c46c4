"""`usage costs` as a runbook operation (the command's parameters in [step.with]) and the
sandbox's finance data, with ctoops' clock pinned (the sandbox lands data by it): usage up
to the last whole hour, costs a day late."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

NOW = datetime(2026, 11, 18, 9, 30, tzinfo=UTC).timestamp()  # mid-month, a Wednesday morning

STEP = """
name = "finance"
[[step]]
name = "costs"
title = "Costs against the month's budget"
run = "usage costs"
[step.with]
{params}
"""


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr("ctoops.checks.clock.now", lambda: NOW)


def book(tmp_path: Path, params: str) -> str:
    path = tmp_path / "finance.toml"
    path.write_text(STEP.format(params=params))
    return str(path)


def sandbox_month_to_date(ctoops) -> dict:
    """The sandbox's settled spend for the month so far, as the command reports it."""
    result = ctoops("--sandbox", "--via", "openai", "usage", "costs", "--start", "mtd", "--forecast")
    assert result.exit_code == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("total ")]
    _, _, settled, total, low, high, *_ = line.split()
    return {"settled": float(settled), "total": float(total), "low": float(low), "high": float(high)}


def test_the_issues_command_runs_in_the_sandbox_and_writes_the_workbook(ctoops, tmp_path):
    import openpyxl

    out = tmp_path / "spend.xlsx"
    result = ctoops(
        "--sandbox", "--via", "openai", "usage", "costs", "--start", "mtd", "--forecast", "--budget", "5000",
        "--fail-on-forecast", "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.all
    assert "settled through 2026-11-16; not settled: open 2026-11-18; not landed 2026-11-17" in result.stderr
    assert "budget PASS for the range: within budget; settled spend" in result.stderr
    assert "forecast" in result.stderr and "by 2026-12-01 (90% interval" in result.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Totals", "By day", "Rows", "Forecast", "Budget", "About"]
    statuses = [r[1] for r in wb["By day"].iter_rows(min_row=2, values_only=True)]
    assert statuses == ["settled"] * 16 + ["not landed", "open"]
    about = {r[0]: r[1] for r in wb["About"].iter_rows(min_row=2, values_only=True)}
    assert about["source"] == "GET /v1/organization/costs (ctoops sandbox)"


def test_a_runbook_step_gates_on_the_budget(ctoops, tmp_path):
    spent = sandbox_month_to_date(ctoops)
    under = book(
        tmp_path, f'start = "mtd"\nforecast = true\nbudget = "{spent["high"] + 1:.2f}"\nfail_on_forecast = true'
    )
    result = ctoops("--sandbox", "--via", "openai", "runbook", "run", under, "--format", "json")
    assert result.exit_code == 0, result.all
    (check,) = json.loads(result.stdout)["checks"]
    assert check["status"] == "pass" and check["settledThrough"] == "2026-11-17T00:00:00Z"
    assert "budget PASS for the range" in check["detail"] and check["budgets"][0]["passed"] is True
    assert check["forecasts"][0]["horizon"] == "2026-12-01"
    over = ctoops(
        "--sandbox", "--via", "openai", "runbook", "run", under, "-p", f"costs.budget={spent['settled'] - 1:.2f}"
    )
    assert over.exit_code == 1
    assert "settled spend is over budget" in over.stdout + over.stderr


def test_a_runbook_step_writes_the_export_with_the_runs_trace_id(ctoops, tmp_path, monkeypatch):
    import openpyxl

    monkeypatch.setenv("CTOOPS_TRACE_ID", "4bf92f3577b34da6a3ce929d0e0e4736")
    out = tmp_path / "month.xlsx"
    path = book(
        tmp_path, f'start = "mtd"\ngroup_by = ["project_id"]\nbudget_by = "proj_sbxWeb=100000"\noutput = "{out}"'
    )
    result = ctoops("--sandbox", "--via", "openai", "runbook", "run", path)
    assert result.exit_code == 0, result.all
    about = {r[0]: r[1] for r in openpyxl.load_workbook(out)["About"].iter_rows(min_row=2, values_only=True)}
    assert about["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and about["group_by"] == "project_id"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ('end = "2026-11-01"', "`usage costs` needs `start`"),
        ('start = "someday"', "'someday' is not understood"),
        ('start = "mtd"\nbudget = "lots"', "`budget`: budget 'lots' is not an amount"),
        ('start = "mtd"\nbudget = true', "`budget`: True is not an amount"),
        ('start = "mtd"\nbudget = "10euro"', "`budget`: budget '10euro': 'euro' is not a currency code"),
        ('start = "mtd"\nbudget_by = "proj_a=1"', "add --group-by project_id"),
        ('start = "mtd"\ngroup_by = ["model"]', "'model' is not one of project_id, line_item"),
        ('start = "mtd"\nforecast = "maybe"', "`forecast`"),
        ('start = "mtd"\noutput = "spend.xls"', "use one of .csv, .json, .parquet, .xlsx"),
        ('start = "mtd"\nbucket = "1mo"\nbudget = "10"', "leave `bucket` at 1d"),
        ('start = "mtd"\ncolour = "red"', "takes no parameter 'colour'"),
    ],
)
def test_bad_costs_steps_exit_2_at_load_naming_file_step_and_key(ctoops, tmp_path, params, message):
    path = book(tmp_path, params)
    result = ctoops("--sandbox", "--via", "openai", "runbook", "run", path)
    assert result.exit_code == 2, result.all
    assert message in result.stderr and "finance.toml" in result.stderr and "(costs)" in result.stderr


def test_costs_via_the_worker_fail_the_step_with_the_reason(ctoops, tmp_path):
    result = ctoops("--sandbox", "runbook", "run", book(tmp_path, 'start = "mtd"'), "--format", "json")
    assert result.exit_code == 2, result.all
    (check,) = json.loads(result.stdout)["checks"]
    assert check["status"] == "fail" and "costs are not available via opencto" in check["detail"]


def test_the_bundled_finance_runbook(ctoops):
    spent = sandbox_month_to_date(ctoops)
    plain = ctoops("--sandbox", "--via", "openai", "runbook", "run", "finance", "--format", "json")
    assert plain.exit_code == 0, plain.all  # no budget given: spend and forecast reported, nothing gated
    (check,) = json.loads(plain.stdout)["checks"]
    assert check["budgets"] == [] and check["forecasts"][0]["total"] == f"{spent['total']:.2f}"
    gated = ctoops(
        "--sandbox", "--via", "openai", "runbook", "run", "finance", "-p", f"costs.budget={spent['low'] - 0.01:.2f}"
    )
    assert gated.exit_code == 1 and "the forecast's high end is over budget" in gated.all
    # the sandbox bills in usd: a budget in another currency (or a made-up one) never passes
    for currency in ("eur", "xyz"):
        other = ctoops(
            "--sandbox", "--via", "openai", "runbook", "run", "finance", "-p", f"costs.budget=5000{currency}"
        )
        assert other.exit_code == 1, other.all
        assert f"budget FAIL for the range: none of the costs in the range are in {currency}: they are in usd" in (
            other.all
        )
