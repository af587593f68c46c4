"""Field cases from public reports, served from a loopback server (tests/fixtures/cases/).
The right answers are the cases README's."""

from __future__ import annotations

import json

import pytest
from cases import serve

SECRET_GA = "ek_FAKEFAKEFAKEFAKEFAKEwxyz"
SECRET_BETA = "ek_FAKEFAKEFAKEFAKEFAKEabcd"


@pytest.fixture
def openai(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-casesKey00000000000Zz9")
    return server


# -- quota-429-insufficient: no retry can fix quota ---------------------------------------------


@pytest.mark.parametrize("path", ["direct", "wrapped by the worker"])
def test_quota_429_insufficient_exits_5_after_one_attempt(ctoops, server, openai, worker, waits, path):
    serve(server, "quota-429-insufficient")
    args = ("--via", "openai") if path == "direct" else ()
    result = ctoops(*args, "realtime", "check", "--format", "json")
    assert result.exit_code == 5, result.stderr
    route = "/v1/realtime/client_secrets" if path == "direct" else "/api/v1/realtime/token"
    assert len(server.seen(route)) == 1  # ONE attempt: minting again cannot fix a quota
    assert waits == [] and "retrying" not in result.stderr
    assert "insufficient_quota" in result.stderr and "no retry can fix" in result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["errorCode"] == "insufficient_quota"


def test_quota_429_passed_through_by_the_models_proxy_is_not_retried(ctoops, server, worker, waits):
    serve(server, "quota-429-insufficient")
    result = ctoops("models", "list")
    assert result.exit_code == 5 and len(server.seen("/api/v1/cto/openai/models")) == 1
    assert waits == []
    assert "OpenAI, via the worker" in result.stderr


# -- realtime-beta-session-shape: the secret is where the beta object keeps it -----------------


@pytest.mark.parametrize(
    ("routes", "secret"),
    [("routes.json", SECRET_BETA), ("routes-ga.json", SECRET_GA)],
)
def test_realtime_beta_session_shape_is_read(ctoops, server, openai, routes, secret):
    serve(server, "realtime-beta-session-shape", routes)
    result = ctoops("--via", "openai", "realtime", "check", "--no-connect", "--format", "json")  # the mint's shape
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["secretHint"] == "****" + secret[-4:]
    assert 590 <= report["ttlSeconds"] <= 600  # from client_secret.expires_at, not the top-level 0
    assert secret not in result.stdout + result.stderr
