"""The realtime family (runbook step 3): mint a client secret, judge it, connect with it.

``realtime_check`` (``realtime_token``) mints through the backend (the worker's ``POST
/api/v1/realtime/token`` or OpenAI's ``POST /v1/realtime/client_secrets``) and passes only on
a non-empty secret that stays valid at least ``min_ttl`` seconds by ``clock.now``.
``session_check`` (``realtime_session``) connects with that secret as the dashboard does
(``ctoops.realtime_probe``) and passes only when a session opened and took a text-only
``session.update`` (and, with ``roundtrip``, answered one tiny exchange).

Both read one ``SharedMint``, so a run that judges the secret and connects with it mints once
(one slot of the worker's ``realtime_token`` limiter, however the checks are scheduled). The
secret is only ever shown as ``****`` + its last 4 characters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ctoops.checks import Check, Outcome, Skip, clock
from ctoops.dates import iso_second
from ctoops.errors import CheckFailed, CtoopsError
from ctoops.realtime_probe import Auth, StageTimeouts, probe
from ctoops.realtime_protocol import same_model, websocket_url
from ctoops.redact import mask, register

if TYPE_CHECKING:
    from ctoops.backends.base import Backend, RealtimeSecret
    from ctoops.realtime_ws import Connector

DEFAULT_MODEL = "gpt-realtime-1.5"  # the worker's default
DEFAULT_MIN_TTL = 60  # seconds


def realtime_check(
    backend: Backend, *, model: str, min_ttl: float, workspace: str | None, mint: SharedMint | None = None
) -> Check:
    """A check that mints a secret for ``model`` (``workspace`` picks the worker's limiter
    bucket; ``mint`` shares the mint with ``session_check``) and fails (exit 1) when it is
    missing, empty, without expiry, expired, or valid for less than ``min_ttl`` seconds.
    Data: model, secretHint, expiresAt (unix s), ttlSeconds; modelAsked when the secret names
    another model than ``model`` (noted in the detail, not a failure)."""
    shared = mint or SharedMint(lambda: backend.mint_realtime_secret(model, workspace))

    def check() -> Outcome:
        secret = shared.get().secret
        ttl = None if secret.expires_at is None else int(round(secret.expires_at - clock.now()))
        data = {
            "model": secret.model or model,
            "secretHint": mask(secret.value) if secret.value else None,
            "expiresAt": secret.expires_at,
            "ttlSeconds": ttl,
        }
        if secret.value is None:
            raise CheckFailed("the answer holds no client secret (no clientSecret/value field)", data=data)
        if not secret.value.strip():
            raise CheckFailed("the client secret is empty", data=data)
        if not secret.value.isascii() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in secret.value):
            # the dashboard sends it as a WebSocket subprotocol token: no browser can send these
            raise CheckFailed(
                f"the client secret {mask(secret.value)} holds a space, a control or a non-ASCII "
                "character: no browser can send it as a WebSocket subprotocol",
                data=data,
            )
        if secret.expires_at is None or ttl is None:
            raise CheckFailed(f"the client secret {mask(secret.value)} comes without an expiry", data=data)
        if ttl <= 0:
            raise CheckFailed(
                f"the client secret {mask(secret.value)} already expired {-ttl}s ago "
                f"(expiresAt {iso_second(secret.expires_at)}; is this machine's clock right?)",
                data=data,
            )
        if ttl < min_ttl:
            raise CheckFailed(
                f"the client secret {mask(secret.value)} expires in {ttl}s, sooner than --min-ttl "
                f"{min_ttl:g}s (expiresAt {iso_second(secret.expires_at)})",
                data=data,
            )
        note = ""
        if secret.model and not same_model(model, secret.model):
            # not a failure (the secret is good), but the session will not be on the model asked
            # for; a dated snapshot of the alias asked for (gpt-realtime-2025-08-28) is no mismatch
            data["modelAsked"] = model
            note = f"; note: minted for {secret.model}, not {model} as asked"
        return Outcome(
            f"client secret {mask(secret.value)} for {data['model']}, valid {ttl}s "
            f"(until {iso_second(secret.expires_at)}){note}",
            data,
        )

    return check


@dataclass(frozen=True)
class Minted:
    """A mint's outcome: the secret, when the mint started (``time.monotonic()``) and how
    long it took (ms)."""

    secret: RealtimeSecret
    started: float
    mint_ms: float


class SharedMint:
    """Mint once, for every check of a run that needs the secret (thread-safe). ``get``
    returns the same ``Minted`` to every caller, or raises the same ctoops error.

    A check that waited for another check's mint is credited (``activity.waited_s``) with
    the waits the server asked for during that mint (``Retry-After``, ``retryAfterSeconds``),
    at most as long as it waited: those are no more its latency than the minting check's."""

    def __init__(self, mint: Callable[[], RealtimeSecret]) -> None:
        self._mint = mint
        self._lock = threading.Lock()
        self._done: Minted | CtoopsError | None = None
        self._server_waits_s = 0.0

    def get(self) -> Minted:
        from ctoops.activity import current

        asked = time.monotonic()
        act = current()
        with self._lock:
            minted_here = self._done is None
            if minted_here:
                before = act.waited_s if act else 0.0
                self._done = self._run()
                self._server_waits_s = (act.waited_s - before) if act else 0.0
            done = self._done
        if not minted_here and act is not None and self._server_waits_s:
            act.waited_s += min(self._server_waits_s, time.monotonic() - asked)
        if isinstance(done, CtoopsError):
            raise done
        assert done is not None  # set under the lock above
        return done

    def _run(self) -> Minted | CtoopsError:
        started = time.monotonic()
        try:
            secret = self._mint()
        except CtoopsError as exc:
            return exc
        if secret.value:
            register(secret.value)
        return Minted(secret, started, (time.monotonic() - started) * 1000)


@dataclass(frozen=True)
class SessionOptions:
    """How to connect: ``base_url`` is OPENAI_BASE_URL (the WebSocket URL is derived from it),
    ``connect`` the connector (real sockets, or the sandbox's)."""

    base_url: str
    model: str
    connect: Connector
    auth: Auth = "subprotocol"
    roundtrip: bool = False
    timeouts: StageTimeouts = StageTimeouts()


def session_check(
    mint: SharedMint,
    options: SessionOptions,
    *,
    mint_reported: bool,
    log: Callable[[str], None] | None = None,
) -> Check:
    """The ``realtime_session`` check. ``mint_reported``: a ``realtime_token`` check in the
    same run reports a failed mint, so this one skips instead of failing twice."""

    def check() -> Outcome:
        try:
            minted = mint.get()
        except CtoopsError as exc:
            if mint_reported:
                raise Skip(f"not connected: no client secret (realtime_token: {exc.format_message()})") from None
            raise
        value = minted.secret.value
        base: dict[str, Any] = {"secretHint": mask(value) if value else None, "mintMs": round(minted.mint_ms, 1)}
        if not value or not value.strip():
            if mint_reported:
                raise Skip("not connected: the mint gave no client secret (see realtime_token)")
            raise CheckFailed("not connected: the mint gave no client secret", data=base)
        url = websocket_url(options.base_url, options.model)
        try:
            result = probe(
                url,
                value,
                options.model,
                connect=options.connect,
                auth=options.auth,
                roundtrip=options.roundtrip,
                timeouts=options.timeouts,
                log=log,
                started=minted.started,
            )
        except CtoopsError as exc:
            exc.data = {**base, **exc.data}
            raise
        data = {**base, **result.as_record()}
        detail = (
            f"session {result.session_id} on {result.model} opened with {mask(value)} "
            f"({options.auth} auth): upgrade {result.upgrade_ms:.0f} ms, session.created "
            f"{result.session_created_ms:.0f} ms, session.updated {result.session_updated_ms:.0f} ms"
        )
        if result.roundtrip:
            tokens = result.usage.get("total_tokens") if result.usage else None
            detail += f"; first delta {result.first_delta_ms:.0f} ms, response.done {result.response_status}, " + (
                f"{tokens} tokens" if tokens is not None else "tokens not reported"
            )
        else:
            detail += "; closed before any response was created (no tokens used)"
        return Outcome(detail, data)

    return check
