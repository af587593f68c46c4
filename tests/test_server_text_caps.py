"""Every text a server sends that reaches a message, a table or a report is shown as an upstream
error message is (``envelope.message_excerpt``): one line, redacted, at most 300 characters.
The worker's 429 named its limiter's ``bucket`` whole (escaped, not cut): a megabyte of bucket
name was a megabyte of error line, check table and report. So were a header (``Content-Type``,
``Location``, ``x-request-id``), a Realtime ``error`` event's message, a session's model and id,
the health route's status, the keys of an unusable mint's answer, and an expiry with
100,000 digits."""

from __future__ import annotations

import json
import time

from fakeserver import Reply
from realtime_server import RealtimeServer, error_then_close

TOKEN = "opencto-token-Caps0Test1Token2"
SECRET = "ek_caps0Secret1Value2abcdefWXYZ"
HUGE = "Flood0" * 200_000  # 1.2 MB
MINT = "/api/v1/realtime/token"
MODELS = "/api/v1/cto/openai/models"


def assert_short(text: str, limit: int = 2000) -> None:
    assert len(text) < limit, len(text)
    assert "Flood0" * 60 not in text  # an excerpt (300 characters at most), never the whole text


def limited(**details: object) -> Reply:
    body = {"error": "Rate limit exceeded", "code": "QUOTA_EXCEEDED", "status": 429, "details": details}
    return Reply(429, json=body)


def test_a_huge_bucket_name_is_cut_like_a_message(ctoops, worker, tmp_path):
    bucket = "realtime_token" + HUGE
    worker.route("POST", MINT, limited(bucket=bucket, limit=30, windowSeconds=60, retryAfterSeconds=1))
    result = ctoops("--max-retries", "0", "realtime", "check", "--no-connect")
    assert result.exit_code == 5, result.stderr[:500]
    assert result.stderr.count("\n") == 1
    assert "rate-limited ctoops on bucket realtime_tokenFlood0Flood0" in result.stderr
    assert "… (30 per 60s)" in result.stderr
    assert_short(result.all)
    line = result.stderr.split("on bucket ", 1)[1].split(" (30 per", 1)[0]
    assert len(line) == 300 and line.endswith("…")
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    smoke = ctoops(
        "--max-retries", "0", "smoke", "--only", "realtime_token", "--report-json", str(report), "--junit", str(junit)
    )
    assert smoke.exit_code == 5, smoke.stderr[:500]
    assert "on bucket realtime_tokenFlood0" in smoke.stdout + report.read_text()
    for text in (smoke.all, report.read_text(), junit.read_text()):
        assert_short(text, 5000)


def test_a_secret_in_a_bucket_name_is_masked_before_the_cut(ctoops, worker):
    bucket = "b" * 280 + TOKEN + HUGE  # the token straddles the 300th character
    worker.route("GET", MODELS, limited(bucket=bucket, limit=30, windowSeconds=60))
    result = ctoops("--max-retries", "0", "models", "list")
    assert result.exit_code == 5
    assert TOKEN[:8] not in result.stderr and TOKEN[-8:] not in result.stderr
    assert_short(result.stderr)


def test_a_huge_limit_and_window_are_cut_too(ctoops, worker):
    worker.route("GET", MODELS, limited(bucket="cto_openai_proxy", limit=HUGE, windowSeconds=[HUGE]))
    result = ctoops("--max-retries", "0", "models", "list")
    assert result.exit_code == 5 and "on bucket cto_openai_proxy (Flood0" in result.stderr
    assert_short(result.stderr)


def test_a_bucket_without_its_limit_says_no_none(ctoops, worker):
    worker.route("GET", MODELS, limited(bucket="cto_openai_proxy"))
    result = ctoops("--max-retries", "0", "models", "list")
    assert result.exit_code == 5 and "on bucket cto_openai_proxy (429 QUOTA_EXCEEDED" in result.stderr
    assert "None" not in result.stderr


def test_a_huge_content_type_is_cut(ctoops, worker):
    ctype = "text/plain; x=" + "Flood0" * 2000  # 12 KB: a header line the HTTP parser still takes
    worker.route("GET", MODELS, Reply(502, body="Bad gateway", content_type=ctype))
    failed = ctoops("--max-retries", "0", "models", "list")
    assert failed.exit_code == 4 and "with text/plain; x=Flood0" in failed.stderr
    assert_short(failed.stderr)
    worker.route("GET", MODELS, Reply(200, body="<html>ok</html>", content_type=ctype))
    not_json = ctoops("--max-retries", "0", "models", "list")
    assert not_json.exit_code == 4 and "content-type text/plain; x=Flood0" in not_json.stderr
    assert_short(not_json.stderr)


def test_a_huge_redirect_location_is_cut(ctoops, worker):
    location = "https://elsewhere.example/" + "Flood0" * 2000
    worker.route("GET", MODELS, Reply(302, body="", headers={"Location": location}))
    result = ctoops("--max-retries", "0", "models", "list")
    assert result.exit_code == 4 and "a redirect to https://elsewhere.example/Flood0" in result.stderr
    assert_short(result.stderr)


def test_a_huge_request_id_is_cut_in_the_verbose_line(ctoops, worker):
    worker.route(
        "GET", MODELS, Reply(json={"object": "list", "data": []}, headers={"x-request-id": "req_" + "Flood0" * 2000})
    )
    result = ctoops("-v", "models", "list")
    assert result.exit_code == 0, result.stderr[:500]
    (line,) = [line for line in result.stderr.splitlines() if "x-request-id" in line]
    assert "x-request-id req_Flood0" in line
    assert_short(line, 300)


def test_a_huge_health_status_is_cut(ctoops, worker):
    worker.route("GET", "/api/v1/health", Reply(json={"status": HUGE, "timestamp": HUGE}))
    worker.route("GET", "/api/v1/llm/keys", Reply(json={"keys": []}))
    result = ctoops("auth", "status", "--format", "json")
    health = next(c for c in json.loads(result.stdout)["checks"] if c["check"] == "worker_health")
    assert "reports status 'Flood0" in health["detail"]
    assert_short(result.all, 5000)


def test_a_huge_model_in_a_minted_secret_is_cut(ctoops, worker):
    answer = {"clientSecret": SECRET, "expiresAt": int(time.time()) + 600, "model": "gpt-realtime" + HUGE}
    worker.route("POST", MINT, Reply(json=answer))
    result = ctoops("realtime", "check", "--no-connect", "--format", "json")
    assert result.exit_code == 0, result.stderr[:500]
    report = json.loads(result.stdout)
    assert report["model"].startswith("gpt-realtimeFlood0") and len(report["model"]) == 300
    assert_short(result.all, 5000)


def test_the_keys_of_an_unusable_mint_are_cut(ctoops, worker):
    answer = {"error": "Unexpected response shape from OpenAI", "raw": {HUGE: "", "value": {HUGE: 1}}}
    worker.route("POST", MINT, Reply(502, json=answer))
    result = ctoops("realtime", "check", "--no-connect")
    assert result.exit_code == 1, result.stderr[:500]
    assert "OpenAI's answer had Flood0" in result.stderr
    assert_short(result.all)


def test_an_expiry_of_a_hundred_thousand_digits_is_shown_by_its_value(ctoops, worker):
    worker.route("POST", MINT, Reply(body=b'{"clientSecret": "' + SECRET.encode() + b'", "expiresAt": 1e-100000}'))
    tiny = ctoops("realtime", "check", "--no-connect")
    assert tiny.exit_code == 4 and "`expiresAt` of 1.000e-100000" in tiny.stderr, tiny.stderr[:500]
    digits = b"1795262400." + b"5" * 100_000
    worker.route(
        "POST", MINT, Reply(body=b'{"clientSecret": "' + SECRET.encode() + b'", "expiresAt": ' + digits + b"}")
    )
    long = ctoops("realtime", "check", "--no-connect")
    assert long.exit_code == 4 and "`expiresAt` of 1.795e+9" in long.stderr, long.stderr[:500]
    assert_short(tiny.all + long.all)


def test_a_huge_realtime_error_event_is_cut(ctoops, minted, ws, tmp_path):
    ws.scenario = error_then_close("invalid_request_error" + HUGE, "code" + HUGE, "Bad session " + HUGE, 3000, "x")
    report = tmp_path / "r.json"
    result = ctoops("-v", "smoke", "--only", "realtime_session", "--report-json", str(report))
    assert result.exit_code == 1, result.stderr[:500]
    assert "error event invalid_request_errorFlood0" in result.stdout and "Bad session Flood0" in result.stdout
    check = json.loads(report.read_text())["checks"][0]
    assert len(check["errorType"]) == 80 and len(check.get("errorCode") or "") <= 80
    for text in (result.stdout, result.stderr, report.read_text()):
        assert_short(text, 5000)


def test_a_huge_session_model_is_cut(ctoops, minted, ws):
    ws.model = "gpt-other" + HUGE
    result = ctoops("realtime", "check", "--format", "json")
    assert result.exit_code == 1, result.stderr[:500]
    report = json.loads(result.stdout)
    assert report["sessionModel"].startswith("gpt-otherFlood0") and len(report["sessionModel"]) == 300
    assert_short(result.all, 5000)


def test_a_huge_session_id_is_cut(ctoops, minted, ws, monkeypatch):
    original = RealtimeServer.session_object

    def long_id(self: RealtimeServer) -> dict[str, object]:
        return {**original(self), "id": "sess_" + HUGE}

    monkeypatch.setattr(RealtimeServer, "session_object", long_id)
    result = ctoops("realtime", "check", "--format", "json")
    assert result.exit_code == 0, result.stderr[:500]
    report = json.loads(result.stdout)
    assert report["sessionId"].startswith("sess_Flood0") and len(report["sessionId"]) == 300
    assert_short(result.all, 5000)
