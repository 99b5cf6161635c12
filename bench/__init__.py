"""Benchmarks: `python -m bench` (= `make bench`) runs every bench/bench_*.py and rewrites docs/BENCHMARKS.md."""
