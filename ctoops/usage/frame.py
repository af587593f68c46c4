"""Usage and costs rows as Arrow tables (and pandas frames), and the sums built on them.

Columns, in this order: ``start_time``, ``end_time`` (``timestamp[s, UTC]``), the group-by
fields (strings; ``batch`` boolean), then the metrics (``int64``, null where the API sent
none) or, for costs, ``amount`` (``decimal128`` wide enough for every value exactly) and
``currency`` (plus ``quantity`` and ``quantity_unit`` when grouped by ``line_item``).

Sums run in Arrow: integers in int64, amounts in decimal256 (76 digits; Arrow sums a
decimal128 in decimal128 and wraps silently past 2**127), never floats. A sum over a value
the API did not send is null (unknown), never a smaller number: ``sum`` with
``skip_nulls=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ctoops.usage.rows import Rows
from ctoops.usage.shapes import KIND_METRICS, required_metrics

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

GROUP_SEP = "\x1f"


def _ints(values: list[Any], kind: pa.DataType) -> pa.Array:
    """int64 (or timestamp) column from Python ints through a C buffer (16x pa.array's speed)."""
    import array

    import numpy as np
    import pyarrow as pa

    try:
        buffer = np.frombuffer(array.array("q", values), dtype=np.int64)
    except (TypeError, OverflowError):  # a None (a metric not sent): the careful path
        if all(v is None for v in values):
            return pa.nulls(len(values), type=kind)
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
    table = pa.table(arrays)
    return table.sort_by([("start_time", "ascending"), *((g, "ascending") for g in group_by)])


def decimal_type(values: Sequence[Decimal | None], what: str = "the costs API sent amounts") -> pa.DataType:
    """The narrowest decimal128 that holds every value exactly (at least 2 decimal places).

    Raises UpstreamError (exit 4) when no decimal128 can (38 digits in all: ``1e-40``, or
    ``1000000000000`` beside ``1e-28``), naming the values (``what`` says whose they are):
    money is never rounded to fit."""
    import pyarrow as pa

    scale = 2
    digits = 1
    finest: Decimal | None = None
    largest: Decimal | None = None
    for value in values:
        if value is None:
            continue
        sign, tup, exponent = value.as_tuple()
        if isinstance(exponent, int):
            if -exponent > scale:
                scale, finest = -exponent, value
            whole = max(len(tup) + exponent, 0) if exponent < 0 else len(tup) + exponent
            if whole > digits:
                digits, largest = whole, value
    precision = max(scale + 1, digits + scale)
    if precision > 38:
        from ctoops.errors import UpstreamError

        named = " and ".join(dict.fromkeys(str(v) for v in (largest, finest) if v is not None))
        raise UpstreamError(
            f"{what} ({named}) that together need {precision} digits; ctoops keeps "
            "money exact in at most 38 (decimal128) and does not round it to fit"
        )
    return pa.decimal128(precision, scale)


def usage_table(rows: Rows, kind: str, group_by: Sequence[str]) -> pa.Table:
    """The usage rows of ``kind`` as an Arrow table (columns as in the module doc)."""
    import pyarrow as pa

    ts = pa.timestamp("s", tz="UTC")
    types: dict[str, Any] = {"start_time": ts, "end_time": ts}
    types.update({g: pa.bool_() if g == "batch" else pa.string() for g in group_by})
    types.update({m: pa.int64() for m in KIND_METRICS[kind]})
    return _table(rows, types, group_by)


def costs_table(rows: Rows, group_by: Sequence[str]) -> pa.Table:
    """The costs rows as an Arrow table (columns as in the module doc)."""
    import pyarrow as pa

    ts = pa.timestamp("s", tz="UTC")
    types: dict[str, Any] = {"start_time": ts, "end_time": ts}
    types.update({g: pa.string() for g in group_by})
    types.update({"amount": None, "currency": pa.string()})
    if "line_item" in group_by:
        types.update({"quantity": pa.float64(), "quantity_unit": pa.string()})
    return _table(rows, types, group_by)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """A pandas frame for library users: metrics as nullable ``Int64`` (an unsent metric is
    ``<NA>``, not NaN in a float column), amounts as ``Decimal`` objects."""
    import pandas as pd
    import pyarrow as pa

    return table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)


# -- sums (exact; null when any value summed is unknown) -------------------------------------------


def _sum_options() -> Any:
    import pyarrow.compute as pc

    return pc.ScalarAggregateOptions(skip_nulls=False, min_count=0)


def summable(table: pa.Table) -> pa.Table:
    """``table`` with its ``amount`` summable exactly: a decimal128 whose sum could pass 38
    digits is cast to decimal256 (same scale), which leaves 38 more for the sum. Arrow sums a
    decimal128 in decimal128 and wraps past 2**127 without a word (18 amounts of 1e18 at
    scale 19 summed to -16028236692093846346.33...). ``n`` amounts of ``p`` digits sum to
    under ``10**(p + digits of n)``: up to 38 digits the column is left as it is (the cast
    costs about 0.1 s a million rows)."""
    import pyarrow as pa

    if "amount" not in table.column_names or not pa.types.is_decimal128(table["amount"].type):
        return table
    kind = table["amount"].type
    if kind.precision + len(str(table.num_rows)) <= 38:
        return table
    wide = pa.decimal256(76, kind.scale)
    return table.set_column(table.column_names.index("amount"), "amount", table["amount"].cast(wide))


def totals(table: pa.Table, columns: Sequence[str]) -> dict[str, Any]:
    """Column totals: Python ints for metrics, Decimals for amounts (exact, ``summable``);
    ``None`` when a value summed was not sent (the total is unknown); 0 for no rows."""
    import pyarrow.compute as pc

    table = summable(table)
    return {c: pc.sum(table[c], options=_sum_options()).as_py() for c in columns}


def costs_totals(table: pa.Table, *, settled_before: int | None = None) -> dict[str, Decimal]:
    """Total ``amount`` per currency (sorted), summed exactly over the results that carried
    an amount (see ``unknown_amounts`` for the others); only buckets starting before
    ``settled_before`` (unix s) when given."""
    import pyarrow.compute as pc

    if settled_before is not None:
        table = before(table, settled_before)
    known = summable(table.filter(pc.is_valid(table["amount"])))
    if not known.num_rows:
        return {}
    grouped = known.group_by(["currency"], use_threads=False).aggregate([("amount", "sum")])
    sums = {str(r["currency"]): Decimal(r["amount_sum"]) for r in grouped.to_pylist()}
    return dict(sorted(sums.items()))


def unknown_amounts(table: pa.Table) -> int:
    """How many costs results came without an amount (left out of every total, and said)."""
    return int(table["amount"].null_count)


def before(table: pa.Table, end: int) -> pa.Table:
    """The rows whose bucket starts before ``end`` (unix seconds)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    limit = pa.scalar(end, pa.int64()).cast(pa.timestamp("s")).cast(table["start_time"].type)
    return table.filter(pc.less(table["start_time"], limit))


def shown_metrics(kind: str, table: pa.Table) -> list[str]:
    """The metrics worth a column: the kind's required ones, and any optional one with a
    value other than 0 (a metric never sent, or always 0, is left out of summaries)."""
    import pyarrow.compute as pc

    required = required_metrics(kind)
    shown = list(required)
    for metric in KIND_METRICS[kind][len(required) :]:
        column = table[metric]
        if column.null_count < len(column) and pc.max(column).as_py():
            shown.append(metric)
    return shown


def period_key(table: pa.Table, unit: str) -> pa.ChunkedArray:
    """``start_time`` floored to the UTC ``unit`` ("day" or "month")."""
    import pyarrow.compute as pc

    return pc.floor_temporal(table["start_time"], unit=unit)


def group_sums(table: pa.Table, keys: Sequence[str], columns: Sequence[str]) -> list[dict[str, Any]]:
    """Sums by ``keys``, in key order (nulls last): group-by fields, ``currency``, or
    ``day``/``month`` (the UTC period of start_time, as ``YYYY-MM-DD``/``YYYY-MM``). A sum is
    ``None`` when a value in it was not sent. Group values as sent (``None`` for null)."""
    import pyarrow.compute as pc

    if not table.num_rows:
        return []
    work = summable(table)
    names = []
    for key in keys:
        if key in ("day", "month"):
            column = pc.strftime(period_key(table, key), format="%Y-%m-%d" if key == "day" else "%Y-%m")
        else:
            column = table[key]
        names.append(f"{GROUP_SEP}{key}")
        work = work.append_column(names[-1], column)
    options = _sum_options()
    grouped = work.group_by(names, use_threads=False).aggregate([(c, "sum", options) for c in columns])
    grouped = grouped.sort_by([(n, "ascending") for n in names])
    return [
        {**{k: row[n] for k, n in zip(keys, names, strict=True)}, **{c: row[f"{c}_sum"] for c in columns}}
        for row in grouped.to_pylist()
    ]


def between(table: pa.Table, start: int, end: int) -> pa.Table:
    """The rows whose bucket starts in [start, end) (unix seconds)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = table["start_time"].type
    low = pa.scalar(start, pa.int64()).cast(pa.timestamp("s")).cast(kind)
    high = pa.scalar(end, pa.int64()).cast(pa.timestamp("s")).cast(kind)
    return table.filter(pc.and_(pc.greater_equal(table["start_time"], low), pc.less(table["start_time"], high)))


def by_month(table: pa.Table, group_by: Sequence[str], span_start: int, span_end: int) -> pa.Table:
    """``1mo`` buckets derived from day buckets (OpenAI has no monthly width): the rows of each
    UTC calendar month and group summed, ``start_time``/``end_time`` the month clipped to
    the range (so a partial month at either edge says so). Columns and types as the input;
    a sum over a value not sent is null. Costs rows are summed per currency as well."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ctoops.dates import month_start, next_month

    if not table.num_rows:
        return table
    names = table.column_names
    sums = [n for n in names if n not in ("start_time", "end_time", "currency", "quantity_unit", *group_by)]
    keys = [n for n in ("currency", "quantity_unit", *group_by) if n in names]
    work = summable(table).append_column(f"{GROUP_SEP}month", period_key(table, "month"))
    options = _sum_options()
    grouped = work.group_by([f"{GROUP_SEP}month", *keys], use_threads=False).aggregate(
        [(c, "sum", options) for c in sums]
    )
    months = pc.cast(pc.cast(grouped[f"{GROUP_SEP}month"], pa.timestamp("s")), pa.int64()).to_pylist()
    starts = [max(m, span_start) for m in months]
    ends = [min(next_month(month_start(m)), span_end) for m in months]
    ts = table.schema.field("start_time").type
    columns: dict[str, Any] = {
        "start_time": pa.array(starts, pa.int64()).cast(pa.timestamp("s")).cast(ts),
        "end_time": pa.array(ends, pa.int64()).cast(pa.timestamp("s")).cast(ts),
    }
    for name in names[2:]:
        column = grouped[f"{name}_sum"] if name in sums else grouped[name]
        columns[name] = column.cast(table.schema.field(name).type) if name != "amount" else column
    out = pa.table(columns)
    if "amount" in out.column_names:  # summed in decimal256: back to the narrowest exact decimal128, or exit 4
        amounts = out["amount"].to_pylist()
        kind = decimal_type(amounts, "the month sums of the amounts")
        out = out.set_column(out.column_names.index("amount"), "amount", pa.array(amounts, kind))
    return out.sort_by([("start_time", "ascending"), *((g, "ascending") for g in group_by)])
