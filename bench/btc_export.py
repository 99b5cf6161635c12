"""A SYNTHETIC bitcoin-etl export with known owners: wallets, CoinJoins and an exchange's consolidation.

Every address, transaction and entity here is made up (deterministically from `seed`) and named
synthetic. What it holds, so a clustering can be checked against the truth:

- `wallets` wallets of `addresses_per_wallet` P2WPKH addresses each; each of `txs` transactions
  spends 2-5 addresses of one wallet together (the multi-input heuristic's case) to a payee and
  change;
- `coinjoins` CoinJoins, half Whirlpool-like (5 inputs from 5 wallets, 5 outputs of 0.01 BTC),
  half generic equal-output joins of 6 wallets: clustering them would wrongly merge wallets;
- one synthetic exchange that consolidates `service_deposits` deposit addresses into its hot
  wallet in one transaction (a service-sized merge), and a labelled hot wallet
  (`labels()` gives it, source `synthetic-bench`).

Rows are bitcoin-etl's `transactions` (nested `inputs` / `outputs`), written as JSON lines
(`fmt="json"`, bitcoin-etl's default) or Parquet, in `parts` part files.

    python -m bench.btc_export OUT_DIR [--txs N] [--wallets N] [--format json|parquet] [--parts N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from tracer.core.models import Category, Label

SAT = 100_000_000
WHIRLPOOL_DENOMINATION = 1_000_000


_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _xor_terms(top: int) -> int:
    out = 0
    for i, g in enumerate(_GEN):
        if top >> i & 1:
            out ^= g
    return out


#: The bech32 generator terms xored in for each top 5 bits of the checksum state (one lookup per symbol).
_STEP = tuple(_xor_terms(top) for top in range(32))


def _p2wpkh(program: bytes) -> str:
    """`segwit_encode("bc", 0, program)` for a 20-byte program, table-driven (the generator's hot spot)."""
    n = int.from_bytes(program, "big")
    data = [0] + [(n >> (155 - 5 * i)) & 31 for i in range(32)]
    chk = _BC_STATE
    for value in (*data, 0, 0, 0, 0, 0, 0):
        chk = ((chk & 0x1FFFFFF) << 5) ^ value ^ _STEP[chk >> 25]
    chk ^= 1  # bech32 (witness v0)
    return "bc1" + "".join(_CHARSET[d] for d in data) + "".join(_CHARSET[(chk >> 5 * (5 - i)) & 31] for i in range(6))


def _state(values: Sequence[int]) -> int:
    chk = 1
    for value in values:
        chk = ((chk & 0x1FFFFFF) << 5) ^ value ^ _STEP[chk >> 25]
    return chk


_BC_STATE = _state([ord(c) >> 5 for c in "bc"] + [0] + [ord(c) & 31 for c in "bc"])


def synthetic_address(name: str) -> str:
    return _p2wpkh(hashlib.sha256(f"synthetic-btc:{name}".encode()).digest()[:20])


def _txid(seed: int, n: int) -> str:
    return hashlib.sha256(f"synthetic-tx:{seed}:{n}".encode()).hexdigest()


@dataclass
class BitcoinTruth:
    """Who owns what in the synthetic export."""

    owners: dict[str, str] = field(default_factory=dict)  # address -> wallet name
    hot_wallet: str = ""
    deposits: tuple[str, ...] = ()
    coinjoin_txids: tuple[str, ...] = ()
    links: int = 0  # links the multi-input heuristic makes (CoinJoins excluded)

    def labels(self) -> list[Label]:
        return [
            Label("bitcoin", self.hot_wallet, Category.EXCHANGE, "Synthetic Exchange (synthetic)", "synthetic-bench")
        ]


def _input(address: str, value: int, prev: str, vout: int, index: int) -> dict[str, Any]:
    return {
        "index": index, "spent_transaction_hash": prev, "spent_output_index": vout, "script_asm": "",
        "script_hex": "", "sequence": 4294967295, "required_signatures": 1, "type": "witness_v0_keyhash",
        "addresses": [address], "value": value,
    }  # fmt: skip


def _output(address: str, value: int, index: int) -> dict[str, Any]:
    return {
        "index": index, "script_asm": "", "script_hex": "", "required_signatures": 1,
        "type": "witness_v0_keyhash", "addresses": [address], "value": value,
    }  # fmt: skip


def _tx(txid: str, block: int, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    fee = sum(i["value"] for i in inputs) - sum(o["value"] for o in outputs)
    return {
        "hash": txid, "size": 200, "virtual_size": 150, "version": 2, "lock_time": 0, "block_number": block,
        "block_hash": f"{block:064x}", "block_timestamp": 1_600_000_000 + block * 600, "is_coinbase": False,
        "index": 0, "inputs": inputs, "outputs": outputs, "input_count": len(inputs), "output_count": len(outputs),
        "input_value": sum(i["value"] for i in inputs), "output_value": sum(o["value"] for o in outputs), "fee": fee,
    }  # fmt: skip


def generate_rows(
    *,
    txs: int,
    wallets: int,
    addresses_per_wallet: int,
    coinjoins: int,
    service_deposits: int,
    seed: int,
    track: bool = True,
) -> tuple[list[dict[str, Any]], BitcoinTruth]:
    """The rows and their truth (`track=False`: no owner map, for exports too large to keep one)."""
    rng = random.Random(seed)
    truth = BitcoinTruth()
    cache: dict[tuple[int, int], str] = {}

    def wallet_address(w: int, j: int) -> str:
        if not track:
            return synthetic_address(f"wallet-{w}-{j}")
        key = (w, j)
        if key not in cache:
            cache[key] = synthetic_address(f"wallet-{w}-{j}")
            truth.owners[cache[key]] = f"wallet-{w}"
        return cache[key]

    rows = []
    n = 0
    for _ in range(txs):
        w = rng.randrange(wallets)
        k = rng.randint(2, min(5, addresses_per_wallet))
        chosen = rng.sample(range(addresses_per_wallet), k)
        inputs = [
            _input(wallet_address(w, j), rng.randint(10_000, 5 * SAT), _txid(seed, -n - 1 - i), 0, i)
            for i, j in enumerate(chosen)
        ]
        total = sum(i["value"] for i in inputs)
        pay = rng.randint(1, total // 2)
        outputs = [
            _output(synthetic_address(f"payee-{seed}-{n}"), pay, 0),
            _output(inputs[0]["addresses"][0], total - pay - 500, 1),
        ]
        rows.append(_tx(_txid(seed, n), 100 + n // 50, inputs, outputs))
        truth.links += len({i["addresses"][0] for i in inputs}) - 1
        n += 1
    joins = []
    for c in range(coinjoins):
        whirlpool = c % 2 == 0
        members = rng.sample(range(wallets), 5 if whirlpool else 6)
        denomination = WHIRLPOOL_DENOMINATION if whirlpool else rng.choice((2_000_000, 3_000_000, 7_000_000))
        inputs = [
            _input(
                wallet_address(w, rng.randrange(addresses_per_wallet)),
                denomination + 10_000 + i,
                _txid(seed, -n * 10 - i),
                1,
                i,
            )
            for i, w in enumerate(members)
        ]
        outputs = [_output(synthetic_address(f"mix-{seed}-{c}-{i}"), denomination, i) for i in range(len(members))]
        if not whirlpool:
            outputs.append(_output(synthetic_address(f"coordinator-{seed}-{c}"), 5_000, len(members)))
        rows.append(_tx(_txid(seed, n), 100 + n // 50, inputs, outputs))
        joins.append(rows[-1]["hash"])
        n += 1
    truth.coinjoin_txids = tuple(joins)
    truth.hot_wallet = synthetic_address("exchange-hot-wallet")
    truth.deposits = tuple(synthetic_address(f"exchange-deposit-{i}") for i in range(service_deposits))
    for address in (truth.hot_wallet, *truth.deposits):
        truth.owners[address] = "exchange"
    if service_deposits:
        sweep = [
            _input(a, rng.randint(100_000, SAT), _txid(seed, -n * 10 - i), 0, i) for i, a in enumerate(truth.deposits)
        ]
        sweep.append(_input(truth.hot_wallet, 1_000_000, _txid(seed, -n * 10 - 9_999), 2, len(sweep)))
        rows.append(
            _tx(
                _txid(seed, n),
                100 + n // 50,
                sweep,
                [_output(truth.hot_wallet, sum(i["value"] for i in sweep) - 2_000, 0)],
            )
        )
        truth.links += service_deposits
        n += 1
    rng.shuffle(rows)
    return rows, truth


def write_bitcoin_export(
    out: Path,
    *,
    txs: int = 2_000,
    wallets: int = 400,
    addresses_per_wallet: int = 6,
    coinjoins: int = 20,
    service_deposits: int = 60,
    seed: int = 7,
    fmt: str = "json",
    parts: int = 1,
    stream: bool = False,
    workers: int = 2,
) -> BitcoinTruth:
    """Write the synthetic export's `transactions` table into `out`; returns the truth."""
    if stream:
        return _write_streamed(
            out, txs=txs, wallets=wallets, coinjoins=coinjoins, seed=seed, parts=parts, workers=workers
        )
    rows, truth = generate_rows(
        txs=txs, wallets=wallets, addresses_per_wallet=addresses_per_wallet, coinjoins=coinjoins,
        service_deposits=service_deposits, seed=seed,
    )  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    folder = out / "transactions" if parts > 1 else out
    folder.mkdir(exist_ok=True)
    size = max(1, -(-len(rows) // max(parts, 1)))
    for i in range(max(parts, 1)):
        chunk = rows[i * size : (i + 1) * size]
        name = f"transactions-{i:05d}" if parts > 1 else "transactions"
        if fmt == "parquet":
            pl.DataFrame(chunk, infer_schema_length=None).write_parquet(folder / f"{name}.parquet")
        else:
            (folder / f"{name}.json").write_text("".join(json.dumps(r) + "\n" for r in chunk), encoding="utf-8")
    return truth


def _write_part(job: tuple[Path, int, int, int, int, int]) -> int:
    """One part file of :func:`_write_streamed`; returns its links."""
    path, txs, wallets, coinjoins, seed, deposits = job
    rows, truth = generate_rows(
        txs=txs, wallets=wallets, addresses_per_wallet=6, coinjoins=coinjoins, service_deposits=deposits,
        seed=seed, track=False,
    )  # fmt: skip
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    return truth.links


def _write_streamed(
    out: Path, *, txs: int, wallets: int, coinjoins: int, seed: int, parts: int, workers: int = 2
) -> BitcoinTruth:
    """Part by part (bounded memory, JSON lines, `workers` processes), without an owner map: for benchmark-sized
    exports. Each part depends only on its number, so the files are the same whatever `workers` is."""
    folder = out / "transactions"
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [
        (folder / f"transactions-{i:05d}.json", txs // parts, wallets, coinjoins // parts, seed * 100_003 + i,
         200 if i == 0 else 0)
        for i in range(parts)
    ]  # fmt: skip
    if workers > 1 and parts > 1:
        with multiprocessing.get_context("spawn").Pool(min(workers, parts)) as pool:
            links = pool.map(_write_part, jobs, chunksize=1)
    else:
        links = [_write_part(job) for job in jobs]
    return BitcoinTruth(links=sum(links))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--txs", type=int, default=2_000)
    parser.add_argument("--wallets", type=int, default=400)
    parser.add_argument("--format", choices=("json", "parquet"), default="json")
    parser.add_argument("--parts", type=int, default=1)
    args = parser.parse_args(argv)
    truth = write_bitcoin_export(args.out, txs=args.txs, wallets=args.wallets, fmt=args.format, parts=args.parts)
    print(f"wrote a SYNTHETIC bitcoin-etl export to {args.out}: {truth.links:,} links, {len(truth.owners):,} addresses")


if __name__ == "__main__":
    main()
