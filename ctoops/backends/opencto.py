"""The OpenCTO API worker (``../shared/reference/opencto-worker-api.md``)."""

from __future__ import annotations

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
from ctoops.errors import NotAuthenticated, UpstreamError
from ctoops.http import HttpClient


class OpenCTOBackend:
    name = "opencto"

    def __init__(self, http: HttpClient, *, sandbox: bool = False) -> None:
        self.http = http
        self.sandbox = sandbox

    def _call(self, method: str, path: str, workspace: str | None = None, **kwargs: Any) -> Any:
        try:
            return self.http.request(method, path, **kwargs).data
        except NotAuthenticated as exc:
            if exc.status == 403 and workspace:
                raise NotAuthenticated(
                    f"{exc.format_message()}: workspace {workspace!r} is not one of yours; "
                    "check --workspace / OPENCTO_WORKSPACE",
                    status=403,
                    code=exc.code,
                ) from None
            raise

    def health(self) -> dict[str, Any]:
        body = self._call("GET", "/api/v1/health")
        if not isinstance(body, dict) or "status" not in body:
            raise UpstreamError("the OpenCTO worker's /api/v1/health answered without a `status`")
        return body

    def list_models(self) -> list[Model]:
        return parse_models(self._call("GET", "/api/v1/cto/openai/models"), "the worker's models proxy")

    def mint_realtime_secret(self, model: str, workspace: str | None = None) -> RealtimeSecret:
        payload: dict[str, Any] = {"model": model}
        if workspace:
            payload["workspaceId"] = workspace
        body = self._call("POST", "/api/v1/realtime/token", workspace, json_body=payload)
        return parse_realtime(body, "the worker's realtime token route", model)

    def usage_page(self, request: UsageRequest) -> Any:
        """The worker's usage proxy: OpenAI's answer to ``/v1/usage`` passed through.

        The worker forwards only ``start`` and ``end`` (as ``YYYY-MM-DD``, as the dashboard
        sends them): no kind, bucket, grouping or page cursor reaches OpenAI.
        """
        from ctoops.dates import iso_day as day

        return self._call(
            "GET", "/api/v1/cto/openai/usage", params={"start": day(request.start), "end": day(request.end)}
        )

    def costs_page(self, request: UsageRequest) -> Any:
        raise unsupported("costs", "the OpenCTO worker", "it has no costs proxy; use --via openai with an admin key")

    def list_keys(self, workspace: str) -> list[ProviderKey]:
        body = self._call("GET", "/api/v1/llm/keys", workspace, params={"workspaceId": workspace})
        if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise UpstreamError("the worker's key list answered without a `keys` array")
        return [
            ProviderKey(
                provider=str(k.get("provider")),
                workspace_id=str(k.get("workspaceId") or workspace),
                key_hint=k.get("keyHint"),
                created_at=k.get("createdAt"),
                updated_at=k.get("updatedAt"),
            )
            for k in body["keys"]
            if isinstance(k, dict)
        ]

    def save_key(self, workspace: str, provider: str, api_key: str) -> ProviderKey:
        body = self._call(
            "PUT",
            f"/api/v1/llm/keys/{provider}",
            workspace,
            json_body={"apiKey": api_key, "workspaceId": workspace},
        )
        if not isinstance(body, dict) or body.get("saved") is not True:
            raise UpstreamError("the worker did not confirm the key was saved (no `saved: true`)")
        return ProviderKey(
            provider=str(body.get("provider") or provider),
            workspace_id=str(body.get("workspaceId") or workspace),
            key_hint=body.get("keyHint"),
            updated_at=body.get("updatedAt"),
        )

    def delete_key(self, workspace: str, provider: str) -> bool:
        body = self._call("DELETE", f"/api/v1/llm/keys/{provider}", workspace, params={"workspaceId": workspace})
        if not isinstance(body, dict) or not isinstance(body.get("deleted"), bool):
            raise UpstreamError("the worker answered a key deletion without `deleted`")
        return bool(body["deleted"])

    def close(self) -> None:
        self.http.close()
