"""Thief attribution by first funding: a fresh address the thief funds is the thief's.

Rule (first funder, docs/METHODS §4, applied to value as well as gas): when an address that
is not a service receives a payment of an asset from a thief-controlled address while it
holds almost none of that asset (at most `FRESH_SHARE` of the payment), the thief funded
that balance into existence, and the address is taken to be controlled by the thief from
that payment on. Only the *first* payment it received from the thief is considered: an
address that already held value when the thief first paid it (a victim, a merchant, an
exchange customer) is never attributed by this rule.

Gas (the same rule for the fee coin): a fresh address whose first gas the thief's side paid (a
thief-controlled address, or the thief's gas station) is the thief's from that payment on
(:func:`first_gas_payment`), in every asset that reached it carrying stolen value or thief funds:
the thief made the wallet, so what it gains there is thief funds, also before the thief first
paid it (:func:`gains_beyond`).

Limits: the rule only makes an address the thief's while it behaves like the thief's wallet.
An address that serves others (:func:`serves_others`: many senders outside the thief's side, or
far more value from them than from the thief) is a counterparty, never attributed: what the
thief paid it stays there as an endpoint, and its other business is not followed. Deposit
addresses (every outflow swept to one service hub, :mod:`heuristics.deposits`) are endpoints
before attribution is considered, so a per-order address of an instant exchanger is never the
thief's either.

Launderers spread stolen value over fresh addresses and later top them up from elsewhere
(other victims, other wallets of theirs); value-based taint then dilutes while the
addresses are plainly the thief's. Attribution lets the tracer follow what thief-controlled
addresses send, and says why for each address it attributed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from fractions import Fraction

from tracer.core.models import Transfer, TransferKind

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


def first_gas_payment(address: str, transfers: Sequence[Transfer]) -> Transfer | None:
    """The payment that gave a fresh address its first gas, or None.

    Rule (first funder, docs/METHODS §4: who paid the first gas of a fresh address): the address's
    earliest value inflow is in the native coin, it came before the address sent anything, and the
    address never passes the native coin on (what it holds of it is for fees: a wallet that moves the
    coin itself was paid, not fuelled). `transfers` is the history in canonical order.
    """
    first = None
    for tr in transfers:
        if tr.noise or not tr.moves_value or tr.sender == tr.receiver:
            continue
        if tr.sender == address:
            if first is None:
                return None  # it spent before anyone funded it: not fresh
            if tr.asset.contract is None and tr.kind is not TransferKind.FEE and tr.amount:
                return None  # it passes the coin on
        elif tr.receiver == address and tr.amount > 0 and tr.kind is not TransferKind.FEE and first is None:
            if tr.asset.contract is not None:
                return None  # its first inflow was a token: a payment, not gas
            first = tr
    return first


def gains_beyond(
    address: str,
    transfers: Sequence[Transfer],
    gas: Transfer,
    payment: Transfer | None,
    thieves: Set[str],
    assets: Set[str],
) -> bool:
    """Does the gas rule say more than the value rule? True when, from its first `gas` on, `address` gains value
    from outside `thieves` that the thief's first `payment` to it (None: none that found it fresh) does not
    cover: before that payment, or in another asset. Only `assets` count (asset keys the thief's side paid it
    in: a token nobody on that side touched, say an airdrop or a spoof, is not the thief's). More of the native
    coin is only more gas (the wallet of :func:`first_gas_payment` never passes the coin on)."""
    for tr in transfers:
        if (
            tr.asset.contract is None
            or tr.asset.key not in assets
            or tr.receiver != address
            or tr.sender == address
            or tr.sender in thieves
            or (tr.tx_hash, tr.position) == (gas.tx_hash, gas.position)
            or tr.noise
            or not tr.moves_value
            or tr.amount <= 0
            or tr.kind is TransferKind.FEE
            or tr.order_key < gas.order_key
        ):
            continue
        if payment is None or tr.order_key < payment.order_key or tr.asset.key != payment.asset.key:
            return True
    return False


def _order(tr: Transfer) -> tuple[int, int, str, int]:
    return tr.order_key


# --------------------------------------------------------------------------- limits: serving others
#: Distinct senders outside the thief's side that an address serving others has at least ...
COUNTERPARTY_MIN_SENDERS = 10
#: ... and that together paid it more than this many times what the thief's side did, in some asset.
#: Both, because launderers top up their own addresses from fresh wallets too (many senders, modest
#: value), and one rich outside sender is a wallet of the thief's or a single payer, not a business.
COUNTERPARTY_VALUE_RATIO = 10


@dataclass(frozen=True, slots=True)
class InflowShare:
    """Who paid an address, split between the thief's side and everyone else (per asset, base units)."""

    thief: dict[str, int]
    outside: dict[str, int]
    outside_senders: frozenset[str]
    thief_senders: frozenset[str]


def inflow_share(
    address: str,
    transfers: Sequence[Transfer],
    *,
    thief_edges: Mapping[tuple[str, int], int],
    ignored: Set[str] = frozenset(),
) -> InflowShare:
    """Split `address`'s inflows into the thief's side and the outside, in the assets the thief paid in.

    `thief_edges` maps the inflow edges (tx hash, position) that carry stolen value or thief funds to
    the amount they carry. An outside inflow is any other value inflow in one of those assets, except
    from `ignored` senders (the thief's own addresses, labelled services: an exchange withdrawal is
    neither evidence of a business nor the thief's side) and except what the address receives in a
    transaction it paid into itself (a swap's proceeds).
    """
    paying = {
        tr.tx_hash
        for tr in transfers
        if tr.sender == address and tr.receiver != address and tr.kind is not TransferKind.FEE and tr.moves_value
    }
    thief: dict[str, int] = {}
    thief_senders: set[str] = set()
    inflows = [
        tr
        for tr in transfers
        if tr.receiver == address
        and tr.sender != address
        and tr.moves_value
        and not tr.noise
        and tr.amount > 0
        and tr.kind is not TransferKind.FEE
    ]
    for tr in inflows:
        carried = thief_edges.get((tr.tx_hash, tr.position), 0)
        if carried:
            thief[tr.asset.key] = thief.get(tr.asset.key, 0) + carried
            thief_senders.add(tr.sender)
    outside: dict[str, int] = {}
    senders: set[str] = set()
    for tr in inflows:
        key = tr.asset.key
        if key not in thief or (tr.tx_hash, tr.position) in thief_edges or tr.tx_hash in paying:
            continue
        if tr.sender in ignored or tr.sender in thief_senders:
            continue
        outside[key] = outside.get(key, 0) + tr.amount
        senders.add(tr.sender)
    return InflowShare(thief, outside, frozenset(senders), frozenset(thief_senders))


def serves_others(share: InflowShare) -> str | None:
    """Why an address the thief paid serves others (a counterparty: OTC desk, merchant, payee), or None.

    Rule: at least `COUNTERPARTY_MIN_SENDERS` distinct senders outside the thief's side paid it, in an
    asset the thief's side paid it in, more than `COUNTERPARTY_VALUE_RATIO` times what the thief's side did.
    """
    n = len(share.outside_senders)
    if n < COUNTERPARTY_MIN_SENDERS:
        return None
    for key in sorted(share.outside):
        theirs, ours = share.outside[key], share.thief.get(key, 0)
        if ours and theirs > COUNTERPARTY_VALUE_RATIO * ours:
            ratio = Fraction(theirs, ours)
            return (
                f"{n} senders outside the thief's side paid it {float(ratio):.1f}x what the thief's side did in {key}"
            )
    return None
