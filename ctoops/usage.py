"""Usage and costs: every documented answer shape normalised into one tidy set of rows.

(Paging and windows are in ``ctoops.pull``; the pandas frame in ``ctoops.usage_frame``.)

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
fields, and OpenAI's metric names. This module is pure Python: no pandas.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ctoops.dates import DAY
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
DATE_PARAM_MEANING = (
    "OpenAI's legacy GET /v1/usage wants ?date=YYYY-MM-DD, but the worker forwards the range as "
    "start_time/end_time, so its usage proxy cannot answer until the worker is fixed; meanwhile "
    "pull usage with `ctoops --via openai usage pull` and an admin key"
)


def is_date_param_error(message: str) -> bool:
    """OpenAI's answer when the worker's usage proxy calls the legacy endpoint without ?date=."""
    return "Missing query parameter" in message and "date" in message


class Rows:
    """Rows kept by column (name -> list), every column the same length.

    A million usage rows as dicts cost about a gigabyte and seconds to take apart again;
    as columns they go straight into Arrow arrays (``ctoops.usage_frame``).
    """

    __slots__ = ("columns", "length")

    def __init__(self, names: Sequence[str]) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in names}
        self.length = 0

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def __len__(self) -> int:
        return self.length

    def append(self, values: Sequence[Any]) -> None:
        """One row, its values in column order."""
        for column, value in zip(self.columns.values(), values, strict=True):
            column.append(value)
        self.length += 1

    def extend(self, other: Rows) -> None:
        for name, column in self.columns.items():
            column.extend(other.columns[name])
        self.length += other.length

    def column(self, name: str) -> list[Any]:
        return self.columns[name]

    def keep(self, flags: Sequence[bool]) -> Rows:
        kept = Rows(self.names)
        for name, column in self.columns.items():
            kept.columns[name] = [v for v, keep in zip(column, flags, strict=True) if keep]
        kept.length = sum(flags)
        return kept

    def records(self) -> list[dict[str, Any]]:
        """As dicts: for small data and tests."""
        names = self.names
        return [dict(zip(names, values, strict=True)) for values in zip(*self.columns.values(), strict=True)]


@dataclass(frozen=True)
class Page:
    rows: Rows
    has_more: bool
    next_page: str | None
    shape: str  # "page" (organization usage/costs) or "legacy" (/v1/usage)
    starts: tuple[int, ...]  # every bucket's start_time, empty ones included


def usage_names(kind: str, group_by: Sequence[str]) -> list[str]:
    return ["start_time", "end_time", *group_by, *KIND_METRICS[kind]]


def costs_names(group_by: Sequence[str]) -> list[str]:
    extra = ["quantity", "quantity_unit"] if "line_item" in group_by else []
    return ["start_time", "end_time", *group_by, "amount", "currency", *extra]


def parse_usage(body: Any, kind: str, group_by: tuple[str, ...], who: str, bucket_seconds: int = DAY) -> Page:
    """Rows of one usage answer, whichever documented shape it is."""
    if isinstance(body, dict) and isinstance(body.get("data"), list) and _is_legacy(body):
        return _legacy(body, group_by, bucket_seconds)
    metrics = KIND_METRICS[kind]

    def row_of(result: dict[str, Any]) -> list[Any]:
        values = [result.get(g) for g in group_by]
        for metric in metrics:
            value = result.get(metric)
            values.append(value if type(value) is int else _int(value))
        return values

    return _page(body, who, usage_names(kind, group_by), row_of)


def parse_costs(body: Any, group_by: tuple[str, ...], who: str) -> Page:
    def row_of(result: dict[str, Any]) -> list[Any]:
        amount = result.get("amount") if isinstance(result.get("amount"), dict) else {}
        value = amount.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str, type(None))):
            value = None
        values = [result.get(g) for g in group_by]
        values += [Decimal(str(value)) if value is not None else Decimal(0), amount.get("currency") or "usd"]
        if "line_item" in group_by:
            values += [result.get("quantity"), result.get("quantity_unit")]
        return values

    return _page(body, who, costs_names(group_by), row_of)


def _is_legacy(body: dict[str, Any]) -> bool:
    if body.get("object") == "page":
        return False
    items = body["data"]
    if not items:  # an empty list: legacy when the legacy side arrays are there
        return "ft_data" in body or body.get("object") == "list"
    return isinstance(items[0], dict) and "aggregation_timestamp" in items[0]


def _page(body: Any, who: str, names: list[str], row_of: Callable[[dict[str, Any]], list[Any]]) -> Page:
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
    rows = Rows(names)
    for i, bucket in enumerate(body["data"]):
        if not isinstance(bucket, dict) or not isinstance(bucket.get("start_time"), int):
            raise UpstreamError(f"{who} answered a page whose bucket {i} has no integer `start_time`")
        start = bucket["start_time"]
        results = bucket.get("results", bucket.get("result"))
        if results is None:
            raise UpstreamError(f"{who} answered a bucket ({start}) with neither `results` nor `result`")
        if not isinstance(results, list):
            raise UpstreamError(f"{who} answered a bucket ({start}) whose results are not an array")
        end = bucket.get("end_time")
        for result in results:
            if not isinstance(result, dict):
                raise UpstreamError(f"{who} answered a result that is not an object in bucket {start}")
            rows.append([start, end, *row_of(result)])
    next_page = body.get("next_page")
    starts = tuple(b["start_time"] for b in body["data"])
    return Page(rows, bool(body["has_more"]), next_page if isinstance(next_page, str) else None, "page", starts)


def _legacy(body: dict[str, Any], group_by: tuple[str, ...], bucket_seconds: int) -> Page:
    metrics = KIND_METRICS["completions"]
    sums: dict[tuple[Any, ...], dict[str, int]] = {}
    for item in body["data"]:
        if not isinstance(item, dict) or not isinstance(item.get("aggregation_timestamp"), int):
            raise UpstreamError("the legacy usage list has an entry without an integer `aggregation_timestamp`")
        start = item["aggregation_timestamp"] - item["aggregation_timestamp"] % bucket_seconds
        groups = {ours: item.get(theirs) for theirs, ours in LEGACY_GROUPS.items()}
        key = (start, *(groups.get(g) for g in group_by))
        entry = sums.setdefault(key, dict.fromkeys(metrics, 0))
        for theirs, ours in LEGACY_METRICS.items():
            entry[ours] += _int(item.get(theirs))
    rows = Rows(usage_names("completions", group_by))
    for key in sorted(sums, key=lambda k: (k[0], *("" if v is None else str(v) for v in k[1:]))):
        rows.append([key[0], key[0] + bucket_seconds, *key[1:], *(sums[key][m] for m in metrics)])
    return Page(rows, False, None, "legacy", tuple(sorted({k[0] for k in sums})))


def _int(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError, ArithmeticError):
        return 0
