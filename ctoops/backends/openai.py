"""OpenAI directly (``../shared/reference/openai-api.md``), and OpenAI's error envelope.

Two credentials: the API key (models, realtime) and the admin key (usage, costs). Each is
resolved only when an operation needs it, so ``models list`` never asks for an admin key.

``read_openai_error`` is the one reader of OpenAI's ``{"error": {message, type, param, code}}``
(§6.1); the worker adapter uses it too for the OpenAI body its ``OPENAI_ERROR`` wraps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ctoops.backends.base import (
    Model,
    ProviderKey,
    RealtimeSecret,
    UsageRequest,
    parse_models,
    parse_realtime,
    unsupported,
)
from ctoops.backends.envelope import (
    NOT_JSON,
    generic_exception,
    message_excerpt,
    not_json,
    try_json,
    unknown_shape,
)
from ctoops.errors import CtoopsError, NotAuthenticated, OpenAIRejected
from ctoops.http import HttpClient
from ctoops.retry import QUOTA_CODES, ApiError, duration

KEYS_HINT = "the worker holds workspace keys; use --via opencto, or --local for the keyring"
REALTIME_TTL_SECONDS = 600  # what the worker asks for, and OpenAI's default
KEY_FIX = "check OPENAI_API_KEY or run `ctoops keys set --local`"
ADMIN_FIX = (
    "usage and costs need an OpenAI admin key (sk-admin-…, created at "
    "platform.openai.com/settings/organization/admin-keys): set OPENAI_ADMIN_KEY or run "
    "`ctoops keys set --local --admin`"
)
# "Please try again in 26.604s" / "in 1m2.5s" / "in 20ms" (openai-api.md §6.3)
_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?(?:ms|h|m|s)(?:\d+(?:\.\d+)?(?:ms|h|m|s))*)", re.IGNORECASE)


def read_openai_error(status: int, body: Any, origin: str) -> ApiError | None:
    """OpenAI's error object as an ``ApiError``; None when ``body`` is not that envelope.
    Its message (and code, type) are kept as short redacted excerpts (``message_excerpt``).

    Quota and billing codes (and ``type: insufficient_quota`` with ``code: null``, early 2023)
    are marked ``quota``; a "Request too large" 429 is final (the same request cannot fit);
    a "Please try again in 26.604s" message becomes the body's wait.
    """
    if not (isinstance(body, dict) and isinstance(body.get("error"), dict)):
        return None
    err = body["error"]
    code = message_excerpt(err["code"], 80) if isinstance(err.get("code"), str) else None
    type_ = message_excerpt(err["type"], 80) if isinstance(err.get("type"), str) else None
    message = message_excerpt(err.get("message") or "")
    quota = status == 429 and (code in QUOTA_CODES or type_ == "insufficient_quota")
    final = None
    if status == 429 and message.lower().startswith("request too large"):
        final = "the request is larger than the limit allows, so sending it again cannot succeed"
    match = _TRY_AGAIN.search(message)
    wait = duration(match.group(1)) if match else None
    return ApiError(status, origin, code, type_, message, body_wait=wait, final=final, quota=quota)


class OpenAIErrors:
    """OpenAI's failures for ``ctoops.http``: 401/403 is ctoops' own credential (exit 3)."""

    who = "OpenAI"
    setting = "OPENAI_BASE_URL"

    def __init__(self, auth_fix: str = KEY_FIX) -> None:
        self.auth_fix = auth_fix

    def read_error(self, status: int, headers: Mapping[str, str], content: bytes) -> ApiError:
        body = try_json(content)
        if body is NOT_JSON:
            return not_json(status, headers, content, "OpenAI")
        return read_openai_error(status, body, "OpenAI") or unknown_shape(status, body, "OpenAI")

    def to_exception(self, error: ApiError, tried: str) -> CtoopsError:
        if not error.is_json or (error.code is None and error.type is None and not error.message):
            return generic_exception(error, tried, self.who)
        said = f"{error.label}: {error.message}"
        if error.status in (401, 403):
            return NotAuthenticated(
                f"OpenAI refused the key ({said}); {self.auth_fix}", status=error.status, code=error.code
            )
        return openai_rejected(error, tried)


def openai_rejected(error: ApiError, tried: str, *, key_fix: str | None = None) -> OpenAIRejected:
    """OpenAI refused a request: exit 1 (a 4xx), 5 (a 429), 4 (a 5xx); the text names who said
    it (``error.origin``) and, for a rejected key, ``key_fix``."""
    said = f"{error.label}: {error.message}"
    subject = error.origin
    if error.status == 429:
        text = f"{subject} answered {said} ({tried})"
    elif error.status in (401, 403) and key_fix:
        text = f"OpenAI refused the worker's OpenAI key ({said}); {key_fix}"
    elif error.status >= 500:
        text = f"{subject} failed ({said}; {tried})"
    else:
        text = f"{subject} refused the request ({said})"
    return OpenAIRejected(text, status=error.status, code=error.code, type=error.type, openai_message=error.message)


class OpenAIBackend:
    """OpenAI's REST API with the caller's keys; ``client_for(admin)`` builds each client."""

    name = "openai"

    def __init__(self, client_for: Callable[[bool], HttpClient], *, sandbox: bool = False) -> None:
        self._client_for = client_for
        self._clients: dict[bool, HttpClient] = {}
        self.sandbox = sandbox

    def _http(self, admin: bool = False) -> HttpClient:
        if admin not in self._clients:
            self._clients[admin] = self._client_for(admin)
        return self._clients[admin]

    def health(self) -> dict[str, Any]:
        raise unsupported(
            "health", "openai", "OpenAI has no health route; `ctoops models list --via openai` proves the key"
        )

    def list_models(self) -> list[Model]:
        return parse_models(self._http().get("/models").data, "OpenAI's /models")

    def mint_realtime_secret(self, model: str, workspace: str | None = None) -> RealtimeSecret:
        """POST /realtime/client_secrets (openai-api.md §2.1); ``workspace`` has no meaning here."""
        body = (
            self._http()
            .request(
                "POST",
                "/realtime/client_secrets",
                json_body={
                    "expires_after": {"anchor": "created_at", "seconds": REALTIME_TTL_SECONDS},
                    "session": {"type": "realtime", "model": model},
                },
            )
            .data
        )
        return parse_realtime(body, "OpenAI's /realtime/client_secrets", model)

    def _admin_get(self, path: str, params: list[tuple[str, Any]]) -> Any:
        return self._http(admin=True).request("GET", path, params=params).data

    def usage_page(self, request: UsageRequest) -> Any:
        return self._admin_get(f"/organization/usage/{request.kind}", _page_params(request))

    def costs_page(self, request: UsageRequest) -> Any:
        return self._admin_get("/organization/costs", _page_params(request))

    def list_keys(self, workspace: str) -> list[ProviderKey]:
        raise unsupported("listing workspace keys", "openai", KEYS_HINT)

    def save_key(self, workspace: str, provider: str, api_key: str) -> ProviderKey:
        raise unsupported("saving a workspace key", "openai", KEYS_HINT)

    def delete_key(self, workspace: str, provider: str) -> bool:
        raise unsupported("deleting a workspace key", "openai", KEYS_HINT)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def _page_params(request: UsageRequest) -> list[tuple[str, Any]]:
    """Every parameter, resent on every page; arrays in the SDK's bracket form."""
    params: list[tuple[str, Any]] = [
        ("start_time", request.start),
        ("end_time", request.end),
        ("bucket_width", request.bucket),
        ("limit", request.limit),
    ]
    params += [("group_by[]", g) for g in request.group_by]
    if request.page:
        params.append(("page", request.page))
    return params
