"""`models list` against the documented answers of both backends, replayed from cassettes
(cassettes/test_contract_models/). CI replays only; re-recording is in cassettes/README.md."""

from __future__ import annotations

import json

import pytest
from conftest import RECORD_API_URL, RECORD_OPENAI_KEY, RECORD_TOKEN


@pytest.fixture
def worker_env(monkeypatch):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", RECORD_API_URL)
    monkeypatch.setenv("OPENCTO_TOKEN", RECORD_TOKEN)


@pytest.mark.vcr
def test_models_via_worker(ctoops, worker_env):
    result = ctoops("models", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    models = json.loads(result.stdout)
    assert [m["id"] for m in models] == [
        "ft:gpt-4o-mini:acme::B2xQz",
        "gpt-4o-2024-08-06",
        "gpt-realtime-1.5",
        "text-embedding-3-small",
    ]
    assert models[0] == {
        "id": "ft:gpt-4o-mini:acme::B2xQz",
        "created": 1740000000,
        "owned_by": "organization-owner",
        "shutdown_date": "2026-10-23",
    }
    assert "shutdown_date" not in models[2]  # optional field, absent in older answers


@pytest.mark.vcr
def test_models_via_openai(ctoops, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", RECORD_OPENAI_KEY)
    result = ctoops("--via", "openai", "models", "list", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "id,created,owned_by",
        "gpt-4o,1715367049,system",
        "gpt-realtime,1756252800,system",
        "whisper-1,1677532384,openai-internal",
    ]


@pytest.mark.vcr
def test_models_worker_rejects_token(ctoops, worker_env):
    result = ctoops("models", "list")
    assert result.exit_code == 3
    assert "401 UNAUTHORIZED: Unauthorized" in result.stderr and "ctoops auth login" in result.stderr


@pytest.mark.vcr
def test_models_openai_rejects_the_workers_key(ctoops, worker_env):
    result = ctoops("models", "list")
    assert result.exit_code == 1
    assert "invalid_api_key" in result.stderr and "worker's OpenAI key" in result.stderr
