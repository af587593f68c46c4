"""The realtime_session check: one shared mint, the probe's figures in its data, and what it
does when the mint failed (skip when realtime_token reports it, fail otherwise)."""

from __future__ import annotations

import threading

import pytest

from ctoops.backends.base import RealtimeSecret
from ctoops.checks import Outcome, run_check, run_checks
from ctoops.checks.realtime import SessionOptions, SharedMint, session_check
from ctoops.errors import RateLimited
from ctoops.sandbox.realtime import sandbox_connector

SECRET = "ek_sandbox0123456789abcdef012345"
OPTIONS = SessionOptions("https://sandbox.openai.invalid/v1", "gpt-realtime-1.5", sandbox_connector())


def minter(value: str | None = SECRET, error: Exception | None = None):
    calls: list[int] = []

    def mint() -> RealtimeSecret:
        calls.append(1)
        if error is not None:
            raise error
        return RealtimeSecret(value, 4102444800, "gpt-realtime-1.5", "worker")

    return mint, calls


def test_every_check_of_a_run_shares_one_mint():
    mint, calls = minter()
    shared = SharedMint(mint)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(shared.get())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 8 and all(g is got[0] for g in got)


def test_a_passing_session_reports_mint_and_every_stage():
    mint, _ = minter()
    result = run_check("realtime_session", session_check(SharedMint(mint), OPTIONS, mint_reported=True))
    assert result.ok, result.detail
    assert result.data["secretHint"] == "****2345" and result.data["mintMs"] >= 0
    assert result.data["sessionId"] == "sess_sandbox" and result.data["sessionModel"] == "gpt-realtime-1.5"
    assert result.data["totalMs"] >= result.data["upgradeMs"]
    assert "no tokens used" in result.detail and SECRET not in result.detail


def test_roundtrip_detail_names_the_tokens():
    mint, _ = minter()
    options = SessionOptions(OPTIONS.base_url, OPTIONS.model, OPTIONS.connect, roundtrip=True)
    result = run_check("realtime_session", session_check(SharedMint(mint), options, mint_reported=True))
    assert result.ok and "31 tokens" in result.detail and result.data["total_tokens"] == 31


def test_a_failed_mint_is_skipped_when_realtime_token_reports_it_and_fails_otherwise():
    mint, calls = minter(error=RateLimited("the worker's realtime_token bucket is exhausted"))
    shared = SharedMint(mint)

    def token_check() -> Outcome:  # stands for realtime_token, which judges the same mint
        return Outcome(f"minted {shared.get().secret!r}")

    token, session = run_checks(
        [
            ("realtime_token", token_check),
            ("realtime_session", session_check(shared, OPTIONS, mint_reported=True)),
        ]
    )
    assert len(calls) == 1
    assert token.exit_code == 5 and session.skipped and "realtime_token" in session.detail
    alone = run_check(
        "realtime_session", session_check(SharedMint(minter(error=RateLimited("429"))[0]), OPTIONS, mint_reported=False)
    )
    assert not alone.ok and alone.exit_code == 5


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_secret_means_not_connected(value):
    mint, _ = minter(value)
    skipped = run_check("realtime_session", session_check(SharedMint(mint), OPTIONS, mint_reported=True))
    assert skipped.skipped
    failed = run_check("realtime_session", session_check(SharedMint(minter(value)[0]), OPTIONS, mint_reported=False))
    assert not failed.ok and failed.exit_code == 1 and "no client secret" in failed.detail


def test_a_failed_probe_keeps_the_mint_figures_and_the_stage():
    mint, _ = minter()
    options = SessionOptions(OPTIONS.base_url, OPTIONS.model, sandbox_connector(frozenset({"realtime-invalid-key"})))
    result = run_check("realtime_session", session_check(SharedMint(mint), options, mint_reported=True))
    assert not result.ok and result.exit_code == 1
    assert result.data["stage"] == "session.created" and result.data["closeCode"] == 3000
    assert result.data["secretHint"] == "****2345" and "mintMs" in result.data
    assert result.data["errorCode"] == "invalid_api_key"


def test_waiting_for_another_checks_mint_is_not_latency_when_the_server_asked_for_it():
    from ctoops.activity import acting_for, current

    entered, release = threading.Event(), threading.Event()

    def mint() -> RealtimeSecret:  # the minting check: the server asks it to wait 5 s
        act = current()
        assert act is not None
        act.waited_s += 5.0
        entered.set()
        release.wait(timeout=30)
        return RealtimeSecret(SECRET, 4102444800, "gpt-realtime-1.5", "worker")

    shared = SharedMint(mint)
    credited: dict[str, float] = {}

    def run(name: str, ready: threading.Event | None = None) -> None:
        with acting_for(name) as act:
            if ready is not None:
                ready.set()
            shared.get()
            credited[name] = act.waited_s

    first = threading.Thread(target=run, args=("realtime_token",))
    first.start()
    entered.wait(timeout=30)
    waiting = threading.Event()
    second = threading.Thread(target=run, args=("realtime_session", waiting))
    second.start()
    waiting.wait(timeout=30)
    release.set()
    first.join()
    second.join()
    assert credited["realtime_token"] == 5.0
    assert 0 < credited["realtime_session"] < 5.0  # the time it really waited, no more than the server's ask
    alone = SharedMint(minter()[0])
    with acting_for("x") as act:
        alone.get()
        alone.get()  # a cached answer with no server wait credits nothing
    assert act.waited_s == 0
