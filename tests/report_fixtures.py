"""SYNTHETIC output bundles for the reporter's tests and benchmark (no real case data).

:func:`write_synthetic_bundle` writes a bundle directory with exactly the files and columns of
docs INTERFACES §4 (summary.json, addresses.csv, flows.csv, endpoints.csv, graph.graphml,
manifest.json, optionally comparison.json). The trace is generated, not real: seeds on several
chains split their loot over hops of transit addresses, some of which swap one asset for another
through a DEX router in one transaction; value stops at endpoints of several categories (some
named, some not), stays unmoved, pays fees, drops below the threshold or is left unexplored when
the address budget runs out. Amounts are exact integers in base units while generating and the
summary closes exactly: stolen + swapped_in = endpoints + unmoved + fees + below_threshold +
unexplored + swapped_out for every asset.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import networkx as nx

from tracer.bundle.schema import (
    ADDRESS_COLUMNS,
    COMPARISON_FILE,
    ENDPOINT_COLUMNS,
    FLOW_COLUMNS,
    GRAPH_FILE,
    MANIFEST_FILE,
    SUMMARY_FILE,
    table_file,
)

HOSTILE_TOKEN = "<img src=x onerror=alert(1)>"
HOSTILE_LABEL = "</script><script>alert(1)</script>"

START = 1685750400  # 2023-06-03T00:00:00Z


@dataclass(frozen=True)
class FixtureAsset:
    chain: str
    asset_id: str  # "native" or a (synthetic) token contract
    symbol: str
    decimals: int

    @property
    def key(self) -> str:
        return f"{self.chain}:{self.asset_id}"


@dataclass
class _Ledger:
    stolen: int = 0
    swapped_in: int = 0
    swapped_out: int = 0
    endpoints: int = 0
    unmoved: int = 0
    fees: int = 0
    below_threshold: int = 0
    unexplored: int = 0


@dataclass
class _State:
    rng: random.Random
    assets: dict[str, FixtureAsset]
    ledgers: dict[str, _Ledger] = field(default_factory=lambda: defaultdict(_Ledger))
    addresses: dict[tuple[str, str, str], dict] = field(default_factory=dict)  # (chain, address, asset key)
    flows: list[dict] = field(default_factory=list)
    endpoints: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    tx_counter: int = 0
    hostile: bool = False


def _evm_address(rng: random.Random) -> str:
    return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40))


def _btc_address(rng: random.Random) -> str:
    return "bc1q" + "".join(rng.choice("023456789acdefghjklmnpqrstuvwxyz") for _ in range(38))


def _address(chain: str, rng: random.Random) -> str:
    return _btc_address(rng) if chain == "bitcoin" else _evm_address(rng)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt(amount: int, decimals: int) -> str:
    """Exact decimal string in the asset's unit, no exponent, no trailing zeros."""
    value = Decimal(amount).scaleb(-decimals)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


# Endpoint services per chain: (category, label or "", label source)
_SERVICES = {
    "ethereum": [
        ("exchange", "Binance 14", "etherscan-labels"),
        ("exchange", "OKX 7", "etherscan-labels"),
        ("exchange-deposit", "", "heuristic:deposit-reuse"),
        ("exchange-deposit", "", "heuristic:deposit-reuse"),
        ("exchange-deposit", "Kraken deposit (synthetic)", "manual"),
        ("mixer", "Tornado Cash: 100 ETH", "ofac-sdn"),
        ("bridge", "Synthetic Bridge: router", "etherscan-labels"),
        ("otc", "OTC desk (synthetic)", "manual"),
        ("sanctioned", "Sanctioned wallet (synthetic)", "ofac-sdn"),
        ("instant-exchanger", "FixedFloat-like (synthetic)", "manual"),
        ("unknown-service", "", "heuristic:fan-in"),
    ],
    "bsc": [
        ("exchange", "Binance hot wallet (synthetic)", "bscscan-labels"),
        ("exchange-deposit", "", "heuristic:deposit-reuse"),
        ("bridge", "Synthetic BSC bridge", "bscscan-labels"),
        ("mixer", "Synthetic BSC mixer", "manual"),
    ],
    "bitcoin": [
        ("exchange", "Synthetic BTC exchange", "walletexplorer-like"),
        ("mixer", "Synthetic CoinJoin coordinator", "manual"),
        ("exchange-deposit", "", "heuristic:deposit-reuse"),
    ],
}


def _new_tx(state: _State, chain: str) -> str:
    state.tx_counter += 1
    digest = hashlib.sha256(f"synthetic-tx:{chain}:{state.tx_counter}".encode()).hexdigest()
    return digest if chain == "bitcoin" else "0x" + digest


def _block(chain: str, ts: int) -> int:
    base = {"ethereum": 17_400_000, "bsc": 28_900_000, "bitcoin": 793_000}[chain]
    period = {"ethereum": 12, "bsc": 3, "bitcoin": 600}[chain]
    return base + (ts - START) // period


def _receive(
    state: _State,
    chain: str,
    address: str,
    asset: FixtureAsset,
    amount: int,
    ts: int,
    hop: int,
    *,
    role: str,
    category: str = "",
    label: str = "",
    label_source: str = "",
) -> None:
    key = (chain, address, asset.key)
    row = state.addresses.get(key)
    if row is None:
        state.addresses[key] = {
            "chain": chain,
            "address": address,
            "role": role,
            "category": category,
            "label": label,
            "label_source": label_source,
            "hop": hop,
            "tainted_in": amount,
            "asset": asset,
            "first_tainted_at": ts,
        }
    else:
        row["tainted_in"] += amount
        row["hop"] = min(row["hop"], hop)
        row["first_tainted_at"] = min(row["first_tainted_at"], ts)


def _flow(
    state: _State,
    *,
    chain: str,
    tx: str,
    position: int,
    ts: int,
    sender: str,
    receiver: str,
    asset: FixtureAsset,
    amount: int,
    tainted: int,
    hop: int,
) -> None:
    state.flows.append(
        {
            "chain": chain,
            "tx_hash": tx,
            "position": position,
            "block": _block(chain, ts),
            "timestamp": ts,
            "from": sender,
            "to": receiver,
            "asset": asset,
            "amount": amount,
            "tainted_amount": tainted,
            "hop": hop,
        }
    )


def _split(rng: random.Random, amount: int, parts: int) -> list[int]:
    weights = [rng.randint(1, 10) for _ in range(parts)]
    total = sum(weights)
    shares = [amount * w // total for w in weights]
    shares[0] += amount - sum(shares)
    return shares


def _trace_chain(
    state: _State, chain: str, seeds: list[tuple[str, FixtureAsset, int]], *, budget: int, swap_to: FixtureAsset | None
) -> None:
    """Breadth-first synthetic laundering on one chain until `budget` addresses hold taint."""
    rng = state.rng
    services = [(cat, label, src, _address(chain, rng)) for cat, label, src in _SERVICES[chain]]
    if state.hostile and chain == "ethereum":  # every named Ethereum service carries the hostile label
        services = [(cat, HOSTILE_LABEL if label else "", src, addr) for cat, label, src, addr in services]
    router = _address(chain, rng)
    queue: list[tuple[str, FixtureAsset, int, int, int]] = []
    for address, asset, amount in seeds:
        state.ledgers[asset.key].stolen += amount
        _receive(
            state,
            chain,
            address,
            asset,
            amount,
            START,
            0,
            role="seed",
            category="hacker",
            label="Exploiter (synthetic)",
            label_source="case-file",
        )
        queue.append((address, asset, amount, 0, START + 3600))
    known = {a for a, _, _ in seeds}
    threshold_fraction = 40 * budget  # below this fraction of the stolen total a flow is not followed
    stolen_total = {a.key: sum(x for _, b, x in seeds if b.key == a.key) for _, a, _ in seeds}
    while queue:
        address, asset, amount, hop, ts = queue.pop(0)
        ledger = state.ledgers[asset.key]
        base_total = stolen_total.get(asset.key) or max(amount, 1)
        if amount * threshold_fraction < base_total:
            ledger.below_threshold += amount
            continue
        if len(known) >= budget:
            ledger.unexplored += amount
            continue
        keep = amount * rng.choice([0, 0, 0, 1, 2]) // 100
        ledger.unmoved += keep
        amount -= keep
        fee = 0
        if asset.asset_id == "native" and amount > 10_000:
            fee = amount // 10_000
            ledger.fees += fee
            amount -= fee
        if swap_to is not None and asset.key != swap_to.key and hop >= 1 and rng.random() < 0.12:
            tx = _new_tx(state, chain)
            ts += rng.randint(60, 3600)
            # same tx: A out to the router, B in from the router (synthetic rate, decimals-aware)
            got = amount * 1800 * 10**swap_to.decimals // 10**asset.decimals
            _flow(
                state,
                chain=chain,
                tx=tx,
                position=1,
                ts=ts,
                sender=address,
                receiver=router,
                asset=asset,
                amount=amount,
                tainted=amount,
                hop=hop + 1,
            )
            _receive(
                state,
                chain,
                router,
                asset,
                amount,
                ts,
                hop + 1,
                role="transit",
                category="dex",
                label="Uniswap-like router (synthetic)",
                label_source="etherscan-labels",
            )
            _flow(
                state,
                chain=chain,
                tx=tx,
                position=1_000_003,
                ts=ts,
                sender=router,
                receiver=address,
                asset=swap_to,
                amount=got,
                tainted=got,
                hop=hop + 1,
            )
            _receive(state, chain, address, swap_to, got, ts, hop, role="seed" if hop == 0 else "transit")
            if fee:
                _flow(
                    state,
                    chain=chain,
                    tx=tx,
                    position=0,
                    ts=ts,
                    sender=address,
                    receiver="fee",
                    asset=asset,
                    amount=fee,
                    tainted=fee,
                    hop=hop + 1,
                )
            ledger.swapped_out += amount
            state.ledgers[swap_to.key].swapped_in += got
            stolen_total.setdefault(swap_to.key, got * 20)
            queue.append((address, swap_to, got, hop, ts + 60))
            continue
        parts = rng.choice([1, 2, 2, 3, 4]) if hop < 2 else rng.choice([1, 2, 2, 3])
        for share in _split(rng, amount, parts):
            if share == 0:
                continue
            tx = _new_tx(state, chain)
            ts2 = ts + rng.randint(120, 6 * 3600)
            stop = hop >= 2 and rng.random() < 0.25
            if stop:
                if rng.random() < 0.4:  # a fresh deposit address found by the deposit heuristic
                    category, label, source, target = (
                        "exchange-deposit",
                        "",
                        "heuristic:deposit-reuse",
                        _address(chain, rng),
                    )
                else:
                    category, label, source, target = rng.choice(services)
                _flow(
                    state,
                    chain=chain,
                    tx=tx,
                    position=1,
                    ts=ts2,
                    sender=address,
                    receiver=target,
                    asset=asset,
                    amount=share,
                    tainted=share,
                    hop=hop + 1,
                )
                _receive(
                    state,
                    chain,
                    target,
                    asset,
                    share,
                    ts2,
                    hop + 1,
                    role="endpoint",
                    category=category,
                    label=label,
                    label_source=source,
                )
                ledger.endpoints += share
                ep = state.endpoints.get((chain, target, asset.key))
                if ep is None or ts2 < ep["first"]:
                    state.endpoints[(chain, target, asset.key)] = {
                        "category": category,
                        "label": label,
                        "label_source": source,
                        "asset": asset,
                        "amount": share + (ep["amount"] if ep else 0),
                        "first": ts2,
                        "tx": tx,
                    }
                else:
                    ep["amount"] += share
                continue
            target = _address(chain, rng)
            known.add(target)
            clean = share * rng.choice([0, 0, 10, 50]) // 100  # mixed with clean value in the same transfer
            _flow(
                state,
                chain=chain,
                tx=tx,
                position=1,
                ts=ts2,
                sender=address,
                receiver=target,
                asset=asset,
                amount=share + clean,
                tainted=share,
                hop=hop + 1,
            )
            _receive(state, chain, target, asset, share, ts2, hop + 1, role="transit")
            queue.append((target, asset, share, hop + 1, ts2))


def write_synthetic_bundle(
    out: Path,
    *,
    addresses: int = 120,
    seed: int = 7,
    policy: str = "haircut",
    hostile: bool = False,
    comparison: bool = False,
) -> Path:
    """Write a SYNTHETIC bundle with about `addresses` traced addresses to `out`; return `out`."""
    rng = random.Random(f"{seed}:{policy}:{addresses}")
    eth = FixtureAsset("ethereum", "native", "ETH", 18)
    usdt = FixtureAsset(
        "ethereum", "0xdac17f958d2ee523a2206206994597c13d831ec7", HOSTILE_TOKEN if hostile else "USDT", 6
    )
    bnb = FixtureAsset("bsc", "native", "BNB", 18)
    btc = FixtureAsset("bitcoin", "native", "BTC", 8)
    state = _State(rng=rng, assets={a.key: a for a in (eth, usdt, bnb, btc)}, hostile=hostile)
    eth_budget = max(addresses * 6 // 10, 10)
    other_budget = max((addresses - eth_budget) // 2, 5)
    _trace_chain(
        state,
        "ethereum",
        [
            (_address("ethereum", rng), eth, 3_200 * 10**18 + 123_456_789),
            (_address("ethereum", rng), eth, 1_150 * 10**18),
        ],
        budget=eth_budget,
        swap_to=usdt,
    )
    _trace_chain(state, "bsc", [(_address("bsc", rng), bnb, 9_800 * 10**18)], budget=other_budget, swap_to=None)
    _trace_chain(
        state, "bitcoin", [(_address("bitcoin", rng), btc, 41 * 10**8 + 12_345)], budget=other_budget, swap_to=None
    )
    out.mkdir(parents=True, exist_ok=True)
    _write_tables(state, out)
    summary = _summary(state, policy)
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    (out / MANIFEST_FILE).write_text(json.dumps(_manifest(state, policy), indent=2, sort_keys=True) + "\n")
    _write_graphml(state, out / GRAPH_FILE)
    if comparison:
        others = {}
        for other in ("poison", "haircut", "fifo"):
            sub = out / f".synthetic-{other}"
            bundle = write_synthetic_bundle(sub, addresses=min(addresses, 80), seed=seed, policy=other)
            others[other] = json.loads((bundle / SUMMARY_FILE).read_text())
        others[policy] = summary
        (out / COMPARISON_FILE).write_text(json.dumps(others, indent=2, sort_keys=True) + "\n")
    return out


def _write_tables(state: _State, out: Path) -> None:
    rows = sorted(state.addresses.values(), key=lambda r: (r["chain"], r["address"], r["asset"].key))
    with (out / table_file("addresses")).open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(ADDRESS_COLUMNS)
        for r in rows:
            writer.writerow(
                [
                    r["chain"],
                    r["address"],
                    r["role"],
                    r["category"],
                    r["label"],
                    r["label_source"],
                    r["hop"],
                    _fmt(r["tainted_in"], r["asset"].decimals),
                    r["asset"].key,
                    _iso(r["first_tainted_at"]),
                ]
            )
    flows = sorted(state.flows, key=lambda f: (f["chain"], f["block"], f["tx_hash"], f["position"]))
    with (out / table_file("flows")).open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(FLOW_COLUMNS)
        for f in flows:
            a = f["asset"]
            writer.writerow(
                [
                    f["chain"],
                    f["tx_hash"],
                    f["position"],
                    f["block"],
                    _iso(f["timestamp"]),
                    f["from"],
                    f["to"],
                    a.symbol,
                    a.asset_id,
                    _fmt(f["amount"], a.decimals),
                    _fmt(f["tainted_amount"], a.decimals),
                    f["hop"],
                ]
            )
    with (out / table_file("endpoints")).open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(ENDPOINT_COLUMNS)
        for (chain, address, _), e in sorted(state.endpoints.items()):
            a = e["asset"]
            writer.writerow(
                [
                    chain,
                    address,
                    e["category"],
                    e["label"],
                    e["label_source"],
                    a.key,
                    _fmt(e["amount"], a.decimals),
                    _iso(e["first"]),
                    e["tx"],
                ]
            )


def _summary(state: _State, policy: str) -> dict:
    assets = {}
    for key, ledger in sorted(state.ledgers.items()):
        a = state.assets[key]
        lhs = ledger.stolen + ledger.swapped_in
        rhs = (
            ledger.endpoints
            + ledger.unmoved
            + ledger.fees
            + ledger.below_threshold
            + ledger.unexplored
            + ledger.swapped_out
        )
        assert lhs == rhs, f"synthetic ledger of {key} does not close"
        assets[key] = {
            name: _fmt(getattr(ledger, name), a.decimals)
            for name in (
                "stolen",
                "swapped_in",
                "swapped_out",
                "endpoints",
                "unmoved",
                "fees",
                "below_threshold",
                "unexplored",
            )
        }
        assets[key]["symbol"] = a.symbol
    by_category: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (_, _, key), e in state.endpoints.items():
        by_category[e["category"]][key] += e["amount"]
    return {
        "case": "synthetic-heist-2023",
        "title": "SYNTHETIC test case (generated, not real data)",
        "policy": policy,
        "complete": not any(ledger.unexplored for ledger in state.ledgers.values()),
        "parameters": {
            "since": "2023-06-02T00:00:00Z",
            "max_hops": 25,
            "min_taint": "0.0005",
            "max_addresses": len(state.addresses),
        },
        "assets": assets,
        "endpoints_by_category": {
            cat: {k: _fmt(v, state.assets[k].decimals) for k, v in sorted(vals.items())}
            for cat, vals in sorted(by_category.items())
        },
        "counts": {
            "addresses_visited": len({(c, a) for c, a, _ in state.addresses}),
            "transfers_read": len(state.flows) * 7,
            "requests": len(state.flows) // 3 + 11,
        },
    }


def _manifest(state: _State, policy: str) -> dict:
    hashes = sorted(
        hashlib.sha256(f"synthetic-response:{i}".encode()).hexdigest() for i in range(max(len(state.flows) // 4, 3))
    )
    return {
        "tool": "heisttrace",
        "tool_version": "0.0.0-synthetic",
        "case_file_sha256": hashlib.sha256(b"synthetic case file").hexdigest(),
        "policy": policy,
        "sources": [
            {"chain": "ethereum", "kind": "etherscan", "url": "https://api.etherscan.io/v2/api?apikey=REDACTED"},
            {"chain": "bsc", "kind": "rpc", "url": "http://127.0.0.1:8545"},
            {"chain": "bitcoin", "kind": "esplora", "url": "https://mempool.space/api"},
        ],
        "block_heights": {"ethereum": 19_000_000, "bsc": 35_000_000, "bitcoin": 840_000},
        "responses": [{"sha256": h, "source": "ethereum"} for h in hashes],
    }


def _write_graphml(state: _State, path: Path) -> None:
    graph = nx.MultiDiGraph()
    for r in sorted(state.addresses.values(), key=lambda r: (r["chain"], r["address"])):
        graph.add_node(
            f"{r['chain']}:{r['address']}",
            chain=r["chain"],
            address=r["address"],
            role=r["role"],
            category=r["category"],
            label=r["label"],
        )
    for f in state.flows:
        if f["to"] == "fee":
            continue
        graph.add_edge(
            f"{f['chain']}:{f['from']}",
            f"{f['chain']}:{f['to']}",
            tx_hash=f["tx_hash"],
            asset=f["asset"].key,
            tainted_amount=_fmt(f["tainted_amount"], f["asset"].decimals),
        )
    nx.write_graphml(graph, path)


USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"
S, A, B, C, R, EX, MX, EXT = (f"0x{c * 40}" for c in "5abcdf01")  # seed, transits, router, endpoints, victim

# A tiny hand-written SYNTHETIC trace with known answers (addresses are placeholders): the victim EXT pays
# 100 ETH to the thief S. S → A 60, S → B 40; A → EX 30 (exchange); A swaps 30 ETH for 54000 USDT through
# router R in one tx, then A → C 54000 USDT; C → MX 54000 USDT (mixer); B → EX 10, pays a 0.01 fee, keeps 29.99.
FLOWS = [
    ("0x01", 1, 1, "2023-06-03T00:00:00Z", EXT, S, "ETH", "native", "100", "100", 0),
    ("0x02", 1, 2, "2023-06-03T01:00:00Z", S, A, "ETH", "native", "60", "60", 1),
    ("0x03", 1, 3, "2023-06-03T02:00:00Z", S, B, "ETH", "native", "40", "40", 1),
    ("0x04", 1, 4, "2023-06-03T03:00:00Z", A, EX, "ETH", "native", "30", "30", 2),
    ("0x05", 1, 5, "2023-06-03T04:00:00Z", A, R, "ETH", "native", "30", "30", 2),
    ("0x05", 1000003, 5, "2023-06-03T04:00:00Z", R, A, "USDT", USDT, "54000", "54000", 2),
    ("0x06", 1000001, 6, "2023-06-03T05:00:00Z", A, C, "USDT", USDT, "54000", "54000", 2),
    ("0x07", 1000001, 7, "2023-06-03T06:00:00Z", C, MX, "USDT", USDT, "54000", "54000", 3),
    ("0x08", 1, 8, "2023-06-03T07:00:00Z", B, EX, "ETH", "native", "10", "10", 2),
    ("0x08", 0, 8, "2023-06-03T07:00:00Z", B, "fee", "ETH", "native", "0.01", "0.01", 2),
]
ADDRESSES = [
    (S, "seed", "hacker", "Thief", "case-file", 0, "100", "ethereum:native"),
    (A, "transit", "", "", "", 1, "60", "ethereum:native"),
    (A, "transit", "", "", "", 1, "54000", f"ethereum:{USDT}"),
    (B, "transit", "", "", "", 1, "40", "ethereum:native"),
    (R, "transit", "dex", "Router", "labels", 2, "30", "ethereum:native"),
    (C, "transit", "", "", "", 2, "54000", f"ethereum:{USDT}"),
    (EX, "endpoint", "exchange", "Exchange [bold]x[/bold]", "labels", 2, "40", "ethereum:native"),
    (MX, "endpoint", "mixer", "Mixer", "labels", 3, "54000", f"ethereum:{USDT}"),
]
ENDPOINTS = [
    (EX, "exchange", "Exchange [bold]x[/bold]", "labels", "ethereum:native", "40", "2023-06-03T03:00:00Z", "0x04"),
    (MX, "mixer", "Mixer", "labels", f"ethereum:{USDT}", "54000", "2023-06-03T06:00:00Z", "0x07"),
]
SUMMARY = {
    "case": "tiny-synthetic",
    "policy": "haircut",
    "complete": True,
    "assets": {
        "ethereum:native": {
            "symbol": "ETH",
            "stolen": "100",
            "swapped_in": "0",
            "endpoints": "40",
            "unmoved": "29.99",
            "fees": "0.01",
            "below_threshold": "0",
            "unexplored": "0",
            "swapped_out": "30",
        },
        f"ethereum:{USDT}": {
            "symbol": "USDT",
            "stolen": "0",
            "swapped_in": "54000",
            "endpoints": "54000",
            "unmoved": "0",
            "fees": "0",
            "below_threshold": "0",
            "unexplored": "0",
            "swapped_out": "0",
        },
    },
    "endpoints_by_category": {"exchange": {"ethereum:native": "40"}, "mixer": {f"ethereum:{USDT}": "54000"}},
    "counts": {"addresses_visited": 5, "transfers_read": 20, "requests": 7},
}


def write_tiny_bundle(out: Path) -> Path:
    """The SYNTHETIC bundle above, in the exact file format of INTERFACES §4."""
    return write_hand_bundle(out, FLOWS, ADDRESSES, ENDPOINTS, SUMMARY)


def write_hand_bundle(out: Path, flows: list, addresses: list, endpoints: list, summary: dict) -> Path:
    """A hand-written SYNTHETIC bundle (rows shaped like FLOWS, ADDRESSES, ENDPOINTS above)."""
    out.mkdir(parents=True, exist_ok=True)
    flow_lines = ["chain,tx_hash,position,block,timestamp,from,to,asset,asset_id,amount,tainted_amount,hop"]
    flow_lines += [",".join(["ethereum", *map(str, row[:2]), str(row[2]), *map(str, row[3:])]) for row in flows]
    (out / table_file("flows")).write_text("\n".join(flow_lines) + "\n")
    address_lines = ["chain,address,role,category,label,label_source,hop,tainted_in,asset,first_tainted_at"]
    address_lines += [",".join(["ethereum", *map(str, row), "2023-06-03T00:00:00Z"]) for row in addresses]
    (out / table_file("addresses")).write_text("\n".join(address_lines) + "\n")
    endpoint_lines = ["chain,address,category,label,label_source,asset,tainted_amount,first_tainted_at,tx_hash"]
    endpoint_lines += [",".join(["ethereum", *row]) for row in endpoints]
    (out / table_file("endpoints")).write_text("\n".join(endpoint_lines) + "\n")
    (out / SUMMARY_FILE).write_text(json.dumps(summary))
    (out / MANIFEST_FILE).write_text(json.dumps({"tool_version": "test", "block_heights": {"ethereum": 9}}))
    return out
