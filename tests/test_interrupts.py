"""Ctrl-C, ``| head`` and prompts, as a person at a terminal meets them.

Ctrl-C is typed into a real pseudo-terminal while the command waits on a loopback server
that accepts and never answers (``--timeout 600``: only the interrupt can end the run
quickly), so the test proves the run stops at once with exit 130 and one line, also when
several requests are in flight on worker threads.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT
from terminal import Screen, Step, clean_env, run_in_tty

from ctoops.config import DEFAULT_API_URL, DEFAULT_OPENAI_BASE_URL


class HoldServer:
    """Accepts connections on 127.0.0.1 and never answers; counts them. ``close`` closes every
    connection it accepted, also one accepted while closing (else the garbage collector finds
    it later, in another test, as an unclosed socket)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self.held.append(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            held = list(self.held)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() (Linux)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(5)
        for conn in held:
            conn.close()


@pytest.fixture
def hold() -> Iterator[HoldServer]:
    server = HoldServer()
    yield server
    server.close()


def after_ctrl_c(screen: Screen, step: int = 0) -> list[str]:
    """The non-empty lines that arrived after Ctrl-C was typed, its ``^C`` echo left out: on
    two cores the program's last line can reach the terminal before the echo does (the line
    discipline sends SIGINT, then echoes), so the echo's place proves nothing."""
    assert "^C" in screen.output, screen.output
    tail = screen.after(step).replace("\r\n", "\n").replace("^C", "")
    return [line for line in tail.split("\n") if line.strip()]


INTERRUPTED_WHILE_WAITING = [
    ["models", "list"],
    ["realtime", "check"],
    ["smoke"],  # three checks in flight on worker threads
    ["runbook", "run"],
    ["keys", "validate"],
    ["keys", "list"],
    ["auth", "status"],
    ["usage", "report", "--start", "7d"],
    ["--via", "openai", "usage", "pull", "--start", "90d"],  # three windows in flight
    ["--via", "openai", "usage", "costs", "--start", "7d"],
    ["errors", "trend", "--source", "observability", "--since", "24h"],  # the Cloudflare sources
    ["errors", "trend", "--source", "graphql", "--since", "24h"],
    ["doctor", "logs"],
]


def held_env(hold: HoldServer) -> dict[str, str]:
    """Every service ctoops may call pointed at the hold server, with credentials for each;
    ``--timeout 600``: only a signal can end the run."""
    return clean_env(
        OPENCTO_API_BASE_URL=hold.url,
        OPENCTO_TOKEN="opencto-token-Test0000001",
        OPENAI_BASE_URL=f"{hold.url}/v1",
        OPENAI_API_KEY="sk-test-key-00000001",
        OPENAI_ADMIN_KEY="sk-admin-test-key-00000001",
        CTOOPS_TIMEOUT="600",
        CLOUDFLARE_API_TOKEN="cf-test-token-00000001",
        CLOUDFLARE_ACCOUNT_ID="0" * 32,
        CLOUDFLARE_ZONE_ID="1" * 32,
        CLOUDFLARE_SCRIPT_NAME="opencto-api",
        CLOUDFLARE_BASE_URL=f"{hold.url}/client/v4",
    )


@pytest.mark.parametrize("args", INTERRUPTED_WHILE_WAITING, ids=" ".join)
def test_ctrl_c_while_waiting_is_exit_130_in_one_line(hold, args):
    env = held_env(hold)
    screen = run_in_tty(args, env=env, steps=[Step(None, b"\x03", when=lambda: len(hold.held) > 0)], deadline=30)
    assert screen.exit_code == 130, screen.output
    assert after_ctrl_c(screen) == ["ctoops: interrupted"]


@pytest.mark.parametrize(
    "args", [["models", "list"], ["smoke"], ["--via", "openai", "usage", "pull", "--start", "90d"]], ids=" ".join
)
def test_sigterm_while_waiting_is_exit_143_in_one_line_and_does_not_wait(hold, args):
    # a service manager or a cancelled CI job sends SIGTERM: as Ctrl-C, requests in flight on
    # worker threads are abandoned (--timeout 600 would otherwise hold the exit for minutes)
    env = held_env(hold)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctoops", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while not hold.held and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hold.held, "ctoops never connected"
        time.sleep(0.2)  # in the wait, not in the handshake
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1] == "ctoops: terminated (SIGTERM)" and "Traceback" not in err, err
    assert out == ""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_into_a_log_file_is_one_line(hold, signum):
    """With stderr a file or a pipe (a CI log), Ctrl-C's line comes alone: no empty line
    before it (that newline is for a terminal, which echoed ^C). SIGHUP (the terminal closed)
    ends the run like SIGTERM: exit 129, one line."""
    env = held_env(hold)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ctoops", "models", "list"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not hold.held and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hold.held, "ctoops never connected"
        time.sleep(0.2)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    expected = {
        signal.SIGINT: (130, "ctoops: interrupted\n"),
        signal.SIGTERM: (143, "ctoops: terminated (SIGTERM)\n"),
        signal.SIGHUP: (129, "ctoops: terminated (SIGHUP)\n"),
    }[signum]
    assert (proc.returncode, err) == expected
    assert out == ""


@pytest.mark.parametrize(
    ("args", "prompt"),
    [
        (["keys", "set"], "OpenAI API key:"),
        (["keys", "set", "--local"], "OpenAI API key:"),
        (["auth", "login"], "token:"),
        (["keys", "delete"], "[y/N]:"),
        (["keys", "delete", "--local"], "[y/N]:"),
    ],
)
def test_ctrl_c_at_a_prompt_is_exit_130_and_ctrl_d_is_no_input(hold, args, prompt):
    env = clean_env(OPENCTO_API_BASE_URL=hold.url, OPENCTO_TOKEN="opencto-token-Test0000001")
    screen = run_in_tty(args, env=env, steps=[Step(prompt, b"\x03")], deadline=30)
    assert screen.exit_code == 130, screen.output
    assert [line for line in screen.lines if line.strip() and prompt not in line] == ["ctoops: interrupted"]
    assert hold.held == []  # nothing was sent

    screen = run_in_tty(args, env=env, steps=[Step(prompt, b"\x04")], deadline=30)
    assert screen.exit_code == 2, screen.output
    assert "ctoops: no input; nothing was changed" in screen.output and "Traceback" not in screen.output


# Every prompt a command can show, run under --sandbox. A new prompt in ctoops/commands
# makes test_every_prompt_is_checked_under_the_sandbox fail until it is added here.
SANDBOX_PROMPTS = [
    (["keys", "delete"], "[y/N]:"),
    (["keys", "delete", "--local"], "[y/N]:"),
    (["keys", "delete", "--local", "--admin"], "[y/N]:"),
    (["keys", "set"], "OpenAI API key:"),
    (["keys", "set", "--local"], "OpenAI API key:"),
    (["keys", "set", "--local", "--admin"], "OpenAI admin key:"),
    (["auth", "login"], None),  # the sandbox needs no token: no prompt at all
    (["auth", "login", "--cloudflare"], None),  # nor for Cloudflare: the sandbox answers no Cloudflare API
]
PROMPT_CALLS = re.compile(r"\b(?:read_secret|confirm|click\.prompt|click\.confirm)\(")


@pytest.mark.parametrize(("args", "prompt"), SANDBOX_PROMPTS, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_the_sandbox_never_names_a_real_url_in_a_prompt(args, prompt):
    steps = [Step(prompt, b"\x03")] if prompt else []
    screen = run_in_tty(["--sandbox", *args], env=clean_env(), steps=steps, deadline=30)
    if prompt:
        assert prompt in screen.output and screen.exit_code == 130
    for real in (DEFAULT_API_URL, DEFAULT_OPENAI_BASE_URL, "opencto.works", "api.openai.com"):
        assert real not in screen.output


def test_every_prompt_is_checked_under_the_sandbox():
    sites = {}
    for path in sorted((ROOT / "ctoops" / "commands").glob("*.py")):
        if path.name == "_options.py":  # where read_secret and confirm are defined
            continue
        calls = [line.strip() for line in path.read_text().splitlines() if PROMPT_CALLS.search(line)]
        if calls:
            sites[path.name] = calls
    # auth login and auth login --cloudflare (read_secret), keys set and keys validate --stdin
    # (read_secret), keys delete (confirm, twice)
    assert {name: len(calls) for name, calls in sites.items()} == {"auth.py": 2, "keys.py": 4}, sites


def test_the_sandbox_delete_prompt_names_the_sandbox():
    screen = run_in_tty(["--sandbox", "keys", "delete"], env=clean_env(), steps=[Step("[y/N]:", b"n\r")], deadline=30)
    assert "on the sandbox's simulated worker? [y/N]:" in screen.output
    assert screen.exit_code == 1 and "cancelled; nothing was changed" in screen.output


def pipe_to_head(args: list[str], tmp_path: Path) -> tuple[int, str, int]:
    """``ctoops ARGS | head -n 1`` in bash: (ctoops' exit code, its stderr, bytes of its
    whole output when not cut)."""
    err = tmp_path / "err.txt"
    command = " ".join(f"'{a}'" for a in [sys.executable, "-m", "ctoops", *args])
    program = f"{command} 2>{err} | head -n 1 >/dev/null; echo ${{PIPESTATUS[0]}}"
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    size = len(subprocess.run(["bash", "-c", command], capture_output=True, check=True).stdout)
    return int(result.stdout.strip()), err.read_text(), size


@pytest.mark.parametrize(
    "args",
    [
        [
            "--sandbox",
            "usage",
            "pull",
            "--start",
            "180d",
            "--bucket",
            "1h",
            "--group-by",
            "model,project_id",
            "--format",
            "csv",
        ],
        ["--sandbox", "usage", "pull", "--start", "60d", "--bucket", "1h", "--group-by", "model", "--format", "json"],
        [
            "--sandbox",
            "--via",
            "openai",
            "usage",
            "costs",
            "--start",
            "180d",
            "--group-by",
            "project_id,line_item",
            "--format",
            "csv",
        ],
    ],
    ids=["usage pull csv", "usage pull json", "usage costs csv"],
)
def test_output_cut_short_by_head_ends_quietly(args, tmp_path):
    code, stderr, size = pipe_to_head(args, tmp_path)
    assert size > 256 * 1024  # far more than a pipe holds: the reader really went away early
    assert code == 0
    assert "Traceback" not in stderr and "Broken pipe" not in stderr and "Exception ignored" not in stderr
    assert all(line.startswith("ctoops: ") for line in stderr.splitlines()), stderr
