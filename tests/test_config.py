"""Settings precedence (flag > env > profile > default), the config file's rules, and
`ctoops config show`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


def write_config(text: str) -> Path:
    path = Path(os.environ["CTOOPS_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def show(ctoops, *args: str) -> dict[str, dict[str, str]]:
    result = ctoops(*args, "config", "show", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return {row["setting"]: row for row in json.loads(result.stdout)}


PROFILES = """
default_profile = "staging"

[profiles.staging]
api_url = "https://staging.example.com/"
workspace = "acme-staging"
timeout = 12

[profiles.prod]
api_url = "https://api.example.com"
workspace = "acme"
via = "openai"
max_retries = 5
"""


def test_defaults_when_nothing_is_set(ctoops):
    rows = show(ctoops)
    assert rows["api_url"] == {
        "setting": "api_url",
        "value": "https://api.opencto.works",
        "source": "default",
    }
    assert rows["workspace"]["value"] == "default" and rows["workspace"]["source"] == "default"
    assert rows["via"]["value"] == "opencto"
    assert rows["timeout"]["value"] == 30.0 and rows["max_retries"]["value"] == 3
    assert rows["sandbox"]["value"] is False
    assert rows["profile"]["value"] is None


def test_precedence_flag_over_env_over_profile_over_default(ctoops, monkeypatch):
    path = write_config(PROFILES)
    rows = show(ctoops)
    assert rows["profile"]["value"] == "staging"
    assert rows["api_url"]["value"] == "https://staging.example.com"  # trailing slash trimmed
    assert rows["api_url"]["source"] == f"profile staging ({path})"
    assert rows["timeout"]["value"] == 12.0
    assert rows["via"]["source"] == "default"

    monkeypatch.setenv("OPENCTO_WORKSPACE", "from-env")
    rows = show(ctoops)
    assert rows["workspace"]["value"] == "from-env" and rows["workspace"]["source"] == "env OPENCTO_WORKSPACE"

    rows = show(ctoops, "--workspace", "from-flag")
    assert rows["workspace"]["value"] == "from-flag" and rows["workspace"]["source"] == "flag --workspace"

    monkeypatch.setenv("CTOOPS_PROFILE", "prod")
    rows = show(ctoops)
    assert rows["profile"]["source"] == "env CTOOPS_PROFILE"
    assert rows["via"]["value"] == "openai" and rows["max_retries"]["value"] == 5
    rows = show(ctoops, "--profile", "staging", "--max-retries", "1")
    assert rows["via"]["value"] == "opencto" and rows["max_retries"]["source"] == "flag --max-retries"


def test_openai_base_url_from_env_and_profile(ctoops, monkeypatch):
    write_config('[profiles.x]\nopenai_base_url = "https://proxy.example.com/v1"\n')
    assert show(ctoops, "--profile", "x")["openai_base_url"]["value"] == "https://proxy.example.com/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    row = show(ctoops, "--profile", "x")["openai_base_url"]
    assert row["value"] == "http://127.0.0.1:9/v1" and row["source"] == "env OPENAI_BASE_URL"


def test_secrets_are_masked_with_their_source(ctoops, monkeypatch):
    monkeypatch.setenv("OPENCTO_TOKEN", "session-token-zyxw9876")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-0123456789abcdefWXYZ")
    result = ctoops("config", "show")
    assert "session-token-zyxw9876" not in result.stdout and "****9876" in result.stdout
    assert "sk-admin-0123456789abcdefWXYZ" not in result.stdout and "****WXYZ" in result.stdout
    rows = show(ctoops)
    assert rows["token"]["source"] == "env OPENCTO_TOKEN"
    assert rows["openai_api_key"]["value"] is None and rows["openai_api_key"]["source"].startswith("not set")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[profiles.x\n", "not valid TOML"),
        ('[profiles.x]\ntoken = "abc"\n', "never holds one"),
        ('[profiles.x]\nopenai_api_key = "sk-abc"\n', "never holds one"),
        ('[profiles.x]\napi_ur = "https://x"\n', "unknown key 'api_ur'"),
        ('colour = "blue"\n', "unknown top-level key"),
        ('default_profile = "nope"\n[profiles.x]\n', "profile 'nope'"),
        ('default_profile = "x"\n[profiles.x]\ntimeout = "soon"\n', "not a number of seconds"),
        ('default_profile = "x"\n[profiles.x]\nworkspace = "a b"\n', "breaks the worker's rule"),
        ('default_profile = "x"\n[profiles.x]\napi_url = "ftp://x"\n', "not an http(s) URL"),
    ],
)
def test_bad_config_exits_2_with_the_rule(ctoops, text, message):
    path = write_config(text)
    before = path.read_text()
    result = ctoops("config", "show")
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and str(path) in result.stderr
    assert result.stderr.count("\n") == 1
    assert path.read_text() == before  # never rewritten


def test_unknown_profile_names_the_known_ones(ctoops):
    write_config(PROFILES)
    result = ctoops("--profile", "qa", "config", "show")
    assert result.exit_code == 2 and "prod, staging" in result.stderr


def test_bad_flag_values_exit_2(ctoops):
    assert ctoops("--workspace", "bad/ws", "config", "show").exit_code == 2
    assert ctoops("--timeout", "0", "config", "show").exit_code == 2
    assert ctoops("--via", "carrier-pigeon", "config", "show").exit_code == 2
    result = ctoops("--max-retries", "99", "config", "show")
    assert result.exit_code == 2 and "between 0 and 10" in result.stderr


def test_config_path_honours_ctoops_config(ctoops):
    result = ctoops("config", "path")
    assert result.exit_code == 0 and result.stdout.strip() == os.environ["CTOOPS_CONFIG"]
