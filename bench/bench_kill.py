"""kill -9 at random points of a trace and of the bundle write (issue 15): bundles stay whole, resumes are exact.

A SYNTHETIC laundering tree (a thief splitting 1,000 ETH over four levels of fresh addresses, some paying a
labelled exchange or mixer; ~150 addresses, ~450 requests) is served by the Etherscan emulator on 127.0.0.1.
`heisttrace trace` runs as a separate process, as a user runs it, and is killed with SIGKILL:

- **trace points** (`--trace-points`, default 20): at a uniformly random time within 90 % of the length
  of an uninterrupted run (from process start: startup, seeds, expansions, checkpoints), each from a fresh
  store;
- **write points** (`--write-points`, default 20): inside the bundle write. The trace is answered from a warm
  store and the child slows every file operation of the write (writes, fsyncs, renames, removals) by a few
  ms (`--child` mode below), so the kill lands at a uniformly random moment between the write's start and
  its end: staging files, manifest hashes, the atomic swap, the cleanup after it.

Before each run `--out` holds a complete *previous* bundle (the same case under another policy). After the
kill the directory must be exactly the previous bundle or exactly the new one (every contract file of
:data:`tracer.bundle.schema.CONTRACT_FILES` plus manifest and case copy, and the manifest's hashes must
match), never a mix; then the same command runs to the end and every contract file must be byte-identical
to an uninterrupted run's.

Run: ``python -m bench.bench_kill [--trace-points N] [--write-points N] [--seed S]``; results in
``bench/results/kill.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
ETH = 10**18
WRITE_DELAY_S = 0.004  # per file operation in the slowed child


def _addr(n: int) -> str:
    return f"0x{n:040x}"


def _hash(n: int) -> str:
    return f"0x{n:064x}"


def build_world() -> tuple[Any, str, str, str]:
    """The SYNTHETIC world: (world, thief, exchange, mixer)."""
    from chains.emulators.world import EvmWorld, WorldTx

    rng = random.Random(15)
    victim, thief, exchange, mixer = _addr(0xA0), _addr(0xA1), _addr(0xE0), _addr(0xE1)
    txs = [WorldTx(_hash(1), 100, 0, 1_700_000_000, victim, thief, 1000 * ETH)]
    counter, block = 2, 101
    level = [(thief, 1000 * ETH)]
    next_addr = 0x1000
    for fanout in (6, 4, 3, 2):
        nxt = []
        for sender, amount in level:
            share = (amount - fanout * 21_000 * 20 * 10**9) // fanout
            for i in range(fanout):
                receiver = _addr(next_addr)
                next_addr += 1
                txs.append(WorldTx(_hash(counter), block, i, 1_700_000_000 + 12 * block, sender, receiver, share))
                counter += 1
                nxt.append((receiver, share))
            block += 1
        level = nxt
    for sender, amount in level:  # the leaves pay out to the two services
        to = exchange if rng.random() < 0.7 else mixer
        pay = amount - 21_000 * 20 * 10**9
        txs.append(WorldTx(_hash(counter), block, 0, 1_700_000_000 + 12 * block, sender, to, pay))
        counter += 1
        block += 1
    world = EvmWorld(chain_id=1)
    world.add(txs)
    return world, thief, exchange, mixer


CASE = """[case]
id = "bench-kill"
title = "kill -9 benchmark (SYNTHETIC laundering tree)"

[[seeds]]
chain = "ethereum"
address = "{thief}"

[trace]
since = 100
policy = "{policy}"
max_hops = 10
min_taint = "0.0001"
max_addresses = 1000

[source]
ethereum = {{ kind = "etherscan", url = "{url}" }}
"""


def _home(base: Path, exchange: str, mixer: str) -> Path:
    from tracer.core.models import Category, Label
    from tracer.store import Store

    base.mkdir(parents=True, exist_ok=True)
    with Store.open(base / "store.sqlite3") as store:
        store.write_user_labels(
            [
                Label("ethereum", exchange, Category.EXCHANGE, "Synthetic Exchange", source="bench-synthetic"),
                Label("ethereum", mixer, Category.MIXER, "Synthetic Mixer", source="bench-synthetic"),
            ]
        )
    return base


def _command(case: Path, out: Path, *, child: bool = False) -> list[str]:
    head = [sys.executable, "-m", "bench.bench_kill", "--child"] if child else [sys.executable, "-m", "tracer"]
    return [*head, "trace", str(case), "--out", str(out)]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "HEISTTRACE_HOME": str(home), "PYTHONPATH": str(ROOT)}


def _run(case: Path, home: Path, out: Path) -> int:
    return subprocess.run(_command(case, out), env=_env(home), cwd=ROOT, capture_output=True, timeout=600).returncode


def _bundle_files(directory: Path) -> dict[str, bytes]:
    """Every file of a bundle directory (name -> bytes); {} when absent."""
    if not directory.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def classify(out: Path, previous: dict[str, bytes], new: dict[str, bytes]) -> str:
    """'previous', 'new', or what is wrong: the bundle at `out` must be exactly one of the two and whole.

    Exactly: the same file names, and every file byte-identical except run.json (run statistics) and
    report.html (rendered from the same files); the manifest's hashes must match the contract files."""
    from tracer.bundle.schema import CONTRACT_FILES, MANIFEST_FILE

    files = _bundle_files(out)
    if not files:
        return "missing"
    try:
        hashes = json.loads(files.get(MANIFEST_FILE) or b"{}").get("files") or {}
    except ValueError:
        return "inconsistent (manifest)"
    for name in CONTRACT_FILES:
        if name not in files or hashlib.sha256(files[name]).hexdigest() != hashes.get(name):
            return f"inconsistent ({name})"
    loose = ("run.json", "report.html")
    for label, expected in (("previous", previous), ("new", new)):
        if set(files) == set(expected) and all(files[n] == expected[n] for n in files if n not in loose):
            return label
    return "mixed"


def _identical(a: dict[str, bytes], b: dict[str, bytes]) -> list[str]:
    """The contract files (and manifest, case copy) that differ between two bundles."""
    from tracer.bundle.schema import CONTRACT_FILES

    names = [*CONTRACT_FILES, "case.toml"]
    return [n for n in names if a.get(n) != b.get(n)]


def _kill_at(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL `proc` after `seconds` (True) unless it ended first (False)."""
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def _wait_for_write(proc: subprocess.Popen) -> float | None:
    """Block until the child says the bundle write starts; its wall-clock start, None if it ended first."""
    assert proc.stderr is not None
    for line in iter(proc.stderr.readline, b""):
        if line.startswith(b"BENCH-WRITE-START"):
            return time.monotonic()
    return None


def measure(trace_points: int, write_points: int, seed: int) -> dict[str, Any]:
    from chains.emulators.etherscan import EtherscanEmulator

    rng = random.Random(seed)
    world, thief, exchange, mixer = build_world()
    work = Path(tempfile.mkdtemp(prefix="bench-kill-"))
    started_all = time.perf_counter()
    try:
        with EtherscanEmulator(world) as server:
            case = work / "case.toml"
            case.write_text(CASE.format(thief=thief, url=server.api_url, policy="haircut"))
            prev_case = work / "prev.toml"
            prev_case.write_text(CASE.format(thief=thief, url=server.api_url, policy="fifo"))
            # the uninterrupted reference, the previous bundle, and a warm store for the write points
            warm = _home(work / "warm", exchange, mixer)
            t0 = time.perf_counter()
            assert _run(case, warm, work / "reference") == 0, "the reference trace failed"
            full_seconds = time.perf_counter() - t0
            requests = server.requests
            assert _run(prev_case, warm, work / "previous") == 0, "the previous-bundle trace failed"
            reference, previous = _bundle_files(work / "reference"), _bundle_files(work / "previous")
            assert _identical(reference, previous), "previous and new bundles must differ"
            points: list[dict[str, Any]] = []
            for i in range(trace_points):
                home = _home(work / f"t{i}", exchange, mixer)
                out = work / f"t{i}-out"
                shutil.copytree(work / "previous", out)
                at = rng.uniform(0.05, full_seconds * 0.9)  # inside the run (a point past its end kills nothing)
                proc = subprocess.Popen(
                    _command(case, out), env=_env(home), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                killed = _kill_at(proc, at)
                points.append(_after(i, "trace", at, killed, case, home, out, previous, reference))
            write_seconds = _calibrate_write(case, warm, work)
            for i in range(write_points):
                home = work / f"w{i}"
                shutil.copytree(warm, home)
                out = work / f"w{i}-out"
                shutil.copytree(work / "previous", out)
                proc = subprocess.Popen(
                    _command(case, out, child=True),
                    env=_env(home),
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                began = _wait_for_write(proc)
                at = rng.uniform(0.0, write_seconds)
                killed = False
                if began is not None:
                    killed = _kill_at(proc, max(0.0, began + at - time.monotonic()))
                proc.wait()
                if proc.stderr is not None:
                    proc.stderr.close()
                points.append(_after(i, "write", at, killed, case, home, out, previous, reference))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _summarise(points, full_seconds, write_seconds, requests, time.perf_counter() - started_all, seed)


def _calibrate_write(case: Path, warm: Path, work: Path) -> float:
    """How long the slowed child takes from the start of the bundle write to its exit (s)."""
    home = work / "calibrate"
    shutil.copytree(warm, home)
    proc = subprocess.Popen(
        _command(case, work / "calibrate-out", child=True),
        env=_env(home),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    began = _wait_for_write(proc)
    proc.wait()
    if proc.stderr is not None:
        proc.stderr.close()
    assert began is not None and proc.returncode == 0, "the slowed calibration run failed"
    return time.monotonic() - began


def _after(
    i: int,
    phase: str,
    at: float,
    killed: bool,
    case: Path,
    home: Path,
    out: Path,
    previous: dict[str, bytes],
    reference: dict[str, bytes],
) -> dict[str, Any]:
    """Classify the bundle left by the kill, resume, and compare the resumed bundle with the reference."""
    state = classify(out, previous, reference)
    t0 = time.perf_counter()
    code = _run(case, home, out)
    resume_seconds = time.perf_counter() - t0
    differs = _identical(_bundle_files(out), reference)
    return {
        "point": i,
        "phase": phase,
        "kill_after_s": round(at, 3),
        "killed": killed,
        "bundle_after_kill": state,
        "resume_exit": code,
        "resume_s": round(resume_seconds, 2),
        "resumed_differs": differs,
    }


def _summarise(
    points: list[dict[str, Any]], full_seconds: float, write_seconds: float, requests: int, total: float, seed: int
) -> dict[str, Any]:
    by_phase: dict[str, dict[str, Any]] = {}
    for phase in ("trace", "write"):
        rows = [p for p in points if p["phase"] == phase]
        outcomes: dict[str, int] = {}
        for p in rows:
            outcomes[p["bundle_after_kill"]] = outcomes.get(p["bundle_after_kill"], 0) + 1
        by_phase[phase] = {
            "points": len(rows),
            "killed": sum(p["killed"] for p in rows),
            "bundle_after_kill": dict(sorted(outcomes.items())),
            "after_kill_previous": outcomes.get("previous", 0),
            "after_kill_new": outcomes.get("new", 0),
            "after_kill_broken": sum(v for k, v in outcomes.items() if k not in ("previous", "new")),
            "whole_bundles": sum(p["bundle_after_kill"] in ("previous", "new") for p in rows),
            "resumed_identical": sum(not p["resumed_differs"] and p["resume_exit"] == 0 for p in rows),
            "median_resume_s": sorted(p["resume_s"] for p in rows)[len(rows) // 2] if rows else None,
        }
    ok = all(
        p["bundle_after_kill"] in ("previous", "new") and not p["resumed_differs"] and p["resume_exit"] == 0
        for p in points
    )
    return {
        "what": "SIGKILL at random points of a trace and of the bundle write (SYNTHETIC laundering tree)",
        "seed": seed,
        "uninterrupted_trace_s": round(full_seconds, 2),
        "slowed_write_s": round(write_seconds, 2),
        "uninterrupted_requests": requests,
        "phases": by_phase,
        "all_whole_and_identical": ok,
        "total_s": round(total, 1),
        "points": points,
    }


# -------------------------------------------------------------------------------- the slowed child


def child(argv: Sequence[str]) -> int:
    """`heisttrace` with every file operation of the bundle write slowed, announcing the write's start."""
    import pathlib

    import networkx as nx
    import polars as pl

    import tracer.bundle.outputs as outputs
    import tracer.bundle.result as result
    from tracer.cli import main as cli_main

    def slow(fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            time.sleep(WRITE_DELAY_S)
            value = fn(*args, **kwargs)
            time.sleep(WRITE_DELAY_S)
            return value

        return wrapper

    original_write = result.TraceResult.write

    def announced(self: Any, *args: Any, **kwargs: Any) -> Any:
        os.write(2, b"BENCH-WRITE-START\n")
        pathlib.Path.write_text = slow(pathlib.Path.write_text)  # type: ignore[method-assign]
        pathlib.Path.write_bytes = slow(pathlib.Path.write_bytes)  # type: ignore[method-assign]
        pl.DataFrame.write_csv = slow(pl.DataFrame.write_csv)  # type: ignore[method-assign]
        result.nx.write_graphml = slow(nx.write_graphml)
        outputs.os.replace = slow(os.replace)  # type: ignore[attr-defined]
        outputs.os.fsync = slow(os.fsync)  # type: ignore[attr-defined]
        outputs._exchange = slow(outputs._exchange)
        shutil.rmtree = slow(shutil.rmtree)  # type: ignore[assignment]
        return original_write(self, *args, **kwargs)

    result.TraceResult.write = announced  # type: ignore[method-assign]
    return cli_main(list(argv))


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        sys.exit(child(argv[1:]))
    parser = argparse.ArgumentParser(prog="python -m bench.bench_kill", description=__doc__.splitlines()[0])
    parser.add_argument("--trace-points", type=int, default=20)
    parser.add_argument("--write-points", type=int, default=20)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args(argv)
    result = measure(args.trace_points, args.write_points, args.seed)
    for phase, row in result["phases"].items():
        print(
            f"{phase:5}: {row['points']} points, {row['killed']} killed, after kill {row['bundle_after_kill']}, "
            f"whole {row['whole_bundles']}/{row['points']}, "
            f"resumed identical {row['resumed_identical']}/{row['points']}"
        )
    print(f"uninterrupted trace {result['uninterrupted_trace_s']} s; all ok: {result['all_whole_and_identical']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "kill.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
