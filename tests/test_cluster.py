"""Multi-input clustering: CoinJoins skipped, explanations, service-size refusals, order independence. SYNTHETIC."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chains.emulators.esplora import synthetic_address as addr
from chains.emulators.esplora import synthetic_tx, synthetic_txid
from heuristics.cluster import UnionFind, cluster_addresses


def spend(name, owners, block=800_000):
    ins = [(synthetic_txid(f"{name}-{n}"), 0, addr(o), 1_000_000) for n, o in enumerate(owners)]
    return synthetic_tx(name, ins, [(addr(f"{name}-pay"), 900_000 * len(owners))], block=block)


def test_multi_input_joins_and_explains():
    txs = [spend("t1", ["a", "b"]), spend("t2", ["b", "c"]), spend("t3", ["d"])]
    result = cluster_addresses(txs)
    assert result.cluster_of(addr("a")) == {addr("a"), addr("b"), addr("c")}
    assert not result.same_cluster(addr("a"), addr("d"))
    path = result.explain(addr("a"), addr("c"))
    assert [link.txid for link in path] == [txs[0].txid, txs[1].txid]
    assert all(link.heuristic == "multi-input" for link in path)
    text = result.explain_text(addr("a"), addr("c"))
    assert txs[0].txid in text and "multi-input" in text
    assert "not in one cluster" in result.explain_text(addr("a"), addr("d"))


def test_coinjoin_inputs_are_not_clustered():
    mix_ins = [(synthetic_txid(f"wp-{n}"), 0, addr(f"mixer-{n}"), 1_050_000) for n in range(5)]
    mix = synthetic_tx("wp", mix_ins, [(addr(f"post-{n}"), 1_000_000) for n in range(5)])
    result = cluster_addresses([mix])
    assert result.skipped_coinjoins == {mix.txid: "whirlpool"}
    assert len(result.clusters()) == 5
    assert len(cluster_addresses([mix], skip_coinjoins=False).clusters()) == 1


def test_refuses_service_sized_merge_and_says_so():
    txs = [spend(f"ex-{n}", ["hot", f"dep-{n}"], block=800_000 + n) for n in range(10)]
    txs.append(spend("user", ["dep-3", "me"], block=800_100))
    result = cluster_addresses(txs, max_cluster_size=8)
    assert len(result.cluster_of(addr("hot"))) == 8
    assert result.refusals and "service-sized" in result.refusals[0].reason
    assert all(r.txid for r in result.refusals)


def test_refuses_joining_two_labelled_services():
    txs = [spend("s1", ["exA", "a1"]), spend("s2", ["exB", "b1"]), spend("bridge", ["a1", "b1"], block=800_001)]
    services = {addr("exA"), addr("exB")}
    result = cluster_addresses(txs, is_service=services.__contains__)
    assert not result.same_cluster(addr("exA"), addr("exB"))
    assert "labelled services" in result.refusals[0].reason


def test_union_find_arrays():
    from array import array

    uf = UnionFind(6)
    uf.union_links(array("q", [0, 2, 4]), array("q", [1, 3, 5]))
    uf.union(1, 3)
    assert uf.find(0) == uf.find(2) and uf.find(4) != uf.find(0)
    assert uf.size[uf.find(0)] == 4


owners = st.lists(st.integers(0, 25), min_size=1, max_size=4)
tx_specs = st.lists(st.tuples(owners, st.integers(0, 5)), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(tx_specs, st.randoms(use_true_random=False), st.sampled_from([3, 6, 1000]))
def test_clustering_is_order_independent(specs, rnd, cap):
    txs = [spend(f"p{n}", [f"o{o}" for o in os], block=800_000 + b) for n, (os, b) in enumerate(specs)]
    shuffled = list(txs)
    rnd.shuffle(shuffled)
    a, b = cluster_addresses(txs, max_cluster_size=cap), cluster_addresses(shuffled, max_cluster_size=cap)
    assert a.clusters() == b.clusters()
    assert [r.txid for r in a.refusals] == [r.txid for r in b.refusals]


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 60).flatmap(
        lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=120))
    )
)
def test_bulk_components_equal_union_find(case):
    from array import array

    from heuristics.cluster import cluster_links_bulk

    n, links = case
    uf = UnionFind(n)
    uf.union_links(array("q", [a for a, _ in links]), array("q", [b for _, b in links]))
    labels = cluster_links_bulk([a for a, _ in links], [b for _, b in links], n).to_list()
    groups: dict[int, set[int]] = {}
    for node in range(n):
        groups.setdefault(uf.find(node), set()).add(node)
    for members in groups.values():
        assert {labels[m] for m in members} == {min(members)}
