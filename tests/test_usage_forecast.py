"""The forecast on synthetic series with known answers (ctoops.usage.forecast; the method is
docs/forecast.md): the numbers below are worked by hand from the method's formulas."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ctoops.usage.forecast import HISTORY_DAYS, forecast, t_quantile

DAY = 86400
MONDAY = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp())  # 2026-11-02 is a Monday


def series(values, start=MONDAY):
    return [(start + i * DAY, Decimal(str(v))) for i, v in enumerate(values)]


def test_a_constant_series_lands_exactly_with_no_width():
    daily = series([10] * 20)
    since = MONDAY + 20 * DAY
    f = forecast(daily, Decimal("200"), since, since + 10 * DAY)
    assert f is not None
    assert f.predicted == Decimal("100.00") and f.total == f.low == f.high == Decimal("300.00")
    assert f.days_ahead == 10 and f.days_used == 20 and f.weekday_effect


def test_a_weekly_pattern_is_followed_by_weekday():
    week = [10, 10, 10, 10, 10, 2, 2]  # Monday..Sunday
    daily = series(week * 4)
    since = MONDAY + 28 * DAY  # a Monday
    f = forecast(daily, Decimal(0), since, since + 9 * DAY)  # Mon..Sun, Mon, Tue
    assert f is not None and f.weekday_effect
    assert f.predicted == Decimal(5 * 10 + 2 * 2 + 10 + 10)
    assert f.low == f.high == f.total  # the pattern explains every day: no residual


def test_the_interval_comes_from_the_residuals_by_the_formula():
    # 10 days (no weekday effect under 14): mean 10, residuals +-1, s^2 = 10/9;
    # 5 days ahead: variance 5 s^2 + 25 s^2 / 10; t(0.95, 9) = 1.833
    daily = series([9, 11] * 5)
    since = MONDAY + 10 * DAY
    f = forecast(daily, Decimal("100"), since, since + 5 * DAY)
    assert f is not None and not f.weekday_effect
    s2 = 10 / 9
    margin = 1.833 * math.sqrt(5 * s2 + 25 * s2 / 10)
    assert f.predicted == Decimal("50.00") and f.total == Decimal("150.00")
    assert f.high == Decimal(str(round(150 + margin, 2))) and f.low == Decimal(str(round(150 - margin, 2)))
    assert float(f.high - f.total) == pytest.approx(5.291, abs=0.01)


def test_the_low_end_never_goes_below_what_is_settled():
    daily = series([0, 0, 0, 100, 0, 0, 0, 0])
    since = MONDAY + 8 * DAY
    f = forecast(daily, Decimal("100"), since, since + 2 * DAY)
    assert f is not None and f.low == Decimal("100.00") and f.high > f.total > f.low


def test_only_the_last_28_settled_days_are_used():
    old = [1000] * 30
    recent = [10] * HISTORY_DAYS
    daily = series(old + recent)
    since = MONDAY + (30 + HISTORY_DAYS) * DAY
    f = forecast(daily, Decimal(0), since, since + DAY)
    assert f is not None and f.predicted == Decimal("10.00") and f.days_used == HISTORY_DAYS


def test_too_few_settled_days_give_no_forecast():
    assert forecast(series([5, 6]), Decimal(11), MONDAY + 2 * DAY, MONDAY + 30 * DAY) is None


def test_tokens_round_to_whole_numbers_and_nothing_ahead_is_the_settled_total():
    daily = [(MONDAY + i * DAY, 1000 + i) for i in range(5)]
    f = forecast(daily, 5010, MONDAY + 5 * DAY, MONDAY + 5 * DAY, places=0)
    assert f is not None and f.total == f.low == f.high == Decimal(5010) and f.days_ahead == 0


def test_t_quantiles_match_the_tables():
    assert t_quantile(1) == 6.314 and t_quantile(9) == 1.833 and t_quantile(30) == 1.697
    assert t_quantile(35) == 1.697 and t_quantile(1000) == 1.645 and t_quantile(0) == math.inf


def test_a_settled_amount_past_28_digits_lands_in_the_total_exactly():
    # 30 digits: Python's default context rounded the sum to 28 (...000.0, so .00) before the
    # cents, or refused to quantize it at all
    settled = Decimal("100000000000000000000000000.015")
    daily = series([1] * 5)
    since = MONDAY + 5 * DAY
    f = forecast(daily, settled, since, since + 2 * DAY)
    assert f is not None and f.settled == settled and f.predicted == Decimal("2.00")
    assert f.total == f.low == f.high == Decimal("100000000000000000000000002.02")  # .015 + 2, half to even
