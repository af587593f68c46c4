"""Every verdict is one ctoops proved (issue 10): what the worker really does with keys, a
runbook whose watch step runs when it matters, reports whatever the outcome, windows not judged
said to be so, retries decided by what the answer means."""

from __future__ import annotations

import json
import time

import pytest
from bodies import openai_error
from fakeserver import Reply

from ctoops.checks.rates import NotJudged, Thresholds, enforce, judge, rates_check

TOKEN = "opencto-verdicts-Qm7Zr2Lx9Vb4"
KEY = "sk-proj-Verdicts0Key1Abc2Def3Ghi4"
MODELS = {"object": "list", "data": [{"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"}]}
KEYS = {"workspaceId": "acme", "keys": [{"provider": "openai", "workspaceId": "acme", "keyHint": "****3Ghi"}]}
SAVED = {"saved": True, "provider": "openai", "workspaceId": "acme", "keyHint": "****3Ghi", "updatedAt": "x"}


@pytest.fixture
def openai(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    return server


# -- workspace keys: prove what can be proved -----------------------------------------------------


def test_keys_set_asks_openai_first_and_saves_nothing_it_rejects(ctoops, worker, openai, monkeypatch):
    monkeypatch.setenv("OPENCTO_WORKSPACE", "acme")
    openai.route("GET", "/v1/models", Reply(401, json=openai_error("Incorrect API key provided", "invalid_api_key")))
    worker.route("PUT", "/api/v1/llm/keys/openai", Reply(json=SAVED))
    result = ctoops("keys", "set", "--stdin", input=KEY)
    assert result.exit_code == 1, result.stderr
    assert "not saved" in result.stderr and "invalid_api_key" in result.stderr
    assert worker.seen("/api/v1/llm/keys/openai") == []  # nothing sent to the worker
    (asked,) = openai.seen("/v1/models")
    assert asked.headers["authorization"] == f"Bearer {KEY}"  # OpenAI was asked with THAT key


def test_keys_set_no_verify_saves_and_says_it_was_not_asked(ctoops, worker, monkeypatch):
    monkeypatch.setenv("OPENCTO_WORKSPACE", "acme")
    worker.route("PUT", "/api/v1/llm/keys/openai", Reply(json=SAVED))
    result = ctoops("keys", "set", "--stdin", "--no-verify", input=KEY)
    assert result.exit_code == 0 and "not asked" in result.stderr
    assert len(worker.seen("/api/v1/llm/keys/openai")) == 1


def test_keys_validate_stdin_asks_openai_about_that_key(ctoops, openai):
    openai.route("GET", "/v1/models", Reply(json=MODELS))
    result = ctoops("keys", "validate", "--stdin", "--format", "json", input=KEY)
    assert result.exit_code == 0, result.stderr
    assert openai.seen("/v1/models")[0].headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(result.stdout)["checks"][0]["check"] == "openai_key"


def test_the_worker_path_says_listed_and_what_it_cannot_prove(ctoops, worker, monkeypatch):
    monkeypatch.setenv("OPENCTO_WORKSPACE", "acme")
    worker.route("GET", "/api/v1/llm/keys", Reply(json=KEYS))
    worker.route("GET", "/api/v1/cto/openai/models", Reply(json=MODELS))
    result = ctoops("keys", "validate", "--format", "json")
    assert result.exit_code == 0, result.stderr
    key, proxy = json.loads(result.stdout)["checks"]
    assert key["detail"].startswith("listed, hint ****3Ghi")
    assert "not proved: that OpenAI accepts it" in key["detail"] and key["provedByOpenAI"] is False
    assert "OpenAI accepts" not in proxy["detail"].split("not proved")[0] or proxy["check"] == "models_proxy"


def test_a_rejected_key_through_the_proxy_names_the_workers_own_key(ctoops, worker):
    worker.route(
        "GET", "/api/v1/cto/openai/models", Reply(401, json=openai_error("Incorrect API key", "invalid_api_key"))
    )
    result = ctoops("models", "list")
    assert result.exit_code == 1
    assert "OPENAI_API_KEY" in result.stderr and "runbook step 1" in result.stderr
    assert "keys set" not in result.stderr


# -- the runbook: step 5 when it matters; reports whatever happens --------------------------------


def test_step_5_runs_after_a_429_storm_fails_step_3(ctoops, monkeypatch):
    monkeypatch.setenv("CTOOPS_SANDBOX_FAULTS", "rate-limited")
    result = ctoops("--sandbox", "runbook", "run", "--format", "json")
    assert result.exit_code == 5, result.stderr
    checks = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["realtime/realtime_token"]["status"] == "fail"
    assert checks["realtime/realtime_session"]["status"] == "skip"  # no secret: the mint's failure, counted once
    assert checks["ops-path"]["detail"].startswith("not run")
    assert checks["rates"]["status"] == "pass" and "not run" not in checks["rates"]["detail"]


def test_reports_are_written_when_the_run_stops_before_any_check(ctoops, tmp_path):
    prom, junit = tmp_path / "ctoops.prom", tmp_path / "smoke.xml"
    prom.write_text('ctoops_run_success{suite="smoke"} 1\n')  # yesterday's, stale
    result = ctoops("smoke", "--prom-file", str(prom), "--junit", str(junit))
    assert result.exit_code == 3 and "no OpenCTO token" in result.stderr
    text = prom.read_text()
    assert 'ctoops_run_success{suite="smoke",sandbox="false",target="https://api.opencto.works"} 0' in text
    assert 'check="setup"' in text and "} 1\n" not in text.split("ctoops_check_success")[1].split("#")[0]
    assert "no OpenCTO token" in junit.read_text()


# -- windows under min_requests are said to be left out ---------------------------------------------


def row(window: int, requests: int, s429: int = 0, s5xx: int = 0, bucket: str = "realtime_token") -> dict:
    return {
        "window_start": window,
        "bucket": bucket,
        "requests": requests,
        "status_429": s429,
        "status_5xx": s5xx,
        "rate_429": s429 / requests,
        "rate_5xx": s5xx / requests,
        "error_outcomes": 0,
        "sampled": False,
    }


def test_windows_under_min_requests_are_named_never_silently_passed():
    rows = [row(0, 50, 1), row(300, 5, 3), row(600, 2, 2)]  # 60% and 100% of tiny windows
    verdict = judge(rows, Thresholds(max_429=0.05, min_requests=10))
    assert verdict.ok and verdict.unjudged == 2
    assert verdict.not_judged_note() == "2 windows under 10 requests not judged"
    assert "2 windows under 10 requests not judged" in verdict.detail()
    assert "2 windows under 10 requests not judged" in verdict.summary_lines()[0]


def test_nothing_judged_is_no_verdict_not_a_pass():
    rows = [row(0, 5, 3)]
    with pytest.raises(NotJudged) as info:
        enforce(judge(rows, Thresholds(max_429=0.05, min_requests=10)))
    assert info.value.exit_code == 2 and "cannot be judged" in info.value.message
    from ctoops.checks import run_check

    result = run_check("rates", rates_check(lambda: rows, Thresholds(max_429=0.05, min_requests=10)))
    assert result.skipped and result.detail.startswith("not judged")


def test_the_runbook_step_says_when_nothing_could_be_judged(ctoops):
    result = ctoops("--sandbox", "runbook", "run", "-p", "rates.min_requests=100000", "--format", "json")
    checks = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["rates"]["status"] == "skip" and "not judged" in checks["rates"]["detail"]


# -- retries decided by what the answer means --------------------------------------------------------


def test_an_unusable_mint_is_a_failed_check_after_one_attempt(ctoops, worker, waits):
    answer = {"error": "Unexpected response shape from OpenAI", "raw": {"value": "", "expires_at": 1, "session": {}}}
    worker.route("POST", "/api/v1/realtime/token", Reply(502, json=answer))
    result = ctoops("realtime", "check")
    assert result.exit_code == 1, result.stderr
    assert len(worker.seen("/api/v1/realtime/token")) == 1 and waits == []
    assert "without a usable client secret" in result.stderr and "value empty" in result.stderr


def test_config_error_is_not_retried(ctoops, worker, waits):
    answer = {"error": "OPENAI_API_KEY is not configured", "code": "CONFIG_ERROR"}
    worker.route("GET", "/api/v1/cto/openai/models", Reply(500, json=answer))
    result = ctoops("models", "list")
    assert result.exit_code == 4 and len(worker.seen("/api/v1/cto/openai/models")) == 1 and waits == []
    assert "wrangler secret put OPENAI_API_KEY" in result.stderr


def test_a_retry_notice_names_the_check_and_who_answered(ctoops, worker, waits):
    worker.route(
        "GET",
        "/api/v1/cto/openai/models",
        Reply(503, json=openai_error("The engine is currently overloaded", type="server_error")),
        Reply(json=MODELS),
    )
    result = ctoops("smoke", "--only", "models")
    assert result.exit_code == 0, result.stderr
    assert "models: OpenAI, via the worker answered 503 server_error; retrying in" in result.stderr


def test_a_limiter_wait_is_not_held_against_max_latency(ctoops, worker, tmp_path, waits, realtime_ws):
    limited = {
        "error": "Rate limit exceeded",
        "code": "QUOTA_EXCEEDED",
        "status": 429,
        "details": {"bucket": "realtime_token", "limit": 30, "windowSeconds": 60, "retryAfterSeconds": 30},
    }
    worker.route(
        "POST",
        "/api/v1/realtime/token",
        Reply(429, json=limited),
        Reply(json={"clientSecret": "ek_Verdicts0Secret1abcdefghij", "expiresAt": int(time.time()) + 600}),
    )
    book = tmp_path / "book.toml"
    book.write_text('[[step]]\nname = "rt"\nrun = "realtime check"\n[step.with]\nmax_latency_ms = 5000\n')
    result = ctoops("runbook", "run", str(book), "--format", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    check, session = json.loads(result.stdout)["checks"]
    assert check["check"] == "rt/realtime_token" and session["check"] == "rt/realtime_session"
    assert check["waitedMs"] >= 30000 and check["latencyMs"] < 5000
    assert "waiting as the server asked, not counted" in check["detail"]
    assert session["ok"] and session["latencyMs"] < 5000  # it shared that mint, and its wait


# -- answers read in every documented shape -------------------------------------------------------------


@pytest.mark.parametrize("created", [1715367049.0, "1715367049", 1715367049])
def test_created_is_an_integer_when_it_is_integral(ctoops, worker, created):
    worker.route(
        "GET", "/api/v1/cto/openai/models", Reply(json={"object": "list", "data": [{"id": "m", "created": created}]})
    )
    result = ctoops("models", "list", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["created"] == 1715367049


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ({"clientSecret": "ek_x1234567890", "expiresAt": "soon"}, "expiresAt"),
        ({"clientSecret": 12345, "expiresAt": 1}, "clientSecret"),
    ],
)
def test_a_wrong_type_in_a_mint_answer_is_exit_4_naming_the_field(ctoops, worker, answer, field):
    worker.route("POST", "/api/v1/realtime/token", Reply(json=answer))
    result = ctoops("realtime", "check")
    assert result.exit_code == 4 and f"`{field}`" in result.stderr


def test_a_check_that_did_not_run_is_never_shown_as_passed(ctoops, monkeypatch, tmp_path):
    monkeypatch.setenv("CTOOPS_SANDBOX_FAULTS", "realtime-empty")
    report = tmp_path / "smoke.json"
    piped = ctoops("--sandbox", "smoke", "--report-json", str(report))
    assert piped.exit_code == 1
    (line,) = [row for row in piped.stdout.splitlines() if row.startswith("realtime_session")]
    assert line.split()[1] == "SKIP" and "PASS" not in line and " ms " not in line
    checks = {c["check"]: c for c in json.loads(report.read_text())["checks"]}
    assert checks["realtime_session"]["status"] == "skip" and checks["realtime_session"]["ok"] is None
    assert checks["realtime_token"]["ok"] is False


@pytest.mark.parametrize("created", [10**12, 10**30, 1.5e300])
def test_a_created_no_calendar_holds_is_shown_as_sent_not_a_crash(ctoops, worker, created):
    worker.route(
        "GET", "/api/v1/cto/openai/models", Reply(json={"object": "list", "data": [{"id": "m", "created": created}]})
    )
    result = ctoops("models", "list")
    assert result.exit_code == 0, result.stderr
    from decimal import Decimal

    assert str(int(Decimal(str(created)))) in result.stdout  # the digits as sent (JSON numbers read exactly)


@pytest.mark.parametrize("created", ["yesterday", True, 1.5, {"at": 1}, "1e9999999"])
def test_a_created_that_is_not_unix_seconds_is_exit_4_naming_it(ctoops, worker, created):
    worker.route(
        "GET", "/api/v1/cto/openai/models", Reply(json={"object": "list", "data": [{"id": "m", "created": created}]})
    )
    result = ctoops("models", "list")
    assert result.exit_code == 4 and "`created`" in result.stderr
