"""The one interface every backend serves, and the records it returns.

Backends are slim adapters: they turn an operation into requests through ``ctoops.http``
and the answers into these records (or raw pages, for usage and costs, which
``ctoops.usage`` normalises). An operation a backend cannot serve raises ``Unsupported``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from ctoops.errors import Unsupported


@dataclass(frozen=True)
class Model:
    """One model as OpenAI lists it; ``created`` in unix seconds; other fields in ``extra``."""

    id: str
    created: int | None
    owned_by: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        return {"id": self.id, "created": self.created, "owned_by": self.owned_by, **self.extra}


@dataclass(frozen=True)
class RealtimeSecret:
    """A minted realtime client secret. ``value`` is secret: show ``mask(value)`` only."""

    value: str | None
    expires_at: int | None
    model: str | None
    shape: str  # which answer shape held it: "worker", "ga" (value) or "beta" (client_secret.value)

    def __repr__(self) -> str:  # never let the secret reach a log through repr()
        from ctoops.redact import mask

        return f"RealtimeSecret(value={mask(self.value)}, expires_at={self.expires_at}, model={self.model!r})"


@dataclass(frozen=True)
class ProviderKey:
    """A workspace's saved key as the worker lists it: only ever a hint (``****abcd``)."""

    provider: str
    workspace_id: str
    key_hint: str | None
    created_at: str | None = None
    updated_at: str | None = None

    def as_record(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "workspaceId": self.workspace_id,
            "keyHint": self.key_hint,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


@dataclass(frozen=True)
class UsageRequest:
    """One page request for usage or costs; times are unix seconds, ``end`` exclusive."""

    kind: str  # "completions", "embeddings", ... or "costs"
    start: int
    end: int
    bucket: str  # "1d" | "1h"
    group_by: tuple[str, ...] = ()
    limit: int = 31
    page: str | None = None


class Backend(Protocol):
    """What every backend serves (``opencto``, ``openai``; the sandbox answers through either).

    Failures are ctoops errors with their exit codes; an operation a backend cannot serve
    raises ``Unsupported`` (exit 2).
    """

    name: str  # "opencto" or "openai"
    sandbox: bool

    def list_models(self) -> list[Model]: ...

    def mint_realtime_secret(self, model: str, workspace: str | None = None) -> RealtimeSecret: ...

    def usage_page(self, request: UsageRequest) -> Any: ...

    def costs_page(self, request: UsageRequest) -> Any: ...

    def list_keys(self, workspace: str) -> list[ProviderKey]: ...

    def save_key(self, workspace: str, provider: str, api_key: str) -> ProviderKey: ...

    def delete_key(self, workspace: str, provider: str) -> bool: ...

    def health(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


def unsupported(operation: str, via: str, hint: str) -> Unsupported:
    """``<operation> is not available via <via>: <hint>`` (exit 2)."""
    return Unsupported(f"{operation} is not available via {via}: {hint}")


# -- parsing shared by the adapters --------------------------------------------------------


def parse_models(body: Any, who: str) -> list[Model]:
    """OpenAI's model list (``{"object": "list", "data": [...]}``, openai-api.md §1); no
    pagination exists. ``created`` is kept as an integer (unix s) also when sent as a float or
    a numeric string that is integral. Raises UpstreamError (exit 4) naming what is wrong."""
    from ctoops.errors import UpstreamError

    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise UpstreamError(f"{who} answered a model list without a `data` array: {_shape(body)}")
    models = []
    for i, item in enumerate(body["data"]):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise UpstreamError(f"{who} answered a model list whose item {i} has no string `id`: {_shape(item)}")
        extra = {k: v for k, v in item.items() if k not in ("id", "created", "owned_by", "object")}
        owned_by = item.get("owned_by")
        created = _int(item.get("created"))
        if item.get("created") is not None and created is None:
            raise UpstreamError(
                f"{who} answered a model list whose item {i} has a `created` that is not unix seconds: "
                f"{_shape(item.get('created'))}"
            )
        models.append(
            Model(
                id=item["id"],
                created=created,
                owned_by=owned_by if isinstance(owned_by, str) else None,
                extra=extra,
            )
        )
    return models


def parse_realtime(body: Any, who: str, model: str | None) -> RealtimeSecret:
    """Every documented shape, told apart by where the secret is: the worker's
    ``clientSecret``/``expiresAt``; the beta session object, whose secret and its expiry are
    in ``client_secret.{value, expires_at}`` beside a top-level ``expires_at`` (often 0) that
    is the session's, not the secret's (openai-api.md §2.2); OpenAI's GA
    ``value``/``expires_at`` (§2.1). A missing or empty secret is returned as such; judging it
    is the check's job. An answer that is not an object raises UpstreamError (exit 4)."""
    from ctoops.errors import UpstreamError

    if not isinstance(body, dict):
        raise UpstreamError(f"{who} answered a realtime secret that is not an object: {_shape(body)}")
    raw_session = body.get("session")
    session: dict[str, Any] = raw_session if isinstance(raw_session, dict) else {}
    answered = session.get("model") or body.get("model") or model
    answered_model = answered if isinstance(answered, str) else model
    if answered_model is not None and answered_model != model:  # the server's text: one line, cut
        from ctoops.backends.envelope import message_excerpt

        answered_model = message_excerpt(answered_model)
    if "clientSecret" in body or "expiresAt" in body:
        secret, expiry, shape, where = body, body, "worker", ("clientSecret", "expiresAt")
    elif isinstance(body.get("client_secret"), dict):
        secret = expiry = body["client_secret"]
        shape, where = "beta", ("client_secret.value", "client_secret.expires_at")
    elif "value" in body or "expires_at" in body:
        secret, expiry, shape, where = body, body, "ga", ("value", "expires_at")
    else:
        return RealtimeSecret(None, None, answered_model, "none")
    value = secret.get(where[0].rsplit(".", 1)[-1])
    expires = expiry.get(where[1].rsplit(".", 1)[-1])
    if value is not None and not isinstance(value, str):
        raise UpstreamError(f"{who} answered a `{where[0]}` that is not a string: {_shape(value)}")
    if expires is not None and _int(expires) is None and _number(expires) is None:
        raise UpstreamError(f"{who} answered an `{where[1]}` that is not unix seconds: {_shape(expires)}")
    return RealtimeSecret(value, _expiry(expires, where[1], who), answered_model, shape)


EXPIRY_MIN = 946684800  # 2000-01-01T00:00:00Z
EXPIRY_MAX = 253402300799  # 9999-12-31T23:59:59Z, the last second a date can show


def _expiry(raw: Any, field: str, who: str) -> int | None:
    """The expiry ``raw`` as unix seconds when it is an integral time between 2000-01-01 and
    9999-12-31 (None stays None); else UpstreamError (exit 4) naming ``field`` and the value,
    and saying so when it looks like milliseconds (never converted: the unit is the server's)."""
    from ctoops.errors import UpstreamError

    number = _number(raw)
    if number is None:
        return None
    seconds = _int(raw)
    if seconds is not None and EXPIRY_MIN <= seconds <= EXPIRY_MAX:
        return seconds
    shown = f"{number:f}" if number.adjusted() < 24 else f"{number:.3e}"
    if len(shown) > 40:  # 1e-99999, or a fraction of 100,000 digits: its value, not every digit
        shown = f"{number:.3e}"
    if EXPIRY_MIN * 1000 <= number <= EXPIRY_MAX * 1000:
        why = "it looks like milliseconds, not unix seconds"
    elif number > EXPIRY_MAX:
        why = "that is past 9999-12-31 as unix seconds"
    elif seconds is None:
        why = "that is not a whole number of unix seconds"
    else:
        why = "that is before 2000-01-01 as unix seconds"
    raise UpstreamError(f"{who} answered an `{field}` of {shown}: {why}")


def _number(value: Any) -> Decimal | None:
    """A finite Decimal from an int, float, Decimal or ASCII numeric string; else None."""
    from decimal import Decimal, InvalidOperation

    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.isascii()):
        return None
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        return None
    return number if number.is_finite() else None


def _int(value: Any) -> int | None:
    """An integer from an int, or a float, Decimal or ASCII numeric string that is integral;
    else None (Decimal reads other scripts' digits, which no API sends)."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.isascii()):
        return None
    if isinstance(value, int):
        return value
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        return None
    if not number.is_finite() or number.adjusted() >= 4000 or number != number.to_integral_value():
        return None  # int() of 1e9999999 takes minutes, and str() refuses an int over 4300 digits
    return int(number)


def _shape(value: Any) -> str:
    """A secret-free description of an unexpected value: its type and keys, never contents."""
    if isinstance(value, dict):
        from ctoops.backends.envelope import message_excerpt

        keys = ", ".join(message_excerpt(k, 80) for k in sorted(map(str, value))[:12])  # the server's text
        return message_excerpt("object with keys " + (keys or "none"))
    if isinstance(value, list):
        return f"array of {len(value)}"
    return type(value).__name__
