"""TRON end to end: a **synthetic** USDT-TRC20 laundering world (bench/tron_world.py) traced through the
TronGrid emulator on 127.0.0.1, scored against its answer. `python -m bench.bench_tron [--small]`.

Measured: transit recall (laundering addresses traced), precision (traced addresses that are part of the
answer), endpoint recall (deposit addresses and the hub where followed value stops), requests per fetched
address, and two checks: the accounting closes per asset (stolen + swapped in = endpoints + unmoved + fees +
below threshold + unexplored + swapped out) and the fake "USDT" is never tainted. A re-run over the same
store must make zero requests. Definitions of the scores: bench/scoring.py.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.scoring import Answer, Traced, requests_per_address, score_trace
from bench.tron_world import TronBenchWorld, TronWorldOptions, generate_tron_world
from chains.emulators.server import FaultPlan

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"address_recall": 0.95, "precision": 0.95, "endpoint_recall": 0.95, "requests_per_address": 4.0}
#: A small world for the fast test (tests/test_tron_world.py).
SMALL = TronWorldOptions(seed=5, splits=3, peel_hops=2, exchanges=3, customers=2, hub_users=0, hub_chains=0,
                         dusters=4, poisoners=3)  # fmt: skip
CLOSING = ("endpoints", "unmoved", "fees", "below_threshold", "unexplored", "swapped_out")


@dataclass
class TronRun:
    result: Any
    requests: int
    rerun_requests: int
    seconds: float


def trace_tron_world(gen: TronBenchWorld, work_dir: Path, *, faults: FaultPlan | None = None) -> TronRun:
    """Serve `gen` from the TronGrid emulator, trace its case from an empty store, then once more (re-run)."""
    from chains.emulators.trongrid import TronGridEmulator
    from tracer.api import trace
    from tracer.cases.plan import build_plan
    from tracer.demo.run import load_label_book
    from tracer.sources.factory import build_sources
    from tracer.store import Store

    work_dir.mkdir(parents=True, exist_ok=True)
    book = load_label_book(gen.labels)
    served = {"missed_every": gen.missed_every, "edge_duplicates": gen.edge_duplicates}
    with TronGridEmulator(gen.world, faults=faults, **served) as server:
        case = work_dir / "case.toml"
        case.write_text(gen.case_toml(server.base_url), encoding="utf-8")
        plan = build_plan(case)
        with Store.open(work_dir / "store.sqlite3") as store:
            sources = build_sources(plan, store)
            started = time.perf_counter()
            result = trace(plan, history=sources.account, labels=book, store=store)
            seconds = time.perf_counter() - started
            requests = sources.requests
            again = build_sources(plan, store)
            trace(plan, history=again.account, labels=book, store=store)
            rerun = again.requests
    return TronRun(result, requests, rerun, seconds)


def closes(sheet: dict[str, Any]) -> bool:
    out = sum(Decimal(str(sheet.get(k) or 0)) for k in CLOSING)
    return out == Decimal(str(sheet.get("stolen") or 0)) + Decimal(str(sheet.get("swapped_in") or 0))


def score_run(gen: TronBenchWorld, run: TronRun) -> dict[str, Any]:
    """Scores and checks of one trace of `gen` (addresses compared case-folded, as bench/scoring does)."""
    result = run.result
    rows = result.addresses.filter(result.addresses["chain"] == "tron")
    flows = result.flows.filter(result.flows["chain"] == "tron")
    traced = Traced.from_rows(
        addresses=zip(rows["address"].to_list(), rows["role"].to_list(), strict=True),
        flows=(
            (src, dst, 1)
            for src, dst, tainted in zip(
                flows["from"].to_list(), flows["to"].to_list(), flows["tainted_amount"].to_list(), strict=True
            )
            if Decimal(str(tainted or 0)) > 0
        ),
    )
    answer = Answer(
        sources=frozenset({gen.thief.lower()}),
        laundering=frozenset(a.lower() for a in gen.laundering),
        terminals=frozenset(a.lower() for a in gen.terminals),
    )
    score = score_trace(answer, traced)
    assets = result.summary.get("assets", {})
    fake_key = f"tron:{gen.fake_token.contract}"
    fake_flows = flows.filter(flows["asset"] == fake_key) if "asset" in flows.columns else flows.head(0)
    fake_tainted = fake_key in assets or any(Decimal(str(v or 0)) > 0 for v in fake_flows["tainted_amount"].to_list())
    counts = result.summary.get("counts", {})
    visited = int(counts.get("addresses_visited", 0))
    endpoints = {r["address"]: r for r in result.endpoints.iter_rows(named=True)}
    return {
        **score.as_dict(),
        "addresses_visited": visited,
        "requests": run.requests,
        "requests_per_address": requests_per_address(run.requests, visited),
        "rerun_requests": run.rerun_requests,
        "accounting_closes": {key: closes(sheet) for key, sheet in sorted(assets.items())},
        "fake_token_tainted": fake_tainted,
        "deposits_found": len(gen.deposits & set(endpoints)),
        "deposits_total": len(gen.deposits),
        "hub_is_endpoint": gen.hub in endpoints if gen.hub in gen.terminals else None,
        "complete": bool(result.summary.get("complete")),
        "endpoint_amounts": sorted((a, str(r["tainted_amount"])) for a, r in endpoints.items()),
        "seconds": round(run.seconds, 2),
    }


def run(options: TronWorldOptions, *, faults: FaultPlan | None = None) -> dict[str, Any]:
    gen = generate_tron_world(options)
    with tempfile.TemporaryDirectory(prefix="bench-tron-") as tmp:
        traced = trace_tron_world(gen, Path(tmp), faults=faults)
    return {"world": gen.stats, **score_run(gen, traced)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_tron", description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the small world of the fast test")
    args = parser.parse_args(argv or [])
    options = SMALL if args.small else TronWorldOptions()
    clean = run(options)
    faulty = run(options, faults=FaultPlan.mixed(0.10, seed=11))
    same = {k: clean[k] for k in ("address_recall", "precision", "endpoint_recall", "accounting_closes",
                                  "endpoint_amounts")}  # fmt: skip
    same_faulty = {k: faulty[k] for k in same}
    doc = {
        "title": "TRON: synthetic USDT-TRC20 laundering world through the TronGrid emulator",
        "targets": TARGETS,
        "clean": clean,
        "faults_10pct": {
            **{k: v for k, v in same_faulty.items() if k != "endpoint_amounts"},
            "requests": faulty["requests"],
            "identical_scores": same == same_faulty,  # scores and every endpoint's tainted amount
        },
        "meets_targets": all(
            clean[k] >= v if k != "requests_per_address" else clean[k] <= v for k, v in TARGETS.items()
        ),
    }
    print(
        f"  tron recall {clean['address_recall']:.3f} precision {clean['precision']:.3f} "
        f"endpoints {clean['endpoint_recall']:.3f} fetched {clean['addresses_visited']} req {clean['requests']} "
        f"({clean['requests_per_address']}/addr) rerun req {clean['rerun_requests']} "
        f"closes {all(clean['accounting_closes'].values())} fake tainted {clean['fake_token_tainted']} "
        f"faults identical {doc['faults_10pct']['identical_scores']} {clean['seconds']} s",
        flush=True,
    )
    if not args.small:
        clean.pop("endpoint_amounts")
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "tron.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return doc


if __name__ == "__main__":
    main(None)
