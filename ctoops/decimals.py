"""Money arithmetic in Python without silent rounding: every sum or difference of amounts,
and every deliberate rounding of one (to cents, for a forecast or a terminal cell), goes
through here.

Python's default decimal context keeps 28 significant digits and rounds anything longer
without a word: ``Decimal(0) + Decimal("100000000000000000.0000000000000000001")`` is
``1.000000000000000000000000000E+17``. ctoops keeps amounts in ``decimal128`` (38 digits;
``ctoops.usage.frame.decimal_type`` refuses any that need more, exit 4), and Arrow sums them
in ``decimal256`` when their sum could pass 38 digits (``ctoops.usage.frame.summable``).
``PRECISION`` holds any sum or difference of numbers that wide, whatever their scales, and
the ``Inexact`` trap is on: an operation that would still round
raises ``decimal.Inexact`` (an internal error, exit 70) instead of returning a number that
looks right. Comparisons (``<``, ``==``) and ``str``/``format`` never round in any context
and need nothing from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

PRECISION = 160  # digits: two 76-digit numbers (decimal256's) at opposite scales sum to 153 at most
EXACT = Context(prec=PRECISION, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])
# deliberate rounding (quantize with a rounding mode): wide enough that only the places asked
# for are dropped (the default 28 digits makes quantize fail on a large amount)
_ROUNDING = Context(prec=PRECISION, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])


def exact() -> AbstractContextManager[Context]:
    """A ``with`` block whose Decimal arithmetic is exact or raises ``decimal.Inexact``."""
    return localcontext(EXACT)


def total(values: Iterable[Decimal | int]) -> Decimal:
    """The exact sum of ``values`` (Decimals or ints; ``Decimal(0)`` for none).

    Raises ``decimal.Inexact`` if the sum needs more than ``PRECISION`` digits (never for
    amounts a ``decimal128`` holds)."""
    with exact():
        return sum((Decimal(v) for v in values), Decimal(0))


def difference(a: Decimal | int, b: Decimal | int) -> Decimal:
    """``a - b`` exactly; raises ``decimal.Inexact`` as ``total`` does."""
    with exact():
        return Decimal(a) - Decimal(b)


def rounded(value: Decimal | int, places: int, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """``value`` rounded to ``places`` decimal places (2: cents; 0: whole units) with
    ``rounding`` (a ``decimal`` rounding mode): the one place ctoops rounds money on purpose,
    for a forecast and a terminal cell. Only the digits past ``places`` are dropped, however
    large the value (the default context refuses past 28 digits). Raises
    ``decimal.InvalidOperation`` past ``PRECISION`` digits."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=rounding, context=_ROUNDING)
