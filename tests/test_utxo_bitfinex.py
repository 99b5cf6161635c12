"""The Bitfinex 2016 example: built from the MIT dataset, traced offline through the Esplora emulator.

Real data: txid, from, to, amount of the 2,072 theft transactions. The emulator cannot know
who spent the stolen outputs (not in the data), so the whole loot must come out *unexplored*.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from chains.emulators.esplora import EsploraEmulator
from tools.build_bitfinex_case import OUT, RAW, emulator_docs, read_theft_txs, write_case
from tracer.cli import main
from tracer.environment import Environment

CASE = OUT / "case.toml"
CSV = OUT / "theft_txs.csv"


def dataset_total() -> Decimal:
    with CSV.open(newline="") as fh:
        return sum((Decimal(r["amount"]) for r in csv.DictReader(fh)), Decimal(0))


@pytest.fixture(scope="module")
def emulator():
    with EsploraEmulator(emulator_docs(CSV), spends_unknown=True) as server:
        yield server


@pytest.fixture(scope="module")
def bundle(emulator, tmp_path_factory) -> tuple[int, Path]:
    """`heisttrace trace examples/bitfinex-2016/case.toml --api-url <emulator>` run once."""
    tmp = tmp_path_factory.mktemp("bitfinex")
    env = Environment(
        stdout=Console(file=io.StringIO(), width=200), stderr=Console(file=io.StringIO()), home=tmp / "home", environ={}
    )
    code = main(["trace", str(CASE), "--api-url", emulator.base_url + "/api", "--out", str(tmp / "b"), "--json"], env)
    return code, tmp / "b"


def test_shipped_example_matches_a_fresh_build(tmp_path):
    if not (RAW / "bitfinex_tx_dataset.csv").is_file():
        pytest.skip("../shared/data/raw/bitfinex-2016-hack-cavazos is not present")
    write_case(RAW, tmp_path)
    for name in ("case.toml", "theft_txs.csv", "README.md", "LICENSE-DATA"):
        assert (tmp_path / name).read_bytes() == (OUT / name).read_bytes(), name
    assert "MIT License" in (OUT / "LICENSE-DATA").read_text()


def test_dataset_shape():
    txs = read_theft_txs(CSV)
    assert len(txs) == 2072 and len({t.txid for t in txs}) == 2072
    assert all(t.inputs[0].address.startswith("3") and t.outputs[0].address.startswith("1") for t in txs)
    assert dataset_total().quantize(Decimal("0.01")) == Decimal("119756.62")


def test_cli_trace_accounts_the_stolen_total_exactly(bundle):
    code, out = bundle
    assert code == 4  # incomplete: the spending side is unknown
    summary = json.loads((out / "summary.json").read_text())
    row = summary["assets"]["bitcoin:native"]
    assert Decimal(row["stolen"]) == dataset_total()  # 119756.62032288 BTC, exact to the satoshi
    assert Decimal(row["stolen"]).quantize(Decimal("0.01")) == Decimal("119756.62")
    # the spending side is not in the data: everything is unexplored, nothing is claimed unmoved
    assert row["unexplored"] == row["stolen"] and row["unmoved"] == "0" and row["endpoints"] == "0"
    assert summary["complete"] is False and summary["case"] == "bitfinex-2016"
    assert summary["counts"]["outputs_with_unknown_spender"] == 2072
    with (out / "flows.csv").open(newline="") as fh:
        flows = list(csv.DictReader(fh))
    assert len(flows) == 2072 and {f["timestamp"] for f in flows} == {"2016-08-02T00:00:00Z"}
    assert sum(Decimal(f["tainted_amount"]) for f in flows) == dataset_total()
    with (out / "addresses.csv").open(newline="") as fh:
        assert {r["role"] for r in csv.DictReader(fh)} == {"seed"}
