"""The realtime probe against a real WebSocket server on 127.0.0.1 (tests/support/realtime_server.py),
through the real ``websockets`` connector: every scenario of issue 12, the exit code each maps to,
and that the secret never shows whole (results, errors, -v lines, websockets' own debug log)."""

from __future__ import annotations

import json
import logging

import pytest
from realtime_server import (
    RealtimeServer,
    close_without_event,
    drop,
    error_on_update,
    error_then_close,
    not_json,
    silent,
)

from ctoops.errors import CheckFailed, CtoopsError, RateLimited, UpstreamError
from ctoops.realtime_probe import StageTimeouts, probe
from ctoops.realtime_protocol import same_model, websocket_url
from ctoops.realtime_ws import websockets_connector

SECRET = "ek_68af296e8e408191a1120ab6383263c2"
MODEL = "gpt-realtime-1.5"
QUICK = StageTimeouts.each(0.3)  # only the stalled scenarios ever wait this long


@pytest.fixture
def rt():
    servers: list[RealtimeServer] = []

    def make(**kwargs) -> RealtimeServer:
        server = RealtimeServer(secret=kwargs.pop("secret", SECRET), **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def run(server: RealtimeServer, *, secret: str = SECRET, model: str = MODEL, lines: list[str] | None = None, **kwargs):
    return probe(
        websocket_url(server.base_url, model),
        secret,
        model,
        connect=websockets_connector("ctoops-test"),
        log=None if lines is None else lines.append,
        **{"timeouts": QUICK, **kwargs},
    )


def fails(server: RealtimeServer, cls: type[CtoopsError], **kwargs) -> CtoopsError:
    with pytest.raises(cls) as caught:
        run(server, **kwargs)
    assert type(caught.value) is cls, caught.value  # not a subclass standing in for another code
    assert SECRET not in caught.value.format_message() and SECRET not in json.dumps(caught.value.data)
    return caught.value


# -- the URL -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("https://api.openai.com/v1", "wss://api.openai.com/v1/realtime?model=gpt-realtime-1.5"),
        ("https://api.openai.com/v1/", "wss://api.openai.com/v1/realtime?model=gpt-realtime-1.5"),
        ("http://127.0.0.1:8080/v1", "ws://127.0.0.1:8080/v1/realtime?model=gpt-realtime-1.5"),
        (
            "https://proxy.example/openai/v1?api-version=2",
            "wss://proxy.example/openai/v1/realtime?api-version=2&model=gpt-realtime-1.5",
        ),
    ],
)
def test_the_websocket_url_follows_openai_base_url_as_openai_python_derives_it(base, url):
    assert websocket_url(base, MODEL) == url


def test_the_model_is_encoded_like_encodeURIComponent():
    assert websocket_url("https://api.openai.com/v1", "a b/c") == "wss://api.openai.com/v1/realtime?model=a%20b%2Fc"


@pytest.mark.parametrize(
    ("asked", "reported", "same"),
    [
        ("gpt-realtime", "gpt-realtime", True),
        ("gpt-realtime", "gpt-realtime-2025-08-28", True),  # an alias resolved to its snapshot
        ("gpt-realtime", "gpt-realtime-mini", False),
        ("gpt-realtime-1.5", "gpt-4o-realtime-preview", False),
        ("gpt-realtime", "gpt-realtime-2025-08", False),
    ],
)
def test_same_model(asked, reported, same):
    assert same_model(asked, reported) is same


# -- a working path ------------------------------------------------------------------------


def test_a_good_session_reports_every_stage_and_spends_nothing(rt):
    server = rt()
    lines: list[str] = []
    result = run(server, lines=lines)
    record = result.as_record()
    assert record["sessionId"] == "sess_C9x1y2z3" and record["sessionModel"] == MODEL
    assert record["subprotocol"] == "realtime" and record["auth"] == "subprotocol"
    for key in ("upgradeMs", "sessionCreatedMs", "sessionUpdatedMs", "totalMs"):
        assert record[key] is not None and record[key] >= 0, key
    assert record["totalMs"] >= record["upgradeMs"] + record["sessionCreatedMs"] + record["sessionUpdatedMs"] - 0.3
    # nothing measured is never shown as 0: no round trip, no tokens
    assert record["firstDeltaMs"] is None and record["input_tokens"] is None and record["total_tokens"] is None
    # exactly what the dashboard does, and not one event more: no response is ever created
    (upgrade,) = server.upgrades
    assert upgrade.path == "/v1/realtime" and upgrade.query == {"model": MODEL}
    assert upgrade.subprotocols == ["realtime", f"openai-insecure-api-key.{SECRET}"]
    assert "authorization" not in upgrade.headers
    assert server.kinds() == ["session.update"]
    assert server.events[0]["session"]["type"] == "realtime"
    assert server.events[0]["session"]["output_modalities"] == ["text"]
    assert lines and not any(SECRET in line for line in lines)
    assert any("****63c2" in line for line in lines)


def test_header_auth_sends_the_secret_as_a_bearer_token_and_no_subprotocol(rt):
    server = rt()
    result = run(server, auth="header")
    (upgrade,) = server.upgrades
    assert upgrade.headers["authorization"] == f"Bearer {SECRET}"
    assert upgrade.subprotocols == []
    assert result.auth == "header" and result.subprotocol is None


def test_roundtrip_reports_first_delta_and_the_tokens_response_done_reports(rt):
    server = rt()
    result = run(server, roundtrip=True)
    record = result.as_record()
    assert server.kinds() == ["session.update", "conversation.item.create", "response.create"]
    create = server.events[2]
    assert create["response"] == {"output_modalities": ["text"], "max_output_tokens": 16}
    assert server.events[1]["item"]["content"] == [{"type": "input_text", "text": "ping"}]
    assert record["input_tokens"] == 38 and record["output_tokens"] == 3 and record["total_tokens"] == 41
    assert record["responseStatus"] == "completed" and result.deltas == 2
    assert 0 <= record["firstDeltaMs"] <= record["responseDoneMs"] <= record["totalMs"]


def test_roundtrip_understands_the_beta_event_names(rt):
    server = rt(names="beta")
    result = run(server, roundtrip=True)
    assert result.session_shape == "beta" and result.deltas == 2 and result.usage is not None


def test_a_response_without_usage_reports_no_tokens_rather_than_zero(rt):
    server = rt(usage=None)
    record = run(server, roundtrip=True).as_record()
    assert record["input_tokens"] is None and record["output_tokens"] is None


def test_a_completed_response_without_any_delta_fails(rt):
    server = rt(deltas=())
    error = fails(server, CheckFailed, roundtrip=True)
    assert "without any text delta" in str(error.message)


def test_a_failed_response_names_its_status(rt):
    server = rt(response_status="failed")
    error = fails(server, CheckFailed, roundtrip=True)
    assert "response.done with status 'failed'" in error.message


def test_a_slow_upgrade_within_the_timeout_is_measured(rt):
    server = rt(upgrade_wait=0.1)
    result = run(server)
    assert result.upgrade_ms >= 100  # a lower bound only: the server held the upgrade that long


def test_a_dated_snapshot_of_the_model_asked_for_passes(rt):
    server = rt(model=f"{MODEL}-2026-02-01")
    assert run(server).model == f"{MODEL}-2026-02-01"


# -- failures: stage, cause, exit code -----------------------------------------------------


def test_an_error_event_then_a_close_names_the_code_and_the_close(rt):
    server = rt(secret="ek_someoneelse0000000000000")  # the server expects another secret
    error = fails(server, CheckFailed)
    assert error.message.startswith("realtime session.created: error event invalid_request_error/invalid_api_key")
    assert "then close 3000 'invalid_request_error.invalid_api_key'" in error.message
    assert error.code == "invalid_api_key" and error.exit_code == 1
    assert error.data["stage"] == "session.created" and error.data["closeCode"] == 3000
    assert error.data["upgradeMs"] >= 0


@pytest.mark.parametrize(
    ("code", "close", "cls"),
    [
        ("beta_api_shape_disabled", 4000, CheckFailed),
        ("session_expired", 3000, CheckFailed),
        ("rate_limit_exceeded", 3000, RateLimited),
        ("insufficient_quota", 3000, RateLimited),
    ],
)
def test_error_events_map_to_the_contracts_exit_codes(rt, code, close, cls):
    server = rt(scenario=error_then_close("invalid_request_error", code, f"about {code}", close, f"x.{code}"))
    error = fails(server, cls)
    assert error.code == code and f"/{code}: about {code}" in error.message


def test_a_server_error_event_is_upstream_unavailable(rt):
    server = rt(scenario=error_then_close("server_error", "internal", "The server had an error", 1011, ""))
    error = fails(server, UpstreamError)
    assert error.exit_code == 4


def test_an_error_in_reply_to_session_update_names_that_stage(rt):
    server = rt(
        scenario=error_on_update("invalid_request_error", "unknown_parameter", "Unknown parameter: 'session.type'.")
    )
    error = fails(server, CheckFailed)
    assert error.message.startswith("realtime session.updated: error event invalid_request_error/unknown_parameter")
    assert "(in reply to ctoops-session-update)" in error.message
    assert error.data["sessionCreatedMs"] >= 0 and "sessionUpdatedMs" not in error.data


@pytest.mark.parametrize(
    ("close", "reason", "cls"),
    [
        (1008, "policy violation", CheckFailed),
        (4001, "not allowed", CheckFailed),
        (1011, "", UpstreamError),
        (1013, "try later", UpstreamError),
    ],
)
def test_a_close_before_session_created_names_code_and_reason(rt, close, reason, cls):
    server = rt(scenario=close_without_event(close, reason))
    error = fails(server, cls)
    assert error.message.startswith(
        f"realtime session.created: the server closed the connection before session.created: close {close}"
    )
    assert error.data["closeCode"] == close and error.data["closeReason"] == reason


def test_a_connection_dropped_without_a_close_frame_is_upstream_unavailable(rt):
    server = rt(scenario=drop)
    error = fails(server, UpstreamError)
    assert error.message == "realtime session.created: the connection dropped before session.created: close 1006"
    assert error.data["closeCode"] == 1006


def test_session_created_that_never_comes_is_a_timeout_at_that_stage(rt):
    server = rt(scenario=silent)
    error = fails(server, UpstreamError)
    assert error.message == "realtime session.created: timed out after 0.3s (--connect-timeout)"
    assert error.data["stage"] == "session.created"


def test_an_upgrade_slower_than_the_timeout_is_a_timeout_at_the_upgrade(rt):
    server = rt(upgrade_wait=30)
    error = fails(server, UpstreamError)
    assert error.message.startswith("realtime upgrade: timed out after 0.3s")


def test_a_different_model_in_session_created_fails(rt):
    server = rt(model="gpt-4o-realtime-preview")
    error = fails(server, CheckFailed)
    assert error.message == (
        "realtime session.created: model mismatch: asked for 'gpt-realtime-1.5', "
        "session.created reports 'gpt-4o-realtime-preview'"
    )
    assert server.kinds() == []  # nothing was sent to a session on the wrong model


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, CheckFailed),
        (403, CheckFailed),
        (404, CheckFailed),
        (429, RateLimited),
        (503, UpstreamError),
        (200, UpstreamError),
    ],
)
def test_a_refused_upgrade_names_the_http_status(rt, status, cls):
    server = rt(refuse=(status, '{"error":{"message":"nope"}}'))
    error = fails(server, cls)
    assert error.message.startswith(f"realtime upgrade: upgrade refused: HTTP {status}")
    assert error.status == status and "nope" in error.message


def test_a_redirect_is_never_followed_so_the_secret_goes_nowhere_else(rt):
    elsewhere = rt()
    server = rt(redirect_to=elsewhere.ws_url + "/realtime?model=x")
    error = fails(server, CheckFailed)
    assert "HTTP 302" in error.message and "browsers never follow a WebSocket redirect" in error.message
    assert elsewhere.upgrades == []


def test_no_subprotocol_chosen_fails_as_a_browser_would(rt):
    server = rt(choose_subprotocol=None)
    error = fails(server, CheckFailed)
    assert "without choosing a subprotocol" in error.message


def test_a_frame_that_is_not_json_is_malformed(rt):
    server = rt(scenario=not_json)
    error = fails(server, UpstreamError)
    assert "not a JSON event (text frame of 24 characters)" in error.message


def test_nothing_listening_is_upstream_unavailable(rt):
    server = rt()
    url = websocket_url(server.base_url, MODEL)
    server.close()
    with pytest.raises(UpstreamError) as caught:
        probe(url, SECRET, MODEL, connect=websockets_connector("t"), timeouts=QUICK)
    assert caught.value.message.startswith("realtime upgrade: cannot reach ws://127.0.0.1:")


def test_a_secret_a_subprotocol_cannot_carry_is_refused_before_connecting(rt):
    server = rt(secret="ek_with/slash=0000000000")
    error = fails(server, CheckFailed, secret="ek_with/slash=0000000000")
    assert "RFC 7230 token" in error.message and "0000" in error.message
    assert "ek_with/slash" not in error.message
    assert server.upgrades == []


# -- the secret never shows -----------------------------------------------------------------


def test_a_server_that_echoes_the_secret_subprotocol_gets_it_back_masked(rt):
    server = rt(choose_subprotocol="secret")
    lines: list[str] = []
    result = run(server, lines=lines)
    assert result.subprotocol == "openai-insecure-api-key.****63c2"
    assert SECRET not in json.dumps(result.as_record()) and not any(SECRET in line for line in lines)


def test_websockets_own_debug_log_never_holds_the_secret(rt, caplog):
    caplog.set_level(logging.DEBUG, logger="ctoops.realtime.websockets")
    server = rt()
    run(server, roundtrip=True)
    text = caplog.text
    assert "Sec-WebSocket-Protocol: realtime, openai-insecure-api-key.****63c2" in text  # it did log the header
    assert SECRET not in text
    header = rt()
    run(header, auth="header")
    assert "Authorization: Bearer ****63c2" in caplog.text and SECRET not in caplog.text


def test_the_probe_modules_do_not_import_websockets_until_they_connect():
    import subprocess
    import sys

    code = "import sys, ctoops.realtime_probe, ctoops.realtime_ws; print('websockets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
