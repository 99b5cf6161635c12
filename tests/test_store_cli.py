"""`heisttrace store info` shows the store's path, schema version, counts and covered addresses."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from tracer.cli import main
from tracer.core.models import FEE_SINK, Asset, Transfer, TransferKind
from tracer.core.protocols import HistoryChunk
from tracer.environment import Environment
from tracer.store import Store

ADDRESS = "0x" + "ab" * 20


def _run(home: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdout=Console(file=out, width=200, soft_wrap=True), stderr=Console(file=err, soft_wrap=True), home=home
    )
    code = main(list(argv), env)
    return code, out.getvalue(), err.getvalue()


def _fill(home: Path) -> None:
    eth = Asset("ethereum", None, "ETH", 18)
    fee = Transfer("ethereum", "0x" + "01" * 32, 0, 7, 0, 1, ADDRESS, FEE_SINK, eth, 21_000, TransferKind.FEE)
    with Store.open(home / "store.sqlite3") as store:
        store.write_history("etherscan", "ethereum", ADDRESS, HistoryChunk((fee,), 0, 99))
        store.write_history("etherscan", "ethereum", ADDRESS, HistoryChunk((), 200, 299))


def test_store_info_json(tmp_path: Path) -> None:
    _fill(tmp_path)
    code, out, err = _run(tmp_path, "store", "info", "--json")
    assert code == 0 and err == ""
    info = json.loads(out)
    assert info["path"] == str(tmp_path / "store.sqlite3") and info["schema_version"] >= 1
    assert info["counts"]["transfers"] == 1 and info["counts"]["covered_addresses"] == 1
    assert info["covered"] == [
        {
            "source": "etherscan",
            "chain": "ethereum",
            "address": ADDRESS,
            "kind": "transfers",
            "ranges": [[0, 99], [200, 299]],
        }
    ]


def test_store_info_table_and_limit(tmp_path: Path) -> None:
    _fill(tmp_path)
    code, out, _ = _run(tmp_path, "store", "info")
    assert code == 0 and str(tmp_path / "store.sqlite3") in out and "0-99, 200-299" in out and ADDRESS in out
    code, out, _ = _run(tmp_path, "store", "info", "--limit", "0")
    assert code == 0 and ADDRESS not in out and "1 more" in out
    code, _, err = _run(tmp_path, "store", "info", "--limit", "-1")
    assert code == 2 and err.strip() == "heisttrace: --limit: expected 0 or more"


def test_store_info_on_a_newer_store_is_one_line(tmp_path: Path) -> None:
    import sqlite3

    Store.open(tmp_path / "store.sqlite3").close()
    with sqlite3.connect(tmp_path / "store.sqlite3") as conn:
        conn.execute("INSERT INTO schema_version VALUES (999)")
    code, _, err = _run(tmp_path, "store", "info")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "newer than this heisttrace knows" in err
