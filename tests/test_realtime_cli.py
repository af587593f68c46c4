"""`ctoops realtime check` with the connect stage, end to end: the worker on loopback HTTP
(tests/support/fakeserver.py) mints, a loopback Realtime WebSocket server
(tests/support/realtime_server.py) plays OpenAI; and the same in the sandbox, with no socket."""

from __future__ import annotations

import json
import time

import pytest
from fakeserver import Reply
from realtime_server import close_without_event, error_then_close, silent

TOKEN = "opencto-token-for-realtime-cli-01"
SECRET = "ek_cl1SecretValue0123456789abcdefWXYZ"
ROUTE = "/api/v1/realtime/token"


def check(ctoops, *options: str, pre: tuple[str, ...] = ()):
    result = ctoops(*pre, "realtime", "check", "--format", "json", *options)
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def test_a_working_path_reports_every_stage_and_exits_0(ctoops, minted, ws):
    result, report = check(ctoops, "--model", "gpt-realtime")
    assert result.exit_code == 0, result.stderr
    assert report["ok"] is True and report["connect"] is True and report["auth"] == "subprotocol"
    for key in ("mintMs", "upgradeMs", "sessionCreatedMs", "sessionUpdatedMs", "totalMs"):
        assert isinstance(report[key], float) and report[key] >= 0, key
    assert report["totalMs"] >= report["mintMs"]
    assert report["firstDeltaMs"] is None and report["total_tokens"] is None  # not measured, not 0
    assert report["sessionId"] == "sess_C9x1y2z3" and report["sessionModel"] == "gpt-realtime"
    assert report["websocketUrl"] == ws.ws_url + "/realtime?model=gpt-realtime"
    assert report["secretHint"] == "****WXYZ" and "no tokens used" in report["sessionDetail"]
    # the secret the worker minted is the one the browser's subprotocol carried
    (upgrade,) = ws.upgrades
    assert upgrade.subprotocols == ["realtime", f"openai-insecure-api-key.{SECRET}"]
    assert ws.kinds() == ["session.update"]  # closed before any response: nothing spent
    assert SECRET not in result.all


def test_the_table_shows_the_figures(ctoops, minted, ws):
    result = ctoops("realtime", "check")
    assert result.exit_code == 0, result.stderr
    for field in ("mintMs", "upgradeMs", "sessionCreatedMs", "sessionUpdatedMs", "totalMs", "sessionId", "****WXYZ"):
        assert field in result.stdout
    assert SECRET not in result.all


def test_csv_has_the_session_columns(ctoops, minted, ws):
    result = ctoops("realtime", "check", "--format", "csv")
    header = result.stdout.splitlines()[0].split(",")
    assert result.exit_code == 0 and header[:3] == ["ok", "secretHint", "expiresAt"]
    assert {"upgradeMs", "sessionCreatedMs", "sessionUpdatedMs", "total_tokens", "sessionId"} <= set(header)


def test_roundtrip_reports_first_delta_and_tokens(ctoops, minted, ws):
    result, report = check(ctoops, "--roundtrip")
    assert result.exit_code == 0, result.stderr
    assert report["firstDeltaMs"] >= 0 and report["responseDoneMs"] >= report["firstDeltaMs"]
    assert (report["input_tokens"], report["output_tokens"], report["total_tokens"]) == (38, 3, 41)
    assert ws.kinds() == ["session.update", "conversation.item.create", "response.create"]


def test_no_connect_keeps_the_mint_only_check(ctoops, minted, ws):
    result, report = check(ctoops, "--no-connect")
    assert result.exit_code == 0, result.stderr
    assert report["connect"] is False and "upgradeMs" not in report
    assert ws.upgrades == []
    bad = ctoops("realtime", "check", "--no-connect", "--roundtrip")
    assert bad.exit_code == 2 and "--roundtrip needs the connect stage" in bad.stderr


def test_header_auth(ctoops, minted, ws):
    result, report = check(ctoops, "--auth", "header")
    assert result.exit_code == 0, result.stderr
    (upgrade,) = ws.upgrades
    assert upgrade.headers["authorization"] == f"Bearer {SECRET}" and upgrade.subprotocols == []
    assert report["auth"] == "header" and report["subprotocol"] is None


@pytest.mark.parametrize(
    ("setup", "code", "words"),
    [
        (
            {
                "scenario": error_then_close(
                    "invalid_request_error",
                    "session_expired",
                    "Your session hit the maximum duration of 60 minutes.",
                    3000,
                    "x",
                )
            },
            1,
            "realtime session.created: error event invalid_request_error/session_expired: Your session hit",
        ),
        (
            {"scenario": close_without_event(1011, "")},
            4,
            "realtime session.created: the server closed the connection before session.created: close 1011",
        ),
        ({"scenario": close_without_event(4001, "region blocked")}, 1, "close 4001 'region blocked'"),
        (
            {"model": "gpt-4o-realtime-preview"},
            1,
            "model mismatch: asked for 'gpt-realtime-1.5', session.created reports 'gpt-4o-realtime-preview'",
        ),
        ({"refuse": (403, "forbidden")}, 1, "realtime upgrade: upgrade refused: HTTP 403 Forbidden (forbidden)"),
        ({"refuse": (429, "slow down")}, 5, "upgrade refused: HTTP 429"),
        ({"refuse": (503, "down")}, 4, "upgrade refused: HTTP 503"),
        ({"scenario": silent}, 4, "realtime session.created: timed out after 0.3s (--connect-timeout)"),
    ],
)
def test_each_failure_names_stage_and_cause_with_the_contracts_exit_code(ctoops, minted, ws, setup, code, words):
    for key, value in setup.items():
        setattr(ws, key, value)
    result, report = check(ctoops, "--connect-timeout", "0.3")
    assert result.exit_code == code, result.stderr
    assert words in result.stderr and words in report["sessionDetail"]
    assert report["ok"] is False and report["stage"] in ("upgrade", "session.created")
    assert report["secretHint"] == "****WXYZ" and report["ttlSeconds"] >= 590  # the mint's figures still shown
    assert SECRET not in result.all


def test_an_expiring_secret_still_shows_whether_it_opens_a_session(ctoops, worker, ws):
    worker.route("POST", ROUTE, Reply(json={"clientSecret": SECRET, "expiresAt": int(time.time()) + 30}))
    result, report = check(ctoops)
    assert result.exit_code == 1 and "sooner than --min-ttl" in report["detail"]
    assert report["sessionId"] == "sess_C9x1y2z3"  # the session check ran on the same secret, and says so


def test_a_failed_mint_skips_the_session_and_exits_with_the_mints_code(ctoops, worker, ws):
    limited = {
        "error": "Rate limit exceeded",
        "code": "QUOTA_EXCEEDED",
        "status": 429,
        "details": {"retryAfterSeconds": 0},
    }
    worker.route("POST", ROUTE, Reply(429, json=limited))
    result, report = check(ctoops, pre=("--max-retries", "0"))
    assert result.exit_code == 5
    assert report["sessionDetail"].startswith("skipped: not connected: no client secret")
    assert ws.upgrades == []


def test_via_openai_connects_where_openai_base_url_points(ctoops, server, monkeypatch):
    # OPENAI_BASE_URL is a plain HTTP server here: the mint works, the WebSocket upgrade to the
    # same base is answered 404, which proves where the probe went and how it failed
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-realtimeCliKey0000000000")
    server.route(
        "POST", "/v1/realtime/client_secrets", Reply(json={"value": SECRET, "expires_at": int(time.time()) + 600})
    )
    result, report = check(ctoops, pre=("--via", "openai"))
    assert result.exit_code == 1
    assert "realtime upgrade: upgrade refused: HTTP 404" in result.stderr
    (upgrade,) = server.seen("/v1/realtime")
    assert upgrade.query == {"model": "gpt-realtime-1.5"}
    assert upgrade.headers["upgrade"].lower() == "websocket"
    assert upgrade.headers["sec-websocket-protocol"] == f"realtime, openai-insecure-api-key.{SECRET}"
    assert SECRET not in result.all


def test_verbose_lines_name_each_stage_and_never_the_secret(ctoops, minted, ws):
    result = ctoops("-v", "realtime", "check", "--roundtrip")
    assert result.exit_code == 0, result.stderr
    for words in (
        "WS ws://127.0.0.1",
        "subprotocol auth, secret ****WXYZ",
        "-> 101 in",
        "WS <- session.created",
        "WS -> session.update",
        "WS <- session.updated",
        "WS <- response.output_text.delta (first)",
        "WS <- response.done",
        "WS closed (1000)",
    ):
        assert words in result.stderr, words
    assert SECRET not in result.all


# -- the sandbox: no socket, the same verdicts ---------------------------------------------


def test_sandbox_connects_in_process(ctoops):
    result, report = check(ctoops, "--roundtrip", pre=("--sandbox",))
    assert result.exit_code == 0, result.stderr
    assert report["sessionId"] == "sess_sandbox" and report["websocketUrl"].startswith(
        "wss://sandbox.openai.invalid/v1/realtime"
    )
    assert report["total_tokens"] == 31
    via_openai, direct = check(ctoops, pre=("--sandbox", "--via", "openai"))
    assert via_openai.exit_code == 0 and direct["sessionId"] == "sess_sandbox"


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        ("realtime-upgrade-403", 1, "upgrade refused: HTTP 403"),
        ("realtime-invalid-key", 1, "invalid_api_key"),
        ("realtime-beta-disabled", 1, "beta_api_shape_disabled"),
        ("realtime-closed", 1, "close 1008"),
        ("realtime-silent", 4, "timed out"),
        ("realtime-model-mismatch", 1, "model mismatch"),
    ],
)
def test_sandbox_faults_of_the_connect_stage(ctoops, monkeypatch, fault, code, words):
    monkeypatch.setenv("CTOOPS_SANDBOX_FAULTS", fault)
    result, report = check(ctoops, pre=("--sandbox",))
    assert result.exit_code == code and words in report["sessionDetail"]


def test_sandbox_smoke_and_runbook_include_the_session(ctoops):
    smoke = json.loads(ctoops("--sandbox", "smoke", "--format", "json").stdout)
    assert {c["check"]: c["status"] for c in smoke["checks"]}["realtime_session"] == "pass"
    runbook = ctoops("--sandbox", "runbook", "run", "-p", "realtime.roundtrip=true", "--format", "json")
    session = next(c for c in json.loads(runbook.stdout)["checks"] if c["check"] == "realtime/realtime_session")
    assert session["status"] == "pass" and session["total_tokens"] == 31
    off = ctoops("--sandbox", "runbook", "run", "-p", "realtime.connect=false", "--format", "json")
    assert "realtime/realtime_session" not in {c["check"] for c in json.loads(off.stdout)["checks"]}
