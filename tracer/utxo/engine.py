"""UTXO tracing (Bitcoin): follow tainted outputs through their spenders into the standard bundle.

The trace starts at the seeds' stolen outputs and processes spending transactions in chain
order (block, then txid; a transaction waits while one of its parents is still pending).
Each transaction lays its inputs' taint onto its outputs and fee under the policy
(:mod:`tracer.utxo.ledger`, exact satoshi). Followed value stops:

- at an output whose address a :class:`~tracer.core.protocols.LabelLookup` labels as a service
  endpoint (exchange, mixer, bridge, ...) -> ``endpoints``;
- at a detected CoinJoin (:mod:`heuristics.coinjoin`): the coins that entered it are a
  ``mixer`` endpoint whose label names the pattern;
- at an unspent output -> ``unmoved``; at the fee -> ``fees``;
- below ``min_taint`` × stolen -> ``below_threshold``; past ``max_hops`` or the transaction
  budget (``max_addresses`` counts spending transactions read) -> ``unexplored``.

For the asset ``bitcoin:native`` the summary closes exactly:
``stolen = endpoints + unmoved + fees + below_threshold + unexplored``. Peel chains among
the followed transactions are reported as one path each, with their peeled payments, in
``summary["peel_chains"]``; the CoinJoins met are listed in ``summary["coinjoins"]``.

:class:`UtxoSource` puts the store in front of an adapter (store first, `offline` = store only).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from heuristics.coinjoin import CoinJoin, detect_coinjoin
from heuristics.peel import detect_peel_chains
from tracer.bundle.result import (
    BUCKETS,
    TraceResult,
    build_trace_graph,
    make_frame,
    poison_note,
    seed_entries,
    summary_endpoints,
    table_row,
    trace_parameters,
)
from tracer.cases.plan import SeedSpec, TraceConfig
from tracer.core.errors import BadInput, OfflineGap, SourceRejected
from tracer.core.models import Category, Label, Policy, Role, UtxoTx
from tracer.core.networks import Chain, get_chain
from tracer.core.protocols import LabelLookup, UtxoAdapter
from tracer.core.units import format_units, iso
from tracer.utxo.ledger import Lots, clean, propagate, taint_of

OP_RETURN = "op_return"
FEE = "fee"
COINJOIN_LABEL_SOURCE = "heuristic:coinjoin"
_UNCONFIRMED = 1 << 62
#: `block` in flows.csv for an unconfirmed transaction or one whose block the source does not give.
UNKNOWN_BLOCK = -1


# ----------------------------------------------------------------------------- the source


class UtxoSource:
    """Store-first access to UTXO transactions; `offline=True` never asks the network."""

    def __init__(
        self, adapter: UtxoAdapter | None, store: Any = None, *, chain: str = "bitcoin", offline: bool = False
    ) -> None:
        if adapter is None and not offline:
            raise BadInput("a UTXO trace needs a source adapter unless it runs offline")
        self.adapter = adapter
        self.store = store
        self.chain: Chain = get_chain(chain)
        self.offline = offline
        self.name = getattr(adapter, "source", "esplora")
        self.txs_read = 0
        self.spends_unknown: dict[str, str] = {}  # txid -> why its outputs' spenders are unknown
        self._spenders: dict[str, list[str | None]] = {}  # txid -> spender per output

    @property
    def requests(self) -> int:
        return int(getattr(self.adapter, "requests", 0)) if self.adapter is not None else 0

    def tip(self) -> int | None:
        if self.offline or self.adapter is None:
            return None
        return self.adapter.fetch_tip(self.chain)

    def tx(self, txid: str) -> UtxoTx:
        """The transaction; its outputs' spenders are then known to :meth:`spender`."""
        self.txs_read += 1
        stored = self.store.read_utxo_tx(self.name, self.chain.slug, txid) if self.store is not None else None
        if stored is not None and (self.offline or all(o.spent_by or o.address is None for o in stored.outputs)):
            self._spenders[txid] = [o.spent_by for o in stored.outputs]
            return stored
        if self.offline or self.adapter is None:
            raise OfflineGap(f"offline: transaction {txid} is not in the store")
        tx = stored if stored is not None else self.adapter.fetch_tx(self.chain, txid)
        try:
            spenders = list(self.adapter.fetch_outspends(self.chain, txid))
        except SourceRejected as exc:
            if "404" not in exc.message:
                raise
            self.spends_unknown[txid] = exc.message  # the source knows the tx but not who spent it
            self._spenders[txid] = [None] * len(tx.outputs)
            return tx
        self._spenders[txid] = spenders
        if self.store is not None:
            self.store.write_utxo_txs(self.name, self.chain.slug, [_with_spenders(tx, spenders)])
        return tx

    def spender(self, txid: str, vout: int) -> str | None:
        """The txid spending output `vout` of `txid` (None: unspent, or unknown to the source)."""
        known = self._spenders.get(txid)
        if known is None:
            self.tx(txid)
            known = self._spenders[txid]
        return known[vout] if vout < len(known) else None

    def address_txs(self, address: str) -> list[UtxoTx]:
        """Confirmed transactions touching `address`, oldest first (spenders not filled)."""
        if self.store is not None:
            txids, complete_to = self.store.read_address_txids(self.name, self.chain.slug, address)
            if complete_to is not None or self.offline:
                found = [self.store.read_utxo_tx(self.name, self.chain.slug, t) for t in txids]
                if all(found) and (complete_to is not None or txids):
                    return [t for t in found if t is not None]
        if self.offline or self.adapter is None:
            raise OfflineGap(f"offline: the history of {address} is not in the store")
        txs = list(self.adapter.fetch_address_txs(self.chain, address))
        if self.store is not None:
            self.store.write_utxo_txs(self.name, self.chain.slug, txs)
            top = max((t.block for t in txs if t.block is not None), default=0)
            self.store.write_address_txids(
                self.name, self.chain.slug, address, [t.txid for t in txs], complete_to_block=top
            )
        return txs


def _with_spenders(tx: UtxoTx, spenders: Sequence[str | None]) -> UtxoTx:
    """`tx` with `spent_by` set from `spenders` (addresses are already normalised: no re-validation)."""
    from tracer.core.models import TxOutput

    outputs = tuple(
        TxOutput(o.index, o.address, o.value, o.script_type, spenders[o.index] if o.index < len(spenders) else None)
        for o in tx.outputs
    )
    copy = object.__new__(UtxoTx)
    for name in UtxoTx.__slots__:  # type: ignore[attr-defined]
        object.__setattr__(copy, name, outputs if name == "outputs" else getattr(tx, name))
    return copy


# ----------------------------------------------------------------------------- state


@dataclass(slots=True)
class Coin:
    """A tainted output: where it is, how much taint it holds, how far from the theft."""

    txid: str
    vout: int
    address: str
    value: int
    lots: Lots
    poisoned: bool
    hop: int
    timestamp: int | None

    @property
    def taint(self) -> int:
        return taint_of(self.lots)


@dataclass(slots=True)
class _Flow:
    tx: UtxoTx
    position: int
    sender: str
    receiver: str
    amount: int
    taint: int
    poisoned: bool
    hop: int


@dataclass
class UtxoTraceState:
    """Everything the trace found (turned into the bundle by :func:`build_utxo_result`)."""

    config: TraceConfig
    chain: str = "bitcoin"
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    flows: list[_Flow] = field(default_factory=list)
    endpoints: dict[str, Label] = field(default_factory=dict)
    endpoint_rows: dict[str, list] = field(default_factory=dict)  # address -> [taint, first ts, txid, poison value]
    received: dict[str, list] = field(default_factory=dict)  # address -> [taint, first ts, hop, poisoned]
    seeds: set[str] = field(default_factory=set)
    labels: dict[str, Label] = field(default_factory=dict)
    coinjoins: dict[str, CoinJoin] = field(default_factory=dict)
    followed: dict[str, UtxoTx] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)
    expanded: int = 0
    spends_unknown: int = 0  # tainted outputs whose spender the source could not tell
    requests: int = 0
    tip: int | None = None


# ----------------------------------------------------------------------------- the engine


class UtxoEngine:
    """Runs one UTXO trace (see the module docstring)."""

    def __init__(
        self,
        config: TraceConfig,
        source: UtxoSource,
        *,
        labels: LabelLookup | None = None,
        coinjoin: Callable[[UtxoTx], CoinJoin | None] = detect_coinjoin,
    ) -> None:
        self.config = config
        self.source = source
        self.labels = labels
        self.detect_coinjoin = coinjoin
        self.chain = source.chain.slug
        self.state = UtxoTraceState(config, chain=self.chain)
        self.poison = config.policy is Policy.POISON
        self.lots_policy = Policy.HAIRCUT if self.poison else config.policy
        self._pending: dict[str, list[Coin]] = {}  # spender txid -> tainted coins it spends
        self._txs: dict[str, UtxoTx] = {}  # spending transactions fetched (the budget counts them)
        self._heap: list[tuple[int, int, str]] = []
        self._queued: set[str] = set()
        self._stolen = 0

    # -- driver -----------------------------------------------------------------------------------

    def run(self) -> UtxoTraceState:
        state = self.state
        state.tip = self.source.tip()
        seeds = [s for s in self.config.seeds if s.chain == self.chain]
        if not seeds:
            raise BadInput(f"the case has no {self.chain} seed")
        coins: list[Coin] = []
        for seed in seeds:
            coins.extend(self._seed(seed))
        self._stolen = state.buckets["stolen"]
        for coin in coins:
            self._place(coin, seed=True)
        while self._heap:
            _, _, txid = heapq.heappop(self._heap)
            self._queued.discard(txid)
            self._spend(txid)
        state.requests = self.source.requests
        return state

    # -- seeds ------------------------------------------------------------------------------------

    def _seed(self, seed: SeedSpec) -> list[Coin]:
        cap = _to_sats(seed.amount, self.source.chain.native_decimals) if seed.amount else None
        if seed.tx:
            tx = self.source.tx(seed.tx)
            txs = [tx]
        else:
            txs = [t for t in self.source.address_txs(seed.address or "") if self._in_window(t)]
            txs = [self.source.tx(t.txid) for t in txs]
        coins: list[Coin] = []
        for tx in txs:
            inputs = {i.address for i in tx.inputs if i.address}
            for out in tx.outputs:
                if out.address is None or out.value <= 0 or out.address in inputs:
                    continue
                if seed.address and seed.role == "thief" and out.address != seed.address:
                    continue
                if seed.address and seed.role == "victim" and seed.address not in inputs:
                    continue
                amount = out.value if cap is None else min(out.value, cap - sum(c.taint for c in coins))
                if amount <= 0:
                    break
                lots: Lots = ((amount, amount),) if amount == out.value else ((amount, amount), (out.value - amount, 0))
                coins.append(Coin(tx.txid, out.index, out.address, out.value, lots, True, 0, tx.timestamp))
                self.state.flows.append(_Flow(tx, out.index, _first_input(tx), out.address, out.value, amount, True, 0))
                self.state.seeds.add(out.address)
            self.state.followed[tx.txid] = tx
        self.state.buckets["stolen"] += sum(c.taint for c in coins)
        if cap is not None and sum(c.taint for c in coins) < cap:
            self.state.gaps.append(
                f"seed {seed.tx or seed.address}: found {format_units(sum(c.taint for c in coins), 8)} BTC of the "
                f"{seed.amount} stated"
            )
        return coins

    def _in_window(self, tx: UtxoTx) -> bool:
        w = self.config.window
        if w.since_block is not None and tx.block is not None and tx.block < w.since_block:
            return False
        if w.since_time is not None and tx.timestamp is not None and tx.timestamp < w.since_time:
            return False
        return not self._after_window(tx)

    def _after_window(self, tx: UtxoTx) -> bool:
        w = self.config.window
        if w.until_block is not None and (tx.block is None or tx.block > w.until_block):
            return True
        return w.until_time is not None and (tx.timestamp is None or tx.timestamp > w.until_time)

    # -- one coin -----------------------------------------------------------------------------------

    def _label(self, address: str) -> Label | None:
        if address not in self.state.labels and self.labels is not None:
            found = self.labels.label(self.chain, address)
            if found is not None:
                self.state.labels[address] = found
        return self.state.labels.get(address)

    def _receive(self, coin: Coin) -> None:
        row = self.state.received.setdefault(coin.address, [0, coin.timestamp, coin.hop, False])
        row[0] += coin.taint
        row[2] = min(row[2], coin.hop)
        row[3] = row[3] or coin.poisoned
        if coin.timestamp is not None and (row[1] is None or coin.timestamp < row[1]):
            row[1] = coin.timestamp

    def _place(self, coin: Coin, *, seed: bool = False) -> None:
        """Decide where a tainted coin goes: an endpoint, a bucket, or its spender's queue."""
        self._receive(coin)
        buckets = self.state.buckets
        label = None if seed else self._label(coin.address)
        if label is not None and label.is_endpoint:
            self._endpoint(coin, label, coin.txid)
            return
        spender = self._spender(coin)
        if spender is None:
            if coin.txid in self.source.spends_unknown:
                buckets["unexplored"] += coin.taint
                self.state.spends_unknown += 1
                self._gap("the source does not know who spent some tainted outputs (their value is unexplored)")
                return
            buckets["unmoved"] += coin.taint
            return
        if not seed and coin.taint * self.config.min_taint.denominator < self.config.min_taint.numerator * self._stolen:
            buckets["below_threshold"] += coin.taint
            return
        if self.config.max_hops is not None and coin.hop >= self.config.max_hops:
            buckets["unexplored"] += coin.taint
            self._gap(f"hop limit {self.config.max_hops} reached at {coin.address}")
            return
        if spender not in self._txs:
            if self.config.max_addresses is not None and len(self._txs) >= self.config.max_addresses:
                buckets["unexplored"] += coin.taint
                self._gap(f"budget of {self.config.max_addresses} spending transactions reached")
                return
            self._txs[spender] = self.source.tx(spender)
        self._pending.setdefault(spender, []).append(coin)
        if spender not in self._queued:
            self._queued.add(spender)
            block = self._txs[spender].block
            heapq.heappush(self._heap, (block if block is not None else _UNCONFIRMED, 0, spender))

    def _spender(self, coin: Coin) -> str | None:
        return self.source.spender(coin.txid, coin.vout)

    def _endpoint(self, coin: Coin, label: Label, txid: str) -> None:
        self.state.buckets["endpoints"] += coin.taint
        self.state.endpoints[coin.address] = label
        row = self.state.endpoint_rows.setdefault(coin.address, [0, coin.timestamp, txid, 0])
        row[0] += coin.taint
        row[3] += coin.value if coin.poisoned else 0
        if coin.timestamp is not None and (row[1] is None or (coin.timestamp, txid) < (row[1], row[2])):
            row[1], row[2] = coin.timestamp, txid

    def _gap(self, text: str) -> None:
        if text not in self.state.gaps:
            self.state.gaps.append(text)

    # -- one spending transaction ----------------------------------------------------------------

    def _spend(self, txid: str) -> None:
        state = self.state
        if not self._pending.get(txid):
            return
        tx = self._txs[txid]
        block = tx.block if tx.block is not None else _UNCONFIRMED
        waiting = [i.prev_txid for i in tx.inputs if i.prev_txid in self._queued]
        if waiting:  # a parent (same block) is still pending: process it first
            heapq.heappush(self._heap, (block, _depth(self._heap, waiting) + 1, txid))
            self._queued.add(txid)
            return
        coins = self._pending.pop(txid)
        state.followed[txid] = tx
        state.expanded += 1
        if self._after_window(tx):
            state.buckets["unmoved"] += sum(c.taint for c in coins)
            return
        found = self.detect_coinjoin(tx)
        if found is not None:
            state.coinjoins[txid] = found
            for coin in coins:
                label = Label(
                    self.chain,
                    coin.address,
                    Category.MIXER,
                    f"CoinJoin ({found.pattern}) {txid[:16]}",
                    COINJOIN_LABEL_SOURCE,
                    source_ref=txid,
                    source_words=found.explanation,
                )
                self._endpoint(coin, label, txid)
            return
        by_outpoint: dict[tuple[str, int], Coin] = {}
        for c in coins:
            seen = by_outpoint.get((c.txid, c.vout))
            if seen is None:
                by_outpoint[(c.txid, c.vout)] = c
                continue
            # the same output reached twice (a parent processed after this tx once): merge, never exceed its value
            total = seen.taint + c.taint
            kept = min(total, c.value)
            if total > kept:
                state.buckets["unexplored"] += total - kept
                self._gap(f"order anomaly at {c.txid}:{c.vout}: {total - kept} sat left unexplored")
            lots: Lots = ((kept, kept), (c.value - kept, 0)) if kept < c.value else ((c.value, c.value),)
            seen.lots, seen.poisoned = lots, seen.poisoned or c.poisoned
        inputs: list[Lots] = []
        hop, poisoned, sender, best = 0, False, "", -1
        for i in tx.inputs:
            coin = by_outpoint.get((i.prev_txid or "", i.prev_vout if i.prev_vout is not None else -1))
            if coin is None:
                inputs.append(clean(i.value))
                continue
            inputs.append(coin.lots)
            hop = max(hop, coin.hop)
            poisoned = poisoned or coin.poisoned
            if coin.taint > best:
                sender, best = coin.address, coin.taint
        outputs = [o.value for o in tx.outputs]
        lots, fee_taint = propagate(self.lots_policy, inputs, outputs, tx.fee)
        state.buckets["fees"] += fee_taint
        if fee_taint or (poisoned and tx.fee and self.poison):
            state.flows.append(_Flow(tx, len(outputs), sender, FEE, tx.fee, fee_taint, poisoned, hop + 1))
        for out, out_lots in zip(tx.outputs, lots, strict=True):
            taint = taint_of(out_lots)
            if not taint and not (poisoned and self.poison):
                continue
            receiver = out.address or OP_RETURN
            state.flows.append(_Flow(tx, out.index, sender, receiver, out.value, taint, poisoned, hop + 1))
            if out.address is None:  # burnt in an OP_RETURN / unspendable script
                state.buckets["unmoved"] += taint
                continue
            self._place(Coin(txid, out.index, out.address, out.value, out_lots, poisoned, hop + 1, tx.timestamp))


def _depth(heap: list[tuple[int, int, str]], txids: list[str | None]) -> int:
    return max((level for _, level, t in heap if t in txids), default=0)


def _first_input(tx: UtxoTx) -> str:
    return next((i.address for i in tx.inputs if i.address), "coinbase" if tx.inputs else "")


def _to_sats(amount: str | Decimal, decimals: int) -> int:
    value = Decimal(str(amount)) * (10**decimals)
    if value != value.to_integral_value():
        raise BadInput(f"amount {amount} has more than {decimals} decimals")
    return int(value)


# ----------------------------------------------------------------------------- the bundle


def build_utxo_result(state: UtxoTraceState, *, manifest: dict[str, Any] | None = None) -> TraceResult:
    """The UTXO trace as the same :class:`TraceResult` (frames, graph, summary) the account engine gives."""
    chain = get_chain(state.chain)
    key = f"{chain.slug}:native"
    decimals = chain.native_decimals
    cfg = state.config
    poison = cfg.policy is Policy.POISON

    def units(amount: int) -> str:
        return format_units(amount, decimals)

    def when(ts: int | None) -> str:
        return iso(ts) if ts is not None else ""

    merged: dict[tuple[str, int], _Flow] = {}
    for f in state.flows:  # a transaction processed twice adds its taints up
        old = merged.get((f.tx.txid, f.position))
        if old is None:
            merged[(f.tx.txid, f.position)] = _Flow(
                f.tx, f.position, f.sender, f.receiver, f.amount, f.taint, f.poisoned, f.hop
            )
        else:
            old.taint += f.taint
            old.hop = min(old.hop, f.hop)
            old.poisoned = old.poisoned or f.poisoned
    flow_rows = []
    for f in sorted(merged.values(), key=_flow_order):
        shown = f.amount if poison and f.poisoned else f.taint
        flow_rows.append(
            table_row(
                "flows",
                chain.slug,
                f.tx.txid,
                f.position,
                f.tx.block if f.tx.block is not None else UNKNOWN_BLOCK,
                when(f.tx.timestamp),
                f.sender,
                f.receiver,
                chain.native_symbol,
                "native",
                units(f.amount),
                units(shown),
                f.hop,
            )
        )
    flows = make_frame(flow_rows, "flows")

    def role(address: str) -> Role:
        if address in state.seeds:
            return Role.SEED
        if address in state.endpoints:
            return Role.ENDPOINT
        return Role.TRANSIT

    def label_cols(address: str) -> tuple[str, str, str]:
        label = state.endpoints.get(address) or state.labels.get(address)
        return ("", "", "") if label is None else (str(label.category), label.name, label.source)

    address_rows = []
    for address, (taint, first, hop, poisoned) in sorted(state.received.items()):
        if not taint and not (poison and poisoned):
            continue
        address_rows.append(
            table_row(
                "addresses",
                chain.slug,
                address,
                str(role(address)),
                *label_cols(address),
                hop,
                units(taint),
                key,
                when(first),
            )
        )
    addresses = make_frame(address_rows, "addresses")

    endpoint_rows = []
    by_category: dict[str, int] = {}
    for address, (taint, first, txid, _) in sorted(state.endpoint_rows.items()):
        category, label, source = label_cols(address)
        by_category[category] = by_category.get(category, 0) + taint
        endpoint_rows.append(
            table_row("endpoints", chain.slug, address, category, label, source, key, units(taint), when(first), txid)
        )
    endpoints = make_frame(endpoint_rows, "endpoints")

    def describe(_chain: str, address: str, flow_hop: int) -> tuple[str, str, int]:
        category, label, _ = label_cols(address)
        return category, label, flow_hop

    graph = build_trace_graph(flows, addresses, describe)

    buckets = state.buckets
    unexplored = buckets["unexplored"]
    summary: dict[str, Any] = {
        "case": cfg.case_id,
        "policy": str(cfg.policy),
        "strategy": "utxo-chain-order",
        "complete": unexplored == 0 and not [g for g in state.gaps if not g.startswith("seed ")],
        "parameters": trace_parameters(cfg, material=False),
        "seeds": seed_entries(cfg.seeds),
        "assets": {key: {"symbol": chain.native_symbol, **{b: units(buckets[b]) for b in BUCKETS}}},
        "endpoints_by_category": {c: {key: units(v)} for c, v in sorted(by_category.items())},
        "endpoints": summary_endpoints(endpoint_rows),
        "swaps": [],
        "counts": {
            "addresses_visited": len(state.received),
            "transfers_read": len(state.followed),
            "requests": state.requests,
            "addresses_tainted": len(address_rows),
            "endpoints": len(state.endpoint_rows),
            "transactions_followed": state.expanded,
            "outputs_with_unknown_spender": state.spends_unknown,
        },
        "gaps": list(state.gaps),
        "coinjoins": [
            {"tx_hash": c.txid, "pattern": c.pattern, "denomination": units(c.denomination), "why": c.explanation}
            for _, c in sorted(state.coinjoins.items())
        ],
        "peel_chains": _peel_summary(state, units),
    }
    if poison:
        reached = sum(row[3] for row in state.endpoint_rows.values())
        summary["poison"] = poison_note("outputs", {key: units(reached)})
    full_manifest = {
        "tool": "heisttrace",
        "case": cfg.case_id,
        "policy": str(cfg.policy),
        "strategy": "utxo-chain-order",
        "block_heights": {chain.slug: state.tip} if state.tip is not None else {},
        **(manifest or {}),
    }
    from tracer import __version__

    full_manifest["version"] = __version__
    return TraceResult(
        summary=summary,
        flows=flows,
        addresses=addresses,
        endpoints=endpoints,
        graph=graph,
        manifest=full_manifest,
        accounting={key: dict(buckets)},
    )


def _flow_order(f: _Flow) -> tuple[int, str, int]:
    return (f.tx.block if f.tx.block is not None else _UNCONFIRMED, f.tx.txid, f.position)


def _peel_summary(state: UtxoTraceState, units: Callable[[int], str]) -> list[dict[str, Any]]:
    tainted_outputs = {(f.tx.txid, f.position): f.taint for f in state.flows}
    chains = []
    for chain in detect_peel_chains(state.followed):
        chains.append(
            {
                "start_tx": chain.start,
                "steps": len(chain.steps),
                "txs": [s.txid for s in chain.steps],
                "remainder_address": chain.steps[-1].remainder.address,
                "peeled_total": units(chain.peeled_total),
                "payments": [
                    {
                        "tx_hash": s.txid,
                        "address": s.payment.address,
                        "amount": units(s.payment.value),
                        "tainted_amount": units(tainted_outputs.get((s.txid, s.payment.index), 0)),
                    }
                    for s in chain.steps
                ],
                "why": chain.explanation,
            }
        )
    return chains


# ----------------------------------------------------------------------------- entry point


def trace_utxo(
    config: TraceConfig,
    source: UtxoSource,
    *,
    labels: LabelLookup | None = None,
    manifest: dict[str, Any] | None = None,
) -> TraceResult:
    """Run a UTXO trace and build its bundle."""
    state = UtxoEngine(config, source, labels=labels).run()
    extra = {
        "sources": {source.chain.slug: {"kind": source.name, "url": getattr(source.adapter, "base_url", None)}},
        **(manifest or {}),
    }
    return build_utxo_result(state, manifest=extra)


def is_utxo_case(case: Any) -> bool:
    """True when every seed of the case is on a UTXO chain (the engine to use is this one)."""
    from tracer.core.networks import ChainKind

    return all(get_chain(str(getattr(s.chain, "slug", s.chain))).kind is ChainKind.UTXO for s in case.seeds)


def trace_utxo_case(
    case: Any,
    *,
    policy: Policy | str | None = None,
    store: Any = None,
    labels: LabelLookup | None = None,
    offline: bool = False,
    api_url: str | None = None,
    adapter: UtxoAdapter | None = None,
    max_addresses: int | None = None,
    case_sha256: str | None = None,
) -> TraceResult:
    """`tracer.trace()` for a Bitcoin case: an Esplora adapter at `api_url` (or the case's URL)."""
    from tracer.api import config_from_case

    config = config_from_case(case, policy=policy, max_addresses=max_addresses)
    chain = next(s.chain for s in config.seeds)
    if adapter is None and not offline:
        from chains.esplora import EsploraAdapter

        spec = (getattr(case, "sources", None) or {}).get(chain)
        adapter = EsploraAdapter(url=api_url or getattr(spec, "url", None), archive=store)
    source = UtxoSource(adapter, store, chain=chain, offline=offline)
    return trace_utxo(config, source, labels=labels, manifest={"case_file_sha256": case_sha256})
