"""`errors trend` from Cloudflare (Workers Observability, GraphQL), replayed from cassettes.

The cassettes (cassettes/test_contract_cloudflare/) hold the documented shapes for the same
synthetic traffic that ``cf_traffic.tail_ndjson`` writes as a tail file, so every source's
counts are compared with the file source's. Cases and their shapes: tests/support/cf_cases.py;
regenerate with tests/support/record_cf.py; re-record against a real account: cassettes/README.md.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from cf_cases import CASES
from cf_scrub import before_record_request, before_record_response
from cf_traffic import events, tail_ndjson

# read at import, before the autouse fixture clears the environment: what re-recording against a
# real account uses (cassettes/README.md, "Cloudflare"); replay needs none of them
TOKEN = os.environ.get("CTOOPS_TEST_CLOUDFLARE_API_TOKEN", "cf-test-token-0000000000000000")
REAL_IDS = {
    name: os.environ[f"CTOOPS_TEST_{name}"]
    for name in ("CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_ZONE_ID")
    if os.environ.get(f"CTOOPS_TEST_{name}")
}
BUCKET_OF = {
    ("POST", "/api/v1/realtime/token"): "realtime_token",
    ("GET", "/api/v1/cto/openai/models"): "cto_openai_proxy",
    ("GET", "/api/v1/cto/openai/usage"): "cto_openai_proxy",
}


def iso_hour(ms: int) -> str:
    return datetime.fromtimestamp(ms // 3_600_000 * 3600, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def vcr_config(vcr_config: dict[str, Any]) -> dict[str, Any]:
    # the telemetry queries share one URL and differ by body; chunks are fetched concurrently
    return {
        **vcr_config,
        "match_on": [*vcr_config["match_on"], "body"],
        "before_record_request": before_record_request,
        "before_record_response": before_record_response,
    }


@pytest.fixture
def cloudflare(ctoops, recorded_clock, monkeypatch, request):
    """Runs the CLI with the case's environment (named after the test)."""
    case = CASES[request.node.name]
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    for name, value in case.env.items():
        monkeypatch.setenv(name, REAL_IDS.get(name, value))
    return lambda: ctoops(*case.args)


def file_rows(ctoops, tmp_path, window: str) -> list[dict[str, Any]]:
    """The file source's rows for the same traffic."""
    path = tmp_path / "tail.ndjson"
    path.write_bytes(tail_ndjson(events()))
    result = ctoops("errors", "trend", str(path), "--window", window, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def counts(rows: list[dict[str, Any]], outcomes: bool = True) -> list[tuple]:
    keys = ["window_start", "bucket", "requests", "status_429", "status_5xx"] + (["error_outcomes"] if outcomes else [])
    return [tuple(r[k] for k in keys) for r in rows]


@pytest.mark.vcr
def test_observability_normal_range(cloudflare, ctoops, tmp_path):
    result = cloudflare()
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert counts(rows) == counts(file_rows(ctoops, tmp_path, "1h"))
    assert len(rows) == 4 and not any(r["sampled"] for r in rows)
    assert "source: Workers Observability (script opencto-api)" in result.stderr


@pytest.mark.vcr
def test_observability_sampled_range(cloudflare, ctoops, tmp_path):
    result = cloudflare()
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert all(r["sampled"] and r["sample_interval"] == 10 for r in rows)
    # the estimate is count x sampleInterval: the fake logged every 10th request of the paths asked for
    logged = [e for e in events() if e.path in {p for _, p in BUCKET_OF}][::10]
    expected = Counter(
        (iso_hour(e.ts_ms), BUCKET_OF[(e.method, e.path)]) for e in logged if (e.method, e.path) in BUCKET_OF
    )
    assert {(r["window_start"], r["bucket"]): r["requests"] for r in rows} == {k: 10 * n for k, n in expected.items()}
    assert "estimates" in result.stderr and "1 in 10" in result.stderr


@pytest.mark.vcr
def test_observability_empty_range(cloudflare):
    result = cloudflare()
    assert result.exit_code == 2
    assert "no event of the script 'opencto-api' between 2026-11-21T11:00:00Z" in result.stderr
    assert result.stdout == ""


@pytest.mark.vcr
def test_observability_disabled(cloudflare):
    result = cloudflare()
    assert result.exit_code == 2
    assert "not enabled" in result.stderr and "[observability] enabled = true" in result.stderr
    assert result.stdout == ""


@pytest.mark.vcr
def test_auto_falls_back_to_graphql(cloudflare, ctoops, tmp_path):
    result = cloudflare()
    assert result.exit_code == 0, result.stderr
    assert "falling back to GraphQL" in result.stderr
    assert counts(json.loads(result.stdout), outcomes=False) == counts(file_rows(ctoops, tmp_path, "1h"), False)


@pytest.mark.vcr
def test_observability_permission_error(cloudflare):
    result = cloudflare()
    assert result.exit_code == 3
    assert "[code 10000] Authentication error" in result.stderr and "permissions" in result.stderr
    assert TOKEN not in result.stderr


@pytest.mark.vcr
def test_observability_paged_long_range(cloudflare, ctoops, tmp_path):
    result = cloudflare()
    assert result.exit_code == 0, result.stderr
    assert counts(json.loads(result.stdout)) == counts(file_rows(ctoops, tmp_path, "5m"))
    assert "(5 queries)" in result.stderr  # the probe, then 2 chunks x (grouped + total)


@pytest.mark.vcr
def test_graphql_normal_range(cloudflare, ctoops, tmp_path):
    result = cloudflare()
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    # the edge has no outcomes: an exception is its 1101 page, a 500, so the 5xx agree
    assert counts(rows, outcomes=False) == counts(file_rows(ctoops, tmp_path, "1h"), outcomes=False)
    assert all(r["error_outcomes"] == 0 for r in rows)


@pytest.mark.vcr
def test_graphql_sampled_range(cloudflare, ctoops, tmp_path):
    result = cloudflare()
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    # count is already extrapolated (not multiplied again), and flagged as an estimate
    assert counts(rows, outcomes=False) == counts(file_rows(ctoops, tmp_path, "1h"), outcomes=False)
    assert all(r["sampled"] and r["sample_interval"] == 10 for r in rows)


@pytest.mark.vcr
def test_graphql_empty_range(cloudflare):
    result = cloudflare()
    assert result.exit_code == 2
    assert "the zone saw no request for api.opencto.works" in result.stderr and "workers.dev" in result.stderr
    assert result.stdout == ""


@pytest.mark.vcr
def test_graphql_permission_error(cloudflare):
    result = cloudflare()
    assert result.exit_code == 3
    assert "not authorized for that account" in result.stderr and "Analytics Read" in result.stderr


@pytest.mark.vcr
def test_graphql_error_on_200(cloudflare):
    result = cloudflare()
    assert result.exit_code == 4
    assert "answered 200 with errors: unable to execute query" in result.stderr
    assert result.stdout == ""


@pytest.mark.vcr
def test_graphql_paged_long_range(cloudflare, ctoops, tmp_path):
    result = cloudflare()
    assert result.exit_code == 0, result.stderr
    assert counts(json.loads(result.stdout), outcomes=False) == counts(file_rows(ctoops, tmp_path, "1m"), False)
    assert "(17 queries)" in result.stderr  # settings, then 2 one-hour chunks of 8 pages of at most 25 groups


@pytest.mark.vcr
def test_only_token_account_and_url(cloudflare):
    result = cloudflare()
    assert result.exit_code == 1  # the 5xx rate is over 2 % in both hours
    assert "over threshold: cto_openai_proxy 2026-11-21T09:00:00Z 5xx rate 11.5% > 2.0%" in result.stderr
    assert "realtime_token" in result.stdout and "429" in result.stdout  # the table, then the chart
    assert "source: Workers Observability (script opencto-api), 2026-11-20T12:00:00Z to 2026-11-21T12:00:00Z" in (
        result.stderr
    )


@pytest.mark.vcr
def test_graphql_zone_looked_up(cloudflare, ctoops, tmp_path):
    result = cloudflare()
    assert result.exit_code == 0, result.stderr
    assert "zone fedcba9876543210fedcba9876543210" in result.stderr
    assert counts(json.loads(result.stdout), outcomes=False) == counts(file_rows(ctoops, tmp_path, "1h"), False)
