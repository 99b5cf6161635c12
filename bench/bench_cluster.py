"""Benchmark: `heisttrace cluster` over a SYNTHETIC bitcoin-etl export, local engine beside Spark (local[2]).

The export comes from :mod:`bench.btc_export` (wallets, CoinJoins, one exchange consolidation),
sized by `--links` (multi-input links; ~2.5 per transaction). Each engine runs as the CLI in
its own process; measured: wall time and peak memory of the whole process tree (the Spark
driver's JVM and Python workers included, sampled from /proc every 0.2 s) and the CPU seconds it used (on a
shared machine the wall time also counts other work's load). The two engines'
`clusters.parquet` must be byte-identical.

    python -m bench.bench_cluster [--links 200000] [--engines local,spark] [--work DIR] [--keep-export]

`--keep-export` leaves the export in DIR and reuses one of the same size found there (its
`generate_seconds` are then those of the run that made it).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.btc_export import write_bitcoin_export

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DEFAULT_LINKS = 200_000  # `make bench`; the 10 M run of the README: --links 10000000


def _tree_rss_kb(root: int) -> int:
    """Resident memory of `root` and all its descendants (from /proc), in kB."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        current = frontier.pop()
        for pid, parent in parents.items():
            if parent == current and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(rss.get(pid, 0) for pid in tree)


def run_measured(argv: list[str]) -> dict[str, Any]:
    """Run `argv`; wall seconds and the peak RSS of its process tree."""
    started = time.perf_counter()
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed: {err[-2000:]}")
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(cpu_seconds, 1),  # of the processes it waited for (Spark's JVM and workers included)
        "peak_rss_mb": round(peak / 1024),
        "stdout": out,
    }


def _generate(export: Path, links: int, parts: int) -> dict[str, Any]:
    started = time.perf_counter()
    txs = max(100, int(links / 2.5))
    parts = max(parts, txs // 100_000)
    truth = write_bitcoin_export(
        export, txs=txs, wallets=max(50, txs // 4), coinjoins=max(2 * parts, txs // 1000), parts=parts, stream=True
    )
    seconds = round(time.perf_counter() - started, 1)
    return {"links": truth.links, "transactions": txs, "synthetic": True, "generate_seconds": seconds}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=DEFAULT_LINKS)
    parser.add_argument("--engines", default="local,spark")
    parser.add_argument("--parts", type=int, default=8)
    parser.add_argument("--work", type=Path, default=Path("/tmp/heisttrace-bench-cluster"))
    parser.add_argument("--keep-export", action="store_true")
    args = parser.parse_args([] if argv is None else argv)
    engines = [e for e in args.engines.split(",") if e]
    export = args.work / f"btc-{args.links}"
    made = export / "synthetic-export.json"
    if args.keep_export and made.is_file():
        for old in args.work.glob("out-*"):
            shutil.rmtree(old)
        result: dict[str, Any] = json.loads(made.read_text())
    else:
        shutil.rmtree(args.work, ignore_errors=True)
        result = _generate(export, args.links, args.parts)
        made.write_text(json.dumps(result) + "\n")
    print(f"SYNTHETIC bitcoin-etl export: {result['links']:,} links in {result['transactions']:,} transactions")
    outs = {}
    for engine in engines:
        outs[engine] = args.work / f"out-{engine}"
        command = [sys.executable, "-m", "tracer", "cluster", str(export), "--out", str(outs[engine]), "--json"]
        command += ["--engine", engine, "--master", "local[2]", "--partitions", "8"]
        measured = run_measured(command)
        summary = json.loads(measured.pop("stdout"))
        result[engine] = {**measured, "clusters": summary["clusters"], "addresses": summary["addresses"]}
        print(f"  {engine}: {result[engine]}", flush=True)
    if len(outs) == 2:
        a, b = ((o / "clusters.parquet").read_bytes() for o in outs.values())
        result["identical_clusters"] = a == b
        print(f"  identical clusters.parquet: {a == b}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    name = "cluster" if args.links == DEFAULT_LINKS else f"cluster-{args.links}"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.keep_export:
        shutil.rmtree(args.work, ignore_errors=True)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
