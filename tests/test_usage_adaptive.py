"""Adapt under pressure: a long pull completes whenever the API allows one request at a time.

A real HTTP server on 127.0.0.1 answers 429 when more than N requests are in flight (it
counts the overlap itself: no wall-clock assertions). ctoops lowers its window concurrency
on a 429 and raises it on success (ctoops.usage.adaptive, as the AWS CLI's adaptive retry
mode). The waits between tries go through ctoops' one wait, which the tests record
(``waits`` in conftest.py), never slept."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import usage_api
from bodies import openai_error
from fakeserver import Reply, Seen
from usage_api import usage

from ctoops.errors import OpenAIRejected, UpstreamError
from ctoops.usage.adaptive import AdaptiveLimit, is_throttle

ADMIN = "sk-admin-adaptiveTestKey0123456789"
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC).timestamp()
YEAR = ("--start", "2025-11-01", "--end", "2026-11-01")  # 365 days: 12 windows of 31


def data(kind, day, groups):
    return [usage(100, 10, 1, model="gpt-4o")]


class Crowded:
    """Answers 429 (rate_limit_exceeded) to a request that finds more than ``allowed`` in
    flight; otherwise holds it (60 ms) and answers the page. Records the overlap it saw."""

    def __init__(self, allowed: int, quota: bool = False, calm_after: int | None = None, hold: float = 0.06) -> None:
        self.allowed = allowed
        self.hold = hold
        self.quota = quota
        self.calm_after = calm_after  # from this request on, no 429 any more
        self.lock = threading.Lock()
        self.in_flight = 0
        self.seen = 0
        self.refused = 0
        self.served_overlap: list[tuple[int, int]] = []  # (request number, requests in flight when served)

    def __call__(self, seen: Seen) -> Reply:
        with self.lock:
            self.seen += 1
            number = self.seen
            self.in_flight += 1
            crowded = self.in_flight > self.allowed and (self.calm_after is None or number < self.calm_after)
            if crowded or self.quota:
                self.in_flight -= 1
                self.refused += 1
                if self.quota:
                    return Reply(
                        429,
                        json=openai_error(
                            "You exceeded your current quota", "insufficient_quota", "insufficient_quota"
                        ),
                    )
                return Reply(
                    429, json=openai_error("Rate limit reached for requests", "rate_limit_exceeded", "requests")
                )
            self.served_overlap.append((number, self.in_flight))
        try:
            time.sleep(self.hold)  # the server holds the request, so concurrent ones overlap
            return Reply(json=usage_api.page_for(seen, "completions", data))
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture
def api(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN)
    monkeypatch.setattr("ctoops.usage.run.now", lambda: NOW)
    return server


def test_a_long_pull_completes_when_the_api_allows_one_request_at_a_time(ctoops, api, waits):
    crowded = Crowded(allowed=1)
    api.route("GET", "/v1/organization/usage/completions", crowded)
    result = ctoops("--via", "openai", "--max-retries", "0", "usage", "pull", *YEAR, "--format", "json")
    assert result.exit_code == 0, result.stderr
    import json

    rows = json.loads(result.stdout)
    assert len(rows) == 365 and sum(r["input_tokens"] for r in rows) == 365 * 100  # nothing lost
    assert crowded.refused >= 1 and max(n for _, n in crowded.served_overlap) == 1
    assert len(crowded.served_overlap) == 12  # every window served exactly once
    assert "the API answered 429: 2 requests at a time (was 4)" in result.stderr
    assert (
        f"the API answered 429 {crowded.refused} time(s): the pull slowed to 1 request(s) at a time and completed"
        in (result.stderr)
    )
    assert len(waits) == crowded.refused and all(0 < w <= 8 for w in waits)


def test_concurrency_climbs_back_on_success(ctoops, api, waits):
    # a burst of pressure for the first 6 requests of a two-year pull (24 windows), then calm
    crowded = Crowded(allowed=1, calm_after=7)
    api.route("GET", "/v1/organization/usage/completions", crowded)
    result = ctoops(
        "--via", "openai", "--max-retries", "0", "usage", "pull", "--start", "2024-11-01", "--end", "2026-11-01"
    )
    assert result.exit_code == 0, result.stderr
    import re

    lowest = int(re.search(r"the pull slowed to (\d+) request", result.stderr).group(1))
    assert crowded.refused >= 1 and lowest < 4
    later = [n for number, n in crowded.served_overlap if number >= 7]
    assert max(later) > lowest and max(later) >= 3  # back up toward --concurrency 4 once the 429s stopped
    assert len(crowded.served_overlap) == 24


def test_a_quota_429_is_not_a_pace_problem(ctoops, api, waits):
    crowded = Crowded(allowed=4, quota=True)
    api.route("GET", "/v1/organization/usage/completions", crowded)
    result = ctoops("--via", "openai", "usage", "pull", *YEAR)
    assert result.exit_code == 5, result.stderr
    assert "insufficient_quota" in result.stderr and "at a time" not in result.stderr
    assert crowded.seen <= 4 and waits == []  # one try per window started, none sent again


def test_a_429_asking_for_a_wait_over_the_cap_is_not_retried_by_the_pull_either(ctoops, api, waits):
    api.route(
        "GET",
        "/v1/organization/usage/completions",
        Reply(
            429,
            json=openai_error("Rate limit reached", "rate_limit_exceeded", "requests"),
            headers={"retry-after": "3600"},
        ),
    )
    result = ctoops("--via", "openai", "usage", "pull", *YEAR)
    assert result.exit_code == 5, result.stderr
    assert "not retried: it asks to wait" in result.stderr and "at a time" not in result.stderr
    assert len(api.seen("/v1/organization/usage/completions")) <= 4 and waits == []


def test_refused_even_alone_gives_up_with_exit_5(ctoops, api, waits):
    crowded = Crowded(allowed=0)
    api.route("GET", "/v1/organization/usage/completions", crowded)
    result = ctoops("--via", "openai", "--max-retries", "0", "usage", "pull", *YEAR)
    assert result.exit_code == 5, result.stderr
    assert "still answered 429 with one request at a time, 4 times" in result.stderr
    assert crowded.seen < 40 and 3 <= len(waits) < 40  # bounded: it stops once alone and still refused


def test_the_http_layers_retries_and_the_adaptive_limit_work_together(server, waits):
    """Library level: the HTTP client's own retries (its sleep seam), then the pull's."""
    from ctoops.backends.openai import OpenAIBackend, OpenAIErrors
    from ctoops.dates import Range
    from ctoops.http import HttpClient
    from ctoops.usage.pull import pull
    from ctoops.usage.query import Query

    crowded = Crowded(allowed=1)
    server.route("GET", "/v1/organization/usage/completions", crowded)
    http_waits: list[float] = []
    client = HttpClient(
        server.url + "/v1", errors=OpenAIErrors(), token=ADMIN, timeout=5, max_retries=1, sleep=http_waits.append
    )
    start = int(datetime(2025, 11, 1, tzinfo=UTC).timestamp())
    events: list[str] = []
    pulled = pull(
        OpenAIBackend(lambda admin: client),
        Query("completions", Range(start, start + 365 * 86400)),
        now=NOW,
        concurrency=4,
        on_event=events.append,
    )
    client.close()
    assert len(pulled.rows) == 365 and pulled.requests == 12
    assert http_waits  # the client retried some 429s itself first
    assert pulled.throttles >= 1 and pulled.lowest_concurrency < 4 and events


def test_the_limit_halves_once_per_signal_and_adds_one_per_round():
    changes: list[tuple[int, int]] = []
    limit = AdaptiveLimit(8, lambda old, new: changes.append((old, new)))
    slots = [limit.acquire() for _ in range(8)]  # eight requests out under the same limit
    for epoch, _ in slots[:3]:
        limit.throttled(epoch)  # three 429s from one burst: one signal
    assert limit.limit == 4 and changes == [(8, 4)]
    for _ in slots[3:]:
        limit.succeeded()
    epoch, _ = limit.acquire()
    limit.throttled(epoch)
    assert limit.limit == 2
    epoch, _ = limit.acquire()
    limit.throttled(epoch)
    epoch, _ = limit.acquire()
    limit.throttled(epoch)
    assert limit.limit == 1 and limit.lowest == 1  # never below one
    for expected in (2, 2, 3, 3, 3, 4):
        limit.acquire()
        limit.succeeded()
        assert limit.limit == expected
    assert limit.in_flight == 0 and limit.throttles == 6


@pytest.mark.parametrize(
    ("error", "throttle"),
    [
        (OpenAIRejected("x", status=429, code="rate_limit_exceeded", type="requests", openai_message="x"), True),
        (OpenAIRejected("x", status=429, code=None, type="tokens", openai_message="x"), True),
        (
            OpenAIRejected("x", status=429, code="insufficient_quota", type="insufficient_quota", openai_message="x"),
            False,
        ),
        (OpenAIRejected("x", status=429, code=None, type="insufficient_quota", openai_message="x"), False),
        (OpenAIRejected("x", status=429, code="project_spend_limit_exceeded", type="x", openai_message="x"), False),
        (
            OpenAIRejected(
                "x (after 1 attempt; not retried: it asks to wait 1h0m0s)",
                status=429,
                code=None,
                type=None,
                openai_message="x",
            ),
            False,
        ),
        (UpstreamError("500", status=500), False),
        (KeyboardInterrupt(), False),
    ],
)
def test_which_answers_ask_for_a_slower_pace(error, throttle):
    assert is_throttle(error) is throttle
