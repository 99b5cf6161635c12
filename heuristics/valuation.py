"""The valuation rule (pure): which price is in force at an event, and its USD value in cents.

An event is valued at the latest price point at or before its time, if that point is at most
36 hours old; otherwise it is unpriced (None) — never interpolated, never a stablecoin assumed
at 1.00. Arithmetic is exact (fractions); the result is rounded once to cents, half-even.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

#: The oldest a price point may be when it values an event.
MAX_AGE_SECONDS = 36 * 3600
CENT = Decimal("0.01")


def price_in_force(times: Sequence[int], prices: Sequence[Decimal], at: int) -> tuple[int, Decimal] | None:
    """(time, usd) of the latest point at or before `at` and at most 36 h old; None when there is none.

    `times` is sorted ascending and parallel to `prices`.
    """
    index = bisect.bisect_right(times, at) - 1
    if index < 0 or at - times[index] > MAX_AGE_SECONDS:
        return None
    return times[index], prices[index]


def to_cents(value: Fraction) -> Decimal:
    """An exact USD amount rounded to cents, half-even (banker's rounding)."""
    cents = value * 100
    floor = cents.numerator // cents.denominator
    rest = cents - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2):
        floor += 1
    return (Decimal(floor) / 100).quantize(CENT, rounding=ROUND_HALF_EVEN)


def exact_usd(amount: int, decimals: int, usd: Decimal | str) -> Fraction:
    """`amount` base units of an asset with `decimals` at `usd` per whole unit, exactly."""
    return Fraction(amount, 10**decimals) * Fraction(Decimal(usd))


def usd_value(amount: int, decimals: int, usd: Decimal | str) -> Decimal:
    """`amount` base units at `usd` per unit, in USD rounded to cents (half-even)."""
    return to_cents(exact_usd(amount, decimals, usd))


def decimal_amount(text: str) -> Fraction:
    """A bundle amount (a decimal string in the asset's unit) as an exact fraction."""
    return Fraction(Decimal(text))
