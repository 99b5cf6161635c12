"""Clustering-aware Bitcoin tracing on SYNTHETIC peel-chain worlds (:mod:`bench.btc_peel_world`).

Each world is served by the Esplora emulator (real HTTP on 127.0.0.1) and traced through the
real adapter, the store and the UTXO engine, seeded by the theft transaction. Measured per world
and policy:

- **deposit recall**: the thief's exchange deposits reported as endpoints of the right exchange
  (category and label of its hot wallet) / all of them;
- **precision**: of the endpoints reported as exchanges, those that are truly deposits of that
  exchange or its labelled hot wallet reached directly (merchant payments, CoinJoin entries with
  a hot wallet among the participants and a custodian's service-sized batch holding a hot wallet
  coin must not be);
- **closes**: stolen = endpoints + unmoved + fees + below threshold + unexplored, exactly;
- **CoinJoins stopped**, **refused merges reported** (the custodians' batches);
- **requests**: the trace's total, the extra requests of clustering (address histories read) per
  endpoint it found, and the total of the same trace with clustering off.

`python -m bench.bench_btc_cluster` prints a table and writes bench/results/btc_cluster.json.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from bench.btc_peel_world import PeelKnobs, PeelWorld, build_world
from chains.emulators.esplora import EsploraEmulator
from chains.esplora import EsploraAdapter
from chains.http import RetryPolicy
from tracer.bundle.result import TraceResult
from tracer.cases.plan import SeedSpec, TraceConfig
from tracer.cases.utxo_options import UtxoOptions
from tracer.core.models import Policy
from tracer.sources.utxo_history import UtxoHistoryService
from tracer.store import Store
from tracer.utxo.run import trace_utxo

RESULTS = Path(__file__).resolve().parent / "results"
FAST = RetryPolicy(attempts=4, backoff_base=0.0, backoff_max=0.0, jitter=False, timeout=10.0)
WORLDS = (
    PeelKnobs(seed=1),
    PeelKnobs(seed=2, exchanges=4, chains=12, hops=12),
    PeelKnobs(seed=3, chains=8, hops=16, presweep_share=0.3),
    # harder: big payments (the peel shape often fails), big consolidations to an unlabelled cold wallet,
    # every deposit address of the thief's own script type (the address-type rule tells nothing)
    PeelKnobs(
        seed=4,
        pay_permille=(50, 300),
        consolidate_every=10,
        sweep_to_hot=False,
        deposit_kinds=("p2wpkh",),
        customers_per_block=6,
    ),
)
POLICIES = (Policy.HAIRCUT, Policy.FIFO, Policy.TIHO)
EXCHANGE_CATEGORIES = {"exchange", "exchange-deposit"}
BUCKETS_OUT = ("endpoints", "unmoved", "fees", "below_threshold", "unexplored")


def _sats(text: str) -> int:
    return int(Decimal(text) * 10**8)


def trace_world(world: PeelWorld, policy: Policy, options: UtxoOptions) -> tuple[TraceResult, float]:
    """Serve `world` over HTTP, trace it from the theft transaction into a fresh store."""
    config = TraceConfig(
        f"synthetic-peel-world-{world.knobs.seed}",
        (SeedSpec("bitcoin", tx=world.truth.theft_txid),),
        policy=policy,
        min_taint=Fraction(1, 10_000),
        utxo=options,
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        EsploraEmulator(world.txs) as server,
        Store.open(Path(tmp) / "s.sqlite3") as store,
    ):
        source = UtxoHistoryService(EsploraAdapter(url=server.base_url + "/api", retry=FAST), store)
        started = time.perf_counter()
        result = trace_utxo(config, source, labels=world.labels)
        return result, time.perf_counter() - started


def score(world: PeelWorld, result: TraceResult) -> dict[str, Any]:
    """The world's answer key against the trace's endpoints and balance sheet."""
    truth = world.truth
    rows = {r["address"]: r for r in result.endpoints.iter_rows(named=True)}
    found = [a for a, name in truth.deposits.items() if a in rows and rows[a]["label"] == name]
    exchange_claims = [a for a, r in rows.items() if r["category"] in EXCHANGE_CATEGORIES]
    # right: a thief deposit given its exchange, or a labelled hot wallet reached directly (the label is the truth)
    right = [a for a in exchange_claims if rows[a]["label"] in (truth.deposits.get(a), truth.hot_wallets.get(a))]
    s = result.summary
    sheet = {b: _sats(v) for b, v in s["assets"]["bitcoin:native"].items() if b != "symbol"}
    refused = {r["tx_hash"] for r in s["clustering"]["refused_merges"]}
    by_cluster = sum(1 for r in rows.values() if r["label_source"] == "heuristic:cluster")
    extra = s["counts"]["cluster_requests"]
    return {
        "deposits": len(truth.deposits),
        "found": len(found),
        "recall": round(len(found) / len(truth.deposits), 4),
        "presweep_found": sum(1 for a in found if a in truth.presweeps),
        "presweeps": len(truth.presweeps),
        "exchange_endpoints": len(exchange_claims),
        "precision": round(len(right) / len(exchange_claims), 4) if exchange_claims else None,
        "closes": sheet["stolen"] == sum(sheet[b] for b in BUCKETS_OUT),
        "coinjoins_stopped": sum(1 for a in truth.coinjoin_entries if rows.get(a, {}).get("category") == "mixer"),
        "coinjoins": len(truth.coinjoin_entries),
        "custodians_not_exchange": sum(1 for a in truth.custodians if a not in exchange_claims),
        "refused_merges_reported": len(refused),
        "merchants_not_exchange": sum(1 for a in truth.merchants if a not in exchange_claims),
        "cluster_endpoints": by_cluster,
        "requests": s["counts"]["requests"],
        "cluster_requests": extra,
        "extra_requests_per_endpoint": round(extra / by_cluster, 3) if by_cluster else None,
        "peel_chains": len(s["peel_chains"]),
    }


def main() -> dict[str, Any]:
    rows = []
    for knobs in WORLDS:
        world = build_world(knobs)
        off, _ = trace_world(world, Policy.HAIRCUT, UtxoOptions(clustering=False))
        baseline = score(world, off)
        for policy in POLICIES:
            result, seconds = trace_world(world, policy, UtxoOptions())
            row = {"world": knobs.seed, "policy": str(policy), **score(world, result), "seconds": round(seconds, 2)}
            row["requests_clustering_off"] = baseline["requests"]
            rows.append(row)
        depth0, _ = trace_world(world, Policy.HAIRCUT, replace(UtxoOptions(), cluster_depth=0))
        rows.append({"world": knobs.seed, "policy": "haircut, cluster_depth 0", **score(world, depth0)})
        rows.append({"world": knobs.seed, "policy": "haircut, clustering off", **baseline})
    cols = ("world", "policy", "found", "deposits", "recall", "precision", "closes", "coinjoins_stopped")
    cols += ("refused_merges_reported", "requests", "cluster_requests", "extra_requests_per_endpoint")
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r.get(c)) for c in cols))
    main_rows = [r for r in rows if r["policy"] in {str(p) for p in POLICIES}]
    doc = {
        "note": (
            "SYNTHETIC peel-chain worlds (bench/btc_peel_world.py) served by the Esplora emulator over real HTTP; "
            "recall = thief deposits found as endpoints of the right exchange, precision = right exchange "
            "endpoints / all exchange endpoints; extra requests = address histories read for clustering"
        ),
        "min_recall": min(r["recall"] for r in main_rows),
        "min_precision": min(r["precision"] for r in main_rows if r["precision"] is not None),
        "all_close": all(r["closes"] for r in rows),
        "runs": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "btc_cluster.json").write_text(json.dumps(doc, indent=2) + "\n")
    return doc


if __name__ == "__main__":
    main()
