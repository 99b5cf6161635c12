"""UTXO tracing (Bitcoin): follow tainted outputs through their spenders into the standard bundle.

The trace starts at the seeds' stolen outputs and processes spending transactions in chain
order (block, then txid; a transaction waits while one of its parents is still pending).
Each transaction lays its inputs' taint onto its outputs and fee under the policy
(:mod:`tracer.utxo.ledger`, exact satoshi). Followed value stops:

- at an output whose address a :class:`~tracer.core.protocols.LabelLookup` labels as a service
  endpoint (exchange, mixer, bridge, ...) -> ``endpoints``;
- at an output whose address is co-spent with such a labelled address (:mod:`tracer.utxo.clusters`,
  switched by the config's `utxo.clustering`; a hop's change output gets only the look at its own
  spending transaction, no history reads) -> ``endpoints``, of that service, with the linking
  transactions as evidence (``summary["clustering"]``);
- at a detected CoinJoin (:mod:`heuristics.coinjoin`): the coins that entered it are a
  ``mixer`` endpoint whose label names the pattern;
- at an unspent output -> ``unmoved``; at the fee -> ``fees``;
- below ``min_taint`` × stolen -> ``below_threshold``; past ``max_hops`` or the transaction
  budget (``max_addresses`` counts spending transactions read) -> ``unexplored``.

For the asset ``bitcoin:native`` the summary closes exactly:
``stolen = endpoints + unmoved + fees + below_threshold + unexplored``. Peel chains among
the followed transactions are reported as one path each, with their peeled payments, in
``summary["peel_chains"]``: with change rules on (`utxo.change_rules`, BlockSci's), each hop's
change output is its continuation and the other outputs its payments, judged on their own
evidence; the policy still decides every amount. The CoinJoins met are listed in
``summary["coinjoins"]``.

Transactions come through a :class:`~tracer.core.protocols.UtxoHistoryProvider` (the store in
front of an adapter: :mod:`tracer.sources.utxo_history`); the bundle is built by
:mod:`tracer.utxo.result`. Resume: the checkpoint holds how many spending transactions were
followed (and the counts and tip); a resumed run re-runs the same deterministic loop from the
store and takes the counts over where the checkpoint stopped, so resumed equals uninterrupted.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from heuristics.change import ChangeResult, detect_change
from heuristics.coinjoin import CoinJoin, detect_coinjoin
from tracer.bundle.schema import BUCKETS
from tracer.cases.plan import SeedSpec, TraceConfig
from tracer.core.errors import BadInput
from tracer.core.gaps import BUDGET, HOP_LIMIT, gap
from tracer.core.models import Category, Label, Policy, UtxoTx
from tracer.core.protocols import CheckpointStore, LabelLookup, Progress, UtxoHistoryProvider
from tracer.core.units import format_units
from tracer.utxo.clusters import ClusterDecision, ClusterOracle, HistoryReader
from tracer.utxo.ledger import Lots, clean, propagate, taint_of
from tracer.utxo.steering import change_context

CHECKPOINT_FORMAT = 1
OP_RETURN = "op_return"
FEE = "fee"
COINJOIN_LABEL_SOURCE = "heuristic:coinjoin"
UNCONFIRMED = 1 << 62
#: `block` in flows.csv for an unconfirmed transaction or one whose block the source does not give.
UNKNOWN_BLOCK = -1


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
class Flow:
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
    flows: list[Flow] = field(default_factory=list)
    endpoints: dict[str, Label] = field(default_factory=dict)
    endpoint_rows: dict[str, list] = field(default_factory=dict)  # address -> [taint, first ts, txid, poison value]
    received: dict[str, list] = field(default_factory=dict)  # address -> [taint, first ts, hop, poisoned]
    seeds: set[str] = field(default_factory=set)
    labels: dict[str, Label] = field(default_factory=dict)
    coinjoins: dict[str, CoinJoin] = field(default_factory=dict)
    followed: dict[str, UtxoTx] = field(default_factory=dict)
    gaps: list[Any] = field(default_factory=list)  # text, or tracer.core.gaps entries (budget, hop limit)
    unexplored: set[str] = field(default_factory=set)  # addresses holding outputs a budget left unfollowed
    expanded: int = 0
    spends_unknown: int = 0  # tainted outputs whose spender the source could not tell
    requests: int = 0
    tip: int | None = None
    changes: dict[str, ChangeResult] = field(default_factory=dict)  # txid -> its unique change output
    cluster_decisions: dict[str, ClusterDecision] = field(default_factory=dict)  # address -> why it is an endpoint
    oracle: ClusterOracle | None = None
    reader: HistoryReader | None = None


# ----------------------------------------------------------------------------- the engine


class UtxoEngine:
    """Runs one UTXO trace (see the module docstring)."""

    def __init__(
        self,
        config: TraceConfig,
        source: UtxoHistoryProvider,
        *,
        labels: LabelLookup | None = None,
        coinjoin: Callable[[UtxoTx], CoinJoin | None] = detect_coinjoin,
        checkpoints: CheckpointStore | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.labels = labels
        self.checkpoints = checkpoints
        self.progress = progress
        self._resume: tuple[int, int] | None = None  # (spending txs followed, requests) at the checkpoint
        self._request_base = 0
        self._request_offset = 0
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
        options = config.utxo
        self.reader = HistoryReader(source, self._may_read)
        self.oracle = ClusterOracle(self.reader, options, self._label) if options.clustering else None
        self.state.oracle, self.state.reader = self.oracle, self.reader

    # -- driver -----------------------------------------------------------------------------------

    @property
    def checkpoint_key(self) -> str:
        return f"utxo-trace:{self.chain}:{self.config.case_id}:{self.config.fingerprint()}"

    def run(self) -> UtxoTraceState:
        """Trace to the end (or the budget), resuming a checkpoint; checkpoints on the way and when interrupted."""
        state = self.state
        saved = self.checkpoints.read_checkpoint(self.checkpoint_key) if self.checkpoints else None
        doc = json.loads(saved) if saved else {}
        if doc.get("format") == CHECKPOINT_FORMAT and doc.get("fingerprint") == self.config.fingerprint():
            self._resume = (int(doc["followed"]), int(doc["requests"]))
            state.tip = doc["tip"]
        else:
            state.tip = self.source.tip()
        self._request_offset = self.source.requests
        try:
            self._trace()
        except BaseException:  # Ctrl-C or a source failure: keep what is done
            if self._resume is None:
                self._write_checkpoint()
            raise
        if self._resume is not None:
            self._take_over_counts(exact=False)
        state.requests = self._requests()
        self._write_checkpoint()
        return state

    def _trace(self) -> None:
        state = self.state
        seeds = [s for s in self.config.seeds if s.chain == self.chain]
        if not seeds:
            raise BadInput(f"the case has no {self.chain} seed")
        coins: list[Coin] = []
        for seed in seeds:
            coins.extend(self._seed(seed))
        self._stolen = state.buckets["stolen"]
        for coin in coins:
            self._place(coin, seed=True)
        self._check_resume()
        since_checkpoint = 0
        while self._heap:
            _, _, txid = heapq.heappop(self._heap)
            self._queued.discard(txid)
            followed = state.expanded
            self._spend(txid)
            if state.expanded == followed:
                continue
            self._check_resume()
            since_checkpoint += 1
            if since_checkpoint >= self.config.checkpoint_every and self._resume is None:
                self._write_checkpoint()
                since_checkpoint = 0
            self._report()

    # -- resume, checkpoints, progress ----------------------------------------------------------

    def _requests(self) -> int:
        return self._request_base + self.source.requests - self._request_offset

    def _check_resume(self) -> None:
        """While replaying a checkpoint: take its counts over once exactly where it stopped."""
        if self._resume is not None and self.state.expanded >= self._resume[0]:
            self._take_over_counts(exact=self.state.expanded == self._resume[0])

    def _take_over_counts(self, *, exact: bool) -> None:
        if self._resume is not None and exact:
            self._request_base, self._request_offset = self._resume[1], self.source.requests
        self._resume = None

    def _write_checkpoint(self) -> None:
        if self.checkpoints is None:
            return
        doc = {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": self.config.fingerprint(),
            "followed": self.state.expanded,
            "requests": self._requests(),
            "tip": self.state.tip,
        }
        self.checkpoints.write_checkpoint(self.checkpoint_key, json.dumps(doc, sort_keys=True).encode())

    def _report(self) -> None:
        if self.progress is None:
            return
        share = Fraction(self.state.buckets["endpoints"], self._stolen) if self._stolen else Fraction(0)
        self.progress(
            Progress(
                expanded=self.state.expanded,
                frontier=len(self._heap),
                requests=self._requests(),
                transfers_read=len(self.state.followed),
                endpoint_share=share,
            )
        )

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
            gain = _net_gains(tx)  # whoever gained value in the transaction, as on account chains
            for out in tx.outputs:
                if out.address is None or out.value <= 0 or gain.get(out.address, 0) <= 0:
                    continue
                if seed.address and seed.role in ("thief", "bridged") and out.address != seed.address:
                    continue
                if seed.address and seed.role == "victim" and seed.address not in inputs:
                    continue
                amount = min(out.value, gain[out.address])
                if cap is not None:
                    amount = min(amount, cap - sum(c.taint for c in coins))
                if amount <= 0:
                    break
                gain[out.address] -= amount
                lots: Lots = ((amount, amount),) if amount == out.value else ((amount, amount), (out.value - amount, 0))
                coins.append(Coin(tx.txid, out.index, out.address, out.value, lots, True, 0, tx.timestamp))
                self.state.flows.append(Flow(tx, out.index, _first_input(tx), out.address, out.value, amount, True, 0))
                self.state.seeds.add(out.address)
            self.state.followed[tx.txid] = tx
        if seed.tx and not coins:
            raise BadInput(f"seed tx {seed.tx} on {self.chain}: nobody gained value in it")
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

    def _may_read(self) -> bool:
        """The budget (spending transactions and address histories read) is not spent yet."""
        reads = len(self._txs) + self.reader.reads
        return self.config.max_addresses is None or reads < self.config.max_addresses

    def _place(self, coin: Coin, *, seed: bool = False, change: bool = False) -> None:
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
            self._unexplored(coin, HOP_LIMIT, f"hop limit reached (max_hops = {self.config.max_hops})")
            return
        if spender not in self._txs:
            if not self._may_read():
                buckets["unexplored"] += coin.taint
                why = f"budget of {self.config.max_addresses} spending transactions reached (max_addresses)"
                self._unexplored(coin, BUDGET, why)
                return
            self._txs[spender] = self.source.tx(spender)
        if self.oracle is not None and not seed:
            decision = self.oracle.decide(coin.address, self._txs[spender], histories=not change)
            if decision is not None:
                self.state.cluster_decisions[coin.address] = decision
                self._endpoint(coin, decision.label(self.chain), coin.txid)
                return
        self._pending.setdefault(spender, []).append(coin)
        if spender not in self._queued:
            self._queued.add(spender)
            block = self._txs[spender].block
            heapq.heappush(self._heap, (block if block is not None else UNCONFIRMED, 0, spender))

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

    def _unexplored(self, coin: Coin, kind: str, why: str) -> None:
        """A tainted output left unfollowed: its address is unexplored, the gap names it and its range."""
        self.state.unexplored.add(coin.address)
        made = self.state.followed.get(coin.txid)
        start = made.block if made is not None else None
        self._gap(gap(kind, self.chain, coin.address, start, self.state.tip, f"{why}; output {coin.txid}:{coin.vout}"))

    def _gap(self, text: Any) -> None:
        if text not in self.state.gaps:
            self.state.gaps.append(text)

    # -- one spending transaction ----------------------------------------------------------------

    def _spend(self, txid: str) -> None:
        state = self.state
        if not self._pending.get(txid):
            return
        tx = self._txs[txid]
        block = tx.block if tx.block is not None else UNCONFIRMED
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
        change = self._change(tx)
        lots, fee_taint = propagate(self.lots_policy, inputs, outputs, tx.fee)
        state.buckets["fees"] += fee_taint
        if fee_taint or (poisoned and tx.fee and self.poison):
            state.flows.append(Flow(tx, len(outputs), sender, FEE, tx.fee, fee_taint, poisoned, hop + 1))
        for out, out_lots in zip(tx.outputs, lots, strict=True):
            taint = taint_of(out_lots)
            if not taint and not (poisoned and self.poison):
                continue
            receiver = out.address or OP_RETURN
            state.flows.append(Flow(tx, out.index, sender, receiver, out.value, taint, poisoned, hop + 1))
            if out.address is None:  # burnt in an OP_RETURN / unspendable script
                state.buckets["unmoved"] += taint
                continue
            coin = Coin(txid, out.index, out.address, out.value, out_lots, poisoned, hop + 1, tx.timestamp)
            self._place(coin, change=out.index == change)

    def _change(self, tx: UtxoTx) -> int | None:
        """The change output of `tx` by the enabled rules (None: rules off, or no unique change)."""
        rules = self.config.utxo.change_rules
        if not rules:
            return None
        ctx = change_context(tx, rules, self.source, self._txs, self.reader, self._may_read)
        found = detect_change(tx, ctx, heuristics=rules)
        if found.change is not None:
            self.state.changes[tx.txid] = found
        return found.change


def _net_gains(tx: UtxoTx) -> dict[str, int]:
    """Address -> what it received in `tx` minus what it spent there."""
    net: dict[str, int] = {}
    for o in tx.outputs:
        if o.address is not None:
            net[o.address] = net.get(o.address, 0) + o.value
    for i in tx.inputs:
        if i.address is not None:
            net[i.address] = net.get(i.address, 0) - i.value
    return net


def _depth(heap: list[tuple[int, int, str]], txids: list[str | None]) -> int:
    return max((level for _, level, t in heap if t in txids), default=0)


def _first_input(tx: UtxoTx) -> str:
    return next((i.address for i in tx.inputs if i.address), "coinbase" if tx.inputs else "")


def _to_sats(amount: str | Decimal, decimals: int) -> int:
    value = Decimal(str(amount)) * (10**decimals)
    if value != value.to_integral_value():
        raise BadInput(f"amount {amount} has more than {decimals} decimals")
    return int(value)
