"""keys and auth end to end: the real CLI, a real keyring backend through the keyring API,
and a real HTTP server on loopback standing in for the worker and OpenAI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bodies import cloudflare_502, openai_error
from conftest import ROOT, use_keyring
from fakeserver import Reply

TOKEN = "opencto-token-5ecret-AbCd1234"
KEY = "sk-proj-Zq9XwV8uT7sR6qP5oN4mL3kJ"
ADMIN = "sk-admin-Hg7Fe6Dc5Ba4Zy3Xw2Vu1Ts0"
KEYS_PATH = "/api/v1/llm/keys"
SAVED = {
    "saved": True,
    "provider": "openai",
    "workspaceId": "acme",
    "keyHint": "****L3kJ",
    "updatedAt": "2026-11-21T20:00:00Z",
}
LISTED = {
    "workspaceId": "acme",
    "keys": [
        {
            "provider": "openai",
            "workspaceId": "acme",
            "keyHint": "****L3kJ",
            "createdAt": "2026-11-01T09:00:00Z",
            "updatedAt": "2026-11-21T20:00:00Z",
        }
    ],
}
MODELS = {
    "object": "list",
    "data": [{"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"}],
}
INVALID_KEY = openai_error("Incorrect API key provided: sk-proj-***L3kJ.", "invalid_api_key")
QUOTA = openai_error(
    "You exceeded your current quota, please check your plan and billing details.",
    "insufficient_quota",
    type="insufficient_quota",
)


@pytest.fixture(autouse=True)
def openai_accepts_keys(server, monkeypatch):
    """`keys set` asks OpenAI about a key before saving it: here OpenAI (on loopback) accepts."""
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    server.route("GET", "/v1/models", Reply(json=MODELS))
    server.route(
        "GET",
        "/v1/organization/costs",
        Reply(json={"object": "page", "data": [], "has_more": False, "next_page": None}),
    )


@pytest.fixture
def signed_out(server, monkeypatch):
    """The loopback worker, workspace acme, and no token anywhere."""
    monkeypatch.setenv("OPENCTO_API_BASE_URL", server.url)
    monkeypatch.setenv("OPENCTO_WORKSPACE", "acme")
    return server


@pytest.fixture
def logged_in(worker, monkeypatch):
    monkeypatch.setenv("OPENCTO_WORKSPACE", "acme")
    return worker


@pytest.fixture
def openai(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    return server


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a second ctoops process: same config, same keyring."""
    env = {k: v for k, v in os.environ.items()}
    env["PYTHONPATH"] = str(ROOT / "tests" / "support") + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def ctoops_process(*args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctoops", *args],
        input=input,
        capture_output=True,
        text=True,
        env=cli_env(**env),
        timeout=60,
    )


# -- keys set -------------------------------------------------------------------------------


def test_set_on_the_worker_sends_the_key_once_and_prints_the_hint(ctoops, logged_in):
    logged_in.route("PUT", f"{KEYS_PATH}/openai", Reply(json=SAVED))
    result = ctoops("keys", "set", "--stdin", "--format", "json", input=KEY + "\n")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["keyHint"] == "****L3kJ"
    (put,) = logged_in.seen(f"{KEYS_PATH}/openai")
    assert put.json() == {"apiKey": KEY, "workspaceId": "acme"}
    assert KEY not in result.all


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["keys", "set", "--stdin"], "sk-1234\n", "at least 8"),
        (["keys", "set", "--stdin"], "\n", "input was empty"),
        (["keys", "set", "--stdin"], "sk-abc def ghi\n", "whitespace"),
        (["keys", "set", "--stdin"], "sk-abcdefghij\nsk-klmnopqrst\n", "one line"),
        (["--workspace", "no/slashes", "keys", "set", "--stdin"], KEY, "breaks the worker's rule"),
        (["keys", "set", "--admin", "--stdin"], ADMIN, "--admin goes with --local"),
        (["--via", "openai", "keys", "set", "--stdin"], KEY, "not available via openai"),
        (["keys", "set"], None, "no terminal to prompt on"),
    ],
)
def test_set_rejects_bad_input_before_any_request(ctoops, logged_in, args, stdin, message):
    result = ctoops(*args, input=stdin)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert logged_in.requests == []


def test_set_in_a_workspace_that_is_not_yours_exits_3_naming_it(ctoops, logged_in):
    logged_in.route(
        "PUT",
        f"{KEYS_PATH}/openai",
        Reply(403, json={"error": "Forbidden", "code": "FORBIDDEN", "status": 403}),
    )
    result = ctoops("keys", "set", "--stdin", input=KEY)
    assert result.exit_code == 3
    assert "workspace 'acme' is not one of yours" in result.stderr


def test_set_local_is_seen_by_the_next_process(ctoops):
    result = ctoops("keys", "set", "--local", "--stdin", input=KEY)
    assert result.exit_code == 0, result.stderr
    assert "ctoops_test_keyring.FileKeyring" in result.stdout
    listed = ctoops_process("keys", "list", "--local", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["keyHint"] == "****L3kJ" and row["kind"] == "api"
    assert row["location"] == "keyring (ctoops_test_keyring.FileKeyring)"


def test_set_local_admin_is_used_for_usage_by_the_next_process(ctoops, openai):
    assert ctoops("keys", "set", "--local", "--admin", "--stdin", input=ADMIN).exit_code == 0
    openai.route(
        "GET",
        "/v1/organization/costs",
        Reply(json={"object": "page", "data": [], "has_more": False, "next_page": None}),
    )
    checked = ctoops_process("keys", "validate", "--local", "--admin", "--format", "json")
    assert checked.returncode == 0, checked.stderr
    assert openai.seen("/v1/organization/costs")[0].headers["authorization"] == f"Bearer {ADMIN}"


@pytest.mark.parametrize(
    ("backend", "named"),
    [
        ("keyring.backends.fail.Keyring", "no OS keyring found"),
        ("keyring.backends.null.Keyring", "the keyring is disabled"),
        ("keyrings.alt.file.PlaintextKeyring", "plain (or password-prompted) file"),
        ("ctoops_test_keyring.LockedKeyring", "KeyringLocked"),
    ],
)
def test_set_local_without_a_usable_keyring_exits_3_with_the_alternatives(
    ctoops, monkeypatch, tmp_path, backend, named
):
    use_keyring(monkeypatch, backend)
    result = ctoops("keys", "set", "--local", "--stdin", input=KEY)
    assert result.exit_code == 3
    assert named in result.stderr
    assert "OPENAI_API_KEY" in result.stderr and "--insecure-storage" in result.stderr
    assert KEY not in result.all
    # nothing anywhere on disk holds the key, the plaintext backend's file included
    for path in Path(os.environ["HOME"]).rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(errors="replace"), path


def test_a_hanging_keyring_times_out_instead_of_hanging(ctoops, monkeypatch, openai):
    use_keyring(monkeypatch, "ctoops_test_keyring.HangingKeyring")
    monkeypatch.setenv("CTOOPS_KEYRING_TIMEOUT", "0.5")
    started = time.monotonic()
    stored = ctoops("keys", "set", "--local", "--stdin", input=KEY)
    assert stored.exit_code == 3 and "did not answer within 0.5s" in stored.stderr
    # reading falls back to the environment without touching the keyring at all
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    openai.route("GET", "/v1/models", Reply(json=MODELS))
    listed = ctoops("--via", "openai", "models", "list")
    assert listed.exit_code == 0, listed.stderr
    # and with nothing in the environment, a read gives up in time with the reason
    monkeypatch.delenv("OPENAI_API_KEY")
    missing = ctoops("--via", "openai", "models", "list")
    assert missing.exit_code == 3 and "did not answer within 0.5s" in missing.stderr
    assert time.monotonic() - started < 10


def test_insecure_storage_writes_a_0600_file_and_warns(ctoops, monkeypatch):
    use_keyring(monkeypatch, "keyring.backends.fail.Keyring")
    result = ctoops("keys", "set", "--local", "--stdin", "--insecure-storage", input=KEY)
    assert result.exit_code == 0, result.stderr
    assert "plain text" in result.stderr
    path = Path(os.environ["CTOOPS_CONFIG"]).parent / "credentials.json"
    assert path.stat().st_mode & 0o777 == 0o600
    listed = ctoops("keys", "list", "--local", "--format", "json")
    assert json.loads(listed.stdout)[0]["location"] == f"file {path} (plain text)"
    assert ctoops("keys", "delete", "--local", "--yes").exit_code == 0
    assert KEY not in path.read_text()


# -- keys list / delete ---------------------------------------------------------------------


def test_list_shows_the_workers_keys_and_the_local_ones_never_a_secret(ctoops, logged_in, monkeypatch):
    logged_in.route("GET", KEYS_PATH, Reply(json=LISTED))
    ctoops("keys", "set", "--local", "--stdin", input=KEY)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN)
    result = ctoops("keys", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["location"], r["kind"], r["keyHint"]) for r in rows] == [
        ("worker", "api", "****L3kJ"),
        ("keyring (ctoops_test_keyring.FileKeyring)", "api", "****L3kJ"),
        ("env OPENAI_ADMIN_KEY", "admin", "****1Ts0"),
    ]
    assert rows[0]["workspaceId"] == "acme" and rows[0]["createdAt"] == "2026-11-01T09:00:00Z"
    assert logged_in.seen(KEYS_PATH)[0].query == {"workspaceId": "acme"}
    assert KEY not in result.all and ADMIN not in result.all


def test_delete_needs_yes_without_a_terminal(ctoops, logged_in):
    result = ctoops("keys", "delete")
    assert result.exit_code == 2 and "pass --yes" in result.stderr
    assert logged_in.requests == []


def test_delete_on_the_worker(ctoops, logged_in):
    logged_in.route(
        "DELETE",
        f"{KEYS_PATH}/openai",
        Reply(json={"deleted": True, "provider": "openai", "workspaceId": "acme"}),
        Reply(json={"deleted": False, "provider": "openai", "workspaceId": "acme"}),
    )
    first = ctoops("keys", "delete", "--yes")
    assert first.exit_code == 0 and "Deleted the OpenAI key of workspace 'acme'" in first.stdout
    assert logged_in.seen()[0].query == {"workspaceId": "acme"}
    again = ctoops("keys", "delete", "--yes")
    assert again.exit_code == 0 and "nothing to delete" in again.stderr


# -- keys validate --------------------------------------------------------------------------


def test_validate_local_passes_with_a_key_openai_accepts(ctoops, openai, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    openai.route("GET", "/v1/models", Reply(json=MODELS))
    result = ctoops("keys", "validate", "--local", "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["source"] == "env OPENAI_API_KEY" and report["keyHint"] == "****L3kJ"
    assert "1 models" in report["checks"][0]["detail"]


def test_validate_local_with_a_rejected_key_fails_the_check_with_openais_code(ctoops, openai):
    openai.route("GET", "/v1/models", Reply(401, json=INVALID_KEY))
    result = ctoops("keys", "validate", "--local", "--stdin", input=KEY)
    assert result.exit_code == 1
    assert "invalid_api_key" in result.stderr and "from stdin" in result.stderr
    assert "FAIL" in result.stdout
    assert openai.seen("/v1/models")[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in result.all


def test_validate_local_reports_an_exhausted_quota_as_such(ctoops, openai, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    openai.route("GET", "/v1/models", Reply(429, json=QUOTA))
    result = ctoops("keys", "validate", "--local")
    assert result.exit_code == 5
    assert "insufficient_quota" in result.stderr and "quota" in result.stderr
    assert len(openai.seen("/v1/models")) == 1  # never retried


def test_validate_local_without_a_key_exits_3(ctoops, openai):
    result = ctoops("keys", "validate", "--local")
    assert result.exit_code == 3 and "OPENAI_API_KEY" in result.stderr
    assert openai.requests == []


def test_validate_local_admin_with_a_project_key_fails(ctoops, openai, monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
    openai.route(
        "GET",
        "/v1/organization/costs",
        Reply(
            401,
            json=openai_error("You have insufficient permissions for this operation. Missing scopes: api.usage.read."),
        ),
    )
    result = ctoops("keys", "validate", "--local", "--admin")
    assert result.exit_code == 1
    assert "admin key" in result.stderr and "insufficient permissions" in result.stderr


def test_validate_on_the_worker(ctoops, logged_in):
    logged_in.route("GET", KEYS_PATH, Reply(json=LISTED))
    logged_in.route("GET", "/api/v1/cto/openai/models", Reply(json=MODELS))
    result = ctoops("keys", "validate", "--format", "json")
    assert result.exit_code == 0, result.stderr
    checks = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["workspace_key"]["ok"] and checks["workspace_key"]["keyHint"] == "****L3kJ"
    assert checks["models_proxy"]["ok"]


def test_validate_on_the_worker_fails_when_no_key_is_listed_or_openai_rejects_it(ctoops, logged_in):
    logged_in.route("GET", KEYS_PATH, Reply(json={"workspaceId": "acme", "keys": []}))
    logged_in.route("GET", "/api/v1/cto/openai/models", Reply(401, json=INVALID_KEY))
    result = ctoops("keys", "validate")
    assert result.exit_code == 1
    assert "no OpenAI key is saved for workspace 'acme'" in result.stderr
    assert "invalid_api_key" in result.stderr


# -- auth -----------------------------------------------------------------------------------


def test_login_verifies_then_stores_for_the_next_process(ctoops, signed_out):
    signed_out.route("GET", KEYS_PATH, Reply(json=LISTED))
    signed_out.route("GET", "/api/v1/health", Reply(json={"status": "healthy", "timestamp": "2026-11-21T20:00:00Z"}))
    login = ctoops("auth", "login", "--with-token", input=TOKEN + "\n")
    assert login.exit_code == 0, login.stderr
    assert "****1234" in login.stdout and TOKEN not in login.all
    assert signed_out.seen(KEYS_PATH)[0].headers["authorization"] == f"Bearer {TOKEN}"

    status = ctoops_process("auth", "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["token"] == "****1234"
    assert report["tokenSource"] == "keyring (ctoops_test_keyring.FileKeyring)"
    assert [c["ok"] for c in report["checks"]] == [True, True]
    assert TOKEN not in status.stdout + status.stderr
    assert signed_out.seen("/api/v1/health")[0].headers.get("x-opencto-trace-id") == report["traceId"]

    logout = ctoops("auth", "logout")
    assert logout.exit_code == 0 and "removed the token" in logout.stdout
    assert ctoops("auth", "status").exit_code == 3


def test_login_with_a_rejected_token_stores_nothing(ctoops, signed_out):
    signed_out.route(
        "GET", KEYS_PATH, Reply(401, json={"error": "Unauthorized", "code": "UNAUTHORIZED", "status": 401})
    )
    result = ctoops("auth", "login", "--with-token", input=TOKEN)
    assert result.exit_code == 3 and "rejected the token ****1234" in result.stderr
    keyring_file = Path(os.environ["CTOOPS_TEST_KEYRING_FILE"])
    assert not keyring_file.exists() or TOKEN not in keyring_file.read_text()


def test_login_without_a_terminal_needs_with_token(ctoops, signed_out):
    result = ctoops("auth", "login")
    assert result.exit_code == 2 and "--with-token" in result.stderr
    assert signed_out.requests == []


def test_tokens_are_kept_per_api_url(ctoops, signed_out, server):
    signed_out.route("GET", KEYS_PATH, Reply(json=LISTED))
    assert ctoops("auth", "login", "--with-token", input=TOKEN).exit_code == 0
    other = ctoops("--api-url", "https://other.example.com", "auth", "status")
    assert other.exit_code == 3 and "not logged in" in other.stderr


def test_status_with_a_rejected_token_exits_3_and_a_down_worker_exits_4(ctoops, logged_in):
    logged_in.route("GET", "/api/v1/health", Reply(json={"status": "healthy", "timestamp": "x"}))
    logged_in.route("GET", KEYS_PATH, Reply(401, json={"error": "Unauthorized", "code": "UNAUTHORIZED"}))
    rejected = ctoops("auth", "status")
    assert rejected.exit_code == 3 and "token_accepted" in rejected.stderr
    assert "env OPENCTO_TOKEN" in rejected.stdout

    page = cloudflare_502("api")
    logged_in.route("GET", "/api/v1/health", Reply(502, body=page, content_type="text/html"))
    logged_in.route("GET", KEYS_PATH, Reply(502, body=page, content_type="text/html"))
    down = ctoops("--max-retries", "0", "auth", "status")
    assert down.exit_code == 4 and "Bad gateway" in down.stderr


def test_status_accepts_a_token_whose_workspace_is_forbidden(ctoops, logged_in):
    logged_in.route("GET", "/api/v1/health", Reply(json={"status": "healthy", "timestamp": "x"}))
    logged_in.route("GET", KEYS_PATH, Reply(403, json={"error": "Forbidden", "code": "FORBIDDEN"}))
    result = ctoops("auth", "status")
    assert result.exit_code == 0
    assert "workspace 'acme' is not yours" in result.stdout


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ({"provider": "openai", "workspaceId": "acme", "keyHint": 1234}, "`keys[0].keyHint` = a number, not a string"),
        ({"provider": "openai", "createdAt": 5}, "`keys[0].createdAt` = a number, not a string"),
        ("openai", "`keys[0]` that is not an object"),
    ],
)
def test_a_key_entry_of_the_wrong_shape_is_exit_4_never_shown_empty(ctoops, worker, monkeypatch, entry, said):
    # keyHint 1234 was shown as an empty hint, and keys validate said "listed, hint None" PASS
    monkeypatch.setenv("OPENCTO_WORKSPACE", "acme")
    worker.route("GET", "/api/v1/llm/keys", Reply(json={"workspaceId": "acme", "keys": [entry]}))
    result = ctoops("keys", "list")
    assert result.exit_code == 4, result.all
    assert said in result.stderr


def test_an_error_envelope_sent_with_200_is_named(ctoops, worker):
    worker.route("GET", "/api/v1/llm/keys", Reply(json={"error": "Missing authorization", "code": "UNAUTHORIZED"}))
    result = ctoops("keys", "list")
    assert result.exit_code == 4, result.all
    assert "it answered the error UNAUTHORIZED: Missing authorization" in result.stderr
