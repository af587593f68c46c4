"""The 429/5xx verdict (runbook step 5): one judgement, the same words, for ``errors trend``
and the runbook.

Rates are fractions (0.05 is 5%), judged per window and route group (``realtime_token``,
``cto_openai_proxy``): a burst in one window fails the run even when the overall rate is low.
A window with fewer than ``min_requests`` requests is not judged, and the verdict says how
many were left out; when thresholds are set and no window could be judged, there is no
verdict at all (``NotJudged``, exit 2): no data is never 0%. Windows whose counts are
estimates (a sampling tail, Cloudflare's sampled analytics) are judged, and said to be.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ctoops.dates import iso_second
from ctoops.errors import BadInput, CheckFailed


class NotJudged(BadInput):
    """Thresholds were set but no window had enough requests to judge (exit 2)."""


@dataclass(frozen=True)
class Thresholds:
    """``max_429``/``max_5xx``: fractions in [0, 1] (None: not checked); ``min_requests``:
    the fewest requests a window needs to be judged."""

    max_429: float | None = None
    max_5xx: float | None = None
    min_requests: int = 10

    @property
    def any(self) -> bool:
        return self.max_429 is not None or self.max_5xx is not None


@dataclass(frozen=True)
class Breach:
    """One window and group over one threshold; ``window_start`` in unix seconds."""

    window_start: int
    bucket: str
    what: str  # "429" | "5xx"
    rate: float
    limit: float
    requests: int
    sampled: bool = False


@dataclass(frozen=True)
class Verdict:
    """The judgement of a trend's rows against ``thresholds``."""

    thresholds: Thresholds
    breaches: tuple[Breach, ...]
    windows: int  # (window, group) rows
    unjudged: int  # rows under min_requests
    sampled: int  # rows whose counts are estimates
    groups: list[dict[str, Any]] = field(default_factory=list)  # per group: totals, rates, worst windows

    @property
    def ok(self) -> bool:
        return not self.breaches

    @property
    def judged(self) -> int:
        return self.windows - self.unjudged

    def not_judged_note(self) -> str:
        """ "3 windows under 10 requests not judged", or "" when every window was judged."""
        if not self.unjudged:
            return ""
        return f"{_n(self.unjudged, 'window')} under {self.thresholds.min_requests} requests not judged"

    def summary_lines(self) -> list[str]:
        """One line per group: requests, 429s, 5xx, rates, the worst judged windows."""
        lines = []
        for g in self.groups:
            outcomes = f", {g['error_outcomes']} of them error outcomes" if g["error_outcomes"] else ""
            line = (
                f"{g['bucket']}: {_n(g['requests'], 'request')} in {_n(g['windows'], 'window')}; "
                f"429 {g['status_429']} ({pct(g['rate_429'])}), 5xx {g['status_5xx']} ({pct(g['rate_5xx'])}{outcomes})"
            )
            if g["worst_429"] is None:
                line += f"; no window with {self.thresholds.min_requests}+ requests to judge"
            else:
                w4, w5 = g["worst_429"], g["worst_5xx"]
                line += f"; worst 429 {_worst(w4)}, worst 5xx {_worst(w5)}"
            if g["unjudged"]:
                line += f"; {_n(g['unjudged'], 'window')} under {self.thresholds.min_requests} requests not judged"
            lines.append(line)
        return lines

    def breach_lines(self, limit: int = 20) -> list[str]:
        """``over threshold: ...`` per breach (at most ``limit``, then a count)."""
        lines = [
            f"over threshold: {b.bucket} {iso_second(b.window_start)} {b.what} rate {pct_pair(b.rate, b.limit)[0]} > "
            f"{pct_pair(b.rate, b.limit)[1]} ({b.requests} requests{', sampled: an estimate' if b.sampled else ''})"
            for b in self.breaches[:limit]
        ]
        if len(self.breaches) > limit:
            lines.append(f"... and {len(self.breaches) - limit} more")
        return lines

    def failure(self) -> str:
        """The one-line reason the gate failed."""
        windows = len({(b.window_start, b.bucket) for b in self.breaches})
        worst = max(self.breaches, key=lambda b: (b.rate - b.limit, b.requests))
        parts = [
            f"{_n(windows, 'window')} over the 429/5xx thresholds, worst {worst.bucket} {worst.what} "
            f"{' > '.join(pct_pair(worst.rate, worst.limit))} in the window from {iso_second(worst.window_start)}"
        ]
        if any(b.sampled for b in self.breaches):
            parts.append("some counts are sampled estimates")
        if self.unjudged:
            parts.append(self.not_judged_note())
        return "; ".join(parts)

    def detail(self) -> str:
        """One line for a runbook step: each group's rates and what was not judged."""
        parts = [
            f"{g['bucket']} 429 {pct(g['rate_429'])} 5xx {pct(g['rate_5xx'])} of {g['requests']}" for g in self.groups
        ]
        text = "; ".join(parts) or "no request in the route groups"
        extra = [self.not_judged_note()] if self.unjudged else []
        if self.sampled:
            extra.append(f"{_n(self.sampled, 'window')} sampled (estimates)")
        return text + "".join(f"; {e}" for e in extra)


def judge(rows: Sequence[dict[str, Any]], thresholds: Thresholds) -> Verdict:
    """The verdict on trend rows (``window_start`` unix s, ``bucket``, ``requests``,
    ``status_429``, ``status_5xx``, ``rate_429``, ``rate_5xx``, ``error_outcomes``, ``sampled``)."""
    floor = thresholds.min_requests
    found = []
    for row in rows:
        if row["requests"] < floor:
            continue
        for what, limit, rate in (
            ("429", thresholds.max_429, row["rate_429"]),
            ("5xx", thresholds.max_5xx, row["rate_5xx"]),
        ):
            if limit is not None and rate > limit:
                found.append(
                    Breach(
                        row["window_start"], row["bucket"], what, rate, limit, row["requests"], bool(row.get("sampled"))
                    )
                )
    return Verdict(
        thresholds,
        tuple(found),
        len(rows),
        sum(1 for r in rows if r["requests"] < floor),
        sum(1 for r in rows if r.get("sampled")),
        _groups(rows, floor),
    )


def enforce(verdict: Verdict) -> None:
    """Raise the verdict's exit: CheckFailed (1) on a breach, NotJudged (2) when thresholds
    were set but no window could be judged; return when the gate passed (or none was set)."""
    if verdict.breaches:
        raise CheckFailed(verdict.failure())
    if verdict.thresholds.any and verdict.judged == 0:
        if verdict.windows == 0:
            raise NotJudged("no request in the route groups in this input: the thresholds cannot be judged")
        raise NotJudged(
            f"no window had {verdict.thresholds.min_requests}+ requests ({verdict.not_judged_note()}): "
            "the thresholds cannot be judged; lower --min-requests or widen --window"
        )


def rates_check(rows: Callable[[], Sequence[dict[str, Any]]], thresholds: Thresholds) -> Callable[[], Any]:
    """A check for the runbook: passes with ``Verdict.detail()``, fails (exit 1) on a breach,
    is skipped (not passed) when thresholds are set and nothing could be judged."""
    from ctoops.checks import Outcome, Skip

    def check() -> Outcome:
        verdict = judge(rows(), thresholds)
        try:
            enforce(verdict)
        except NotJudged as exc:
            raise Skip(f"not judged: {exc.format_message()}") from None
        except CheckFailed as exc:
            raise CheckFailed(f"{exc.format_message()}; {verdict.detail()}") from None
        return Outcome(verdict.detail(), {"windows": verdict.windows, "windowsNotJudged": verdict.unjudged})

    return check


def pct(rate: float) -> str:
    """A fraction as a percentage with one decimal: 0.0525 -> ``5.2%``."""
    return f"{rate * 100:.1f}%"


def pct_pair(rate: float, limit: float) -> tuple[str, str]:
    """``rate`` and ``limit`` as percentages with as many decimals (1 to 4) as it takes for
    a rate over its limit not to read as equal to it: (0.00444, 0.004) -> ``0.44%``, ``0.40%``."""
    for digits in range(1, 5):
        shown = f"{rate * 100:.{digits}f}%", f"{limit * 100:.{digits}f}%"
        if shown[0] != shown[1] or rate == limit:
            return shown
    return shown


def _worst(window: dict[str, Any]) -> str:
    return f"{pct(window['rate'])} at {iso_second(window['window_start'])} ({_n(window['requests'], 'request')})"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _groups(rows: Sequence[dict[str, Any]], floor: int) -> list[dict[str, Any]]:
    out = []
    for bucket in sorted({r["bucket"] for r in rows}):
        mine = [r for r in rows if r["bucket"] == bucket]
        requests = sum(r["requests"] for r in mine)
        s429 = sum(r["status_429"] for r in mine)
        s5xx = sum(r["status_5xx"] for r in mine)
        judged = [r for r in mine if r["requests"] >= floor]

        def worst(rate: str, judged: list[dict[str, Any]] = judged) -> dict[str, Any] | None:
            if not judged:
                return None
            row = max(judged, key=lambda candidate: (candidate[rate], candidate["requests"]))
            return {"window_start": row["window_start"], "rate": row[rate], "requests": row["requests"]}

        out.append(
            {
                "bucket": bucket,
                "windows": len(mine),
                "unjudged": len(mine) - len(judged),
                "requests": requests,
                "status_429": s429,
                "status_5xx": s5xx,
                "rate_429": s429 / requests if requests else 0.0,
                "rate_5xx": s5xx / requests if requests else 0.0,
                "error_outcomes": sum(r["error_outcomes"] for r in mine),
                "worst_429": worst("rate_429"),
                "worst_5xx": worst("rate_5xx"),
            }
        )
    return out
