"""Usage and costs: every documented answer shape normalised into one tidy set of rows.

Shapes read (``../shared/reference/openai-api.md``):

* the organization usage page (§3.4): ``{"object": "page", "data": [bucket...], "has_more",
  "next_page"}``, each bucket ``{"start_time", "end_time", "results"}`` (or the older
  ``result``), each result an ``organization.usage.<kind>.result``;
* the costs page (§4): the same envelope, results ``organization.costs.result`` with
  ``amount: {value, currency}``; ``value`` is kept as an exact ``Decimal``;
* the legacy ``GET /v1/usage`` list (§5), which the worker's usage proxy passes through:
  ``{"object": "list", "data": [{"aggregation_timestamp", "snapshot_id", "n_requests",
  "n_context_tokens_total", ...}]}``, summed into buckets.

One row per bucket and group: ``start_time``, ``end_time`` (unix seconds, UTC), the group-by
fields, and OpenAI's metric names. This module is pure Python: no pandas until a frame is
asked for (``ctoops.usage_frame``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ctoops.errors import UpstreamError

# Every group-by field the usage endpoints echo, and the costs ones.
USAGE_GROUPS = ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier")
COSTS_GROUPS = ("project_id", "line_item")
KIND_GROUPS: dict[str, tuple[str, ...]] = {
    "completions": USAGE_GROUPS,
    "embeddings": ("project_id", "user_id", "api_key_id", "model"),
    "moderations": ("project_id", "user_id", "api_key_id", "model"),
    "images": ("project_id", "user_id", "api_key_id", "model", "size", "source"),
    "audio_speeches": ("project_id", "user_id", "api_key_id", "model"),
    "audio_transcriptions": ("project_id", "user_id", "api_key_id", "model"),
    "vector_stores": ("project_id",),
    "code_interpreter_sessions": ("project_id",),
    "file_search_calls": ("project_id", "user_id", "api_key_id", "vector_store_id"),
    "web_search_calls": ("project_id", "user_id", "api_key_id", "model", "context_level"),
}
# Every metric each kind reports (required ones first); a metric missing from a result is 0.
KIND_METRICS: dict[str, tuple[str, ...]] = {
    "completions": (
        "input_tokens",
        "output_tokens",
        "num_model_requests",
        "input_cached_tokens",
        "input_cache_write_tokens",
        "input_uncached_tokens",
        "input_text_tokens",
        "output_text_tokens",
        "input_cached_text_tokens",
        "input_audio_tokens",
        "input_cached_audio_tokens",
        "output_audio_tokens",
        "input_image_tokens",
        "input_cached_image_tokens",
        "output_image_tokens",
    ),
    "embeddings": ("input_tokens", "num_model_requests"),
    "moderations": ("input_tokens", "num_model_requests"),
    "images": ("images", "num_model_requests"),
    "audio_speeches": ("characters", "num_model_requests"),
    "audio_transcriptions": ("seconds", "num_model_requests"),
    "vector_stores": ("usage_bytes",),
    "code_interpreter_sessions": ("num_sessions",),
    "file_search_calls": ("num_requests",),
    "web_search_calls": ("num_model_requests", "num_requests"),
}
# The legacy /v1/usage names, mapped onto the organization usage names.
LEGACY_METRICS = {
    "n_context_tokens_total": "input_tokens",
    "n_generated_tokens_total": "output_tokens",
    "n_cached_context_tokens_total": "input_cached_tokens",
    "n_requests": "num_model_requests",
}
LEGACY_GROUPS = {"snapshot_id": "model", "project_id": "project_id", "api_key_id": "api_key_id"}


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    has_more: bool
    next_page: str | None
    shape: str  # "page" (organization usage/costs) or "legacy" (/v1/usage)
    buckets: int


def parse_usage(body: Any, kind: str, group_by: tuple[str, ...], who: str, bucket_seconds: int = 86400) -> Page:
    """Rows of one usage answer, whichever documented shape it is."""
    if isinstance(body, dict) and isinstance(body.get("data"), list) and _is_legacy(body):
        return _legacy(body, group_by, bucket_seconds)
    return _page(body, who, lambda result: _usage_row(result, kind, group_by))


def parse_costs(body: Any, group_by: tuple[str, ...], who: str) -> Page:
    return _page(body, who, lambda result: _costs_row(result, group_by))


def _is_legacy(body: dict[str, Any]) -> bool:
    if body.get("object") == "page":
        return False
    items = body["data"]
    if not items:  # an empty list: legacy when the legacy side arrays are there
        return "ft_data" in body or body.get("object") == "list"
    return isinstance(items[0], dict) and "aggregation_timestamp" in items[0]


def _page(body: Any, who: str, row_of: Any) -> Page:
    if not isinstance(body, dict):
        raise UpstreamError(f"{who} answered a usage body that is not an object ({type(body).__name__})")
    missing = [k for k in ("data", "has_more") if k not in body]
    if missing:
        raise UpstreamError(
            f"{who} answered a page without {' and '.join(f'`{m}`' for m in missing)} "
            f"(keys: {', '.join(sorted(body)) or 'none'}): neither the usage page nor the legacy list"
        )
    if not isinstance(body["data"], list):
        raise UpstreamError(f"{who} answered a page whose `data` is not an array")
    rows: list[dict[str, Any]] = []
    for i, bucket in enumerate(body["data"]):
        if not isinstance(bucket, dict) or not isinstance(bucket.get("start_time"), int):
            raise UpstreamError(f"{who} answered a page whose bucket {i} has no integer `start_time`")
        results = bucket.get("results", bucket.get("result"))
        if results is None:
            raise UpstreamError(f"{who} answered a bucket ({bucket['start_time']}) with neither `results` nor `result`")
        if not isinstance(results, list):
            raise UpstreamError(f"{who} answered a bucket ({bucket['start_time']}) whose results are not an array")
        end = bucket.get("end_time")
        for result in results:
            if not isinstance(result, dict):
                raise UpstreamError(f"{who} answered a result that is not an object in bucket {bucket['start_time']}")
            rows.append({"start_time": bucket["start_time"], "end_time": end, **row_of(result)})
    next_page = body.get("next_page")
    return Page(
        rows,
        bool(body["has_more"]),
        next_page if isinstance(next_page, str) else None,
        "page",
        len(body["data"]),
    )


def _usage_row(result: dict[str, Any], kind: str, group_by: tuple[str, ...]) -> dict[str, Any]:
    row: dict[str, Any] = {g: result.get(g) for g in group_by}
    for metric in KIND_METRICS.get(kind, ()):
        row[metric] = _int(result.get(metric))
    return row


def _costs_row(result: dict[str, Any], group_by: tuple[str, ...]) -> dict[str, Any]:
    amount = result.get("amount") if isinstance(result.get("amount"), dict) else {}
    value = amount.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str, type(None))):
        value = None
    row: dict[str, Any] = {g: result.get(g) for g in group_by}
    row["amount"] = Decimal(str(value)) if value is not None else Decimal(0)
    row["currency"] = amount.get("currency") or "usd"
    if "line_item" in group_by:
        row["quantity"] = result.get("quantity")
        row["quantity_unit"] = result.get("quantity_unit")
    return row


def _legacy(body: dict[str, Any], group_by: tuple[str, ...], bucket_seconds: int) -> Page:
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    wanted = {LEGACY_GROUPS.get(g, g) for g in group_by}
    for item in body["data"]:
        if not isinstance(item, dict) or not isinstance(item.get("aggregation_timestamp"), int):
            raise UpstreamError("the legacy usage list has an entry without an integer `aggregation_timestamp`")
        start = item["aggregation_timestamp"] - item["aggregation_timestamp"] % bucket_seconds
        groups = {ours: item.get(theirs) for theirs, ours in LEGACY_GROUPS.items() if ours in wanted}
        key = (start, *(groups.get(g) for g in group_by))
        row = sums.setdefault(
            key,
            {
                "start_time": start,
                "end_time": start + bucket_seconds,
                **{g: groups.get(g) for g in group_by},
                **dict.fromkeys(KIND_METRICS["completions"], 0),
            },
        )
        for theirs, ours in LEGACY_METRICS.items():
            row[ours] += _int(item.get(theirs))
    rows = [sums[k] for k in sorted(sums, key=lambda k: (k[0], *("" if v is None else str(v) for v in k[1:])))]
    return Page(rows, False, None, "legacy", len({r["start_time"] for r in rows}))


def _int(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError, ArithmeticError):
        return 0
