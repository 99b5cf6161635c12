"""Build examples/bitfinex-2016/ from ../shared/data/raw/bitfinex-2016-hack-cavazos/ (MIT), and serve it offline.

    python tools/build_bitfinex_case.py            # (re)write examples/bitfinex-2016/
    python tools/build_bitfinex_case.py serve      # Esplora emulator of the theft txs on 127.0.0.1 (prints URL)

Data: Francisco Cavazos, "bitfinex-biggest-heist-forensics" (MIT, Copyright (c) 2025 Francisco
Cavazos), commit 19d0606b: the 2,072 unauthorized transactions of the 2 August 2016 Bitfinex
hack as `txid, from, to, amount` (BTC), totalling 119,756.62032288 BTC (≈ 119,756.62).

What is real and what is not, in the served transactions (:func:`read_theft_txs`):

- real: the txid, the victim address (`from`, a BitGo P2SH wallet), the thief address (`to`)
  and the amount;
- not in the data, so left unknown or marked as a placeholder: the input outpoint (a
  placeholder txid derived from the theft txid), the fee (0), other inputs and change
  outputs, the block height (unknown) and the time (the day only: 2016-08-02T00:00:00Z);
- the spending side (the laundering) is not in the data: the emulator answers 404 for
  outspends, so the trace reports the loot as *unexplored*, never as "unmoved". Run the
  same case against a real Esplora (mempool.space) to follow the real spends.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tracer.core.models import TxInput, TxOutput, UtxoTx  # noqa: E402

RAW = ROOT.parent / "shared" / "data" / "raw" / "bitfinex-2016-hack-cavazos"
OUT = ROOT / "examples" / "bitfinex-2016"
DATASET = "bitfinex_tx_dataset.csv"
EXPECTED_ROWS = 2072
EXPECTED_TOTAL = Decimal("119756.62032288")  # exact sum of the amounts (≈ 119,756.62 BTC)
THEFT_DAY = 1_470_096_000  # 2016-08-02T00:00:00Z (the data gives the day only)
SAT = 10**8

ATTRIBUTION = """Data: Francisco Cavazos, bitfinex-biggest-heist-forensics
(https://github.com/FranciscoCavazos/bitfinex-biggest-heist-forensics, commit 19d0606b77af6d75898d5c6e0de088b67bd68f4c),
file bitfinex_tx_dataset.csv, used under the MIT License:

MIT License

Copyright (c) 2025 Francisco Cavazos

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

README = """# Bitfinex hack, 2 August 2016 (example case)

The 2,072 unauthorized Bitcoin transactions of the Bitfinex hack, 119,756.62032288 BTC in total
(≈ 119,756.62; the DOJ statement of facts in US v. Lichtenstein & Morgan, 2022, says 119,754–119,756 BTC).
Built by `tools/build_bitfinex_case.py` from the MIT-licensed dataset credited in `LICENSE-DATA`.

- `case.toml` — one seed per theft transaction (`tx` plus the stolen `amount`).
- `theft_txs.csv` — the dataset: `txid, from, to, amount` (BTC). One `from`/`to` pair per
  transaction simplifies the real UTXO structure.

Offline run (the emulator serves only the theft transactions; their spending is not in the
data, so the trace ends with the whole loot *unexplored* and exit code 4, never claiming it unmoved):

    python tools/build_bitfinex_case.py serve     # prints http://127.0.0.1:PORT/api
    heisttrace trace examples/bitfinex-2016/case.toml --api-url http://127.0.0.1:PORT/api --out out/bitfinex

Online, against a real Esplora (follows the real laundering; public APIs are slow and rate-limited):

    heisttrace trace examples/bitfinex-2016/case.toml --out out/bitfinex
"""


def read_rows(path: Path) -> list[dict[str, str]]:
    """The dataset rows, checked: 2,072 distinct txids totalling exactly 119,756.62 BTC."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if [c for c in ("txid", "from", "to", "amount") if rows and c not in rows[0]]:
        raise SystemExit(f"{path}: expected columns txid, from, to, amount")
    total = sum(Decimal(r["amount"]) for r in rows)
    if len(rows) != EXPECTED_ROWS or len({r["txid"] for r in rows}) != EXPECTED_ROWS or total != EXPECTED_TOTAL:
        raise SystemExit(f"{path}: {len(rows)} rows totalling {total} BTC; expected 2072 totalling {EXPECTED_TOTAL}")
    return sorted(rows, key=lambda r: r["txid"])


def placeholder_outpoint(txid: str) -> str:
    """A stand-in for the unknown outpoint the theft tx spent (clearly not a real txid of the chain)."""
    return hashlib.sha256(f"bitfinex-2016 unknown input of {txid}".encode()).hexdigest()


def read_theft_txs(path: Path) -> list[UtxoTx]:
    """The theft transactions as records (see the module docstring for what is real)."""
    txs = []
    for r in read_rows(path):
        sats = int(Decimal(r["amount"]) * SAT)
        txs.append(
            UtxoTx(
                "bitcoin",
                r["txid"],
                None,
                THEFT_DAY,
                (TxInput(placeholder_outpoint(r["txid"]), 0, r["from"], sats),),
                (TxOutput(0, r["to"], sats, "p2pkh"),),
                0,
            )
        )
    return txs


def emulator_docs(path: Path) -> list[dict]:
    """Esplora JSON for the emulator: confirmed, block unknown, the day as block_time."""
    from chains.emulators.esplora import esplora_json

    docs = []
    for tx in read_theft_txs(path):
        doc = esplora_json(tx)
        doc["status"] = {"confirmed": True, "block_time": THEFT_DAY}
        docs.append(doc)
    return docs


def write_case(raw: Path = RAW, out: Path = OUT) -> Path:
    """Write case.toml, theft_txs.csv, README.md and LICENSE-DATA into `out`."""
    rows = read_rows(raw / DATASET)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(raw / DATASET, out / "theft_txs.csv")
    lines = [
        "# Built by tools/build_bitfinex_case.py from bitfinex_tx_dataset.csv",
        "# (MIT, Copyright (c) 2025 Francisco Cavazos; see LICENSE-DATA).",
        "[case]",
        'id = "bitfinex-2016"',
        'title = "Bitfinex hack, 2 August 2016"',
        'notes = "2,072 theft transactions, 119,756.62032288 BTC, from BitGo wallets at Bitfinex to the thief."',
        "",
        "[trace]",
        'policy = "haircut"',
        "max_hops = 25",
        "# 2,072 seeds of ~58 BTC on average: follow flows down to 0.12 BTC (1e-6 of the loot), not 12 BTC",
        'min_taint = "0.000001"',
        "max_addresses = 3000",
        "",
        "[source]",
        'bitcoin = { kind = "esplora", url = "https://mempool.space/api" }',
    ]
    for r in rows:
        lines += ["", "[[seeds]]", 'chain = "bitcoin"', f'tx = "{r["txid"]}"', f'amount = "{r["amount"]}"']
    (out / "case.toml").write_text("\n".join(lines) + "\n")
    (out / "README.md").write_text(README)
    (out / "LICENSE-DATA").write_text(ATTRIBUTION)
    return out


def serve(csv_path: Path) -> None:
    from chains.emulators.esplora import EsploraEmulator

    emulator = EsploraEmulator(emulator_docs(csv_path), tip=0, spends_unknown=True)
    emulator.start()
    print(f"Esplora emulator with {len(emulator.txs)} Bitfinex theft txs at {emulator.base_url}/api", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build or serve the Bitfinex 2016 example case.")
    parser.add_argument("command", nargs="?", choices=("build", "serve"), default="build")
    parser.add_argument("--raw", type=Path, default=RAW, help="the dataset directory (../shared/data/raw/...)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.out / "theft_txs.csv")
        return 0
    print(f"wrote {write_case(args.raw, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
