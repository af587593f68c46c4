"""One set of record rules on every reading path: DuckDB (files and chunks) and the record
reader give the same counts for every spelling they accept, and every record one of them
would skip is handed to the record reader, which counts and locates it.

Expected instants are worked out by hand from 2026-09-29T07:00:00Z = 1790665200000 ms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctoops.trends.duck import Engine
from ctoops.trends.layout import LOGPUSH_KEYS, TAIL_KEYS, Layout
from ctoops.trends.records import Params, epoch_ms, read_chunk

T0 = 1790665200000  # 2026-09-29T07:00:00Z
AT = T0 + 1250  # 07:00:01.250
PARAMS = Params(
    300_000, None, None, ("/api/v1/realtime/token", "/api/v1/cto/openai/models", "/api/v1/cto/openai/usage")
)
LOGPUSH = Layout("logpush", False, dict(LOGPUSH_KEYS))
TAIL = Layout("tail", False, dict(TAIL_KEYS))

GOOD_TIMESTAMPS = [
    (1790665201, T0 + 1000),  # seconds
    (AT, AT),  # milliseconds
    (AT * 1000, AT),  # microseconds
    (AT * 1_000_000, AT),  # nanoseconds (Logpush's unixnano)
    (str(AT), AT),  # the digits as a string
    ("2026-09-29T07:00:01Z", T0 + 1000),  # no fraction
    ("2026-09-29T07:00:01.2Z", T0 + 1200),
    ("2026-09-29T07:00:01.25Z", AT),
    ("2026-09-29T07:00:01.250Z", AT),  # rfc3339ms
    ("2026-09-29T07:00:01.250999999Z", AT),  # rfc3339ns: cut to ms, not rounded
    ("2026-09-29T07:00:01.999999999Z", T0 + 1999),
    ("2026-09-29t07:00:01.250z", AT),  # RFC 3339 allows lower case
    ("2026-09-29 07:00:01.250Z", AT),  # and a space
    ("2026-09-29T09:00:01.250+02:00", AT),  # an offset
    ("2026-09-29T01:30:01.250-05:30", AT),
    ("2026-09-29T07:00:01.250+00:00", AT),
]
BAD_TIMESTAMPS = [
    "2026-09-29T07:00:01",  # no zone: ambiguous
    "2026-09-29T24:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-09-29T07:00:60Z",
    "29/09/2026 07:00",
    "2026-09-29T07:00:01.250+24:00",
    1790665201.5,  # not an integer
    "0123",
    " 1790665201250",
    -5,
    0,
    True,
    "",
    {"ms": AT},
    [AT],
    2**64,
]


def logpush(ts, status=200, url="https://api.example.test/api/v1/realtime/token", method="POST", **extra) -> dict:
    event = {"RayID": "0", "Request": {"URL": url, "Method": method}}
    if status != "absent":
        event["Response"] = {"Status": status}
    record = {"EventTimestampMs": ts, "EventType": "fetch", "Outcome": "ok", "Event": event}
    record.update(extra)
    return record


def both(tmp_path: Path, records: list, layout: Layout = LOGPUSH, params: Params = PARAMS):
    """(DuckDB's groups or None, the record reader's groups, its skips) for one chunk."""
    path = tmp_path / "chunk.ndjson"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    duck = Engine().chunk(str(path), layout, params)
    groups, stats, _ = read_chunk(path.read_bytes(), layout, "chunk", 1, params, None)
    return duck, groups, stats


@pytest.mark.parametrize(("value", "expected"), GOOD_TIMESTAMPS, ids=[str(v) for v, _ in GOOD_TIMESTAMPS])
def test_every_timestamp_spelling_is_the_same_instant_on_both_paths(tmp_path, value, expected):
    assert epoch_ms(value) == expected
    duck, groups, stats = both(tmp_path, [logpush(value)])
    assert stats.malformed == 0
    assert duck is not None and sorted(duck) == sorted(groups)
    ((kind, window, *_rest, low, high),) = groups
    assert (kind, window, low, high) == ("request", T0 // 1000, expected, expected)


@pytest.mark.parametrize("value", BAD_TIMESTAMPS, ids=[repr(v) for v in BAD_TIMESTAMPS])
def test_a_timestamp_no_path_can_read_is_counted_and_located(tmp_path, value):
    assert epoch_ms(value) is None
    duck, groups, stats = both(tmp_path, [logpush(AT), logpush(value), logpush(AT)])
    assert duck is None  # DuckDB hands the chunk to the record reader
    assert stats.skipped == {"timestamp": 1} and stats.where["timestamp"] == ["chunk:2"]
    assert [g[6] for g in groups if g[0] == "request"] == [2]


@pytest.mark.parametrize("record", [{"EventType": "fetch"}, logpush(None)], ids=["missing", "null"])
def test_no_timestamp(tmp_path, record):
    duck, _, stats = both(tmp_path, [logpush(AT), record])
    assert duck is None and stats.skipped == {"no-timestamp": 1} and stats.where["no-timestamp"] == ["chunk:2"]


@pytest.mark.parametrize(("status", "counted"), [(429, 429), ("429", 429), (None, None), ("absent", None)])
def test_statuses_both_paths_read(tmp_path, status, counted):
    duck, groups, stats = both(tmp_path, [logpush(AT, status)])
    assert stats.malformed == 0 and duck is not None and sorted(duck) == sorted(groups)
    assert groups[0][4] == counted


@pytest.mark.parametrize("status", [429.0, "429.5", True, "", "4xx", {"code": 429}, [429], 2**64])
def test_a_status_that_is_not_an_integer_is_skipped_not_guessed(tmp_path, status):
    duck, groups, stats = both(tmp_path, [logpush(AT, status), logpush(AT, 200)])
    assert duck is None and stats.skipped == {"status": 1} and stats.where["status"] == ["chunk:1"]
    assert sum(g[6] for g in groups if g[0] == "request") == 1


def test_kinds_agree_on_a_mixed_clean_chunk(tmp_path):
    records = [
        logpush(AT, 429),
        logpush(AT + 1, 503),
        logpush(AT + 2, "absent", Outcome="exception"),
        logpush(AT + 3, 200, url="https://api.example.test/api/v1/cto/openai/usage?start=2026-09-28"),
        logpush(AT + 4, 204, method="OPTIONS"),
        logpush(AT + 5, 404, url="https://api.example.test/api/v1/health"),
        {"EventTimestampMs": AT + 6, "EventType": "scheduled", "Outcome": "ok", "Event": {"Cron": "*/5 * * * *"}},
        logpush(AT + 7, 200, url=123),  # a URL of the wrong type: a request in no bucket on both paths
        logpush(T0 + 600_000, 200),  # the next window
    ]
    duck, groups, stats = both(tmp_path, records)
    assert stats.malformed == 0 and stats.records == len(records)
    assert duck is not None and sorted(duck, key=repr) == sorted(groups, key=repr)


def test_the_range_is_applied_alike(tmp_path):
    params = Params(PARAMS.window_ms, AT + 1, AT + 3, PARAMS.candidates)
    records = [logpush(AT + i) for i in range(5)]
    duck, groups, _ = both(tmp_path, records, params=params)
    assert duck is not None and sorted(duck) == sorted(groups)
    kinds = {g[0]: g[6] for g in groups}
    assert kinds == {"request": 2, "outside": 3}  # [since, until): AT+1 and AT+2


def test_a_request_without_a_url_is_skipped_and_said(tmp_path):
    no_url = logpush(AT)
    del no_url["Event"]["Request"]["URL"]
    duck, _, stats = both(tmp_path, [no_url])
    assert duck is None and stats.skipped == {"no-url": 1}


def test_tail_sampling_notices_go_to_the_record_reader_and_take_the_window_before_them(tmp_path):
    def tail(ts, status=200):
        return {
            "outcome": "ok",
            "eventTimestamp": ts,
            "event": {
                "request": {"url": "https://x/api/v1/realtime/token", "method": "POST"},
                "response": {"status": status},
            },
        }

    notice = {"event": {"type": "overload", "message": "Tail is currently in sampling mode"}}
    duck, groups, stats = both(tmp_path, [tail(T0 + 600_000), notice, tail(T0)], layout=TAIL)
    assert duck is None and stats.malformed == 0
    assert ("notice:overload", (T0 + 600_000) // 1000) in {(g[0], g[1]) for g in groups}
