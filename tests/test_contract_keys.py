"""The worker's three key routes and their 400/403 answers, replayed from cassettes
(cassettes/test_contract_keys/). The PUT body's apiKey is scrubbed in the cassette. `keys set`
runs with --no-verify here: these tests are about the worker's contract; asking OpenAI about
the key first is tested in test_keys_auth.py."""

from __future__ import annotations

import json
import os

import pytest
from conftest import RECORD_API_URL, RECORD_TOKEN, RECORD_WORKSPACE

# The key sent when recording; its last 4 match the recorded keyHint.
KEY = os.environ.get("CTOOPS_TEST_BYOK_KEY", "sk-proj-contractTestKey000000009xQz")


@pytest.fixture(autouse=True)
def worker_env(monkeypatch):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", RECORD_API_URL)
    monkeypatch.setenv("OPENCTO_TOKEN", RECORD_TOKEN)


@pytest.mark.vcr
def test_keys_list(ctoops):
    result = ctoops("--workspace", RECORD_WORKSPACE, "keys", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "provider": "openai",
            "kind": "api",
            "workspaceId": "acme",
            "keyHint": "****9xQz",
            "createdAt": "2026-10-02T08:15:00.000Z",
            "updatedAt": "2026-11-20T17:42:11.000Z",
            "location": "worker",
        }
    ]


@pytest.mark.vcr
def test_keys_list_forbidden(ctoops):
    result = ctoops("--workspace", "globex", "keys", "list")
    assert result.exit_code == 3
    assert "403 FORBIDDEN" in result.stderr and "workspace 'globex' is not one of yours" in result.stderr


@pytest.mark.vcr
def test_keys_set(ctoops):
    result = ctoops(
        "--workspace", RECORD_WORKSPACE, "keys", "set", "--stdin", "--no-verify", "--format", "json", input=KEY
    )
    assert result.exit_code == 0, result.stderr
    saved = json.loads(result.stdout)
    assert saved["keyHint"] == "****9xQz" and saved["workspaceId"] == "acme" and saved["location"] == "worker"
    assert "does not match" not in result.stderr
    assert KEY not in result.all


@pytest.mark.vcr
def test_keys_set_rejected_by_the_worker(ctoops):
    result = ctoops("--workspace", RECORD_WORKSPACE, "keys", "set", "--stdin", "--no-verify", input=KEY)
    assert result.exit_code == 2
    assert "400 BAD_REQUEST: apiKey is required and must be at least 8 characters" in result.stderr


@pytest.mark.vcr
def test_keys_set_forbidden(ctoops):
    result = ctoops("--workspace", "globex", "keys", "set", "--stdin", "--no-verify", input=KEY)
    assert result.exit_code == 3 and "workspace 'globex'" in result.stderr


@pytest.mark.vcr
def test_keys_delete(ctoops):
    result = ctoops("--workspace", RECORD_WORKSPACE, "keys", "delete", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "Deleted the OpenAI key of workspace 'acme'" in result.stdout


@pytest.mark.vcr
def test_keys_delete_forbidden(ctoops):
    result = ctoops("--workspace", "globex", "keys", "delete", "--yes")
    assert result.exit_code == 3 and "workspace 'globex'" in result.stderr
