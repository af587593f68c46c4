"""Shared fixtures: every test runs with a private config dir, a private file keyring, no
inherited credentials, and the network blocked except loopback (pyproject addopts)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fakeserver import FakeServer
from scrub import SECRET_HEADERS, before_record_request, before_record_response, remember

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"

# Read before the environment is cleared: what re-recording against a real deployment uses
# (see cassettes/README.md). Replay needs none of them.
RECORD_API_URL = os.environ.get("CTOOPS_TEST_API_URL", "https://api.opencto.works")
RECORD_TOKEN = os.environ.get("CTOOPS_TEST_OPENCTO_TOKEN", "test-opencto-token-0000")
RECORD_WORKSPACE = os.environ.get("CTOOPS_TEST_WORKSPACE", "acme")
RECORD_OPENAI_KEY = os.environ.get("CTOOPS_TEST_OPENAI_API_KEY", "test-openai-key-0000")
RECORD_ADMIN_KEY = os.environ.get("CTOOPS_TEST_OPENAI_ADMIN_KEY", "test-openai-admin-key-0000")
# real secrets given for a recording are scrubbed wherever they appear, and searched for by
# the leak test (tests/test_cassettes.py), bare, in an HTML title or inside an escaped string
remember(
    *(
        os.environ.get(name, "")
        for name in (
            "CTOOPS_TEST_OPENCTO_TOKEN",
            "CTOOPS_TEST_OPENAI_API_KEY",
            "CTOOPS_TEST_OPENAI_ADMIN_KEY",
            "CTOOPS_TEST_BYOK_KEY",
        )
    )
)

CLEARED_PREFIXES = ("OPENCTO_", "OPENAI_", "CTOOPS_", "PYTHON_KEYRING", "CLOUDFLARE_", "CF_")
CLEARED = ("NO_COLOR", "CLICOLOR_FORCE", "CI", "COLUMNS", "LINES")


@pytest.fixture(autouse=True)
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """No test pays real backoff: ctoops' one wait (``ctoops.http.sleep``) is recorded instead.
    A test asks for this fixture to see the waits a run would have made, in seconds."""
    seen: list[float] = []
    monkeypatch.setattr("ctoops.http.sleep", seen.append)
    return seen


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith(CLEARED_PREFIXES) or name in CLEARED:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("CTOOPS_CONFIG", str(tmp_path / "config" / "config.toml"))
    use_keyring(monkeypatch, "ctoops_test_keyring.FileKeyring", tmp_path / "keyring.json")
    from ctoops.redact import forget

    forget()  # one test, one run: secrets registered by an earlier test are not this run's
    yield tmp_path
    reset_keyring()


def use_keyring(monkeypatch: pytest.MonkeyPatch, backend: str, file: Path | None = None) -> None:
    """Select a keyring backend the way users do (PYTHON_KEYRING_BACKEND)."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
    if file is not None:
        monkeypatch.setenv("CTOOPS_TEST_KEYRING_FILE", str(file))
    reset_keyring()


def reset_keyring() -> None:
    import keyring.core

    keyring.core.init_backend()


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    @property
    def all(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def ctoops() -> Any:
    """Run the real CLI group in-process; stdout and stderr kept apart."""
    from ctoops.cli import cli

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Run:
        result = CliRunner().invoke(cli, list(args), input=input, env=env, prog_name="ctoops")
        return Run(result.exit_code, result.stdout, result.stderr, result.exception)

    return run


@pytest.fixture
def server() -> Iterator[FakeServer]:
    srv = FakeServer()
    yield srv
    srv.close()


@pytest.fixture
def worker(server: FakeServer, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> FakeServer:
    """The loopback server as the OpenCTO worker, with the test module's ``TOKEN`` (if it
    defines one) as the session token."""
    monkeypatch.setenv("OPENCTO_API_BASE_URL", server.url)
    monkeypatch.setenv("OPENCTO_TOKEN", getattr(request.module, "TOKEN", "opencto-token-Test0000001"))
    return server


@pytest.fixture
def ws(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A loopback Realtime WebSocket server accepting the test module's ``SECRET``, with
    OPENAI_BASE_URL pointing at it."""
    from realtime_server import RealtimeServer

    server = RealtimeServer(secret=request.module.SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    yield server
    server.close()


@pytest.fixture
def minted(worker: FakeServer, request: pytest.FixtureRequest) -> FakeServer:
    """The worker, minting the test module's ``SECRET`` for ten minutes."""
    import time

    from fakeserver import Reply

    reply = Reply(json={"clientSecret": request.module.SECRET, "expiresAt": int(time.time()) + 600})
    worker.route("POST", "/api/v1/realtime/token", reply)
    return worker


CASSETTE_TIME = 1795262400.0  # 2026-11-21T12:00:00Z, when the time-bound cassettes were written


@pytest.fixture
def recorded_clock(monkeypatch: pytest.MonkeyPatch, record_mode: str) -> None:
    """On replay, ctoops' clock reads the cassettes' time (secret expiries, "yesterday");
    when recording, the real one."""
    if record_mode == "none":
        monkeypatch.setattr("ctoops.checks.clock.now", lambda: CASSETTE_TIME)


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": [(h, "REDACTED") for h in SECRET_HEADERS],
        "before_record_request": before_record_request,
        "before_record_response": before_record_response,
        "decode_compressed_response": True,
        "match_on": ["method", "scheme", "host", "port", "path", "query"],
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """cassettes/<test module name>/, at the top level of the repository."""
    return str(CASSETTES / request.module.__name__.split(".")[-1])


@pytest.fixture
def realtime_ws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A loopback Realtime WebSocket server (tests/support/realtime_server.py) accepting any
    client secret (a cassette's is scrubbed to ``REDACTED``), with OPENAI_BASE_URL pointing at it: the connect stage of
    `realtime check`, smoke's realtime_session and runbook step 3 reach it instead of OpenAI."""
    from realtime_server import RealtimeServer

    server = RealtimeServer(secret=None)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    yield server
    server.close()
