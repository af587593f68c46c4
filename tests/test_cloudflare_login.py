"""`ctoops auth login --cloudflare` / `logout --cloudflare` against a loopback Cloudflare, with
the tests' file keyring (conftest): the token is verified, stored with the account it found,
then used by `errors trend`; a refused token stores nothing; the token is never shown."""

from __future__ import annotations

import json

from cf_fake import FakeCloudflare, Scenario
from cf_traffic import ACCOUNT, ZONE, events

TOKEN = "cf-login-token-1234567890abcdef"


def start(server, monkeypatch, **scenario):
    fake = FakeCloudflare(server, events(), Scenario(**scenario))
    monkeypatch.setenv("CLOUDFLARE_BASE_URL", fake.base_url)
    return fake


def test_login_stores_token_and_account_then_trend_uses_them(ctoops, server, monkeypatch):
    start(server, monkeypatch)
    result = ctoops("auth", "login", "--cloudflare", "--with-token", input=TOKEN + "\n")
    assert result.exit_code == 0, result.stderr
    assert "Cloudflare token ****cdef saved in keyring" in result.stdout
    assert f"account {ACCOUNT} (OpenCTO), the token's only account, saved too" in result.stdout
    assert server.seen("/client/v4/user/tokens/verify")[0].headers["authorization"] == f"Bearer {TOKEN}"

    monkeypatch.setenv("CLOUDFLARE_ZONE_ID", ZONE)
    trend = ctoops(
        "errors",
        "trend",
        "--source",
        "graphql",
        "--since",
        "2026-11-21T09:00:00Z",
        "--until",
        "2026-11-21T11:00:00Z",
        "--window",
        "1h",
        "--format",
        "json",
    )
    assert trend.exit_code == 0, trend.stderr
    assert len(json.loads(trend.stdout)) == 4
    assert server.seen("/client/v4/graphql")[0].headers["authorization"] == f"Bearer {TOKEN}"

    out = ctoops("auth", "logout", "--cloudflare")
    assert out.exit_code == 0 and "token from keyring" in out.stdout and "account-id from keyring" in out.stdout
    again = ctoops("errors", "trend", "--source", "graphql")
    assert again.exit_code == 3 and "no Cloudflare API token" in again.stderr
    assert TOKEN not in result.all + trend.all + out.all + again.all


def test_a_refused_token_is_not_stored(ctoops, server, monkeypatch):
    start(server, monkeypatch, permission_error=True)
    result = ctoops("auth", "login", "--cloudflare", "--with-token", input=TOKEN)
    assert result.exit_code == 3
    assert "[code 1000] Invalid API Token" in result.stderr and TOKEN not in result.all
    assert ctoops("auth", "logout", "--cloudflare").stderr.strip().endswith("nothing to remove")


def test_login_never_reads_the_token_from_argv_and_needs_a_terminal_to_prompt(ctoops):
    result = ctoops("auth", "login", "--cloudflare")
    assert result.exit_code == 2 and "pipe it in with --with-token" in result.stderr


def test_config_show_lists_the_cloudflare_settings_and_their_sources(ctoops, monkeypatch, tmp_path):
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[profiles.prod]\ncloudflare_zone_id = "fedcba9876543210fedcba9876543210"\n')
    monkeypatch.setenv("CF_API_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
    result = ctoops("--profile", "prod", "config", "show", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = {r["setting"]: r for r in json.loads(result.stdout)}
    assert rows["cloudflare_token"] == {
        "setting": "cloudflare_token",
        "value": "****cdef",
        "source": "env CF_API_TOKEN",
    }
    assert rows["cloudflare_account_id"]["source"] == "env CLOUDFLARE_ACCOUNT_ID"
    assert rows["cloudflare_zone_id"]["value"] == ZONE and rows["cloudflare_zone_id"]["source"].startswith(
        "profile prod"
    )
    assert rows["cloudflare_script"] == {
        "setting": "cloudflare_script",
        "value": "opencto-api",
        "source": "derived from the API URL https://api.opencto.works",
    }
    assert rows["cloudflare_base_url"]["value"] == "https://api.cloudflare.com/client/v4"
    assert TOKEN not in result.all


def test_cloudflare_api_token_wins_over_cf_api_token(ctoops, monkeypatch):
    monkeypatch.setenv("CF_API_TOKEN", "cf-other-token-000000000000wxyz")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    result = ctoops("config", "show", "--format", "json")
    rows = {r["setting"]: r for r in json.loads(result.stdout)}
    assert (
        rows["cloudflare_token"]["value"] == "****cdef" and "CLOUDFLARE_API_TOKEN" in rows["cloudflare_token"]["source"]
    )
    assert "CLOUDFLARE_API_TOKEN and CF_API_TOKEN differ: using CLOUDFLARE_API_TOKEN" in result.stderr
