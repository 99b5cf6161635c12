"""Swaps inside one transaction: an address pays asset A and keeps asset B (DEX, aggregator, wrap).

Rule (TRacer's swap redirection, Wu et al., IEEE TIFS 2023): when, in one transaction, an
address pays some assets out of its holdings and keeps others that arrived in the same
transaction, taint continues in what it kept, in proportion. The tainted fraction of what
was paid carries over; with several paid assets the fractions are averaged with equal
weight, since the engine has no prices. Pass-through is different: an address that receives
an asset and sends the same asset on in one transaction (a router) is a conduit, not a swap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from tracer.core.models import FEE_SINK, Transfer, TransferKind


@dataclass(frozen=True, slots=True)
class SwapPattern:
    """What `address` paid and kept, net, in one transaction (asset key -> base units)."""

    tx_hash: str
    address: str
    paid: Mapping[str, int]
    kept: Mapping[str, int]


def net_flows(address: str, transfers: Iterable[Transfer]) -> dict[str, dict[str, int]]:
    """Per transaction, the net change of each asset at `address` (fees, noise, reverts excluded)."""
    net: dict[str, dict[str, int]] = {}
    for tr in transfers:
        if tr.kind is TransferKind.FEE or tr.noise or not tr.moves_value or tr.sender == tr.receiver:
            continue
        if tr.receiver == address:
            sign = 1
        elif tr.sender == address and tr.receiver != FEE_SINK:
            sign = -1
        else:
            continue
        per_tx = net.setdefault(tr.tx_hash, {})
        per_tx[tr.asset.key] = per_tx.get(tr.asset.key, 0) + sign * tr.amount
    return net


def extract_swaps(address: str, transfers: Iterable[Transfer]) -> list[SwapPattern]:
    """Transactions in which `address` paid one set of assets and kept another, in history order."""
    found = []
    for tx_hash, per_asset in net_flows(address, transfers).items():
        paid = {k: -v for k, v in sorted(per_asset.items()) if v < 0}
        kept = {k: v for k, v in sorted(per_asset.items()) if v > 0}
        if is_swap(paid, kept):
            found.append(SwapPattern(tx_hash, address, paid, kept))
    return found


def is_swap(paid: Iterable[str], kept: Iterable[str]) -> bool:
    """A swap pays at least one asset and keeps at least one *other* asset."""
    paid_set = set(paid)
    return bool(paid_set) and any(k not in paid_set for k in kept)


def swap_fraction(paid: Mapping[str, tuple[int, int]]) -> Fraction:
    """The tainted fraction carried into kept assets: mean over paid assets of taint / amount."""
    parts = [Fraction(taint, amount) for amount, taint in paid.values() if amount > 0]
    return sum(parts, Fraction(0)) / len(parts) if parts else Fraction(0)
