"""The retry decision as a table: (status, headers, what the body meant, attempt) -> decision.
``ctoops.retry.decide`` is pure; the jitter is pinned so every wait is exact."""

from __future__ import annotations

import pytest

from ctoops.retry import ApiError, backoff, decide, duration

NOW = 1795262400.0  # 2026-11-21T12:00:00Z


def no_jitter() -> float:
    return 0.0


def err(status: int, **kw) -> ApiError:
    return ApiError(status, kw.pop("origin", "OpenAI"), **kw)


QUOTA = dict(code="insufficient_quota", type="insufficient_quota", quota=True)


@pytest.mark.parametrize(
    ("name", "status", "headers", "error", "attempt", "retry", "wait", "reason"),
    [
        ("503 backs off", 503, {}, err(503), 1, True, 0.5, None),
        ("second backoff doubles", 500, {}, err(500), 2, True, 1.0, None),
        ("backoff is capped at 8 s", 502, {}, err(502), 9, True, 8.0, None),
        ("408 is retried", 408, {}, err(408), 1, True, 0.5, None),
        ("409 is retried", 409, {}, err(409), 1, True, 0.5, None),
        ("400 is final", 400, {}, err(400), 1, False, 0.0, None),
        ("404 is final", 404, {}, err(404), 1, False, 0.0, None),
        ("401 is final", 401, {}, err(401), 1, False, 0.0, None),
        ("Retry-After seconds", 429, {"Retry-After": "7"}, err(429), 1, True, 7.0, None),
        ("Retry-After as a float", 429, {"retry-after": "2.5"}, err(429), 1, True, 2.5, None),
        (
            "retry-after-ms comes first",
            429,
            {"retry-after-ms": "250", "retry-after": "9"},
            err(429),
            1,
            True,
            0.25,
            None,
        ),
        (
            "Retry-After as an HTTP date",
            503,
            {"Retry-After": "Sat, 21 Nov 2026 12:00:30 GMT"},
            err(503),
            1,
            True,
            30.0,
            None,
        ),
        (
            "the worker's body-only wait",
            429,
            {},
            err(429, origin="the OpenCTO worker", code="QUOTA_EXCEEDED", body_wait=17),
            1,
            True,
            17.0,
            None,
        ),
        (
            "OpenAI's 'try again in' text",
            429,
            {},
            err(429, code="rate_limit_exceeded", body_wait=26.604),
            1,
            True,
            26.604,
            None,
        ),
        (
            "the exhausted limit's reset duration",
            429,
            {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "1.5s",
                "x-ratelimit-remaining-tokens": "90",
                "x-ratelimit-reset-tokens": "6m0s",
            },
            err(429),
            1,
            True,
            1.5,
            None,
        ),
        ("no signal: backoff", 429, {}, err(429), 1, True, 0.5, None),
        (
            "quota: never",
            429,
            {"retry-after": "1"},
            err(429, **QUOTA),
            1,
            False,
            0.0,
            "a quota or billing limit, which no retry can fix",
        ),
        (
            "quota wrapped by the worker: never",
            429,
            {},
            err(429, origin="OpenAI, via the worker", **QUOTA),
            1,
            False,
            0.0,
            "a quota or billing limit, which no retry can fix",
        ),
        (
            "a final answer: never",
            500,
            {},
            err(500, code="CONFIG_ERROR", final="not configured"),
            1,
            False,
            0.0,
            "not configured",
        ),
        (
            "x-should-retry false",
            503,
            {"x-should-retry": "false"},
            err(503),
            1,
            False,
            0.0,
            "the server said not to retry (x-should-retry: false)",
        ),
        ("x-should-retry true on a 400", 400, {"x-should-retry": "true"}, err(400), 1, True, 0.5, None),
        # "now" is no reason to hammer a failing server: the backoff, as openai-python does
        ("Retry-After 0 backs off", 429, {"retry-after": "0"}, err(429), 2, True, 1.0, None),
        ("a negative Retry-After backs off", 503, {"retry-after": "-5"}, err(503), 1, True, 0.5, None),
        (
            "a Retry-After date already past backs off",
            429,
            {"retry-after": "Sat, 21 Nov 2026 11:59:00 GMT"},
            err(429),
            1,
            True,
            0.5,
            None,
        ),
        ("retry-after-ms 0 backs off", 503, {"retry-after-ms": "0"}, err(503), 3, True, 2.0, None),
        (
            "minutes to one decimal",
            429,
            {"retry-after": "150"},
            err(429),
            1,
            False,
            150.0,
            "it asks to wait 150s (2.5 min), more than ctoops waits (60s)",
        ),
        (
            "a wait over the cap is not waited",
            429,
            {"retry-after": "600"},
            err(429),
            1,
            False,
            600.0,
            "it asks to wait 600s (10 min), more than ctoops waits (60s)",
        ),
    ],
)
def test_decide(name, status, headers, error, attempt, retry, wait, reason):
    decision = decide(status, headers, error, attempt, now=NOW, jitter=no_jitter)
    assert (decision.retry, round(decision.wait, 3), decision.reason) == (retry, wait, reason), name


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("12", 12.0),
        ("", None),
        ("soon", None),
        ("5x", None),
    ],
)
def test_duration_strings(text, seconds):
    assert duration(text) == seconds


def test_backoff_jitter_only_shortens():
    assert backoff(1, lambda: 1.0) == 0.375 and backoff(1, lambda: 0.0) == 0.5
