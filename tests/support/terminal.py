"""Run ctoops in a real pseudo-terminal, as a person at a terminal would: a size
(columns x rows), keys typed when a prompt appears, Ctrl-C sent as the terminal sends it
(the line discipline turns ``\\x03`` into SIGINT for the foreground process group).

The deadline only bounds a hung child (the test then fails); nothing waits on it otherwise.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

CTOOPS = [sys.executable, "-m", "ctoops"]


@dataclass
class Screen:
    """What the terminal received (stdout and stderr interleaved, as a person sees it)."""

    output: str
    exit_code: int
    lines: list[str] = field(default_factory=list)
    sent_at: list[int] = field(default_factory=list)  # len(output) when each step's keys were sent

    def __post_init__(self) -> None:
        self.lines = self.output.replace("\r\n", "\n").split("\n")

    def after(self, step: int) -> str:
        """What arrived after step ``step``'s keys were sent (its echo included)."""
        return self.output[self.sent_at[step] :]


@dataclass
class Step:
    """When ``until`` appears in the output (or ``when()`` is true), send ``keys``; with
    ``until``, also wait until the program is blocked reading the terminal, as a person
    typing after a prompt would (a key sent between the prompt's write and the read can be
    lost to a race inside CPython's ``input()``, which no person is quick enough to hit)."""

    until: str | None
    keys: bytes
    when: Callable[[], bool] | None = None


READ_SYSCALL = {"x86_64": 0, "aarch64": 63}.get(os.uname().machine)


def blocked(pid: int) -> bool:
    """Whether the main thread of ``pid`` sleeps in a system call (Linux /proc): a signal
    sent now interrupts that call, rather than landing just before it starts (a race inside
    CPython that no person at a keyboard can hit). True where it cannot be told."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("S", "D")


def reading_terminal(pid: int) -> bool:
    """Whether process ``pid`` is blocked in read(2) on a terminal (Linux /proc); True
    where that cannot be told (another OS or machine), so the step still happens."""
    if READ_SYSCALL is None or not os.path.exists(f"/proc/{pid}/syscall"):
        return True
    try:
        with open(f"/proc/{pid}/syscall") as f:
            fields = f.read().split()
        if not fields or fields[0] != str(READ_SYSCALL):
            return False
        target = os.readlink(f"/proc/{pid}/fd/{int(fields[1], 16)}")
    except (OSError, ValueError, IndexError):
        return False
    return target.startswith(("/dev/pts/", "/dev/tty"))


def run_in_tty(
    args: Sequence[str],
    *,
    env: dict[str, str],
    columns: int = 80,
    rows: int = 24,
    steps: Sequence[Step] = (),
    deadline: float = 60.0,
    cwd: str | None = None,
) -> Screen:
    """Run ``ctoops *args`` on a fresh pty of ``columns`` x ``rows`` with ``env`` (whole:
    nothing is inherited), feeding ``steps`` in order; return the screen and exit code."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(
        [*CTOOPS, *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_become_terminal_job,
    )
    os.close(slave)
    received = bytearray()
    sent_at: list[int] = []
    pending = list(steps)
    end = time.monotonic() + deadline
    try:
        while True:
            if pending:
                step = pending[0]
                if step.when:
                    ready = step.when() and blocked(proc.pid)
                else:
                    ready = step.until is not None and step.until.encode() in received and reading_terminal(proc.pid)
                if ready:
                    sent_at.append(len(received.decode("utf-8", "replace")))
                    os.write(master, step.keys)
                    pending.pop(0)
                    continue
            if time.monotonic() > end:
                raise AssertionError(f"ctoops {' '.join(args)} still running; screen so far:\n{received.decode()}")
            readable, _, _ = select.select([master], [], [], 0.05)
            if readable:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    if proc.poll() is not None:
                        break
                    continue
                received += chunk
            elif proc.poll() is not None and not pending:
                # drain what is left, then stop
                while select.select([master], [], [], 0.05)[0]:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    received += chunk
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    return Screen(received.decode("utf-8", "replace"), proc.returncode, sent_at=sent_at)


def _become_terminal_job() -> None:
    """In the child: the pty is its controlling terminal, and SIGINT acts as in a login
    shell's foreground job (a test runner started in the background inherits it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment (conftest already cleared the credentials and settings) with a
    terminal type and ``extra`` on top."""
    env = {k: v for k, v in os.environ.items()}
    env.update({"TERM": "xterm-256color", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env
