"""The live view of ``errors trend`` for live inputs (``--source live``, ``-`` on stdin).

On a terminal (stderr a TTY), a rich ``Live`` display redrawn in place every ``every``
seconds: the current window and the last ``last`` windows per bucket, a running total, the
breach state against the thresholds and, with ``--plot``, the rate charts. Not on a
terminal: one plain line per bucket every ``plain_every`` seconds. Everything goes to stderr
(data stays on stdout for the final table); NO_COLOR turns colour off. The final counts are
printed by the command when the view closes (Ctrl-C).

``update`` takes a snapshot with ``rows`` (``Trend.rows``: window_start, bucket, requests,
status_429, status_5xx, rates, sampled, optional gap) and optionally ``state``; a dict with
those keys works too (the trends engine's ``on_progress``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

from ctoops.dates import iso_second


def _get(snapshot: Any, name: str, default: Any = None) -> Any:
    if isinstance(snapshot, dict):
        return snapshot.get(name, default)
    return getattr(snapshot, name, default)


def totals(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per bucket: requests, 429 and 5xx so far."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        t = out.setdefault(r["bucket"], {"requests": 0, "status_429": 0, "status_5xx": 0})
        for k in t:
            t[k] += r[k]
    return out


class LiveView:
    """Draws snapshots; use as a context manager around the live run."""

    def __init__(
        self,
        window: str,
        *,
        min_requests: int,
        plot: bool,
        title: str,
        max_429: float | None = None,
        max_5xx: float | None = None,
        last: int = 6,
        every: float = 2.0,
        plain_every: float = 10.0,
        terminal: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        out: Any = None,
    ) -> None:
        from ctoops.trends.compute import WINDOWS

        self.width = WINDOWS[window]
        self.min_requests = min_requests
        self.plot = plot
        self.title = title
        self.max_429, self.max_5xx = max_429, max_5xx
        self.last = last
        self.every, self.plain_every = every, plain_every
        self.out = out or sys.stderr
        self.terminal = self.out.isatty() if terminal is None else terminal
        self.clock = clock
        self._live: Any = None
        self._shown = float("-inf")
        self.drawn = 0

    def __enter__(self) -> LiveView:
        if self.terminal:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.out, no_color=bool(os.environ.get("NO_COLOR")))
            self._live = Live(console=console, auto_refresh=False, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def update(self, snapshot: Any) -> None:
        """Redraw when ``every`` (terminal) or ``plain_every`` seconds passed since the last draw."""
        now = self.clock()
        if now - self._shown < (self.every if self.terminal else self.plain_every):
            return
        self._shown = now
        rows = list(_get(snapshot, "rows", []) or [])
        state = _get(snapshot, "state", None)
        self.drawn += 1
        if self._live is not None:
            self._live.update(self.renderable(rows, state), refresh=True)
        else:
            for line in self.lines(rows, state):
                print(line, file=self.out, flush=True)

    # -- content ---------------------------------------------------------------------------

    def breach(self, rows: list[dict[str, Any]]) -> str:
        from ctoops.checks.rates import Thresholds, judge

        if self.max_429 is None and self.max_5xx is None:
            return "no thresholds set"
        verdict = judge(rows, Thresholds(self.max_429, self.max_5xx, self.min_requests))
        found = verdict.breaches
        if not found:
            return "within thresholds" if verdict.judged else "not judged yet (too few requests)"
        worst = found[-1]
        return f"BREACH: {len(found)} window(s), latest {worst.bucket} {iso_second(worst.window_start)} {worst.what}"

    def lines(self, rows: list[dict[str, Any]], state: str | None) -> list[str]:
        """The plain form: one line per bucket for the current window and its running total."""
        if not rows:
            return [f"live {self.title}: no request in the buckets yet" + (f" ({state})" if state else "")]
        current = max(r["window_start"] for r in rows)
        out = []
        total = totals(rows)
        for r in rows:
            if r["window_start"] != current:
                continue
            t = total[r["bucket"]]
            flag = " gap" if r.get("gap") else (" sampled" if r.get("sampled") else "")
            out.append(
                f"live {iso_second(current)} {r['bucket']}: {r['requests']} req, 429 {r['rate_429']:.1%}, "
                f"5xx {r['rate_5xx']:.1%}{flag}; total {t['requests']} req, 429 {t['status_429']}, "
                f"5xx {t['status_5xx']}; {self.breach(rows)}" + (f"; {state}" if state else "")
            )
        return out

    def renderable(self, rows: list[dict[str, Any]], state: str | None) -> Any:
        from datetime import UTC, datetime

        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        from ctoops.trends.compute import SHORT_NAMES

        windows = sorted({r["window_start"] for r in rows})[-self.last :]
        # as the final table shows them, so that nothing is cut at 80 columns: compact UTC
        # times (the day only when the windows span days) and the buckets' short names
        form = "%H:%M" if len({w // 86400 for w in windows}) <= 1 else "%m-%d %H:%M"
        title = f"{self.title} - last {len(windows)} window(s), UTC"
        table = Table(title=title, expand=False, caption="realtime = realtime_token, proxy = cto_openai_proxy")
        for name in ("window", "group", "requests", "429", "5xx", "429 rate", "5xx rate", "note"):
            table.add_column(name, justify="right" if name not in ("window", "group", "note") else "left")
        for r in rows:
            if r["window_start"] in windows:
                note = "gap" if r.get("gap") else ("sampled" if r.get("sampled") else "")
                table.add_row(
                    datetime.fromtimestamp(r["window_start"], UTC).strftime(form),
                    SHORT_NAMES.get(r["bucket"], r["bucket"]),
                    str(r["requests"]),
                    str(r["status_429"]),
                    str(r["status_5xx"]),
                    f"{r['rate_429']:.1%}",
                    f"{r['rate_5xx']:.1%}",
                    note,
                )
        parts: list[Any] = [table]
        for bucket, t in sorted(totals(rows).items()):
            n = t["requests"]
            parts.append(
                Text(
                    f"total {bucket}: {n} requests, 429 {t['status_429']} ({t['status_429'] / n:.1%}), "
                    f"5xx {t['status_5xx']} ({t['status_5xx'] / n:.1%})"
                )
            )
        parts.append(Text(self.breach(rows) + (f" - tail {state}" if state else "") + " - Ctrl-C for the final counts"))
        if self.plot and rows:
            from ctoops.render import rate_charts

            series: dict[str, list[tuple[int, float, float, int]]] = {}
            for r in rows:
                point = (r["window_start"], r["rate_429"], r["rate_5xx"], r["requests"])
                series.setdefault(r["bucket"], []).append(point)
            chart = rate_charts(
                series,
                self.width,
                color=False,
                height=10,
                max_429=self.max_429,
                max_5xx=self.max_5xx,
                min_requests=self.min_requests,
            )
            parts.append(Text.from_ansi(chart))
        return Group(*parts)
