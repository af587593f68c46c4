"""The sandbox's numbers: deterministic usage, costs and legacy usage answers.

The same range always gives the same numbers (a hash of the day and the row's attributes),
so examples and tests can rely on them. Data lands as it does in the field, by ctoops' clock
(``ctoops.checks.clock``): usage up to the last whole hour (today's day bucket is partial,
still open), costs a day late (yesterday's and today's buckets are empty: not landed), and
nothing in the future. Shapes as ``../shared/reference/openai-api.md`` §3-5 document them.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ctoops.dates import DAY

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


class Reject(Exception):
    """An answer other than 200, raised from deep inside a handler."""

    def __init__(self, status: int, answer: Any) -> None:
        self.status = status
        self.answer = answer


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


def _metrics(kind: str, atom: dict[str, Any], start: int, width: int) -> dict[str, int]:
    """Deterministic usage of one atom over [start, start + width); hours split their day."""
    day = start - start % DAY
    requests = amount(day, kind, *atom.values(), scale=400)
    if atom["model"] == "gpt-4o-2024-08-06":
        requests //= 2
    if width < DAY:  # an hour: its share of the day, by a fixed weight per hour
        weights = [1 + amount(day, h, "w", scale=9) for h in range(24)]
        hour = (start - day) // 3600
        requests = requests * weights[hour] // sum(weights)
    metrics = {
        "input_tokens": requests * (900 + amount(day, atom["model"], "in", scale=600)),
        "output_tokens": requests * (120 + amount(day, atom["model"], "out", scale=200))
        if kind == "completions"
        else 0,
        "num_model_requests": requests,
    }
    if kind == "completions":
        metrics["input_cached_tokens"] = metrics["input_tokens"] * amount(day, "cache", scale=40) // 100
        audio = atom["model"] == "gpt-realtime-1.5"
        metrics["input_audio_tokens"] = metrics["input_tokens"] // 2 if audio else 0
        metrics["output_audio_tokens"] = metrics["output_tokens"] // 2 if audio else 0
    else:
        metrics.pop("output_tokens")
    return metrics


def _now() -> int:
    """The sandbox's clock: ctoops' one clock, so a test that pins it pins the data too."""
    from ctoops.checks import clock

    return int(clock.now())


def _landed_metrics(kind: str, atom: dict[str, Any], start: int, width: int, landed: int) -> dict[str, int]:
    """A bucket's metrics as far as they have landed: whole when it ended before ``landed``,
    else the sum of its hours before ``landed`` (the open day bucket)."""
    if start + width <= landed or width < DAY:
        return _metrics(kind, atom, start, width)
    sums: dict[str, int] = {}
    for hour in range(start, min(start + width, landed), 3600):
        for name, value in _metrics(kind, atom, hour, 3600).items():
            sums[name] = sums.get(name, 0) + value
    return sums


def _params(query: dict[str, list[str]], widths: dict[str, int]) -> tuple[int, int, str, int, list[str]]:
    start = first(query, "start_time")
    if start is None or not start.isdigit():
        raise bad_request("Missing required parameter: 'start_time'.", "start_time")
    width = first(query, "bucket_width") or "1d"
    if width not in widths:
        raise bad_request(f"Invalid value for 'bucket_width': {width!r}.", "bucket_width")
    end = int(first(query, "end_time") or _now())
    limit_text = first(query, "limit")
    limit = int(limit_text) if limit_text and limit_text.isdigit() else DEFAULT_LIMITS.get(width, 7)
    if not 1 <= limit <= widths[width]:
        raise bad_request(f"Invalid 'limit': must be between 1 and {widths[width]}.", "limit")
    groups = [g for value in query.get("group_by", []) for g in value.split(",") if g]
    return int(start), end, width, limit, groups


def _buckets(start: int, end: int, width: int) -> list[int]:
    first = start - start % width
    return list(range(first, end, width))


def _page(starts: list[int], query: dict[str, list[str]], limit: int) -> tuple[list[int], bool, str | None]:
    cursor = first(query, "page")
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


def usage_page(kind: str, query: dict[str, list[str]]) -> tuple[int, Any]:
    start, end, width_name, limit, groups = _params(query, LIMITS)
    bad = [g for g in groups if g not in USAGE_GROUPS]
    if bad:
        raise bad_request(f"Invalid value for 'group_by': {bad[0]!r}.", "group_by")
    width = {"1m": 60, "1h": 3600, "1d": DAY}[width_name]
    chunk, more, token = _page(_buckets(start, end, width), query, limit)
    landed = _now() // 3600 * 3600  # usage lands by the hour: everything before this hour
    data = []
    for bucket_start in chunk:
        results = []
        if bucket_start < landed and width >= 3600:
            totals: dict[tuple[Any, ...], dict[str, int]] = {}
            for atom in _atoms(kind):
                key = tuple(atom[g] for g in groups)
                sums = totals.setdefault(key, {})
                for name, value in _landed_metrics(kind, atom, bucket_start, width, landed).items():
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


def costs_page(query: dict[str, list[str]]) -> tuple[int, Any]:
    start, end, _, limit, groups = _params(query, {"1d": 180})
    bad = [g for g in groups if g not in ("project_id", "line_item")]
    if bad:
        raise bad_request(f"Invalid value for 'group_by': {bad[0]!r}.", "group_by")
    chunk, more, token = _page(_buckets(start, end, DAY), query, limit)
    landed = _now() // DAY * DAY - DAY  # costs land a day late: not yesterday's, not today's
    data = []
    for day in chunk:
        totals: dict[tuple[Any, ...], list[Any]] = {}
        if day < landed:
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


def legacy_usage(query: dict[str, list[str]]) -> dict[str, Any]:
    """What OpenAI's legacy GET /v1/usage answers for the days asked (openai-api.md §5)."""

    def day_of(text: str | None) -> int | None:
        try:
            return int(datetime.strptime(text or "", "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
        except ValueError:
            return None

    start = day_of(first(query, "start")) or _now() // DAY * DAY - DAY
    end = day_of(first(query, "end")) or start + DAY
    today = _now() // DAY * DAY
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
                    "aggregation_timestamp": day + 300 * amount(day, *atom.values(), scale=288),
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


def bad_request(message: str, param: str) -> Reject:
    """OpenAI's 400 for a bad parameter (openai-api.md §6.1)."""
    return Reject(400, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}})


def first(query: dict[str, list[str]], key: str) -> str | None:
    """The first value of a query parameter, or None."""
    values = query.get(key)
    return values[0] if values else None


def amount(*parts: object, scale: int = 1000) -> int:
    """A deterministic number in [0, scale) from ``parts``."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") % scale
