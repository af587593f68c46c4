"""Hostile and broken inputs (issue 11): bounded memory whatever the input, every skipped
record or file counted and reported, bad options refused with exit 2.

Peak memory is read from the kernel (``wait4``'s ``ru_maxrss``) of a real ``ctoops``
process; nothing here is timed."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

T0 = 1790665200000  # 2026-09-29T07:00:00Z
LIMIT_MIB = 250  # the brief's ceiling for errors trend's peak memory


def line(ts: int, status: int = 200, url: str = "https://api.example.test/api/v1/realtime/token") -> str:
    record = {
        "EventTimestampMs": ts,
        "EventType": "fetch",
        "Outcome": "ok",
        "Event": {"Request": {"URL": url, "Method": "POST"}, "Response": {"Status": status}},
    }
    return json.dumps(record) + "\n"


# Started from a small process: a child forked from pytest would inherit pytest's own peak
# (Linux keeps the larger of the pre- and post-exec high-water marks in ru_maxrss).
MEASURE = """
import os, subprocess, sys
with open(sys.argv[1], "rb") as stdin, open(sys.argv[2], "wb") as out, open(sys.argv[3], "wb") as err:
    child = subprocess.Popen([sys.executable, "-m", "ctoops", *sys.argv[4:]], stdin=stdin, stdout=out, stderr=err)
    _, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak(args: list[str], stdin: Path | None = None) -> tuple[int, float, str, str]:
    """(exit code, peak RSS MiB, stdout, stderr) of ``python -m ctoops`` with ``args``: the
    kernel's high-water mark of resident memory for that process alone."""
    import tempfile

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CTOOPS_", "PYTHON_KEYRING"))}
    with tempfile.TemporaryDirectory() as folder:
        out, err = Path(folder) / "out", Path(folder) / "err"
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, str(stdin or os.devnull), str(out), str(err), *args],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=600,
        )
        code, kib = (int(v) for v in done.stdout.split())
        return code, kib / 1024, out.read_text(), err.read_text()


def bomb(path: Path, unit: bytes, count: int) -> Path:
    """A gzip file inflating to ``unit * count`` bytes, written without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as out:
        for _ in range(count):
            out.write(packer.compress(unit))
        out.write(packer.flush())
    return path


def test_a_gzip_bomb_of_one_endless_line_costs_time_not_memory(tmp_path):
    path = bomb(tmp_path / "bomb.log.gz", b"x" * (1 << 20), 300)  # 300 MiB, one line
    assert path.stat().st_size < 1 << 20
    code, rss, _, err = peak(["errors", "trend", str(path)])
    assert code == 2 and "1 skipped" in err and f"{path}:1" in err
    assert rss < LIMIT_MIB, f"peak {rss:.0f} MiB"


def test_a_gzip_bomb_of_good_records_is_counted_exactly_in_bounded_memory(tmp_path):
    unit = "".join(line(T0 + i, 429 if i % 10 == 0 else 200) for i in range(100)).encode()
    path = bomb(tmp_path / "many.log.gz", unit, 3000)  # 300,000 records
    code, rss, out, err = peak(["errors", "trend", str(path), "--format", "json"])
    assert code == 0, err
    (row,) = json.loads(out)
    assert (row["requests"], row["status_429"]) == (300_000, 30_000)
    assert rss < LIMIT_MIB, f"peak {rss:.0f} MiB"


def test_a_gzip_bomb_on_stdin(tmp_path):
    path = bomb(tmp_path / "bomb.gz", b"y" * (1 << 20), 100)
    code, rss, _, err = peak(["errors", "trend", "-"], stdin=path)
    assert code == 2 and "1 skipped" in err and "-:1" in err
    assert rss < LIMIT_MIB, f"peak {rss:.0f} MiB"


def test_memory_stays_flat_as_a_crlf_pretty_capture_grows(tmp_path):
    """A CRLF capture used to take about twice the file: now the chunk bounds it."""
    record = {
        "outcome": "ok",
        "eventTimestamp": T0,
        "logs": [{"message": ["x" * 200], "level": "log", "timestamp": T0}],
        "event": {
            "request": {"url": "https://x/api/v1/realtime/token", "method": "POST", "headers": {}},
            "response": {"status": 200},
        },
    }
    text = (json.dumps(record, indent=2) + "\n").replace("\n", "\r\n").encode()
    sizes = {}
    for copies in (20_000, 200_000):  # ~10 MB and ~100 MB
        path = tmp_path / f"capture-{copies}.json"
        with open(path, "wb") as out:
            for _ in range(copies // 1000):
                out.write(text * 1000)
        code, rss, out_text, err = peak(["errors", "trend", str(path), "--format", "json"])
        assert code == 0, err
        assert json.loads(out_text)[0]["requests"] == copies
        sizes[copies] = rss
    assert sizes[200_000] < LIMIT_MIB
    assert sizes[200_000] - sizes[20_000] < 60, sizes  # not proportional to the 90 MB more


@pytest.mark.parametrize("mib", [17, 40])
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_a_record_over_16_mib_is_skipped_and_counted_its_neighbours_kept(tmp_path, mib, via):
    big = json.dumps({"EventTimestampMs": T0, "Logs": ["z" * (mib << 20)]}) + "\n"
    path = tmp_path / "big.ndjson"
    path.write_text(line(T0) + big + line(T0 + 1, 429))
    if via == "file" and mib < 32:
        pytest.skip("DuckDB may read a record of 16-32 MiB in a plain file (docs/trends-engine.md, limits)")
    args = ["errors", "trend", str(path) if via == "file" else "-", "--format", "json"]
    code, rss, out, err = peak(args, stdin=path if via == "stdin" else None)
    assert code == 0, err
    assert [(r["requests"], r["status_429"]) for r in json.loads(out)] == [(2, 1)]
    where = str(path) if via == "file" else "-"
    assert f"1 longer than 16 MiB (first at {where}:2)" in err
    assert rss < LIMIT_MIB, f"peak {rss:.0f} MiB"


def test_a_deeply_nested_record_is_skipped_and_counted(ctoops, tmp_path):
    path = tmp_path / "deep.ndjson"
    path.write_text(line(T0) + '{"a":' * 100_000 + "1" + "}" * 100_000 + "\n" + line(T0 + 1))
    result = ctoops("errors", "trend", str(path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["requests"] == 2
    assert "skipped 1 record: " in result.stderr and f"{path}:2" in result.stderr


def test_invalid_utf8_is_counted_after_replacement_never_lost(ctoops, tmp_path):
    """A log with 10% 429s must not pass a 5% gate because its 429 lines hold bad bytes."""
    good = [line(T0 + i).encode() for i in range(18)]
    bad = [
        line(T0 + 100 + i, 429, url="https://api.example.test/api/v1/realtime/token?q=XX").encode() for i in range(2)
    ]
    bad = [b.replace(b"XX", b"\xff\xfe") for b in bad]
    path = tmp_path / "latin.ndjson"
    path.write_bytes(b"".join(good[:5] + bad[:1] + good[5:] + bad[1:]))
    result = ctoops("errors", "trend", str(path), "--format", "json", "--max-429-rate", "0.05")
    assert result.exit_code == 1, result.stderr
    assert json.loads(result.stdout)[0]["status_429"] == 2
    assert (
        f"2 records held bytes that are not UTF-8, counted after replacing them with U+FFFD (first at {path}:6, {path}:20)"
        in result.stderr
    )


def test_one_bad_timestamp_in_a_folder_of_gzip_files_is_counted_the_rest_read(ctoops, tmp_path):
    day = tmp_path / "20260929"
    day.mkdir()
    for part in range(3):
        lines = [line(T0 + part * 1000 + i) for i in range(10)]
        if part == 1:
            lines[6] = line(T0).replace(str(T0), '"soon"')
        (day / f"part-{part}.log.gz").write_bytes(gzip.compress("".join(lines).encode()))
    result = ctoops("errors", "trend", str(tmp_path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["requests"] == 29
    assert f"(first at {day / 'part-1.log.gz'}:7)" in result.stderr


def test_unreadable_and_damaged_files_in_a_folder_are_reported_the_rest_read(ctoops, tmp_path):
    (tmp_path / "good.ndjson").write_text("".join(line(T0 + i) for i in range(10)))
    (tmp_path / "gone.ndjson").symlink_to(tmp_path / "nowhere")
    whole = gzip.compress("".join(line(T0 + 100 + i) for i in range(1000)).encode())
    (tmp_path / "truncated.log.gz").write_bytes(whole[: len(whole) // 2])
    os.mkfifo(tmp_path / "pipe")
    result = ctoops("errors", "trend", str(tmp_path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    requests = json.loads(result.stdout)[0]["requests"]
    assert 10 < requests < 1010  # the good file, and what inflated before the cut
    assert f"could not read {tmp_path / 'gone.ndjson'}: No such file or directory" in result.stderr
    assert f"could not read {tmp_path / 'truncated.log.gz'}: stopped after line" in result.stderr
    assert "passed over 1 folder entries that are not files" in result.stderr


def test_a_device_is_refused(ctoops):
    result = ctoops("errors", "trend", "/dev/zero")
    assert result.exit_code == 2 and "is a device" in result.stderr


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "-0.1", "1.5", "5%", "abc"])
@pytest.mark.parametrize("option", ["--max-429-rate", "--max-5xx-rate"])
def test_thresholds_are_finite_fractions(ctoops, tmp_path, option, value):
    path = tmp_path / "ok.ndjson"
    path.write_text(line(T0))
    result = ctoops("errors", "trend", str(path), option, value)
    assert result.exit_code == 2, result.stderr
    assert "is not a fraction between 0 and 1" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "2"])
def test_the_runbook_rates_step_refuses_a_non_fraction(ctoops, value):
    result = ctoops("--sandbox", "runbook", "run", "-p", f"rates.max_429_rate={value}")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "rates.max_429_rate" in result.stdout + result.stderr


def test_a_folder_of_many_files_with_odd_ones_counts_every_good_record(ctoops, tmp_path):
    """Files after the first in a folder are not sniffed: one DuckDB refuses (found by
    halving the batch) or reads with records to skip (other key spellings) is read as a
    stream, which finds its own format."""
    day = tmp_path / "20260929"
    day.mkdir()
    for part in range(40):
        text = "".join(line(T0 + part * 100 + i, 429 if i == 0 else 200) for i in range(10))
        if part == 25:
            text = text.replace('"EventTimestampMs"', '"eventtimestampms"').replace('"Event"', '"event"')
        data = gzip.compress(text.encode())
        if part == 17:
            data = data[: len(data) // 2]  # damaged: what inflates before the cut still counts
        (day / f"part-{part:03d}.log.gz").write_bytes(data)
    result = ctoops("errors", "trend", str(tmp_path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert 390 <= row["requests"] < 400 and row["status_429"] in (39, 40)
    assert f"could not read {day / 'part-017.log.gz'}: stopped after line" in result.stderr
    # the record the cut tore is the only one skipped: part-025's other spellings are read
    assert (
        f"skipped 1 record: 1 not JSON (a torn record or a stray line) (first at {day / 'part-017.log.gz'}:"
        in result.stderr
    )


@pytest.mark.parametrize(
    "data",
    [b"\x1f\x8b\x08\x00garbage", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(200, 256)) * 4],
)
def test_a_gzip_damaged_in_its_first_bytes_is_named_not_a_crash(ctoops, tmp_path, data):
    bad = tmp_path / "logs" / "a.log.gz"
    bad.parent.mkdir()
    bad.write_bytes(data)
    alone = ctoops("errors", "trend", str(bad))
    assert alone.exit_code == 2 and "internal error" not in alone.stderr and "a.log.gz" in alone.stderr
    (tmp_path / "logs" / "b.log").write_text(
        '{"EventTimestampMs": 1795262400000, "EventType": "fetch", "Outcome": "ok", "Event": {"Request": '
        '{"URL": "https://api.opencto.works/api/v1/realtime/token", "Method": "POST"}, "Response": {"Status": 200}}}\n'
    )
    folder = ctoops("errors", "trend", str(tmp_path / "logs"), "--format", "json")
    assert folder.exit_code == 0, folder.stderr
    assert f"could not read {bad}" in folder.stderr


def test_a_temporary_folder_without_room_for_chunk_files_is_named(tmp_path):
    """A stream is read through chunk files in the temporary folder; when they cannot be
    written (a full disk; here a file-size limit, so no root is needed) the run says where
    and what to do (exit 2), never "internal error", and leaves nothing behind."""
    import resource
    import signal

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    logs = tmp_path / "logs.ndjson"
    logs.write_text("".join(line(T0 + i) for i in range(200)))

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    env = {k: v for k, v in os.environ.items() if not k.startswith("CTOOPS_")} | {"TMPDIR": str(scratch)}
    with open(logs, "rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "ctoops", "errors", "trend", "-"],
            stdin=stdin,
            capture_output=True,
            text=True,
            env=env,
            preexec_fn=limit,
            timeout=120,
        )
    assert done.returncode == 2, done.stderr
    assert f"cannot write the chunk files streams are read through in {scratch}: File too large" in done.stderr
    assert "make room there, or set TMPDIR to a folder with room" in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_a_tmpdir_that_cannot_hold_the_chunk_folder_is_named_not_replaced(tmp_path, kind):
    """Python's tempfile falls back to /tmp (or the working folder) without a word when
    $TMPDIR is unusable: the user's choice would be ignored. ctoops names it, exit 2."""
    scratch = tmp_path / "scratch"
    if kind == "a file":
        scratch.write_text("not a folder")
    logs = tmp_path / "logs.ndjson"
    logs.write_text("".join(line(T0 + i) for i in range(20)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTOOPS_")} | {"TMPDIR": str(scratch)}
    with open(logs, "rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "ctoops", "errors", "trend", "-"],
            stdin=stdin, capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"cannot make a folder for the chunk files streams are read through in {scratch} (TMPDIR)" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_closed_stdin_is_named(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTOOPS_")}
    done = subprocess.run(
        [sys.executable, "-m", "ctoops", "errors", "trend", "-"],
        capture_output=True, text=True, env=env, timeout=60, preexec_fn=lambda: os.close(0),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "- means stdin, but stdin is closed" in done.stderr and "internal error" not in done.stderr
