"""`ctoops models list` end to end: the real CLI over real HTTP to a loopback server."""

from __future__ import annotations

import csv
import io
import json

import pytest
from bodies import cloudflare_502
from fakeserver import Reply

TOKEN = "opencto-session-token-a1b2c3d4e5f6"
MODELS = {
    "object": "list",
    "data": [
        {"id": "gpt-realtime-1.5", "object": "model", "created": 1756252800, "owned_by": "system"},
        {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
        {
            "id": "ft:gpt-4o:acme::abc",
            "object": "model",
            "created": 1725000000,
            "owned_by": "organization-owner",
            "shutdown_date": None,
        },
    ],
}


def test_table_json_csv_via_the_worker(ctoops, worker):
    worker.route("GET", "/api/v1/cto/openai/models", Reply(json=MODELS))
    table = ctoops("models", "list")
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["id", "created", "owned_by"]
    assert [line.split()[0] for line in lines[1:]] == ["ft:gpt-4o:acme::abc", "gpt-4o", "gpt-realtime-1.5"]
    assert "2024-05-10" in table.stdout  # created shown as a UTC date on the table
    assert "\x1b[" not in table.stdout  # not a TTY: no ANSI

    as_json = ctoops("models", "list", "--format", "json")
    data = json.loads(as_json.stdout)
    assert [m["id"] for m in data] == ["ft:gpt-4o:acme::abc", "gpt-4o", "gpt-realtime-1.5"]
    assert data[1] == {"id": "gpt-4o", "created": 1715367049, "owned_by": "system"}
    assert data[0]["shutdown_date"] is None  # extra fields pass through

    as_csv = list(csv.DictReader(io.StringIO(ctoops("models", "list", "--format", "csv").stdout)))
    assert as_csv[2] == {
        "id": "gpt-realtime-1.5",
        "created": "1756252800",
        "owned_by": "system",
        "shutdown_date": "",
    }

    request = worker.seen("/api/v1/cto/openai/models")[0]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_match_filters_substring_and_glob(ctoops, worker):
    worker.route("GET", "/api/v1/cto/openai/models", Reply(json=MODELS))
    sub = json.loads(ctoops("models", "list", "--match", "REALTIME", "--format", "json").stdout)
    assert [m["id"] for m in sub] == ["gpt-realtime-1.5"]
    glob = json.loads(ctoops("models", "list", "--match", "gpt-4o*", "--format", "json").stdout)
    assert [m["id"] for m in glob] == ["gpt-4o"]
    none = ctoops("models", "list", "--match", "nothing-like-this")
    assert none.exit_code == 0 and "no model matched" in none.stderr


def test_via_openai_uses_the_api_key_and_openai_base_url(ctoops, server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-directkey0123456789abcdef")
    server.route("GET", "/v1/models", Reply(json=MODELS))
    result = ctoops("--via", "openai", "models", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 3
    seen = server.seen("/v1/models")[0]
    assert seen.headers["authorization"] == "Bearer sk-proj-directkey0123456789abcdef"
    assert "x-opencto-trace-id" not in seen.headers


def test_no_token_exits_3_before_any_request(ctoops, server, monkeypatch):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", server.url)
    result = ctoops("models", "list")
    assert result.exit_code == 3
    assert "no OpenCTO token" in result.stderr and "ctoops auth login" in result.stderr
    assert "OPENCTO_TOKEN" in result.stderr
    assert server.requests == []
    assert result.stderr.count("\n") == 1  # one line


def test_no_openai_key_exits_3_before_any_request(ctoops, server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    result = ctoops("--via", "openai", "models", "list")
    assert result.exit_code == 3 and "OPENAI_API_KEY" in result.stderr
    assert server.requests == []


@pytest.mark.parametrize(
    ("status", "body", "fix"),
    [
        (401, {"error": "Unauthorized", "code": "UNAUTHORIZED", "status": 401}, "ctoops auth login"),
        (403, {"error": "Forbidden", "code": "FORBIDDEN", "status": 403}, "403 FORBIDDEN"),
    ],
)
def test_worker_auth_failures_exit_3(ctoops, worker, status, body, fix):
    worker.route("GET", "/api/v1/cto/openai/models", Reply(status, json=body))
    result = ctoops("models", "list")
    assert result.exit_code == 3
    assert fix in result.stderr
    assert TOKEN not in result.all


def test_503_then_200_succeeds_after_one_retry(ctoops, worker):
    worker.route(
        "GET",
        "/api/v1/cto/openai/models",
        Reply(503, json={"error": "Service Unavailable", "code": "UPSTREAM_ERROR"}),
        Reply(json=MODELS),
    )
    result = ctoops("models", "list", "--format", "json")
    assert result.exit_code == 0
    assert len(worker.seen("/api/v1/cto/openai/models")) == 2
    assert "retrying" in result.stderr


def test_html_502_exits_4_naming_502(ctoops, worker):
    page = cloudflare_502()
    worker.route("GET", "/api/v1/cto/openai/models", Reply(502, body=page, content_type="text/html"))
    result = ctoops("--max-retries", "0", "models", "list")
    assert result.exit_code == 4
    assert "502" in result.stderr and "Bad gateway" in result.stderr and "not JSON" in result.stderr
    assert result.stdout == ""


def test_timeout_exits_4(ctoops, worker):
    worker.route("GET", "/api/v1/cto/openai/models", Reply(json=MODELS, delay=1.5))
    result = ctoops("--timeout", "0.3", "--max-retries", "0", "models", "list")
    assert result.exit_code == 4
    assert "did not answer within 0.3s" in result.stderr


def test_torn_answer_exits_4(ctoops, worker):
    worker.route("GET", "/api/v1/cto/openai/models", Reply(json=MODELS, cut_after=40))
    result = ctoops("--max-retries", "0", "models", "list")
    assert result.exit_code == 4
    assert "closed the connection" in result.stderr


def test_connection_refused_exits_4(ctoops, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OPENCTO_TOKEN", TOKEN)
    result = ctoops("--api-url", f"http://127.0.0.1:{port}", "--max-retries", "0", "models", "list")
    assert result.exit_code == 4 and "refused the connection" in result.stderr


def test_missing_data_is_named(ctoops, worker):
    worker.route("GET", "/api/v1/cto/openai/models", Reply(json={"object": "list"}))
    result = ctoops("models", "list")
    assert result.exit_code == 4 and "without a `data` array" in result.stderr


def test_verbose_prints_the_trace_id_sent_and_no_secret(ctoops, worker):
    worker.route("GET", "/api/v1/cto/openai/models", Reply(json=MODELS, headers={"x-request-id": "req_123"}))
    result = ctoops("-v", "models", "list", "--format", "json")
    assert result.exit_code == 0
    sent = worker.seen("/api/v1/cto/openai/models")[0].headers
    trace = sent["x-opencto-trace-id"]
    assert len(trace) == 32 and sent["traceparent"].split("-")[1] == trace
    (line,) = [x for x in result.stderr.splitlines() if "/api/v1/cto/openai/models" in x]
    assert f"trace {trace}" in line and "x-request-id req_123" in line and "-> 200" in line
    assert TOKEN not in result.all


def test_ctoops_trace_id_is_used(ctoops, worker, monkeypatch):
    monkeypatch.setenv("CTOOPS_TRACE_ID", "0AF7651916CD43DD8448EB211C80319C")
    worker.route("GET", "/api/v1/cto/openai/models", Reply(json=MODELS))
    assert ctoops("models", "list").exit_code == 0
    assert worker.seen()[0].headers["x-opencto-trace-id"] == "0af7651916cd43dd8448eb211c80319c"


def test_bad_trace_id_exits_2(ctoops, worker, monkeypatch):
    monkeypatch.setenv("CTOOPS_TRACE_ID", "not-a-trace")
    result = ctoops("models", "list")
    assert result.exit_code == 2 and "32 hex digits" in result.stderr
    assert worker.requests == []


def test_token_flag_warns_and_is_masked(ctoops, server, monkeypatch):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", server.url)
    server.route("GET", "/api/v1/cto/openai/models", Reply(401, json={"error": "Unauthorized", "code": "UNAUTHORIZED"}))
    result = ctoops("--token", TOKEN, "-v", "models", "list")
    assert result.exit_code == 3
    assert "visible to other local users" in result.stderr
    assert TOKEN not in result.all
