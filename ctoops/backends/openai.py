"""OpenAI directly (``../shared/reference/openai-api.md``).

Two credentials: the API key (models, realtime) and the admin key (usage, costs). Each is
resolved only when an operation needs it, so ``models list`` never asks for an admin key.
"""

from __future__ import annotations

from collections.abc import Callable
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
from ctoops.http import HttpClient

KEYS_HINT = "the worker holds workspace keys; use --via opencto, or --local for the keyring"
REALTIME_TTL_SECONDS = 600  # what the worker asks for, and OpenAI's default


class OpenAIBackend:
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
