"""Crossing chains: the SYNTHETIC multi-chain scenario of tests/crosschain_world.py, traced through the CLI.

An ETH thief swaps ETH into BTC through THORChain, bridges USDC to Arbitrum through LI.FI and on to Optimism
through Across, and sends 1 ETH through a bridge without a resolver (amount-time fallback); every emulator
(Etherscan for three chains, Esplora, Midgard, LI.FI) runs on 127.0.0.1. Measured: wall time with and without
following crossings, requests per source, a re-run's requests to the resolvers (0: answers kept in the
store), the crossings resolved by method, and whether every chain's sheet closes to the base unit.
"""

from __future__ import annotations

import json
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from chains.emulators.esplora import EsploraEmulator
from chains.emulators.etherscan import EtherscanEmulator
from chains.emulators.lifi import LifiEmulator
from chains.emulators.messaging import LayerZeroScanEmulator, WormholeScanEmulator
from chains.emulators.midgard import MidgardEmulator
from tests import crosschain_world as w
from tests.cli_env import make_env
from tracer.cli import main as cli
from tracer.store import Store

RESULTS = Path(__file__).resolve().parent / "results" / "crosschain.json"
REPEAT = 3  # wall times are the fastest of REPEAT fresh runs (the machine is shared)
IN = ("stolen", "swapped_in", "bridged_in")
OUT = ("swapped_out", "bridged_out", "endpoints", "unmoved", "fees", "below_threshold", "unexplored", "excluded")


def _closes(row: dict) -> bool:
    d = {k: Decimal(v) for k, v in row.items() if isinstance(v, str) and k != "symbol"}
    return sum(d.get(k, 0) for k in IN) == sum(d.get(k, 0) for k in OUT)


def _trace(home: Path, case: Path, out: Path, *extra: str) -> float:
    env, _, err = make_env(home)
    started = time.perf_counter()
    code = cli(["trace", str(case), "--out", str(out), *extra], env=env)
    if code != 0:
        raise RuntimeError(err.getvalue())
    return time.perf_counter() - started


def main() -> dict:
    servers = (
        EtherscanEmulator({1: w.ethereum(), 42161: w.arbitrum(), 10: w.optimism(), 8453: w.base(), 137: w.polygon()}),
        EsploraEmulator(w.bitcoin()),
        MidgardEmulator(w.midgard_actions()),
        LifiEmulator(w.lifi_transfers()),
        LayerZeroScanEmulator(w.layerzero_messages()),
        WormholeScanEmulator(w.wormhole_operations()),
    )
    for s in servers:
        s.start()
    eth, btc, midgard, lifi, layerzero, wormhole = servers
    try:
        with tempfile.TemporaryDirectory(prefix="bench-crosschain-") as tmp:
            root = Path(tmp)
            homes = {}

            def home(name: str) -> Path:
                homes[name] = root / f"home-{name}"
                homes[name].mkdir()
                with Store.open(homes[name] / "store.sqlite3") as store:
                    store.write_user_labels(w.labels())
                return homes[name]

            case = root / "case.toml"
            case.write_text(
                w.CASE.format(
                    thief=w.THIEF,
                    eth=eth.api_url,
                    btc=btc.base_url,
                    midgard=midgard.base_url,
                    lifi=lifi.base_url,
                    layerzero=layerzero.base_url,
                    wormhole=wormhole.base_url,
                )
            )
            _trace(home("warm"), case, root / "warm-up", "--no-crosschain")  # imports and first connections
            stop_s = min(_trace(home(f"stop{i}"), case, root / f"stop{i}", "--no-crosschain") for i in range(REPEAT))
            follow_runs = []
            for i in range(REPEAT):  # each in a fresh store; the last one's requests are counted
                before = [s.requests for s in servers]
                follow_runs.append(_trace(home(f"follow{i}"), case, root / f"follow{i}"))
                first = [s.requests - b for s, b in zip(servers, before, strict=True)]
            rerun_s = _trace(homes[f"follow{REPEAT - 1}"], case, root / "again")
            again = [s.requests - b - f for s, b, f in zip(servers, before, first, strict=True)]
            follow_s = min(follow_runs)
            last = root / f"follow{REPEAT - 1}"
            summary = json.loads((last / "summary.json").read_text())
            identical = all(
                (last / n).read_bytes() == (root / "again" / n).read_bytes()
                for n in ("summary.json", "flows.csv", "endpoints.csv", "graph.graphml")
            )
    finally:
        for s in servers:
            s.stop()
    crossings = summary["crossings"]
    names = ("etherscan", "esplora", "midgard", "lifi", "layerzero", "wormholescan")
    result = {
        "scenario": "synthetic: ETH->BTC->ETH (THORChain twice), USDC ethereum->arbitrum (LI.FI)->optimism (Across), "
        "2 ETH ->base (Stargate), 1 ETH ->WETH on polygon (Wormhole), 1 ETH via an unknown bridge (amount-time)",
        "crossings": len(crossings),
        "resolved_by_method": {
            m: sum(1 for c in crossings if c["method"] == m and c["status"] == "resolved")
            for m in sorted({c["method"] for c in crossings})
        },
        "chains": sorted({k.split(":")[0] for k in summary["assets"]}),
        "every_sheet_closes": all(_closes(row) for row in summary["assets"].values()),
        "seconds_no_crosschain_min_of_3": round(stop_s, 3),
        "seconds_follow_min_of_3": round(follow_s, 3),
        "seconds_rerun": round(rerun_s, 3),
        "requests_follow": dict(zip(names, first, strict=True)),
        "requests_rerun": dict(zip(names, again, strict=True)),
        "rerun_identical": identical,
        "endpoints_reached": sorted({e["chain"] for e in summary["endpoints"]}),
    }
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
