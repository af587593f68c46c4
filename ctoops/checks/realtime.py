"""The realtime family (runbook step 3): mint a client secret and judge it.

``realtime_check`` mints through the backend (the worker's ``POST /api/v1/realtime/token`` or
OpenAI's ``POST /v1/realtime/client_secrets``) and passes only on a non-empty secret that
stays valid at least ``min_ttl`` seconds by ``clock.now``. The secret is only ever shown as
``****`` + its last 4 characters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ctoops.checks import Check, Outcome, clock
from ctoops.dates import iso_second
from ctoops.errors import CheckFailed
from ctoops.redact import mask, register

if TYPE_CHECKING:
    from ctoops.backends.base import Backend

DEFAULT_MODEL = "gpt-realtime-1.5"  # the worker's default
DEFAULT_MIN_TTL = 60  # seconds


def realtime_check(backend: Backend, *, model: str, min_ttl: float, workspace: str | None) -> Check:
    """A check that mints a secret for ``model`` (``workspace`` picks the worker's limiter
    bucket) and fails (exit 1) when it is missing, empty, without expiry, expired, or valid
    for less than ``min_ttl`` seconds. Data: model, secretHint, expiresAt (unix s), ttlSeconds."""

    def check() -> Outcome:
        secret = backend.mint_realtime_secret(model, workspace)
        register(secret.value)
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
        return Outcome(
            f"client secret {mask(secret.value)} for {data['model']}, valid {ttl}s "
            f"(until {iso_second(secret.expires_at)})",
            data,
        )

    return check
