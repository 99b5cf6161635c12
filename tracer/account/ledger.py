"""The account-chain taint ledger: one address's history in, where its taint went out.

:func:`trace_address` replays the transfers touching one address in canonical order
(block, tx index, position) and moves taint under one of the five policies of
docs/METHODS §1, in exact integers. It is a pure function of the address's history, the
taint pushed into it along its inflows and (for seeds) what counts as stolen, so the
engine can recompute an address whenever new taint reaches it and always gets the same
answer, whatever order addresses were expanded in.

Rules, per asset (an asset is `chain:native` or `chain:<contract>`):

- Value held before the window (`since`) is clean. An outflow larger than the known
  balance is covered by a clean balance the history did not show (validator withdrawals,
  rewards, data gaps): the shortfall is added as clean value just before the outflow.
- Fees (``TransferKind.FEE``) are outflows to the fee sink, also for reverted transactions;
  reverted transfers otherwise move nothing. Transfers flagged ``noise`` are skipped on
  both sides (unless taint was already pushed along them, which is then kept whole).
- Pass-through: inside one transaction, an outflow first draws on the same asset that
  arrived in that transaction (router in, router out; a transaction is one unit, its
  inflows are pooled first), in proportion to that arrival's taint; only the rest is
  drawn from the address's ledger under the policy.
- Swaps: when, in one transaction, the address pays asset A out of its ledger and keeps
  asset B that arrived in the same transaction, A's taint leaves as ``swapped_out`` and B
  gets the same tainted fraction (``swapped_in``, capped at B's amount). With several paid
  assets the fractions are averaged with equal weight (no prices inside the engine).
- Haircut and poison keep ``(balance, taint)``; an outflow `a` carries ``a·T // B`` (the
  floor: the remainder stays in the holder, so nothing is lost and draining an address
  carries all of its taint). Poison additionally marks every later outflow as poisoned;
  the conserved quantity stays the proportional one, so accounting closes, while the
  poisoned flag decides what the poison strategy reaches.
- FIFO / LIFO keep lots; an inflow with taint `t` of `a` becomes a tainted lot `t`
  followed by a clean lot `a - t` (adjacent lots of one kind merge).
- TIHO (taint-in, highest-out): the taint of the ledger fills the largest outflows of a
  transaction first, the fee last.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence

from tracer.account.holders import Lots, Proportional, new_holder
from tracer.account.injection import Injection, add_opening, opening_balances, paying_txs
from tracer.account.outcome import CleanPrefix, EdgeKey, Flow, Outcome, Swap, asset_key, bump
from tracer.account.tx_replay import Replay, replay_tx
from tracer.cases.plan import Window
from tracer.core.models import Asset, Policy, Transfer, TransferKind

__all__ = [
    "CleanPrefix",
    "EdgeKey",
    "Flow",
    "Injection",
    "Outcome",
    "Swap",
    "asset_key",
    "first_inflow_index",
    "trace_address",
]

_ALL_TIME = Window()


def first_inflow_index(transfers: Sequence[Transfer], inflows: Mapping[EdgeKey, tuple[int, bool, Transfer]]) -> int:
    """Index of the first transfer of the earliest transaction that brings an inflow edge (len if none)."""
    if not inflows:
        return len(transfers)
    earliest = min(item[2].order_key for item in inflows.values())
    index = bisect_left(transfers, earliest, key=lambda t: t.order_key)
    tx_hash = transfers[index].tx_hash if index < len(transfers) else None
    while index > 0 and transfers[index - 1].tx_hash == tx_hash:  # the start of its transaction
        index -= 1
    return index


# --------------------------------------------------------------------------- the replay


def trace_address(
    address: str,
    transfers: Sequence[Transfer],
    *,
    policy: Policy,
    inflows: Mapping[EdgeKey, tuple[int, bool, Transfer]],
    window: Window = _ALL_TIME,
    injection: Injection | None = None,
    memo: CleanPrefix | None = None,
    carried: Mapping[EdgeKey, tuple[int, bool, Transfer]] | None = None,
) -> Outcome:
    """Replay `address`'s history (sorted canonically, de-duplicated) and return where its taint went.

    `inflows` maps an inflow edge to ``(taint, poisoned, transfer)`` pushed into it by the sender's
    own replay. The result's ``pushes`` are this address's outflows that carry taint (or
    poison) on to their receivers. `memo` (non-seed addresses only; read and updated in place)
    lets a repeated replay of the same history skip its clean prefix; the result is the same.

    The engine replays each address once per quantity: stolen value (seeds' injections) and thief
    funds (attributed addresses' injections). In the thief-funds replay `carried` holds the
    stolen inflows, so an attributed address gains only the part of an inflow nobody carries yet.
    """
    out = Outcome()
    holders: dict[str, Proportional | Lots] = {}
    opening = opening_balances(address, transfers, window, injection) if injection and injection.caps else {}
    caps_left = dict(injection.caps) if injection and injection.caps is not None else None
    seen_inflows: set[EdgeKey] = set()
    paying = paying_txs(address, transfers) if injection is not None and injection.thief else frozenset()
    ctx = Replay(
        address, policy, inflows, window, injection, out, holders, caps_left, seen_inflows, paying, carried or {}
    )
    inflow_txs = {edge[0] for edge in inflows}
    simple = injection is None  # seeds always take the general path
    bounded = window.until_block is not None or window.until_time is not None
    tiho = policy is Policy.TIHO
    fee_kind = TransferKind.FEE
    by_asset: dict[int, tuple[Asset, Proportional | Lots]] = {}  # id(asset) -> holder, for the fast paths
    n = len(transfers)
    i = 0
    clean_until = -1  # no memo: never snapshot
    if memo is not None and simple:
        clean_until = first_inflow_index(transfers, inflows)
        if 0 <= memo.index <= clean_until:
            i = memo.index
            for key, balance in memo.balances.items():
                holder = holders[key] = new_holder(policy)
                holder.add(balance, 0, False)
    while i < n:
        if i == clean_until and memo is not None:
            # every holder is still clean here (the transaction at `i` is the first that brings taint)
            memo.index = i
            memo.balances = {k: h.balance for k, h in holders.items() if h.balance}
        first = transfers[i]
        j = i + 1
        tx_hash = first.tx_hash
        while j < n and transfers[j].tx_hash == tx_hash:
            j += 1
        if opening and window.started(first):
            add_opening(out, holders, policy, opening, first.timestamp)
            opening = {}
        if bounded and window.ended(first):
            i = j
            continue
        # fast paths (no taint can arrive in this transaction, so no pool and no swap):
        # one inflow; or the address's own payment (its fee and one value transfer)
        if simple and tx_hash not in inflow_txs and j - i <= 2:
            last = transfers[j - 1]
            if j - i == 1 or (first.kind is fee_kind and last.kind is not fee_kind):
                if last.receiver == address and last.sender != address and (j - i == 1 or first.sender != address):
                    if (last.success and not last.noise) and last.amount:
                        asset = last.asset
                        hit = by_asset.get(id(asset))
                        if hit is None or hit[0] is not asset:
                            hit = by_asset[id(asset)] = (asset, _holder_for(ctx, asset))
                        hit[1].add(last.amount, 0, False)
                    i = j
                    continue
                if last.sender == address and last.receiver != address and (j - i == 1 or first.sender == address):
                    for tr in (last, first) if tiho and j - i == 2 else transfers[i:j]:
                        if tr.noise or not tr.amount or not (tr.success or tr.kind is fee_kind):
                            continue
                        asset = tr.asset
                        hit = by_asset.get(id(asset))
                        if hit is None or hit[0] is not asset:
                            hit = by_asset[id(asset)] = (asset, _holder_for(ctx, asset))
                        holder = hit[1]
                        if holder.taint or holder.poisoned:
                            _fast_outflow(ctx, tr, holder, tiho)
                        else:
                            holder.take(tr.amount)  # clean holder: only the balance changes
                    i = j
                    continue
                if j - i == 1 and last.sender != address:  # not this address's (e.g. a sender's fee)
                    i = j
                    continue
        replay_tx(ctx, transfers[i:j])
        i = j
    if opening:
        add_opening(out, holders, policy, opening, transfers[-1].timestamp if transfers else 0)
    # taint pushed along an edge this history does not show (an inconsistent source) stays here
    for edge, (taint, _, transfer) in inflows.items():
        if edge not in seen_inflows and taint:
            key = asset_key(transfer.asset)
            out.assets[key] = transfer.asset
            bump(out.unmoved, key, taint)
            bump(out.received, key, taint)
    for key, holder in holders.items():
        if holder.taint:
            out.unmoved[key] = out.unmoved.get(key, 0) + holder.taint
        if holder.poisoned:
            out.poisoned = True
    return out


def _holder_for(ctx: Replay, asset: Asset) -> Proportional | Lots:
    key = asset_key(asset)
    holder = ctx.holders.get(key)
    if holder is None:
        holder = ctx.holders[key] = new_holder(ctx.policy)
    return holder


def _fast_outflow(ctx: Replay, tr: Transfer, holder: Proportional | Lots, tiho: bool) -> None:
    """A ledger-only outflow (no pass-through, no swap possible in its transaction)."""
    key = asset_key(tr.asset)
    poisoned = holder.poisoned
    if tiho:
        assert isinstance(holder, Proportional)
        carried = holder.take_largest_first([tr.amount])[0]
    else:
        carried = holder.take(tr.amount)
    if not (carried or poisoned):
        return
    out = ctx.out
    out.assets[key] = tr.asset
    if tr.kind is TransferKind.FEE:
        bump(out.fees, key, carried)
        out.flows.append(Flow(tr, carried, poisoned, "fee"))
    else:
        out.pushes[(tr.tx_hash, tr.position)] = (tr, carried, poisoned)
        out.flows.append(Flow(tr, carried, poisoned, "transfer"))
