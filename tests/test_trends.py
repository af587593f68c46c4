"""`ctoops errors trend` on real-format log files, with counts worked out by hand.

The fixtures (tests/fixtures/logs/, written by make_fixtures.py in the formats of
worker-logs.md §1-2) hold the same tail events three ways; the expected rows below were
counted from make_fixtures.py's event lists, not computed by ctoops."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

LOGS = ROOT / "tests" / "fixtures" / "logs"
W0, W1, W2 = "2026-11-21T10:00:00Z", "2026-11-21T10:05:00Z", "2026-11-21T11:00:00Z"

# (window, bucket, requests, 429, 5xx, error outcomes, sampled), 5-minute windows
TAIL_5M = [
    (W0, "cto_openai_proxy", 3, 0, 1, 0, False),  # 200 models, 400 usage?query, 502 models
    (W0, "realtime_token", 4, 2, 1, 1, False),  # 200, 429, 429, exception with no response; not the OPTIONS
    (W1, "cto_openai_proxy", 1, 0, 0, 0, True),  # canceled: a request, not a 5xx; inside the sampling notices
    (W1, "realtime_token", 1, 0, 0, 0, True),  # 200; the trailing-slash 404 is no bucket's
    (W2, "cto_openai_proxy", 2, 1, 0, 0, False),  # 200 usage, 429 models; not the POST to models
    (W2, "realtime_token", 1, 0, 1, 0, False),  # 500
]
LOGPUSH_5M = [
    (W0, "cto_openai_proxy", 3, 0, 2, 1, False),  # 200, 503, exceededCpu with Status null
    (W0, "realtime_token", 3, 1, 1, 1, False),  # 429, 200, exception with no Response
    (W1, "cto_openai_proxy", 1, 0, 0, 0, False),  # lower-case keys, second file
    (W1, "realtime_token", 2, 2, 0, 0, False),
]


def rows_of(result) -> list[tuple]:
    assert result.exit_code == 0, result.stderr
    return [
        (
            r["window_start"],
            r["bucket"],
            r["requests"],
            r["status_429"],
            r["status_5xx"],
            r["error_outcomes"],
            r["sampled"],
        )
        for r in json.loads(result.stdout)
    ]


@pytest.mark.parametrize("name", ["tail_pretty_4space.json", "tail_pretty_2space.json", "tail_compact.ndjson"])
def test_tail_formats(ctoops, name):
    result = ctoops("errors", "trend", str(LOGS / name), "--format", "json")
    assert rows_of(result) == TAIL_5M
    assert "skipped 1 non-request event" in result.stderr  # the scheduled event
    assert "sampling in 1 window from 2026-11-21T10:05:00Z" in result.stderr
    record = json.loads(result.stdout)[1]
    assert record["rate_429"] == 0.5 and record["rate_5xx"] == 0.25
    assert set(record) >= {"window_start", "bucket", "requests", "status_429", "status_5xx", "rate_429", "rate_5xx"}


def test_logpush_folder_of_gzip_with_a_torn_line_and_a_missing_response(ctoops):
    result = ctoops("errors", "trend", str(LOGS / "logpush"), "--format", "json")
    assert rows_of(result) == LOGPUSH_5M
    torn = LOGS / "logpush" / "20261121" / "20261121T100000Z_20261121T100500Z_1747b6ef.log.gz"
    assert f"skipped 1 record: 1 not JSON (a torn record or a stray line) (first at {torn}:4)" in result.stderr


def test_hourly_windows(ctoops):
    result = ctoops("errors", "trend", str(LOGS / "tail_compact.ndjson"), "--window", "1h", "--format", "json")
    hour = "2026-11-21T10:00:00Z"
    assert rows_of(result) == [
        (hour, "cto_openai_proxy", 4, 0, 1, 0, True),
        (hour, "realtime_token", 5, 2, 1, 1, True),
        (W2, "cto_openai_proxy", 2, 1, 0, 0, False),
        (W2, "realtime_token", 1, 0, 1, 0, False),
    ]


def write_ndjson(path: Path, events: list[tuple[int, str, str, int | None]]) -> Path:
    lines = []
    for ts_ms, method, url_path, status in events:
        event = {"request": {"url": "https://api.example.com" + url_path, "method": method, "headers": {}}}
        if status is not None:
            event["response"] = {"status": status}
        lines.append(json.dumps({"outcome": "ok", "eventTimestamp": ts_ms, "event": event, "logs": []}))
    path.write_text("\n".join(lines) + "\n")
    return path


MIDNIGHT = 1795305600000  # 2026-11-22T00:00:00Z


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("1m", ["2026-11-21T23:59:00Z", "2026-11-22T00:00:00Z"]),
        ("5m", ["2026-11-21T23:55:00Z", "2026-11-22T00:00:00Z"]),
        ("1h", ["2026-11-21T23:00:00Z", "2026-11-22T00:00:00Z"]),
        ("1d", ["2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z"]),
    ],
)
def test_windows_align_to_utc_at_hour_and_day_edges(ctoops, tmp_path, window, expected):
    log = write_ndjson(
        tmp_path / "edge.ndjson",
        [
            (MIDNIGHT - 1, "POST", "/api/v1/realtime/token", 429),  # 23:59:59.999
            (MIDNIGHT, "POST", "/api/v1/realtime/token", 200),  # 00:00:00.000
        ],
    )
    rows = json.loads(ctoops("errors", "trend", str(log), "--window", window, "--format", "json").stdout)
    assert [r["window_start"] for r in rows] == expected
    assert [r["status_429"] for r in rows] == [1, 0]


def threshold_log(tmp_path: Path) -> Path:
    # 10 requests in one window, 2 of them 429 (rate 0.2) and 1 a 503 (rate 0.1); then a window of 2, both 429
    events = [
        (MIDNIGHT + i * 1000, "POST", "/api/v1/realtime/token", 429 if i < 2 else 503 if i == 2 else 200)
        for i in range(10)
    ]
    events += [(MIDNIGHT + 600_000 + i, "POST", "/api/v1/realtime/token", 429) for i in range(2)]
    return write_ndjson(tmp_path / "thresholds.ndjson", events)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--max-429-rate", "0.2"), 0, None),  # equal to the limit is not over it
        (("--max-429-rate", "0.19"), 1, "realtime_token 2026-11-22T00:00:00Z 429 rate 20.0% > 19.0% (10 requests)"),
        (("--max-5xx-rate", "0.1"), 0, None),
        (("--max-5xx-rate", "0.09"), 1, "5xx rate 10.0% > 9.0%"),
        (("--max-429-rate", "0.5", "--min-requests", "2"), 1, "2026-11-22T00:10:00Z 429 rate 100.0%"),
        (("--max-429-rate", "0.5", "--min-requests", "3"), 0, None),  # the window of 2 is too small to count
    ],
)
def test_thresholds_on_both_sides_of_the_limit(ctoops, tmp_path, args, code, message):
    result = ctoops("errors", "trend", str(threshold_log(tmp_path)), *args)
    assert result.exit_code == code, result.stderr
    if message:
        assert message in result.stderr and "over the 429/5xx thresholds" in result.stderr
    else:
        assert "over threshold" not in result.stderr


def test_stdin(ctoops):
    data = (LOGS / "tail_pretty_4space.json").read_text()
    assert rows_of(ctoops("errors", "trend", "-", "--format", "json", input=data)) == TAIL_5M


def test_since_until_and_bucket(ctoops):
    result = ctoops(
        "errors",
        "trend",
        str(LOGS / "tail_compact.ndjson"),
        "--since",
        "2026-11-21T10:05:00Z",
        "--until",
        "2026-11-21T11:00:00+00:00",
        "--bucket",
        "realtime_token",
        "--format",
        "json",
    )
    assert rows_of(result) == [(W1, "realtime_token", 1, 0, 0, 0, True)]


def test_case_variants_and_other_timestamp_units(ctoops, tmp_path):
    base = {
        "Outcome": "ok",
        "EventType": "fetch",
        "event": {"REQUEST": {"url": "https://x/api/v1/realtime/token", "METHOD": "POST"}, "Response": {"STATUS": 429}},
    }
    lines = [
        dict(base, eventtimestampms=MIDNIGHT * 1_000_000),  # nanoseconds
        dict(base, eventtimestampms=MIDNIGHT),
    ]  # milliseconds
    log = tmp_path / "odd.ndjson.gz"
    with gzip.open(log, "wt") as fh:
        fh.write("".join(json.dumps(line) + "\n" for line in lines))
    rows = json.loads(ctoops("errors", "trend", str(log), "--format", "json").stdout)
    assert [(r["window_start"], r["requests"], r["status_429"]) for r in rows] == [("2026-11-22T00:00:00Z", 2, 2)]
    rfc = tmp_path / "rfc.ndjson"
    rfc.write_text(json.dumps(dict(base, EventTimestampMs="2026-11-22T00:00:01Z")) + "\n")
    rows = json.loads(ctoops("errors", "trend", str(rfc), "--format", "json", "--source", "logpush").stdout)
    assert [(r["window_start"], r["status_429"]) for r in rows] == [("2026-11-22T00:00:00Z", 1)]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: str(d / "missing.json"), "no such file or folder"),
        (lambda d: (d / "empty").mkdir() or str(d / "empty"), "holds no log files"),
        (lambda d: (d / "junk.txt").write_text("hello\nworld\n") and str(d / "junk.txt"), "no usable log record"),
        (
            lambda d: (d / "other.json").write_text('{"a": 1}\n[1, 2]\n') and str(d / "other.json"),
            "its JSON records (with the keys a) are not worker request logs",
        ),
        (
            lambda d: (d / "empty.json").write_text("{}\n{}\n") and str(d / "empty.json"),
            "its JSON records (all empty ({})) are not worker request logs",
        ),
    ],
)
def test_bad_input_exits_2(ctoops, tmp_path, setup, message):
    result = ctoops("errors", "trend", setup(tmp_path))
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_no_source_is_exit_2_and_the_sandbox_has_a_sample(ctoops):
    assert ctoops("errors", "trend").exit_code == 2
    sample = ctoops("--sandbox", "errors", "trend", "--format", "json")
    rows = json.loads(sample.stdout)
    assert sample.exit_code == 0 and len(rows) == 24 and "sandbox" in sample.stderr
    assert sum(r["status_429"] for r in rows if r["bucket"] == "realtime_token") > 0


def test_malformed_records_in_the_middle_are_skipped_not_fatal(ctoops, tmp_path):
    good = (LOGS / "tail_compact.ndjson").read_text().splitlines()
    mixed = good[:3] + ['{"outcome": "ok", "eventTimestamp": 17952', "not json at all"] + good[3:]
    log = tmp_path / "mixed.ndjson"
    log.write_text("\n".join(mixed) + "\n")
    result = ctoops("errors", "trend", str(log), "--format", "json")
    assert rows_of(result) == TAIL_5M
    assert f"skipped 2 records: 2 not JSON (a torn record or a stray line) (first at {log}:4, {log}:5)" in result.stderr


def test_a_torn_pretty_capture_keeps_the_whole_records(ctoops, tmp_path):
    text = (LOGS / "tail_pretty_4space.json").read_text()
    cut = tmp_path / "torn.json"
    cut.write_text(text[: text.rfind('"eventTimestamp"')])  # the capture stopped mid-record
    result = ctoops("errors", "trend", str(cut), "--format", "json")
    assert rows_of(result) == TAIL_5M[:4] + [
        (W2, "cto_openai_proxy", 1, 0, 0, 0, False),  # the last event, the models 429, is lost in the cut
        (W2, "realtime_token", 1, 0, 1, 0, False),
    ]
    assert f"skipped 1 record: 1 not JSON (a torn record or a stray line) (first at {cut}:" in result.stderr


def test_table_summary_and_chart_without_ansi_when_not_a_tty(ctoops):
    result = ctoops("errors", "trend", str(LOGS / "tail_compact.ndjson"), "--plot", env={"COLUMNS": "90"})
    assert result.exit_code == 0
    out = result.stdout
    assert "\x1b[" not in out
    assert "realtime_token: 6 requests in 3 windows; 429 2 (33.3%), 5xx 2 (33.3%, 1 of them error outcomes)" in out
    assert "realtime_token: 429 and 5xx rates per 5m window (UTC)" in out and "┌" in out
    chart = [line for line in out.splitlines() if "┤" in line or "│" in line]
    assert chart and max(len(line) for line in chart) <= 90


def test_chart_colour_follows_the_terminal_and_no_color(ctoops):
    path = str(LOGS / "tail_compact.ndjson")
    coloured = ctoops("errors", "trend", path, "--plot", env={"CLICOLOR_FORCE": "1", "COLUMNS": "90"})
    assert "\x1b[" in coloured.stdout
    plain = ctoops("errors", "trend", path, "--plot", env={"CLICOLOR_FORCE": "1", "NO_COLOR": "1", "COLUMNS": "90"})
    assert "\x1b[" not in plain.stdout


def test_with_json_the_chart_goes_to_stderr(ctoops):
    result = ctoops("errors", "trend", str(LOGS / "tail_compact.ndjson"), "--plot", "--format", "json")
    json.loads(result.stdout)
    assert "rates per 5m window" in result.stderr and "\x1b[" not in result.stderr


def test_a_live_pipe_is_read_as_events_arrive_and_ctrl_c_reports_what_came(tmp_path):
    env = {k: v for k, v in os.environ.items()}
    events = (LOGS / "tail_pretty_4space.json").read_bytes().split(b"}\n{")
    process = subprocess.Popen(
        [sys.executable, "-m", "ctoops", "errors", "trend", "-", "--format", "json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None
    process.stdin.write(b"}\n{".join(events[:9]) + b"}\n")  # the first nine events, like wrangler does
    process.stdin.flush()
    time.sleep(3)  # ample for start-up; the events are counted as they arrive
    assert process.poll() is None  # still reading, waiting for more
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    rows = json.loads(out)
    assert [(r["bucket"], r["requests"], r["status_429"]) for r in rows] == [
        ("cto_openai_proxy", 3, 0),
        ("realtime_token", 4, 2),
    ]
    assert b"interrupted" in err


def test_the_runbook_step_reads_the_given_logs(ctoops):
    passing = ctoops(
        "--sandbox",
        "runbook",
        "run",
        "-p",
        f'rates.sources=["{LOGS / "logpush"}"]',
        "-p",
        "rates.min_requests=1",
        "-p",
        "rates.max_429_rate=1",
        "-p",
        "rates.max_5xx_rate=1",
    )
    assert passing.exit_code == 0, passing.stdout + passing.stderr
    failing = ctoops(
        "--sandbox", "runbook", "run", "-p", f"rates.sources={LOGS / 'logpush'}", "-p", "rates.min_requests=1"
    )
    assert failing.exit_code == 1
    assert "over the 429/5xx thresholds, worst realtime_token 429 100.0% > 5.0%" in failing.stdout


def test_the_runbook_step_is_skipped_without_logs(ctoops, server, monkeypatch):
    from ctoops.checks import run_check
    from ctoops.runbook.operations import Context, errors_trend

    ((name, check),) = errors_trend(Context(backend=lambda: None, workspace="w", via="opencto"), {})
    result = run_check(name, check)
    assert result.skipped and "rates.sources" in result.detail


def test_the_result_is_a_pandas_frame_for_library_use():
    from ctoops.trends import analyze

    frame = analyze([str(LOGS / "tail_compact.ndjson")]).frame()
    assert list(frame.columns) == [
        "window_start",
        "bucket",
        "requests",
        "status_429",
        "status_5xx",
        "rate_429",
        "rate_5xx",
        "error_outcomes",
        "sampled",
        "sample_interval",
    ]
    assert str(frame["window_start"].dtype).startswith("datetime64") and str(frame["window_start"].dt.tz) == "UTC"
    assert frame.groupby("bucket")["requests"].sum().to_dict() == {"cto_openai_proxy": 6, "realtime_token": 6}


def test_json_that_is_not_an_object_is_told_from_text(ctoops, tmp_path):
    """``[1, 2, 3]``, ``5`` or ``null`` on a line of their own are JSON, just not records: they
    were counted as "not JSON"; text and torn records still are."""
    good = (LOGS / "tail_compact.ndjson").read_text().splitlines()
    mixed = good[:3] + ["[1, 2, 3]", "5", "null", "stray text", '{"outcome": "ok", "eventTi'] + good[3:]
    log = tmp_path / "mixed.ndjson"
    log.write_text("\n".join(mixed) + "\n")
    for args in ([str(log)], ["-"]):
        result = ctoops("errors", "trend", *args, "--format", "json", input=log.read_text())
        assert rows_of(result) == TAIL_5M
        where = args[0]
        assert (
            f"skipped 5 records: 3 JSON that is not an object (first at {where}:4, {where}:5, {where}:6); "
            f"2 not JSON (a torn record or a stray line) (first at {where}:7, {where}:8)"
        ) in result.stderr, result.stderr


def test_concatenated_captures_saved_with_a_byte_order_mark_count_every_record(ctoops, tmp_path):
    """``cat a.json b.json`` of captures saved with a BOM: the second BOM starts a line in
    the middle of the stream. Its record was lost and each of its lines counted as not JSON."""
    text = (LOGS / "tail_pretty_2space.json").read_text()
    one = tmp_path / "one.json"
    one.write_text("\ufeff" + text, encoding="utf-8")
    two = tmp_path / "two.json"
    two.write_bytes(one.read_bytes() * 2)
    single = rows_of(ctoops("errors", "trend", str(one), "--format", "json"))
    for args, stdin in (([str(two)], None), (["-"], two.read_text(encoding="utf-8"))):
        result = ctoops("errors", "trend", *args, "--format", "json", input=stdin)
        doubled = rows_of(result)
        assert [r[:2] for r in doubled] == [r[:2] for r in single]
        assert [r[2:5] for r in doubled] == [tuple(2 * v for v in r[2:5]) for r in single], result.stderr
        assert "not JSON" not in result.stderr


def test_a_line_of_nan_is_not_json(ctoops, tmp_path):
    good = (LOGS / "tail_compact.ndjson").read_text().splitlines()
    log = tmp_path / "nan.ndjson"
    log.write_text("\n".join([*good[:3], "NaN", "-Infinity", *good[3:]]) + "\n")
    result = ctoops("errors", "trend", str(log), "--format", "json")
    assert rows_of(result) == TAIL_5M
    assert f"2 not JSON (a torn record or a stray line) (first at {log}:4, {log}:5)" in result.stderr
