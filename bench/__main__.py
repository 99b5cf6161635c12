"""`python -m bench [TOPIC ...]` (= `make bench`): run the benchmarks, then rewrite docs/BENCHMARKS.md.

With no topic, every ``bench/bench_*.py`` runs (each module's ``main() -> dict`` prints a short
table and writes ``bench/results/<topic>.json``). ``python -m bench quality`` runs only
``bench_quality``; ``python -m bench --docs-only`` only re-renders the document from the JSON
files already in ``bench/results/``. A benchmark that fails is reported and the others still run;
the exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from bench.report import render_benchmarks

BENCH_DIR = Path(__file__).resolve().parent
DOCS_PATH = BENCH_DIR.parent / "docs" / "BENCHMARKS.md"


def discover() -> list[str]:
    """Topics of every bench/bench_<topic>.py, sorted (quality last: it takes longest)."""
    topics = sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))
    return sorted(topics, key=lambda t: (t == "quality", t))


def run_topic(topic: str) -> tuple[bool, float]:
    """Import bench.bench_<topic> and run its main(); (ok, seconds)."""
    started = time.perf_counter()
    print(f"== bench {topic}", flush=True)
    try:
        module = importlib.import_module(f"bench.bench_{topic}")
        module.main()
    except Exception:  # one broken benchmark must not hide the others' numbers
        traceback.print_exc()
        print(f"== bench {topic}: FAILED", flush=True)
        return False, time.perf_counter() - started
    elapsed = time.perf_counter() - started
    print(f"== bench {topic}: done in {elapsed:.1f} s", flush=True)
    return True, elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("topics", nargs="*", help="topics to run (default: all bench/bench_*.py)")
    parser.add_argument("--docs-only", action="store_true", help="only rewrite docs/BENCHMARKS.md from bench/results")
    args = parser.parse_args(argv)
    known = discover()
    unknown = [t for t in args.topics if t not in known]
    if unknown:
        parser.error(f"unknown topic(s) {', '.join(unknown)}; known: {', '.join(known)}")
    failed = []
    if not args.docs_only:
        for topic in args.topics or known:
            ok, _ = run_topic(topic)
            if not ok:
                failed.append(topic)
    DOCS_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOCS_PATH.write_text(render_benchmarks(BENCH_DIR / "results"), encoding="utf-8")
    print(f"wrote {DOCS_PATH.relative_to(BENCH_DIR.parent)}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
