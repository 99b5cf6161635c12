"""Number, share and time formatting shared by every reporter (display only; files keep exact strings)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from tracer.report.bundle import ZERO

CATEGORY_ORDER = (
    "exchange",
    "exchange-deposit",
    "instant-exchanger",
    "otc",
    "bridge",
    "mixer",
    "sanctioned",
    "unknown-service",
)
#: Balance-sheet destinations other than endpoints, with their display names.
REMAINDERS = (
    ("unmoved", "unmoved at traced addresses"),
    ("fees", "fees"),
    ("below_threshold", "below threshold"),
    ("unexplored", "unexplored frontier"),
    ("swapped_out", "swapped into other assets"),
    ("excluded", "excluded by analyst decision"),
)
#: What thief funds are (never part of `stolen`), as the reporters word it after "plus <amount>".
ATTRIBUTED_TEXT = (
    "thief funds: value thief-controlled addresses gained from elsewhere (first-funder attribution), not stolen"
)
#: The first-funder rule in one sentence, for the reports that list attributed addresses.
ATTRIBUTION_RULE = (
    "A fresh address (holding at most 1 % of the payment) whose first payment from a thief-controlled address "
    "(a thief seed or an address attributed earlier) funded it is taken as thief-controlled from that payment on, "
    "so what it later receives of that asset is thief funds, counted apart from stolen value; a fresh address "
    "whose first gas the thief's side (or the thief's gas station) paid is thief-controlled from that gas on, in "
    "the assets that reached it tainted; an address that "
    "serves others (paid by many senders outside the thief's side, or far more by them than by the thief) is a "
    "counterparty endpoint instead; switch this off with --no-attribution or "
    "attribution = false under [trace] in the case file."
)


def exact(amount: Decimal) -> str:
    """The exact decimal, no exponent, no trailing zeros."""
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def amount(value: Decimal, *, places: int = 6) -> str:
    """Thousands separators and at most `places` decimals (rounded half-even); `<0.000001` for tiny values."""
    if value == ZERO:
        return "0"
    quantum = Decimal(1).scaleb(-places)
    if 0 < abs(value) < quantum:
        return f"<{quantum:f}"
    rounded = value.quantize(quantum, rounding=ROUND_HALF_EVEN)
    text = f"{rounded:,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def with_symbol(value: Decimal, symbol: str) -> str:
    return f"{amount(value)} {symbol}"


def attributed_line(value: Decimal, symbol: str) -> str:
    """`plus <amount> <symbol> thief funds: ... not stolen`."""
    return f"plus {amount(value)} {symbol} {ATTRIBUTED_TEXT}"


def share(value: Decimal) -> str:
    """A fraction as a percentage with two decimals."""
    if value <= 0:
        return "0%"
    percent = (value * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return "<0.01%" if percent == 0 else f"{percent}%"


def when(timestamp: str) -> str:
    """ISO 8601 UTC shortened to `YYYY-MM-DD HH:MM`."""
    if len(timestamp) >= 16 and timestamp[10] == "T":
        return f"{timestamp[:10]} {timestamp[11:16]}"
    return timestamp


def category_rank(category: str) -> tuple[int, str]:
    return (CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER), category)


def short_hash(tx_hash: str) -> str:
    return tx_hash if len(tx_hash) <= 14 else f"{tx_hash[:10]}…{tx_hash[-4:]}"
