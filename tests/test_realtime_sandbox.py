"""The sandbox's in-process Realtime session, driven by the real probe: a good session, a round
trip, and each fault the sandbox names, with the verdict a real server would get."""

from __future__ import annotations

import socket

import pytest

from ctoops.errors import CheckFailed, RateLimited, UpstreamError
from ctoops.realtime_probe import probe
from ctoops.realtime_protocol import websocket_url
from ctoops.sandbox.realtime import FAULTS, OTHER_MODEL, sandbox_connector

SECRET = "ek_sandbox0123456789abcdef012345"
URL = websocket_url("https://sandbox.openai.invalid/v1", "gpt-realtime-1.5")


def run(*faults: str, secret: str = SECRET, **kwargs):
    return probe(URL, secret, "gpt-realtime-1.5", connect=sandbox_connector(frozenset(faults)), **kwargs)


@pytest.fixture
def no_sockets(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the sandbox opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_good_session_and_a_round_trip_with_no_socket(no_sockets):
    plain = run()
    assert plain.session_id == "sess_sandbox" and plain.model == "gpt-realtime-1.5" and plain.usage is None
    trip = run(roundtrip=True)
    assert trip.deltas == 2 and trip.usage is not None and trip.usage["total_tokens"] == 31
    header = run(auth="header")
    assert header.subprotocol is None and header.auth == "header"


@pytest.mark.parametrize(
    ("fault", "cls", "words"),
    [
        ("realtime-upgrade-403", CheckFailed, "realtime upgrade: upgrade refused: HTTP 403 Forbidden"),
        ("realtime-invalid-key", CheckFailed, "invalid_api_key: Incorrect API key provided.; then close 3000"),
        ("realtime-beta-disabled", CheckFailed, "beta_api_shape_disabled"),
        ("realtime-closed", CheckFailed, "closed the connection before session.created: close 1008"),
        ("realtime-silent", UpstreamError, "realtime session.created: timed out"),
        ("realtime-model-mismatch", CheckFailed, f"session.created reports {OTHER_MODEL!r}"),
    ],
)
def test_each_fault_gets_the_verdict_a_real_server_would(no_sockets, fault, cls, words):
    with pytest.raises(cls) as caught:
        run(fault)
    assert type(caught.value) is cls and words in caught.value.message
    assert not isinstance(caught.value, RateLimited)


def test_every_fault_is_tested():
    tested = {
        "realtime-upgrade-403",
        "realtime-invalid-key",
        "realtime-beta-disabled",
        "realtime-closed",
        "realtime-silent",
        "realtime-model-mismatch",
    }
    assert set(FAULTS) == tested


def test_a_secret_that_is_not_a_client_secret_is_refused_in_band(no_sockets):
    with pytest.raises(CheckFailed) as caught:
        run(secret="sk-not-an-ephemeral-secret-0000")
    assert "invalid_api_key" in caught.value.message and "sk-not" not in caught.value.message
