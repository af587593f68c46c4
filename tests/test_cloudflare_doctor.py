"""`ctoops doctor logs` against a loopback Cloudflare (tests/support/cf_fake.py): each source's
probe, what it says is needed, and the exit codes."""

from __future__ import annotations

import json

import pytest
from cf_fake import FakeCloudflare, Scenario
from cf_traffic import ACCOUNT, ZONE, events

TOKEN = "cf-test-token-0000000000000000"


@pytest.fixture
def cloudflare(server, monkeypatch):
    def start(**scenario):
        fake = FakeCloudflare(server, events(), Scenario(**scenario))
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
        monkeypatch.setenv("CLOUDFLARE_ZONE_ID", ZONE)
        monkeypatch.setenv("CLOUDFLARE_BASE_URL", fake.base_url)
        monkeypatch.setattr("ctoops.checks.clock.now", lambda: 1795262400.0)
        return fake

    return start


def by_source(result) -> dict[str, dict]:
    return {row["source"]: row for row in json.loads(result.stdout)}


def test_every_source_usable(ctoops, cloudflare):
    cloudflare()
    result = ctoops("doctor", "logs", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = by_source(result)
    assert [rows[s]["usable"] for s in ("files", "observability", "graphql", "live")] == ["yes"] * 4
    assert "head_sampling_rate = 1.0" in rows["observability"]["detail"]
    assert "history 31 days" in rows["graphql"]["detail"]
    assert rows["logpush"]["usable"] == "no"
    assert TOKEN not in result.all and "****0000" in result.stderr


def test_observability_off_and_no_tail_permission_name_what_is_needed(ctoops, cloudflare):
    cloudflare(observability_enabled=False, tail_denied=True)
    result = ctoops("doctor", "logs", "--format", "json")
    assert result.exit_code == 0, result.stderr  # graphql still sees the worker
    rows = by_source(result)
    assert rows["observability"]["usable"] == "no" and "enabled = False" in rows["observability"]["detail"]
    assert "[observability] enabled = true" in rows["observability"]["needs"]
    assert rows["live"]["usable"] == "no" and "[code 10000]" in rows["live"]["detail"]
    assert "Workers Tail Read" in rows["live"]["needs"]


def test_a_token_that_sees_nothing_fails(ctoops, cloudflare):
    cloudflare(permission_error=True)
    result = ctoops("doctor", "logs")
    assert result.exit_code == 1
    assert "no Cloudflare source can see this worker" in result.stderr


def test_without_a_token_only_files(ctoops):
    result = ctoops("doctor", "logs", "--format", "json")
    assert result.exit_code == 3
    rows = by_source(result)
    assert rows["files"]["usable"] == "yes" and rows["graphql"]["usable"] == "not probed"
    assert "CLOUDFLARE_API_TOKEN" in rows["graphql"]["needs"]


RATES_BOOK = """
name = "rates-only"
title = "Step 5 alone"

[[step]]
name = "rates"
title = "5. Monitor 429 and 5xx rates"
run = "errors trend"
[step.with]
sources = []
since = "2026-11-21T09:00:00Z"
until = "2026-11-21T11:00:00Z"
window = "1h"
max_429_rate = 0.5
max_5xx_rate = 0.02
min_requests = 20
"""


def test_runbook_step_5_counts_from_cloudflare_with_the_shared_verdict(ctoops, cloudflare, tmp_path):
    cloudflare(observability_enabled=False)  # auto falls back to the zone's GraphQL counts
    book = tmp_path / "rates.toml"
    book.write_text(RATES_BOOK)
    result = ctoops("runbook", "run", str(book), "--format", "json")
    assert result.exit_code == 1, result.stderr  # the 5xx rate is over 2 % in both hours
    report = json.loads(result.stdout)
    check = next(c for c in report["checks"] if c["check"] == "rates")
    assert check["status"] == "fail" and check["exitCode"] == 1
    assert "over the 429/5xx thresholds" in check["detail"] and "cto_openai_proxy 429" in check["detail"]
    assert "falling back to GraphQL" in result.stderr


def test_runbook_step_5_reads_files_when_given_even_with_a_token(ctoops, cloudflare, tmp_path, server):
    from cf_traffic import tail_ndjson

    cloudflare()
    log = tmp_path / "tail.ndjson"
    log.write_bytes(tail_ndjson(events()))
    book = tmp_path / "rates.toml"
    book.write_text(RATES_BOOK.replace("sources = []", f"sources = [{str(log)!r}]"))
    result = ctoops("runbook", "run", str(book), "--format", "json")
    assert result.exit_code == 1, result.stderr
    assert not server.seen()  # no call to Cloudflare


def test_since_7d_is_the_7_days_workers_logs_keeps_not_an_error(ctoops, cloudflare, monkeypatch):
    cloudflare()
    ticks = iter([1795262400.0, 1795262400.5] + [1795262401.0] * 100)  # each read of the clock a moment later
    monkeypatch.setattr("ctoops.checks.clock.now", lambda: next(ticks))
    result = ctoops(
        "errors", "trend", "--source", "observability", "--since", "7d", "--window", "1h", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    assert "2026-11-14T12:00:0" in result.stderr  # started at the oldest kept, not refused


def test_older_than_kept_is_refused_before_any_query(ctoops, cloudflare, server):
    cloudflare()
    result = ctoops("errors", "trend", "--source", "observability", "--since", "8d")
    assert result.exit_code == 2 and "older than Workers Logs keeps (7 days" in result.stderr
    assert not server.seen()


def test_a_script_found_through_the_zones_routes_does_not_deadlock(cloudflare, server, tmp_path):
    # script() looked the zone up while holding the lock zone_id() takes: a custom host hung
    import os
    import subprocess
    import sys

    from cf_fake import PREFIX, envelope
    from fakeserver import Reply

    cloudflare()
    routes = [{"id": "r1", "pattern": "ops.opencto.works/*", "script": "opencto-api"}]
    server.route("GET", f"{PREFIX}/zones/{ZONE}/workers/routes", Reply(json=envelope(routes)))
    env = {**os.environ, "OPENCTO_API_BASE_URL": "https://ops.opencto.works"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ctoops", "doctor", "logs", "--format", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("doctor logs hung looking the script up through the zone's routes")
    assert done.returncode == 0, done.stderr
    rows = {row["source"]: row for row in json.loads(done.stdout)}
    # script-settings is asked per script: the script was found through the zone's routes
    assert rows["logpush"]["detail"] == "script-settings logpush = False"
    assert TOKEN not in done.stdout + done.stderr
