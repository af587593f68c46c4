"""Live pipes and signals, with real processes (case ../shared/cases/tail-stdin-live).

``writer.py [crlf]`` prints 10 pretty tail records 0.1 s apart and stays open, like a live
``wrangler tail --format json``. The test waits until ctoops says on stderr that all 10
arrived (no fixed sleep), then sends SIGINT to ctoops alone, as the case describes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest
from cases import CASES  # tests/fixtures/cases: the shared field cases, copied byte for byte

WRITER = CASES / "tail-stdin-live" / "writer.py"
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("CTOOPS_", "PYTHON_KEYRING"))}


class Watched:
    """A process whose stderr is read as it comes, to wait for a line without sleeping."""

    def __init__(self, args: list[str], stdin: int | None, **env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ctoops", *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**ENV, **env},
        )
        self.err: list[str] = []
        self.seen = threading.Event()
        self.wanted = ""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            text = raw.decode()
            self.err.append(text)
            if self.wanted and self.wanted in text:
                self.seen.set()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        self.wanted = text
        if any(text in line for line in self.err):
            return
        assert self.seen.wait(timeout), f"never saw {text!r}: {''.join(self.err)}"

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        assert self.process.stdout is not None
        out = self.process.stdout.read().decode()
        self.process.stdout.close()
        self.process.wait(timeout)
        self.reader.join(timeout)
        assert self.process.stderr is not None
        self.process.stderr.close()
        return self.process.returncode, out, "".join(self.err)


def signal_the_tail(mode: str, options: list[str], signum: int, **env: str) -> tuple[int, str, str]:
    """``writer.py MODE | ctoops errors trend - OPTIONS``; once all 10 records have arrived
    (the live view says so: a line per bucket every 10 s off a terminal), ``signum`` is sent
    to ctoops alone. (exit code, stdout, stderr)."""
    writer = subprocess.Popen([sys.executable, str(WRITER), mode], stdout=subprocess.PIPE)
    try:
        assert writer.stdout is not None
        ctoops = Watched(["errors", "trend", "-", *options], writer.stdout.fileno(), **env)
        ctoops.wait_for("total 10 req")
        ctoops.process.send_signal(signum)
        return ctoops.finish()
    finally:
        writer.kill()
        writer.wait()
        assert writer.stdout is not None
        writer.stdout.close()


@pytest.mark.parametrize("mode", ["lf", "crlf"])
@pytest.mark.parametrize(
    ("gate", "code"),
    [
        ((), 0),
        (("--max-429-rate", "0.05", "--min-requests", "5"), 1),
        (("--max-429-rate", "0.2", "--min-requests", "5"), 0),
    ],
)
def test_tail_stdin_live_ctrl_c_reports_what_arrived(mode, gate, code):
    returncode, out, err = signal_the_tail(mode, ["--format", "json", *gate], signal.SIGINT)
    assert returncode == code, err
    assert "Fatal Python error" not in err and "Traceback" not in err
    rows = json.loads(out)
    assert [(r["bucket"], r["requests"], r["status_429"], r["status_5xx"]) for r in rows] == [
        ("realtime_token", 10, 2, 1)
    ]
    assert "interrupted: these counts cover what arrived before reading stopped" in err
    if code == 1:
        assert "realtime_token 2026-09-29T07:00:00Z 429 rate 20.0% > 5.0% (10 requests)" in err


def test_wrangler_text_on_a_live_pipe_is_named_at_once():
    """Named as soon as it is recognisable: the writer stays open, ctoops exits on its own."""
    script = (
        "import sys, time\n"
        "print('Connected to opencto-api, waiting for logs...')\n"
        "print('POST https://api.example.test/api/v1/realtime/token - Ok @ 9/29/2026, 7:00:00 AM', flush=True)\n"
        "time.sleep(60)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        ctoops = Watched(["errors", "trend", "-"], stdin=writer.stdout.fileno())
        returncode, _, err = ctoops.finish(timeout=30)
    finally:
        writer.kill()
        writer.wait()
        assert writer.stdout is not None
        writer.stdout.close()
    assert returncode == 2 and "--format json" in err and err.count("\n") == 1


def test_a_closed_stdout_ends_quietly(tmp_path):
    path = tmp_path / "minutes.ndjson"
    t0 = 1790665200000
    record = '{{"EventTimestampMs": {}, "EventType": "fetch", "Outcome": "ok", "Event": {{"Request": {{"URL": "https://x/api/v1/realtime/token", "Method": "POST"}}, "Response": {{"Status": 200}}}}}}\n'
    path.write_text("".join(record.format(t0 + i * 60_000) for i in range(3000)))
    process = subprocess.Popen(
        [sys.executable, "-m", "ctoops", "errors", "trend", str(path), "--window", "1m", "--format", "csv"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"window_start,")
    process.stdout.close()  # `| head -1`
    err = process.stderr.read().decode()
    process.stderr.close()
    process.wait(60)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGTERM, 0), (signal.SIGHUP, 129)],
    ids=["SIGTERM reports, like Ctrl-C", "SIGHUP ends at once"],
)
def test_a_signal_on_a_live_pipe_and_what_it_leaves(tmp_path, signum, code):
    """``timeout 60 ctoops errors trend -`` (SIGTERM) reports what arrived, as Ctrl-C does. A
    closed terminal (SIGHUP) ends the run, exit 129, one line. Neither leaves a chunk file
    (a SIGHUP used to leave them all)."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    returncode, out, err = signal_the_tail("lf", ["--format", "json"], signum, TMPDIR=str(scratch))
    assert returncode == code, err
    assert "Traceback" not in err
    if signum == signal.SIGTERM:
        rows = json.loads(out)
        assert [(r["bucket"], r["requests"]) for r in rows] == [("realtime_token", 10)]
    else:
        assert out == "" and err.strip().splitlines()[-1] == "ctoops: terminated (SIGHUP)"
    assert list(scratch.iterdir()) == []
