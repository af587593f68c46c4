"""The OpenCTO API worker (``../shared/reference/opencto-worker-api.md``), and its error envelope.

``WorkerErrors`` is the one reader of the worker's answers when they fail: its own envelope
``{error, code, status?, details?}`` (``QUOTA_EXCEEDED`` with ``details.retryAfterSeconds``,
``CONFIG_ERROR``, ``FORBIDDEN`` ...), ``OPENAI_ERROR`` whose ``details`` is OpenAI's body as a
string (read with OpenAI's reader, so a wrapped ``insufficient_quota`` is a quota limit), the
code-less 502s (``Unexpected response shape from OpenAI``, ``Fetch to OpenAI failed``), OpenAI's
own envelope passed through by a proxy, and HTML pages from Cloudflare in front of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
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
    excerpt,
    generic_exception,
    message_excerpt,
    not_json,
    try_json,
    unknown_shape,
)
from ctoops.backends.openai import openai_rejected, read_openai_error
from ctoops.errors import BadInput, CheckFailed, CtoopsError, NotAuthenticated, RateLimited, UpstreamError
from ctoops.http import HttpClient
from ctoops.redact import mask, register
from ctoops.retry import ApiError

WORKER = "the OpenCTO worker"
VIA_WORKER = "OpenAI, via the worker"
WORKER_KEY_FIX = (
    "the worker calls OpenAI with its own OPENAI_API_KEY, not a workspace key: runbook step 1, "
    "`wrangler secret put OPENAI_API_KEY` on the worker"
)
TOKEN_FIX = "run `ctoops auth login` or set OPENCTO_TOKEN"
# the fields of an error's ``details`` that its line names (QUOTA_EXCEEDED's limiter): the
# server's text, so each is a ``message_excerpt`` (one line, redacted, at most 300 characters)
SHOWN_FACTS = ("bucket", "limit", "windowSeconds")


class WorkerErrors:
    """The worker's failures for ``ctoops.http``."""

    who = WORKER
    setting = "--api-url / OPENCTO_API_BASE_URL"

    def __init__(self, base_url: str = "", auth_fix: str = TOKEN_FIX) -> None:
        self.base_url = base_url
        self.auth_fix = auth_fix

    def read_error(self, status: int, headers: Mapping[str, str], content: bytes) -> ApiError:
        body = try_json(content)
        if body is NOT_JSON:
            return not_json(status, headers, content, "a proxy in front of the worker")
        passed = read_openai_error(status, body, VIA_WORKER)  # OpenAI's body passed through as is
        if passed is not None:
            return passed
        if not (isinstance(body, dict) and isinstance(body.get("error"), str)):
            return unknown_shape(status, body, WORKER)
        code = message_excerpt(body["code"], 80) if isinstance(body.get("code"), str) else None
        message = message_excerpt(body["error"])  # redacted and cut: a message may be megabytes
        details = body.get("details")
        if code == "OPENAI_ERROR":
            return _openai_error(status, message, details)
        facts: dict[str, Any] = dict(details) if isinstance(details, dict) else {}
        for key in SHOWN_FACTS:  # named in the error line: cut and redacted as a message is
            if facts.get(key) is not None:
                facts[key] = message_excerpt(facts[key])
        wait = None
        final = None
        if code == "QUOTA_EXCEEDED":
            seconds = facts.get("retryAfterSeconds")
            if isinstance(seconds, (int, float, Decimal)) and not isinstance(seconds, bool):
                wait = float(seconds)
        elif code == "CONFIG_ERROR":
            final = "the worker is not configured, which no retry changes"
        elif code is None and message == "Unexpected response shape from OpenAI":
            final = "OpenAI answered without a usable secret; minting again gives the same answer"
            facts["raw"] = _summary(body.get("raw"))
        elif code is None:
            for key in ("detail", "raw"):
                if body.get(key):
                    facts[key] = excerpt(json.dumps(body[key], default=str))
        return ApiError(status, WORKER, code, None, message, body_wait=wait, final=final, details=facts)

    def to_exception(self, error: ApiError, tried: str) -> CtoopsError:
        if error.origin == VIA_WORKER:
            if error.is_json and (error.code or error.type or error.message):
                return openai_rejected(error, tried, key_fix=WORKER_KEY_FIX)
            return generic_exception(error, tried, VIA_WORKER)
        if not error.is_json or error.origin != WORKER:
            # who really answered, as the retry notices said it (a proxy's HTML is not the worker's)
            return generic_exception(error, tried, error.origin)
        status, code, facts = error.status, error.code, error.details
        extra = "".join(f" ({k}: {facts[k]})" for k in ("detail", "raw") if facts.get(k))
        said = f"{error.label}: {error.message}{extra}"
        if status == 401:
            return NotAuthenticated(
                f"the OpenCTO worker refused the token ({said}): {self.auth_fix}", status=401, code=code
            )
        if status == 403:
            return NotAuthenticated(f"the OpenCTO worker refused access ({said})", status=403, code=code)
        if status == 429:
            limit = ""
            if facts.get("bucket"):
                limit = f" on bucket {facts['bucket']}"
                if facts.get("limit") and facts.get("windowSeconds"):
                    limit += f" ({facts['limit']} per {facts['windowSeconds']}s)"
            return RateLimited(
                f"the OpenCTO worker rate-limited ctoops{limit} ({said}; {tried})", status=429, code=code
            )
        if status == 400:
            return BadInput(f"the OpenCTO worker refused the request ({said})", status=400, code=code)
        if status == 404:
            return UpstreamError(
                f"the OpenCTO worker has no such route ({said}): is --api-url {self.base_url} the "
                "OpenCTO API worker, and is it recent enough?",
                status=404,
                code=code,
            )
        if code == "CONFIG_ERROR":
            return UpstreamError(
                f"the OpenCTO worker is not configured ({said}); runbook step 1: "
                "`wrangler secret put OPENAI_API_KEY` on the worker",
                status=status,
                code=code,
            )
        if error.message == "Unexpected response shape from OpenAI":
            return CheckFailed(
                f"OpenAI, via the worker, answered without a usable client secret ({said}; {tried})",
                status=status,
            )
        return UpstreamError(f"the OpenCTO worker answered {said} ({tried})", status=status, code=code)


def _openai_error(status: int, message: str, details: Any) -> ApiError:
    """``OPENAI_ERROR``: ``details`` is OpenAI's raw body as a string (or, rarely, an object)."""
    inner = try_json(details) if isinstance(details, str) else details
    found = read_openai_error(status, inner, VIA_WORKER)
    if found is not None:
        return found
    text = details if isinstance(details, str) else json.dumps(details, default=str)
    if inner is NOT_JSON:  # an HTML page: Cloudflare answered in front of OpenAI
        return ApiError(
            status,
            VIA_WORKER,
            message=excerpt(text or message),
            is_json=False,
            details={"contentType": "text (OpenAI's body, as the worker passed it on)"},
        )
    return ApiError(status, VIA_WORKER, message=f"{message}: {excerpt(text)}")


def _summary(raw: Any) -> str:
    """What OpenAI's unusable answer held, never a secret: its keys, and which were empty."""
    if not isinstance(raw, dict):
        return type(raw).__name__
    parts = []
    for key, value in list(raw.items())[:12]:
        name = message_excerpt(key, 80)  # a key is the server's text too
        if value in ("", None, {}, []):
            parts.append(f"{name} empty")
        elif isinstance(value, dict):
            parts.append(f"{name} {{{', '.join(message_excerpt(k, 80) for k in sorted(map(str, value))[:6])}}}")
        else:
            parts.append(name)
    return message_excerpt("OpenAI's answer had " + ", ".join(parts))


def _said(body: Any) -> str:
    """What a 200 answer that is really the worker's error envelope said, to name it:
    `` (it answered the error UNAUTHORIZED: Missing authorization)``; else empty."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        from ctoops.backends.envelope import message_excerpt

        code = body.get("code") if isinstance(body.get("code"), str) else "no code"
        return f" (it answered the error {message_excerpt(code)}: {message_excerpt(body['error'])})"
    return ""


def _kind(value: Any) -> str:
    """A JSON value's type as JSON names it (never its contents: it may be a secret)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a string" if isinstance(value, str) else type(value).__name__


def key_hint(value: Any) -> str | None:
    """The worker's ``keyHint`` as it may be shown: ``****abcd``. Anything longer (a hint that
    is really a whole key) is registered as a secret and masked."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("****") and len(value) <= 8:
        return value
    register(value)
    return mask(value)


class OpenCTOBackend:
    """The worker's routes: health, the proxies, realtime minting, the BYOK keys."""

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
        """The workspace's keys. UpstreamError (exit 4) for a list that is not one, an entry
        that is not an object or a field of the wrong type, naming it: an entry is never
        dropped or shown empty because of its shape."""
        body = self._call("GET", "/api/v1/llm/keys", workspace, params={"workspaceId": workspace})
        if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise UpstreamError(f"the worker's key list answered without a `keys` array{_said(body)}")
        keys = []
        for i, k in enumerate(body["keys"]):
            if not isinstance(k, dict):
                raise UpstreamError(f"the worker's key list has an entry `keys[{i}]` that is not an object")
            for field in ("provider", "workspaceId", "keyHint", "createdAt", "updatedAt"):
                if k.get(field) is not None and not isinstance(k[field], str):
                    raise UpstreamError(
                        f"the worker's key list has `keys[{i}].{field}` = {_kind(k[field])}, not a string"
                    )
            keys.append(
                ProviderKey(
                    provider=str(k.get("provider")),
                    workspace_id=str(k.get("workspaceId") or workspace),
                    key_hint=key_hint(k.get("keyHint")),
                    created_at=k.get("createdAt"),
                    updated_at=k.get("updatedAt"),
                )
            )
        return keys

    def save_key(self, workspace: str, provider: str, api_key: str) -> ProviderKey:
        body = self._call(
            "PUT",
            f"/api/v1/llm/keys/{provider}",
            workspace,
            json_body={"apiKey": api_key, "workspaceId": workspace},
        )
        if not isinstance(body, dict) or body.get("saved") is not True:
            raise UpstreamError(f"the worker did not confirm the key was saved (no `saved: true`){_said(body)}")
        return ProviderKey(
            provider=str(body.get("provider") or provider),
            workspace_id=str(body.get("workspaceId") or workspace),
            key_hint=key_hint(body.get("keyHint")),
            updated_at=body.get("updatedAt"),
        )

    def delete_key(self, workspace: str, provider: str) -> bool:
        body = self._call("DELETE", f"/api/v1/llm/keys/{provider}", workspace, params={"workspaceId": workspace})
        if not isinstance(body, dict) or not isinstance(body.get("deleted"), bool):
            raise UpstreamError("the worker answered a key deletion without `deleted`")
        return bool(body["deleted"])

    def close(self) -> None:
        self.http.close()
