"""The budget gate: settled spend, and optionally the forecast's high end, against a budget.

``--budget 5000`` (in usd; ``5000eur`` names another currency) judges the range's total;
``--budget-by proj_abc=1000,proj_def=250`` judges each project (the pull must be grouped by
``project_id``). A budget is breached when the settled spend already exceeds it, or, with
``--fail-on-forecast``, when the forecast's high end does (or when no forecast could be
made: the gate cannot pass on what it could not prove). Each verdict states the spend, the
forecast and its interval, the budget and the settled-through mark.

Settled spend within a budget is not enough to pass: when the spend the API has already
reported for days not settled yet would take it over (``Verdict.with_unsettled_breached``),
the range is not proven within budget and the verdict is FAIL, saying both figures. Only
settled spend is called over budget; a pass needs settled and unsettled spend within it.

A budget is judged only on what the pull proves. It never passes when the spend it names
cannot be known (``Verdict.unjudged``): when none of its scope's costs are in its currency
(``--budget 10eur`` on costs in usd: the verdict names the currencies they are in), when
nothing of the range is settled, or when its scope has no costs at all (a ``--budget-by``
project the pull never saw). No data is never a spend of 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from ctoops.errors import BadInput
from ctoops.params import ParamType
from ctoops.usage.forecast import LEVEL, Forecast

_AMOUNT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)?\s*")


@dataclass(frozen=True)
class Budget:
    """One limit: ``project`` None for the whole range; ``amount`` in ``currency`` (lower case)."""

    amount: Decimal
    currency: str
    project: str | None = None

    @property
    def scope(self) -> str:
        return f"project {self.project}" if self.project else "the range"


def parse_amount(text: str, option: str) -> tuple[Decimal, str]:
    """``5000``, ``5000.50``, ``5000eur``: (amount, currency; usd by default); exit 2 otherwise,
    and for a currency that is not a 3-letter code (ISO 4217's shape: ``eur``, ``usd``).
    Whether the costs are in that currency is known only after the pull (``Verdict``)."""
    m = _AMOUNT.fullmatch(text)
    if not m:
        raise BadInput(f"{option} {text!r} is not an amount: give a number such as 5000 or 5000.50 (usd), or 5000eur")
    if m.group(2) is not None and len(m.group(2)) != 3:
        raise BadInput(
            f"{option} {text!r}: {m.group(2)!r} is not a currency code: give a 3-letter ISO 4217 code "
            "such as usd or eur (5000eur), or none for usd"
        )
    try:
        amount = Decimal(m.group(1))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise BadInput(f"{option} {text!r} is not an amount") from None
    return amount, (m.group(2) or "usd").lower()


class AmountText(ParamType):
    """A budget amount in a runbook step: ``5000``, ``5000.5`` (TOML numbers) or ``"5000eur"``,
    kept as text for ``parse_amount`` (a TOML float is read by its shortest repr)."""

    name = "amount"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(f"{value!r} is not an amount", param, ctx)
        text = repr(value) if isinstance(value, float) else str(value)
        try:
            parse_amount(text, "budget")
        except BadInput as exc:
            self.fail(exc.format_message(), param, ctx)
        return text


def parse_budgets(total: str | None, by: tuple[str, ...], group_by: tuple[str, ...]) -> list[Budget]:
    """The budgets given; exit 2 before any request for a malformed one or a ``--budget-by``
    without ``--group-by project_id``."""
    budgets = []
    if total is not None:
        amount, currency = parse_amount(total, "--budget")
        budgets.append(Budget(amount, currency))
    from ctoops.params import split_names

    try:  # each item may still hold commas (a runbook's ``budget_by`` string); none may be empty
        items = [part for item in by for part in split_names(item)]
    except ValueError as exc:
        raise BadInput(f"--budget-by {exc}") from None
    if items and "project_id" not in group_by:
        raise BadInput("--budget-by judges each project: add --group-by project_id")
    seen = set()
    for item in items:
        project, sep, value = item.partition("=")
        if not sep or not project.strip():
            raise BadInput(f"--budget-by {item!r}: give PROJECT_ID=AMOUNT, e.g. proj_abc=1000")
        if project.strip() in seen:
            raise BadInput(f"--budget-by names {project.strip()} twice")
        seen.add(project.strip())
        amount, currency = parse_amount(value, f"--budget-by {project.strip()}=")
        budgets.append(Budget(amount, currency, project.strip()))
    return budgets


@dataclass(frozen=True)
class Verdict:
    """One budget judged. ``spend``: settled spend in the budget's currency (exact; None when
    nothing of the range is settled, and the verdict is then ``unjudged``);
    ``unsettled``: what the API reported for days not settled yet (a pass needs it within
    the budget too, with the settled spend: ``with_unsettled_breached``);
    ``forecast``: None when it could not be made; ``currencies``: the currencies the scope's
    costs in the range are in (any of them; as sent); ``unjudged``: why the spend in the
    budget's currency cannot be known (the verdict is then FAIL), None when it can."""

    budget: Budget
    spend: Decimal | None
    unsettled: Decimal
    forecast: Forecast | None
    settled_label: str
    gate_forecast: bool
    unknown_amounts: int = 0
    currencies: tuple[str, ...] = ()
    unjudged: str | None = None

    @property
    def spend_breached(self) -> bool:
        return self.unjudged is None and self.spend is not None and self.spend > self.budget.amount

    @property
    def with_spend_and_unsettled(self) -> Decimal | None:
        """Settled spend plus the unsettled spend reported so far (exact); None when nothing is settled."""
        from ctoops.decimals import total

        return None if self.spend is None else total((self.spend, self.unsettled))

    @property
    def with_unsettled_breached(self) -> bool:
        """Settled spend is within budget, but with the unsettled spend reported so far it is
        over: not proven within budget (a FAIL, never a pass)."""
        reported = self.with_spend_and_unsettled
        return (
            self.unjudged is None and not self.spend_breached and reported is not None and reported > self.budget.amount
        )

    @property
    def unknown_unproven(self) -> bool:
        """Within budget on what was counted, but results came without an amount: their
        spend is unknown, so the budget is not proven (a FAIL, never a pass)."""
        return (
            self.unjudged is None
            and self.unknown_amounts > 0
            and not self.spend_breached
            and not self.with_unsettled_breached
        )

    @property
    def forecast_breached(self) -> bool:
        return self.forecast is not None and self.forecast.high > self.budget.amount

    @property
    def passed(self) -> bool:
        if self.unjudged is not None or self.spend is None:  # nothing proves the spend: never a pass
            return False
        if self.spend_breached or self.with_unsettled_breached or self.unknown_unproven:
            return False
        if self.gate_forecast:
            return self.forecast is not None and not self.forecast_breached
        return True

    def line(self) -> str:
        """One line a CI log shows: PASS/FAIL, scope, spend, forecast, interval, budget, mark."""
        from ctoops.decimals import total
        from ctoops.usage.export import decimal_text

        c = self.budget.currency

        def money(value: Decimal) -> str:
            return f"{_amount(value)} {c}"

        if self.unjudged is not None or self.spend is None:
            unknown = f"; {self.unknown_amounts} results without an amount" if self.unknown_amounts else ""
            return (
                f"budget FAIL for {self.budget.scope}: {self.unjudged or 'nothing is settled yet'}; "
                f"budget {decimal_text(self.budget.amount)} {c} (settled through {self.settled_label}){unknown}"
            )
        parts = [f"settled spend {money(self.spend)} (settled through {self.settled_label})"]
        if self.forecast is not None:
            f = self.forecast
            parts.append(
                f"forecast {money(f.total)} by {_day(f.horizon)} ({int(LEVEL * 100)}% interval "
                f"{money(f.low)}..{money(f.high)})"
            )
        else:
            parts.append("no forecast (too few settled days)")
        parts.append(f"budget {decimal_text(self.budget.amount)} {c}")
        others = [x for x in self.currencies if x.lower() != c]
        if others:
            parts.append(f"costs in {', '.join(others)} not judged by this budget")
        if self.unknown_amounts:
            parts.append(f"{self.unknown_amounts} results without an amount not counted: spend may be higher")
        if self.spend_breached:
            why = "settled spend is over budget"
        elif self.with_unsettled_breached:
            why = (
                f"not proven within budget: settled spend {money(self.spend)} is within it, but the unsettled "
                f"{money(self.unsettled)} reported so far would take it to "
                f"{money(total((self.spend, self.unsettled)))}, over it"
            )
        elif self.unknown_unproven:
            why = (
                f"not proven within budget: {self.unknown_amounts} results came without an amount, so the "
                f"spend may be higher than the {money(total((self.spend, self.unsettled)))} counted"
            )
        elif self.gate_forecast and self.forecast is None:
            why = "--fail-on-forecast, but no forecast could be made"
        elif self.gate_forecast and self.forecast_breached:
            why = "the forecast's high end is over budget"
        elif self.forecast_breached:
            why = "within budget so far; the forecast's high end is over it (not gated: add --fail-on-forecast)"
        else:
            why = "within budget"
        verdict = "PASS" if self.passed else "FAIL"
        return f"budget {verdict} for {self.budget.scope}: {why}; " + ", ".join(parts)

    def flat(self) -> dict[str, Any]:
        """One row for a sheet: the record with the forecast's total and interval inline."""
        f = self.forecast
        record = self.as_record()
        record.pop("forecast")
        record.update(
            forecastTotal=None if f is None else f.total,
            forecastLow=None if f is None else f.low,
            forecastHigh=None if f is None else f.high,
            forecastHorizon=None if f is None else _day(f.horizon),
        )
        return record

    def as_record(self) -> dict[str, Any]:
        return {
            "scope": self.budget.project or "total",
            "currency": self.budget.currency,
            "budget": self.budget.amount,
            "settledSpend": None if self.unjudged else self.spend,
            "unsettledSpend": None if self.unjudged else self.unsettled,
            "settledThrough": self.settled_label,
            "forecast": None if self.forecast is None else self.forecast.as_record(),
            "spendOverBudget": self.spend_breached,
            "withUnsettledOverBudget": self.with_unsettled_breached,
            "resultsWithoutAmount": self.unknown_amounts,
            "forecastOverBudget": self.forecast_breached,
            "gatedOnForecast": self.gate_forecast,
            "passed": self.passed,
            "costCurrencies": list(self.currencies),
            "notJudged": self.unjudged,
        }


def _amount(value: Decimal) -> str:
    """``1,234.50``: at least the cents, and every digit past them: a verdict never shows a
    spend rounded (``100.001`` over a budget of ``100`` would read ``100.00``)."""
    from ctoops.decimals import rounded

    cents = rounded(value, 2)
    return f"{cents:,f}" if cents == value else f"{value:,f}".rstrip("0")


def _day(ts: int) -> str:
    from ctoops.dates import iso_day

    return iso_day(ts)
