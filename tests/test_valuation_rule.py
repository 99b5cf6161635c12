"""The valuation rule at its edges (heuristics.valuation) and the price file reader."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from chains.pricefile import read_price_file
from heuristics.valuation import MAX_AGE_SECONDS, price_in_force, to_cents, usd_value
from tracer.core.errors import BadInput

T0 = 1_700_000_000
TIMES = [T0, T0 + 3600]
PRICES = [Decimal("2000.50"), Decimal("2001.25")]


def test_price_at_exact_time_is_in_force() -> None:
    assert price_in_force(TIMES, PRICES, T0) == (T0, Decimal("2000.50"))
    assert price_in_force(TIMES, PRICES, T0 + 3600) == (T0 + 3600, Decimal("2001.25"))


def test_latest_point_before_wins_never_a_later_one() -> None:
    assert price_in_force(TIMES, PRICES, T0 + 3599) == (T0, Decimal("2000.50"))
    assert price_in_force(TIMES, PRICES, T0 - 1) is None  # a later point is never used


def test_36_hours_old_is_priced_37_is_not() -> None:
    last = TIMES[-1]
    assert price_in_force(TIMES, PRICES, last + 36 * 3600) == (last, Decimal("2001.25"))
    assert price_in_force(TIMES, PRICES, last + MAX_AGE_SECONDS + 1) is None
    assert price_in_force(TIMES, PRICES, last + 37 * 3600) is None


def test_no_price_is_unpriced() -> None:
    assert price_in_force([], [], T0) is None


@pytest.mark.parametrize(
    ("amount", "decimals", "usd", "expected"),
    [
        (3, 0, "1.005", "3.02"),  # 3.015 -> half-even -> 3.02
        (1_500_000, 6, "0.9987", "1.50"),  # 1.5 USDC-like at 0.9987 = 1.49805
        (12_345_678_901, 8, "43210.99", "5334690.08"),  # 123.45678901 BTC × 43210.99 = 5334690.0753…
        (10**18, 18, "2000.50", "2000.50"),
        (1, 18, "2000", "0.00"),  # one wei
    ],
)
def test_decimals_0_6_8_18(amount: int, decimals: int, usd: str, expected: str) -> None:
    exact = Fraction(amount, 10**decimals) * Fraction(Decimal(usd))
    assert usd_value(amount, decimals, usd) == Decimal(expected)
    assert abs(Fraction(Decimal(expected)) - exact) <= Fraction(1, 200)


def test_amounts_beyond_64_bits_are_exact() -> None:
    amount = 2**64 * 10**18 + 1  # ~1.8e19 whole units plus one wei
    got = usd_value(amount, 18, "3.33")
    assert got == Decimal(2**64 * 333) / 100  # the extra wei is below a cent
    assert usd_value(2**80, 0, "0.01") == Decimal(2**80) / 100


def test_half_even_rounding() -> None:
    assert to_cents(Fraction(1, 200)) == Decimal("0.00")  # 0.005 -> 0.00
    assert to_cents(Fraction(3, 200)) == Decimal("0.02")  # 0.015 -> 0.02
    assert to_cents(Fraction(25, 1000)) == Decimal("0.02")  # 0.025 -> 0.02
    assert to_cents(Fraction(2501, 100000)) == Decimal("0.03")


def test_price_file_reads_dates_datetimes_and_unix_times(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text(
        "asset,time,usd\nethereum:native,2023-09-01,1650.5\n# comment\n"
        "ethereum:native,2023-09-01T12:00:00Z,1651\nbitcoin:native,1693526400,26000\n"
    )
    series, sha = read_price_file(f)
    assert [p.time for p in series["ethereum:native"]] == [1693526400, 1693526400 + 43200]
    assert series["bitcoin:native"][0].usd == Decimal("26000") and len(sha) == 64


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,c\n", "first line"),
        ("asset,time,usd\nethereum:native,yesterday,1\n", "line 2: time"),
        ("asset,time,usd\nethereum:native,2023-09-01,abc\n", "line 2: usd"),
        ("asset,time,usd\nETH,2023-09-01,1\n", "not a key"),
        ("asset,time,usd\nethereum:native,2023-09-01,1\nethereum:native,2023-09-01,2\n", "a second, different"),
    ],
)
def test_price_file_errors_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "p.csv"
    f.write_text(text)
    with pytest.raises(BadInput, match=message) as info:
        read_price_file(f)
    assert "\n" not in str(info.value)
