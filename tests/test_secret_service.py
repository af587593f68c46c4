"""A real Secret Service (gnome-keyring under its own D-Bus session): ctoops stores, reads and
deletes a key through it, and the key is not in plain text on disk. Skipped, with the reason,
where the machine cannot start one (.ci/run installs gnome-keyring when it can)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

# Random-looking on purpose: the redactor masks any long fragment of a known secret, so a key
# spelled with "SecretService" in it would mask the backend name this test reads back.
KEY = "sk-proj-Xq7Lm2Np9Rt4Vw8Yz3Bc6Df1Gh5Jk0wxyz"
MISSING = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon") if shutil.which(tool) is None]

pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"no Secret Service on this machine ({', '.join(MISSING)} not found; Debian: apt-get install gnome-keyring dbus)",
)

SCRIPT = r"""
set -e
printf %s test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
echo '--- set'
printf %s "$CTOOPS_IT_KEY" | "$PY" -m ctoops keys set --local --stdin --no-verify --format json
echo '--- list'
"$PY" -m ctoops keys list --local --format json
echo '--- delete'
"$PY" -m ctoops keys delete --local --yes
echo '--- after'
"$PY" -m ctoops keys list --local --format json
"""


def test_store_read_delete_through_gnome_keyring(tmp_path: Path):
    home = tmp_path / "it-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON_KEYRING", "OPENAI_", "DBUS_"))}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_RUNTIME_DIR=str(tmp_path),
        CTOOPS_IT_KEY=KEY,
        PY=sys.executable,
        CTOOPS_CONFIG=str(tmp_path / "config.toml"),
        CTOOPS_KEYRING_TIMEOUT="10",
    )
    script = tmp_path / "it.sh"
    script.write_text(SCRIPT)
    done = subprocess.run(
        ["dbus-run-session", "--", "bash", str(script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    parts = dict(chunk.split("\n", 1) for chunk in done.stdout.split("--- ")[1:])
    saved = json.loads(parts["set"])
    assert saved["keyHint"] == "****wxyz"
    assert "SecretService" in saved["location"], saved["location"]
    (listed,) = json.loads(parts["list"])
    assert listed["keyHint"] == "****wxyz" and "SecretService" in listed["location"]
    assert "Deleted the local OpenAI API key" in parts["delete"]
    assert json.loads(parts["after"]) == []
    assert KEY not in done.stdout + done.stderr
    for path in home.rglob("*"):  # the keyring file is encrypted, not plain text
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
