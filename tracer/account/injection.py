"""What is stolen at a seed (:class:`Injection`) and the rules that decide which inflows count."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tracer.account.holders import Lots, Proportional, new_holder
from tracer.account.outcome import EdgeKey, Outcome, asset_key, bump
from tracer.cases.plan import Window
from tracer.core.models import Policy, Transfer, TransferKind


@dataclass(frozen=True, slots=True)
class Injection:
    """What is stolen at a seed.

    - thief: every inflow in the window from a non-seed sender is stolen (``caps`` None), except
      from the labelled services in ``services`` (an exchange withdrawal is never loot), or
      only the listed assets up to a cap each; a cap larger than what arrived in the window
      is an opening tainted balance at `since`. What the seed receives in a transaction it
      paid into itself (a swap's proceeds) is not new loot: the swap rule carries taint there.
    - victim: every outflow in the window (fees excluded) is stolen; taint coming back stays.
    - edges: specific inflows (of a theft transaction) and the amount of each that is stolen.
    - attributed: a thief-controlled address found during the trace (not a seed), injected in the
      *thief-funds* replay only: like an uncapped thief of the asset keys in `assets` (the asset
      the thief funded it with) from the transfer at `start` on. What it gains there is thief
      funds, never stolen; the part of an inflow that already carries stolen value (`carried`
      of :func:`trace_address`) is not gained again.
    """

    thief: bool = False
    victim: bool = False
    caps: Mapping[str, int] | None = None
    edges: Mapping[EdgeKey, int] = field(default_factory=dict)
    seeds: frozenset[str] = frozenset()  # seed addresses on this chain (inflows from them are not "new")
    services: frozenset[str] = frozenset()  # labelled service senders: their payments are not stolen
    attributed: bool = False
    start: tuple[int, int, str, int] | None = None  # order key from which inflows count (attributed only)
    assets: frozenset[str] | None = None  # attributed only: the asset keys whose inflows count


def opening_balances(
    address: str, transfers: Sequence[Transfer], window: Window, injection: Injection
) -> dict[str, int]:
    """For capped thief seeds: the part of each cap that did not arrive in the window."""
    assert injection.caps is not None
    arrived: dict[str, int] = {}
    paying = paying_txs(address, transfers)
    for tr in transfers:
        if tr.receiver == address and tr.sender != address and eligible_theft_inflow(tr, window, injection, paying):
            bump(arrived, asset_key(tr.asset), tr.amount)
    return {k: cap - arrived.get(k, 0) for k, cap in injection.caps.items() if cap > arrived.get(k, 0)}


def add_opening(
    out: Outcome, holders: dict[str, Proportional | Lots], policy: Policy, opening: dict[str, int], ts: int
) -> None:
    for key, amount in sorted(opening.items()):
        holder = holders.get(key)
        if holder is None:
            holder = holders[key] = new_holder(policy)
        holder.add(amount, amount, True)
        bump(out.stolen, key, amount)
        bump(out.received, key, amount)
        out.first_tainted.setdefault(key, ts)


def paying_txs(address: str, transfers: Sequence[Transfer]) -> frozenset[str]:
    """Transactions in which `address` itself paid value out (what it receives there is not stolen)."""
    return frozenset(
        tr.tx_hash
        for tr in transfers
        if tr.sender == address and tr.receiver != address and tr.kind is not TransferKind.FEE and tr.moves_value
    )


def eligible_theft_inflow(tr: Transfer, window: Window, injection: Injection, paying: frozenset[str]) -> bool:
    return (
        tr.tx_hash not in paying
        and tr.kind is not TransferKind.FEE
        and tr.amount > 0
        and tr.success
        and not tr.noise
        and tr.sender not in injection.seeds
        and tr.sender not in injection.services
        and thief_holds(tr, asset_key(tr.asset), window, injection)
    )


def thief_holds(tr: Transfer, key: str, window: Window, injection: Injection) -> bool:
    """Is what `tr` moves (asset `key`) the thief's: inside the window, and for an attributed address
    in its funding asset from the funding payment on?"""
    return (
        (injection.assets is None or key in injection.assets)
        and window.started(tr)
        and not window.ended(tr)
        and (injection.start is None or tr.order_key >= injection.start)
    )


def stolen_part(
    tr: Transfer,
    key: str,
    pushed: int,
    window: Window,
    injection: Injection,
    caps_left: dict[str, int] | None,
    paying: frozenset[str],
) -> int:
    """How much of inflow `tr` is newly stolen at a seed."""
    new = 0
    edge_amount = injection.edges.get((tr.tx_hash, tr.position))
    if edge_amount:
        new = min(edge_amount, tr.amount - pushed)
    if injection.thief and eligible_theft_inflow(tr, window, injection, paying):
        room = tr.amount - pushed - new
        if caps_left is None:
            new += room
        else:
            left = caps_left.get(key, 0)
            take = room if room < left else left
            if take > 0:
                caps_left[key] = left - take
                new += take
    return max(new, 0)
