"""`usage report` and the summaries: top movers over equal per-day rates, every section in
CSV, the same CSV from -o and --format csv, unsent metrics empty (not 0), and 1mo buckets.

The OpenAI side is a real HTTP server on 127.0.0.1 answering documented pages from data
each test chooses (tests/support/usage_api.py); ctoops' clock is pinned after the ranges."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import usage_api
from usage_api import cost, ts, usage

ADMIN = "sk-admin-reportTestKey0123456789AB"
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC).timestamp()
OCT = ("--start", "2026-10-01", "--end", "2026-11-01")


@pytest.fixture
def api(server, monkeypatch):
    return usage_api.admin_api(server, monkeypatch, ADMIN, NOW)


def steady_and_growing(kind, day, groups):
    """gpt-steady: 1000 tokens every day; gpt-growing: 100 more each day of October."""
    i = (day - ts("2026-10-01")) // 86400
    return [
        usage(800, 200, 10, model="gpt-steady", project_id="proj_a"),
        usage(100 * (i + 1), 0, 1, model="gpt-growing", project_id="proj_b"),
    ]


def test_top_movers_compare_equal_spans_per_day(ctoops, api):
    usage_api.serve(api, steady_and_growing)
    result = ctoops("--via", "openai", "usage", "report", *OCT, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    spans = data["topMoversSpans"]
    # 31 settled days: the first 15 against the last 15, the 16th left out
    assert spans == {
        "first": {"start": "2026-10-01", "end": "2026-10-16"},
        "second": {"start": "2026-10-17", "end": "2026-11-01"},
        "daysEach": 15,
        "dayLeftOut": "2026-10-16",
    }
    movers = {m["model"]: m for m in data["topMovers"]}
    steady = movers["gpt-steady"]
    assert steady["tokens_per_day_first"] == steady["tokens_per_day_second"] == 1000
    assert steady["change_per_day"] == 0 and steady["change_pct"] == 0  # a 16/15 split showed a decline
    growing = movers["gpt-growing"]
    assert growing["tokens_per_day_first"] == 800 and growing["tokens_per_day_second"] == 2400
    assert growing["change_per_day"] == 1600 and growing["change_pct"] == 200.0
    assert data["topMovers"][0]["model"] == "gpt-growing"


def test_top_movers_use_settled_days_only(ctoops, api, monkeypatch):
    monkeypatch.setattr("ctoops.usage.run.now", lambda: ts("2026-10-11") + 3600)
    usage_api.serve(api, steady_and_growing)
    result = ctoops("--via", "openai", "usage", "report", "--start", "2026-10-01", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    # today (10-11) is open: 10 settled days, 5 against 5; today's partial bucket is not a decline
    assert data["topMoversSpans"]["daysEach"] == 5 and data["topMoversSpans"]["second"]["end"] == "2026-10-11"
    steady = next(m for m in data["topMovers"] if m["model"] == "gpt-steady")
    assert steady["change_per_day"] == 0
    assert data["byDay"][-1] == {**data["byDay"][-1], "day": "2026-10-11", "status": "open"}


def test_report_csv_has_every_section_in_one_long_table(ctoops, api):
    usage_api.serve(api, steady_and_growing)
    as_json = json.loads(ctoops("--via", "openai", "usage", "report", *OCT, "--format", "json").stdout)
    result = ctoops("--via", "openai", "usage", "report", *OCT, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["section", "key", "metric", "value"]
    assert {r["section"] for r in rows} == set(as_json)
    by_day = [r for r in rows if r["section"] == "byDay" and r["metric"] == "input_tokens"]
    assert len(by_day) == 31 and sum(int(r["value"]) for r in by_day) == as_json["totals"]["input_tokens"]
    totals = {r["metric"]: r["value"] for r in rows if r["section"] == "totals"}
    assert int(totals["output_tokens"]) == as_json["totals"]["output_tokens"] == 200 * 31
    growing = {r["metric"]: r["value"] for r in rows if r["section"] == "topMovers" and r["key"] == "gpt-growing"}
    assert growing["change_per_day"] == "1600"
    assert any(r["section"] == "watermark" and r["metric"] == "complete" and r["value"] == "true" for r in rows)


@pytest.mark.parametrize("command", ["pull", "costs"])
@pytest.mark.parametrize("group_name", ["gpt-4o", 'gpt-4o, "tuned"'])  # a value that needs quotes too
def test_dash_o_csv_and_format_csv_write_the_same_bytes(ctoops, api, tmp_path, command, group_name):
    def data(kind, day, groups):
        if kind == "costs":
            return [cost("0.10", project_id=group_name), cost("2.5", project_id="proj_b")]
        return [usage(10, 2, 1, model=group_name), usage(5, 1, 1, model="o4-mini")]

    usage_api.serve(api, data)
    group = "project_id" if command == "costs" else "model"
    out = tmp_path / "x.csv"
    args = ("--via", "openai", "usage", command, "--start", "2026-10-01", "--end", "2026-10-04", "--group-by", group)
    written = ctoops(*args, "-o", str(out))
    printed = ctoops(*args, "--format", "csv")
    assert written.exit_code == printed.exit_code == 0, written.stderr + printed.stderr
    assert out.read_bytes() == printed.stdout.encode()
    rows = list(csv.DictReader(io.StringIO(printed.stdout)))
    assert len(rows) == 6 and group_name in {r[group] for r in rows}


def test_a_metric_the_api_did_not_send_is_empty_not_zero(ctoops, api, tmp_path):
    def data(kind, day, groups):
        if day == ts("2026-10-01"):
            return [usage(1000, 10, 2, model="gpt-4o", input_cached_tokens=400)]
        return [usage(500, 5, 1, model="gpt-4o")]  # this day's answer has no input_cached_tokens

    usage_api.serve(api, data)
    out = tmp_path / "u.csv"
    args = ("--via", "openai", "usage", "pull", "--start", "2026-10-01", "--end", "2026-10-03")
    result = ctoops(*args, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["input_cached_tokens"] for r in rows] == ["400", ""]  # 0 would say 500 uncached tokens
    assert [r["input_audio_tokens"] for r in rows] == ["", ""]
    assert "input_cached_tokens (not sent)" in result.stderr and "input_tokens 1500" in result.stderr
    records = json.loads(ctoops(*args, "--format", "json").stdout)
    assert [r["input_cached_tokens"] for r in records] == [400, None]
    summary = ctoops(*args)
    totals = summary.stdout.split("Totals")[1].split("By day")[0]
    assert "input_cached_tokens" in totals and "400" not in totals  # the total is unknown, not 400
    report = json.loads(
        ctoops(
            "--via", "openai", "usage", "report", "--start", "2026-10-01", "--end", "2026-10-03", "--format", "json"
        ).stdout
    )
    assert report["totals"]["input_cached_tokens"] is None and report["byDay"][0]["input_cached_tokens"] == 400


def test_monthly_buckets_are_summed_from_days_and_clipped_to_the_range(ctoops, api):
    def data(kind, day, groups):
        i = (day - ts("2026-07-01")) // 86400
        if kind == "costs":
            return [cost(Decimal("0.0000001") * (i + 1), project_id="proj_a")]
        return [usage(i + 1, 1, 1, model="gpt-4o")]

    usage_api.serve(api, data)
    args = ("--start", "2026-07-15", "--end", "2026-10-01", "--format", "json")
    monthly = json.loads(ctoops("--via", "openai", "usage", "pull", *args, "--bucket", "1mo").stdout)
    daily = json.loads(ctoops("--via", "openai", "usage", "pull", *args).stdout)
    assert [(r["start_time"][:10], r["end_time"][:10]) for r in monthly] == [
        ("2026-07-15", "2026-08-01"),  # a partial month at the edge says so
        ("2026-08-01", "2026-09-01"),
        ("2026-09-01", "2026-10-01"),
    ]
    for month in monthly:
        days = [d for d in daily if month["start_time"] <= d["start_time"] < month["end_time"]]
        assert month["input_tokens"] == sum(d["input_tokens"] for d in days)
        assert month["num_model_requests"] == len(days)
    assert len(api.seen("/v1/organization/usage/completions")) == 6  # 1d pages under the hood, twice
    assert all(("bucket_width", "1d") in r.query_list for r in api.seen("/v1/organization/usage/completions"))
    costs = json.loads(ctoops("--via", "openai", "usage", "costs", *args, "--bucket", "1mo").stdout)
    costs_daily = json.loads(ctoops("--via", "openai", "usage", "costs", *args).stdout)
    assert sum(Decimal(r["amount"]) for r in costs) == sum(Decimal(r["amount"]) for r in costs_daily)
    assert costs[1]["amount"] == str(sum(Decimal("0.0000001") * (i + 1) for i in range(31, 62)).normalize())


def test_summary_shows_every_day_with_its_status(ctoops, api, monkeypatch):
    monkeypatch.setattr("ctoops.usage.run.now", lambda: ts("2026-10-06") + 3600)

    def data(kind, day, groups):
        if day == ts("2026-10-02"):
            return []  # landed, nothing used
        if day >= ts("2026-10-05"):
            return []  # not landed yet (or nothing used: the answer cannot say)
        return [cost("1.25", project_id="proj_a")]

    usage_api.serve(api, data)
    result = ctoops("--via", "openai", "usage", "costs", "--start", "2026-10-01")
    assert result.exit_code == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("2026-10-")}
    assert lines["2026-10-02"].split()[-2:] == ["0", "settled"]  # a settled day without data: 0
    assert lines["2026-10-05"].endswith("not landed") and "0" not in lines["2026-10-05"].split()
    assert lines["2026-10-06"].endswith("open")
    assert "settled through 2026-10-04" in result.stdout


def test_relative_hours_floor_to_the_hour_for_hourly_buckets(ctoops, api):
    usage_api.serve(api, lambda kind, day, groups: [usage(1, 1, 1)])
    result = ctoops("--via", "openai", "usage", "pull", "--bucket", "1h", "--start", "6h", "--format", "json")
    assert result.exit_code == 0, result.stderr
    (request,) = api.seen("/v1/organization/usage/completions")
    assert request.query["start_time"] == str(int(NOW) // 3600 * 3600 - 6 * 3600)  # 06:00 for 12:00 now
    assert request.query["end_time"] == str(int(NOW) // 3600 * 3600 + 3600)  # through the current hour
    assert ("bucket_width", "1h") in request.query_list and len(json.loads(result.stdout)) == 7


def test_the_workers_legacy_list_reads_a_quiet_day_as_landed_empty(ctoops, server, monkeypatch):
    """The legacy /v1/usage list has entries only for what was used: a day without entries
    before a day with data is a settled 0, after the last one it is not landed."""
    from fakeserver import Reply

    monkeypatch.setenv("OPENCTO_API_BASE_URL", server.url)
    monkeypatch.setenv("OPENCTO_TOKEN", "token-for-the-usage-proxy-01")
    monkeypatch.setattr("ctoops.usage.run.now", lambda: NOW)
    entry = {"n_requests": 2, "snapshot_id": "gpt-4o", "n_context_tokens_total": 10, "n_generated_tokens_total": 1}
    body = {
        "object": "list",
        "data": [
            {**entry, "aggregation_timestamp": ts("2026-10-01") + 600},
            {**entry, "aggregation_timestamp": ts("2026-10-03") + 600},
        ],
    }
    server.route("GET", "/api/v1/cto/openai/usage", Reply(json=body))
    result = ctoops("usage", "pull", "--start", "2026-10-01", "--end", "2026-10-05")
    assert result.exit_code == 0, result.stderr
    days = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.startswith("2026-10-")}
    assert days["2026-10-02"][1] == "0" and days["2026-10-02"][-1] == "settled"
    assert days["2026-10-04"][-2:] == ["not", "landed"]
    assert "settled through 2026-10-03; not settled: not landed 2026-10-04" in result.stdout
