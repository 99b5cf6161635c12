"""UTXO benchmarks: address clustering at chain scale and taint propagation speed.

All data is **synthetic** (generated here from fixed seeds):

- clustering: 10,000,000 input links over 2**24 address ids, clustered by the vectorised
  union-find :func:`heuristics.cluster.cluster_links_bulk` in a fresh child process (time and
  peak memory of that process, link generation included); the per-link Python
  :class:`~heuristics.cluster.UnionFind` (the explainable path) is timed on 1,000,000 links;
- taint kernel: :func:`tracer.utxo.ledger.propagate` over 200,000 two-in/two-out transactions
  per policy;
- taint replay: :func:`tracer.utxo.ledger.propagate_many` through a 20,000-transaction splitting
  tree (clean inputs mixed in) already in memory, in chain order;
- engine: :class:`tracer.utxo.engine.UtxoEngine` end to end over an in-memory source (no
  HTTP) on the same tree (source lookups, spender queue, bookkeeping for the bundle).

Single-threaded Python parts are timed in CPU time of this process (`time.process_time`), so
other load on the machine does not distort them; the bulk clustering (polars, multi-threaded) is
timed in wall-clock seconds. `python -m bench.bench_utxo` prints a table and writes
bench/results/utxo.json.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import resource
import time
from array import array
from fractions import Fraction
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
LINKS = 10_000_000
NODES = 1 << 24
SMALL_LINKS = 1_000_000
KERNEL_TXS = 200_000
ENGINE_TXS = 20_000
REPLAYS = 5


def _links(n: int, seed: int) -> tuple[array, array]:
    """n random links between ids < 2**24 (uint32 with the top byte cleared)."""
    rng = random.Random(seed)
    out = []
    for _ in range(2):
        raw = bytearray(rng.randbytes(4 * n))
        raw[3::4] = bytes(n)
        side = array("I")
        side.frombytes(bytes(raw))
        out.append(side)
    return out[0], out[1]


def _bulk_child(queue: Any) -> None:
    from heuristics.cluster import cluster_links_bulk

    left, right = _links(LINKS, seed=7)
    start = time.perf_counter()
    labels = cluster_links_bulk(left, right, NODES)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"seconds": round(seconds, 2), "peak_mb": round(peak_mb), "clusters": labels.n_unique()})


def bench_bulk_clustering() -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_bulk_child, args=(queue,))
    child.start()
    result = queue.get(timeout=600)
    child.join()
    return {"links": LINKS, "nodes": NODES, **result}


def bench_python_union_find() -> dict[str, Any]:
    from heuristics.cluster import UnionFind

    left, right = _links(SMALL_LINKS, seed=8)
    uf = UnionFind(NODES)
    start = time.process_time()
    uf.union_links(left, right)
    seconds = time.process_time() - start
    return {"links": SMALL_LINKS, "seconds": round(seconds, 2), "links_per_s": round(SMALL_LINKS / seconds)}


def bench_kernel() -> dict[str, Any]:
    from tracer.core.models import Policy
    from tracer.utxo.ledger import propagate

    rng = random.Random(3)
    txs = []
    for _ in range(KERNEL_TXS):
        a, b = rng.randrange(10**6, 10**9), rng.randrange(10**6, 10**9)
        t = rng.randrange(0, a)
        fee = rng.randrange(200, 5_000)
        pay = rng.randrange(1, a + b - fee)
        txs.append((((a, t),), ((b, 0),), pay, a + b - fee - pay, fee))
    rates = {}
    for policy in Policy:
        start = time.process_time()
        for x, y, p, c, fee in txs:
            propagate(policy, (x, y), (p, c), fee)
        rates[str(policy)] = round(KERNEL_TXS / (time.process_time() - start))
    return {"transactions": KERNEL_TXS, "tx_per_s": rates}


class _MemoryAdapter:
    """An in-memory UtxoAdapter (benchmark only)."""

    source = "memory"

    def __init__(self, txs: dict[str, Any]) -> None:
        self.txs = txs
        self.requests = 0

    def fetch_tip(self, chain: Any) -> int:
        return max(t.block for t in self.txs.values())

    def fetch_tx(self, chain: Any, txid: str) -> Any:
        self.requests += 1
        return self.txs[txid]

    def fetch_outspends(self, chain: Any, txid: str) -> list[str | None]:
        self.requests += 1
        return [o.spent_by for o in self.txs[txid].outputs]

    def fetch_address_txs(self, chain: Any, address: str, *, max_txs: int | None = None) -> list[Any]:
        raise NotImplementedError


def _splitting_tree(n: int) -> tuple[dict[str, Any], str]:
    """A theft tx, then n txs: each spends one tainted coin plus one clean coin into two outputs."""
    from chains.emulators.esplora import synthetic_address, synthetic_tx, synthetic_txid
    from tracer.core.models import TxOutput, UtxoTx

    rng = random.Random(5)
    theft = synthetic_tx(
        "theft",
        [(synthetic_txid("victim"), 0, synthetic_address("victim"), 10**12)],
        [(synthetic_address("thief"), 10**12)],
        block=800_000,
    )
    txs = {theft.txid: theft}
    coins = [(theft.txid, 0, synthetic_address("thief"), 10**12, 800_000)]
    spent_by: dict[tuple[str, int], str] = {}
    for k in range(n):
        prev, vout, holder, value, block = coins[k]
        clean = rng.randrange(10**5, 10**7)
        total = value + clean - 1_000
        pay = rng.randrange(1, total)
        tx = synthetic_tx(
            f"t{k}",
            [(prev, vout, holder, value), (synthetic_txid(f"c{k}"), 0, synthetic_address(f"c{k}"), clean)],
            [(synthetic_address(f"a{k}"), pay), (synthetic_address(f"b{k}"), total - pay)],
            block=block + 1,
        )
        txs[tx.txid] = tx
        spent_by[(prev, vout)] = tx.txid
        coins += [
            (tx.txid, 0, synthetic_address(f"a{k}"), pay, block + 1),
            (tx.txid, 1, synthetic_address(f"b{k}"), total - pay, block + 1),
        ]
    for txid, tx in list(txs.items()):
        outs = tuple(
            TxOutput(o.index, o.address, o.value, o.script_type, spent_by.get((txid, o.index))) for o in tx.outputs
        )
        txs[txid] = UtxoTx(tx.chain, tx.txid, tx.block, tx.timestamp, tx.inputs, outs, tx.fee, tx.locktime, tx.version)
    return txs, theft.txid


def bench_engine() -> dict[str, Any]:
    from tracer.cases.plan import SeedSpec, TraceConfig
    from tracer.core.models import Policy
    from tracer.sources.utxo_history import UtxoHistoryService as UtxoSource
    from tracer.utxo.engine import UtxoEngine

    txs, theft = _splitting_tree(ENGINE_TXS)
    rates = {}
    for policy in (Policy.HAIRCUT, Policy.FIFO, Policy.TIHO):
        config = TraceConfig(
            "bench",
            (SeedSpec("bitcoin", tx=theft),),
            policy=policy,
            min_taint=Fraction(0),
            max_hops=None,
            max_addresses=None,
        )
        engine = UtxoEngine(config, UtxoSource(_MemoryAdapter(txs), None), coinjoin=lambda tx: None)
        start = time.process_time()
        state = engine.run()
        seconds = time.process_time() - start
        assert state.buckets["stolen"] == sum(
            state.buckets[b] for b in ("unmoved", "fees", "endpoints", "unexplored", "below_threshold")
        )
        rates[str(policy)] = round(state.expanded / seconds)
    return {"transactions": ENGINE_TXS, "tx_per_s": rates}


def bench_replay() -> dict[str, Any]:
    from tracer.core.models import Policy
    from tracer.utxo.ledger import propagate_many, taint_of

    txs, theft = _splitting_tree(ENGINE_TXS)
    ordered = sorted((t for t in txs.values() if t.txid != theft), key=lambda t: (t.block, t.txid))
    start_lots = {(theft, 0): ((10**12, 10**12),)}
    rates = {}
    for policy in Policy:
        start = time.process_time()
        for _ in range(REPLAYS):
            live, fees = propagate_many(policy, ordered, start_lots)
        rates[str(policy)] = round(REPLAYS * len(ordered) / (time.process_time() - start))
        if policy is not Policy.POISON:
            assert sum(taint_of(lots) for lots in live.values()) + fees == 10**12
    return {"transactions": len(ordered), "repeats": REPLAYS, "tx_per_s": rates}


def main() -> dict[str, Any]:
    result = {
        "timing": "bulk_clustering: wall-clock seconds; the rest: CPU time of this process",
        "bulk_clustering": bench_bulk_clustering(),
        "python_union_find": bench_python_union_find(),
        "taint_kernel": bench_kernel(),
        "taint_replay": bench_replay(),
        "engine": bench_engine(),
    }
    bulk, small = result["bulk_clustering"], result["python_union_find"]
    print(f"{'benchmark':<34} {'size':>12} {'result':>30}")
    print(
        f"{'bulk clustering (polars)':<34} {bulk['links']:>12,} {bulk['seconds']:>12} s, {bulk['peak_mb']:>6} MB peak"
    )
    print(f"{'python union-find':<34} {small['links']:>12,} {small['links_per_s']:>20,} links/s")
    for policy, rate in result["taint_kernel"]["tx_per_s"].items():
        print(f"{'taint kernel ' + policy:<34} {KERNEL_TXS:>12,} {rate:>22,} tx/s")
    for policy, rate in result["taint_replay"]["tx_per_s"].items():
        print(f"{'taint replay ' + policy:<34} {ENGINE_TXS:>12,} {rate:>22,} tx/s")
    for policy, rate in result["engine"]["tx_per_s"].items():
        print(f"{'engine (in-memory) ' + policy:<34} {ENGINE_TXS:>12,} {rate:>22,} tx/s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "utxo.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
