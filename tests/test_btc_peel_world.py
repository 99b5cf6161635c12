"""The SYNTHETIC peel-chain world generator of bench/btc_peel_world.py and its scorer, on a small world."""

from __future__ import annotations

from bench.bench_btc_cluster import score, trace_world
from bench.btc_peel_world import PeelKnobs, build_world
from tracer.cases.utxo_options import UtxoOptions
from tracer.core.models import Policy

SMALL = PeelKnobs(seed=5, chains=3, hops=6, coinjoins=2, custodians=1, batch_inputs=600, customers_per_block=1)


def test_world_is_consistent_and_labelled_synthetic():
    world = build_world(SMALL)
    assert build_world(SMALL).txs == world.txs  # deterministic for a seed
    for tx in world.txs:
        assert sum(i.value for i in tx.inputs) == sum(o.value for o in tx.outputs) + tx.fee and tx.fee >= 0
    spent = [(i.prev_txid, i.prev_vout) for t in world.txs for i in t.inputs]
    assert len(spent) == len(set(spent))  # no coin is spent twice
    assert all("(synthetic)" in lb.name for lb in world.labels.labels.values())
    t = world.truth
    assert t.deposits and t.presweeps <= set(t.deposits) and len(t.coinjoin_entries) == 2 and len(t.custodians) == 1


def test_small_world_scores_and_clustering_matters():
    world = build_world(SMALL)
    on, _ = trace_world(world, Policy.HAIRCUT, UtxoOptions())
    off, _ = trace_world(world, Policy.HAIRCUT, UtxoOptions(clustering=False))
    got, base = score(world, on), score(world, off)
    assert got["closes"] and base["closes"]
    assert got["recall"] == 1.0 and got["precision"] == 1.0 and base["found"] == 0
    assert got["coinjoins_stopped"] == 2 and got["refused_merges_reported"] == 1
