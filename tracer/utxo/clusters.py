"""Cluster-aware endpoints for the UTXO engine: is a tainted output's address co-spent with a labelled service?

When taint reaches an output, :class:`ClusterOracle` looks at the transaction that spends it (the
trace reads it anyway) and, up to `cluster_depth` rounds, at the histories of the addresses
co-spent with it (:mod:`heuristics.cluster`: multi-input, CoinJoins excluded, service-sized
merges and merges of two different services refused). A hop's change output, which belongs to
the spender's wallet by the change rules, gets the free look at its spending transaction only.
When the address's cluster holds an address the label book calls a service endpoint, the output
is an endpoint of that service: its category and name are inherited, and the linking
transactions are named as evidence.

A decision depends on the address and its spending transaction only (never on what the trace
met before), so it is the same whatever order outputs are reached in. Histories are read
through the history service (stored, so a rerun asks nothing) and count towards the trace's
budget; the requests they make are counted apart (:attr:`ClusterOracle.requests`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from heuristics.cluster import Link, Refusal, cluster_addresses
from tracer.cases.utxo_options import UtxoOptions
from tracer.core.models import Label, UtxoTx
from tracer.core.protocols import UtxoHistoryProvider

CLUSTER_LABEL_SOURCE = "heuristic:cluster"


@dataclass(frozen=True, slots=True)
class ClusterDecision:
    """`address` is an endpoint of the service labelled at `service_address`, linked by `links`."""

    address: str
    service_address: str
    service: Label
    links: tuple[Link, ...]

    @property
    def txids(self) -> tuple[str, ...]:
        """The transactions that linked the two addresses, in path order (each once)."""
        return tuple(dict.fromkeys(link.txid for link in self.links))

    @property
    def explanation(self) -> str:
        steps = "; ".join(f"{x.a} and {x.b} are inputs of tx {x.txid} ({x.heuristic})" for x in self.links)
        return (
            f"co-spent with {self.service_address}, labelled {self.service.category} {self.service.name!r} by "
            f"{self.service.source}: {steps}"
        )

    def label(self, chain: str) -> Label:
        """The endpoint label: the service's category and name, this heuristic as source, the txids as reference."""
        return Label(
            chain,
            self.address,
            self.service.category,
            self.service.name,
            CLUSTER_LABEL_SOURCE,
            source_ref=" ".join(self.txids),
            source_words=self.explanation,
        )


#: An address with a longer history is service-sized: its history is not read (a few pages at most).
HISTORY_LIMIT = 200


class HistoryReader:
    """Address histories read for clustering and change rules: cached, counted (budget and requests).

    A history longer than :data:`HISTORY_LIMIT` transactions is not read (a service's address:
    thousands of pages); such addresses are listed in :attr:`too_long`.
    """

    def __init__(self, source: UtxoHistoryProvider, may_read: Callable[[], bool] = lambda: True) -> None:
        self.source = source
        self.may_read = may_read
        self.reads = 0  # address histories read (they count towards the trace budget)
        self.requests = 0  # requests those reads made
        self.too_long: set[str] = set()
        self._histories: dict[str, tuple[UtxoTx, ...] | None] = {}

    def history(self, address: str) -> tuple[UtxoTx, ...] | None:
        """The confirmed transactions touching `address`, oldest first (None: too long, or the budget is spent)."""
        if address not in self._histories:
            if not self.may_read():
                return None
            before = self.source.requests
            found = self.source.address_txs_within(address, HISTORY_LIMIT)
            self.requests += self.source.requests - before
            self.reads += 1
            if found is None:
                self.too_long.add(address)
            self._histories[address] = None if found is None else tuple(found)
        return self._histories[address]


class ClusterOracle:
    """Decides whether an output's address belongs to a labelled service's cluster (see the module docstring)."""

    def __init__(
        self,
        reader: HistoryReader,
        options: UtxoOptions,
        label_of: Callable[[str], Label | None],
    ) -> None:
        self.reader = reader
        self.options = options
        self.label_of = label_of
        self.refusals: dict[str, Refusal] = {}  # txid -> a merge refused in a decision
        self.skipped: dict[str, str] = {}  # txid -> CoinJoin pattern not used for clustering
        self.short: set[str] = set()  # addresses whose decision stopped at the read limit or budget
        self._decided: dict[tuple[str, str, int], ClusterDecision | None] = {}

    def _service(self, address: str) -> str | None:
        label = self.label_of(address)
        if label is None or not label.is_endpoint or label.source.startswith("heuristic:"):
            return None
        return label.entity  # one service, whatever wallet number its labels give

    def _spends(self, address: str) -> tuple[UtxoTx, ...] | None:
        """The transactions in which `address` spends (None: not read, the budget is spent)."""
        txs = self.reader.history(address)
        return None if txs is None else tuple(t for t in txs if any(i.address == address for i in t.inputs))

    def decide(self, address: str, spender: UtxoTx, *, histories: bool = True) -> ClusterDecision | None:
        """The service `address` belongs to by co-spending, starting from `spender` (the tx spending the output).

        `histories=False` looks at `spender` only (no request): what a hop's change output gets.
        """
        rounds = self.options.cluster_depth if histories else 0
        key = (address, spender.txid, rounds)
        if key not in self._decided:
            self._decided[key] = self._decide(address, spender, rounds)
        return self._decided[key]

    def _decide(self, address: str, spender: UtxoTx, rounds: int) -> ClusterDecision | None:
        opts = self.options
        txs: dict[str, UtxoTx] = {spender.txid: spender}
        expanded: set[str] = set()
        reads = 0
        for depth in range(rounds + 1):
            clustering = cluster_addresses(
                txs.values(), max_cluster_size=opts.cluster_max_size, service_of=self._service
            )
            cluster = clustering.cluster_of(address)
            self.skipped.update(clustering.skipped_coinjoins)
            for refusal in clustering.refusals:
                if address in refusal.addresses:
                    self.refusals.setdefault(refusal.txid, refusal)
            services = [a for a in sorted(cluster) if a != address and self._service(a) is not None]
            if services:
                paths = {a: clustering.explain(address, a) for a in services}
                best = min(services, key=lambda a: (len(paths[a]), a))
                label = self.label_of(best)
                assert label is not None
                return ClusterDecision(address, best, label, tuple(paths[best]))
            if depth == rounds:
                break
            grew = False
            for other in sorted(cluster - expanded):
                if reads >= opts.cluster_reads:
                    self.short.add(address)
                    break
                spends = self._spends(other)
                reads += 1
                expanded.add(other)
                if spends is None:
                    if other in self.reader.too_long:
                        continue  # a service-sized history is not read; the address still counts in the cluster
                    self.short.add(address)
                    break
                for tx in spends:
                    if tx.txid not in txs:
                        txs[tx.txid] = tx
                        grew = True
            if not grew:
                break
        return None
