"""429 and 5xx counts per time window and rate-limit bucket, as the worker applies its limiter.

* ``realtime_token``: ``POST /api/v1/realtime/token``;
* ``cto_openai_proxy``: ``GET /api/v1/cto/openai/models`` and ``GET /api/v1/cto/openai/usage``.

The path is the URL's, without scheme, host, query or fragment, matched exactly (a trailing
slash is another path, which the worker does not route). Other methods (an ``OPTIONS``
preflight) and other paths count in no bucket. A 429 is status 429. A 5xx is status
500-599, or an error outcome (``exception``, ``exceededCpu``, ``exceededMemory``,
``scriptNotFound``, ``unknown``) with no response, which the client saw as an error page;
those are also counted on their own (``error_outcomes``). Windows are aligned to the UTC
epoch. These rules run once per distinct (method, URL, status, outcome) of the groups the
readers hand over (``records.Group``), so they are written once, here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ctoops.dates import DAY
from ctoops.trends.records import Group, Grouper, Params

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

BUCKETS = {
    "realtime_token": ("POST", ("/api/v1/realtime/token",)),
    "cto_openai_proxy": ("GET", ("/api/v1/cto/openai/models", "/api/v1/cto/openai/usage")),
}
# the buckets' names where a terminal's columns are few (the trend table, the live view)
SHORT_NAMES = {"realtime_token": "realtime", "cto_openai_proxy": "proxy"}
ERROR_OUTCOMES = ("exception", "exceededCpu", "exceededMemory", "scriptNotFound", "unknown")
WINDOWS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": DAY}
# an optional scheme://host, then the path, then the end, a query or a fragment
_PATH = re.compile(r"(?:[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*)?([^?#]*)(?:[?#].*)?", re.DOTALL)

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
    "sample_interval",
]


@lru_cache(maxsize=4096)
def bucket_of(method: str | None, url: str | None, buckets: tuple[str, ...]) -> str | None:
    """The bucket of a request among ``buckets``, or None."""
    if method is None or url is None:
        return None
    m = _PATH.fullmatch(url)
    path = m.group(1) if m else None
    for name in buckets:
        verb, paths = BUCKETS[name]
        if method == verb and path in paths:
            return name
    return None


def candidates(buckets: tuple[str, ...]) -> tuple[str, ...]:
    """Substrings any URL of these buckets holds (a filter the readers apply first)."""
    return tuple(p for name in buckets for p in BUCKETS[name][1])


def choose(window: str, buckets: tuple[str, ...] | None) -> tuple[int, tuple[str, ...]]:
    """(window width in seconds, the route groups) for ``window`` (a ``WINDOWS`` key) and
    ``buckets`` (None: all); BadInput (exit 2) naming the known ones for anything else."""
    from ctoops.errors import BadInput

    if window not in WINDOWS:
        raise BadInput(f"unknown window {window!r} (windows: {', '.join(WINDOWS)})")
    chosen = tuple(buckets or BUCKETS)
    unknown = [b for b in chosen if b not in BUCKETS]
    if unknown:
        raise BadInput(f"unknown bucket {unknown[0]!r} (buckets: {', '.join(BUCKETS)})")
    return WINDOWS[window], chosen


@dataclass
class Tally:
    """Counts per (window start in UTC seconds, bucket): requests, 429, 5xx, error outcomes;
    with the largest sample interval seen per window (1.0: every request counted).

    Fed by ``add_groups`` (what the readers produce) or ``add`` (a record table)."""

    window: int  # seconds
    buckets: tuple[str, ...] = tuple(BUCKETS)
    since_ms: int | None = None
    until_ms: int | None = None
    counts: dict[tuple[int, str], list[int]] = field(default_factory=dict)  # requests, 429, 5xx, outcomes
    intervals: dict[int, float] = field(default_factory=dict)  # window -> largest sample_interval
    notices: list[tuple[int | None, str]] = field(default_factory=list)  # (window, overload|overload-stop)
    events: int = 0  # request events in the time range (any path)
    outside: int = 0  # request events outside it
    non_fetch: int = 0  # timestamped records that are not requests (scheduled, alarm, ...)
    first_ts: int | None = None  # earliest and latest request event seen (ms), in range or not
    last_ts: int | None = None

    @property
    def params(self) -> Params:
        return Params(self.window * 1000, self.since_ms, self.until_ms, candidates(self.buckets))

    @property
    def usable(self) -> int:
        """Records that were requests or other timestamped events, and sampling notices."""
        return self.events + self.outside + self.non_fetch + len(self.notices)

    def add_groups(self, groups: Iterable[Group]) -> None:
        """Count the readers' groups (``records.Group``)."""
        for kind, window, method, url, status, outcome, weight, interval, low, high in groups:
            if kind in ("request", "outside") and low is not None and high is not None:
                self.first_ts = low if self.first_ts is None else min(self.first_ts, low)
                self.last_ts = high if self.last_ts is None else max(self.last_ts, high)
            if kind == "request":
                self.events += weight
                assert window is not None
                if interval > 1:
                    self.intervals[window] = max(self.intervals.get(window, 1.0), interval)
                bucket = bucket_of(method, url, self.buckets)
                if bucket is None:
                    continue
                slot = self.counts.setdefault((window, bucket), [0, 0, 0, 0])
                slot[0] += weight
                if status == 429:
                    slot[1] += weight
                synthetic = status is None and outcome in ERROR_OUTCOMES
                if synthetic or (status is not None and 500 <= status <= 599):
                    slot[2] += weight
                if synthetic:
                    slot[3] += weight
            elif kind == "outside":
                self.outside += weight
            elif kind == "other":
                self.non_fetch += weight
            elif kind.startswith("notice:"):
                self.notices.extend([(window, kind[7:])] * weight)

    def add(self, table: pa.Table) -> list[int]:
        """Count a record table: ``ts_ms`` (int64, ms), ``method``, ``url``, ``status``
        (int64, null: no response), ``outcome``, ``notice`` (``overload``/``overload-stop``
        or null), ``fetch`` (bool: a request event); optional ``weight`` (int64: the requests
        the row stands for, null = 1) and ``sample_interval`` (float64: 1.0 exact; above 1 the
        weight is an estimate, and its window is flagged ``sampled`` with the largest factor).
        Returns the indexes of rows not counted because ``ts_ms`` is missing or not after
        1970 (notices need none): the caller reports them."""
        names = set(table.column_names)

        def column(name: str) -> list[Any]:
            return table.column(name).to_pylist() if name in names else [None] * table.num_rows

        grouper = Grouper(self.params, self.last_ts)
        bad: list[int] = []
        rows = zip(
            *(column(n) for n in ("ts_ms", "method", "url", "status", "outcome", "notice", "fetch")),
            column("weight"),
            column("sample_interval"),
            strict=True,
        )
        p = self.params
        for index, (ts, method, url, status, outcome, notice, fetch, weight, interval) in enumerate(rows):
            weight = 1 if weight is None else int(weight)
            interval = 1.0 if interval is None else float(interval)
            if notice in ("overload", "overload-stop"):
                grouper.add(f"notice:{notice}", None, None, None, None, None, weight)
                continue
            if not isinstance(ts, int) or isinstance(ts, bool) or ts <= 0:
                bad.append(index)
                continue
            if not fetch:
                kind = "other"
            elif (p.since_ms is not None and ts < p.since_ms) or (p.until_ms is not None and ts >= p.until_ms):
                kind = "outside"
            else:
                kind = "request"
            grouper.add(kind, ts, method, url, status, outcome, weight, interval)
        self.add_groups(grouper.groups())
        return bad

    def sampled_windows(self) -> set[int]:
        """Windows the tail was sampling in: from each overload notice to the next overload-stop
        (a notice before any record counts from the first window)."""
        windows: set[int] = set()
        first = min((w for w, _ in self.counts), default=None)
        last = max((w for w, _ in self.counts), default=None)
        on: int | None = None
        for window, kind in self.notices:
            window = window if window is not None else first
            if window is None:
                continue
            windows.add(window)
            if kind == "overload" and on is None:
                on = window
            elif kind == "overload-stop" and on is not None:
                windows.update(range(on, window + 1, self.window))
                on = None
        if on is not None and last is not None:
            windows.update(range(on, last + 1, self.window))
        return windows

    def rows(self) -> list[dict[str, Any]]:
        """One record per (window, bucket) with requests, in window then bucket order.

        ``sampled``: the window's counts are not every request (wrangler tail was sampling, or
        a row's ``sample_interval`` was over 1); ``sample_interval``: the largest factor of
        the window's rows (1.0: exact; None: sampled by an unknown factor, as tail's)."""
        tail_sampled = self.sampled_windows()
        out = []
        for window, bucket in sorted(self.counts):
            requests, s429, s5xx, synthetic = self.counts[(window, bucket)]
            interval = self.intervals.get(window, 1.0)
            sampled = window in tail_sampled or interval > 1
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
                    "sampled": sampled,
                    "sample_interval": None if window in tail_sampled else interval,
                }
            )
        return out


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as a pandas DataFrame, ``window_start`` as UTC timestamps."""
    import pandas as pd

    data = pd.DataFrame(rows, columns=COLUMNS)
    data["window_start"] = pd.to_datetime(data["window_start"], unit="s", utc=True)
    return data
