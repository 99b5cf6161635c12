"""Properties of clustering decisions (hypothesis): order-independent, CoinJoins never link their
participants, service-sized merges refused and reported. Every world is SYNTHETIC (made up here)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chains.emulators.esplora import synthetic_address, synthetic_tx, synthetic_txid
from heuristics.cluster import cluster_addresses
from tracer.cases.utxo_options import UtxoOptions
from tracer.core.models import Category, Label, UtxoTx
from tracer.core.networks import get_chain
from tracer.utxo.clusters import ClusterOracle, HistoryReader

POOL = [synthetic_address(f"prop-{n}") for n in range(10)]
SERVICE = POOL[0]
SERVICE_LABEL = Label("bitcoin", SERVICE, Category.EXCHANGE, "PropExchange (synthetic)", "test")

# a spend: (name, block, input owners as pool indexes); inputs in the given order
spends = st.lists(
    st.tuples(st.integers(0, 5), st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=4)),
    min_size=1,
    max_size=12,
)


def make_spend(n: int, block: int, owners: list[int]) -> UtxoTx:
    """Spend one coin of each owner (in the given order) into one output (never a CoinJoin)."""
    ins = [(synthetic_txid(f"prop-{n}-{k}"), 0, POOL[o], 100_000 * (k + 1)) for k, o in enumerate(owners)]
    total = sum(v for *_, v in ins)
    return synthetic_tx(
        f"prop-spend-{n}", ins, [(synthetic_address(f"prop-out-{n}"), total - 500)], block=800_000 + block
    )


def make_world(raw: list[tuple[int, list[int]]], *, reverse_inputs: bool = False) -> list[UtxoTx]:
    return [make_spend(n, b, owners[::-1] if reverse_inputs else owners) for n, (b, owners) in enumerate(raw)]


def make_coinjoin(n: int, owners: list[int], block: int = 3) -> UtxoTx:
    """A generic equal-output CoinJoin: one coin per distinct participant, as many equal outputs."""
    ins = [(synthetic_txid(f"cj-{n}-{o}"), 0, POOL[o], 2_000_000) for o in owners]
    outs = [(synthetic_address(f"cj-{n}-out-{k}"), 1_000_000) for k in range(len(owners))]
    outs += [(synthetic_address(f"cj-{n}-change-{k}"), 999_000) for k in range(len(owners))]
    return synthetic_tx(f"prop-cj-{n}", ins, outs, block=800_000 + block)


def view(result) -> tuple:
    pairs = {(a, b): result.same_cluster(a, b) for a in POOL for b in POOL if a < b}
    paths = {k: tuple(link.txid for link in result.explain(*k)) for k, same in pairs.items() if same}
    refused = sorted((r.txid, r.reason) for r in result.refusals)
    return pairs, paths, refused, dict(result.skipped_coinjoins)


@settings(max_examples=80, deadline=None)
@given(raw=spends, seed=st.randoms(use_true_random=False), limit=st.integers(2, 12))
def test_clustering_is_independent_of_transaction_and_input_order(raw, seed, limit):
    txs = make_world(raw)
    shuffled = make_world(raw, reverse_inputs=True)
    seed.shuffle(shuffled)
    is_service = {SERVICE}.__contains__
    a = cluster_addresses(txs, max_cluster_size=limit, is_service=is_service)
    b = cluster_addresses(shuffled + shuffled[:2], max_cluster_size=limit, is_service=is_service)  # duplicates too
    assert view(a) == view(b)


@settings(max_examples=80, deadline=None)
@given(raw=spends, participants=st.lists(st.integers(0, len(POOL) - 1), min_size=3, max_size=6, unique=True))
def test_a_coinjoin_never_links_its_participants(raw, participants):
    txs = make_world(raw)
    mix = make_coinjoin(0, participants)
    with_mix = cluster_addresses([*txs, mix])
    without = cluster_addresses(txs)
    assert with_mix.skipped_coinjoins == {mix.txid: "generic"}
    for a in POOL:
        for b in POOL:
            assert with_mix.same_cluster(a, b) == ((a == b and a in with_mix.ids) or without.same_cluster(a, b))
    assert all(link.txid != mix.txid for links in with_mix.links.values() for link in links)


@settings(max_examples=60, deadline=None)
@given(raw=spends, limit=st.integers(2, 6))
def test_no_cluster_grows_past_the_limit_and_each_refusal_is_reported(raw, limit):
    txs = make_world(raw)
    result = cluster_addresses(txs, max_cluster_size=limit)
    assert all(len(c) <= limit for c in result.clusters())
    unrestricted = cluster_addresses(txs, max_cluster_size=10**6)
    if any(len(c) > limit for c in unrestricted.clusters()):
        assert result.refusals  # what was not merged is said
        assert all("service-sized" in r.reason and r.txid in {t.txid for t in txs} for r in result.refusals)


class MemorySource:
    """A UtxoHistoryProvider over a list of transactions (counts one request per lookup)."""

    def __init__(self, txs: list[UtxoTx]) -> None:
        self.chain = get_chain("bitcoin")
        self.spends_unknown: dict[str, str] = {}
        self.by_id = {t.txid: t for t in txs}
        self.requests = 0

    def tip(self) -> int | None:
        return None

    def tx(self, txid: str) -> UtxoTx:
        self.requests += 1
        return self.by_id[txid]

    def spender(self, txid: str, vout: int) -> str | None:
        return None

    def address_txs(self, address: str) -> list[UtxoTx]:
        self.requests += 1
        touching = [t for t in self.by_id.values() if any(i.address == address for i in t.inputs)]
        return sorted(touching, key=lambda t: (t.block or 0, t.txid))

    def address_txs_within(self, address: str, limit: int) -> list[UtxoTx] | None:
        found = self.address_txs(address)
        return found if len(found) <= limit else None


def labels(address: str) -> Label | None:
    return SERVICE_LABEL if address == SERVICE else None


@settings(max_examples=60, deadline=None)
@given(
    raw=spends,
    mixes=st.lists(st.lists(st.integers(0, len(POOL) - 1), min_size=3, max_size=5, unique=True), max_size=2),
    seed=st.randoms(use_true_random=False),
    depth=st.integers(0, 3),
)
def test_engine_decisions_do_not_depend_on_the_order_outputs_are_reached(raw, mixes, seed, depth):
    """The oracle's answer for an output is the same asked first, last, or from a fresh oracle; never via a CoinJoin."""
    mixed = [make_coinjoin(n, m) for n, m in enumerate(mixes)]
    txs = make_world(raw) + mixed
    coinjoins = {t.txid for t in mixed}
    options = UtxoOptions(cluster_depth=depth, cluster_max_size=6, cluster_reads=20)
    questions = [(i.address, t) for t in txs for i in t.inputs if i.address]
    warm = ClusterOracle(HistoryReader(MemorySource(txs)), options, labels)
    order = list(questions)
    seed.shuffle(order)
    warm_answers = {(a, t.txid): warm.decide(a, t) for a, t in order}
    for address, tx in questions:
        fresh = ClusterOracle(HistoryReader(MemorySource(txs)), options, labels).decide(address, tx)
        assert fresh == warm_answers[(address, tx.txid)]
        if fresh is not None:
            assert fresh.service_address == SERVICE and not set(fresh.txids) & coinjoins
            assert fresh.label("bitcoin").source == "heuristic:cluster"
            assert fresh.label("bitcoin").category is Category.EXCHANGE
