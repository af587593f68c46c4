"""The HTTP core's retry, wait, trace and error behaviour, through httpx.MockTransport
(outside vcrpy, which would intercept MockTransport too) and a loopback server."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from bodies import cloudflare_502, openai_error

from ctoops.backends.openai import OpenAIErrors
from ctoops.backends.opencto import WorkerErrors
from ctoops.errors import (
    BadInput,
    ExitCode,
    NotAuthenticated,
    OpenAIRejected,
    RateLimited,
    UpstreamError,
)
from ctoops.http import HttpClient

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HTML_502 = cloudflare_502()


class Script:
    """Answers requests from a list of (status, headers, body) or exceptions, in order."""

    def __init__(self, *steps):
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        status, headers, body = step
        content = (
            body
            if isinstance(body, bytes)
            else json.dumps(body).encode()
            if not isinstance(body, str)
            else body.encode()
        )
        headers = {"content-type": "application/json", **headers}
        return httpx.Response(status, headers=headers, content=content)


def errors_for(service: str):
    return WorkerErrors("https://api.opencto.works") if service == "opencto" else OpenAIErrors()


def client(script: Script, service: str = "opencto", **kw) -> tuple[HttpClient, list[float], list[str], list[str]]:
    sleeps: list[float] = []
    logs: list[str] = []
    notes: list[str] = []
    c = HttpClient(
        "https://api.opencto.works",
        errors=errors_for(service),
        token="tok_live_abcdefghijklmnop",
        timeout=5,
        max_retries=kw.pop("max_retries", 3),
        trace_id=TRACE if service == "opencto" else None,
        log=logs.append,
        notify=notes.append,
        transport=httpx.MockTransport(script),
        sleep=sleeps.append,
        **kw,
    )
    return c, sleeps, logs, notes


OK = (200, {}, {"object": "list", "data": []})
WORKER_429 = {
    "error": "Rate limit exceeded",
    "code": "QUOTA_EXCEEDED",
    "status": 429,
    "details": {"bucket": "realtime_token", "limit": 30, "windowSeconds": 60, "retryAfterSeconds": 17},
}


def test_503_then_200_succeeds_after_one_retry():
    script = Script((503, {}, {"error": "Service unavailable", "code": "UPSTREAM_ERROR"}), OK)
    c, sleeps, logs, notes = client(script)
    response = c.get("/api/v1/cto/openai/models")
    assert response.status == 200
    assert len(script.requests) == 2
    assert len(sleeps) == 1 and 0.375 <= sleeps[0] <= 0.5  # first backoff: 0.5 s less up to 25 %
    assert "retrying" in notes[0] and "503" in notes[0]


def test_backoff_grows_and_5xx_after_retries_exits_4():
    script = Script((500, {}, {"error": "boom", "code": "INTERNAL_SERVER_ERROR", "status": 500}))
    c, sleeps, _, _ = client(script)
    with pytest.raises(UpstreamError) as info:
        c.get("/api/v1/cto/openai/models")
    assert info.value.exit_code == ExitCode.UPSTREAM == 4
    assert len(script.requests) == 4  # 1 + 3 retries
    assert [round(s / b, 2) <= 1 and s / b >= 0.75 for s, b in zip(sleeps, (0.5, 1, 2), strict=True)] == [True] * 3
    assert "500 INTERNAL_SERVER_ERROR: boom" in info.value.message
    assert "after 4 attempts" in info.value.message


def test_worker_body_only_retry_after_is_honoured():
    script = Script((429, {}, WORKER_429), OK)
    c, sleeps, _, notes = client(script)
    c.request("POST", "/api/v1/realtime/token", json_body={"model": "gpt-realtime-1.5"})
    assert len(sleeps) == 1 and 17 <= sleeps[0] <= 17.25
    assert "429 QUOTA_EXCEEDED" in notes[0]


def test_worker_429_still_limited_after_retries_exits_5_naming_the_bucket():
    script = Script((429, {}, WORKER_429))
    c, sleeps, _, _ = client(script, max_retries=2)
    with pytest.raises(RateLimited) as info:
        c.request("POST", "/api/v1/realtime/token")
    assert info.value.exit_code == 5
    assert len(sleeps) == 2 and all(17 <= s <= 17.25 for s in sleeps)
    assert "realtime_token" in info.value.message and "30 per 60s" in info.value.message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # ms first, as openai-python
    ],
)
def test_retry_after_headers(headers, expected):
    body = openai_error("Rate limit reached", "rate_limit_exceeded", type="requests")
    script = Script((429, headers, body), OK)
    c, sleeps, _, _ = client(script, service="openai")
    c.get("/models")
    assert expected <= sleeps[0] <= expected + 0.25


def test_retry_after_http_date():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    script = Script(
        (
            503,
            {"retry-after": when},
            openai_error("overloaded", type="server_error"),
        ),
        OK,
    )
    c, sleeps, _, _ = client(script, service="openai")
    c.get("/models")
    assert 3.0 <= sleeps[0] <= 5.3


def test_429_without_retry_after_uses_backoff():
    body = openai_error("Rate limit reached", "rate_limit_exceeded", type="tokens")
    script = Script((429, {}, body), OK)
    c, sleeps, _, _ = client(script, service="openai")
    c.get("/models")
    assert 0.375 <= sleeps[0] <= 0.5


@pytest.mark.parametrize(
    "code", ["insufficient_quota", "credit_balance_exhausted", "project_spend_limit_exceeded", None]
)
def test_quota_and_billing_429_are_never_retried(code):
    body = openai_error(
        "You exceeded your current quota, please check your plan and billing details.", code, type="insufficient_quota"
    )
    script = Script((429, {"retry-after": "1"}, body))
    c, sleeps, _, _ = client(script, service="openai")
    with pytest.raises(OpenAIRejected) as info:
        c.get("/models")
    assert len(script.requests) == 1 and sleeps == []
    assert info.value.exit_code == ExitCode.RATE_LIMITED
    assert "quota" in info.value.message and "no retry can fix" in info.value.message


def test_a_wait_longer_than_the_cap_is_not_attempted():
    body = openai_error("slow down", "slow_down", type="rate_limit_error")
    script = Script((429, {"retry-after": "600"}, body))
    c, sleeps, _, _ = client(script, service="openai")
    with pytest.raises(OpenAIRejected) as info:
        c.get("/models")
    assert sleeps == [] and len(script.requests) == 1
    assert info.value.exit_code == 5
    assert "wait 600s" in info.value.message


def test_x_should_retry_false_stops_retries():
    script = Script((503, {"x-should-retry": "false"}, {"error": "down", "code": "UPSTREAM_ERROR"}))
    c, sleeps, _, _ = client(script)
    with pytest.raises(UpstreamError):
        c.get("/api/v1/health")
    assert len(script.requests) == 1


def test_html_502_is_an_upstream_error_naming_the_status_and_the_page():
    script = Script((502, {"content-type": "text/html; charset=UTF-8"}, HTML_502))
    c, _, _, _ = client(script, max_retries=1)
    with pytest.raises(UpstreamError) as info:
        c.get("/api/v1/cto/openai/models")
    message = info.value.message
    assert info.value.exit_code == 4
    assert "502" in message and "text/html" in message and "not JSON" in message
    assert "api.opencto.works | 502: Bad gateway" in message
    assert "<" not in message and "\n" not in message  # sanitized: no markup, one line
    assert len(script.requests) == 2  # 502 is retried before giving up


def test_truncated_json_is_an_upstream_error():
    script = Script((200, {}, b'{"object": "list", "data": [{"id": "gpt-4o", "crea'))
    c, _, _, _ = client(script)
    with pytest.raises(UpstreamError) as info:
        c.get("/api/v1/cto/openai/models")
    assert info.value.exit_code == 4
    assert "not JSON" in info.value.message and "cut short" in info.value.message


def test_empty_body_is_named():
    script = Script((200, {}, b""))
    c, _, _, _ = client(script)
    with pytest.raises(UpstreamError, match="the body is empty"):
        c.get("/api/v1/cto/openai/models")


def test_timeouts_are_retried_then_exit_4():
    script = Script(httpx.ReadTimeout("timed out"))
    c, sleeps, _, _ = client(script, max_retries=2)
    with pytest.raises(UpstreamError) as info:
        c.get("/api/v1/health")
    assert len(script.requests) == 3 and len(sleeps) == 2
    assert "did not answer within 5s" in info.value.message and "--timeout" in info.value.message


def test_connection_refused_on_loopback_exits_4():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps: list[float] = []
    c = HttpClient(
        f"http://127.0.0.1:{port}",
        errors=errors_for("opencto"),
        token="t" * 20,
        timeout=2,
        max_retries=1,
        sleep=sleeps.append,
    )
    with pytest.raises(UpstreamError) as info:
        c.get("/api/v1/health")
    assert info.value.exit_code == 4
    assert "refused the connection" in info.value.message and "after 2 attempts" in info.value.message
    assert "--api-url" in info.value.message


def test_trace_headers_on_every_worker_request_and_a_fresh_span_each():
    script = Script((503, {}, {"error": "x", "code": "UPSTREAM_ERROR"}), OK)
    c, _, logs, _ = client(script)
    c.get("/api/v1/health")
    parents = []
    for request in script.requests:
        assert request.headers["x-opencto-trace-id"] == TRACE
        version, trace, span, flags = request.headers["traceparent"].split("-")
        assert (version, trace, flags) == ("00", TRACE, "01") and len(span) == 16
        parents.append(span)
    assert parents[0] != parents[1]
    assert all(TRACE in line for line in logs)


def test_no_trace_headers_to_openai():
    script = Script(OK)
    c, _, _, _ = client(script, service="openai")
    c.get("/models")
    assert "x-opencto-trace-id" not in script.requests[0].headers
    assert "traceparent" not in script.requests[0].headers


def test_verbose_lines_name_method_path_status_ms_attempt_and_request_id_never_the_token():
    script = Script((200, {"x-request-id": "req_deaa3616cbd15d33b4db96b3ba74d2b4"}, {"object": "list", "data": []}))
    c, _, logs, _ = client(script)
    c.get("/api/v1/cto/openai/models", params={"q": "sk-proj-abcdefghijklmnopqrstuvwx"})
    (line,) = logs
    assert line.startswith("GET /api/v1/cto/openai/models")
    assert "-> 200 in" in line and " ms " in line and "attempt 1/4" in line
    assert f"trace {TRACE}" in line and "x-request-id req_deaa3616cbd15d33b4db96b3ba74d2b4" in line
    assert "tok_live_abcdefghijklmnop" not in line
    assert "sk-proj-abcdefghijklmnopqrstuvwx" not in line and "****uvwx" in line


def test_worker_401_is_not_authenticated_with_the_fix():
    script = Script((401, {}, {"error": "Unauthorized", "code": "UNAUTHORIZED", "status": 401}))
    c, _, _, _ = client(script)
    with pytest.raises(NotAuthenticated) as info:
        c.get("/api/v1/cto/openai/models")
    assert info.value.exit_code == 3
    assert "401 UNAUTHORIZED" in info.value.message and "ctoops auth login" in info.value.message
    assert len(script.requests) == 1


def test_openai_401_through_the_worker_proxy_is_a_failed_check_not_ctoops_auth():
    body = openai_error("Incorrect API key provided: sk-VKMIs***...wjh3.", "invalid_api_key")
    script = Script((401, {}, body))
    c, _, _, _ = client(script)
    with pytest.raises(OpenAIRejected) as info:
        c.get("/api/v1/cto/openai/models")
    assert info.value.exit_code == 1 and info.value.code == "invalid_api_key"
    assert "worker's OpenAI key" in info.value.message


def test_openai_error_wrapped_by_the_worker_carries_openai_code():
    raw = json.dumps(openai_error("Incorrect API key provided", "invalid_api_key"))
    script = Script((401, {}, {"error": "OpenAI rejected the request", "code": "OPENAI_ERROR", "details": raw}))
    c, _, _, _ = client(script)
    with pytest.raises(OpenAIRejected) as info:
        c.request("POST", "/api/v1/realtime/token")
    assert info.value.exit_code == 1 and info.value.code == "invalid_api_key"
    assert "invalid_api_key" in info.value.message


def test_direct_openai_401_is_not_authenticated():
    body = openai_error("Incorrect API key provided", "invalid_api_key")
    script = Script((401, {}, body))
    c, _, _, _ = client(script, service="openai")
    with pytest.raises(NotAuthenticated) as info:
        c.get("/models")
    assert info.value.exit_code == 3 and "OPENAI_API_KEY" in info.value.message


def test_worker_400_is_bad_input_with_the_workers_rule():
    script = Script(
        (
            400,
            {},
            {
                "error": "apiKey is required and must be at least 8 characters",
                "code": "BAD_REQUEST",
                "status": 400,
            },
        )
    )
    c, _, _, _ = client(script)
    with pytest.raises(BadInput) as info:
        c.request("PUT", "/api/v1/llm/keys/openai", json_body={"apiKey": "x"})
    assert info.value.exit_code == 2 and "at least 8 characters" in info.value.message


def test_config_error_points_to_runbook_step_1():
    script = Script((500, {}, {"error": "OPENAI_API_KEY is not configured", "code": "CONFIG_ERROR", "status": 500}))
    c, _, _, _ = client(script, max_retries=0)
    with pytest.raises(UpstreamError) as info:
        c.get("/api/v1/cto/openai/models")
    assert "wrangler secret put OPENAI_API_KEY" in info.value.message


def test_money_is_parsed_exactly():
    script = Script((200, {}, b'{"amount": {"value": 0.1000000000000000055511151231257827, "currency": "usd"}}'))
    c, _, _, _ = client(script)
    value = c.get("/x").data["amount"]["value"]
    assert str(value) == "0.1000000000000000055511151231257827"
