"""The live tail against a loopback Cloudflare (REST on 127.0.0.1, the trace-v1 WebSocket on
127.0.0.1): events, sampling notices, a close, a silent stall, expiry, giving up, and the
whole `errors trend --source live` run ended by Ctrl-C. No real backoff is waited for
(``sleep`` is a seam); the stall test uses a 50 ms ping, the only time it spends."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from cf_tail_server import TailServer, notice
from cf_traffic import ACCOUNT, events, tail_ndjson
from fakeserver import FakeServer, Reply

TOKEN = "cf-test-token-0000000000000000"
CLIENTS: list[Any] = []


@pytest.fixture(autouse=True)
def close_clients():
    yield
    while CLIENTS:
        CLIENTS.pop().close()


def tail_objects(items) -> list[dict[str, Any]]:
    return [json.loads(line) for line in tail_ndjson(items).decode().splitlines()]


@pytest.fixture
def rest(monkeypatch):
    srv = FakeServer()
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("CLOUDFLARE_BASE_URL", srv.url + "/client/v4")
    yield srv
    srv.close()


def stream_for(rest_url: str, **kw: Any):
    """A TailStream on the loopback API, with no real waiting between attempts."""
    from ctoops.cloudflare.api import CloudflareApi, CloudflareErrors
    from ctoops.cloudflare.settings import CloudflareSettings, Setting
    from ctoops.cloudflare.tail import TailApi, TailStream
    from ctoops.cloudflare.target import Target
    from ctoops.http import HttpClient

    http = HttpClient(rest_url + "/client/v4", errors=CloudflareErrors(), token=TOKEN, timeout=5, max_retries=0)
    CLIENTS.append(http)
    settings = CloudflareSettings(
        Setting(TOKEN, "test"),
        Setting(ACCOUNT, "test"),
        Setting(None, "-"),
        Setting("opencto-api", "test"),
        rest_url + "/client/v4",
        "test",
        "api.opencto.works",
    )
    notes: list[str] = []
    waits: list[float] = []
    options = {"notify": notes.append, "sleep": waits.append, "recv_timeout": 0.02, **kw}
    stream = TailStream(TailApi(Target(settings, CloudflareApi(http))), **options)
    return stream, notes, waits


def read_until(stream, count: int, timeout: float = 10) -> list[str]:
    got: list[str] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def on_message(message: str) -> None:
        got.append(message)
        if len(got) >= count:
            stop.set()

    def run() -> None:
        try:
            stream.run(on_message, stop)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    stop.set()
    thread.join(5)
    if errors:
        raise errors[0]
    return got


def test_events_and_notices_arrive_in_order_and_the_tail_is_deleted(rest):
    sent = tail_objects(events()[:5])
    script = [
        ("event", sent[0]),
        ("event", notice("overload", sent[1]["eventTimestamp"])),
        *[("event", e) for e in sent[1:]],
    ]
    server = TailServer(rest, [script])
    stream, _, _ = stream_for(rest.url)
    got = read_until(stream, 6)
    server.close()
    assert [json.loads(m) for m in got] == [sent[0], notice("overload", sent[1]["eventTimestamp"]), *sent[1:]]
    assert json.loads(server.created[0]) == {"filters": []}
    assert server.subprotocols == ["trace-v1"] and json.loads(server.first_messages[0]) == {"debug": False}
    assert server.deleted == ["tail1"] and stream.coverage.gaps == []
    assert rest.seen()[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_a_close_reconnects_with_a_new_tail_and_the_gap_is_recorded(rest):
    sent = tail_objects(events()[:4])
    server = TailServer(
        rest, [[("event", sent[0]), ("event", sent[1]), ("close", 1001)], [("event", sent[2]), ("event", sent[3])]]
    )
    stream, notes, waits = stream_for(rest.url)
    got = read_until(stream, 4)
    server.close()
    assert [json.loads(m) for m in got] == sent
    assert len(server.created) == 2 and server.deleted == ["tail1", "tail2"]
    assert waits == [1]  # the first of wrangler's 1, 2, 4, 8, 16 s, not slept for real here
    gaps = stream.gaps()
    assert len(gaps) == 1 and "closed by Cloudflare with code 1001" in gaps[0].why
    assert gaps[0].end_ms >= gaps[0].start_ms
    assert "reconnecting (attempt 1 of 5)" in notes[0]


def test_a_silent_stall_is_noticed_by_its_missing_pong(rest):
    sent = tail_objects(events()[:2])
    server = TailServer(rest, [[("event", sent[0]), ("stall",)], [("event", sent[1])]])
    stream, _, _ = stream_for(rest.url, ping_interval=0.05, ping_timeout=0.1)
    got = read_until(stream, 2)
    server.close()
    assert [json.loads(m) for m in got] == sent
    assert len(server.created) == 2
    assert "no pong within the ping timeout" in stream.gaps()[0].why


def test_the_tail_is_recreated_before_it_expires(rest):
    sent = tail_objects(events()[:3])
    clock = [1795262400.0]  # 12:00:00Z; the first tail expires at 12:10, renewed 5 min ahead
    server = TailServer(
        rest,
        [[("event", e) for e in sent[:2]], [("event", sent[2])]],
        expiries=["2026-11-21T12:10:00Z", "2026-11-21T18:00:00Z"],
    )
    stream, _, waits = stream_for(rest.url, clock=lambda: clock[0])
    got: list[str] = []
    stop = threading.Event()

    def on_message(message: str) -> None:
        got.append(message)
        if len(got) == 2:
            clock[0] += 301  # 12:05:01: inside the margin, while delivery would still look fine
        if len(got) == 3:
            stop.set()

    thread = threading.Thread(target=stream.run, args=(on_message, stop), daemon=True)
    thread.start()
    thread.join(10)
    stop.set()
    server.close()
    assert [json.loads(m) for m in got] == sent
    assert stream.coverage.renewals == 1 and waits == []  # a renewal is no failure: no backoff
    assert server.deleted == ["tail1", "tail2"]
    assert stream.gaps()[0].why == "renewing the tail before it expires"


def test_gives_up_after_five_failed_attempts(rest):
    from ctoops.errors import UpstreamError

    server = TailServer(rest, [[("close", 1011)]] * 6)
    stream, _, waits = stream_for(rest.url)
    with pytest.raises(UpstreamError, match="failed 6 times in a row"):
        read_until(stream, 1)
    server.close()
    assert waits == [1, 2, 4, 8, 16] and len(server.created) == 6


def test_a_token_without_tail_permission_stops_at_once(rest):
    from ctoops.errors import NotAuthenticated

    rest.route(
        "POST",
        f"/client/v4/accounts/{ACCOUNT}/workers/scripts/opencto-api/tails",
        Reply(
            403,
            json={
                "success": False,
                "errors": [{"code": 10000, "message": "Authentication error"}],
                "messages": [],
                "result": None,
            },
        ),
    )
    stream, _, waits = stream_for(rest.url)
    with pytest.raises(NotAuthenticated, match=r"\[code 10000\] Authentication error"):
        read_until(stream, 1)
    assert waits == []


def test_live_trend_counts_like_the_file_marks_gaps_and_ctrl_c_gives_the_verdict(ctoops, rest, monkeypatch, tmp_path):
    items = events()
    sent = tail_objects(items)
    half = len(sent) // 2
    first = [("event", e) for e in sent[:half]]
    first.insert(3, ("event", notice("overload", sent[2]["eventTimestamp"])))
    first.insert(6, ("event", notice("overload-stop", sent[4]["eventTimestamp"])))
    server = TailServer(rest, [[*first, ("raw", "{torn"), ("close", 1001)], [("event", e) for e in sent[half:]]])

    from ctoops import liveview

    path = tmp_path / "tail.ndjson"
    path.write_bytes(tail_ndjson(items))
    expected = json.loads(ctoops("errors", "trend", str(path), "--window", "1h", "--format", "json").stdout)
    total = sum(r["requests"] for r in expected)
    deadline = time.monotonic() + 30  # a safety net: the assertions below say what was missing

    def update(self, snapshot):  # the user presses Ctrl-C once everything has arrived
        arrived = sum(r["requests"] for r in snapshot.rows)
        if server.done.is_set() and arrived >= total or time.monotonic() > deadline:
            raise KeyboardInterrupt

    monkeypatch.setattr(liveview.LiveView, "update", update)
    result = ctoops(
        "errors", "trend", "--source", "live", "--window", "1h", "--format", "json", "--max-5xx-rate", "0.5"
    )
    server.close()
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    keys = ("window_start", "bucket", "requests", "status_429", "status_5xx", "error_outcomes")
    assert [tuple(r[k] for k in keys) for r in rows] == [tuple(r[k] for k in keys) for r in expected]
    assert all(r["sampled"] for r in rows if r["window_start"] == "2026-11-21T09:00:00Z")  # the overload notice
    assert (
        "skipped 1 record: 1 not JSON (a torn record or a stray line) (first at " in result.stderr
    )  # the torn message, counted with its place
    assert "tail disconnected from" in result.stderr and "closed by Cloudflare with code 1001" in result.stderr
    assert "interrupted" in result.stderr
    assert server.deleted == ["tail1", "tail2"]
    assert TOKEN not in result.all
