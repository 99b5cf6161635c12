"""Local-store speed on SYNTHETIC transfers: bulk insert rate and per-address lookups at 10 M stored transfers.

The data is generated here and is fictional: addresses active over windows of a 20 M-block
chain, each paying gas and value to random counterparties, one transaction in five also moving
a token. Histories are written the way the history service writes them — one
:meth:`Store.write_history` (one transaction) per address chunk, transfers sorted by block.
Each transfer becomes one row of the store's ``history`` table (one per transfer and traced
address; the synthetic owners never pay each other, so stored rows = transfers).

Measured (generation of the records is never timed, only the store calls):

- ``bulk_insert_transfers_per_s``: 1 M transfers into an empty store in 10,000-transfer chunks
  (a large address history per call), the median of 3 fresh stores (``bulk_insert`` also has
  each rate and the best) — the issue's target is >= 200,000/s. Also given per CPU-second of
  the process (``cpu_rate``), which other jobs on a shared machine do not distort (I/O wait is
  excluded there, so read it next to the wall-clock rate);
- ``small_histories``: 500,000 transfers as realistic small histories, one transaction per
  history (what the history service does) and grouped ~100,000 transfers per :meth:`Store.batch`;
- ``fill``: the whole fill to `--transfers` (default 10 M) with realistic,
  heavy-tailed per-address chunk sizes (median ~120 transfers);
- at 10 M stored transfers, over 500 random stored addresses: ``covered_lookup_ms`` (the
  `missing_ranges` check that gates every fetch), ``read_history_ms`` (the address's whole
  stored history rebuilt as Transfer records) — target <= 5 ms — and the insert rate of
  another 200,000 transfers into the full store.

Run: ``python -m bench.bench_store [--transfers N] [--store PATH]`` (``--store`` keeps the
filled store for a later run, which then skips the fill).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tracer.core.models import FEE_SINK, Asset, Transfer, TransferKind
from tracer.core.protocols import HistoryChunk
from tracer.store import Store

RESULTS = Path(__file__).resolve().parent / "results" / "store.json"
SOURCE = "synthetic"
CHAIN = "ethereum"
CHAIN_BLOCKS = 20_000_000
ETH = Asset(CHAIN, None, "ETH", 18)
TOKENS = (
    Asset(CHAIN, "0xdac17f958d2ee523a2206206994597c13d831ec7", "USDT", 6),
    Asset(CHAIN, "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "USDC", 6),
    Asset(CHAIN, "0x6b175474e89094c44da98b954eedeac495271d0f", "DAI", 18),
)
TARGET_INSERT_PER_S = 200_000
TARGET_LOOKUP_MS = 5.0


def _address(n: int) -> str:
    return f"0x{(n * 0x9E3779B97F4A7C15) % (1 << 160):040x}"


def synthetic_history(rng: random.Random, owner: int, transfers: int, counterparties: int) -> HistoryChunk:
    """About `transfers` synthetic transfers of address `owner`, sorted by block, inside its activity window."""
    address = _address(owner)
    start = rng.randrange(CHAIN_BLOCKS - 200_000)
    width = rng.randrange(1_000, 200_000)
    txs = max(1, transfers // 2)
    blocks = sorted(rng.randrange(start, start + width) for _ in range(txs))
    out: list[Transfer] = []
    for i, block in enumerate(blocks):
        tx_hash = f"0x{owner:024x}{i:040x}"
        tx_index = rng.randrange(300)
        ts = 1_438_269_988 + block * 12
        peer = _address(1_000_000_000 + rng.randrange(counterparties))
        outgoing = rng.random() < 0.6
        sender, receiver = (address, peer) if outgoing else (peer, address)
        fee = 21_000 * 30 * 10**9
        out.append(Transfer(CHAIN, tx_hash, 0, block, tx_index, ts, sender, FEE_SINK, ETH, fee, TransferKind.FEE))
        if i % 5 == 4:
            token, position, kind = TOKENS[i % len(TOKENS)], 1_000_000 + i % 7, TransferKind.TOKEN
            amount = rng.randrange(1, 10**12)
        else:
            token, position, kind = ETH, 1, TransferKind.EXTERNAL
            amount = rng.randrange(1, 10**21)
        out.append(Transfer(CHAIN, tx_hash, position, block, tx_index, ts, sender, receiver, token, amount, kind))
    return HistoryChunk(tuple(out), start, start + width)


def _chunk_sizes(rng: random.Random, total: int) -> Iterator[int]:
    """Heavy-tailed per-address history sizes (Pareto, median ~120 transfers, capped at 20,000)."""
    left = total
    while left > 0:
        size = min(20_000, 2 * int(rng.paretovariate(1.5) * 40), left)
        size = max(size, 2)
        left -= size
        yield size


_CPU_SECONDS = [0.0]  # CPU time of this process spent inside the timed store calls


def _write_all(store: Store, chunks: Iterator[tuple[int, HistoryChunk]]) -> tuple[int, float, list[int]]:
    """Write every chunk; (transfers, wall seconds inside write_history, owners). CPU time: _CPU_SECONDS."""
    written, seconds, owners = 0, 0.0, []
    for owner, chunk in chunks:
        t0, c0 = time.perf_counter(), time.process_time()
        store.write_history(SOURCE, CHAIN, _address(owner), chunk)
        seconds += time.perf_counter() - t0
        _CPU_SECONDS[0] += time.process_time() - c0
        written += len(chunk.transfers)
        owners.append(owner)
    return written, seconds, owners


def measure_bulk_insert(
    workdir: Path, *, transfers: int = 1_000_000, chunk: int = 10_000, repeats: int = 3
) -> dict[str, Any]:
    """`repeats` fresh stores; the median and best rates are reported (the machine may be shared)."""
    rates, cpu_rates = [], []
    for attempt in range(repeats):
        rng = random.Random(1)
        with Store.open(workdir / f"bulk-{attempt}.sqlite3") as store:
            chunks = ((n, synthetic_history(rng, n, chunk, 50_000)) for n in range(transfers // chunk))
            _CPU_SECONDS[0] = 0.0
            written, seconds, _ = _write_all(store, chunks)
        rates.append(written / seconds)
        cpu_rates.append(written / _CPU_SECONDS[0])
        for leftover in workdir.glob(f"bulk-{attempt}.sqlite3*"):
            leftover.unlink()
    return {
        "transfers": written,
        "chunk_transfers": chunk,
        "rates": [round(r) for r in rates],
        "rate": statistics.median(rates),
        "best_rate": max(rates),
        # per CPU-second of this process: what the code costs, independent of other load on a shared machine
        "cpu_rate": statistics.median(cpu_rates),
    }


def measure_small_chunks(workdir: Path, *, transfers: int = 500_000, group: int = 100_000) -> dict[str, Any]:
    """Realistic small histories (median ~120 transfers), one transaction each vs grouped with Store.batch()."""
    out: dict[str, Any] = {}
    for mode in ("per_history", "batched"):
        rng = random.Random(3)
        chunks = [
            (n, synthetic_history(rng, n, size, 2_000_000)) for n, size in enumerate(_chunk_sizes(rng, transfers))
        ]
        with Store.open(workdir / f"small-{mode}.sqlite3") as store:
            t0 = time.perf_counter()
            if mode == "batched":
                for i in range(0, len(chunks), max(1, group // 240)):
                    with store.batch():
                        for owner, chunk in chunks[i : i + max(1, group // 240)]:
                            store.write_history(SOURCE, CHAIN, _address(owner), chunk)
            else:
                for owner, chunk in chunks:
                    store.write_history(SOURCE, CHAIN, _address(owner), chunk)
            seconds = time.perf_counter() - t0
        written = sum(len(c.transfers) for _, c in chunks)
        out[mode] = {"transfers": written, "histories": len(chunks), "rate": written / seconds}
    return out


def fill_store(path: Path, total: int) -> dict[str, Any]:
    rng = random.Random(10)
    started = time.perf_counter()
    with Store.open(path) as store:
        sizes = list(_chunk_sizes(rng, total))
        chunks = ((n, synthetic_history(rng, n, size, 2_000_000)) for n, size in enumerate(sizes))
        written, seconds, owners = _write_all(store, chunks)
        stats = {
            "transfers": written,
            "addresses": len(owners),
            "median_chunk": statistics.median(sizes),
            "insert_seconds": round(seconds, 1),
            "wall_seconds": round(time.perf_counter() - started, 1),
            "rate": written / seconds,
        }
        store.write_meta("bench:owners", str(len(owners)))
        store.write_meta("bench:fill", json.dumps(stats))  # a later run that reuses the store reports it
    return stats


def measure_lookups(path: Path, *, samples: int = 500) -> dict[str, Any]:
    rng = random.Random(99)
    with Store.open(path) as store:
        owners = int(store.read_meta("bench:owners") or 0)
        stored = store.info(limit=0).counts["transfers"]
        picks = [rng.randrange(owners) for _ in range(samples)]
        covered_ms, read_ms, sizes = [], [], []
        for owner in picks:
            address = _address(owner)
            t0 = time.perf_counter()
            ranges = store.covered_ranges(SOURCE, CHAIN, address)
            store.missing_ranges(SOURCE, CHAIN, address, 0, CHAIN_BLOCKS)
            covered_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            history = store.read_transfers(SOURCE, CHAIN, address, start_block=ranges[0][0], end_block=ranges[-1][1])
            read_ms.append((time.perf_counter() - t0) * 1000)
            sizes.append(len(history))
        rng2 = random.Random(7)
        extra = ((owners + n, synthetic_history(rng2, owners + n, 10_000, 2_000_000)) for n in range(20))
        written, seconds, _ = _write_all(store, extra)
    return {
        "stored_transfers": stored,
        "samples": samples,
        "covered_lookup_ms": _summary(covered_ms),
        "read_history_ms": _summary(read_ms),
        "read_history_transfers": {"median": statistics.median(sizes), "max": max(sizes)},
        "read_us_per_transfer": round(sum(read_ms) * 1000 / max(1, sum(sizes)), 2),
        "insert_rate_at_full_store": written / seconds,
    }


def _summary(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 3),
        "p95": round(ordered[int(len(ordered) * 0.95) - 1], 3),
        "max": round(ordered[-1], 3),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_store", description=__doc__.split("\n")[0])
    parser.add_argument("--transfers", type=int, default=10_000_000, help="transfers in the filled store")
    parser.add_argument("--store", type=Path, help="keep (or reuse) the filled store at this path")
    args = parser.parse_args(argv)
    load_at_start = [round(x, 2) for x in os.getloadavg()]

    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        workdir = Path(tmp)
        bulk = measure_bulk_insert(workdir)
        path = args.store or workdir / "filled.sqlite3"
        small = measure_small_chunks(workdir)
        if path.exists():
            with Store.open(path) as store:
                fill = json.loads(store.read_meta("bench:fill") or "null")
        else:
            fill = fill_store(path, args.transfers)
        lookups = measure_lookups(path)
        size_mb = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6

    result = {
        "synthetic": True,
        "cpus": os.cpu_count(),
        "load_average_at_start": load_at_start,  # other jobs share this machine: read the rates next to it
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "bulk_insert": bulk,
        "bulk_insert_transfers_per_s": round(bulk["rate"]),
        "small_histories": small,
        "fill": fill,
        "lookups": lookups,
        "store_size_mb": round(size_mb),
        "targets": {
            "bulk_insert_transfers_per_s": TARGET_INSERT_PER_S,
            "read_history_ms": TARGET_LOOKUP_MS,
            "covered_lookup_ms": TARGET_LOOKUP_MS,
        },
        "met": {
            "bulk_insert": bulk["rate"] >= TARGET_INSERT_PER_S,
            "covered_lookup_p95": lookups["covered_lookup_ms"]["p95"] <= TARGET_LOOKUP_MS,
            "read_history_median": lookups["read_history_ms"]["median"] <= TARGET_LOOKUP_MS,
            "read_history_p95": lookups["read_history_ms"]["p95"] <= TARGET_LOOKUP_MS,
        },
    }
    _print(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result


def _print(result: dict[str, Any]) -> None:
    bulk, fill, look, small = result["bulk_insert"], result["fill"], result["lookups"], result["small_histories"]
    rows = [
        (
            "bulk insert (10k-transfer chunks, empty store)",
            f"{bulk['rate']:,.0f}/s wall (best {bulk['best_rate']:,.0f}), {bulk['cpu_rate']:,.0f}/CPU-s",
            ">= 200,000/s",
        ),
        ("small histories, one transaction each", f"{small['per_history']['rate']:,.0f} transfers/s", ""),
        ("small histories, grouped with Store.batch()", f"{small['batched']['rate']:,.0f} transfers/s", ""),
    ]
    if fill:
        rows.append(
            (
                f"fill to {fill['transfers']:,} ({fill['addresses']:,} address histories)",
                f"{fill['rate']:,.0f} transfers/s, {fill['wall_seconds']:.0f} s wall",
                "",
            )
        )
    rows += [
        (f"covered-range lookup at {look['stored_transfers']:,}", _ms(look["covered_lookup_ms"]), "<= 5 ms"),
        (
            f"read one address's history (median {look['read_history_transfers']['median']:.0f} transfers)",
            _ms(look["read_history_ms"]),
            "<= 5 ms",
        ),
        ("insert into the full store (10k chunks)", f"{look['insert_rate_at_full_store']:,.0f} transfers/s", ""),
        ("store size", f"{result['store_size_mb']:,} MB", ""),
        ("load average (1, 5, 15 min) at start / end", f"{result['load_average_at_start']} / "
         f"{result['load_average_at_end']}", f"{result['cpus']} CPUs"),
    ]  # fmt: skip
    print("store benchmark (SYNTHETIC data)")
    for name, value, target in rows:
        print(f"  {name:<58} {value:<40} {target}")


def _ms(summary: dict[str, float]) -> str:
    return f"median {summary['median']:.2f} ms, p95 {summary['p95']:.2f} ms"


if __name__ == "__main__":
    main()
