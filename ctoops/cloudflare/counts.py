"""Cloudflare's answers as the trends engine's record tables, counted by the same rules.

Each pre-aggregated row (a minute x path x method x status count) becomes one record with
``weight`` = the requests it stands for and ``sample_interval`` (1.0 = exact; above 1 the
count is Cloudflare's estimate). Columns, as ``ctoops.trends.readers`` makes them plus the
two weights: ``ts_ms`` int64 (the bucket's start, UTC ms), ``method``, ``url`` (the path),
``status`` int64 (null: no response), ``outcome``, ``notice``, ``fetch`` bool, ``weight``
int64, ``sample_interval`` float64. ``ctoops.trends.compute.Tally`` then applies the route
groups (``realtime_token``, ``cto_openai_proxy``) and the 5xx definition, exactly as for files.

Until ``Tally.add`` counts ``weight`` itself (the trends branch adds it), :func:`add` expands
each row into ``weight`` identical records (checked once by a probe, so the shim switches
itself off when the engine learns weights). Windows holding an estimate are flagged here:
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


_NATIVE: bool | None = None


def engine_counts_weights() -> bool:
    """True when ``Tally.add`` counts the ``weight`` column itself (probed once per process)."""
    global _NATIVE
    if _NATIVE is None:
        from ctoops.trends.compute import Tally

        probe = Tally(60, ("realtime_token",))
        probe.add(table([Row(60_000, "POST", "/api/v1/realtime/token", 200, "ok", 3)]))
        rows = probe.rows()
        _NATIVE = bool(rows) and rows[0]["requests"] == 3
    return _NATIVE


def add(tally: Tally, records: pa.Table) -> None:
    """Count ``records`` (with ``weight``) into ``tally``; expands rows when the engine cannot."""
    if engine_counts_weights() or records.num_rows == 0:
        tally.add(records)
        return
    import numpy as np
    import pyarrow as pa

    weights = records["weight"].to_numpy(zero_copy_only=False)
    repeat = np.repeat(np.arange(records.num_rows, dtype=np.int64), weights)
    plain = records.drop_columns(["weight", "sample_interval"])
    # in slices, so one hour of heavy traffic never becomes one huge table
    step = 1 << 20
    for start in range(0, len(repeat), step):
        tally.add(plain.take(pa.array(repeat[start : start + step])))


def count(
    tables: Iterable[pa.Table],
    *,
    window: str,
    buckets: tuple[str, ...] | None,
    since_ms: int | None,
    until_ms: int | None,
) -> Trend:
    """A ``Trend`` over Cloudflare's tables: same rows, summary and thresholds as the files'."""
    from ctoops.errors import BadInput
    from ctoops.trends import Trend
    from ctoops.trends.compute import BUCKETS, WINDOWS, Tally

    if window not in WINDOWS:
        raise BadInput(f"unknown window {window!r} (windows: {', '.join(WINDOWS)})")
    chosen = tuple(buckets or BUCKETS)
    unknown = [b for b in chosen if b not in BUCKETS]
    if unknown:
        raise BadInput(f"unknown bucket {unknown[0]!r} (buckets: {', '.join(BUCKETS)})")
    width = WINDOWS[window]
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
