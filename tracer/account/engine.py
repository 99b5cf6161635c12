"""The tracing loop: pop the richest frontier address, read its history, replay its ledger, push on.

Nothing here knows which explorer answered: histories come from a
:class:`tracer.core.protocols.HistoryProvider`, labels from a :class:`tracer.core.protocols.LabelLookup`.

State is kept per edge: the taint (and poison flag) each transfer carries, as computed by
its sender's replay (:func:`tracer.account.ledger.trace_address`). When new taint reaches an address
that was already expanded, the address is replayed again and only the differences are
pushed on, until nothing changes. Taint only moves forward in (block, tx index, position),
so this always settles, and the final state does not depend on the order of replays.

An address receiving taint is, in this order: a labelled endpoint (absorbs, never
expanded); a frontier node (waits, ranked by the frontier strategy); or, once popped and
read, an unknown service (too many counterparties), a recognised exchange deposit address,
or a transit address whose ledger is replayed.

Re-replays of already expanded addresses are batched (every `SETTLE_EVERY` expansions and
whenever the frontier runs dry), earliest change first; the final state is the same fixed
point either way. Histories are read from block 0 (what an address held before `since` is
known and clean) up to `until` or the tip pinned for the case.

Resume: the checkpoint lists the expansions done (plus counts and a frontier snapshot); a
resumed run re-runs the same deterministic loop, answering those expansions from the store
without counting them again, and continues — so resumed and uninterrupted traces are equal.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from heuristics.deposits import detect_deposit_address
from heuristics.services import SERVICE_MIN_COUNTERPARTIES, SERVICE_PROBE_ROWS, detect_unknown_service
from tracer.account.attribution import AddressRules
from tracer.account.frontier import Frontier, Node, make_frontier
from tracer.account.ledger import CleanPrefix, EdgeKey, Injection, Outcome, asset_key, trace_address
from tracer.account.scores import FrontierScores
from tracer.account.seeds import SeedRules
from tracer.cases.decisions import is_excluded
from tracer.cases.plan import TraceConfig
from tracer.core.addresses import normalize_address
from tracer.core.errors import BadInput, OfflineGap, SourceError
from tracer.core.gaps import BUDGET, HOP_LIMIT, OFFLINE, SOURCE, gap, gap_key
from tracer.core.models import FEE_SINK, Category, Label, Transfer, TransferKind
from tracer.core.networks import get_chain
from tracer.core.protocols import CheckpointStore, HistoryProvider, LabelLookup, Progress

CHECKPOINT_FORMAT = 1
#: Labelled endpoints that may only route value on inside a transaction (a bridge's inbox or adapter):
#: the transactions that bring them taint are read (a few requests each), and what they forward there
#: is followed. Mixers are left out: their routers forward to pools that are labelled mixers too.
CONDUIT_CATEGORIES: frozenset[Category] = frozenset({Category.BRIDGE})
#: Expansions between two settles of pending re-replays (part of the deterministic schedule).
SETTLE_EVERY = 512
#: Rounds of the final address-rule rechecks before the trace gives up settling them (and says so).
MAX_RECHECK_ROUNDS = 100


@dataclass
class TraceState:
    """The engine's raw state at the end (what :mod:`tracer.bundle.result` turns into frames)."""

    config: TraceConfig
    outcomes: dict[Node, Outcome] = field(default_factory=dict)
    inflows: dict[Node, dict[EdgeKey, tuple[int, bool, Transfer]]] = field(default_factory=dict)
    hops: dict[Node, int] = field(default_factory=dict)
    endpoints: dict[Node, Label] = field(default_factory=dict)
    labels: dict[Node, Label | None] = field(default_factory=dict)
    seeds: set[Node] = field(default_factory=set)
    victims: set[Node] = field(default_factory=set)
    #: thief-controlled addresses found by attribution -> the thief's first payment that funded them
    attributed: dict[Node, Transfer] = field(default_factory=dict)
    #: the second quantity, thief funds (value attributed addresses gained from elsewhere): its ledger
    #: outcomes and edge state, kept apart from stolen value's
    tf_outcomes: dict[Node, Outcome] = field(default_factory=dict)
    tf_inflows: dict[Node, dict[EdgeKey, tuple[int, bool, Transfer]]] = field(default_factory=dict)
    #: expanded addresses that serve others (counterparty endpoints) -> why
    counterparties: dict[Node, str] = field(default_factory=dict)
    #: attributed address -> its evidence (inflow share, counterparties), filled at the end
    evidence: dict[Node, dict[str, Any]] = field(default_factory=dict)
    #: labelled endpoints that passed value on inside a transaction -> the transactions read for them
    conduits: dict[Node, set[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the trace could not check (it is complete anyway)
    gaps: list[Any] = field(default_factory=list)  # tracer.core.gaps entries: what is missing, where, why
    unexplored: set[Node] = field(default_factory=set)  # frontier nodes that would still be expanded
    expanded_order: list[Node] = field(default_factory=list)
    bases: dict[str, Fraction] = field(default_factory=dict)
    requests: int = 0
    transfers_read: int = 0
    tips: dict[str, int] = field(default_factory=dict)
    frontier_snapshot: dict[str, Any] = field(default_factory=dict)


class Engine(SeedRules, AddressRules, FrontierScores):
    """One trace: `run()` returns the final :class:`TraceState`."""

    def __init__(
        self,
        config: TraceConfig,
        *,
        history: HistoryProvider,
        labels: LabelLookup | None = None,
        checkpoints: CheckpointStore | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.config = config
        self.history = history
        self.label_lookup = labels
        self.checkpoints = checkpoints
        self.progress = progress
        self.state = TraceState(config=config)
        self.frontier: Frontier = make_frontier(config.strategy, min_taint=config.min_taint, max_hops=config.max_hops)
        self._histories: dict[Node, list[Transfer]] = {}
        self._memos: dict[Node, CleanPrefix] = {}  # clean-prefix replay memos (speed only)
        self._injections: dict[Node, Injection] = {}  # stolen value: seeds
        self._tf_injections: dict[Node, Injection] = {}  # thief funds: attributed addresses
        self._tf_memos: dict[Node, CleanPrefix] = {}
        self._dirty: list[tuple[tuple, Node]] = []  # (earliest changed inflow, node)
        self._dirty_at: dict[Node, tuple] = {}
        self._since_settle = 0
        self._bases_ready = False
        self._pending_score: set[Node] = set()
        self._replaying = False
        self._resume: tuple[list[Node], int, int] | None = None
        self._request_offset = 0
        self._endpoint_taint: dict[str, int] = {}
        self._deposit_histories: dict[Node, list[Transfer]] = {}  # deposit endpoints, for the final recheck
        self._not_deposits: dict[Node, str] = {}  # would-be deposit addresses the thief ran, and why
        self._stations_cache: dict[str, tuple[tuple[Any, ...], set[str]]] = {}  # chain -> gas stations
        self._gas_attributed: set[Node] = set()  # wallets attributed for their first gas
        self._value_funded: set[Node] = set()  # wallets the value rule makes the thief's (gas station evidence)
        self._station_probes: dict[Node, bool] = {}  # would-be gas stations -> no service (probed once)
        self._gas_cache: dict[Node, tuple[int, bool, frozenset[str]]] = {}
        self._gap_keys: set[str] = set()
        self._thieves: dict[str, set[str]] = {}  # chain -> thief seeds and attributed addresses
        self._decisions = {(d.chain, normalize_address(d.chain, d.address)): d for d in config.decisions}

    # ------------------------------------------------------------------ public
    @property
    def checkpoint_key(self) -> str:
        return f"trace:{self.config.case_id}:{self.config.fingerprint()}"

    def run(self) -> TraceState:
        """Trace to the end (or the budget); checkpoints on the way and when interrupted.

        Resuming re-runs the same deterministic loop; the expansions the checkpoint lists are
        answered from the store and not counted again (requests, transfers read).
        """
        saved = self.checkpoints.read_checkpoint(self.checkpoint_key) if self.checkpoints else None
        if saved:
            doc = json.loads(saved)
            if doc.get("format") == CHECKPOINT_FORMAT and doc.get("fingerprint") == self.config.fingerprint():
                self._resume = ([(c, a) for c, a in doc["expanded"]], int(doc["requests"]), int(doc["transfers_read"]))
                self._replaying = True
        self._request_offset = self.history.requests
        try:
            self._start_seeds()
            self._loop()
        except BaseException:  # Ctrl-C or a source failure: keep what is done
            if not self._replaying:
                self._write_checkpoint()
            raise
        self._finish()
        self._write_checkpoint()
        return self.state

    def _begin(self, node: Node) -> None:
        """Record an expansion; leave replay mode once past (or off) the checkpoint's list."""
        order = self.state.expanded_order
        order.append(node)
        if not self._replaying or self._resume is None:
            return
        recorded = self._resume[0]
        index = len(order) - 1
        if index < len(recorded) and recorded[index] == node:
            return
        self._leave_replay(exact=index == len(recorded))

    def _leave_replay(self, *, exact: bool) -> None:
        """Stop replaying; when we are exactly where the checkpoint stopped, take over its counts."""
        if self._resume is not None and self._replaying and exact:
            _, requests, transfers = self._resume
            self.state.requests, self.state.transfers_read = requests, transfers
            self._request_offset = self.history.requests
        self._replaying = False

    # ------------------------------------------------------------------ loop
    def _loop(self) -> None:
        cfg = self.config
        since_checkpoint = 0
        while cfg.max_addresses is None or len(self.state.expanded_order) < cfg.max_addresses:
            node = self.frontier.pop()
            if node is None and self._dirty:
                self._settle()  # pending changes may put nodes back on the frontier
                node = self.frontier.pop()
            if node is None and self._recheck_endpoints():
                self._settle()  # a counterparty whose senders turned out to be the thief's, or a wallet
                node = self.frontier.pop()  # the thief ran that looked like a deposit address, is traced on
            if node is None:
                break
            self._expand(node)
            self._expanded_one()
            since_checkpoint += 1
            if since_checkpoint >= cfg.checkpoint_every and not self._replaying:
                self._write_checkpoint()
                since_checkpoint = 0
            self._report()

    def _report(self) -> None:
        if self.progress is None:
            return
        stolen = self._stolen_by_asset()
        shares = [Fraction(self._endpoint_taint.get(k, 0), v) for k, v in stolen.items() if v > 0]
        share = sum(shares, Fraction(0)) / len(shares) if shares else Fraction(0)
        self.progress(
            Progress(
                expanded=len(self.state.expanded_order),
                frontier=len(self.frontier),
                requests=self._requests(),
                transfers_read=self.state.transfers_read,
                endpoint_share=share,
            )
        )

    def _requests(self) -> int:
        return self.state.requests + (self.history.requests - self._request_offset)

    def _stolen_by_asset(self) -> dict[str, int]:
        stolen: dict[str, int] = {}
        for node in self.state.seeds | self.state.victims:
            outcome = self.state.outcomes.get(node)
            if outcome:
                for k, v in outcome.stolen.items():
                    stolen[k] = stolen.get(k, 0) + v
        return stolen

    # ------------------------------------------------------------------ reading
    def _bounds(self, chain_slug: str) -> tuple[int, int | None]:
        w = self.config.window
        end = w.until_block
        if end is None:
            tip = self.state.tips.get(chain_slug)
            if tip is None:
                pin = getattr(self.history, "tip", None)
                if pin is not None:
                    tip = pin(get_chain(chain_slug), pin_key=self.config.case_id)
                    self.state.tips[chain_slug] = tip
            end = tip
        return 0, end

    def _read(self, node: Node, *, full: bool) -> list[Transfer] | None:
        """The node's history (sorted, de-duplicated); None when an offline gap stops us."""
        chain = get_chain(node[0])
        start, end = 0, None
        try:
            start, end = self._bounds(node[0])
            chunk = self.history.history(
                chain, node[1], start_block=start, end_block=end, max_rows=None if full else SERVICE_PROBE_ROWS
            )
        except OfflineGap as missing:
            self._add_gap(gap(OFFLINE, node[0], node[1], start, end, missing.message))
            self.state.unexplored.add(node)
            return None
        for text in getattr(chunk, "gaps", ()):  # the source answered incompletely: the trace says so
            self._add_gap(gap(SOURCE, node[0], node[1], start, end, text))
        transfers = _canonical(chunk.transfers)
        if not self._replaying:
            self.state.transfers_read += len(transfers)
        if full:
            return transfers
        if self._follow(node):
            return transfers if chunk.complete else self._read(node, full=True)
        if detect_unknown_service(node[1], transfers):  # the first page, or the whole history when it fits
            self._make_endpoint(node, _service_label(node, len(transfers), probe=not chunk.complete))
            return None
        if not chunk.complete and not chunk.gaps:  # a row budget stopped it (not a gap: asking again won't help)
            transfers_full = self._read(node, full=True)
            if transfers_full is not None and detect_unknown_service(node[1], transfers_full):
                # the first page did not decide it (e.g. filled by the service's own zero-value calls)
                self._make_endpoint(node, _service_label(node, len(transfers_full), probe=False))
                return None
            return transfers_full
        return transfers

    # ------------------------------------------------------------------ expansion
    def _expand(self, node: Node) -> None:
        self._begin(node)
        transfers = self._read(node, full=False)
        if transfers is None:
            return
        counterparties = {t.receiver for t in transfers if t.sender == node[1] and t.receiver != FEE_SINK}
        known = {a: self._label((node[0], a)) for a in sorted(counterparties)}
        deposit = None if self._follow(node) else detect_deposit_address(node[0], node[1], transfers, known)
        if deposit is None and not self._follow(node):
            deposit = self._deposit_of_unlabelled_hub(node, transfers, known)
        if deposit is not None:
            reason = self._run_by_thief(node, transfers, deposit)
            if reason is None:
                self._deposit_histories[node] = transfers
                self._make_endpoint(node, deposit)
                return
            self._not_deposits[node] = reason
        self._histories[node] = transfers
        self._replay(node, probe=True)  # a would-be gas station may be probed in this first replay

    def _follow(self, node: Node) -> bool:
        """True when the analyst decided to expand `node` although it looks like a service."""
        decision = self._decisions.get(node)
        return decision is not None and decision.action == "follow"

    def _make_endpoint(self, node: Node, label: Label) -> None:
        self.state.endpoints[node] = label
        self.state.labels[node] = label
        self.frontier.remove(node)
        for _, (taint, _, tr) in self.state.inflows.get(node, {}).items():
            k = asset_key(tr.asset)
            self._endpoint_taint[k] = self._endpoint_taint.get(k, 0) + taint

    def _undo_endpoint(self, node: Node) -> None:
        """`node` is no endpoint after all: forget its label and the taint counted there."""
        self.state.endpoints.pop(node, None)
        self.state.labels[node] = self._label(node)
        for _, (taint, _, tr) in self.state.inflows.get(node, {}).items():
            k = asset_key(tr.asset)
            self._endpoint_taint[k] = self._endpoint_taint.get(k, 0) - taint

    def _replay(self, node: Node, *, probe: bool = False) -> None:
        """Recompute `node`'s ledgers (stolen value, then thief funds) and push what changed to its receivers.

        `probe`: attribution may read a would-be gas station's history (only where reading belongs: an
        expansion or a recheck, never a settle)."""
        state = self.state
        transfers = self._histories[node]
        if node not in self._injections and (node not in state.endpoints or node in state.counterparties):
            self._check_counterparty(node, transfers)
        if node in state.counterparties or (node in state.endpoints and node in self._deposit_histories):
            transfers = []  # an endpoint: what reached it stays there, its other business is not followed
        elif self.config.attribution and node not in self._injections and node not in state.endpoints:
            self._attribute(node, transfers, probe=probe)
        policy, window = self.config.policy, self.config.window
        inflows = state.inflows.get(node, {})
        outcome = trace_address(
            node[1],
            transfers,
            policy=policy,
            inflows=inflows,
            window=window,
            injection=self._injections.get(node),
            memo=self._memos.setdefault(node, CleanPrefix()) if transfers else None,
        )
        self._push(node, state.outcomes, outcome, state.inflows)
        tf_inflows = state.tf_inflows.get(node, {})
        tf_injection = self._tf_injections.get(node) if transfers else None
        if tf_inflows or tf_injection is not None or node in state.tf_outcomes:
            tf = trace_address(
                node[1],
                transfers,
                policy=policy,
                inflows=tf_inflows,
                window=window,
                injection=tf_injection,
                memo=self._tf_memos.setdefault(node, CleanPrefix()) if transfers else None,
                carried=inflows,
            )
            self._push(node, state.tf_outcomes, tf, state.tf_inflows)
        if self._bases_ready and outcome.swaps:
            self._update_bases()

    def _push(
        self,
        node: Node,
        outcomes: dict[Node, Outcome],
        outcome: Outcome,
        edge_state: dict[Node, dict[EdgeKey, tuple[int, bool, Transfer]]],
    ) -> None:
        """Store one quantity's outcome at `node` and update its receivers' edge state where it changed."""
        old = outcomes.get(node)
        outcomes[node] = outcome
        old_pushes = old.pushes if old is not None else {}
        # history order (deterministic), then edges that no longer carry anything
        edges = list(outcome.pushes) + [e for e in old_pushes if e not in outcome.pushes]
        for edge in edges:
            before = old_pushes.get(edge)
            after = outcome.pushes.get(edge)
            if before is not None and after is not None and before[1:] == after[1:]:
                continue
            tr = (after or before)[0]  # type: ignore[index]
            receiver = (node[0], tr.receiver)
            inflows = edge_state.setdefault(receiver, {})
            old_taint = inflows[edge][0] if edge in inflows else 0
            if after is None or (after[1] == 0 and not after[2]):
                inflows.pop(edge, None)
                new_taint = 0
            else:
                inflows[edge] = (after[1], after[2], tr)
                new_taint = after[1]
            counted = edge_state is self.state.inflows
            self._touched(receiver, asset_key(tr.asset), new_taint - old_taint if counted else 0, tr.order_key)
            if new_taint and receiver in self.state.endpoints and self._read_conduit_tx(receiver, tr, node):
                self._touched(receiver, asset_key(tr.asset), 0, tr.order_key)  # replayed as a conduit now

    def _read_conduit_tx(self, node: Node, tr: Transfer, sender: Node) -> bool:
        """Read the transaction that brought taint to endpoint `node`, when `node` may only route it on.

        If the endpoint passes value on inside that transaction, it is followed like any pass-through
        (its replay covers just the transactions read); what it keeps stays at the endpoint. True
        when the endpoint's history changed (it must be replayed).
        """
        label = self.state.endpoints[node]
        read = self.state.conduits.get(node)
        if label.category not in CONDUIT_CATEGORIES or (read is not None and tr.tx_hash in read):
            return False
        fetch = getattr(self.history, "transaction", None)
        if fetch is None:
            return False
        self.state.conduits.setdefault(node, set()).add(tr.tx_hash)
        try:
            transfers = fetch(get_chain(node[0]), tr.tx_hash)
        except OfflineGap as missing:
            self._add_gap(gap(OFFLINE, node[0], node[1], tr.block, tr.block, missing.message))
            return False
        except (BadInput, SourceError) as exc:  # the endpoint stays a plain one for this transaction
            self.state.notes.append(
                f"{node[0]} {tr.tx_hash}: not read to see whether bridge {node[1]} passed the value on ({exc.message})"
            )
            return False
        own = [t for t in transfers if node[1] in (t.sender, t.receiver)]
        if not any(t.tx_hash == tr.tx_hash and t.position == tr.position for t in own):
            return False  # the source's record of the transaction lacks the inflow: nothing to follow
        forwards = any(t.sender == node[1] and t.kind is not TransferKind.FEE and t.moves_value for t in own)
        if not forwards and node not in self._histories:
            return False  # it kept the value: a plain endpoint for this transaction
        self._histories[node] = _canonical([*self._histories.get(node, ()), *own])
        self.state.hops.setdefault(node, self.state.hops.get(sender, 0) + 1)
        return True

    def _touched(self, node: Node, key: str, delta: int, when: tuple) -> None:
        state = self.state
        if node in state.outcomes or node in self._histories:
            earliest = self._dirty_at.get(node)
            if earliest is None or when < earliest:
                self._dirty_at[node] = when
                heapq.heappush(self._dirty, (when, node))
            return
        if node in state.endpoints:
            self._endpoint_taint[key] = self._endpoint_taint.get(key, 0) + delta
            return
        if node not in state.labels:
            label = state.labels[node] = self._label(node)
            if label is not None and (label.is_endpoint or is_excluded(label)):
                state.endpoints[node] = label
                self._endpoint_taint[key] = self._endpoint_taint.get(key, 0) + delta
                return
        if node in state.unexplored:
            return  # an offline gap stopped its expansion; its taint stays unexplored
        if self._bases_ready:
            self._rescore(node)
        else:
            self._pending_score.add(node)

    def _settle(self) -> None:
        """Replay expanded addresses whose inflows changed until nothing changes.

        Earliest change first: taint only moves forward in time, so this replays most
        addresses once even when a change ripples through many of them.
        """
        self._since_settle = 0
        while self._dirty:
            when, node = heapq.heappop(self._dirty)
            if self._dirty_at.get(node) != when:
                continue  # superseded by an earlier change
            del self._dirty_at[node]
            self._replay(node)

    def _expanded_one(self) -> None:
        """Settle pending re-replays on a geometric schedule (after `SETTLE_EVERY` expansions, then
        whenever the expansions since the last settle reach half of all so far): a settle costs
        up to one replay of everything downstream, so O(log n) settles keep the total near linear.
        Deterministic, so a resumed run settles at the same points."""
        self._since_settle += 1
        if self._since_settle >= max(SETTLE_EVERY, len(self.state.expanded_order) // 2):
            self._settle()

    def _label(self, node: Node) -> Label | None:
        """The analyst's decision first (endpoint / exclude: its label; follow: none), then the label book."""
        decision = self._decisions.get(node)
        if decision is not None and decision.action in ("endpoint", "exclude", "follow"):
            return decision.as_label()
        if self.label_lookup is None:
            return None
        return self.label_lookup.label(node[0], node[1])

    # ------------------------------------------------------------------ end / checkpoints
    def _finish(self) -> None:
        if self._replaying and self._resume is not None:
            self._leave_replay(exact=len(self.state.expanded_order) == len(self._resume[0]))
        self._settle()
        for _ in range(MAX_RECHECK_ROUNDS):  # settle what the rechecks changed
            if not self._recheck_endpoints():
                break
            self._settle()
        else:
            self.state.notes.append(
                f"the address rules did not settle within {MAX_RECHECK_ROUNDS} rechecks; attributions and "
                "deposit decisions are as the last recheck left them"
            )
        self._collect_evidence()
        state = self.state
        state.requests = self._requests()
        self._request_offset = self.history.requests
        for node, _, hop in self.frontier.rank():
            if self.frontier.above_threshold(node):  # budget or max_hops stopped it, not the threshold
                state.unexplored.add(node)
                self._budget_gap(node, hop)
        state.frontier_snapshot = self.frontier.snapshot()

    def _add_gap(self, entry: dict[str, Any]) -> None:
        """Record a gap once (a set of keys beside the list: a budget run can leave thousands)."""
        if len(self._gap_keys) != len(self.state.gaps):  # gaps restored from a checkpoint
            self._gap_keys = {gap_key(g) for g in self.state.gaps}
        key = gap_key(entry)
        if key not in self._gap_keys:
            self._gap_keys.add(key)
            self.state.gaps.append(entry)

    def _budget_gap(self, node: Node, hop: int) -> None:
        """Name the history a budget or the hop limit left unread (the whole window up to the pinned tip)."""
        cfg = self.config
        if cfg.max_hops is not None and hop >= cfg.max_hops:
            kind, why = HOP_LIMIT, f"hop limit reached (max_hops = {cfg.max_hops}); its tainted value is unexplored"
        else:
            kind, why = (
                BUDGET,
                (
                    f"expansion budget reached (max_addresses = {cfg.max_addresses}); its history was not read "
                    "and its tainted value is unexplored"
                ),
            )
        end = self.config.window.until_block
        self._add_gap(gap(kind, node[0], node[1], 0, end if end is not None else self.state.tips.get(node[0]), why))

    def _write_checkpoint(self) -> None:
        if self.checkpoints is None:
            return
        doc = {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": self.config.fingerprint(),
            "expanded": [list(n) for n in self.state.expanded_order],
            "requests": self._requests(),
            "transfers_read": self.state.transfers_read,
            "frontier": self.frontier.snapshot(),
        }
        self.checkpoints.write_checkpoint(self.checkpoint_key, json.dumps(doc, sort_keys=True).encode())


def _canonical(transfers: Sequence[Transfer]) -> list[Transfer]:
    """Sorted by (block, tx index, tx hash, position), one record per (tx hash, position)."""
    seen: set[EdgeKey] = set()
    out = []
    for tr in sorted(transfers, key=lambda t: t.order_key):
        edge = (tr.tx_hash, tr.position)
        if edge not in seen:
            seen.add(edge)
            out.append(tr)
    return out


def _service_label(node: Node, rows: int, *, probe: bool) -> Label:
    where = f"more than {rows} transfers in the first page of history" if probe else f"{rows} transfers of history"
    return Label(
        chain=node[0],
        address=node[1],
        category=Category.UNKNOWN_SERVICE,
        name="unknown service",
        source="heuristic:service-history",
        source_words=f"{where} with at least {SERVICE_MIN_COUNTERPARTIES} counterparties outside pass-through",
    )
