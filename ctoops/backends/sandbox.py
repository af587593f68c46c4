"""The sandbox: an in-process simulation of the OpenCTO worker and of OpenAI.

``--sandbox`` (or ``CTOOPS_SANDBOX=1``) swaps the network for ``handle()``: the real backend
adapters send real requests through an in-process transport, and this module answers them
in the documented shapes (``../shared/reference``): models, realtime client secrets (worker
and GA shapes), workspace keys, organization usage pages with cursors, costs pages, and the
worker's usage proxy in the legacy ``/v1/usage`` list shape of a working deployment. No
socket is opened and no credential is needed.

Data is deterministic: the same range always gives the same numbers, so examples and tests
can rely on them. Days from today (UTC) on have empty buckets, as data that has not landed.

``CTOOPS_SANDBOX_FAULTS`` (comma-separated) plays a known failure instead, for demos and
docs: ``usage-date-param`` (the worker's usage proxy answers OpenAI's "Missing query
parameter 'date'"), ``realtime-empty``, ``realtime-expiring`` (a secret with 20 s left),
``openai-invalid-key`` (OpenAI rejects the worker's key), ``rate-limited`` (the worker's
realtime bucket answers 429 QUOTA_EXCEEDED), ``models-502`` (a Cloudflare HTML 502 page).

For ``errors trend`` with no log source, ``sample_tail_log`` gives an hour of wrangler tail
output ending now, with a 429 burst.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import time
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ctoops.dates import DAY
from ctoops.dates import iso_ms as _iso

if TYPE_CHECKING:
    from ctoops.context import AppContext
    from ctoops.http import HttpClient

WORKER_URL = "https://sandbox.opencto.invalid"
OPENAI_URL = "https://sandbox.openai.invalid/v1"

CHAT_MODELS = ("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-realtime-1.5")
EMBEDDING_MODELS = ("text-embedding-3-small",)
PROJECTS = ("proj_sbxWeb", "proj_sbxVoice", "proj_sbxBatch")
API_KEYS = {"key_sbxAlpha": "user_sbxAda", "key_sbxBravo": "user_sbxGrace"}
MODEL_LIST = [
    ("gpt-4o-2024-08-06", 1722814719, "system"),
    ("gpt-4o-mini-2024-07-18", 1721172741, "system"),
    ("gpt-realtime-1.5", 1756252800, "system"),
    ("text-embedding-3-small", 1705948997, "system"),
    ("whisper-1", 1677532384, "openai-internal"),
]
# $ per token, for costs
PRICES = {
    "gpt-4o-2024-08-06": (Decimal("0.0000025"), Decimal("0.00001")),
    "gpt-4o-mini-2024-07-18": (Decimal("0.00000015"), Decimal("0.0000006")),
    "gpt-realtime-1.5": (Decimal("0.000004"), Decimal("0.000016")),
    "text-embedding-3-small": (Decimal("0.00000002"), Decimal("0")),
}
USAGE_GROUPS = ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier")
LIMITS = {"1m": 1440, "1h": 168, "1d": 31}
DEFAULT_LIMITS = {"1m": 60, "1h": 24, "1d": 7}

_runs: weakref.WeakKeyDictionary[AppContext, Sandbox] = weakref.WeakKeyDictionary()


class Reject(Exception):
    """An answer other than 200, raised from deep inside a handler."""

    def __init__(self, status: int, answer: Any) -> None:
        self.status = status
        self.answer = answer


def client(app: AppContext, service: str) -> HttpClient:
    """An HttpClient whose requests the run's sandbox answers in-process."""
    from ctoops.http import FunctionTransport

    sandbox = _runs.get(app)
    if sandbox is None:
        sandbox = _runs[app] = Sandbox()
        app.notify("sandbox: answers come from ctoops' built-in simulation, not a real deployment")
    base = WORKER_URL if service == "opencto" else OPENAI_URL
    return app.http(service, base, "sandbox-token", transport=FunctionTransport(sandbox.handle))


def faults() -> set[str]:
    return {f.strip() for f in os.environ.get("CTOOPS_SANDBOX_FAULTS", "").split(",") if f.strip()}


# -- dispatch -----------------------------------------------------------------------------------


class Sandbox:
    """One run's simulation; it remembers the workspace keys saved during the run."""

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, Any] | None] = {}

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        return handle(method, target, headers, body, self.keys)


def handle(
    method: str, target: str, headers: dict[str, str], body: bytes, keys: dict[str, Any] | None = None
) -> tuple[int, dict[str, str], bytes]:
    keys = {} if keys is None else keys
    parts = urlsplit(target)
    path = parts.path
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(key.removesuffix("[]"), []).append(value)
    echo = {k: headers[k] for k in ("x-opencto-trace-id", "traceparent") if k in headers}
    try:
        payload = json.loads(body) if body else {}
    except ValueError:
        return _worker_error(400, "BAD_REQUEST", "Body must be JSON")
    try:
        if path.startswith("/v1/"):
            extra = {"x-request-id": "req_sandbox" + hashlib.sha1(target.encode()).hexdigest()[:24]}
            status, answer = _openai(method, path[3:], query, payload)
        else:
            extra = echo
            status, answer = _worker(method, path, query, payload, keys)
    except Reject as reject:
        status, answer = reject.status, reject.answer
    if isinstance(answer, bytes):
        return status, {"content-type": "text/html; charset=UTF-8", **extra}, answer
    return status, {"content-type": "application/json", **extra}, _dumps(answer)


def _worker(
    method: str, path: str, query: dict[str, list[str]], body: dict[str, Any], keys: dict[str, Any]
) -> tuple[int, Any]:
    if method == "GET" and path in ("/health", "/api/v1/health"):
        return 200, {"status": "healthy", "timestamp": _iso(time.time())}
    if method == "GET" and path == "/api/v1/cto/openai/models":
        if "models-502" in faults():
            return 502, CLOUDFLARE_502
        return _openai("GET", "/models", {}, {})
    if method == "POST" and path == "/api/v1/realtime/token":
        if "rate-limited" in faults():
            return 429, {
                "error": "Rate limit exceeded",
                "code": "QUOTA_EXCEEDED",
                "status": 429,
                "details": {
                    "bucket": "realtime_token",
                    "limit": 30,
                    "windowSeconds": 60,
                    "retryAfterSeconds": 1,
                },
            }
        status, answer = _openai("POST", "/realtime/client_secrets", {}, {"session": {"model": body.get("model")}})
        if status != 200:
            return status, {
                "error": "OpenAI rejected the request",
                "code": "OPENAI_ERROR",
                "details": json.dumps(answer),
            }
        return 200, {"clientSecret": answer["value"], "expiresAt": answer["expires_at"]}
    if path == "/api/v1/cto/openai/usage" and method == "GET":
        if "openai-invalid-key" in faults():
            return 401, INVALID_KEY
        if "usage-date-param" in faults():
            return 400, {
                "error": {
                    "message": "Missing query parameter 'date'",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            }
        return 200, _legacy_usage(query)
    if path == "/api/v1/llm/keys" and method == "GET":
        workspace = _first(query, "workspaceId") or "default"
        record = keys.get(workspace, _default_key(workspace))
        return 200, {"workspaceId": workspace, "keys": [record] if record else []}
    match = re.fullmatch(r"/api/v1/llm/keys/([a-z0-9_-]{2,40})", path)
    if match and method == "PUT":
        api_key, workspace = body.get("apiKey"), body.get("workspaceId") or "default"
        if not isinstance(api_key, str) or len(api_key) < 8:
            return _worker_json(400, "BAD_REQUEST", "apiKey is required and must be at least 8 characters")
        now = _iso(time.time())
        keys[workspace] = {
            "provider": match.group(1),
            "workspaceId": workspace,
            "keyHint": "****" + api_key[-4:],
            "createdAt": now,
            "updatedAt": now,
        }
        return 200, {
            "saved": True,
            "provider": match.group(1),
            "workspaceId": workspace,
            "keyHint": "****" + api_key[-4:],
            "updatedAt": now,
        }
    if match and method == "DELETE":
        workspace = _first(query, "workspaceId") or "default"
        existed = keys.get(workspace, _default_key(workspace)) is not None
        keys[workspace] = None
        return 200, {"deleted": existed, "provider": match.group(1), "workspaceId": workspace}
    return _worker_json(404, "NOT_FOUND", "Not found")


def _openai(method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]) -> tuple[int, Any]:
    if "openai-invalid-key" in faults():
        return 401, INVALID_KEY
    if method == "GET" and path == "/models":
        return 200, {
            "object": "list",
            "data": [{"id": i, "object": "model", "created": c, "owned_by": o} for i, c, o in MODEL_LIST],
        }
    if method == "POST" and path == "/realtime/client_secrets":
        session = body.get("session") or {}
        model = session.get("model") or "gpt-realtime"
        now = int(time.time())
        ttl = 20 if "realtime-expiring" in faults() else 600
        value = "" if "realtime-empty" in faults() else "ek_sandbox" + hashlib.sha1(str(now).encode()).hexdigest()[:22]
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
    if method == "GET" and path.startswith("/organization/usage/"):
        return _usage_page(path.rsplit("/", 1)[1], query)
    if method == "GET" and path == "/organization/costs":
        return _costs_page(query)
    return 404, {
        "error": {
            "message": f"Invalid URL ({method} /v1{path})",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }


# -- usage and costs ----------------------------------------------------------------------------


def _atoms(kind: str) -> list[dict[str, Any]]:
    """The finest rows the sandbox knows: every (model, project, api key) of a kind."""
    models = {"completions": CHAT_MODELS, "embeddings": EMBEDDING_MODELS}.get(kind, ())
    atoms = []
    for model, project, (key, user) in itertools.product(models, PROJECTS, API_KEYS.items()):
        atoms.append(
            {
                "model": model,
                "project_id": project,
                "api_key_id": key,
                "user_id": user,
                "batch": project == "proj_sbxBatch",
                "service_tier": "default",
            }
        )
    return atoms


def _amount(*parts: object, scale: int = 1000) -> int:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") % scale


def _metrics(kind: str, atom: dict[str, Any], start: int, width: int) -> dict[str, int]:
    """Deterministic usage of one atom over [start, start + width); hours split their day."""
    day = start - start % DAY
    requests = _amount(day, kind, *atom.values(), scale=400)
    if atom["model"] == "gpt-4o-2024-08-06":
        requests //= 2
    if width < DAY:  # an hour: its share of the day, by a fixed weight per hour
        weights = [1 + _amount(day, h, "w", scale=9) for h in range(24)]
        hour = (start - day) // 3600
        requests = requests * weights[hour] // sum(weights)
    metrics = {
        "input_tokens": requests * (900 + _amount(day, atom["model"], "in", scale=600)),
        "output_tokens": requests * (120 + _amount(day, atom["model"], "out", scale=200))
        if kind == "completions"
        else 0,
        "num_model_requests": requests,
    }
    if kind == "completions":
        metrics["input_cached_tokens"] = metrics["input_tokens"] * _amount(day, "cache", scale=40) // 100
        audio = atom["model"] == "gpt-realtime-1.5"
        metrics["input_audio_tokens"] = metrics["input_tokens"] // 2 if audio else 0
        metrics["output_audio_tokens"] = metrics["output_tokens"] // 2 if audio else 0
    else:
        metrics.pop("output_tokens")
    return metrics


def _params(query: dict[str, list[str]], widths: dict[str, int]) -> tuple[int, int, str, int, list[str]]:
    start = _first(query, "start_time")
    if start is None or not start.isdigit():
        raise _bad_request("Missing required parameter: 'start_time'.", "start_time")
    width = _first(query, "bucket_width") or "1d"
    if width not in widths:
        raise _bad_request(f"Invalid value for 'bucket_width': {width!r}.", "bucket_width")
    now_bucket = int(time.time())
    end = int(_first(query, "end_time") or now_bucket)
    limit_text = _first(query, "limit")
    limit = int(limit_text) if limit_text and limit_text.isdigit() else DEFAULT_LIMITS.get(width, 7)
    if not 1 <= limit <= widths[width]:
        raise _bad_request(f"Invalid 'limit': must be between 1 and {widths[width]}.", "limit")
    groups = [g for value in query.get("group_by", []) for g in value.split(",") if g]
    return int(start), end, width, limit, groups


def _buckets(start: int, end: int, width: int) -> list[int]:
    first = start - start % width
    return list(range(first, end, width))


def _page(starts: list[int], query: dict[str, list[str]], limit: int) -> tuple[list[int], bool, str | None]:
    cursor = _first(query, "page")
    offset = 0
    if cursor:
        try:
            offset = int(base64.urlsafe_b64decode(cursor.removeprefix("page_").encode()).decode().split(":")[1])
        except (ValueError, IndexError):
            offset = -1
    if offset < 0:
        return [], False, None
    chunk = starts[offset : offset + limit]
    more = offset + limit < len(starts)
    token = "page_" + base64.urlsafe_b64encode(f"offset:{offset + limit}".encode()).decode() if more else None
    return chunk, more, token


def _usage_page(kind: str, query: dict[str, list[str]]) -> tuple[int, Any]:
    start, end, width_name, limit, groups = _params(query, LIMITS)
    bad = [g for g in groups if g not in USAGE_GROUPS]
    if bad:
        raise _bad_request(f"Invalid value for 'group_by': {bad[0]!r}.", "group_by")
    width = {"1m": 60, "1h": 3600, "1d": DAY}[width_name]
    chunk, more, token = _page(_buckets(start, end, width), query, limit)
    today = int(time.time()) // DAY * DAY
    data = []
    for bucket_start in chunk:
        results = []
        if bucket_start < today and width >= 3600:
            totals: dict[tuple[Any, ...], dict[str, int]] = {}
            for atom in _atoms(kind):
                key = tuple(atom[g] for g in groups)
                sums = totals.setdefault(key, {})
                for name, value in _metrics(kind, atom, bucket_start, width).items():
                    sums[name] = sums.get(name, 0) + value
            for key, sums in sorted(totals.items(), key=lambda kv: tuple(map(str, kv[0]))):
                echo = {g: None for g in ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier")}
                echo.update(dict(zip(groups, key, strict=True)))
                results.append({"object": f"organization.usage.{kind}.result", **sums, **echo})
        data.append(
            {
                "object": "bucket",
                "start_time": bucket_start,
                "end_time": bucket_start + width,
                "results": results,
            }
        )
    return 200, {"object": "page", "data": data, "has_more": more, "next_page": token}


def _line_items(day: int) -> Iterable[tuple[str, str, Decimal, int]]:
    """(project, line item, amount, quantity) for a day, from the usage the sandbox reports."""
    for project in PROJECTS:
        for model in CHAT_MODELS + EMBEDDING_MODELS:
            kind = "embeddings" if model in EMBEDDING_MODELS else "completions"
            tokens_in = tokens_out = 0
            for atom in _atoms(kind):
                if atom["model"] == model and atom["project_id"] == project:
                    m = _metrics(kind, atom, day, DAY)
                    tokens_in += m["input_tokens"]
                    tokens_out += m.get("output_tokens", 0)
            price_in, price_out = PRICES[model]
            yield project, f"{model}, input", tokens_in * price_in, tokens_in
            if tokens_out:
                yield project, f"{model}, output", tokens_out * price_out, tokens_out


def _costs_page(query: dict[str, list[str]]) -> tuple[int, Any]:
    start, end, _, limit, groups = _params(query, {"1d": 180})
    bad = [g for g in groups if g not in ("project_id", "line_item")]
    if bad:
        raise _bad_request(f"Invalid value for 'group_by': {bad[0]!r}.", "group_by")
    chunk, more, token = _page(_buckets(start, end, DAY), query, limit)
    today = int(time.time()) // DAY * DAY
    data = []
    for day in chunk:
        totals: dict[tuple[Any, ...], list[Any]] = {}
        if day < today:
            for project, item, amount, quantity in _line_items(day):
                row = {"project_id": project, "line_item": item}
                key = tuple(row[g] for g in groups)
                entry = totals.setdefault(key, [Decimal(0), 0])
                entry[0] += amount
                entry[1] += quantity
        results = []
        for key, (amount, quantity) in sorted(totals.items(), key=lambda kv: tuple(map(str, kv[0]))):
            result: dict[str, Any] = {
                "object": "organization.costs.result",
                "amount": {"value": amount, "currency": "usd"},
                "line_item": None,
                "project_id": None,
                "api_key_id": None,
            }
            result.update(dict(zip(groups, key, strict=True)))
            if "line_item" in groups:
                result.update(quantity=quantity, quantity_unit="tokens")
            results.append(result)
        data.append({"object": "bucket", "start_time": day, "end_time": day + DAY, "results": results})
    return 200, {"object": "page", "data": data, "has_more": more, "next_page": token}


def _legacy_usage(query: dict[str, list[str]]) -> dict[str, Any]:
    """What OpenAI's legacy GET /v1/usage answers for the days asked (openai-api.md §5)."""

    def day_of(text: str | None) -> int | None:
        try:
            return int(datetime.strptime(text or "", "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
        except ValueError:
            return None

    start = day_of(_first(query, "start")) or int(time.time()) // DAY * DAY - DAY
    end = day_of(_first(query, "end")) or start + DAY
    today = int(time.time()) // DAY * DAY
    data = []
    for day in range(start, min(end, today), DAY):
        for atom in _atoms("completions"):
            m = _metrics("completions", atom, day, DAY)
            if not m["num_model_requests"]:
                continue
            data.append(
                {
                    "organization_id": "org-sandbox",
                    "organization_name": "Sandbox",
                    "aggregation_timestamp": day + 300 * _amount(day, *atom.values(), scale=288),
                    "n_requests": m["num_model_requests"],
                    "operation": "completion",
                    "snapshot_id": atom["model"],
                    "n_context_tokens_total": m["input_tokens"],
                    "n_generated_tokens_total": m["output_tokens"],
                    "n_cached_context_tokens_total": m["input_cached_tokens"],
                    "email": None,
                    "api_key_id": atom["api_key_id"],
                    "api_key_name": None,
                    "api_key_redacted": None,
                    "api_key_type": None,
                    "project_id": atom["project_id"],
                    "project_name": None,
                    "request_type": "api",
                }
            )
    return {
        "object": "list",
        "data": data,
        "ft_data": [],
        "dalle_api_data": [],
        "whisper_api_data": [],
        "tts_api_data": [],
        "assistant_code_interpreter_data": [],
        "retrieval_storage_data": [],
    }


# -- logs ---------------------------------------------------------------------------------------


def sample_tail_log(now: float | None = None) -> bytes:
    """An hour of ``wrangler tail --format json`` output (4-space pretty objects) ending at the
    last whole 5-minute window before ``now``: steady traffic on both buckets (a request every
    2 s on each), a small 429 burst on realtime_token 20 minutes in, a few 502s and one
    exception on the proxies, CORS preflights. The same pattern every time, shifted to now;
    it stays under the default runbook's thresholds (5% 429, 2% 5xx)."""
    end = int(now if now is not None else time.time()) // 300 * 300
    start = end - 3600
    events = []
    for offset in range(0, 3600, 2):
        second = start + offset
        burst = 1200 <= offset < 1500 and _amount(offset, "rt", scale=40) == 0
        events.append(_tail_event(second * 1000 + 120, "POST", "/api/v1/realtime/token", 429 if burst else 200))
        path = "/api/v1/cto/openai/models" if offset % 4 else "/api/v1/cto/openai/usage?start=2026-01-01&end=2026-01-02"
        proxy_status: int | None = 502 if _amount(offset, "px", scale=300) == 0 else 200
        outcome = "ok"
        if offset == 2400:
            proxy_status, outcome = None, "exception"
        events.append(_tail_event(second * 1000 + 640, "GET", path, proxy_status, outcome))
        if offset % 60 == 0:
            events.append(_tail_event(second * 1000 + 900, "OPTIONS", "/api/v1/realtime/token", 204))
    return "".join(json.dumps(e, indent=4) + "\n" for e in events).encode()


def _tail_event(ts_ms: int, method: str, path: str, status: int | None, outcome: str = "ok") -> dict[str, Any]:
    event: dict[str, Any] = {
        "request": {
            "url": "https://sandbox.opencto.invalid" + path,
            "method": method,
            "headers": {"authorization": "REDACTED"},
            "cf": {"colo": "FRA"},
        }
    }
    if status is not None:
        event["response"] = {"status": status}
    return {
        "outcome": outcome,
        "scriptName": "opencto-api-worker",
        "exceptions": [],
        "logs": [],
        "eventTimestamp": ts_ms,
        "event": event,
    }


# -- helpers ------------------------------------------------------------------------------------

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


def _default_key(workspace: str) -> dict[str, Any] | None:
    return {
        "provider": "openai",
        "workspaceId": workspace,
        "keyHint": "****SBX1",
        "createdAt": "2026-01-05T09:30:00.000Z",
        "updatedAt": "2026-01-05T09:30:00.000Z",
    }


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _worker_json(status: int, code: str, message: str) -> tuple[int, Any]:
    return status, {"error": message, "code": code, "status": status}


def _worker_error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    answer = _worker_json(status, code, message)[1]
    return status, {"content-type": "application/json"}, _dumps(answer)


def _bad_request(message: str, param: str) -> Reject:
    return Reject(400, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}})


def _dumps(answer: Any) -> bytes:
    """JSON with Decimals written as exact numbers, as the costs API sends amounts."""
    marks: dict[str, str] = {}

    def encode(value: Any) -> str:
        if isinstance(value, Decimal):
            mark = f"\u0000dec{len(marks)}\u0000"
            marks[mark] = format(value.normalize(), "f")
            return mark
        raise TypeError(type(value).__name__)

    text = json.dumps(answer, default=encode)
    for mark, number in marks.items():
        text = text.replace(json.dumps(mark), number)
    return text.encode()
