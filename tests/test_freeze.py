"""`heisttrace freeze`: packs per service over the SYNTHETIC world of tests/test_engine_cli.py."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

from chains.emulators.etherscan import EtherscanEmulator
from tests.cli_env import make_env
from tests.test_engine_cli import DEPOSIT, setup_case, synthetic_world
from tracer.cli import main


def test_freeze_pack_lists_every_exchange_endpoint_and_sums_match(tmp_path: Path) -> None:
    with EtherscanEmulator(synthetic_world()) as emulator:
        home, case = setup_case(tmp_path, emulator.api_url)
        env, _, err = make_env(home)
        assert main(["trace", str(case), "--out", str(tmp_path / "b"), "--json"], env=env) == 0, err.getvalue()
    env, _, err = make_env(home)
    assert main(["freeze", str(tmp_path / "b"), "--out", str(tmp_path / "packs"), "--no-pdf"], env=env) == 0
    with (tmp_path / "b" / "endpoints.csv").open() as fh:
        endpoints = [r for r in csv.DictReader(fh) if r["category"].startswith("exchange")]
    assert endpoints and {r["address"] for r in endpoints} == {DEPOSIT}
    folders = sorted(p for p in (tmp_path / "packs").iterdir())
    assert [p.name for p in folders] == ["synthetic-exchange"]  # the mixer gets no request
    with (folders[0] / "deposits.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    listed = {r["deposit_address"] for r in rows}
    assert listed == {r["address"] for r in endpoints}
    stolen = sum(Decimal(r["stolen_amount"]) for r in rows)
    assert stolen == sum(Decimal(r["tainted_amount"]) for r in endpoints)
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert stolen == sum(Decimal(e["amount"]) for e in summary["endpoints"] if e["address"] == DEPOSIT)
    assert all(r["explorer_link"].startswith("https://") for r in rows)
    text = (folders[0] / "request.md").read_text()
    assert DEPOSIT in text and "haircut" in text and "case file SHA-256" in text
    assert " → " in text  # the path from the seed
