"""`realtime check` against the documented answers of the worker and OpenAI, from cassettes
(cassettes/test_contract_realtime/). The clock is pinned to the recording's time on replay."""

from __future__ import annotations

import json

import pytest
from conftest import RECORD_API_URL, RECORD_OPENAI_KEY, RECORD_TOKEN, RECORD_WORKSPACE

pytestmark = pytest.mark.usefixtures("recorded_clock")


@pytest.fixture
def worker_env(monkeypatch):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", RECORD_API_URL)
    monkeypatch.setenv("OPENCTO_TOKEN", RECORD_TOKEN)
    monkeypatch.setenv("OPENCTO_WORKSPACE", RECORD_WORKSPACE)


def report(result) -> dict:
    return json.loads(result.stdout)


@pytest.mark.vcr
def test_realtime_via_worker(ctoops, worker_env, realtime_ws):
    # the mint from the cassette; the connect stage on a loopback Realtime server (a cassette
    # cannot hold a WebSocket)
    result = ctoops("realtime", "check", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = report(result)
    assert data["connect"] is True and data["sessionId"] == "sess_C9x1y2z3"
    assert data["ok"] is True and data["ttlSeconds"] == 600 and data["expiresAt"] == 1795263000
    assert data["secretHint"] == "****CTED"  # the scrubbed secret, masked like any other


@pytest.mark.vcr
def test_realtime_via_openai(ctoops, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", RECORD_OPENAI_KEY)
    # the mint's recorded answer; the WebSocket at OPENAI_BASE_URL is tested in test_realtime_cli.py
    result = ctoops("--via", "openai", "realtime", "check", "--no-connect", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = report(result)
    assert data["model"] == "gpt-realtime-2025-08-25" and data["ttlSeconds"] == 600


@pytest.mark.vcr
def test_realtime_openai_rejects_the_workers_key(ctoops, worker_env):
    result = ctoops("realtime", "check", "--format", "json")
    assert result.exit_code == 1
    data = report(result)
    assert data["ok"] is False and data["errorCode"] == "invalid_api_key"
    assert "OpenAI refused the worker's OpenAI key (401 invalid_api_key" in data["detail"]


@pytest.mark.vcr
def test_realtime_quota_exceeded_then_minted(ctoops, worker_env, realtime_ws):
    result = ctoops("realtime", "check", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "429 QUOTA_EXCEEDED; retrying in 1." in result.stderr
