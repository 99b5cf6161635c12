"""Valuation cost: a SYNTHETIC 5,000-address bundle valued from the CoinGecko emulator (127.0.0.1).

Targets (issue 19): valuing adds ≤ 2 s, and takes ≤ 1 request per asset per 90 days of history.
The bundle: 5,000 addresses, one tainted inflow each (ETH and a synthetic token, alternating),
spread over 200 days, 500 of them endpoints; hourly prices with some missing days.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import tempfile
import time
from pathlib import Path

from chains.coingecko import CoinGeckoPrices
from chains.emulators.coingecko import CoinGeckoEmulator
from tracer.bundle.schema import TABLES
from tracer.valuation.apply import value_bundle_dir
from tracer.valuation.book import series_book
from tracer.valuation.config import event_spans

RESULTS = Path(__file__).resolve().parent / "results" / "valuation.json"
ADDRESSES = 5_000
START = 1_690_000_000
DAYS = 200
TOKEN = "0x" + "5e" * 20
ASSETS = {"ethereum:native": ("ETH", "native", "ethereum"), f"ethereum:{TOKEN}": ("SYN", TOKEN, "synthetic-token")}


def _write(path: Path, table: str, rows: list[list[object]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(TABLES[table])
        writer.writerows(rows)


def build_bundle(root: Path) -> None:
    """A SYNTHETIC bundle of ADDRESSES addresses (not a real trace)."""
    flows, addresses, endpoints = [], [], []
    seed = "0x" + "11" * 20
    step = DAYS * 86400 // ADDRESSES
    for i in range(ADDRESSES):
        key = list(ASSETS)[i % 2]
        symbol, asset_id, _ = ASSETS[key]
        address = f"0x{i + 1:040x}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(START + i * step))
        amount = f"{(i % 97) + 1}.{i:06d}"
        flows.append(
            ["ethereum", f"0x{i:064x}", 0, 1000 + i, stamp, seed, address, symbol, asset_id, amount, amount, 1]
        )
        endpoint = i % 10 == 0
        role = "endpoint" if endpoint else "transit"
        addresses.append(["ethereum", address, role, "exchange" if endpoint else "", "", "", 1, amount, key, stamp])
        if endpoint:
            endpoints.append(
                ["ethereum", address, "exchange", "Synthetic Exchange", "test", key, amount, stamp, f"0x{i:064x}"]
            )
    _write(root / "flows.csv", "flows", flows)
    _write(root / "addresses.csv", "addresses", addresses)
    _write(root / "endpoints.csv", "endpoints", endpoints)
    buckets = dict.fromkeys(
        ("stolen", "swapped_in", "swapped_out", "endpoints", "unmoved", "fees", "below_threshold", "unexplored"), "0"
    )
    summary = {
        "case": "bench-synthetic",
        "policy": "haircut",
        "assets": {k: {"symbol": v[0], **buckets} for k, v in ASSETS.items()},
        "gaps": [],
        "swaps": [],
    }
    (root / "summary.json").write_text(json.dumps(summary))
    (root / "manifest.json").write_text("{}")


def main() -> dict:
    hours = [START - 2 * 86400 + 3600 * h for h in range((DAYS + 3) * 24)]
    series = {v[2]: [(t, f"{1000 + (t // 3600) % 500}.{t % 97:02d}") for t in hours] for v in ASSETS.values()}
    with tempfile.TemporaryDirectory(prefix="bench-valuation-") as tmp:
        root = Path(tmp)
        build_bundle(root)
        with CoinGeckoEmulator(series, now=START + DAYS * 86400) as server:
            started = time.perf_counter()
            flows = list(csv.DictReader((root / "flows.csv").open()))
            endpoints = list(csv.DictReader((root / "endpoints.csv").open()))
            source = CoinGeckoPrices(base_url=server.base_url, rate_per_s=100)
            ids = {k: {"coingecko": v[2]} for k, v in ASSETS.items()}
            book = series_book(source, event_spans(flows, endpoints), ids=ids)
            fetched = time.perf_counter()
            value_bundle_dir(root, book)
            done = time.perf_counter()
            requests = server.requests
        valued = sum(1 for r in csv.DictReader((root / "flows.csv").open()) if r["tainted_usd"])
        shutil.rmtree(root, ignore_errors=True)
    history_days = DAYS + 1.5  # event span plus the 36 h look-back
    allowed = len(ASSETS) * math.ceil(history_days / 90)
    result = {
        "addresses": ADDRESSES,
        "assets": len(ASSETS),
        "history_days": history_days,
        "valuation_seconds": round(done - fetched, 3),
        "fetch_seconds_loopback": round(fetched - started, 3),
        "total_seconds": round(done - started, 3),
        "requests": requests,
        "requests_allowed": allowed,
        "flows_valued": valued,
        "targets": {"valuation_seconds_max": 2.0, "requests_per_asset_per_90_days_max": 1},
        "met": (done - started) <= 2.0 and requests <= allowed,
    }
    print(json.dumps(result, indent=2))
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
