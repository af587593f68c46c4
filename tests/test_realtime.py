"""`ctoops realtime check` over real HTTP (loopback) for the worker and OpenAI, and in the sandbox."""

from __future__ import annotations

import json
import time

import pytest
from bodies import openai_error
from fakeserver import Reply

# the connect stage (realtime_session) reaches a loopback Realtime server, not OpenAI
pytestmark = pytest.mark.usefixtures("realtime_ws")

TOKEN = "opencto-token-for-realtime-0001"
SECRET = "ek_68af296e8e408191a1120ab6383263c2"
ROUTE = "/api/v1/realtime/token"


def check(ctoops, *args: str, options: tuple[str, ...] = ()):
    result = ctoops(*args, "realtime", "check", "--format", "json", *options)
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def test_a_fresh_secret_passes_and_is_only_shown_as_a_hint(ctoops, worker):
    worker.route("POST", ROUTE, Reply(json={"clientSecret": SECRET, "expiresAt": int(time.time()) + 600}))
    result, report = check(ctoops, "--workspace", "acme")
    assert result.exit_code == 0, result.stderr
    assert report["ok"] is True and report["secretHint"] == "****63c2"
    assert 595 <= report["ttlSeconds"] <= 600
    assert report["model"] == "gpt-realtime-1.5" and report["latencyMs"] >= 0
    assert SECRET not in result.all
    (sent,) = worker.seen(ROUTE)
    assert sent.json() == {"model": "gpt-realtime-1.5", "workspaceId": "acme"}
    assert sent.headers["x-opencto-trace-id"] == report["traceId"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"clientSecret": "", "expiresAt": 4102444800}, "the client secret is empty"),
        ({"expiresAt": 4102444800}, "no client secret"),
        ({"clientSecret": SECRET}, "without an expiry"),
        ({"clientSecret": SECRET, "expiresAt": 1700000000}, "already expired"),
    ],
)
def test_empty_missing_or_expired_secrets_fail_the_check(ctoops, worker, answer, message):
    worker.route("POST", ROUTE, Reply(json=answer))
    result, report = check(ctoops)
    assert result.exit_code == 1
    assert message in result.stderr and message in report["detail"]
    assert report["ok"] is False
    assert SECRET not in result.all


def test_min_ttl(ctoops, worker):
    worker.route("POST", ROUTE, Reply(json={"clientSecret": SECRET, "expiresAt": int(time.time()) + 45}))
    soon, report = check(ctoops)
    assert soon.exit_code == 1 and "sooner than --min-ttl 60s" in report["detail"]
    relaxed = ctoops("realtime", "check", "--min-ttl", "30")
    assert relaxed.exit_code == 0, relaxed.stderr


def test_openai_rejecting_the_workers_key_is_a_failed_check_with_openais_code(ctoops, worker):
    raw = openai_error("Incorrect API key provided: sk-proj-****abcd.", "invalid_api_key")
    worker.route(
        "POST",
        ROUTE,
        Reply(401, json={"error": "OpenAI rejected the request", "code": "OPENAI_ERROR", "details": json.dumps(raw)}),
    )
    result, report = check(ctoops)
    assert result.exit_code == 1
    assert report["errorCode"] == "invalid_api_key" and "invalid_api_key" in result.stderr
    assert "ctoops auth login" not in result.stderr  # not ctoops' own auth


def test_quota_exceeded_is_retried_after_the_body_only_delay(ctoops, worker, waits):
    limited = {
        "error": "Rate limit exceeded",
        "code": "QUOTA_EXCEEDED",
        "status": 429,
        "details": {"bucket": "realtime_token", "limit": 30, "windowSeconds": 60, "retryAfterSeconds": 1},
    }
    worker.route(
        "POST",
        ROUTE,
        Reply(429, json=limited),
        Reply(json={"clientSecret": SECRET, "expiresAt": int(time.time()) + 600}),
    )
    result, report = check(ctoops)
    assert result.exit_code == 0, result.stderr
    assert len(worker.seen(ROUTE)) == 2
    assert len(waits) == 1 and 1.0 <= waits[0] <= 1.25  # what the body said, no Retry-After header needed
    assert "retrying in 1." in result.stderr
    # the wait the limiter asked for is its own figure, not the check's latency
    assert report["waitedMs"] >= 1000 and report["latencyMs"] < report["waitedMs"]


def test_still_limited_after_retries_exits_5(ctoops, worker):
    limited = {
        "error": "Rate limit exceeded",
        "code": "QUOTA_EXCEEDED",
        "status": 429,
        "details": {"bucket": "realtime_token", "limit": 30, "windowSeconds": 60, "retryAfterSeconds": 0},
    }
    worker.route("POST", ROUTE, Reply(429, json=limited))
    result, report = check(ctoops, "--max-retries", "2")
    assert result.exit_code == 5
    assert len(worker.seen(ROUTE)) == 3
    assert "realtime_token" in report["detail"] and report["ok"] is False


def test_ctoops_token_rejected_exits_3(ctoops, worker):
    worker.route("POST", ROUTE, Reply(401, json={"error": "Unauthorized", "code": "UNAUTHORIZED", "status": 401}))
    result, _ = check(ctoops)
    assert result.exit_code == 3 and "ctoops auth login" in result.stderr


@pytest.mark.parametrize(
    "answer",
    [
        {
            "value": SECRET,
            "expires_at": "EXPIRES",
            "session": {
                "type": "realtime",
                "object": "realtime.session",
                "id": "sess_1",
                "model": "gpt-realtime-2025-08-28",
                "max_output_tokens": "inf",
                "expires_at": 0,
            },
        },
        {
            "id": "sess_001",
            "object": "realtime.session",
            "model": "gpt-realtime-2025-08-28",
            "client_secret": {"value": SECRET, "expires_at": "EXPIRES"},
        },
    ],
    ids=["ga-value", "beta-client_secret"],
)
def test_via_openai_reads_both_answer_shapes(ctoops, server, monkeypatch, answer):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-realtimeKey00000000000000")
    body = json.loads(json.dumps(answer).replace('"EXPIRES"', str(int(time.time()) + 300)))
    server.route("POST", "/v1/realtime/client_secrets", Reply(json=body))
    # the mint's answer shapes; the connect stage via openai is tested in test_realtime_cli.py
    result, report = check(ctoops, "--via", "openai", options=("--model", "gpt-realtime", "--no-connect"))
    assert result.exit_code == 0, result.stderr
    assert report["secretHint"] == "****63c2" and report["model"] == "gpt-realtime-2025-08-28"
    sent = server.seen("/v1/realtime/client_secrets")[0].json()
    assert sent == {
        "expires_after": {"anchor": "created_at", "seconds": 600},
        "session": {"type": "realtime", "model": "gpt-realtime"},
    }
    assert SECRET not in result.all


MS_NOW = "MS_NOW"  # replaced by now in milliseconds + 600000 when the answer is sent


@pytest.mark.parametrize(
    ("expires", "said"),
    [
        (MS_NOW, "looks like milliseconds, not unix seconds"),
        ("1e300", "of 1.000e+300: that is past 9999-12-31"),
        ("1e999999999", "of 1.000e+999999999: that is past 9999-12-31"),
        ("253402300800", "of 253402300800: that is past 9999-12-31"),
        ("0", "of 0: that is before 2000-01-01"),
        ("1700000000.5", "of 1700000000.5: that is not a whole number"),
    ],
)
@pytest.mark.parametrize("via", ["openai", "opencto"])
def test_an_absurd_expiry_is_exit_4_naming_the_field_and_value(ctoops, server, worker, monkeypatch, via, expires, said):
    value = str(int(time.time() * 1000) + 600000) if expires == MS_NOW else expires
    if via == "openai":
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-realtimeKeyAbsurdExpiry9876")
        body = f'{{"value": "{SECRET}", "expires_at": {value}}}'
        server.route("POST", "/v1/realtime/client_secrets", Reply(body=body))
        field = "expires_at"
    else:
        worker.route("POST", ROUTE, Reply(body=f'{{"clientSecret": "{SECRET}", "expiresAt": {value}}}'))
        field = "expiresAt"
    result = ctoops("--via", via, "realtime", "check", "--no-connect")
    assert result.exit_code == 4, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"`{field}`" in line and said in line and "internal error" not in line
    if expires == MS_NOW:
        assert value in line  # named, never converted
    assert SECRET not in result.all


@pytest.mark.parametrize(
    ("minted", "noted"),
    [("gpt-realtime-mini", True), ("gpt-realtime-2025-08-28", False), ("gpt-realtime", False)],
)
def test_a_secret_minted_for_another_model_passes_with_a_note(ctoops, server, monkeypatch, minted, noted):
    # --no-connect proves the secret, not the session's model: a mismatch is noted, not failed
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-realtimeKey00000000000000")
    body = {"value": SECRET, "expires_at": int(time.time()) + 300, "session": {"type": "realtime", "model": minted}}
    server.route("POST", "/v1/realtime/client_secrets", Reply(json=body))
    result, report = check(ctoops, "--via", "openai", options=("--model", "gpt-realtime", "--no-connect"))
    assert result.exit_code == 0, result.stderr
    assert report["model"] == minted
    assert (f"note: minted for {minted}, not gpt-realtime as asked" in result.all) is noted
    assert (report.get("modelAsked") == "gpt-realtime") is noted


def test_sandbox_passes_and_says_it_is_the_sandbox(ctoops):
    result, report = check(ctoops, "--sandbox")
    assert result.exit_code == 0, result.stderr
    assert report["sandbox"] is True and report["ok"] is True
    assert "sandbox" in result.stderr


@pytest.mark.parametrize(
    ("fault", "code", "message"),
    [
        ("realtime-empty", 1, "empty"),
        ("realtime-expiring", 1, "sooner than --min-ttl"),
        ("openai-invalid-key", 1, "invalid_api_key"),
    ],
)
def test_sandbox_faults(ctoops, monkeypatch, fault, code, message):
    monkeypatch.setenv("CTOOPS_SANDBOX_FAULTS", fault)
    result, report = check(ctoops, "--sandbox")
    assert result.exit_code == code and message in report["detail"]


@pytest.mark.parametrize(
    "value", ["ek_abc def ghi jkl", "ek_\u0000abcdefghijk", "ek_abcdé0123456789", "ek_abc\tdefghij"]
)
def test_a_client_secret_no_browser_can_send_fails(ctoops, worker, value):
    # the dashboard sends it as a WebSocket subprotocol: a space or a control character cannot go
    worker.route("POST", ROUTE, Reply(json={"clientSecret": value, "expiresAt": int(time.time()) + 600}))
    result, report = check(ctoops, options=("--no-connect",))
    assert result.exit_code == 1, result.all
    assert "no browser can send it as a WebSocket subprotocol" in result.all


@pytest.mark.parametrize("expires", ["\u0661\u0667\u0669\u0666\u0660\u0660\u0666\u0669\u0665\u0660", "soon"])
def test_an_expiry_in_another_script_or_words_is_exit_4(ctoops, worker, expires):
    worker.route("POST", ROUTE, Reply(json={"clientSecret": SECRET, "expiresAt": expires}))
    result, _ = check(ctoops, options=("--no-connect",))
    assert result.exit_code == 4, result.all
    assert "`expiresAt`" in result.stderr
