"""Benchmark: index a SYNTHETIC ethereum-etl export of N transfers, read histories from it, trace over it.

The export is generated with polars, vectorised and deterministic (`--seed`): `--transfers`
value movements, 60 % top-level transactions, 30 % token transfers (in transactions of
their own), 10 % internal calls, among `transfers / 10` addresses, with 200 busy addresses
(exchanges, say) on a tenth of all transfers. Tables are Parquet, `--parts` files each, shaped
like BigQuery's `crypto_ethereum` (receipt_* columns, text `block_timestamp`).

Measured: generation time; the index build's wall time and peak memory (RSS of its own
process, running what `heisttrace index-export` runs), and each build phase's time and peak;
per-address `fetch_history` latency (p50 / p95 / max over `--reads` addresses, the busy ones
apart, whole and as the engine's 2,000-row probe); a trace from one address over the index
(`max_addresses` 300) with its request count, which must be 0. The machine's load average is
recorded beside the times: the cores may be shared.

    python -m bench.bench_export [--transfers 10000000] [--parts 16] [--reads 500] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from heuristics.services import SERVICE_PROBE_ROWS as PROBE  # the account engine's first read of an address

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BUSY = 200
DEFAULT_TRANSFERS = 1_000_000  # `make bench`; the 10 M run of the README: --transfers 10000000


def _hex(expr: pl.Expr, width: int) -> pl.Expr:
    """A synthetic hex string of `width` digits: the decimal digits of a scrambled number, zero-padded."""
    return pl.lit("0x") + expr.cast(pl.String).str.zfill(width)


def _address(ids: pl.Expr) -> pl.Expr:
    return _hex((ids * 2_654_435_761 + 97) % 10**12 * 1_000_003, 40)


def generate(out: Path, *, transfers: int, parts: int, seed: int) -> dict[str, Any]:
    """Write the synthetic export to `out`; returns its sizes."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    n_tx = transfers * 6 // 10
    n_tok = transfers * 3 // 10
    n_int = transfers - n_tx - n_tok
    n_addr = max(1_000, transfers // 10)

    def parties(n: int, salt: int) -> pl.DataFrame:
        r = pl.int_range(0, n, eager=True)
        busy = (r * 7 + salt) % 10 == 0  # a tenth of the transfers touch a busy address
        s = pl.Series(random.Random(seed + salt).choices(range(n_addr), k=n))
        t = pl.Series(random.Random(seed + salt + 1).choices(range(n_addr), k=n))
        return pl.DataFrame({"s": s, "t": t, "busy": busy}).select(
            s=pl.when(pl.col("busy")).then(pl.col("s") % BUSY).otherwise(pl.col("s")),
            t=pl.col("t"),
        )

    blocks = pl.int_range(0, n_tx + n_tok, eager=True) // 100 + 15_000_000
    txp = parties(n_tx + n_tok, 1)
    txs = pl.DataFrame({"i": pl.int_range(0, n_tx + n_tok, eager=True), "block": blocks}).with_columns(
        txp, value=pl.when(pl.col("i") < n_tx).then(pl.col("i") * 1_000_003 % 10**18 + 1).otherwise(0)
    )
    transactions = txs.select(
        hash=_hex(pl.col("i") * 1_000_000_007 + 11, 64),
        nonce=pl.lit("0"),
        transaction_index=(pl.col("i") % 100).cast(pl.String),
        from_address=_address(pl.col("s")),
        to_address=_address(pl.col("t")),
        value=pl.col("value").cast(pl.String),
        gas=pl.lit("60000"),
        gas_price=pl.lit("20000000000"),
        receipt_gas_used=pl.lit("21000"),
        receipt_contract_address=pl.lit(None, dtype=pl.String),
        receipt_status=pl.lit("1"),
        receipt_effective_gas_price=pl.lit("20000000000"),
        block_timestamp=pl.from_epoch(
            pl.lit(1_700_000_000) + (pl.col("block") - 15_000_000) * 12, time_unit="s"
        ).dt.strftime("%Y-%m-%d %H:%M:%S UTC"),
        block_number=pl.col("block").cast(pl.String),
    )
    tokp = parties(n_tok, 3)
    token_transfers = (
        pl.DataFrame({"i": pl.int_range(n_tx, n_tx + n_tok, eager=True)})
        .with_columns(tokp)
        .select(
            token_address=_address(pl.lit(10**11) + pl.col("i") % 5),
            from_address=_address(pl.col("s")),
            to_address=_address(pl.col("t")),
            value=(pl.col("i") * 7_919 % 10**12 + 1).cast(pl.String),
            transaction_hash=_hex(pl.col("i") * 1_000_000_007 + 11, 64),
            log_index=pl.lit("0"),
            block_number=(pl.col("i") // 100 + 15_000_000).cast(pl.String),
        )
    )
    intp = parties(n_int, 5)
    traces = (
        pl.DataFrame({"i": pl.int_range(0, n_int, eager=True)})
        .with_columns(intp)
        .select(
            transaction_hash=_hex((pl.col("i") * 6 % n_tx) * 1_000_000_007 + 11, 64),
            transaction_index=((pl.col("i") * 6 % n_tx) % 100).cast(pl.String),
            from_address=_address(pl.col("s")),
            to_address=_address(pl.col("t")),
            value=(pl.col("i") * 104_729 % 10**17 + 1).cast(pl.String),
            trace_type=pl.lit("call"),
            call_type=pl.lit("call"),
            trace_address=pl.col("i").floordiv(n_tx).cast(pl.String),
            status=pl.lit("1"),
            block_number=((pl.col("i") * 6 % n_tx) // 100 + 15_000_000).cast(pl.String),
        )
    )
    tables = {"transactions": transactions, "token_transfers": token_transfers, "traces": traces}
    for name, table in tables.items():
        folder = out / name
        folder.mkdir(exist_ok=True)
        size = -(-table.height // parts)
        for p in range(parts):
            table.slice(p * size, size).write_parquet(folder / f"{name}-{p:05d}.parquet")
    sizes = {name: table.height for name, table in tables.items()}
    addresses = pl.concat([transactions["from_address"], transactions["to_address"]]).unique().sort()
    sample = random.Random(seed).sample(addresses.to_list(), k=min(2_000, addresses.len()))
    busy = _address_list(BUSY)
    (out / "sample-addresses.json").write_text(json.dumps({"sample": sample, "busy": busy}))
    return {"rows": sizes, "addresses": addresses.len(), "seconds": round(time.perf_counter() - started, 1)}


def _address_list(n: int) -> list[str]:
    return pl.select(a=_address(pl.int_range(0, n))).to_series().to_list()


def _rss_mb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def index(export: Path) -> dict[str, Any]:
    """Build the index in its own process (what `heisttrace index-export` calls); wall time, its peak
    RSS, and each phase's.

    A phase is a progress line of the build (`reading …: tx`, `partitioning …`); its RSS is sampled
    every 50 ms from /proc (where there is one); the overall peak is the child's own VmHWM.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_export", "--build-only", str(export)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    phases: list[dict[str, Any]] = []
    current = {"phase": "start (block times, table headers)", "at": 0.0, "peak": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            current["peak"] = max(int(current["peak"]), _rss_mb(proc.pid))

    def close(now: float) -> None:
        phases.append(
            {"phase": current["phase"], "seconds": round(now - float(current["at"]), 1), "peak_rss_mb": current["peak"]}
        )

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stderr is not None and proc.stdout is not None
    for line in proc.stderr:
        text = line.strip().replace(str(export), "EXPORT")
        if text.startswith("sorted ") or not text:
            continue
        now = time.perf_counter() - started
        close(now)
        current.update(phase=text, at=now, peak=_rss_mb(proc.pid))
    out = proc.stdout.read()
    code = proc.wait()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    close(seconds)
    if code != 0:
        raise SystemExit(f"index-export failed (exit {code}): {phases[-1]['phase']}")
    built = json.loads(out)
    peak_mb = built.pop("peak_rss_mb")
    return {**built, "wall_seconds": round(seconds, 1), "peak_rss_mb": peak_mb, "phases": phases}


def _percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_ms": round(times[len(times) // 2], 2),
        "p95_ms": round(times[int(len(times) * 0.95)], 2),
        "max_ms": round(times[-1], 2),
    }


def reads(export: Path, n: int, seed: int) -> dict[str, Any]:
    """History reads of `n` addresses drawn uniformly, and of the busy ones apart (their own percentiles):
    whole histories, and the engine's first probe of :data:`PROBE` rows (`max_rows`)."""
    from chains.export.evm import ExportAdapter
    from tracer.core.networks import get_chain

    chain = get_chain("ethereum")
    adapter = ExportAdapter(path=export)
    picks = json.loads((export / "sample-addresses.json").read_text())
    rng = random.Random(seed)
    tip = adapter.fetch_tip(chain)
    out: dict[str, Any] = {}
    uniform = rng.sample(picks["sample"], k=min(n, len(picks["sample"])))
    groups = {"uniform": (uniform, None), "busy": (picks["busy"][:50], None), "busy_probe": (picks["busy"][:50], PROBE)}
    for name, (addresses, max_rows) in groups.items():
        index_ms, history_ms, sizes = [], [], []
        for address in addresses:
            started = time.perf_counter()
            adapter.read_rows("addr", "address", address)
            index_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            chunk = adapter.fetch_history(chain, address, start_block=0, end_block=tip, max_rows=max_rows)
            history_ms.append((time.perf_counter() - started) * 1000)
            sizes.append(len(chunk.transfers))
        out[name] = {
            "reads": len(addresses),
            "index_rows": _percentiles(index_ms),
            "history": _percentiles(history_ms),
            "median_transfers": sorted(sizes)[len(sizes) // 2],
            "max_transfers": max(sizes),
        }
    out["requests"] = adapter.requests
    return out


def trace(export: Path, work: Path) -> dict[str, Any]:
    from tracer.api import trace as run_trace
    from tracer.cases.plan import build_plan
    from tracer.sources.factory import build_sources
    from tracer.store import Store

    picks = json.loads((export / "sample-addresses.json").read_text())
    seed_address = picks["sample"][0]
    work.mkdir(parents=True, exist_ok=True)
    case = work / "case.toml"
    case.write_text(
        "\n".join(
            [
                "[case]", 'id = "bench-export-synthetic"', 'title = "SYNTHETIC export benchmark"', "",
                "[[seeds]]", 'chain = "ethereum"', f'address = "{seed_address}"', "",
                "[trace]", "since = 15000000", "max_addresses = 300", "",
                "[source]", f'ethereum = {{ kind = "export", path = "{export}" }}', "",
            ]
        )
    )  # fmt: skip
    plan = build_plan(case)
    store = Store.open(work / "store.sqlite3")
    try:
        sources = build_sources(plan, store)
        started = time.perf_counter()
        result = run_trace(plan, history=sources.account, store=store)
        seconds = time.perf_counter() - started
        requests = sources.requests
    finally:
        store.close()
    return {"seconds": round(seconds, 1), "requests": requests, "addresses": result.addresses.height,
            "flows": result.flows.height}  # fmt: skip


def build_only(export: Path) -> None:
    """The child of :func:`index`: build `export`'s index, progress on stderr, the summary as JSON on stdout."""
    from chains.export.evm_index import build_evm_index
    from chains.export.layout import INDEX_DIRNAME

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    built = build_evm_index(export, export / INDEX_DIRNAME, progress=progress)
    print(json.dumps({**built, "peak_rss_mb": _own_peak_mb()}))


def _own_peak_mb() -> int:
    """This process's peak RSS since it started (VmHWM).

    Not `ru_maxrss`: Linux counts in it the memory of the parent that forked the process (here
    the benchmark, holding the generated export), which inflated earlier measurements.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=DEFAULT_TRANSFERS)
    parser.add_argument("--parts", type=int, default=16)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--work", type=Path, default=Path("/tmp/heisttrace-bench-export"))
    parser.add_argument("--keep", action="store_true", help="keep the generated export and index")
    parser.add_argument("--build-only", type=Path, metavar="EXPORT", help=argparse.SUPPRESS)
    args = parser.parse_args([] if argv is None else argv)
    if args.build_only is not None:
        build_only(args.build_only)
        return {}
    export = args.work / f"export-{args.transfers}"
    shutil.rmtree(export, ignore_errors=True)
    print(f"generating a SYNTHETIC export of {args.transfers:,} transfers ...", flush=True)
    result: dict[str, Any] = {"transfers": args.transfers, "synthetic": True}
    result["generate"] = generate(export, transfers=args.transfers, parts=args.parts, seed=args.seed)
    print(f"  {result['generate']}", flush=True)
    load_before = os.getloadavg()[0]
    result["index"] = index(export)
    # other work shares the cores: the load average says how noisy the times are
    result["machine"] = {"cores": os.cpu_count(), "load_1m_before": round(load_before, 1),
                         "load_1m_after": round(os.getloadavg()[0], 1)}  # fmt: skip
    print(f"index-export: {result['index']}", flush=True)
    result["history_reads"] = reads(export, args.reads, args.seed)
    print(f"history reads: {result['history_reads']}", flush=True)
    result["trace"] = trace(export, args.work / f"trace-{args.transfers}")
    print(f"trace: {result['trace']}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    name = "export" if args.transfers == DEFAULT_TRANSFERS else f"export-{args.transfers}"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.keep:
        shutil.rmtree(args.work, ignore_errors=True)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
