"""Thief attribution by first funding: a fresh address the thief funds is the thief's.

Rule (first funder, docs/METHODS §4, applied to value as well as gas): when an address that
is not a service receives a payment of an asset from a thief-controlled address while it
holds almost none of that asset (at most `FRESH_SHARE` of the payment), the thief funded
that balance into existence, and the address is taken to be controlled by the thief from
that payment on. Only the *first* payment it received from the thief is considered: an
address that already held value when the thief first paid it (a victim, a merchant, an
exchange customer) is never attributed by this rule.

Launderers spread stolen value over fresh addresses and later top them up from elsewhere
(other victims, other wallets of theirs); value-based taint then dilutes while the
addresses are plainly the thief's. Attribution lets the tracer follow what thief-controlled
addresses send, and says why for each address it attributed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

from tracer.core.models import Transfer

#: At most this share of the first thief payment may already be held for the address to count as fresh.
FRESH_SHARE = Fraction(1, 100)


def balance_before(address: str, transfers: Sequence[Transfer], point: Transfer) -> int:
    """`address`'s balance of `point`'s asset before `point`'s transaction (never below 0).

    `transfers` is the address's history in canonical order; noise and failed transfers move
    nothing, fees (native coin) are outflows.
    """
    asset = point.asset
    balance = 0
    for tr in transfers:
        if tr.order_key >= point.order_key or tr.tx_hash == point.tx_hash:
            break
        if tr.asset != asset or tr.noise or not tr.moves_value or tr.sender == tr.receiver:
            continue
        if tr.receiver == address:
            balance += tr.amount
        elif tr.sender == address:
            balance -= tr.amount
    return max(balance, 0)


def first_thief_payment(address: str, payments: Iterable[Transfer]) -> Transfer | None:
    """The earliest of `payments` (inflows of `address` sent by thief-controlled addresses)."""
    funding = (p for p in payments if p.receiver == address and p.moves_value and not p.noise)
    return min(funding, key=_order, default=None)


def funded_by_thief(address: str, transfers: Sequence[Transfer], payment: Transfer) -> bool:
    """True when `payment` (the thief's first payment to `address`) found the address (almost) empty."""
    held = balance_before(address, transfers, payment)
    return held * FRESH_SHARE.denominator <= payment.amount * FRESH_SHARE.numerator


def _order(tr: Transfer) -> tuple[int, int, str, int]:
    return tr.order_key
