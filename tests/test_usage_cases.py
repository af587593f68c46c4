"""Field cases and hostile answers for usage and costs, through the real CLI against a real
HTTP server on 127.0.0.1 (OPENAI_BASE_URL pointing at it).

* ``costs-amount-string`` (tests/fixtures/cases/, copied from ``../shared/cases/``): costs
  pages whose ``amount.value`` is a numeric string; the variant with ``""`` exits 4 naming
  the bucket and the value.
* Parseable-but-wrong answers (a list where an object is due, a string where a number is
  due) exit 4 naming the field, never 70; an absurd range is refused before any request.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from cases import serve
from fakeserver import Reply

ADMIN = "sk-admin-casesTestKey0123456789AB"


@pytest.fixture
def openai(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN)
    return server


CASE_RANGE = ("--start", "2026-09-29", "--end", "2026-10-01")


def test_costs_amount_string_case_is_exact(ctoops, openai, tmp_path):
    serve(openai, "costs-amount-string", "routes.json")
    out = tmp_path / "costs.csv"
    result = ctoops("--via", "openai", "usage", "costs", *CASE_RANGE, "--group-by", "line_item", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    lines = out.read_text().splitlines()
    amounts = [Decimal(line.split(",")[3]) for line in lines[1:]]  # exact decimal text, never a float's
    assert sorted(amounts) == sorted(Decimal(a) for a in ("12.50", "0.25", "10.1425634", "2.25"))
    assert sum(amounts) == Decimal("25.1425634")
    assert "total 25.1425634 usd" in result.stderr
    as_json = ctoops("--via", "openai", "usage", "costs", *CASE_RANGE, "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert [r["start_time"][:10] for r in rows] == ["2026-09-29"] * 3 + ["2026-09-30"]  # a row per result, as sent
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal("25.1425634")


def test_a_key_sharing_digits_with_the_data_does_not_rewrite_it(ctoops, openai, monkeypatch, tmp_path):
    # the tester's key holds "14256", as the amount 10.1425634 does: masking its fragments
    # printed "10.****34" in JSON and "25.****34" as the total; the key itself stays masked
    key = "sk-admin-Qz14256Xwvutsrqp9999"
    monkeypatch.setenv("OPENAI_ADMIN_KEY", key)
    serve(openai, "costs-amount-string", "routes.json")
    result = ctoops("-v", "--via", "openai", "usage", "costs", *CASE_RANGE, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "10.1425634" in result.stdout and "****" not in result.stdout
    table = ctoops("--via", "openai", "usage", "costs", *CASE_RANGE, "-o", str(tmp_path / "c.csv"))
    assert "total 25.1425634 usd" in table.stderr
    assert "Qz14256X" not in result.all + table.all and "Xwvutsrqp" not in result.all + table.all


def test_costs_amount_empty_string_case_exits_4_naming_bucket_and_value(ctoops, openai, tmp_path):
    serve(openai, "costs-amount-string", "routes-empty.json")
    out = tmp_path / "costs.parquet"
    result = ctoops("--via", "openai", "usage", "costs", *CASE_RANGE, "-o", str(out))
    assert result.exit_code == 4, result.stderr
    assert "the bucket of 2026-09-30" in result.stderr and '`amount.value` = ""' in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.all
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name != "home"] == []


def one_page(results: list, start: int = 1790640000) -> dict:
    return {
        "object": "page",
        "has_more": False,
        "next_page": None,
        "data": [{"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results}],
    }


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/v1/organization/costs", one_page([{"amount": [12.5, "usd"]}]), "`amount` = [12.5"),
        ("/v1/organization/costs", one_page([{"amount": {"value": "twelve", "currency": "usd"}}]), '"twelve"'),
        (
            "/v1/organization/costs",
            one_page([{"amount": {"value": 1, "currency": "usd"}, "project_id": 7}]),
            "`project_id` = 7",
        ),
        ("/v1/organization/costs", [one_page([])], "not an object (list)"),
        (
            "/v1/organization/usage/completions",
            one_page([{"input_tokens": "10", "output_tokens": 1, "num_model_requests": 1}]),
            '`input_tokens` = "10"',
        ),
        ("/v1/organization/usage/completions", one_page(["result"]), "`results[0]` of the bucket of 2026-09-29"),
        ("/v1/organization/usage/completions", one_page({"0": {}}), "results are an object"),
        ("/v1/organization/usage/completions", {**one_page([]), "has_more": "false"}, '`has_more` = "false"'),
    ],
)
def test_a_parseable_but_wrong_answer_exits_4_naming_the_field(ctoops, openai, path, body, named):
    openai.route("GET", path, Reply(json=body))
    command = "costs" if "costs" in path else "pull"
    result = ctoops("--via", "openai", "usage", command, *CASE_RANGE, "--group-by", "project_id")
    assert result.exit_code == 4, result.stderr
    assert named in result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--start", "0001-01-01"), "before 2020-01-01"),
        (("--start", "1999-12-31", "--end", "2026-01-01"), "before 2020-01-01"),
        (("--start", "9999d"), "before 2020-01-01"),
        (("--start", "2026-01-01", "--end", "9999-12-31"), "more than a year ahead"),
        (("--start", "0001-01-01T00:00:00Z"), "before 2020-01-01"),
        (("--start", "2026-01-01", "--end", "2026-13-01T00:00:00Z"), "not understood"),
        (("--start", "2026-10-01T10:00:00Z"), "not on a bucket boundary"),
    ],
)
def test_an_absurd_range_is_refused_before_any_request(ctoops, openai, args, message):
    for command in ("pull", "costs"):
        result = ctoops("--via", "openai", "usage", command, *args)
        assert result.exit_code == 2, result.stderr
        assert message in result.stderr
    assert openai.requests == []
