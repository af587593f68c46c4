"""Usage and costs: every documented answer shape read into one tidy set of rows.

Shapes read (``../shared/reference/openai-api.md``):

* the organization usage page (§3.4): ``{"object": "page", "data": [bucket...], "has_more",
  "next_page"}``, each bucket ``{"start_time", "end_time", "results"}`` (or the older
  ``result``), each result an ``organization.usage.<kind>.result``;
* the costs page (§4): the same envelope, results ``organization.costs.result`` with
  ``amount: {value, currency}``; ``value`` is kept as an exact ``Decimal``, whether it came as
  a JSON number or as a numeric string (``"12.50"``, seen in the field);
* the legacy ``GET /v1/usage`` list (§5), which the worker's usage proxy passes through:
  ``{"object": "list", "data": [{"aggregation_timestamp", "snapshot_id", "n_requests",
  "n_context_tokens_total", ...}]}``, summed into buckets.

One row per bucket and group: ``start_time``, ``end_time`` (unix seconds, UTC), the group-by
fields, and OpenAI's metric names. An optional metric the API did not send is ``None`` (an
empty cell), never 0: 0 would contradict the other columns (``input_cached_tokens`` 0 beside
a cached ``input_tokens``); a required one (§3.5) missing is a malformed answer. A value of
the wrong type (a list where an object is due, a string where a number is due) raises
``UpstreamError`` (exit 4) naming the field, the bucket and the value. This module is pure
Python: no pandas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ctoops.dates import DAY, iso_day, iso_second
from ctoops.errors import UpstreamError
from ctoops.usage.rows import Rows

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
# Every metric each kind reports, the spec's required ones first (openai-api.md §3.5).
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
# How many of each kind's metrics the spec marks required (the first ones above).
REQUIRED_METRICS = {"completions": 3, "embeddings": 2, "moderations": 2, "images": 2, "audio_speeches": 2}
REQUIRED_METRICS |= {"audio_transcriptions": 2, "web_search_calls": 2}
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


@dataclass(frozen=True)
class Page:
    """One answer, read. ``starts``: every bucket's ``start_time``, empty ones included;
    ``filled``: the buckets that held at least one result (for the settled-through mark)."""

    rows: Rows
    has_more: bool
    next_page: str | None
    shape: str  # "page" (organization usage/costs) or "legacy" (/v1/usage)
    starts: tuple[int, ...]
    filled: frozenset[int] = frozenset()


def required_metrics(kind: str) -> tuple[str, ...]:
    """The metrics the spec marks required for ``kind`` (the rest are optional)."""
    return KIND_METRICS[kind][: REQUIRED_METRICS.get(kind, 1)]


def usage_names(kind: str, group_by: tuple[str, ...] | list[str]) -> list[str]:
    return ["start_time", "end_time", *group_by, *KIND_METRICS[kind]]


def costs_names(group_by: tuple[str, ...] | list[str]) -> list[str]:
    extra = ["quantity", "quantity_unit"] if "line_item" in group_by else []
    return ["start_time", "end_time", *group_by, "amount", "currency", *extra]


@dataclass(frozen=True)
class _Where:
    """Where a value sits, for the error that names it (formatted only when raised):
    ``path`` is its place in the page as a JSON path (``results[0]``, ``data[3]``; 0-based)."""

    who: str
    start: int
    path: str

    def fail(self, field: str, value: Any, expected: str) -> UpstreamError:
        return UpstreamError(
            f"{self.who} answered `{field}` = {_shown(value)} in the bucket of {when(self.start)} "
            f"({self.path}): expected {expected}; not reading a total from it"
        )


def when(ts: int) -> str:
    """A bucket's start as people read it: the day at midnight, else the second (UTC)."""
    return iso_day(ts) if ts % DAY == 0 else iso_second(ts)


def parse_usage(body: Any, kind: str, group_by: tuple[str, ...], who: str, bucket_seconds: int = DAY) -> Page:
    """Rows of one usage answer, whichever documented shape it is (see the module doc).

    Raises ``UpstreamError`` (exit 4) naming the field for any undocumented shape or type.
    """
    if isinstance(body, dict) and isinstance(body.get("data"), list) and _is_legacy(body):
        return _legacy(body, group_by, bucket_seconds, who)
    metrics = KIND_METRICS[kind]
    required = required_metrics(kind)

    def row_of(result: dict[str, Any], where: _Where) -> list[Any]:
        values = [_group(result.get(g), g, where) for g in group_by]
        for metric in metrics:
            value = result.get(metric)
            if type(value) is not int:
                if value is None and metric in required:
                    raise where.fail(metric, value, "an integer (the spec requires it)")
                value = None if value is None else _count(value, metric, where)
            values.append(value)
        return values

    return _page(body, who, usage_names(kind, group_by), row_of)


def parse_costs(body: Any, group_by: tuple[str, ...], who: str) -> Page:
    """Rows of one costs page. ``amount`` is an exact ``Decimal`` (or ``None`` when the API
    sent none), ``currency`` in lower case (``USD`` and ``usd`` are one currency);
    ``quantity``/``quantity_unit`` with ``line_item``.

    Raises ``UpstreamError`` (exit 4) for an amount that is not a number (``""``, ``"n/a"``,
    a list), an amount without a currency, or any field of the wrong type, naming the bucket
    and the value."""

    def row_of(result: dict[str, Any], where: _Where) -> list[Any]:
        amount = result.get("amount")
        value: Decimal | None = None
        currency: str | None = None
        if amount is not None:
            if not isinstance(amount, dict):
                raise where.fail("amount", amount, "an object {value, currency}")
            value = money(amount.get("value"), where)
            currency = amount.get("currency")
            if currency is not None and not isinstance(currency, str):
                raise where.fail("amount.currency", currency, "a currency code such as usd")
            if currency is not None:  # ISO 4217 codes know no case: "USD" and "usd" are one currency
                currency = currency.strip().lower()
            if value is not None and not currency:
                raise where.fail("amount.currency", currency, "a currency beside the value (money without one)")
        values = [_group(result.get(g), g, where) for g in group_by]
        values += [value, currency]
        if "line_item" in group_by:
            quantity = result.get("quantity")
            if quantity is not None and not (
                type(quantity) is int or (type(quantity) is Decimal and quantity.is_finite())
            ):
                raise where.fail("quantity", quantity, "a number")
            unit = result.get("quantity_unit")
            if unit is not None and not isinstance(unit, str):
                raise where.fail("quantity_unit", unit, "a string")
            values += [quantity, unit]
        return values

    return _page(body, who, costs_names(group_by), row_of)


def money(value: Any, where: _Where) -> Decimal | None:
    """``amount.value`` as an exact Decimal: a JSON number (parsed without a float) or a
    numeric string; ``None`` when the API sent none. Anything else is named (exit 4)."""
    if value is None:
        return None
    if type(value) is Decimal or type(value) is int:
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise where.fail("amount.value", value, "a number (or a numeric string)") from None
    else:
        raise where.fail("amount.value", value, "a number")
    if not number.is_finite():
        raise where.fail("amount.value", value, "a finite number")
    return number


def _is_legacy(body: dict[str, Any]) -> bool:
    if body.get("object") == "page":
        return False
    items = body["data"]
    if not items:  # an empty list: legacy when the legacy side arrays are there
        return "ft_data" in body or body.get("object") == "list"
    return isinstance(items[0], dict) and "aggregation_timestamp" in items[0]


def _page(body: Any, who: str, names: list[str], row_of: Callable[[dict[str, Any], _Where], list[Any]]) -> Page:
    if not isinstance(body, dict):
        raise UpstreamError(f"{who} answered a usage body that is not an object ({type(body).__name__})")
    missing = [k for k in ("data", "has_more") if k not in body]
    if missing:
        raise UpstreamError(
            f"{who} answered a page without {' and '.join(f'`{m}`' for m in missing)} "
            f"(keys: {', '.join(sorted(map(str, body))) or 'none'}): neither the usage page nor the legacy list"
        )
    if not isinstance(body["data"], list):
        raise UpstreamError(f"{who} answered a page whose `data` is {_kind(body['data'])}, not an array")
    if not isinstance(body["has_more"], bool):
        raise UpstreamError(f"{who} answered `has_more` = {_shown(body['has_more'])}: expected true or false")
    next_page = body.get("next_page")
    if next_page is not None and not isinstance(next_page, str):
        raise UpstreamError(f"{who} answered `next_page` = {_shown(next_page)}: expected a cursor string or null")
    rows = Rows(names)
    starts: list[int] = []
    filled: set[int] = set()
    for i, bucket in enumerate(body["data"]):
        if not isinstance(bucket, dict):
            raise UpstreamError(f"{who} answered bucket {i} as {_kind(bucket)}, not an object")
        start = bucket.get("start_time")
        if type(start) is not int:
            raise UpstreamError(f"{who} answered bucket {i} without an integer `start_time` ({_shown(start)})")
        end = bucket.get("end_time")
        if type(end) is not int or end <= start:
            raise UpstreamError(
                f"{who} answered the bucket of {when(start)} with `end_time` = {_shown(end)}: expected an "
                "integer after its start_time"
            )
        results = bucket.get("results", bucket.get("result"))
        if results is None:
            raise UpstreamError(f"{who} answered the bucket of {when(start)} with neither `results` nor `result`")
        if not isinstance(results, list):
            raise UpstreamError(
                f"{who} answered the bucket of {when(start)} whose results are {_kind(results)}, not an array"
            )
        for j, result in enumerate(results):
            if not isinstance(result, dict):
                raise UpstreamError(
                    f"{who} answered `results[{j}]` of the bucket of {when(start)} as {_kind(result)}, not an object"
                )
            rows.append([start, end, *row_of(result, _Where(who, start, f"results[{j}]"))])
        starts.append(start)
        if results:
            filled.add(start)
    return Page(rows, body["has_more"], next_page, "page", tuple(starts), frozenset(filled))


def _legacy(body: dict[str, Any], group_by: tuple[str, ...], bucket_seconds: int, who: str) -> Page:
    """The legacy list summed into buckets; a metric missing from any entry of a bucket and
    group leaves that sum unknown (``None``); metrics the legacy shape never has are ``None``."""
    metrics = KIND_METRICS["completions"]
    sums: dict[tuple[Any, ...], dict[str, int | None]] = {}
    for i, item in enumerate(body["data"]):
        if not isinstance(item, dict) or type(item.get("aggregation_timestamp")) is not int:
            raise UpstreamError(f"{who} answered legacy entry `data[{i}]` without an integer `aggregation_timestamp`")
        stamp = item["aggregation_timestamp"]
        start = stamp - stamp % bucket_seconds
        where = _Where(who, start, f"data[{i}]")
        groups = {ours: _group(item.get(theirs), theirs, where) for theirs, ours in LEGACY_GROUPS.items()}
        key = (start, *(groups.get(g) for g in group_by))
        entry = sums.setdefault(key, dict.fromkeys(LEGACY_METRICS.values(), 0))
        for theirs, ours in LEGACY_METRICS.items():
            raw = item.get(theirs)
            value = None if raw is None else raw if type(raw) is int else _count(raw, theirs, where)
            before = entry[ours]
            entry[ours] = None if value is None or before is None else before + value
    rows = Rows(usage_names("completions", group_by))
    for key in sorted(sums, key=lambda k: (k[0], *("" if v is None else str(v) for v in k[1:]))):
        rows.append([key[0], key[0] + bucket_seconds, *key[1:], *(sums[key].get(m) for m in metrics)])
    starts = tuple(sorted({k[0] for k in sums}))
    return Page(rows, False, None, "legacy", starts, frozenset(starts))


def _group(value: Any, field: str, where: _Where) -> Any:
    if value is None or (type(value) is str and field != "batch") or (field == "batch" and type(value) is bool):
        return value
    raise where.fail(field, value, "true, false or null" if field == "batch" else "a string or null")


def _count(value: Any, field: str, where: _Where) -> int:
    """A count the API sent as a non-int JSON number: kept when integral (``12.0``), else named."""
    if type(value) is Decimal and value.is_finite() and value == value.to_integral_value():
        return int(value)
    raise where.fail(field, value, "an integer")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _shown(value: Any) -> str:
    """The value as JSON would show it, cut short."""
    import json

    def plain(v: Any) -> Any:  # numbers as the JSON had them (Decimals are how ctoops reads them)
        if isinstance(v, Decimal):
            return int(v) if v.is_finite() and v == v.to_integral_value() and "." not in str(v) else float(v)
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    try:
        text = json.dumps(plain(value), default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
