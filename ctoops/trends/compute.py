"""429 and 5xx counts per time window and rate-limit bucket, as the worker applies its limiter.

* ``realtime_token``: ``POST /api/v1/realtime/token``;
* ``cto_openai_proxy``: ``GET /api/v1/cto/openai/models`` and ``GET /api/v1/cto/openai/usage``.

The path is the URL's, without scheme, host, query or fragment, matched exactly (a trailing
slash is another path, which the worker does not route). Other methods (an ``OPTIONS``
preflight) and other paths count in no bucket. A 429 is status 429. A 5xx is status
500-599, or an error outcome (``exception``, ``exceededCpu``, ``exceededMemory``,
``scriptNotFound``, ``unknown``) with no response, which the client saw as an error page;
those are also counted on their own (``error_outcomes``). Windows are aligned to the UTC
epoch. Each chunk is reduced to counts in Arrow, so memory holds one chunk and the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ctoops.dates import DAY

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

BUCKETS = {
    "realtime_token": ("POST", ("/api/v1/realtime/token",)),
    "cto_openai_proxy": ("GET", ("/api/v1/cto/openai/models", "/api/v1/cto/openai/usage")),
}
ERROR_OUTCOMES = ("exception", "exceededCpu", "exceededMemory", "scriptNotFound", "unknown")
WINDOWS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": DAY}
# an optional scheme://host, then exactly one of the bucket's paths, then the end, a query or a fragment


def _path_pattern(paths: tuple[str, ...]) -> str:
    import re

    return r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*)?(?:" + "|".join(re.escape(p) for p in paths) + r")(?:[?#]|$)"


COLUMNS = [
    "window_start",
    "bucket",
    "requests",
    "status_429",
    "status_5xx",
    "rate_429",
    "rate_5xx",
    "error_outcomes",
    "sampled",
]


@dataclass
class Tally:
    window: int  # seconds
    buckets: tuple[str, ...] = tuple(BUCKETS)
    since_ms: int | None = None
    until_ms: int | None = None
    counts: dict[tuple[int, str], list[int]] = field(default_factory=dict)  # requests, 429, 5xx, outcomes
    notices: list[tuple[int | None, str]] = field(default_factory=list)  # (ts_ms, overload|overload-stop)
    usable: int = 0  # records with a timestamp, and sampling notices
    non_fetch: int = 0  # timestamped records that are not requests (scheduled, alarm, ...)
    events: int = 0  # request events in the time range (any path)
    last_ts: int | None = None

    def add(self, table: pa.Table) -> None:
        import pyarrow.compute as pc

        from ctoops.trends._arrow import boolean, int64, string, strings

        if table.num_rows == 0:
            return
        false = boolean(False)
        ts = table["ts_ms"]
        notice = table["notice"]
        flagged = pc.fill_null(pc.is_in(notice, value_set=strings(["overload", "overload-stop"])), false)
        if pc.any(flagged).as_py():
            filled = pc.fill_null_forward(ts)
            for when, kind in zip(
                pc.filter(filled, flagged).to_pylist(), pc.filter(notice, flagged).to_pylist(), strict=True
            ):
                self.notices.append((when if when is not None else self.last_ts, kind))
        last = pc.drop_null(ts)
        if len(last):
            self.last_ts = last[-1].as_py()
        self.usable += len(last) + _count(pc.and_(pc.is_null(ts), flagged))
        self.non_fetch += _count(pc.and_(pc.is_valid(ts), pc.invert(table["fetch"])))

        keep = pc.and_(table["fetch"], pc.is_valid(ts))
        if self.since_ms is not None:
            keep = pc.and_(keep, pc.greater_equal(ts, int64(self.since_ms)))
        if self.until_ms is not None:
            keep = pc.and_(keep, pc.less(ts, int64(self.until_ms)))
        events = table.filter(pc.fill_null(keep, false))
        self.events += events.num_rows
        if events.num_rows == 0:
            return
        url, method = events["url"], events["method"]
        codes: Any = None
        for number, name in enumerate(self.buckets, 1):
            verb, paths = BUCKETS[name]
            hit = pc.and_(pc.equal(method, string(verb)), pc.match_substring_regex(url, _path_pattern(paths)))
            codes = pc.if_else(pc.fill_null(hit, false), int64(number), int64(0) if codes is None else codes)
        mine = pc.greater(codes, int64(0))
        if not pc.any(mine).as_py():
            return
        status = pc.filter(events["status"], mine)
        outcome = pc.filter(events["outcome"], mine)
        synthetic = pc.fill_null(
            pc.and_(pc.is_null(status), pc.is_in(outcome, value_set=strings(ERROR_OUTCOMES))), false
        )
        in_5xx = pc.and_(pc.greater_equal(status, int64(500)), pc.less_equal(status, int64(599)))
        s5xx = pc.or_(pc.fill_null(in_5xx, false), synthetic)
        # one integer key per (window, bucket): window index * 8 + bucket number, counted with
        # value_counts (Table.group_by would import pandas, a tenth of the run)
        window_index = pc.divide(pc.filter(events["ts_ms"], mine), int64(self.window * 1000))
        keys = pc.add(pc.multiply(window_index, int64(8)), pc.filter(codes, mine))
        tallies = (
            (0, keys),
            (1, pc.filter(keys, pc.fill_null(pc.equal(status, int64(429)), false))),
            (2, pc.filter(keys, s5xx)),
            (3, pc.filter(keys, synthetic)),
        )
        for slot, subset in tallies:
            if len(subset) == 0:
                continue
            counted = pc.value_counts(subset)
            for key, count in zip(
                counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True
            ):
                window = key // 8 * self.window
                bucket = self.buckets[key % 8 - 1]
                self.counts.setdefault((window, bucket), [0, 0, 0, 0])[slot] += count

    def sampled_windows(self) -> set[int]:
        """Windows the tail was sampling in: from each overload notice to the next overload-stop."""
        windows: set[int] = set()
        on: int | None = None
        for when, kind in self.notices:
            if when is None:
                continue
            window = when // 1000 // self.window * self.window
            windows.add(window)
            if kind == "overload" and on is None:
                on = window
            elif kind == "overload-stop" and on is not None:
                windows.update(range(on, window + 1, self.window))
                on = None
        if on is not None and self.counts:
            last = max(w for w, _ in self.counts)
            windows.update(range(on, last + 1, self.window))
        return windows

    def rows(self) -> list[dict[str, Any]]:
        """One record per (window, bucket) with requests, in window then bucket order."""
        sampled = self.sampled_windows()
        out = []
        for window, bucket in sorted(self.counts):
            requests, s429, s5xx, synthetic = self.counts[(window, bucket)]
            out.append(
                {
                    "window_start": window,
                    "bucket": bucket,
                    "requests": requests,
                    "status_429": s429,
                    "status_5xx": s5xx,
                    "rate_429": s429 / requests,
                    "rate_5xx": s5xx / requests,
                    "error_outcomes": synthetic,
                    "sampled": window in sampled,
                }
            )
        return out


def _count(mask: Any) -> int:
    import pyarrow.compute as pc

    from ctoops.trends._arrow import boolean

    return int(pc.sum(pc.fill_null(mask, boolean(False))).as_py() or 0)


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    data = pd.DataFrame(rows, columns=COLUMNS)
    data["window_start"] = pd.to_datetime(data["window_start"], unit="s", utc=True)
    return data
