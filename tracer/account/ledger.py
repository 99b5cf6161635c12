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
from dataclasses import dataclass, field

from heuristics.swaps import is_swap, swap_fraction
from tracer.account.holders import Lots, Proportional, new_holder
from tracer.cases.plan import Window
from tracer.core.models import FEE_SINK, Asset, Policy, Transfer, TransferKind

EdgeKey = tuple[str, int]  # (tx hash, position) — unique per chain

_ASSET_KEYS: dict[int, tuple[Asset, str]] = {}


def asset_key(asset: Asset) -> str:
    """`chain:native` or `chain:<contract>` (cached by identity: called once per transfer)."""
    hit = _ASSET_KEYS.get(id(asset))
    if hit is not None and hit[0] is asset:
        return hit[1]
    key = asset.key
    if len(_ASSET_KEYS) > 100_000:
        _ASSET_KEYS.clear()
    _ASSET_KEYS[id(asset)] = (asset, key)
    return key


# --------------------------------------------------------------------------- inputs / outputs


_ALL_TIME = Window()


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


@dataclass(frozen=True, slots=True)
class Flow:
    """One transfer that carried taint at this address, and how."""

    transfer: Transfer
    taint: int
    poisoned: bool
    kind: str  # transfer | fee | swap-out | swap-in | stolen | attributed | shortfall (thief-funds replays: gained)


@dataclass(frozen=True, slots=True)
class Swap:
    """Taint that changed asset at `address` in one transaction."""

    tx_hash: str
    block: int
    timestamp: int
    address: str
    asset_out: str
    taint_out: int
    asset_in: str
    taint_in: int


@dataclass(slots=True)
class Outcome:
    """Where one address's taint went."""

    pushes: dict[EdgeKey, tuple[Transfer, int, bool]] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)
    unmoved: dict[str, int] = field(default_factory=dict)
    fees: dict[str, int] = field(default_factory=dict)
    stolen: dict[str, int] = field(default_factory=dict)
    swapped_in: dict[str, int] = field(default_factory=dict)
    swapped_out: dict[str, int] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)  # tainted in (pushed + stolen + swapped in)
    first_tainted: dict[str, int] = field(default_factory=dict)  # asset -> timestamp
    swaps: list[Swap] = field(default_factory=list)
    assets: dict[str, Asset] = field(default_factory=dict)
    poisoned: bool = False


@dataclass(slots=True)
class CleanPrefix:
    """A replay memo for one address: its balances at the start of transaction `index` of its history.

    Before the first transaction that brings taint in, a non-seed address's replay moves only
    clean value and records nothing; its whole state is one clean balance per asset. The next
    replay (new taint arrived later in the history) restarts from there instead of from the
    first transfer. `index` -1 means nothing is memoised yet.
    """

    index: int = -1
    balances: dict[str, int] = field(default_factory=dict)


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


def _bump(table: dict[str, int], key: str, amount: int) -> None:
    if amount:
        table[key] = table.get(key, 0) + amount


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
    opening = _opening_balances(address, transfers, window, injection) if injection and injection.caps else {}
    caps_left = dict(injection.caps) if injection and injection.caps is not None else None
    seen_inflows: set[EdgeKey] = set()
    paying = _paying_txs(address, transfers) if injection is not None and injection.thief else frozenset()
    ctx = _Replay(
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
            _add_opening(out, holders, policy, opening, first.timestamp)
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
        _replay_tx(ctx, transfers[i:j])
        i = j
    if opening:
        _add_opening(out, holders, policy, opening, transfers[-1].timestamp if transfers else 0)
    # taint pushed along an edge this history does not show (an inconsistent source) stays here
    for edge, (taint, _, transfer) in inflows.items():
        if edge not in seen_inflows and taint:
            key = asset_key(transfer.asset)
            out.assets[key] = transfer.asset
            _bump(out.unmoved, key, taint)
            _bump(out.received, key, taint)
    for key, holder in holders.items():
        if holder.taint:
            out.unmoved[key] = out.unmoved.get(key, 0) + holder.taint
        if holder.poisoned:
            out.poisoned = True
    return out


def _holder_for(ctx: _Replay, asset: Asset) -> Proportional | Lots:
    key = asset_key(asset)
    holder = ctx.holders.get(key)
    if holder is None:
        holder = ctx.holders[key] = new_holder(ctx.policy)
    return holder


def _fast_outflow(ctx: _Replay, tr: Transfer, holder: Proportional | Lots, tiho: bool) -> None:
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
        _bump(out.fees, key, carried)
        out.flows.append(Flow(tr, carried, poisoned, "fee"))
    else:
        out.pushes[(tr.tx_hash, tr.position)] = (tr, carried, poisoned)
        out.flows.append(Flow(tr, carried, poisoned, "transfer"))


def _opening_balances(
    address: str, transfers: Sequence[Transfer], window: Window, injection: Injection
) -> dict[str, int]:
    """For capped thief seeds: the part of each cap that did not arrive in the window."""
    assert injection.caps is not None
    arrived: dict[str, int] = {}
    paying = _paying_txs(address, transfers)
    for tr in transfers:
        if tr.receiver == address and tr.sender != address and _eligible_theft_inflow(tr, window, injection, paying):
            _bump(arrived, asset_key(tr.asset), tr.amount)
    return {k: cap - arrived.get(k, 0) for k, cap in injection.caps.items() if cap > arrived.get(k, 0)}


def _add_opening(
    out: Outcome, holders: dict[str, Proportional | Lots], policy: Policy, opening: dict[str, int], ts: int
) -> None:
    for key, amount in sorted(opening.items()):
        holder = holders.get(key)
        if holder is None:
            holder = holders[key] = new_holder(policy)
        holder.add(amount, amount, True)
        _bump(out.stolen, key, amount)
        _bump(out.received, key, amount)
        out.first_tainted.setdefault(key, ts)


def _paying_txs(address: str, transfers: Sequence[Transfer]) -> frozenset[str]:
    """Transactions in which `address` itself paid value out (what it receives there is not stolen)."""
    return frozenset(
        tr.tx_hash
        for tr in transfers
        if tr.sender == address and tr.receiver != address and tr.kind is not TransferKind.FEE and tr.moves_value
    )


def _eligible_theft_inflow(tr: Transfer, window: Window, injection: Injection, paying: frozenset[str]) -> bool:
    return (
        tr.tx_hash not in paying
        and tr.kind is not TransferKind.FEE
        and tr.amount > 0
        and tr.success
        and not tr.noise
        and tr.sender not in injection.seeds
        and tr.sender not in injection.services
        and _thief_holds(tr, asset_key(tr.asset), window, injection)
    )


def _thief_holds(tr: Transfer, key: str, window: Window, injection: Injection) -> bool:
    """Is what `tr` moves (asset `key`) the thief's: inside the window, and for an attributed address
    in its funding asset from the funding payment on?"""
    return (
        (injection.assets is None or key in injection.assets)
        and window.started(tr)
        and not window.ended(tr)
        and (injection.start is None or tr.order_key >= injection.start)
    )


@dataclass(slots=True)
class _Replay:
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


def _replay_tx(ctx: _Replay, group: Sequence[Transfer]) -> None:
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
                new = _stolen_part(tr, key, held, window, injection, caps_left, ctx.paying)
                if new:
                    taint += new
                    poisoned = True
                    _bump(out.stolen, key, new)
                    out.flows.append(Flow(tr, new, True, "attributed" if injection.attributed else "stolen"))
            if taint or poisoned:
                out.assets[key] = tr.asset
                _bump(out.received, key, taint)
                if taint:
                    out.first_tainted.setdefault(key, tr.timestamp)
            if victim:  # value coming back to the victim stays there
                _bump(out.unmoved, key, taint)
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
                    _bump(out.stolen, key, tr.amount)
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
                _bump(out.fees, key, lt)
                out.assets[key] = tr.asset
                out.flows.append(Flow(tr, lt, lp, "fee"))
            continue
        if swapping and ledger_amount:
            if lt or lp:
                _bump(out.swapped_out, key, lt)
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


def _thief_shortfalls(ctx: _Replay, draws: list[list]) -> None:
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
        if not _thief_holds(tr, key, window, injection):
            continue
        holder = ctx.holders.get(key)
        if holder is None:
            holder = ctx.holders[key] = new_holder(ctx.policy)
        short = amount - holder.balance
        if short <= 0:
            continue
        holder.add(short, short, True)
        _bump(out.stolen, key, short)
        out.flows.append(Flow(tr, short, True, "shortfall"))  # bookkeeping: the outflow's own row carries it
        out.assets[key] = tr.asset
        out.first_tainted.setdefault(key, tr.timestamp)


def _stolen_part(
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
    if injection.thief and _eligible_theft_inflow(tr, window, injection, paying):
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
        _bump(out.swapped_in, key, add)
        _bump(out.received, key, add)
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
