"""One transaction of a ledger replay: pass-through pools, ledger draws, swaps, thief-fund shortfalls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from heuristics.swaps import is_swap, swap_fraction
from tracer.account.holders import Lots, Proportional, new_holder
from tracer.account.injection import Injection, stolen_part, thief_holds
from tracer.account.outcome import EdgeKey, Flow, Outcome, Swap, asset_key, bump
from tracer.cases.plan import Window
from tracer.core.models import FEE_SINK, Policy, Transfer, TransferKind


@dataclass(slots=True)
class Replay:
    """What one replay of an address carries from transaction to transaction."""

    address: str
    policy: Policy
    inflows: Mapping[EdgeKey, tuple[int, bool, Transfer]]
    window: Window
    injection: Injection | None
    out: Outcome
    holders: dict[str, Proportional | Lots]
    caps_left: dict[str, int] | None
    seen_inflows: set[EdgeKey]
    paying: frozenset[str]
    carried: Mapping[EdgeKey, tuple[int, bool, Transfer]]


def replay_tx(ctx: Replay, group: Sequence[Transfer]) -> None:
    """One transaction of `address`: pass-through pools, ledger draws, swaps, leftovers."""
    address, out, holders, policy = ctx.address, ctx.out, ctx.holders, ctx.policy
    inflows, window, injection, caps_left = ctx.inflows, ctx.window, ctx.injection, ctx.caps_left
    seen_inflows = ctx.seen_inflows
    tiho = policy is Policy.TIHO
    pools: dict[str, list] = {}  # asset -> [amount, taint, poisoned, [(transfer, taint, poisoned), ...]]
    draws: list[list] = []  # [transfer, key, ledger amount, pool taint, pool poisoned]
    victim = injection is not None and injection.victim
    # a transaction is one unit: its inflows are pooled before its outflows draw (positions are identities,
    # not trace order — chains.positions), so a contract that receives and forwards in one call passes through
    for tr in sorted(group, key=lambda t: t.receiver != address):
        receiver = tr.receiver
        sender = tr.sender
        if sender == receiver:
            continue
        if receiver == address:
            edge = (tr.tx_hash, tr.position)
            seen_inflows.add(edge)
            pushed = inflows.get(edge)
            if not tr.moves_value or (tr.noise and pushed is None):
                continue
            taint, poisoned = (pushed[0], pushed[1]) if pushed is not None else (0, False)
            key = asset_key(tr.asset)
            if injection is not None and not victim:
                other = ctx.carried.get(edge)
                held = taint + (other[0] if other else 0)
                new = stolen_part(tr, key, held, window, injection, caps_left, ctx.paying)
                if new:
                    taint += new
                    poisoned = True
                    bump(out.stolen, key, new)
                    out.flows.append(Flow(tr, new, True, "attributed" if injection.attributed else "stolen"))
            if taint or poisoned:
                out.assets[key] = tr.asset
                bump(out.received, key, taint)
                if taint:
                    out.first_tainted.setdefault(key, tr.timestamp)
            if victim:  # value coming back to the victim stays there
                bump(out.unmoved, key, taint)
                out.poisoned = out.poisoned or poisoned
                continue
            pool = pools.get(key)
            if pool is None:
                pools[key] = [tr.amount, taint, poisoned, [(tr, taint, poisoned)]]
            else:
                pool[0] += tr.amount
                pool[1] += taint
                pool[2] = pool[2] or poisoned
                pool[3].append((tr, taint, poisoned))
        elif sender == address:
            if not tr.moves_value or tr.noise:
                continue
            key = asset_key(tr.asset)
            if victim:
                if tr.kind is not TransferKind.FEE and window.started(tr) and receiver != FEE_SINK:
                    bump(out.stolen, key, tr.amount)
                    out.assets[key] = tr.asset
                    out.pushes[(tr.tx_hash, tr.position)] = (tr, tr.amount, True)
                    out.flows.append(Flow(tr, tr.amount, True, "transfer"))
                continue
            amount = tr.amount
            pool_taint = 0
            pool_poisoned = False
            if tr.kind is not TransferKind.FEE:
                pool = pools.get(key)
                if pool is not None and pool[0]:
                    drawn = amount if amount < pool[0] else pool[0]
                    pool_taint = drawn * pool[1] // pool[0] if pool[1] else 0
                    pool_poisoned = pool[2]
                    pool[0] -= drawn
                    pool[1] -= pool_taint
                    amount -= drawn
            draws.append([tr, key, amount, pool_taint, pool_poisoned])
    if victim or (not draws and not pools):
        return
    if injection is not None and injection.attributed and draws:
        _thief_shortfalls(ctx, draws)
    # ledger draws: in position order, or (TIHO) largest first with the fee last
    ledger_taint = [0] * len(draws)
    ledger_poison = [False] * len(draws)
    if tiho:
        by_asset: dict[str, list[int]] = {}
        for idx, d in enumerate(draws):
            if d[2]:
                by_asset.setdefault(d[1], []).append(idx)
        for key, idxs in by_asset.items():
            holder = holders.get(key)
            if holder is None:
                holder = holders[key] = new_holder(policy)
            idxs.sort(key=lambda ix: (draws[ix][0].kind is TransferKind.FEE, -draws[ix][2], draws[ix][0].position))
            assert isinstance(holder, Proportional)
            carried = holder.take_largest_first([draws[ix][2] for ix in idxs])
            for ix, c in zip(idxs, carried, strict=True):
                ledger_taint[ix] = c
                ledger_poison[ix] = holder.poisoned
    else:
        for idx, d in enumerate(draws):
            if d[2]:
                holder = holders.get(d[1])
                if holder is None:
                    holder = holders[d[1]] = new_holder(policy)
                ledger_poison[idx] = holder.poisoned
                ledger_taint[idx] = holder.take(d[2])
    # swaps: assets paid from the ledger vs. assets kept from this transaction
    paid: dict[str, list] = {}
    for idx, d in enumerate(draws):
        if d[2] and d[0].kind is not TransferKind.FEE:
            entry = paid.setdefault(d[1], [0, 0, False])
            entry[0] += d[2]
            entry[1] += ledger_taint[idx]
            entry[2] = entry[2] or ledger_poison[idx]
    kept = [key for key, pool in pools.items() if pool[0] and key not in paid]
    swapping = is_swap(paid, kept)
    for idx, d in enumerate(draws):
        tr, key, ledger_amount, pool_taint, pool_poisoned = d
        lt = ledger_taint[idx]
        lp = ledger_poison[idx]
        if tr.kind is TransferKind.FEE:
            if lt or lp:
                bump(out.fees, key, lt)
                out.assets[key] = tr.asset
                out.flows.append(Flow(tr, lt, lp, "fee"))
            continue
        if swapping and ledger_amount:
            if lt or lp:
                bump(out.swapped_out, key, lt)
                out.assets[key] = tr.asset
                out.flows.append(Flow(tr, lt, lp, "swap-out"))
            lt, lp = 0, False
        taint = pool_taint + lt
        poisoned = pool_poisoned or lp
        if taint or poisoned:
            out.pushes[(tr.tx_hash, tr.position)] = (tr, taint, poisoned)
            out.assets[key] = tr.asset
            out.flows.append(Flow(tr, taint, poisoned, "transfer"))
    if swapping:
        _convert(address, out, paid, pools, kept)
    for key, pool in pools.items():
        if pool[0]:
            holder = holders.get(key)
            if holder is None:
                holder = holders[key] = new_holder(policy)
            holder.add(pool[0], pool[1], pool[2])


def _thief_shortfalls(ctx: Replay, draws: list[list]) -> None:
    """An attributed address spending more of its funding asset than its history shows spends thief funds.

    Elsewhere a shortfall is clean value the history did not show (for a seed: value held
    before the window, genesis allocations, rewards). An attributed address was empty when the
    thief funded it and everything it gains of that asset since counts as thief funds (in the
    thief-funds replay), so the unseen part counts too, added just before this transaction's draws.
    """
    injection, out, window = ctx.injection, ctx.out, ctx.window
    assert injection is not None
    need: dict[str, int] = {}
    first: dict[str, Transfer] = {}
    for tr, key, amount, _, _ in draws:
        if amount:
            need[key] = need.get(key, 0) + amount
            first.setdefault(key, tr)
    for key, amount in need.items():
        tr = first[key]
        if not thief_holds(tr, key, window, injection):
            continue
        holder = ctx.holders.get(key)
        if holder is None:
            holder = ctx.holders[key] = new_holder(ctx.policy)
        short = amount - holder.balance
        if short <= 0:
            continue
        holder.add(short, short, True)
        bump(out.stolen, key, short)
        out.flows.append(Flow(tr, short, True, "shortfall"))  # bookkeeping: the outflow's own row carries it
        out.assets[key] = tr.asset
        out.first_tainted.setdefault(key, tr.timestamp)


def _convert(address: str, out: Outcome, paid: dict[str, list], pools: dict[str, list], kept: list[str]) -> None:
    """Carry the tainted fraction of what was paid onto what was kept (same transaction)."""
    fraction = swap_fraction({k: (p[0], p[1]) for k, p in paid.items()})
    poisoned = any(p[2] for p in paid.values())
    for key in sorted(kept):
        pool = pools[key]
        add = min(pool[0] - pool[1], pool[0] * fraction.numerator // fraction.denominator)
        if add <= 0 and not poisoned:
            continue
        pool[1] += add
        pool[2] = pool[2] or poisoned
        arrivals = pool[3]
        tr0 = arrivals[0][0]
        bump(out.swapped_in, key, add)
        bump(out.received, key, add)
        out.assets[key] = tr0.asset
        if add:
            out.first_tainted.setdefault(key, tr0.timestamp)
        # show the conversion on the arriving transfers (in proportion, remainder on the last)
        total = sum(a[0].amount for a in arrivals)
        left = add
        for n, (tr, _, _) in enumerate(arrivals):
            share = left if n == len(arrivals) - 1 else add * tr.amount // total
            left -= share
            out.flows.append(Flow(tr, share, poisoned, "swap-in"))
        for paid_key in sorted(paid):
            p = paid[paid_key]
            out.swaps.append(Swap(tr0.tx_hash, tr0.block, tr0.timestamp, address, paid_key, p[1], key, add))
