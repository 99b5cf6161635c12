"""Label lookup speed: time to the first answer (bundled data read lazily) and lookups per second after.

Measured:

- ``first_lookup_cold_s``: a fresh Python process imports :mod:`tracer.labels.book`, builds a
  :class:`LabelBook` and answers one lookup (which reads and indexes the bundled file) — target <= 0.5 s;
- ``first_lookup_s``: the same inside a running process (module already imported), and its CPU time
  (``first_lookup_cpu_s``, less sensitive to other load on the machine, which is recorded too);
- ``lookups_per_s``: repeated lookups of ~71,000 keys (every bundled address, half SYNTHETIC unlabelled
  addresses), after each was asked once — target >= 1,000,000/s;
- ``first_resolution_per_s``: lookups of keys never asked before (normalisation + label merge).

Run: ``python -m bench.bench_labels``.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tracer.labels.book import BUNDLED_FILE, LabelBook

RESULTS = Path(__file__).resolve().parent / "results" / "labels.json"
ROOT = Path(__file__).resolve().parents[1]
TARGET_LOAD_S = 0.5
TARGET_LOOKUPS_PER_S = 1_000_000
PROBE = ("ethereum", "0x910cbd523d972eb0a6f4cae4618ad62622b39dbf")

_COLD = (
    "import time; t = time.perf_counter(); from tracer.labels.book import LabelBook; "
    f"b = LabelBook(); b.label{PROBE!r}; print(time.perf_counter() - t)"
)


def _cold_first_lookup(repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", _COLD], capture_output=True, text=True, check=True, cwd=ROOT, env=dict(os.environ)
        )
        times.append(float(out.stdout.strip()))
    return times


def _warm_first_lookup(repeats: int) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds) of the first lookup of a new book, module already imported."""
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        LabelBook().label(*PROBE)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return wall, cpu


def _keys(book: LabelBook, count: int, rng: random.Random) -> list[tuple[str, str]]:
    labelled = sorted({(lb.chain, lb.address) for lb in book.iter_bundled()})
    known = rng.sample(labelled, min(count // 2, len(labelled)))
    unknown = [("ethereum", f"0x{rng.getrandbits(160):040x}") for _ in range(len(known))]
    keys = known + unknown
    rng.shuffle(keys)
    return keys


def main() -> dict:
    rng = random.Random(20261128)
    cold = _cold_first_lookup(5)
    warm, warm_cpu = _warm_first_lookup(5)
    book = LabelBook().load()
    keys = _keys(book, 200_000, rng)

    label = book.label
    started = time.perf_counter()
    for chain, address in keys:
        label(chain, address)
    first_resolution = len(keys) / (time.perf_counter() - started)

    rounds = 30
    started, started_cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for chain, address in keys:
            label(chain, address)
    elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    lookups_per_s = rounds * len(keys) / elapsed
    hits = sum(1 for chain, address in keys if label(chain, address) is not None)

    result = {
        "bundled_file_bytes": BUNDLED_FILE.stat().st_size,
        "bundled_labels": book.stats().labels,
        "first_lookup_cold_s": {"median": round(statistics.median(cold), 3), "max": round(max(cold), 3)},
        "first_lookup_s": {"median": round(statistics.median(warm), 3), "max": round(max(warm), 3)},
        "first_lookup_cpu_s": round(statistics.median(warm_cpu), 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "lookups_per_s": round(lookups_per_s),
        "lookups_per_cpu_s": round(rounds * len(keys) / elapsed_cpu),
        "first_resolution_per_s": round(first_resolution),
        "keys": len(keys),
        "hit_share": round(hits / len(keys), 3),
        "targets": {"first_lookup_s": TARGET_LOAD_S, "lookups_per_s": TARGET_LOOKUPS_PER_S},
        "meets_targets": max(cold) <= TARGET_LOAD_S and lookups_per_s >= TARGET_LOOKUPS_PER_S,
        "cpus": os.cpu_count(),
    }
    print(f"{'bundled file':32} {result['bundled_file_bytes']:>12,} bytes, {result['bundled_labels']:,} labels")
    print(
        f"{'first lookup, fresh process':32} {result['first_lookup_cold_s']['median']:>12.3f} s (max {max(cold):.3f})"
    )
    print(f"{'first lookup, module imported':32} {result['first_lookup_s']['median']:>12.3f} s")
    print(f"{'  of which CPU':32} {result['first_lookup_cpu_s']:>12.3f} s")
    print(f"{'machine load (1 min)':32} {result['load_average_1min']:>12.2f}")
    print(f"{'lookups/s after first ask':32} {result['lookups_per_s']:>12,}")
    print(f"{'lookups per CPU second':32} {result['lookups_per_cpu_s']:>12,}")
    print(f"{'lookups/s, never-asked keys':32} {result['first_resolution_per_s']:>12,}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
