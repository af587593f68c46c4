"""Finance: the settled-through watermark, the budget gate on both sides, the workbook read
back with openpyxl, byte-identical exports of a closed range, the excel-eu CSV dialect, and
a full disk during an export.

The OpenAI side is a real HTTP server on 127.0.0.1 answering documented pages from data
each test chooses (tests/support/usage_api.py); ctoops' clock is pinned."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import usage_api
from usage_api import cost, ts, usage

ADMIN = "sk-admin-financeTestKey0123456789A"
NOW = datetime(2026, 10, 20, 12, tzinfo=UTC).timestamp()  # a Tuesday, midday


@pytest.fixture
def api(server, monkeypatch):
    return usage_api.admin_api(server, monkeypatch, ADMIN, NOW)


def files_in(folder):
    return sorted(p.name for p in folder.iterdir() if p.name != "home")


# -- the settled-through watermark ------------------------------------------------------------------


def landing(kind, day, groups):
    """Data through 10-17 (10-05 landed empty), 10-18 empty, 10-19 not returned, 10-20 (today) partial."""
    if day == ts("2026-10-19"):
        return None
    if day in (ts("2026-10-05"), ts("2026-10-18")):
        return []
    if day == ts("2026-10-20"):
        return [cost("0.40")] if kind == "costs" else [usage(40, 4, 1)]
    return [cost("1.00")] if kind == "costs" else [usage(100, 10, 1)]


def test_the_watermark_stops_at_the_last_landed_bucket_and_names_the_rest(ctoops, api, tmp_path):
    import pyarrow.parquet as pq

    usage_api.serve(api, landing)
    out = tmp_path / "costs.parquet"
    args = ("--via", "openai", "usage", "costs", "--start", "2026-10-01", "--end", "2026-10-23")
    result = ctoops(*args, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    meta = {k.decode(): v.decode() for k, v in pq.read_schema(out).metadata.items() if k.startswith(b"ctoops.")}
    assert meta["ctoops.settled_through"] == "2026-10-18T00:00:00Z"
    assert meta["ctoops.watermark"] == (
        "settled through 2026-10-17; not settled: open 2026-10-20; not landed 2026-10-18; "
        "missing 2026-10-19; future 2026-10-21..2026-10-22 (2)"
    )
    assert meta["ctoops.watermark"] in result.stderr
    # only buckets that can have begun are asked for: the request ends with today
    (request,) = api.seen("/v1/organization/costs")
    assert request.query["end_time"] == str(ts("2026-10-21"))
    summary = ctoops(*args)
    days = {line.split()[0]: line.split() for line in summary.stdout.splitlines() if line.startswith("2026-10-")}
    assert days["2026-10-05"][-2:] == ["0", "settled"]  # landed without cost: 0
    assert days["2026-10-18"][-2:] == ["not", "landed"] and days["2026-10-19"][-1] == "missing"
    assert days["2026-10-20"][1:] == ["usd", "0.4", "open"]  # today's partial figure, not settled
    assert "2026-10-21" not in days and "(2 days after today not shown" in summary.stdout
    totals = summary.stdout.split("Totals")[1].split("By day")[0].split()
    assert totals[-3:] == ["usd", "16.4", "16"]  # everything sent, and the settled part


def test_usage_pulls_carry_the_watermark_too(ctoops, api):
    usage_api.serve(api, landing)
    result = ctoops("--via", "openai", "usage", "pull", "--start", "2026-10-15", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "settled through 2026-10-17; not settled: open 2026-10-20; not landed 2026-10-18; missing 2026-10-19" in (
        result.stderr
    )
    report = json.loads(
        ctoops("--via", "openai", "usage", "report", "--start", "2026-10-15", "--format", "json").stdout
    )
    assert report["watermark"]["lastSettledBucket"] == "2026-10-17" and not report["watermark"]["complete"]
    assert {d["bucket"]: d["status"] for d in report["watermark"]["notSettled"]} == {
        "2026-10-18": "not landed",
        "2026-10-19": "missing",
        "2026-10-20": "open",
    }
    assert [d["input_tokens"] for d in report["byDay"][-3:]] == [None, None, 40]  # never 0 for not landed


def test_nothing_landed_is_said_not_zero(ctoops, api):
    usage_api.serve(api, lambda kind, day, groups: [])
    result = ctoops("--via", "openai", "usage", "costs", "--start", "2026-10-10", "--end", "2026-10-15")
    assert result.exit_code == 0, result.stderr
    assert "nothing settled (no bucket of the range has closed with its data landed)" in result.stdout
    assert "settled" not in [line.split()[-1] for line in result.stdout.splitlines() if line.startswith("2026-10-1")]


# -- the budget gate ------------------------------------------------------------------------------


def spend(kind, day, groups):
    """10 usd a day (proj_a 6, proj_b 4); today (10-20) has 4 usd so far."""
    if day >= ts("2026-10-21"):
        return []
    if day == ts("2026-10-20"):
        return [cost("4.00", project_id="proj_a" if groups else None)]
    if "project_id" in groups:
        return [cost("6.00", project_id="proj_a"), cost("4.00", project_id="proj_b")]
    return [cost("10.00")]


@pytest.mark.parametrize(
    ("flags", "code", "says"),
    [
        (
            ("--budget", "189.99"),
            1,
            "budget FAIL for the range: settled spend is over budget; settled spend 190.00 usd",
        ),
        # settled 190 is within 190, but today's 4 reported so far make 194: not proven, never a pass
        (("--budget", "190"), 1, "budget FAIL for the range: not proven within budget: settled spend 190.00 usd"),
        (("--budget", "194"), 0, "budget PASS for the range: within budget so far; the forecast's high end is over"),
        (("--budget", "300"), 0, "budget PASS for the range: within budget so far; the forecast's high end is over it"),
        (
            ("--budget", "300", "--fail-on-forecast"),
            1,
            "budget FAIL for the range: the forecast's high end is over budget",
        ),
        (("--budget", "310", "--fail-on-forecast"), 0, "budget PASS for the range: within budget"),
        # no cost is in eur: nothing proves an eur spend, so the budget cannot pass (never 0.00 eur)
        (
            ("--budget", "300eur"),
            1,
            "budget FAIL for the range: none of the costs in the range are in eur: they are in usd",
        ),
        (
            ("--budget", "5000xyz"),
            1,
            "budget FAIL for the range: none of the costs in the range are in xyz: they are in usd",
        ),
        (("--budget", "310USD", "--fail-on-forecast"), 0, "budget PASS for the range: within budget"),
    ],
)
def test_the_budget_gate_on_both_sides_of_the_limit(ctoops, api, flags, code, says):
    usage_api.serve(api, spend)
    result = ctoops("--via", "openai", "usage", "costs", "--start", "mtd", *flags)
    assert result.exit_code == code, result.all
    assert says in result.stdout
    line = next(line for line in result.stdout.splitlines() if line.startswith("budget "))
    if "usd" in flags[1].lower() or flags[1].isdigit() or "." in flags[1]:
        # 19 settled days x 10; 12 days ahead (10-20..10-31) x 10 on a constant history: no width
        assert "(settled through 2026-10-19)" in line
        assert "forecast 310.00 usd by 2026-11-01 (90% interval 310.00 usd..310.00 usd)" in line
    assert ("Error: 1 of 1 budget failed" in result.stderr) == (code == 1)


def test_the_gate_works_in_ci_output_on_stderr(ctoops, api, tmp_path):
    usage_api.serve(api, spend)
    out = tmp_path / "spend.csv"
    result = ctoops("--via", "openai", "usage", "costs", "--start", "mtd", "--budget", "100", "-o", str(out))
    assert result.exit_code == 1 and result.stdout == ""
    assert "budget FAIL for the range" in result.stderr and out.exists()  # the export is still written


def test_budgets_per_project(ctoops, api):
    usage_api.serve(api, spend)
    result = ctoops(
        "--via", "openai", "usage", "costs", "--start", "mtd", "--group-by", "project_id",
        "--budget-by", "proj_a=100,proj_b=100", "--forecast",
    )  # fmt: skip
    assert result.exit_code == 1, result.all
    assert "budget FAIL for project proj_a: settled spend is over budget; settled spend 114.00 usd" in result.stdout
    assert "budget PASS for project proj_b: within budget so far" in result.stdout
    assert "settled spend 76.00 usd" in result.stdout and "forecast 124.00 usd" in result.stdout
    assert "Error: 1 of 2 budgets failed" in result.stderr
    forecast = result.stdout.split("Forecast")[1]
    assert "proj_a" in forecast and "proj_b" in forecast and "total" in forecast


def test_a_budget_in_a_currency_no_cost_is_in_never_passes(ctoops, api):
    usage_api.serve(api, spend)
    result = ctoops("--via", "openai", "usage", "costs", "--start", "mtd", "--budget", "10eur", "--format", "json")
    assert result.exit_code == 1, result.all
    (line,) = [line for line in result.stderr.splitlines() if "budget FAIL" in line]
    assert "they are in usd" in line and "0.00 eur" not in line and "too few settled days" not in line
    assert "Error: 1 of 1 budget failed" in result.stderr


def test_a_budget_judges_only_its_own_currency_and_says_so(ctoops, api):
    def two(kind, day, groups):
        found = spend(kind, day, groups)
        return found + [cost("1.00", "eur")] if found and day < ts("2026-10-20") else found

    usage_api.serve(api, two)
    result = ctoops("--via", "openai", "usage", "costs", "--start", "mtd", "--budget", "40eur")
    assert result.exit_code == 0, result.all
    line = next(line for line in result.stdout.splitlines() if line.startswith("budget "))
    assert line.startswith(
        "budget PASS for the range: within budget; settled spend 19.00 eur (settled through 2026-10-19)"
    )
    assert "costs in usd not judged by this budget" in line
    over = ctoops("--via", "openai", "usage", "costs", "--start", "mtd", "--budget", "18.99EUR")
    assert over.exit_code == 1 and "settled spend 19.00 eur" in over.stdout


def test_budgets_per_project_in_a_currency_or_for_a_project_with_no_costs_never_pass(ctoops, api):
    usage_api.serve(api, spend)
    result = ctoops(
        "--via", "openai", "usage", "costs", "--start", "mtd", "--group-by", "project_id",
        "--budget-by", "proj_a=1000eur,proj_b=1000,proj_typo=1000",
    )  # fmt: skip
    assert result.exit_code == 1, result.all
    lines = [line for line in result.stdout.splitlines() if line.startswith("budget ")]
    assert lines[0].startswith(
        "budget FAIL for project proj_a: none of the costs of project proj_a in the range are in eur: they are in usd"
    )
    assert lines[1].startswith("budget PASS for project proj_b: within budget")
    assert lines[2].startswith("budget FAIL for project proj_typo: no costs of project proj_typo in the range")
    assert "Error: 2 of 3 budgets failed" in result.stderr
    run = ctoops(
        "--via", "openai", "runbook", "run", "finance", "-p", "costs.group_by=project_id",
        "-p", "costs.budget_by=proj_a=1000eur,proj_b=1000", "--format", "json",
    )  # fmt: skip
    assert run.exit_code == 1, run.all
    (check,) = json.loads(run.stdout)["checks"]
    assert check["detail"].startswith("budget FAIL for project proj_a: none of the costs of project proj_a")
    verdicts = {b["scope"]: b for b in check["budgets"]}
    assert verdicts["proj_a"]["passed"] is False and verdicts["proj_a"]["settledSpend"] is None
    assert verdicts["proj_a"]["costCurrencies"] == ["usd"] and "they are in usd" in verdicts["proj_a"]["notJudged"]
    assert verdicts["proj_b"]["passed"] is True and verdicts["proj_b"]["notJudged"] is None


def test_nothing_settled_never_passes_a_budget(ctoops, api):
    usage_api.serve(api, lambda kind, day, groups: [])  # nothing has landed: no day is settled
    for gate in ((), ("--fail-on-forecast",)):
        result = ctoops("--via", "openai", "usage", "costs", "--start", "mtd", "--budget", "100", *gate)
        assert result.exit_code == 1, result.all
        assert "budget FAIL for the range: nothing is settled yet" in result.stdout
        assert "settled spend 0.00" not in result.stdout


def test_no_forecast_means_the_forecast_gate_cannot_pass(ctoops, api):
    # 2 settled days (10-18, 10-19) and no history before them: too few days to forecast
    usage_api.serve(api, lambda kind, day, groups: [cost("1.00")] if day >= ts("2026-10-18") else [])
    args = ("--via", "openai", "usage", "costs", "--start", "2026-10-18", "--budget", "100")
    result = ctoops(*args, "--fail-on-forecast")
    assert result.exit_code == 1, result.all
    assert "--fail-on-forecast, but no forecast could be made" in result.stdout
    assert "settled spend 2.00 usd" in result.stdout and "no forecast (too few settled days)" in result.stdout
    assert ctoops(*args).exit_code == 0  # not gated on the forecast: settled spend is within budget


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--budget", "lots"), "is not an amount"),
        (("--budget", "-5"), "is not an amount"),
        (("--budget", "10euro"), "'euro' is not a currency code: give a 3-letter ISO 4217 code"),
        (("--budget", "10 e"), "'e' is not a currency code"),
        (("--group-by", "project_id", "--budget-by", "proj_a=10dollars"), "is not a currency code"),
        (("--budget-by", "proj_a=10"), "add --group-by project_id"),
        (("--group-by", "project_id", "--budget-by", "proj_a"), "give PROJECT_ID=AMOUNT"),
        (("--group-by", "project_id", "--budget-by", "proj_a=1,proj_a=2"), "names proj_a twice"),
        (("--bucket", "1mo", "--forecast"), "leave --bucket at 1d"),
    ],
)
def test_bad_budgets_exit_2_before_any_request(ctoops, api, flags, message):
    result = ctoops("--via", "openai", "usage", "costs", "--start", "mtd", *flags)
    assert result.exit_code == 2 and message in result.stderr
    assert api.requests == []


# -- the workbook ---------------------------------------------------------------------------------

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def september(kind, day, groups):
    """Costs by project and line item, amounts with many decimals; one wider than Excel keeps."""
    i = (day - ts("2026-09-01")) // 86400
    if kind != "costs":
        return [usage(1000 + i, 100, 3, model="gpt-4o"), usage(500, 50 + i, 2, model="o4-mini")]
    rows = [
        cost(Decimal("1.1234567") * (i + 1), project_id="proj_a", line_item="gpt-4o, input", quantity=1000 + i),
        cost(Decimal("0.0200001"), project_id="proj_b", line_item="gpt-4o, output", quantity=50),
    ]
    if i == 3:
        rows.append(cost("0.11101860000000000999", project_id="proj_b", line_item="web search", quantity=1))
    for row in rows:
        row["quantity_unit"] = "tokens"
    return rows


SEPT = ("--start", "2026-09-01", "--end", "2026-10-01")


def test_the_workbook_reads_back_with_openpyxl_and_sums_to_the_csv(ctoops, api, tmp_path, monkeypatch):
    import openpyxl
    from openpyxl.chart import LineChart

    monkeypatch.setenv("CTOOPS_TRACE_ID", TRACE)
    usage_api.serve(api, september)
    group = ("--group-by", "project_id,line_item")
    book, text = tmp_path / "spend.xlsx", tmp_path / "spend.csv"
    for out in (book, text):
        result = ctoops("--via", "openai", "usage", "costs", *SEPT, *group, "-o", str(out))
        assert result.exit_code == 0, result.stderr
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["Totals", "By day", "By project_id", "By line_item", "Rows", "About"]
    rows = list(csv.DictReader(io.StringIO(text.read_text())))
    csv_total = sum(Decimal(r["amount"]) for r in rows)
    cents = Decimal("0.01")
    sheet = wb["Rows"]
    header = [c.value for c in sheet[1]]
    amounts = [r[header.index("amount")] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(amounts) == len(rows) == 61
    assert Decimal(str(sum(amounts))).quantize(cents) == csv_total.quantize(cents)
    exact = [r[header.index("amount (exact text)")] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert sum(Decimal(e) for e in exact) == csv_total  # the exact digits, beside the Excel numbers
    totals = wb["Totals"]  # the total has more digits than Excel keeps: its exact text is beside it
    assert [c.value for c in totals[1]] == [
        "currency",
        "amount",
        "amount (exact text)",
        "settled",
        "settled (exact text)",
    ]
    assert totals["A2"].value == "usd" and Decimal(str(totals["B2"].value)).quantize(cents) == csv_total.quantize(cents)
    assert Decimal(totals["C2"].value) == Decimal(totals["E2"].value) == csv_total
    assert '"USD"' in totals["B2"].number_format
    by_day = wb["By day"]
    assert [c.value for c in by_day[1]] == ["day (UTC)", "status", "amount (usd)", "amount (usd) (exact text)"]
    days = list(by_day.iter_rows(min_row=2, values_only=True))
    assert len(days) == 30 and days[0][0] == datetime(2026, 9, 1) and by_day["A2"].number_format == "yyyy-mm-dd"
    assert {d[1] for d in days} == {"settled"}
    assert Decimal(str(sum(d[2] for d in days))).quantize(cents) == csv_total.quantize(cents)
    (chart,) = by_day._charts
    assert isinstance(chart, LineChart) and len(chart.series) == 1
    by_item = {r[0]: r[2] for r in wb["By line_item"].iter_rows(min_row=2, values_only=True)}
    assert set(by_item) == {"gpt-4o, input", "gpt-4o, output", "web search"}
    for ws in wb:
        assert ws.freeze_panes == "A2", ws.title
    assert wb["By day"].column_dimensions["A"].width >= 10
    about = {r[0]: r[1] for r in wb["About"].iter_rows(min_row=2, values_only=True)}
    assert about["trace_id"] == TRACE and about["settled_through"] == "2026-10-01T00:00:00Z"
    assert about["range_start"] == "2026-09-01T00:00:00Z" and about["range_end"] == "2026-10-01T00:00:00Z"
    assert about["group_by"] == "project_id,line_item" and about["source"] == "GET /v1/organization/costs"
    assert about["generated_at"] == "2026-10-20T12:00:00Z" and about["ctoops_version"]
    assert about["exactness"].startswith("1 amounts have more than 15 significant digits (e.g. 0.11101860000000000999)")
    assert "amounts in Totals, By day, By project_id, By line_item have more than 15" in about["exactness"]


def test_a_usage_workbook_charts_daily_tokens(ctoops, api, tmp_path):
    import openpyxl

    usage_api.serve(api, september)
    out = tmp_path / "usage.xlsx"
    result = ctoops("--via", "openai", "usage", "pull", *SEPT, "--group-by", "model", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Totals", "By day", "By model", "Rows", "About"]
    (chart,) = wb["By day"]._charts
    assert len(chart.series) == 2  # input and output tokens
    totals = {r[0]: r[1] for r in wb["Totals"].iter_rows(min_row=2, values_only=True)}
    assert totals["input_tokens"] == sum(1000 + i + 500 for i in range(30))
    by_model = {r[0]: r[1] for r in wb["By model"].iter_rows(min_row=2, values_only=True)}
    assert by_model == {"gpt-4o": sum(1000 + i for i in range(30)), "o4-mini": 500 * 30}


def test_the_workbook_carries_forecast_and_budget_sheets(ctoops, api, tmp_path):
    import openpyxl

    usage_api.serve(api, spend)
    out = tmp_path / "spend.xlsx"
    result = ctoops(
        "--via", "openai", "usage", "costs", "--start", "mtd", "--forecast", "--budget", "5000",
        "--fail-on-forecast", "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.all
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[-3:] == ["Forecast", "Budget", "About"]
    forecast = dict(zip([c.value for c in wb["Forecast"][1]], [c.value for c in wb["Forecast"][2]], strict=True))
    assert (
        forecast["total"] == 310 and forecast["low"] == forecast["high"] == 310 and forecast["horizon"] == "2026-11-01"
    )
    budget = dict(zip([c.value for c in wb["Budget"][1]], [c.value for c in wb["Budget"][2]], strict=True))
    assert budget["passed"] is True and budget["settledSpend"] == 190 and budget["forecastHigh"] == 310


# -- reproducible exports and CSV dialects ----------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "name"), [("costs", "x.csv"), ("costs", "x.parquet"), ("pull", "x.parquet"), ("pull", "x.csv")]
)
def test_the_same_closed_range_gives_byte_identical_files(ctoops, api, tmp_path, monkeypatch, command, name):
    usage_api.serve(api, september)
    group = "project_id,line_item" if command == "costs" else "model"
    outputs = []
    for i, trace in enumerate((TRACE, "0af7651916cd43dd8448eb211c80319c")):
        monkeypatch.setenv("CTOOPS_TRACE_ID", trace)
        monkeypatch.setattr("ctoops.usage.run.now", lambda i=i: NOW + i * 86400 * 3)  # a later run
        out = tmp_path / f"{i}-{name}"
        result = ctoops("--via", "openai", "usage", command, *SEPT, "--group-by", group, "-o", str(out))
        assert result.exit_code == 0, result.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] and len(outputs[0]) > 1000


def test_parquet_carries_the_provenance_in_its_schema_metadata(ctoops, api, tmp_path):
    import pyarrow.parquet as pq

    usage_api.serve(api, september)
    out = tmp_path / "q.parquet"
    assert ctoops("--via", "openai", "usage", "costs", *SEPT, "--group-by", "project_id", "-o", str(out)).exit_code == 0
    meta = {k.decode(): v.decode() for k, v in pq.read_schema(out).metadata.items() if k.startswith(b"ctoops.")}
    assert meta == {
        "ctoops.source": "GET /v1/organization/costs",
        "ctoops.kind": "costs",
        "ctoops.range_start": "2026-09-01T00:00:00Z",
        "ctoops.range_end": "2026-10-01T00:00:00Z",
        "ctoops.range_end_exclusive": "true",
        "ctoops.bucket": "1d",
        "ctoops.group_by": "project_id",
        "ctoops.filters": "none",
        "ctoops.settled_through": "2026-10-01T00:00:00Z",
        "ctoops.watermark": "settled through 2026-09-30: the whole range",
        "ctoops.rows": "61",
        "ctoops.ctoops_version": meta["ctoops.ctoops_version"],
    }
    assert pq.read_table(out).to_pandas()["amount"].sum() > 0


def test_the_excel_eu_dialect(ctoops, api, tmp_path):
    usage_api.serve(api, september)
    args = ("--via", "openai", "usage", "costs", *SEPT, "--group-by", "project_id,line_item")
    out = tmp_path / "eu.csv"
    written = ctoops(*args, "--csv-dialect", "excel-eu", "-o", str(out))
    printed = ctoops(*args, "--csv-dialect", "excel-eu", "--format", "csv")
    plain = ctoops(*args, "--format", "csv")
    assert written.exit_code == printed.exit_code == plain.exit_code == 0
    data = out.read_bytes()
    assert data.decode("utf-8") == printed.stdout  # the same bytes on stdout as in the file, BOM included
    assert data.startswith(b"\xef\xbb\xbf")  # the UTF-8 BOM Excel looks for
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "start_time;end_time;project_id;line_item;amount;currency;quantity;quantity_unit"
    eu = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    us = list(csv.DictReader(io.StringIO(plain.stdout)))
    assert len(eu) == len(us) == 61
    assert eu[0]["line_item"] == "gpt-4o, input"  # a comma inside a field needs no quotes with ';'
    assert [Decimal(r["amount"].replace(",", ".")) for r in eu] == [Decimal(r["amount"]) for r in us]
    assert "," in eu[0]["amount"] and "." not in eu[0]["amount"]
    assert eu[0]["quantity"] == us[0]["quantity"].replace(".", ",")


# -- a full disk during an export -----------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """A 4 KiB tmpfs: a real filesystem that runs out of space (ENOSPC). Needs root."""
    import os
    import subprocess

    folder = tmp_path / "tiny"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.mark.parametrize("name", ["q3.csv", "q3.json", "q3.parquet", "q3.xlsx"])
def test_a_full_disk_is_named_and_leaves_nothing(ctoops, api, tiny_disk, name):
    usage_api.serve(api, september)
    (tiny_disk / name).write_bytes(b"the previous export")
    out = tiny_disk / name
    result = ctoops("--via", "openai", "usage", "costs", *SEPT, "--group-by", "project_id,line_item", "-o", str(out))
    assert result.exit_code == 2, result.all
    assert f"cannot write {out}: No space left on device (nothing was written; any earlier file is unchanged)" in (
        result.stderr
    )
    assert "internal error" not in result.stderr
    assert sorted(p.name for p in tiny_disk.iterdir()) == [name] and out.read_bytes() == b"the previous export"


@pytest.mark.parametrize("name", ["big.csv", "big.xlsx"])
def test_a_file_size_limit_during_an_export_is_named_too(api, tmp_path, name):
    """Without root: the same path through RLIMIT_FSIZE (EFBIG), in a child process; for a
    workbook, nothing XlsxWriter left half-open complains at exit either."""
    import os
    import resource
    import signal
    import subprocess
    import sys

    usage_api.serve(api, september)
    out = tmp_path / name

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    args = [sys.executable, "-m", "ctoops", "--via", "openai", "usage", "costs", *SEPT, "--group-by", "line_item"]
    done = subprocess.run(
        [*args, "-o", str(out)], capture_output=True, text=True, env=env, preexec_fn=limit, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert f"cannot write {out}: File too large (nothing was written" in done.stderr
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr
    assert files_in(tmp_path) == []


def test_a_budget_matches_the_currency_in_any_case(ctoops, api):
    usage_api.serve(api, lambda kind, day, groups: [cost("10.00", "USD")] if day < ts("2026-10-20") else [])
    result = ctoops("--via", "openai", "usage", "costs", "--start", "mtd", "--budget", "189.99")
    assert result.exit_code == 1, result.all
    assert "budget FAIL for the range: settled spend is over budget; settled spend 190.00 usd" in result.stdout


def test_usd_and_USD_are_one_currency_in_totals_and_the_budget(ctoops, api):
    # the tester's days of 90 usd, 50 USD and 1 usd: two currencies in Totals, and the budget
    # judged 50 of the 141 and passed
    spelled = {ts("2026-10-01"): "usd", ts("2026-10-02"): " USD", ts("2026-10-03"): "Usd"}

    def results(kind, day, groups):
        return [cost({"usd": "90", " USD": "50", "Usd": "1"}[spelled[day]], spelled[day])] if day in spelled else []

    usage_api.serve(api, results)
    rng = ("--start", "2026-10-01", "--end", "2026-10-04")
    as_json = ctoops("--via", "openai", "usage", "costs", *rng, "--format", "json")
    assert as_json.exit_code == 0, as_json.all
    assert {r["currency"] for r in json.loads(as_json.stdout)} == {"usd"}
    gated = ctoops("--via", "openai", "usage", "costs", *rng, "--budget", "100")
    assert gated.exit_code == 1, gated.all
    assert "settled spend 141.00 usd" in gated.stdout and "not judged" not in gated.stdout


@pytest.mark.parametrize(
    ("values", "named"),
    [(["1e-40"], "1E-40"), (["1000000000000", "0.0000000000000000000000000001"], "1000000000000 and 1E-28")],
)
def test_amounts_no_decimal128_holds_are_exit_4_never_rounded(ctoops, api, values, named):
    days = {ts("2026-10-01") + i * 86400: v for i, v in enumerate(values)}
    usage_api.serve(api, lambda kind, day, groups: [cost(days[day])] if day in days else [])
    result = ctoops("--via", "openai", "usage", "costs", "--start", "2026-10-01", "--end", "2026-10-04")
    assert result.exit_code == 4, result.all
    assert f"amounts ({named}) that together need 41 digits" in result.stderr
    assert "internal error" not in result.all


def test_a_month_settled_through_its_28th_is_partly_settled_not_not_landed():
    # --bucket 1mo named a month of 28 settled days "not landed" (the status of its 29th)
    from ctoops.usage.settled import NOT_LANDED, OPEN, PARTLY, SETTLED, Watermark

    start, end = ts("2026-11-01"), ts("2026-12-01")
    days = [(start + i * 86400, SETTLED if i < 28 else NOT_LANDED if i == 28 else OPEN) for i in range(30)]
    mark = Watermark(start, end, 86400, start + 28 * 86400, tuple(days))
    assert mark.period_status(start, end) == PARTLY
    assert mark.period_status(start, start + 28 * 86400) == SETTLED
    assert mark.period_status(start + 28 * 86400, end) == NOT_LANDED  # none of it settled: its first


@pytest.mark.parametrize(("args", "noted"), [((), True), (("--format", "json"), True), (("--format", "csv"), False)])
def test_a_csv_dialect_on_output_that_is_not_csv_is_said(ctoops, args, noted):
    result = ctoops(
        "--sandbox", "--via", "openai", "usage", "costs", "--start", "7d", "--csv-dialect", "excel-eu", *args
    )
    assert result.exit_code == 0, result.all
    assert ("--csv-dialect excel-eu applies to CSV only" in result.stderr) is noted


# -- exact beyond 28 digits -----------------------------------------------------------------------

BIG, TINY = "100000000000000000", "0.0000000000000000001"  # 1e17 and 1e-19: 37 digits together
BOTH = "100000000000000000.0000000000000000001"
GROUPED = "100,000,000,000,000,000.0000000000000000001"  # as a verdict shows it


def big_and_tiny(kind, day, groups):
    """The tester's two costs on 10-01, one per project; nothing else in the range."""
    if day == ts("2026-10-01"):
        return [cost(BIG, project_id="proj_big"), cost(TINY, project_id="proj_tiny")]
    return []


def test_totals_keep_every_digit_decimal128_holds_beyond_python_s_28(ctoops, api, tmp_path):
    # Python's default decimal context keeps 28 digits: the totals and the budget gate read
    # 1e17 + 1e-19 as 1e17 (so a budget of exactly 1e17 passed)
    usage_api.serve(api, big_and_tiny)
    rng = ("--via", "openai", "usage", "costs", "--start", "2026-10-01", "--end", "2026-10-02")
    by = ("--group-by", "project_id")
    table = ctoops(*rng, *by, "--budget", BIG)
    assert table.exit_code == 1, table.all
    totals = table.stdout.split("Totals")[1].split("By day")[0].split()
    assert totals[-3:] == ["usd", BOTH, BOTH]  # everything sent, and the settled part
    days = [line.split() for line in table.stdout.splitlines() if line.startswith("2026-10-01")]
    assert days == [["2026-10-01", "usd", BOTH, "settled"]]
    by_project = table.stdout.split("By project_id")[1].split("Forecast")[0].splitlines()
    groups = {line.split()[0]: line.split()[-1] for line in by_project if line.startswith("proj_")}
    assert groups == {"proj_big": BIG, "proj_tiny": TINY}
    (line,) = [line for line in table.stdout.splitlines() if line.startswith("budget ")]
    assert line.startswith(
        "budget FAIL for the range: settled spend is over budget; "
        f"settled spend {GROUPED} usd (settled through 2026-10-01)"
    )
    assert f"budget {BIG} usd" in line
    exact = ctoops(*rng, *by, "--budget", BOTH)  # the same spend, to the last digit: within budget
    assert exact.exit_code == 0, exact.all
    assert f"budget PASS for the range: within budget; settled spend {GROUPED} usd" in exact.stdout
    as_json = ctoops(*rng, *by, "--format", "json", "--budget", BIG)
    assert as_json.exit_code == 1, as_json.all
    assert [r["amount"] for r in json.loads(as_json.stdout)] == [BIG, TINY]
    assert f"settled spend {GROUPED} usd" in as_json.stderr
    out = tmp_path / "costs.csv"
    written = ctoops(*rng, "--bucket", "1mo", "-o", str(out))  # the month's one row is the total
    assert written.exit_code == 0, written.all
    assert [r["amount"] for r in csv.DictReader(io.StringIO(out.read_text()))] == [BOTH]
    assert f"total {BOTH} usd" in written.stderr
    run = ctoops(
        "--via", "openai", "runbook", "run", "finance", "-p", "costs.start='2026-10-01'", "-p", "costs.end='2026-10-02'",
        "-p", f"costs.budget={BIG}", "-p", "costs.fail_on_forecast=false", "--format", "json",
    )  # fmt: skip
    assert run.exit_code == 1, run.all
    (check,) = json.loads(run.stdout)["checks"]
    assert check["totals"] == [{"currency": "usd", "amount": BOTH, "settled": BOTH}]
    assert check["budgets"][0]["settledSpend"] == BOTH and check["budgets"][0]["unsettledSpend"] == "0"


def test_a_total_past_decimal128_is_exact_never_wrapped(ctoops, api):
    # every amount fits decimal128(38, 19), their sum does not: Arrow summed in decimal128 and
    # wrapped past 2**127 (a negative total of 39 digits of nonsense)
    def days(kind, day, groups):
        if ts("2026-10-01") <= day < ts("2026-10-19"):
            return [cost("1000000000000000000")] + ([cost(TINY)] if day == ts("2026-10-01") else [])
        return []

    usage_api.serve(api, days)
    rng = ("--via", "openai", "usage", "costs", "--start", "2026-10-01", "--end", "2026-10-19")
    result = ctoops(*rng, "--budget", "18000000000000000000")
    assert result.exit_code == 1, result.all
    totals = result.stdout.split("Totals")[1].split("By day")[0].split()
    whole = "18000000000000000000.0000000000000000001"
    assert totals[-3:] == ["usd", whole, whole]
    assert "settled spend 18,000,000,000,000,000,000.0000000000000000001 usd" in result.stdout
    assert "settled spend is over budget" in result.stdout
    # a month's sum goes back into a decimal128 column: 39 digits do not fit, said (exit 4)
    monthly = ctoops(*rng, "--bucket", "1mo")
    assert monthly.exit_code == 4, monthly.all
    assert f"the month sums of the amounts ({whole}) that together need 39 digits" in monthly.stderr


# -- a range with no settled day ------------------------------------------------------------------


def late(kind, day, groups):
    """10 usd a day through 10-18; 10-19 not landed yet; today (10-20) 4 usd so far."""
    if day < ts("2026-10-19"):
        return [cost("10.00")]
    return [cost("4.00")] if day == ts("2026-10-20") else []


def test_a_range_with_no_settled_day_has_no_settled_spend_never_0(ctoops, api):
    # the forecast (from the 28 settled days before the range) said `settled 0`, and Totals too
    usage_api.serve(api, late)
    rng = ("--via", "openai", "usage", "costs", "--start", "2026-10-19", "--forecast")
    piped = ctoops(*rng)
    assert piped.exit_code == 0, piped.all
    totals = piped.stdout.split("Totals")[1].split("By day")[0].splitlines()
    assert totals[1].split() == ["currency", "amount", "settled"] and totals[2].split() == ["usd", "4"]
    forecast = piped.stdout.split("Forecast (90% interval, docs/forecast.md)")[1].splitlines()
    assert forecast[1].split()[:3] == ["scope", "currency", "settled"]
    assert forecast[2].split() == [
        "total", "usd", "130", "130", "130", "2026-11-01", "28",
        "nothing", "of", "the", "range", "is", "settled", "yet",
    ]  # fmt: skip
    shown = ctoops(*rng, env={"CLICOLOR_FORCE": "1", "NO_COLOR": "1", "COLUMNS": "200"})
    header, _, row = shown.stdout.split("Forecast (90% interval, docs/forecast.md)")[1].splitlines()[1:4]
    assert header.split()[:3] == ["scope", "settled", "total"]  # the currency is in every money cell
    assert re.split(r"\s{2,}", row.strip())[:3] == ["total", "130.00 USD", "130.00 USD"]  # settled: empty
    assert not re.search(r"(^|\s)0\.00 USD", row)
    run = ctoops("--via", "openai", "runbook", "run", "finance", "-p", "costs.start='2026-10-19'", "--format", "json")
    check = json.loads(run.stdout)["checks"][0]
    assert check["totals"] == [{"currency": "usd", "amount": "4.00", "settled": None}]
    (found,) = check["forecasts"]
    assert found["settled"] is None and found["total"] == "130.00"
    assert found["note"] == "nothing of the range is settled yet"
    gated = ctoops(*rng, "--budget", "1000")
    assert gated.exit_code == 1 and "budget FAIL for the range: nothing is settled yet" in gated.stdout


def test_a_token_forecast_with_no_settled_day_has_no_settled_tokens(ctoops, api):
    def data(kind, day, groups):
        landed = day < ts("2026-10-19") or day == ts("2026-10-20")
        return [usage(100, 10, model="gpt-4o", project_id="proj_a")] if landed else []

    usage_api.serve(api, data)
    args = ("--via", "openai", "usage", "report", "--start", "2026-10-19", "--forecast")
    found = json.loads(ctoops(*args, "--format", "json").stdout)["forecast"]
    assert found["settled"] is None and found["total"] == "1430"  # 13 days of 110 tokens
    assert found["note"] == "nothing of the range is settled yet"
    table = ctoops(*args).stdout.split("Forecast of tokens")[1].splitlines()[1:3]
    assert table[0].split() == ["settled", "total", "low", "high", "horizon", "daysUsed", "note"]
    assert table[1].split()[:2] == ["1430", "1430"]  # total and low: the settled cell is empty


def spend_with_a_blank(project: str | None = None):
    """``spend``'s results, and on 2026-10-02 one more that came as amount {value: null}
    (of ``project`` when the pull is grouped by project)."""

    def data(kind, day, groups):
        found = spend(kind, day, groups)
        if day == ts("2026-10-02"):
            blank = cost("1.00", project_id=project if groups else None)
            blank["amount"]["value"] = None
            found = [*found, blank]
        return found

    return data


def test_a_result_without_an_amount_never_zeroes_the_settled_spend(ctoops, api):
    # one settled result of proj_a came as amount {value: null}: the settled spend summed to
    # unknown and was read as 0, so 190 usd passed a budget of 100 ("settled spend 0.00 usd"),
    # and proj_a's unsettled part was its whole (unknown) total minus that: -114
    usage_api.serve(api, spend_with_a_blank(project="proj_a"))
    total = ctoops("--via", "openai", "usage", "costs", "--start", "mtd", "--budget", "100")
    assert total.exit_code == 1, total.all
    (line,) = [line for line in total.stdout.splitlines() if line.startswith("budget ")]
    assert line.startswith("budget FAIL for the range: settled spend is over budget; settled spend 190.00 usd")
    assert "1 results without an amount not counted: spend may be higher" in line
    run = ctoops(
        "--via", "openai", "runbook", "run", "finance", "-p", "costs.group_by=project_id",
        "-p", "costs.budget_by=proj_a=1000,proj_b=1000", "-p", "costs.fail_on_forecast=false", "--format", "json",
    )  # fmt: skip
    verdicts = {b["scope"]: b for b in json.loads(run.stdout)["checks"][0]["budgets"]}
    assert verdicts["proj_a"]["settledSpend"] == "114.00" and verdicts["proj_a"]["unsettledSpend"] == "4.00"
    assert verdicts["proj_b"]["settledSpend"] == "76.00" and verdicts["proj_b"]["unsettledSpend"] == "0"


def test_a_result_without_an_amount_leaves_a_budget_unproven_never_a_pass(ctoops, api):
    # 190 usd counted against a budget of 1000, but one result came as amount {value: null}:
    # its spend is unknown, so "within budget" is not proven (it used to PASS, with a note)
    usage_api.serve(api, spend_with_a_blank())
    result = ctoops("--via", "openai", "usage", "costs", "--start", "mtd", "--budget", "1000")
    assert result.exit_code == 1, result.all
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("budget ")]
    assert line.startswith(
        "budget FAIL for the range: not proven within budget: 1 results came without an amount, "
        "so the spend may be higher than the 194.00 usd counted; settled spend 190.00 usd"
    ), line
    run = ctoops(
        "--via", "openai", "runbook", "run", "finance", "-p", "costs.budget=1000",
        "-p", "costs.fail_on_forecast=false", "--format", "json",
    )  # fmt: skip
    assert run.exit_code == 1, run.all
    (verdict,) = json.loads(run.stdout)["checks"][0]["budgets"]
    assert verdict["resultsWithoutAmount"] == 1 and verdict["passed"] is False


def test_unsettled_spend_that_takes_the_range_over_budget_is_never_a_pass(ctoops, api):
    # settled 190 of a 192 budget, and today's 4 already reported: the gate printed PASS
    # ("within budget so far") on settled spend alone
    usage_api.serve(api, spend)
    result = ctoops("--via", "openai", "usage", "costs", "--start", "mtd", "--budget", "192")
    assert result.exit_code == 1, result.all
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("budget ")]
    assert line.startswith(
        "budget FAIL for the range: not proven within budget: settled spend 190.00 usd is within it, but the "
        "unsettled 4.00 usd reported so far would take it to 194.00 usd, over it; settled spend 190.00 usd "
        "(settled through 2026-10-19)"
    )
    assert "Error: 1 of 1 budget failed" in result.stderr
    run = ctoops(
        "--via", "openai", "runbook", "run", "finance", "-p", "costs.group_by=project_id",
        "-p", "costs.budget_by=proj_a=116,proj_b=80", "-p", "costs.fail_on_forecast=false", "--format", "json",
    )  # fmt: skip
    assert run.exit_code == 1, run.all
    verdicts = {b["scope"]: b for b in json.loads(run.stdout)["checks"][0]["budgets"]}
    a, b = verdicts["proj_a"], verdicts["proj_b"]  # proj_a: 114 settled + 4 today > 116
    assert (a["settledSpend"], a["unsettledSpend"], a["spendOverBudget"]) == ("114.00", "4.00", False)
    assert a["withUnsettledOverBudget"] is True and a["passed"] is False
    assert b["withUnsettledOverBudget"] is False and b["passed"] is True


def test_a_workbook_total_excel_cannot_hold_gets_its_exact_text(ctoops, api, tmp_path):
    # each amount fits Excel's 15 digits, their total (37) does not: Totals, By day and Budget
    # held the float 1e17, and About said nothing (it looked at the Rows only)
    import openpyxl

    usage_api.serve(api, big_and_tiny)
    out = tmp_path / "costs.xlsx"
    result = ctoops(
        "--via", "openai", "usage", "costs", "--start", "2026-10-01", "--end", "2026-10-02", "--group-by",
        "project_id", "--budget", BOTH, "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.all
    wb = openpyxl.load_workbook(out)

    def records(name):
        rows = list(wb[name].iter_rows(values_only=True))
        return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]

    (totals,) = records("Totals")
    assert totals["amount (exact text)"] == totals["settled (exact text)"] == BOTH
    assert totals["amount"] == 1e17  # the Excel number, with the exact digits beside it
    (day,) = records("By day")
    assert day["amount (usd) (exact text)"] == BOTH
    (budget,) = records("Budget")
    assert budget["settledSpend (exact text)"] == budget["budget (exact text)"] == BOTH
    assert [c.value for c in wb["By project_id"][1]] == ["project_id", "currency", "amount"]  # 1e17, 1e-19: fit
    about = {r[0]: r[1] for r in wb["About"].iter_rows(min_row=2, values_only=True)}
    assert about["exactness"] == (
        "amounts in Totals, By day, Budget have more than 15 significant digits: Excel keeps 15, so an exact "
        "text column is beside each of them"
    )
