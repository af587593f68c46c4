"""usage pull / costs / report: paging, windows, faults, exports that reconcile exactly.

The OpenAI side is a real HTTP server on loopback answering from ctoops' sandbox simulation
(the documented page shapes with cursors), with faults injected per request."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import pytest
from bodies import openai_error
from fakeserver import Reply, Seen
from usage_api import ts

from ctoops import sandbox

ADMIN = "sk-admin-usageTestKey0123456789AB"
Q3 = ("--start", "2026-07-01", "--end", "2026-10-01")


def answer(seen: Seen, **override: str) -> Reply:
    """What the sandbox's OpenAI answers to this request (query params overridable)."""
    query = [(k, v) for k, v in seen.query_list if k not in override] + list(override.items())
    status, _, body = sandbox.handle(seen.method, f"{seen.path}?{urlencode(query)}", seen.headers, b"")
    return Reply(status, body=body)


def api_totals(path: str, metric: str, start: int, end: int, **params: str) -> object:
    """The reference total: every bucket of the range asked for in one big request, summed."""
    query = {"start_time": start, "end_time": end, "limit": 180 if "costs" in path else 31, **params}
    total: object = Decimal(0) if metric == "amount" else 0
    page = None
    while True:
        q = dict(query, **({"page": page} if page else {}))
        _, _, body = sandbox.handle("GET", f"/v1{path}?{urlencode(q)}", {}, b"")
        data = json.loads(body, parse_float=Decimal)
        for bucket in data["data"]:
            for result in bucket["results"]:
                total += result["amount"]["value"] if metric == "amount" else result[metric]
        if not data["has_more"]:
            return total
        page = data["next_page"]


@pytest.fixture
def api(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN)
    server.route("GET", "/v1/organization/usage/completions", answer)
    server.route("GET", "/v1/organization/costs", answer)
    return server


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "home")  # home: the test's $HOME


# -- paging ------------------------------------------------------------------------------------


def test_pages_are_followed_and_every_parameter_resent(ctoops, api, tmp_path):
    # the server pages at 10 buckets though 31 were asked for: a 31-day window takes 4 pages
    api.route("GET", "/v1/organization/usage/completions", lambda seen: answer(seen, limit="10"))
    out = tmp_path / "oct.csv"
    result = ctoops(
        "--via",
        "openai",
        "usage",
        "pull",
        "--start",
        "2026-10-01",
        "--end",
        "2026-11-01",
        "--group-by",
        "model,project_id",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    sent = api.seen("/v1/organization/usage/completions")
    assert len(sent) == 4
    for request in sent:
        q = request.query_list
        assert ("start_time", str(ts("2026-10-01"))) in q and ("end_time", str(ts("2026-11-01"))) in q
        assert ("bucket_width", "1d") in q and ("limit", "31") in q
        assert [v for k, v in q if k == "group_by[]"] == ["model", "project_id"]
        assert request.headers["authorization"] == f"Bearer {ADMIN}"
    assert [r.query.get("page") is None for r in sent] == [True, False, False, False]
    assert len({r.query.get("page") for r in sent}) == 4
    rows = read_csv(out)
    assert len({r["start_time"] for r in rows}) == 31
    expected = api_totals("/organization/usage/completions", "input_tokens", ts("2026-10-01"), ts("2026-11-01"))
    assert sum(int(r["input_tokens"]) for r in rows) == expected


def test_has_more_without_a_cursor_fails_loudly_and_writes_nothing(ctoops, api, tmp_path):
    def broken(seen: Seen) -> Reply:
        page = json.loads(answer(seen, limit="10").body)
        page["next_page"] = None
        return Reply(json=page)

    api.route("GET", "/v1/organization/usage/completions", broken)
    result = ctoops(
        "--via",
        "openai",
        "usage",
        "pull",
        "--start",
        "2026-10-01",
        "--end",
        "2026-11-01",
        "-o",
        str(tmp_path / "out.csv"),
    )
    assert result.exit_code == 4
    assert "has_more but gives no next_page" in result.stderr and "partial" in result.stderr
    assert files_in(tmp_path) == []


def test_a_repeated_cursor_fails_loudly(ctoops, api):
    def stuck(seen: Seen) -> Reply:
        page = json.loads(answer(seen, limit="10").body)
        page["next_page"], page["has_more"] = "page_SAME", True
        return Reply(json=page)

    api.route("GET", "/v1/organization/usage/completions", stuck)
    result = ctoops("--via", "openai", "usage", "pull", "--start", "2026-10-01", "--end", "2026-11-01")
    assert result.exit_code == 4 and "repeats the cursor" in result.stderr
    assert len(api.seen("/v1/organization/usage/completions")) == 2


def test_a_page_without_data_or_has_more_is_named(ctoops, api):
    api.route("GET", "/v1/organization/usage/completions", Reply(json={"object": "page", "next_page": None}))
    result = ctoops("--via", "openai", "usage", "pull", "--start", "2026-10-01", "--end", "2026-10-02")
    assert result.exit_code == 4 and "without `data` and `has_more`" in result.stderr


def test_a_bucket_answered_twice_is_not_summed_twice(ctoops, api):
    def doubled(seen: Seen) -> Reply:
        page = json.loads(answer(seen).body)
        page["data"] = page["data"] + page["data"][:1]
        return Reply(json=page)

    api.route("GET", "/v1/organization/usage/completions", doubled)
    result = ctoops("--via", "openai", "usage", "pull", "--start", "2026-10-01", "--end", "2026-10-05")
    assert result.exit_code == 4 and "twice" in result.stderr


def test_a_429_in_the_middle_of_paging_is_retried_and_nothing_is_lost(ctoops, api, tmp_path):
    calls = {"n": 0}

    def flaky(seen: Seen) -> Reply:
        calls["n"] += 1
        if calls["n"] == 2:
            return Reply(
                429,
                json=openai_error("Rate limit reached", "rate_limit_exceeded", type="requests"),
                headers={"retry-after-ms": "50"},
            )
        return answer(seen, limit="10")

    api.route("GET", "/v1/organization/usage/completions", flaky)
    out = tmp_path / "oct.json"
    result = ctoops("--via", "openai", "usage", "pull", "--start", "2026-10-01", "--end", "2026-11-01", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    sent = api.seen("/v1/organization/usage/completions")
    assert len(sent) == 5 and sent[1].query_list == sent[2].query_list  # the same page asked again
    rows = json.loads(out.read_text())
    expected = api_totals("/organization/usage/completions", "num_model_requests", ts("2026-10-01"), ts("2026-11-01"))
    assert sum(r["num_model_requests"] for r in rows) == expected


def test_a_500_that_outlasts_the_retries_leaves_no_file(ctoops, api, tmp_path):
    calls = {"n": 0}

    def failing(seen: Seen) -> Reply:
        calls["n"] += 1
        if calls["n"] == 1:
            return answer(seen, limit="10")
        return Reply(
            500,
            json=openai_error("The server had an error while processing your request", type="server_error"),
        )

    api.route("GET", "/v1/organization/usage/completions", failing)
    out = tmp_path / "oct.parquet"
    out.write_bytes(b"previous export")  # an old file stays as it was
    result = ctoops(
        "--via",
        "openai",
        "--max-retries",
        "1",
        "usage",
        "pull",
        "--start",
        "2026-10-01",
        "--end",
        "2026-11-01",
        "-o",
        str(out),
    )
    assert result.exit_code == 4
    assert "server had an error" in result.stderr
    assert files_in(tmp_path) == ["oct.parquet"] and out.read_bytes() == b"previous export"


def test_windows_are_fetched_concurrently_bounded_and_merged_in_order(ctoops, api, tmp_path):
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def slow(seen: Seen) -> Reply:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        return answer(seen)

    api.route("GET", "/v1/organization/usage/completions", slow)
    out = tmp_path / "year.csv"
    result = ctoops("--via", "openai", "usage", "pull", "--start", "2025-11-01", "--end", "2026-11-01", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert len(api.seen("/v1/organization/usage/completions")) == 12  # 365 days in 31-day windows
    assert state["max"] == 4  # the default bound, reached
    days = [r["start_time"] for r in read_csv(out)]
    assert days == sorted(days) and days[0] == "2025-11-01T00:00:00Z" and days[-1] == "2026-10-31T00:00:00Z"
    assert len(days) == 365


def test_hourly_buckets_page_at_168(ctoops, api):
    result = ctoops(
        "--via",
        "openai",
        "usage",
        "pull",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-15",
        "--bucket",
        "1h",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    sent = api.seen("/v1/organization/usage/completions")
    assert len(sent) == 2 and all(
        ("limit", "168") in r.query_list and ("bucket_width", "1h") in r.query_list for r in sent
    )
    rows = json.loads(result.stdout)
    assert len(rows) == 14 * 24 and rows[1]["start_time"] == "2026-10-01T01:00:00Z"


# -- credentials and the worker ----------------------------------------------------------------


def test_a_non_admin_key_exits_3_asking_for_an_admin_key(ctoops, api, monkeypatch):
    api.route(
        "GET",
        "/v1/organization/usage/completions",
        Reply(
            401,
            json=openai_error("You have insufficient permissions for this operation. Missing scopes: api.usage.read."),
        ),
    )
    result = ctoops("--via", "openai", "usage", "pull", "--start", "7d")
    assert result.exit_code == 3
    assert "admin key" in result.stderr and "OPENAI_ADMIN_KEY" in result.stderr
    assert "keys set --local --admin" in result.stderr


def test_no_admin_key_exits_3_before_any_request(ctoops, api, monkeypatch):
    monkeypatch.delenv("OPENAI_ADMIN_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-notAnAdminKey0000000000")
    result = ctoops("--via", "openai", "usage", "costs", "--start", "7d")
    assert result.exit_code == 3 and "no OpenAI admin key" in result.stderr
    assert api.requests == []


def test_the_workers_legacy_error_points_to_via_openai(ctoops, server, monkeypatch):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", server.url)
    monkeypatch.setenv("OPENCTO_TOKEN", "token-for-the-usage-proxy-01")
    server.route(
        "GET",
        "/api/v1/cto/openai/usage",
        Reply(
            400,
            json=openai_error("Missing query parameter 'date'"),
        ),
    )
    result = ctoops("usage", "pull", "--start", "2026-10-01", "--end", "2026-10-08")
    assert result.exit_code == 1
    assert "Missing query parameter 'date'" in result.stderr and "--via openai usage pull" in result.stderr
    assert server.seen()[0].query == {"start": "2026-10-01", "end": "2026-10-08"}


def test_the_workers_legacy_list_becomes_the_same_rows(ctoops, server, monkeypatch):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", server.url)
    monkeypatch.setenv("OPENCTO_TOKEN", "token-for-the-usage-proxy-01")
    server.route(
        "GET",
        "/api/v1/cto/openai/usage",
        lambda seen: Reply(
            body=sandbox.handle("GET", f"/api/v1/cto/openai/usage?{urlencode(seen.query_list)}", {}, b"")[2]
        ),
    )
    result = ctoops(
        "usage", "pull", "--start", "2026-10-01", "--end", "2026-10-08", "--group-by", "model", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {r["model"] for r in rows} == {"gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-realtime-1.5"}
    expected = api_totals("/organization/usage/completions", "input_tokens", ts("2026-10-01"), ts("2026-10-08"))
    assert sum(r["input_tokens"] for r in rows) == expected  # the same usage, in either shape


# -- costs -------------------------------------------------------------------------------------


def test_costs_export_sums_exactly_to_what_the_api_sent(ctoops, api, tmp_path):
    for name in ("q3.csv", "q3.json", "q3.parquet"):
        out = tmp_path / name
        result = ctoops("--via", "openai", "usage", "costs", *Q3, "--group-by", "project_id,line_item", "-o", str(out))
        assert result.exit_code == 0, result.stderr
    expected = api_totals("/organization/costs", "amount", ts("2026-07-01"), ts("2026-10-01"))
    assert isinstance(expected, Decimal) and expected.as_tuple().exponent < -2
    from_csv = sum(Decimal(r["amount"]) for r in read_csv(tmp_path / "q3.csv"))
    from_json = sum(Decimal(r["amount"]) for r in json.loads((tmp_path / "q3.json").read_text()))
    import pandas as pd

    frame = pd.read_parquet(tmp_path / "q3.parquet")
    assert from_csv == from_json == sum(frame["amount"]) == expected
    assert f"total {expected} usd" in result.stderr
    assert len(api.seen("/v1/organization/costs")) == 3  # one window of 92 days: a page each export
    assert ("limit", "180") in api.seen("/v1/organization/costs")[0].query_list


def test_costs_via_the_worker_is_refused_before_any_request(ctoops, server, monkeypatch):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", server.url)
    result = ctoops("usage", "costs", "--start", "7d")
    assert result.exit_code == 2 and "--via openai" in result.stderr
    assert server.requests == []


# -- exports and bad input -------------------------------------------------------------------


def test_csv_has_stable_columns_iso_utc_and_no_index(ctoops, api, tmp_path):
    out = tmp_path / "u.csv"
    assert (
        ctoops(
            "--via",
            "openai",
            "usage",
            "pull",
            "--start",
            "2026-10-01",
            "--end",
            "2026-10-03",
            "--group-by",
            "model",
            "-o",
            str(out),
        ).exit_code
        == 0
    )
    header, first = out.read_text().splitlines()[:2]
    assert header.split(",")[:6] == [
        "start_time",
        "end_time",
        "model",
        "input_tokens",
        "output_tokens",
        "num_model_requests",
    ]
    assert first.startswith("2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,gpt-4o-2024-08-06,")


def test_parquet_keeps_types(ctoops, api, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "u.parquet"
    assert (
        ctoops(
            "--via",
            "openai",
            "usage",
            "pull",
            "--start",
            "2026-10-01",
            "--end",
            "2026-10-03",
            "--group-by",
            "model,batch",
            "-o",
            str(out),
        ).exit_code
        == 0
    )
    schema = pq.read_schema(out)
    assert str(schema.field("start_time").type).startswith("timestamp") and "UTC" in str(
        schema.field("start_time").type
    )
    assert str(schema.field("input_tokens").type) == "int64" and str(schema.field("batch").type) == "bool"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--start", "2026-10-05", "--end", "2026-10-01"), "must come after the start"),
        (("--start", "someday"), "not understood"),
        (("--start", "7d", "--group-by", "modle"), "cannot group by 'modle'"),
        (("--start", "7d", "--kind", "embeddings", "--group-by", "batch"), "cannot group by 'batch'"),
        (("--start", "7d", "-o", "out.xls"), "use one of .csv, .json, .parquet, .xlsx"),
        (("--start", "7d", "-o", "/no/such/folder/out.csv"), "does not exist"),
        (("--start", "7d", "--group-by", "model,model"), "repeated"),
    ],
)
def test_bad_input_exits_2_before_any_request(ctoops, api, args, message):
    result = ctoops("--via", "openai", "usage", "pull", *args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert api.requests == []


def test_grouping_the_worker_cannot_do_is_refused(ctoops, server, monkeypatch):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", server.url)
    monkeypatch.setenv("OPENCTO_TOKEN", "token-for-the-usage-proxy-01")
    result = ctoops("usage", "pull", "--start", "7d", "--group-by", "user_id")
    assert result.exit_code == 2 and "through the worker's usage proxy" in result.stderr


def test_the_sandbox_lands_usage_by_the_hour_and_costs_a_day_late(ctoops, api, monkeypatch):
    from datetime import UTC, datetime

    now = datetime(2026, 11, 21, 15, 30, tzinfo=UTC).timestamp()
    monkeypatch.setattr("ctoops.checks.clock.now", lambda: now)  # ctoops' clock and the sandbox's
    result = ctoops("--via", "openai", "usage", "pull", "--start", "yesterday", "--end", "tomorrow", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    by_day = {
        day: sum(r["num_model_requests"] for r in rows if r["start_time"][:10] == day)
        for day in ("2026-11-20", "2026-11-21")
    }
    assert by_day["2026-11-20"] > by_day["2026-11-21"] > 0  # today: the hours before 15:00 so far
    assert "settled through 2026-11-20; not settled: open 2026-11-21" in result.stderr
    hours = ctoops("--via", "openai", "usage", "pull", "--start", "today", "--bucket", "1h", "--format", "json")
    hourly = json.loads(hours.stdout)
    assert sum(r["num_model_requests"] for r in hourly) == by_day["2026-11-21"]  # the same hours, summed
    assert max(r["start_time"] for r in hourly) == "2026-11-21T14:00:00Z"
    assert "settled through 2026-11-21T14:00Z; not settled: open 2026-11-21T15:00Z" in hours.stderr
    costs = ctoops("--via", "openai", "usage", "costs", "--start", "2026-11-15", "--format", "json")
    assert costs.exit_code == 0, costs.stderr
    assert {r["start_time"][:10] for r in json.loads(costs.stdout)} == {f"2026-11-{d}" for d in range(15, 20)}
    assert "settled through 2026-11-19; not settled: open 2026-11-21; not landed 2026-11-20" in costs.stderr


def test_summary_report_and_json(ctoops, api):
    summary = ctoops(
        "--via", "openai", "usage", "pull", "--start", "2026-10-01", "--end", "2026-10-08", "--group-by", "project_id"
    )
    assert summary.exit_code == 0, summary.stderr
    assert "Totals" in summary.stdout and "By day" in summary.stdout and "By project_id" in summary.stdout
    assert "2026-10-07" in summary.stdout and "2026-10-08" not in summary.stdout.split("By day")[1].split("By")[0]
    report = ctoops(
        "--via", "openai", "usage", "report", "--start", "2026-10-01", "--end", "2026-10-15", "--format", "json"
    )
    assert report.exit_code == 0, report.stderr
    data = json.loads(report.stdout)
    assert set(data) == {"range", "watermark", "totals", "byModel", "byProject", "byDay", "topMovers", "topMoversSpans"}
    assert sum(r["input_tokens"] for r in data["byModel"]) == data["totals"]["input_tokens"]
    assert sum(r["input_tokens"] for r in data["byDay"]) == data["totals"]["input_tokens"]
    assert len(data["byDay"]) == 14 and {r["status"] for r in data["byDay"]} == {"settled"}
    assert data["watermark"]["complete"] and data["watermark"]["lastSettledBucket"] == "2026-10-14"
    assert data["topMoversSpans"]["daysEach"] == 7 and len(data["topMovers"]) == 3
    mover = data["topMovers"][0]
    assert mover["change_per_day"] == mover["tokens_per_day_second"] - mover["tokens_per_day_first"]


def test_an_interrupted_write_leaves_no_half_file(tmp_path):
    from ctoops.files import atomic_write

    target = tmp_path / "out.csv"

    def interrupted(tmp: Path) -> None:
        tmp.write_text("start_time,end_time\n2026-10-01")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, interrupted)
    assert files_in(tmp_path) == []


def test_progress_goes_to_stderr_only_on_a_terminal(ctoops, api):
    result = ctoops(
        "--via", "openai", "usage", "pull", "--start", "2026-01-01", "--end", "2026-03-01", "--format", "csv"
    )
    assert result.exit_code == 0
    assert "\x1b[" not in result.stderr and "pulling" not in result.stderr
    assert result.stdout.startswith("start_time,end_time,")
