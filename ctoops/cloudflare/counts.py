"""Cloudflare's answers as the trends engine's record tables, counted by the same rules.

Each pre-aggregated row (a minute x path x method x status count) becomes one record with
``weight`` = the requests it stands for and ``sample_interval`` (1.0 = exact; above 1 the
count is Cloudflare's estimate). Columns, as the trends engine's record tables have them plus the
two weights: ``ts_ms`` int64 (the bucket's start, UTC ms), ``method``, ``url`` (the path),
``status`` int64 (null: no response), ``outcome``, ``notice``, ``fetch`` bool, ``weight``
int64, ``sample_interval`` float64. ``ctoops.trends.compute.Tally`` then applies the route
groups (``realtime_token``, ``cto_openai_proxy``) and the 5xx definition, exactly as for files.

``Tally.add`` counts ``weight`` itself. Windows holding an estimate are flagged here:
``sampled`` true and ``sample_interval`` the largest factor in the window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from ctoops.trends import Trend
    from ctoops.trends.compute import Tally

NAMES = ("ts_ms", "method", "url", "status", "outcome", "notice", "fetch", "weight", "sample_interval")


@dataclass(frozen=True)
class Row:
    """One pre-aggregated count: ``weight`` requests at ``ts_ms`` (bucket start, UTC ms)."""

    ts_ms: int
    method: str | None
    path: str | None
    status: int | None
    outcome: str | None
    weight: int
    sample_interval: float = 1.0


def table(rows: Iterable[Row]) -> pa.Table:
    """The record table for ``rows`` (schema in the module docstring)."""
    import pyarrow as pa

    items = list(rows)
    return pa.table(
        {
            "ts_ms": pa.array([r.ts_ms for r in items], pa.int64()),
            "method": pa.array([r.method for r in items], pa.string()),
            "url": pa.array([r.path for r in items], pa.string()),
            "status": pa.array([r.status for r in items], pa.int64()),
            "outcome": pa.array([r.outcome for r in items], pa.string()),
            "notice": pa.nulls(len(items), pa.string()),
            "fetch": pa.array([True] * len(items), pa.bool_()),
            "weight": pa.array([r.weight for r in items], pa.int64()),
            "sample_interval": pa.array([r.sample_interval for r in items], pa.float64()),
        }
    )


def add(tally: Tally, records: pa.Table) -> None:
    """Count ``records`` (with ``weight`` and ``sample_interval``) into ``tally``."""
    tally.add(records)


def count(
    tables: Iterable[pa.Table],
    *,
    window: str,
    buckets: tuple[str, ...] | None,
    since_ms: int | None,
    until_ms: int | None,
) -> Trend:
    """A ``Trend`` over Cloudflare's tables: same rows, summary and thresholds as the files'."""
    from ctoops.trends import Trend
    from ctoops.trends.compute import Tally, choose

    width, chosen = choose(window, buckets)
    tally = Tally(width, chosen, since_ms, until_ms)
    stats: Any = _new_stats()
    factors: dict[int, float] = {}
    for records in tables:
        stats.records += records.num_rows
        for ts, factor in zip(records["ts_ms"].to_pylist(), records["sample_interval"].to_pylist(), strict=True):
            if factor is not None and factor > 1 and ts is not None:
                start = ts // 1000 // width * width
                factors[start] = max(factors.get(start, 1.0), float(factor))
        add(tally, records)
    return Trend(mark_sampled(tally.rows(), factors), stats, tally)


def mark_sampled(rows: list[dict[str, Any]], factors: dict[int, float]) -> list[dict[str, Any]]:
    """Rows with ``sampled`` set where a window holds an estimate, and its largest factor."""
    for row in rows:
        factor = factors.get(row["window_start"], 1.0)
        row["sampled"] = bool(row.get("sampled")) or factor > 1
        row["sample_interval"] = round(max(factor, float(row.get("sample_interval") or 1.0)), 6)
    return rows


def _new_stats() -> Any:
    """The trends engine's ``Stats`` (exported by ``ctoops.trends`` in every version of it)."""
    from ctoops import trends

    return getattr(trends, "Stats")()  # noqa: B009 - not in ``__all__`` in every version
