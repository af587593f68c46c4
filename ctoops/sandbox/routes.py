"""The sandbox's route table: each (method, path) of the worker and of OpenAI, and its answer.

Answers follow the documented shapes (``../shared/reference/opencto-worker-api.md``,
``openai-api.md``); a fault named in the run's ``Faults`` replaces the answer with a known
failure. A route handler gets the ``Call`` and returns (status, answer); an answer that is
``bytes`` is an HTML page, anything else JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ctoops.dates import iso_ms
from ctoops.sandbox import data
from ctoops.sandbox.data import first

CLOUDFLARE_502 = (
    b"<!DOCTYPE html><html><head><title>sandbox.opencto.invalid | 502: Bad gateway</title></head>"
    b"<body><h1>Bad gateway</h1><p>Error code 502</p><p>Cloudflare Ray ID: 8f1c2d3e4a5b6c7d</p></body></html>"
)
INVALID_KEY = {
    "error": {
        "message": "Incorrect API key provided: sk-proj-****SBX0. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}
OPENAI_LIMITED = {  # OpenAI's own rate limit, as its 429s word it (openai-api.md §6.5)
    "error": {
        "message": "Rate limit reached for requests on client secrets. Please try again in 1s.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}
LIMITED = {
    "error": "Rate limit exceeded",
    "code": "QUOTA_EXCEEDED",
    "status": 429,
    "details": {"bucket": "realtime_token", "limit": 30, "windowSeconds": 60, "retryAfterSeconds": 1},
}


@dataclass
class Call:
    """One request as a handler sees it: ``query`` maps names (``group_by[]`` as ``group_by``)
    to every value; ``keys`` is the run's saved workspace keys; ``faults`` the run's faults."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: dict[str, Any]
    keys: dict[str, dict[str, Any] | None]
    faults: frozenset[str]
    groups: tuple[str, ...] = ()  # the route pattern's groups, set by ``dispatch``


Answer = tuple[int, Any]
Route = tuple[str, re.Pattern[str], Callable[[Call], Answer]]


# -- OpenAI ------------------------------------------------------------------------------------


def openai_models(call: Call) -> Answer:
    """The models list; fault ``models-502``: Cloudflare's HTML 502 page (OpenAI's API sits
    behind Cloudflare too; through the worker, the worker's route answers it first)."""
    if "models-502" in call.faults:
        return 502, CLOUDFLARE_502.replace(b"sandbox.opencto.invalid", b"sandbox.openai.invalid")
    rows = [{"id": i, "object": "model", "created": c, "owned_by": o} for i, c, o in data.MODEL_LIST]
    return 200, {"object": "list", "data": rows}


def openai_client_secret(call: Call) -> Answer:
    """The GA client secret (openai-api.md §2.1), 600 s; faults: empty, expiring (20 s),
    ``rate-limited`` (OpenAI's 429 ``rate_limit_exceeded``; through the worker, its own
    limiter answers first)."""
    if "rate-limited" in call.faults:
        return 429, OPENAI_LIMITED
    session = call.body.get("session") or {}
    model = session.get("model") or "gpt-realtime"
    now = int(time.time())
    ttl = 20 if "realtime-expiring" in call.faults else 600
    value = "" if "realtime-empty" in call.faults else "ek_sandbox" + hashlib.sha1(str(now).encode()).hexdigest()[:22]
    return 200, {
        "value": value,
        "expires_at": now + ttl,
        "session": {
            "type": "realtime",
            "object": "realtime.session",
            "id": "sess_sandbox",
            "model": model,
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "expires_at": 0,
        },
    }


def openai_usage(call: Call) -> Answer:
    return data.usage_page(call.groups[0], call.query)


def openai_costs(call: Call) -> Answer:
    return data.costs_page(call.query)


OPENAI: list[Route] = [
    ("GET", re.compile(r"/models"), openai_models),
    ("POST", re.compile(r"/realtime/client_secrets"), openai_client_secret),
    ("GET", re.compile(r"/organization/usage/([a-z_]+)"), openai_usage),
    ("GET", re.compile(r"/organization/costs"), openai_costs),
]


def openai(call: Call) -> Answer:
    """OpenAI's answer to ``call`` (its path without ``/v1``); every route fails with 401
    ``invalid_api_key`` under the ``openai-invalid-key`` fault."""
    if "openai-invalid-key" in call.faults:
        return 401, INVALID_KEY
    return dispatch(OPENAI, call) or (
        404,
        {
            "error": {
                "message": f"Invalid URL ({call.method} /v1{call.path})",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
    )


# -- the worker -----------------------------------------------------------------------------


def worker_health(call: Call) -> Answer:
    return 200, {"status": "healthy", "timestamp": iso_ms(time.time())}


def worker_models(call: Call) -> Answer:
    if "models-502" in call.faults:
        return 502, CLOUDFLARE_502
    return openai(_as_openai(call, "GET", "/models"))


def worker_realtime(call: Call) -> Answer:
    """The worker's mint: its limiter (fault ``rate-limited``), then OpenAI, wrapped."""
    if "rate-limited" in call.faults:
        return 429, LIMITED
    status, answer = openai(
        _as_openai(call, "POST", "/realtime/client_secrets", {"session": {"model": call.body.get("model")}})
    )
    if status != 200:
        return status, {"error": "OpenAI rejected the request", "code": "OPENAI_ERROR", "details": json.dumps(answer)}
    return 200, {"clientSecret": answer["value"], "expiresAt": answer["expires_at"]}


def worker_usage(call: Call) -> Answer:
    """The usage proxy: the legacy list of a working deployment (openai-api.md §5); faults:
    ``usage-date-param`` (OpenAI's "Missing query parameter 'date'"), ``openai-invalid-key``."""
    if "openai-invalid-key" in call.faults:
        return 401, INVALID_KEY
    if "usage-date-param" in call.faults:
        message = "Missing query parameter 'date'"
        return 400, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
    return 200, data.legacy_usage(call.query)


def worker_keys_list(call: Call) -> Answer:
    workspace = first(call.query, "workspaceId") or "default"
    record = call.keys.get(workspace, default_key(workspace))
    return 200, {"workspaceId": workspace, "keys": [record] if record else []}


def worker_key_save(call: Call) -> Answer:
    provider = call.groups[0]
    api_key, workspace = call.body.get("apiKey"), call.body.get("workspaceId") or "default"
    if not isinstance(api_key, str) or len(api_key) < 8:
        return worker_error(400, "BAD_REQUEST", "apiKey is required and must be at least 8 characters")
    now = iso_ms(time.time())
    hint = "****" + api_key[-4:]
    call.keys[workspace] = {
        "provider": provider,
        "workspaceId": workspace,
        "keyHint": hint,
        "createdAt": now,
        "updatedAt": now,
    }
    return 200, {"saved": True, "provider": provider, "workspaceId": workspace, "keyHint": hint, "updatedAt": now}


def worker_key_delete(call: Call) -> Answer:
    workspace = first(call.query, "workspaceId") or "default"
    existed = call.keys.get(workspace, default_key(workspace)) is not None
    call.keys[workspace] = None
    return 200, {"deleted": existed, "provider": call.groups[0], "workspaceId": workspace}


WORKER: list[Route] = [
    ("GET", re.compile(r"/health|/api/v1/health"), worker_health),
    ("GET", re.compile(r"/api/v1/cto/openai/models"), worker_models),
    ("POST", re.compile(r"/api/v1/realtime/token"), worker_realtime),
    ("GET", re.compile(r"/api/v1/cto/openai/usage"), worker_usage),
    ("GET", re.compile(r"/api/v1/llm/keys"), worker_keys_list),
    ("PUT", re.compile(r"/api/v1/llm/keys/([a-z0-9_-]{2,40})"), worker_key_save),
    ("DELETE", re.compile(r"/api/v1/llm/keys/([a-z0-9_-]{2,40})"), worker_key_delete),
]


def worker(call: Call) -> Answer:
    """The worker's answer to ``call``; 404 ``NOT_FOUND`` for a route it does not have."""
    return dispatch(WORKER, call) or worker_error(404, "NOT_FOUND", "Not found")


# -- helpers --------------------------------------------------------------------------------


def dispatch(routes: list[Route], call: Call) -> Answer | None:
    """The first route whose method and whole path match, with ``call.match`` set."""
    for method, pattern, handler in routes:
        match = pattern.fullmatch(call.path)
        if match and method == call.method:
            call.groups = match.groups()
            return handler(call)
    return None


def _as_openai(call: Call, method: str, path: str, body: dict[str, Any] | None = None) -> Call:
    return Call(method, path, {}, body or {}, call.keys, call.faults)


def default_key(workspace: str) -> dict[str, Any] | None:
    """The key every sandbox workspace holds until the run deletes or replaces it."""
    return {
        "provider": "openai",
        "workspaceId": workspace,
        "keyHint": "****SBX1",
        "createdAt": "2026-01-05T09:30:00.000Z",
        "updatedAt": "2026-01-05T09:30:00.000Z",
    }


def worker_error(status: int, code: str, message: str) -> Answer:
    """The worker's error envelope (opencto-worker-api.md, "Error bodies")."""
    return status, {"error": message, "code": code, "status": status}
