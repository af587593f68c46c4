"""`ctoops smoke` and its reports, over real HTTP to a loopback worker, and in the sandbox."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from bodies import cloudflare_502, openai_error
from fakeserver import Reply
from junitparser import Error, Failure, JUnitXml

# the connect stage (realtime_session) reaches a loopback Realtime server, not OpenAI
pytestmark = pytest.mark.usefixtures("realtime_ws")

TOKEN = "opencto-token-for-smoke-0000001"
SECRET = "ek_5m0keSecretValue0123456789abcdef"
MODELS = {"object": "list", "data": [{"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"}]}
LEGACY = {
    "object": "list",
    "data": [
        {
            "aggregation_timestamp": 0,
            "n_requests": 7,
            "operation": "completion",
            "snapshot_id": "gpt-4o",
            "n_context_tokens_total": 700,
            "n_generated_tokens_total": 70,
            "n_cached_context_tokens_total": 0,
        }
    ],
    "ft_data": [],
    "dalle_api_data": [],
    "whisper_api_data": [],
    "tts_api_data": [],
}
KEYS = {
    "workspaceId": "acme",
    "keys": [
        {
            "provider": "openai",
            "workspaceId": "acme",
            "keyHint": "****9xQz",
            "createdAt": "2026-10-02T08:15:00Z",
            "updatedAt": "2026-11-20T17:42:11Z",
        }
    ],
}
HTML_502 = cloudflare_502()
DATE_ERROR = openai_error("Missing query parameter 'date'")


def healthy(server, delay: float = 0.0) -> None:
    server.route(
        "POST",
        "/api/v1/realtime/token",
        Reply(json={"clientSecret": SECRET, "expiresAt": int(time.time()) + 600}, delay=delay),
    )
    server.route("GET", "/api/v1/cto/openai/models", Reply(json=MODELS, delay=delay))
    server.route("GET", "/api/v1/cto/openai/usage", Reply(json=LEGACY, delay=delay))
    server.route("GET", "/api/v1/llm/keys", Reply(json=KEYS, delay=delay))


def reports(tmp_path: Path) -> tuple[list[str], Path, Path, Path]:
    junit, report, prom = tmp_path / "smoke.xml", tmp_path / "smoke.json", tmp_path / "ctoops.prom"
    return ["--junit", str(junit), "--report-json", str(report), "--prom-file", str(prom)], junit, report, prom


def test_all_checks_pass_and_the_reports_say_so(ctoops, worker, tmp_path, realtime_ws):
    healthy(worker)
    args, junit, report, prom = reports(tmp_path)
    result = ctoops("smoke", *args)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("realtime_token") and "PASS" in line for line in lines)
    assert "\x1b[" not in result.stdout
    data = json.loads(report.read_text())
    assert data["ok"] is True and data["exitCode"] == 0 and data["suite"] == "smoke"
    assert [c["check"] for c in data["checks"]] == ["realtime_token", "realtime_session", "models", "usage"]
    session = data["checks"][1]
    assert session["sessionId"] == "sess_C9x1y2z3" and session["upgradeMs"] >= 0 and session["total_tokens"] is None
    # one mint serves both realtime checks, and the session used that secret
    assert len(worker.seen("/api/v1/realtime/token")) == 1
    assert realtime_ws.upgrades[0].subprotocols == ["realtime", f"openai-insecure-api-key.{SECRET}"]
    assert realtime_ws.kinds() == ["session.update"]  # no response created in smoke
    assert data["traceId"] == worker.seen("/api/v1/cto/openai/models")[0].headers["x-opencto-trace-id"]
    assert data["versions"]["ctoops"] and data["target"] == worker.url
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    assert suite.tests == 4 and suite.failures == 0 and suite.errors == 0
    target = f'sandbox="false",target="{worker.url}"'
    assert f'ctoops_check_success{{suite="smoke",check="usage",{target}}} 1' in prom.read_text()
    assert "ctoops_last_run_timestamp_seconds" in prom.read_text()


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (1795305599.0, "2026-11-20", "2026-11-21"),  # 2026-11-21T23:59:59Z: the last second of a day
        (1795305600.0, "2026-11-21", "2026-11-22"),  # 2026-11-22T00:00:00Z: the first of the next
        (1793491200.0, "2026-10-31", "2026-11-01"),  # across a month boundary
    ],
)
def test_the_usage_proxy_is_asked_for_yesterday_utc(ctoops, worker, monkeypatch, now, start, end):
    monkeypatch.setattr("ctoops.checks.clock.now", lambda: now)
    healthy(worker)
    assert ctoops("smoke", "--only", "usage").exit_code == 0
    (sent,) = worker.seen("/api/v1/cto/openai/usage")
    assert sent.query == {"start": start, "end": end}


def test_checks_run_concurrently(ctoops, worker, monkeypatch):
    monkeypatch.setenv("OPENCTO_WORKSPACE", "acme")
    healthy(worker, delay=0.5)
    result = ctoops("smoke", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert len(worker.requests) == 4
    # counted on the server: all four requests were being answered at the same moment
    assert worker.max_in_flight == 4


def test_workspace_key_only_when_a_workspace_was_chosen(ctoops, worker, monkeypatch):
    healthy(worker)
    implicit = json.loads(ctoops("smoke", "--format", "json").stdout)
    assert "workspace_key" not in [c["check"] for c in implicit["checks"]]
    assert worker.seen("/api/v1/llm/keys") == []
    explicit = json.loads(ctoops("--workspace", "acme", "smoke", "--format", "json").stdout)
    assert [c["check"] for c in explicit["checks"]][-1] == "workspace_key"
    assert worker.seen("/api/v1/llm/keys")[0].query == {"workspaceId": "acme"}
    monkeypatch.setenv("OPENCTO_WORKSPACE", "acme")
    from_env = json.loads(ctoops("smoke", "--format", "json").stdout)
    assert "workspace_key" in [c["check"] for c in from_env["checks"]]


def test_html_502_on_one_check_fails_smoke_and_the_others_still_report(ctoops, worker, tmp_path):
    healthy(worker)
    worker.route("GET", "/api/v1/cto/openai/models", Reply(502, body=HTML_502, content_type="text/html"))
    args, junit, report, prom = reports(tmp_path)
    result = ctoops("--max-retries", "0", "smoke", *args)
    assert result.exit_code == 4  # the only failure is an upstream one
    assert "models: a proxy in front of the worker answered 502 Bad Gateway with text/html" in result.stderr
    cases = {case.name: case for case in next(iter(JUnitXml.fromfile(str(junit))))}
    assert set(cases) == {"realtime_token", "realtime_session", "models", "usage"}
    assert cases["realtime_token"].is_passed and cases["usage"].is_passed and cases["realtime_session"].is_passed
    (problem,) = cases["models"].result
    assert isinstance(problem, Error) and "502" in problem.message and "Bad gateway" in problem.message
    data = json.loads(report.read_text())
    assert data["ok"] is False and data["exitCode"] == 4
    target = f'sandbox="false",target="{worker.url}"'
    assert f'ctoops_check_success{{suite="smoke",check="models",{target}}} 0' in prom.read_text()
    assert f'ctoops_run_success{{suite="smoke",{target}}} 0' in prom.read_text()


def test_the_usage_proxys_date_error_is_explained(ctoops, worker, tmp_path):
    healthy(worker)
    worker.route("GET", "/api/v1/cto/openai/usage", Reply(400, json=DATE_ERROR))
    args, junit, _, _ = reports(tmp_path)
    result = ctoops("smoke", *args)
    assert result.exit_code == 1
    assert "Missing query parameter 'date'" in result.stderr
    assert "--via openai usage pull" in result.stderr
    cases = {case.name: case for case in next(iter(JUnitXml.fromfile(str(junit))))}
    assert isinstance(cases["usage"].result[0], Failure)


def test_mixed_failures_exit_1(ctoops, worker):
    healthy(worker)
    worker.route("GET", "/api/v1/cto/openai/usage", Reply(400, json=DATE_ERROR))
    worker.route("GET", "/api/v1/cto/openai/models", Reply(502, body=HTML_502, content_type="text/html"))
    result = ctoops("--max-retries", "0", "smoke")
    assert result.exit_code == 1 and "2 of 4 checks failed" in result.stderr


def test_only_and_skip(ctoops, worker):
    healthy(worker)
    only = json.loads(ctoops("smoke", "--only", "models", "--format", "json").stdout)
    assert [c["check"] for c in only["checks"]] == ["models"]
    skip = json.loads(ctoops("smoke", "--skip", "usage", "--skip", "models", "--format", "json").stdout)
    assert [c["check"] for c in skip["checks"]] == ["realtime_token", "realtime_session"]
    no_session = json.loads(ctoops("smoke", "--skip", "realtime_session", "--format", "json").stdout)
    assert [c["check"] for c in no_session["checks"]] == ["realtime_token", "models", "usage"]


def test_nothing_to_check_is_a_failure_before_any_request(ctoops, worker):
    healthy(worker)
    skips = ("realtime_token", "realtime_session", "models", "usage")
    result = ctoops("smoke", *(arg for name in skips for arg in ("--skip", name)))
    assert result.exit_code == 2 and "nothing to check" in result.stderr
    assert worker.requests == []
    unknown = ctoops("smoke", "--only", "coffee")
    assert unknown.exit_code == 2


def test_a_report_in_a_missing_folder_is_refused_before_any_request(ctoops, worker, tmp_path):
    healthy(worker)
    result = ctoops("smoke", "--junit", str(tmp_path / "no" / "such" / "dir" / "smoke.xml"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert worker.requests == []


def test_reports_replace_old_ones_atomically(ctoops, worker, tmp_path):
    healthy(worker)
    args, junit, report, prom = reports(tmp_path)
    prom.write_text("stale\n")
    assert ctoops("smoke", *args).exit_code == 0
    assert "stale" not in prom.read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["ctoops.prom", "smoke.json", "smoke.xml"]
    assert oct(prom.stat().st_mode & 0o777) == "0o644"


def test_no_whole_secret_reaches_any_output_or_report(ctoops, worker, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENCTO_WORKSPACE", "acme")
    healthy(worker)
    args, junit, report, prom = reports(tmp_path)
    for fmt in ("table", "json", "csv"):
        result = ctoops("-v", "smoke", *args, "--format", fmt)
        assert result.exit_code == 0, result.stderr
        for secret in (SECRET, TOKEN):
            assert secret not in result.all
        for path in (junit, report, prom):
            text = path.read_text()
            assert SECRET not in text and TOKEN not in text
    assert "****cdef" in report.read_text()


def test_via_openai(ctoops, server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-smokeApiKey000000000000")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-smokeAdminKey00000000")
    server.route(
        "POST",
        "/v1/realtime/client_secrets",
        Reply(
            json={
                "value": SECRET,
                "expires_at": int(time.time()) + 600,
                "session": {"type": "realtime", "object": "realtime.session", "id": "s"},
            }
        ),
    )
    server.route("GET", "/v1/models", Reply(json=MODELS))
    server.route(
        "GET",
        "/v1/organization/usage/completions",
        Reply(
            json={
                "object": "page",
                "has_more": False,
                "next_page": None,
                "data": [{"object": "bucket", "start_time": 0, "end_time": 86400, "results": []}],
            }
        ),
    )
    # the mint and the proxies here; the WebSocket at OPENAI_BASE_URL is tested in test_realtime_cli.py
    result = ctoops("--via", "openai", "--workspace", "acme", "smoke", "--skip", "realtime_session", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [c["check"] for c in json.loads(result.stdout)["checks"]] == ["realtime_token", "models", "usage"]
    assert server.seen("/v1/organization/usage/completions")[0].headers["authorization"].endswith("00000000")


def test_sandbox_smoke_passes_on_a_fresh_machine(ctoops, tmp_path):
    args, junit, report, prom = reports(tmp_path)
    result = ctoops("--sandbox", "--workspace", "acme", "smoke", *args)
    assert result.exit_code == 0, result.stderr
    assert "sandbox" in result.stdout and "sandbox" in result.stderr
    assert json.loads(report.read_text())["sandbox"] is True
    assert os.path.exists(junit)
