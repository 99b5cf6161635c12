"""Engine speed: taint propagation on a 1,000,000-transfer SYNTHETIC laundering world.

The world (generated here, fictional): a seed receives the loot and it spreads through a
time-ordered DAG of laundering addresses (splits, merges, peel-offs), each of which also has
clean income from unrelated funders (so haircut and FIFO have real mixing to do), pays gas,
and sends some value to labelled exchange wallets (endpoints). Every laundering address is
reached, so the whole million transfers is replayed.

Measured per policy (one core, the in-memory history so that no I/O is timed):
Times are CPU seconds of this process (``time.process_time``), so the rates are per core
even on a shared machine; wall time is reported as well.

- ``ledger_transfers_per_s``: after the trace, one pass of the ledger
  (:func:`tracer.account.ledger.trace_address`) over every expanded address's history with its final
  inflows, timed as a whole — the taint-propagation rate the issue's target (≥ 250,000/s) is about;
- ``engine_transfers_per_s``: transfers in the world / wall time of the whole engine run
  (frontier, history reads, label lookups, re-replays and result building included);
- ``peak_memory_mb``: peak RSS of the process (target ≤ 1.5 GB).

Run: ``python -m bench.bench_engine [--transfers N] [--policies haircut,fifo]``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import tracer.account.engine as engine_module
from tracer.account.engine import Engine
from tracer.account.ledger import first_inflow_index, trace_address
from tracer.account.result import build_result
from tracer.cases.plan import SeedSpec, TraceConfig, Window
from tracer.core.models import FEE_SINK, Asset, Category, Label, Policy, Strategy, Transfer, TransferKind
from tracer.core.networks import Chain
from tracer.core.protocols import HistoryChunk

RESULTS = Path(__file__).resolve().parent / "results" / "engine.json"
CHAIN = "ethereum"
ETH = Asset(CHAIN, None, "ETH", 18)
TARGET_RATE = 250_000
TARGET_MEMORY_MB = 1536


def _addr(n: int) -> str:
    return f"0x{n:040x}"


class _World:
    """A synthetic world served as a HistoryProvider (in memory, one request per call)."""

    def __init__(self, transfers: list[Transfer]) -> None:
        self.by_address: dict[str, list[Transfer]] = {}
        for tr in transfers:
            self.by_address.setdefault(tr.sender, []).append(tr)
            if tr.receiver not in (tr.sender, FEE_SINK):
                self.by_address.setdefault(tr.receiver, []).append(tr)
        self.requests = 0
        self.size = len(transfers)

    def history(
        self,
        chain: Chain,
        address: str,
        *,
        start_block: int = 0,
        end_block: int | None = None,
        max_rows: int | None = None,
    ) -> HistoryChunk:
        self.requests += 1
        rows = self.by_address.get(address, [])
        return HistoryChunk(tuple(rows), start_block, end_block or 0, True)


class _Labels:
    def __init__(self, exchanges: set[str]) -> None:
        self.exchanges = exchanges

    def label(self, chain: str, address: str) -> Label | None:
        if address in self.exchanges:
            return Label(chain, address, Category.EXCHANGE, "Synthetic Exchange", source="bench-synthetic")
        return None


def generate_world(n_transfers: int, *, seed: int = 7) -> tuple[list[Transfer], str, set[str]]:
    """A synthetic laundering DAG with clean income, fees and exchange deposits (about `n_transfers`)."""
    rng = random.Random(seed)
    per_address = 22  # about the transfers added per laundering address (see below)
    n_launder = max(n_transfers // per_address, 10)
    base = 1_000_000
    funders = [_addr(base + i) for i in range(2_000)]
    exchanges = {_addr(2 * base + i) for i in range(50)}
    exchange_list = sorted(exchanges)
    launder = [_addr(3 * base + i) for i in range(n_launder)]
    seed_address = launder[0]
    transfers: list[Transfer] = []
    tx = 0

    def add(block: int, sender: str, receiver: str, amount: int, *, with_fee: bool) -> None:
        nonlocal tx
        tx += 1
        h = f"0x{tx:064x}"
        ts = 1_600_000_000 + 12 * block
        if with_fee:
            transfers.append(
                Transfer(CHAIN, h, 0, block, tx % 200, ts, sender, FEE_SINK, ETH, 21_000 * 10**9, TransferKind.FEE)
            )
        transfers.append(
            Transfer(CHAIN, h, 1, block, tx % 200, ts, sender, receiver, ETH, amount, TransferKind.EXTERNAL)
        )

    # layer d's addresses act around block 1000 + 100·d; depth grows with the index, so parents come first
    width = max(n_launder // 40, 1)
    received = [0] * n_launder
    received[0] = 10_000 * 10**18
    add(999, _addr(4 * base), seed_address, received[0], with_fee=False)  # the theft (sender untraced)
    for i, address in enumerate(launder):
        d = i // width
        # clean income: 13 payments from funders at random times (before and after the taint arrives)
        clean = 0
        for _ in range(13):
            amount = rng.randint(1, 50) * 10**16
            clean += amount
            add(rng.randint(1, 1000 + 100 * (d + 2)), rng.choice(funders), address, amount, with_fee=False)
        # onward: up to 3 children in later layers (merges happen) and 2 exchange deposits, each paying gas;
        # together they drain what arrived before them (laundering hops are emptied)
        budget = received[i] + clean // 2
        children = sorted({min(n_launder - 1, (d + 1) * width + rng.randrange(width * 2)) for _ in range(3)})
        children = [j for j in children if j // width > d]
        legs = [launder[j] for j in children] + [rng.choice(exchange_list) for _ in range(2)]
        weights = [rng.randint(5, 10) for _ in children] + [1, 1]  # exchanges get small test deposits
        send_block = 1000 + 100 * d + 50
        for leg, (target, w) in enumerate(zip(legs, weights, strict=True)):
            amount = max(budget * w // sum(weights), 1)
            add(send_block + rng.randint(0, 40), address, target, amount, with_fee=True)
            if leg < len(children):
                received[children[leg]] += amount
    return transfers, seed_address, exchanges


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_policy(world: _World, seed_address: str, exchanges: set[str], policy: Policy) -> dict[str, Any]:
    """One full engine run, then one timed ledger pass over every expanded address's history."""
    replays = {"n": 0, "transfers": 0, "skipped": 0}
    original = engine_module.trace_address

    def counted(address: str, transfers: Sequence[Transfer], **kw: Any) -> Any:
        replays["n"] += 1
        memo = kw.get("memo")
        start = 0
        if memo is not None and kw.get("injection") is None and memo.index >= 0:
            start = memo.index if memo.index <= first_inflow_index(transfers, kw["inflows"]) else 0
        replays["transfers"] += len(transfers) - start
        replays["skipped"] += start
        return original(address, transfers, **kw)

    engine_module.trace_address = counted  # type: ignore[assignment]
    try:
        config = TraceConfig(
            "bench-synthetic",
            (SeedSpec(CHAIN, seed_address),),
            policy=policy,
            strategy=Strategy.RANKED,
            window=Window(since_block=999),
            max_hops=None,
            min_taint=Fraction(0),
            max_addresses=None,
            checkpoint_every=10**9,
        )
        world.requests = 0
        engine = Engine(config, history=world, labels=_Labels(exchanges))
        started, wall = time.process_time(), time.perf_counter()
        state = engine.run()
        engine_seconds = time.process_time() - started
        result = build_result(state)
        total_seconds = time.process_time() - started
        wall_seconds = time.perf_counter() - wall
    finally:
        engine_module.trace_address = original  # type: ignore[assignment]
    # the propagation rate: replay every expanded address once over its final inflows
    jobs = [
        (node[1], engine._histories[node], state.inflows.get(node, {}), engine._injections.get(node))
        for node in state.expanded_order
        if node in engine._histories
    ]
    ledger_transfers = sum(len(j[1]) for j in jobs)
    started = time.process_time()
    for address, history, inflows, injection in jobs:
        trace_address(address, history, policy=policy, inflows=inflows, window=config.window, injection=injection)
    ledger_seconds = time.process_time() - started
    row = result.accounting["ethereum:native"]
    closes = row["stolen"] + row["swapped_in"] == sum(v for k, v in row.items() if k not in ("stolen", "swapped_in"))
    return {
        "policy": str(policy),
        "world_transfers": world.size,
        "addresses_expanded": len(state.expanded_order),
        "ledger_pass_transfers": ledger_transfers,
        "ledger_pass_seconds": round(ledger_seconds, 3),
        "ledger_transfers_per_s": int(ledger_transfers / ledger_seconds) if ledger_seconds else 0,
        "engine_replays": replays["n"],
        "engine_replayed_transfers": replays["transfers"],
        "engine_clean_prefix_skipped_transfers": replays["skipped"],
        "engine_seconds": round(engine_seconds, 3),
        "engine_transfers_per_s": int(world.size / engine_seconds),
        "with_result_seconds": round(total_seconds, 3),
        "wall_seconds": round(wall_seconds, 3),
        "accounting_closes": closes,
        "endpoints_share": str(round(Fraction(row["endpoints"], row["stolen"]), 6)),
    }


def compare_strategies(n_transfers: int = 100_000, budget: int = 300) -> list[dict[str, Any]]:
    """Which frontier strategy explains most of the loot within a tight budget (haircut, smaller world)."""
    transfers, seed_address, exchanges = generate_world(n_transfers, seed=11)
    world = _World(transfers)
    rows = []
    for strategy in Strategy:
        config = TraceConfig(
            "bench-synthetic",
            (SeedSpec(CHAIN, seed_address),),
            policy=Policy.HAIRCUT,
            strategy=strategy,
            window=Window(since_block=999),
            max_hops=None,
            min_taint=Fraction(1, 10**6),
            max_addresses=budget,
            checkpoint_every=10**9,
        )
        result = build_result(Engine(config, history=world, labels=_Labels(exchanges)).run())
        row = result.accounting["ethereum:native"]
        rows.append(
            {
                "strategy": str(strategy),
                "budget": budget,
                "endpoints_share": round(row["endpoints"] / row["stolen"], 4),
                "unexplored_share": round(row["unexplored"] / row["stolen"], 4),
                "endpoints_reached": result.summary["counts"]["endpoints"],
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_engine", description="engine speed benchmark")
    parser.add_argument("--transfers", type=int, default=1_000_000, help="world size (default 1,000,000)")
    parser.add_argument("--policies", default="haircut,fifo", help="comma-separated policies")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(list(argv) if argv is not None else None)
    started = time.perf_counter()
    transfers, seed_address, exchanges = generate_world(args.transfers)
    world = _World(transfers)
    del transfers
    gen_seconds = time.perf_counter() - started
    runs = [bench_policy(world, seed_address, exchanges, Policy(p)) for p in args.policies.split(",")]
    peak = _peak_mb()
    strategies = compare_strategies()
    doc = {
        "topic": "engine",
        "synthetic": True,
        "world": {"transfers": world.size, "generate_seconds": round(gen_seconds, 2)},
        "targets": {"ledger_transfers_per_s": TARGET_RATE, "peak_memory_mb": TARGET_MEMORY_MB},
        "runs": runs,
        "peak_memory_mb": round(peak, 1),
        "strategies": strategies,
        "meets_targets": all(r["ledger_transfers_per_s"] >= TARGET_RATE for r in runs) and peak <= TARGET_MEMORY_MB,
    }
    print(f"synthetic world: {world.size:,} transfers (generated in {gen_seconds:.1f} s)")
    print(f"{'policy':8} {'expanded':>9} {'replays':>8} {'ledger tr/s':>12} {'engine tr/s':>12} {'closes':>7}")
    for r in runs:
        print(
            f"{r['policy']:8} {r['addresses_expanded']:>9,} {r['engine_replays']:>8,} "
            f"{r['ledger_transfers_per_s']:>12,} {r['engine_transfers_per_s']:>12,} {r['accounting_closes']!s:>7}"
        )
    print(f"peak memory {peak:,.0f} MB (target ≤ {TARGET_MEMORY_MB} MB)")
    print("strategies (haircut, 100k-transfer world, budget 300 addresses): share of the loot at endpoints")
    for r in strategies:
        print(f"  {r['strategy']:8} endpoints {r['endpoints_share']:.4f}  unexplored {r['unexplored_share']:.4f}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=2) + "\n")
    return doc


if __name__ == "__main__":
    main()
