"""No secret ever appears whole: not on stdout or stderr (with -v), not in any file ctoops
writes other than the secret store the user chose, not echoed at the prompt."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bodies import openai_error
from fakeserver import Reply
from test_keys_auth import ADMIN, KEY, KEYS_PATH, LISTED, MODELS, SAVED, TOKEN, cli_env

HEALTH = {"status": "healthy", "timestamp": "2026-11-21T20:00:00Z"}
COSTS = {"object": "page", "data": [], "has_more": False, "next_page": None}
SECRETS = (TOKEN, KEY, ADMIN)


@pytest.fixture
def everything(server, monkeypatch):
    monkeypatch.setenv("OPENCTO_API_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENCTO_WORKSPACE", "acme")
    server.route("GET", "/api/v1/health", Reply(json=HEALTH))
    server.route("GET", KEYS_PATH, Reply(json=LISTED))
    server.route("PUT", f"{KEYS_PATH}/openai", Reply(json=SAVED))
    server.route(
        "DELETE",
        f"{KEYS_PATH}/openai",
        Reply(json={"deleted": True, "provider": "openai", "workspaceId": "acme"}),
    )
    server.route("GET", "/api/v1/cto/openai/models", Reply(json=MODELS))
    server.route("GET", "/v1/models", Reply(json=MODELS))
    server.route("GET", "/v1/organization/costs", Reply(json=COSTS))
    return server


COMMANDS = [
    (["auth", "login", "--with-token"], TOKEN),
    (["auth", "status"], None),
    (["auth", "status", "--format", "json"], None),
    (["--token", TOKEN, "auth", "status"], None),
    (["keys", "set", "--stdin"], KEY),
    (["keys", "set", "--local", "--stdin"], KEY),
    (["keys", "set", "--local", "--admin", "--stdin"], ADMIN),
    (["keys", "list"], None),
    (["keys", "list", "--format", "csv"], None),
    (["keys", "validate"], None),
    (["keys", "validate", "--local"], None),
    (["keys", "validate", "--local", "--admin", "--format", "json"], None),
    (["keys", "validate", "--local", "--stdin"], KEY),
    (["config", "show"], None),
    (["config", "show", "--format", "json"], None),
    (["models", "list"], None),
    (["keys", "delete", "--yes"], None),
    (["keys", "delete", "--local", "--yes"], None),
    (["keys", "delete", "--local", "--admin", "--yes"], None),
    (["auth", "logout"], None),
]


def test_every_keys_and_auth_command_keeps_secrets_masked(ctoops, everything, tmp_path):
    outputs = []
    for args, stdin in COMMANDS:
        result = ctoops("-v", *args, input=stdin)
        assert result.exit_code == 0, (args, result.stderr)
        outputs.append((args, result.all))
    # and again with every secret in the environment, as CI has them
    env = {"OPENCTO_TOKEN": TOKEN, "OPENAI_API_KEY": KEY, "OPENAI_ADMIN_KEY": ADMIN}
    for args in (["auth", "status"], ["keys", "list"], ["keys", "validate", "--local"], ["config", "show"]):
        result = ctoops("-v", *args, env=env)
        assert result.exit_code == 0, (args, result.stderr)
        outputs.append((args, result.all))
    for args, text in outputs:
        for secret in SECRETS:
            assert secret not in text, f"{secret[:6]}… shown by ctoops {' '.join(args)}"
    assert sum("****1234" in text for _, text in outputs) >= 4  # the token was shown, masked
    # files: the only place a secret may be is the keyring the test chose
    keyring_file = Path(os.environ["CTOOPS_TEST_KEYRING_FILE"])
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != keyring_file:
            text = path.read_text(errors="replace")
            assert not any(secret in text for secret in SECRETS), path


def test_secrets_in_upstream_errors_are_masked(ctoops, server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    echoed = openai_error(f"Incorrect API key provided: {KEY}.", "invalid_api_key")
    server.route("GET", "/v1/models", Reply(401, json=echoed))
    result = ctoops("-v", "--via", "openai", "models", "list")
    assert result.exit_code == 3
    assert KEY not in result.all and "****L3kJ" in result.stderr


def test_the_prompt_does_not_echo_the_key(tmp_path):
    """A real terminal (a pty): the key typed at the prompt is not echoed back."""
    primary, replica = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "ctoops", "keys", "set", "--local", "--no-verify"],
        stdin=replica,
        stdout=replica,
        stderr=replica,
        env=cli_env(),
        close_fds=True,
    )
    os.close(replica)
    seen = b""
    deadline = time.monotonic() + 30
    sent = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(primary, 1024)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not sent and b"OpenAI API key:" in seen:
            os.write(primary, KEY.encode() + b"\n")
            sent = True
        if process.poll() is not None and not ready:
            break
    process.wait(timeout=30)
    os.close(primary)
    text = seen.decode(errors="replace")
    assert sent, text
    assert process.returncode == 0, text
    assert KEY not in text
    assert "****L3kJ" in text
    assert KEY in Path(os.environ["CTOOPS_TEST_KEYRING_FILE"]).read_text()
