"""Full history behind Etherscan's 1,000-row cap: complete, duplicate-free, and how many requests.

The world is **synthetic** (generated here from a seed): one busy address with exactly
`n_transfers` transfers over ~12,000 blocks — incoming and outgoing ETH, withdrawals from a
contract that pay it by internal call, tokens in and out, and a few contract payouts in
transactions sent by a relayer (their internal rows lack `transactionIndex`, so the adapter
must look each one up once). The Etherscan emulator serves it over real HTTP on 127.0.0.1
with the free-key row cap (1,000) and the 10,000-row window.

Minimum possible requests = for each list (`txlist`, `txlistinternal`, `tokentx`) of n rows,
``n // 1000 + 1`` (the last page must come back short to prove the list ended), plus one
lookup per relayed transaction. `python -m bench.bench_etherscan_cap`.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from chains.emulators.etherscan import EtherscanEmulator
from chains.emulators.world import EvmWorld, WorldInternal, WorldTokenTransfer, WorldTx
from chains.etherscan import FREE_ROW_CAP, EtherscanAdapter
from tracer.core.models import Transfer
from tracer.core.networks import get_chain

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = "0x" + "ab" * 20
VAULT = "0x" + "7a" * 20  # a contract that pays out by internal call
TOKEN = "0x" + "70" * 20  # an ERC-20
RELAYER = "0x" + "5e" * 20
FIRST_BLOCK = 15_000_000


def _addr(rng: random.Random) -> str:
    return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40))


def busy_world(n_transfers: int = 25_000, *, seed: int = 7, relayed_share: float = 0.002) -> EvmWorld:
    """A synthetic world where TARGET has exactly `n_transfers` transfers (fees included)."""
    rng = random.Random(seed)
    world = EvmWorld(chain_id=1, contracts={VAULT, TOKEN})
    strangers = [_addr(rng) for _ in range(300)]
    txs: list[WorldTx] = []
    count = 0
    block = FIRST_BLOCK
    serial = 0
    while count < n_transfers:
        block += 1
        for tx_index in range(rng.randint(1, 3)):
            left = n_transfers - count
            if left <= 0:
                break
            serial += 1
            tx_hash = f"0x{serial:064x}"
            ts = 1_700_000_000 + (block - FIRST_BLOCK) * 12
            other = rng.choice(strangers)
            kind = rng.random()
            common = {"hash": tx_hash, "block": block, "tx_index": tx_index, "timestamp": ts, "nonce": serial}
            if left == 1 or kind < 0.30:  # ETH in: 1 transfer (the stranger's fee is not TARGET's)
                txs.append(WorldTx(**common, sender=other, to=TARGET, value=rng.randint(1, 10**18)))
                count += 1
            elif kind < 0.55:  # ETH out: fee + value
                txs.append(WorldTx(**common, sender=TARGET, to=other, value=rng.randint(1, 10**17)))
                count += 2
            elif kind < 0.70:  # withdraw from the vault: fee + internal payout
                payout = WorldInternal(sender=VAULT, to=TARGET, value=rng.randint(1, 10**18), trace_id="0")
                txs.append(WorldTx(**common, sender=TARGET, to=VAULT, value=0, gas_used=60_000, internals=(payout,)))
                count += 2
            elif kind < 0.70 + relayed_share:  # relayed payout: internal only (tx index needs a lookup)
                payout = WorldInternal(sender=VAULT, to=TARGET, value=rng.randint(1, 10**18), trace_id="0")
                txs.append(WorldTx(**common, sender=RELAYER, to=VAULT, value=0, gas_used=90_000, internals=(payout,)))
                count += 1
            elif kind < 0.86:  # token in: 1 token transfer
                tok = WorldTokenTransfer(TOKEN, other, TARGET, rng.randint(1, 10**9), 0, "TKN", "Bench Token", 6)
                txs.append(WorldTx(**common, sender=other, to=TOKEN, value=0, gas_used=50_000, tokens=(tok,)))
                count += 1
            else:  # token out: fee + token transfer
                tok = WorldTokenTransfer(TOKEN, TARGET, other, rng.randint(1, 10**9), 0, "TKN", "Bench Token", 6)
                txs.append(WorldTx(**common, sender=TARGET, to=TOKEN, value=0, gas_used=50_000, tokens=(tok,)))
                count += 2
    world.add(txs)
    return world


def expected_movements(world: EvmWorld, address: str) -> Counter[tuple[str, str, str, str, int]]:
    """What TARGET's history must contain, straight from the world: (tx, kind, from, to, amount)."""
    out: Counter[tuple[str, str, str, str, int]] = Counter()
    for tx in world.txs_touching(address):
        if tx.sender == address and tx.fee:
            out[(tx.hash, "fee", tx.sender, "fee", tx.fee)] += 1
        if address in (tx.sender, tx.to) and tx.value:
            out[(tx.hash, "external", tx.sender, tx.to or "", tx.value)] += 1
        for call in tx.internals:
            if address in (call.sender, call.to):
                out[(tx.hash, "internal", call.sender, call.to, call.value)] += 1
        for tok in tx.tokens:
            if address in (tok.sender, tok.to):
                out[(tx.hash, "token", tok.sender, tok.to, tok.value)] += 1
    return out


def movements(transfers: tuple[Transfer, ...] | list[Transfer]) -> Counter[tuple[str, str, str, str, int]]:
    return Counter((t.tx_hash, str(t.kind), t.sender, t.receiver, t.amount) for t in transfers)


def minimum_requests(world: EvmWorld, address: str, *, cap: int = FREE_ROW_CAP) -> dict[str, int]:
    """The fewest requests any client could make: per list n // cap + 1, plus one lookup per relayed tx."""
    rows = {"txlist": 0, "txlistinternal": 0, "tokentx": 0}
    relayed = 0
    for tx in world.txs_touching(address):
        top_level = address in (tx.sender, tx.to)
        rows["txlist"] += top_level
        rows["txlistinternal"] += sum(address in (c.sender, c.to) for c in tx.internals)
        rows["tokentx"] += sum(address in (t.sender, t.to) for t in tx.tokens)
        relayed += bool(tx.internals) and not top_level and not tx.tokens
    pages = {name: n // cap + 1 for name, n in rows.items()}
    return {**{f"{k}_rows": v for k, v in rows.items()}, "list_pages": sum(pages.values()), "lookups": relayed}


def run(n_transfers: int = 25_000) -> dict[str, Any]:
    world = busy_world(n_transfers)
    chain = get_chain("ethereum")
    with EtherscanEmulator(world, row_cap=FREE_ROW_CAP) as emulator:
        adapter = EtherscanAdapter(base_url=emulator.api_url, rate_per_s=None)
        started = time.perf_counter()
        chunk = adapter.fetch_history(chain, TARGET, start_block=0, end_block=world.tip)
        seconds = time.perf_counter() - started
        served = emulator.requests
    minimum = minimum_requests(world, TARGET)
    floor = minimum["list_pages"] + minimum["lookups"]
    keys = [(t.tx_hash, t.position) for t in chunk.transfers]
    return {
        "world": "synthetic (bench/bench_etherscan_cap.py, seed 7)",
        "transfers": len(chunk.transfers),
        "expected_transfers": n_transfers,
        "complete": movements(chunk.transfers) == expected_movements(world, TARGET) and chunk.complete,
        "duplicates": len(keys) - len(set(keys)),
        "requests": adapter.requests,
        "requests_served": served,
        "minimum_requests": floor,
        "overhead_pct": round(100.0 * (adapter.requests - floor) / floor, 1),
        "rows": {k: v for k, v in minimum.items() if k.endswith("_rows")},
        "relayed_lookups": minimum["lookups"],
        "seconds": round(seconds, 2),
    }


def main() -> dict[str, Any]:
    result = run()
    print(
        f"{'transfers':>10} {'complete':>9} {'dups':>5} {'requests':>9} {'minimum':>8} {'overhead':>9} {'seconds':>8}"
    )
    print(
        f"{result['transfers']:>10} {result['complete']!s:>9} {result['duplicates']:>5} {result['requests']:>9}"
        f" {result['minimum_requests']:>8} {result['overhead_pct']:>8}% {result['seconds']:>8}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "etherscan_cap.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
