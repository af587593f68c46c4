"""Usage and costs rows as pandas DataFrames, and the summaries built on them.

Columns, in this order: ``start_time``, ``end_time`` (``datetime64[s, UTC]``), the group-by
fields (strings; ``batch`` boolean), then the metrics (int64, a metric the API left out is 0)
or, for costs, ``amount`` (exact ``Decimal`` objects) and ``currency`` (plus ``quantity`` and
``quantity_unit`` when grouped by ``line_item``). Totals are summed in Python integers and
Decimals, never floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ctoops.usage import KIND_METRICS, Rows

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def _ints(values: list[Any], kind: pa.DataType) -> pa.Array:
    """int64 (or timestamp) column from Python ints through a C buffer (16x pa.array's speed)."""
    import array

    import numpy as np
    import pyarrow as pa

    try:
        buffer = np.frombuffer(array.array("q", values), dtype=np.int64)
    except (TypeError, OverflowError):  # a None or a non-int slipped in: the careful path
        return pa.array(values, type=kind)
    if pa.types.is_timestamp(kind):
        return pa.array(buffer.view("datetime64[s]")).cast(kind)
    return pa.array(buffer, type=kind)


def _table(rows: Rows, types: dict[str, Any], group_by: Sequence[str]) -> pa.Table:
    """Columns built one by one, then sorted by start_time and the groups (in Arrow, not Python)."""
    import pyarrow as pa

    arrays = {}
    for name, kind in types.items():
        values = rows.column(name)
        if name == "amount":
            arrays[name] = pa.array(values, type=decimal_type(values))
        elif kind is not None and (pa.types.is_int64(kind) or pa.types.is_timestamp(kind)):
            arrays[name] = _ints(values, kind)
        elif kind is not None and pa.types.is_floating(kind):
            arrays[name] = pa.array([None if v is None else float(v) for v in values], type=kind)
        else:
            arrays[name] = pa.array(values, type=kind)
    table = pa.table(arrays) if arrays else pa.table({})
    return table.sort_by([("start_time", "ascending"), *((g, "ascending") for g in group_by)])


def decimal_type(values: Sequence[Decimal | None]) -> pa.DataType:
    """The narrowest decimal128 that holds every value exactly (at least 2 decimal places)."""
    import pyarrow as pa

    scale = 2
    digits = 1
    for value in values:
        if value is None:
            continue
        sign, tup, exponent = value.as_tuple()
        if isinstance(exponent, int):
            scale = max(scale, -exponent)
            digits = max(digits, len(tup) + max(exponent, 0))
    precision = min(38, max(scale + 1, digits + scale))
    return pa.decimal128(precision, scale)


def usage_table(rows: Rows, kind: str, group_by: Sequence[str]) -> pa.Table:
    import pyarrow as pa

    ts = pa.timestamp("s", tz="UTC")
    types: dict[str, Any] = {"start_time": ts, "end_time": ts}
    types.update({g: pa.bool_() if g == "batch" else pa.string() for g in group_by})
    types.update({m: pa.int64() for m in KIND_METRICS[kind]})
    return _table(rows, types, group_by)


def costs_table(rows: Rows, group_by: Sequence[str]) -> pa.Table:
    import pyarrow as pa

    ts = pa.timestamp("s", tz="UTC")
    types: dict[str, Any] = {"start_time": ts, "end_time": ts}
    types.update({g: pa.string() for g in group_by})
    types.update({"amount": None, "currency": pa.string()})
    if "line_item" in group_by:
        types.update({"quantity": pa.float64(), "quantity_unit": pa.string()})
    return _table(rows, types, group_by)


def to_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


# -- summaries (on the frame; integer metrics sum in int64, amounts as exact Decimals) ---------------


def totals(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, Any]:
    """Column totals: Python ints for metrics, Decimals for amounts."""
    return {c: _exact(frame[c].sum()) if len(frame) else 0 for c in columns}


def costs_totals(frame: pd.DataFrame) -> dict[str, Decimal]:
    """Total amount per currency, summed exactly."""
    if not len(frame):
        return {}
    sums = frame.groupby("currency", sort=True)["amount"].sum()
    return {str(c): Decimal(v) for c, v in sums.items()}


def shown_metrics(kind: str, sums: dict[str, Any]) -> list[str]:
    """The metrics worth a column: the kind's required ones, and any optional one that is not 0."""
    required = {
        "completions": 3,
        "embeddings": 2,
        "moderations": 2,
        "images": 2,
        "audio_speeches": 2,
        "audio_transcriptions": 2,
        "web_search_calls": 2,
    }.get(kind, 1)
    metrics = KIND_METRICS[kind]
    return [m for i, m in enumerate(metrics) if i < required or sums.get(m)]


def group_sums(frame: pd.DataFrame, key: str, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Sums by ``key`` (``day``: the UTC day of start_time), in key order, exact."""
    if not len(frame):
        return []
    keys = frame["start_time"].dt.strftime("%Y-%m-%d").rename("day") if key == "day" else frame[key]
    grouped = frame[list(columns)].groupby(keys, sort=True, dropna=False).sum()
    return [
        {key: None if _missing(index) else index, **{c: _exact(row[c]) for c in columns}}
        for index, row in grouped.iterrows()
    ]


def movers(frame: pd.DataFrame, key: str, span_start: int, span_end: int, top: int = 5) -> list[dict[str, Any]]:
    """Groups whose tokens (input + output) changed most between the first and the second half."""
    import pandas as pd

    if not len(frame):
        return []
    middle = pd.Timestamp(span_start + (span_end - span_start) // 2, unit="s", tz="UTC")
    tokens = frame["input_tokens"] + frame.get("output_tokens", 0)
    half = (frame["start_time"] >= middle).map({False: "before", True: "after"})
    table = tokens.groupby([frame[key], half], dropna=False).sum().unstack(fill_value=0)
    out = []
    for value, row in table.iterrows():
        before, after = int(row.get("before", 0)), int(row.get("after", 0))
        out.append(
            {
                key: None if _missing(value) else value,
                "tokens_first_half": before,
                "tokens_second_half": after,
                "change": after - before,
                "change_pct": None if before == 0 else round(100 * (after - before) / before, 1),
            }
        )
    out.sort(key=lambda r: (-abs(r["change"]), str(r[key])))
    return out[:top]


def _exact(value: Any) -> Any:
    """numpy integers become Python ints; Decimals stay Decimals."""
    if isinstance(value, Decimal):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
