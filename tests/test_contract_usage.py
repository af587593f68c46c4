"""usage pull / costs against the documented answer shapes, replayed from cassettes
(cassettes/test_contract_usage/): both usage shapes, costs, two pages, empty buckets, and the
older `result` key."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from conftest import RECORD_ADMIN_KEY, RECORD_API_URL, RECORD_TOKEN


@pytest.fixture
def admin(monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", RECORD_ADMIN_KEY)


@pytest.mark.vcr
def test_usage_pull_two_pages(ctoops, admin, tmp_path):
    out = tmp_path / "usage.csv"
    result = ctoops(
        "--via",
        "openai",
        "usage",
        "pull",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-05",
        "--group-by",
        "model",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["start_time"][:10], r["model"], r["input_tokens"]) for r in rows] == [
        ("2026-10-01", "gpt-4o-2024-08-06", "1000"),
        ("2026-10-01", "gpt-4o-mini-2024-07-18", "2200"),
        ("2026-10-03", "gpt-4o-2024-08-06", "800"),
        ("2026-10-04", "gpt-4o-mini-2024-07-18", "90"),
    ]
    assert rows[2]["input_cached_tokens"] == ""  # an optional metric not sent: empty, never 0
    assert rows[0]["input_audio_tokens"] == "50"
    assert sum(int(r["num_model_requests"]) for r in rows) == 5 + 11 + 4 + 1
    assert "input_tokens 4090" in result.stderr and "(2 requests)" in result.stderr


@pytest.mark.vcr
def test_usage_pull_older_result_key(ctoops, admin):
    result = ctoops(
        "--via", "openai", "usage", "pull", "--start", "2026-10-01", "--end", "2026-10-03", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["input_tokens"] == 4000 and row["num_model_requests"] == 20
    assert row["start_time"] == "2026-10-01T00:00:00Z" and row["end_time"] == "2026-10-02T00:00:00Z"


@pytest.mark.vcr
def test_usage_pull_via_worker_legacy_list(ctoops, monkeypatch):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", RECORD_API_URL)
    monkeypatch.setenv("OPENCTO_TOKEN", RECORD_TOKEN)
    result = ctoops(
        "usage",
        "pull",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-03",
        "--group-by",
        "model,project_id",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows == [
        {
            **rows[0],
            "start_time": "2026-10-01T00:00:00Z",
            "model": "gpt-4o-2024-08-06",
            "project_id": "proj_abc",
            "input_tokens": 7786 + 214,
            "output_tokens": 412 + 88,
            "num_model_requests": 15,
            "input_cached_tokens": 1024,
        },
        {
            **rows[1],
            "start_time": "2026-10-02T00:00:00Z",
            "model": "gpt-4o-mini-2024-07-18",
            "project_id": None,
            "input_tokens": 1500,
            "output_tokens": 75,
            "num_model_requests": 5,
            "input_cached_tokens": None,  # this legacy entry has no n_cached_context_tokens_total: not 0
        },
    ]


@pytest.mark.vcr
def test_usage_costs(ctoops, admin, tmp_path):
    out = tmp_path / "costs.json"
    result = ctoops(
        "--via",
        "openai",
        "usage",
        "costs",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-03",
        "--group-by",
        "project_id,line_item",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(out.read_text())
    assert [r["amount"] for r in rows] == ["0.6268575", "0.6474", "0.11101860000000000999"]
    assert rows[0]["line_item"] == "gpt-4o-2024-08-06, input" and rows[0]["quantity_unit"] == "tokens"
    total = sum(Decimal(r["amount"]) for r in rows)
    assert total == Decimal("1.38527610000000000999")
    assert f"total {total} usd" in result.stderr
