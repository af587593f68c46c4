"""The field cases in ../shared/cases/ (README: each right answer), each across its variants.

Every test names its case folder. Expected counts come from the case README (10 requests,
2 x 429, 1 x 5xx in the 07:00 window), not from ctoops; line numbers are found in the
files by the test itself."""

from __future__ import annotations

import codecs
import gzip
import json
import shutil
from pathlib import Path

import pytest
from cases import CASES  # tests/fixtures/cases: the shared field cases, copied byte for byte

RIGHT = [("2026-09-29T07:00:00Z", "realtime_token", 10, 2, 1)]


def counts(result) -> list[tuple]:
    assert result.exit_code == 0, result.stderr
    return [
        (r["window_start"], r["bucket"], r["requests"], r["status_429"], r["status_5xx"])
        for r in json.loads(result.stdout)
    ]


def record_lines(path: Path) -> list[int]:
    """1-based line numbers of the lines that open a pretty record (``{`` alone)."""
    text = path.read_bytes().decode("utf-8")
    return [i for i, line in enumerate(text.split("\n"), 1) if line.rstrip("\r") == "{"]


# -- tail-powershell-utf16: any BOM-marked UTF-8/16/32 input ------------------------------------


def test_tail_powershell_utf16_as_saved(ctoops):
    case = CASES / "tail-powershell-utf16" / "tail.json"
    assert case.read_bytes()[:2] == codecs.BOM_UTF16_LE
    assert counts(ctoops("errors", "trend", str(case), "--format", "json")) == RIGHT


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-32-be", codecs.BOM_UTF32_BE),
    ],
)
@pytest.mark.parametrize("via", ["file", "gzip", "stdin"])
def test_tail_powershell_utf16_every_bom_on_every_path(ctoops, tmp_path, encoding, bom, via):
    text = (CASES / "tail-powershell-utf16" / "tail.json").read_bytes().decode("utf-16")
    data = bom + text.encode(encoding)
    if via == "stdin":
        result = ctoops("errors", "trend", "-", "--format", "json", input=data)
    else:
        path = tmp_path / "tail.json"
        path.write_bytes(gzip.compress(data) if via == "gzip" else data)
        result = ctoops("errors", "trend", str(path), "--format", "json")
    assert counts(result) == RIGHT
    assert "skipped" not in result.stderr


# -- tail-crlf: pretty tail with CRLF; torn records cost exactly themselves ----------------------


@pytest.mark.parametrize("via", ["file", "stdin"])
def test_tail_crlf_whole(ctoops, via):
    case = CASES / "tail-crlf" / "tail.json"
    assert b"\r\n" in case.read_bytes()
    args = [str(case)] if via == "file" else ["-"]
    result = ctoops("errors", "trend", *args, "--format", "json", input=case.read_bytes() if via == "stdin" else None)
    assert counts(result) == RIGHT


@pytest.mark.parametrize("name", ["tail-torn.json", "tail-torn-lf.json"])
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_tail_crlf_torn_record_costs_only_itself(ctoops, name, via):
    case = CASES / "tail-crlf" / name
    torn_line = record_lines(case)[4]  # record 5 is the torn one
    args = [str(case)] if via == "file" else ["-"]
    result = ctoops("errors", "trend", *args, "--format", "json", input=case.read_bytes() if via == "stdin" else None)
    assert counts(result) == [("2026-09-29T07:00:00Z", "realtime_token", 9, 2, 1)]
    where = str(case) if via == "file" else "-"
    assert (
        f"skipped 1 record: 1 not JSON (a torn record or a stray line) (first at {where}:{torn_line})" in result.stderr
    )


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_tail_crlf_stray_banners_and_a_non_json_first_line(ctoops, tmp_path, eol):
    """Older wrangler printed banners into its JSON output: each costs itself, and the
    format is found though the first line is not JSON."""
    text = (CASES / "tail-crlf" / "tail.json").read_bytes().decode().replace("\r\n", "\n")
    records = text.split("\n}\n")
    banner = "Successfully created tail, expires at 2026-09-29T13:00:00Z"
    mixed = f"{banner}\n" + "\n}\n".join(records[:3]) + "\n}\nConnected to opencto-api, waiting for logs...\n"
    mixed += "\n}\n".join(records[3:])
    path = tmp_path / "banners.json"
    path.write_bytes(mixed.replace("\n", eol).encode())
    result = ctoops("errors", "trend", str(path), "--format", "json")
    assert counts(result) == RIGHT
    lines = mixed.split("\n")
    stray = [i for i, line in enumerate(lines, 1) if line in (banner, "Connected to opencto-api, waiting for logs...")]
    assert (
        f"skipped 2 records: 2 not JSON (a torn record or a stray line) (first at {path}:{stray[0]}, {path}:{stray[1]})"
        in result.stderr
    )


def test_tail_crlf_torn_at_the_very_end(ctoops, tmp_path):
    """A capture stopped mid-record: the last record is counted as torn, the rest kept."""
    data = (CASES / "tail-crlf" / "tail.json").read_bytes()
    path = tmp_path / "cut.json"
    path.write_bytes(data[: data.rfind(b'"event"')])
    result = ctoops("errors", "trend", str(path), "--format", "json")
    assert counts(result) == [("2026-09-29T07:00:00Z", "realtime_token", 9, 2, 0)]  # the 500 was the last
    assert f"(first at {path}:{record_lines(path)[-1]})" in result.stderr


# -- logpush-rfc3339ms: every RFC 3339 spelling, on every path ---------------------------------------


@pytest.mark.parametrize("via", ["folder", "stdin", "gzip"])
def test_logpush_rfc3339ms(ctoops, tmp_path, via):
    folder = CASES / "logpush-rfc3339ms"
    if via == "folder":
        result = ctoops("errors", "trend", str(folder), "--format", "json")
    elif via == "stdin":
        data = (folder / "20260929" / "trace.log").read_bytes()
        result = ctoops("errors", "trend", "-", "--format", "json", input=data)
    else:
        copy = tmp_path / "20260929"
        copy.mkdir()
        (copy / "trace.log.gz").write_bytes(gzip.compress((folder / "20260929" / "trace.log").read_bytes()))
        result = ctoops("errors", "trend", str(tmp_path), "--format", "json")
    assert counts(result) == RIGHT


def test_logpush_rfc3339ms_an_unparseable_timestamp_is_counted_and_located(ctoops, tmp_path):
    lines = (CASES / "logpush-rfc3339ms" / "20260929" / "trace.log").read_text().splitlines()
    record = json.loads(lines[3])
    record["EventTimestampMs"] = "2026-09-29 around seven"
    lines[3] = json.dumps(record)
    path = tmp_path / "trace.log"
    path.write_text("\n".join(lines) + "\n")
    result = ctoops("errors", "trend", str(path), "--format", "json")
    assert counts(result) == [("2026-09-29T07:00:00Z", "realtime_token", 9, 2, 1)]
    assert (
        "skipped 1 record: 1 with a timestamp that is neither epoch s/ms/us/ns nor RFC 3339 "
        f"(first at {path}:4)" in result.stderr
    )


# -- logpush-http-requests-dataset: named, with what is needed ---------------------------------------


def test_logpush_http_requests_dataset_is_named(ctoops):
    case = CASES / "logpush-http-requests-dataset" / "http_requests.log"
    result = ctoops("errors", "trend", str(case))
    assert result.exit_code == 2, result.stderr
    message = result.stderr
    assert message.count("\n") == 1 and "Traceback" not in message
    assert "zone http_requests Logpush dataset (EdgeStartTimestamp, ClientRequestURI, EdgeResponseStatus)" in message
    assert "workers_trace_events" in message and "logpush = true" in message
    assert "expected wrangler tail JSON or Logpush NDJSON" not in message


def test_logpush_http_requests_dataset_beside_worker_logs_is_skipped_and_said(ctoops, tmp_path):
    shutil.copytree(CASES / "logpush-rfc3339ms" / "20260929", tmp_path / "20260929")
    shutil.copy(CASES / "logpush-http-requests-dataset" / "http_requests.log", tmp_path / "20260929" / "zone.log")
    result = ctoops("errors", "trend", str(tmp_path), "--format", "json")
    assert counts(result) == RIGHT
    assert f"skipped {tmp_path / '20260929' / 'zone.log'}: this is Cloudflare's zone http_requests" in result.stderr


@pytest.mark.parametrize("via", ["file", "stdin"])
def test_wrangler_text_output_is_named_with_the_fix(ctoops, tmp_path, via):
    text = (
        "Successfully created tail, expires at 2026-09-29T13:00:00Z\n"
        "Connected to opencto-api, waiting for logs...\n"
        "POST https://api.example.test/api/v1/realtime/token - Ok @ 9/29/2026, 7:00:00 AM\n"
        "  (log) minted\n"
        "GET https://api.example.test/api/v1/cto/openai/models - Exception Thrown @ 9/29/2026, 7:00:01 AM\n"
    )
    path = tmp_path / "pretty.txt"
    path.write_text(text)
    args = [str(path)] if via == "file" else ["-"]
    result = ctoops("errors", "trend", *args, input=text if via == "stdin" else None)
    assert result.exit_code == 2
    assert "wrangler tail's text output" in result.stderr and "wrangler tail --format json" in result.stderr
