"""`smoke` against the documented answers of each check, from cassettes
(cassettes/test_contract_smoke/); the checks run concurrently against one cassette."""

from __future__ import annotations

import json

import pytest
from conftest import RECORD_ADMIN_KEY, RECORD_API_URL, RECORD_OPENAI_KEY, RECORD_TOKEN, RECORD_WORKSPACE

pytestmark = pytest.mark.usefixtures("recorded_clock")


@pytest.fixture
def worker_env(monkeypatch):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", RECORD_API_URL)
    monkeypatch.setenv("OPENCTO_TOKEN", RECORD_TOKEN)


def checks(result) -> dict[str, dict]:
    return {c["check"]: c for c in json.loads(result.stdout)["checks"]}


@pytest.mark.vcr
def test_smoke_via_worker(ctoops, worker_env, realtime_ws):
    result = ctoops("--workspace", RECORD_WORKSPACE, "smoke", "--format", "json")
    assert result.exit_code == 0, result.stderr
    found = checks(result)
    assert list(found) == ["realtime_token", "realtime_session", "models", "usage", "workspace_key"]
    assert found["usage"]["usageShape"] == "legacy" and found["usage"]["requests"] == 12
    assert found["models"]["models"] == 2
    assert found["workspace_key"]["keyHint"] == "****9xQz"


@pytest.mark.vcr
def test_smoke_usage_proxy_date_error(ctoops, worker_env, realtime_ws):
    result = ctoops("smoke", "--format", "json")
    assert result.exit_code == 1
    found = checks(result)
    assert found["realtime_token"]["ok"] and found["models"]["ok"]
    assert not found["usage"]["ok"] and found["usage"]["httpStatus"] == 400
    assert "Missing query parameter 'date'" in found["usage"]["detail"]
    assert "--via openai usage pull" in found["usage"]["detail"]


@pytest.mark.vcr
def test_smoke_via_openai(ctoops, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", RECORD_OPENAI_KEY)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", RECORD_ADMIN_KEY)
    # the recorded answers; the WebSocket at OPENAI_BASE_URL is tested in test_realtime_cli.py
    result = ctoops("--via", "openai", "smoke", "--skip", "realtime_session", "--format", "json")
    assert result.exit_code == 0, result.stderr
    found = checks(result)
    assert found["usage"]["usageShape"] == "page" and found["usage"]["requests"] == 5
