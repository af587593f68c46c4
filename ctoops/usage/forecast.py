"""Where a daily series will land by a horizon: settled days only, a day-of-week effect, and a
prediction interval from the residuals. The method, in full, is in ``docs/forecast.md``.

In short, over the last ``HISTORY_DAYS`` settled days ``y``:

1. the level ``m`` is their mean; with at least ``WEEKDAY_MIN_DAYS`` days (each weekday seen
   twice), each weekday ``w`` gets a factor ``f_w`` = mean of ``y`` on ``w`` / ``m``, else 1;
2. the residuals ``r_d = y_d - m * f_w(d)`` give ``s = sqrt(sum r^2 / (n - p))``, ``p`` the
   parameters fitted (1, or 7 with weekdays);
3. the ``h`` days from the settled-through mark to the horizon are predicted as
   ``sum m * f_w(d)``, with variance ``h * s^2 + h^2 * s^2 / n`` (each day's noise, plus the
   uncertainty of the level); the interval is the prediction +/- ``t * sqrt(variance)``,
   ``t`` Student's quantile for ``n - p`` degrees of freedom at ``LEVEL`` (two-sided), and
   never below 0 (spend does not shrink);
4. the forecast total is what is settled in the range plus that prediction.

A series with fewer than ``MIN_DAYS`` settled days gets no forecast (said, never guessed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from ctoops.dates import DAY, iso_day
from ctoops.decimals import rounded, total

HISTORY_DAYS = 28
WEEKDAY_MIN_DAYS = 14
MIN_DAYS = 3
LEVEL = 0.90  # a 90% prediction interval: 5% above the high end, 5% below the low end
# Student's t, 0.95 quantile (two-sided 90%), by degrees of freedom (standard tables).
_T95 = {
    1: 6.314, 2: 2.920, 3: 2.353, 4: 2.132, 5: 2.015, 6: 1.943, 7: 1.895, 8: 1.860, 9: 1.833, 10: 1.812,
    11: 1.796, 12: 1.782, 13: 1.771, 14: 1.761, 15: 1.753, 16: 1.746, 17: 1.740, 18: 1.734, 19: 1.729,
    20: 1.725, 21: 1.721, 22: 1.717, 23: 1.714, 24: 1.711, 25: 1.708, 26: 1.706, 27: 1.703, 28: 1.701,
    29: 1.699, 30: 1.697, 40: 1.684, 60: 1.671, 120: 1.658,
}  # fmt: skip
NOTHING_SETTLED = "nothing of the range is settled yet"
METHOD = (
    "mean of the last settled days (up to 28) with a day-of-week effect from 14 days on; 90% prediction "
    "interval from the residuals (Student's t); see docs/forecast.md"
)


def t_quantile(df: int) -> float:
    """Student's t 0.95 quantile for ``df`` degrees of freedom (the nearest tabled df below)."""
    if df <= 0:
        return math.inf
    usable = [d for d in _T95 if d <= df]
    return _T95[max(usable)] if df <= 120 else 1.645


@dataclass(frozen=True)
class Forecast:
    """A forecast total for [range start, ``horizon``) in the series' unit (money or tokens).

    ``settled``: the exact settled amount of the range, None when no day of it is settled
    (the history before it made the forecast; never 0); ``predicted``: the days from
    ``since`` (the settled-through mark, or the range's start) to ``horizon``;
    ``total``/``low``/``high``: settled plus the prediction and its interval.
    ``days_used``: settled days the model saw.
    """

    since: int
    horizon: int
    settled: Decimal | None
    predicted: Decimal
    total: Decimal
    low: Decimal
    high: Decimal
    days_used: int
    days_ahead: int
    weekday_effect: bool
    method: str = METHOD

    def as_record(self) -> dict[str, object]:
        """JSON-ready (amounts as Decimals); ``settled`` null and a ``note`` when nothing of
        the range is settled."""
        record: dict[str, object] = {
            "horizon": iso_day(self.horizon),
            "settled": self.settled,
            "predicted": self.predicted,
            "total": self.total,
            "low": self.low,
            "high": self.high,
            "level": LEVEL,
            "fromDay": iso_day(self.since),
            "daysAhead": self.days_ahead,
            "daysUsed": self.days_used,
            "weekdayEffect": self.weekday_effect,
            "method": self.method,
        }
        if self.settled is None:
            record["note"] = NOTHING_SETTLED
        return record


def forecast(
    daily: Sequence[tuple[int, Decimal | int]],
    settled: Decimal | int | None,
    since: int,
    horizon: int,
    *,
    places: int = 2,
) -> Forecast | None:
    """The forecast total for a range whose ``settled`` amount is known up to ``since``.

    ``daily``: (day start, value) for settled days (unix s, 00:00 UTC), oldest first, every
    day present (a settled day without data is 0); the last ``HISTORY_DAYS`` are used.
    ``settled``: None when no day of the range is settled (the total is the prediction
    alone; never read as 0). ``places``: decimal places of the result (2 for money, 0 for
    tokens). None when fewer than ``MIN_DAYS`` days are given.
    """
    history = list(daily)[-HISTORY_DAYS:]
    n = len(history)
    if n < MIN_DAYS:
        return None
    values = [float(v) for _, v in history]
    level = sum(values) / n
    weekdays = [_weekday(day) for day, _ in history]
    factors = [1.0] * 7
    weekday_effect = n >= WEEKDAY_MIN_DAYS and all(weekdays.count(w) >= 2 for w in range(7)) and level > 0
    if weekday_effect:
        for w in range(7):
            seen = [v for v, wd in zip(values, weekdays, strict=True) if wd == w]
            factors[w] = (sum(seen) / len(seen)) / level
    params = 7 if weekday_effect else 1
    residuals = [v - level * factors[wd] for v, wd in zip(values, weekdays, strict=True)]
    dof = n - params
    s2 = sum(r * r for r in residuals) / dof if dof > 0 else 0.0
    ahead = [since + i * DAY for i in range(max(0, (horizon - since) // DAY))]
    h = len(ahead)
    point = sum(level * factors[_weekday(day)] for day in ahead)
    margin = t_quantile(dof) * math.sqrt(h * s2 + h * h * s2 / n) if h and s2 > 0 else 0.0
    exact = None if settled is None else Decimal(settled)
    predicted = _round(point, places)

    def landing(ahead: Decimal) -> Decimal:  # settled (exact, every digit) + ahead, then rounded
        return rounded(ahead if exact is None else total((exact, ahead)), places)

    return Forecast(
        since=since,
        horizon=horizon,
        settled=exact,
        predicted=predicted,
        total=landing(predicted),
        low=landing(_round(max(0.0, point - margin), places)),
        high=landing(_round(point + margin, places)),
        days_used=n,
        days_ahead=h,
        weekday_effect=weekday_effect,
    )


def _weekday(ts: int) -> int:
    return datetime.fromtimestamp(ts, tz=UTC).weekday()


def _round(value: float, places: int) -> Decimal:
    return rounded(Decimal(repr(value)), places)
