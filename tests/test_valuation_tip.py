"""Unmoved value is valued at the pinned tip's time, which the manifest records (`tip_times`), also offline."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_env import make_env
from tests.test_engine_cli import emulator, setup_case, synthetic_world  # noqa: F401  (emulator is a fixture)
from tests.test_mixed_case import home_with_labels, servers, trace_cli, write_case  # noqa: F401
from tests.test_valuation_trace import ETH_POINTS, _expected, _price_file
from tracer.cli import main


def test_tip_time_recorded_and_unmoved_valued_then(emulator, tmp_path: Path) -> None:  # noqa: F811
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _out, err = make_env(home)
    prices = _price_file(tmp_path)
    assert main(["trace", str(case), "--out", str(tmp_path / "b"), "--prices", str(prices)], env=env) == 0, (
        err.getvalue()
    )
    world = synthetic_world()
    tip = max(tx.block for tx in world.txs)
    tip_time = next(tx.timestamp for tx in world.txs if tx.block == tip)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["block_heights"] == {"ethereum": tip} and manifest["tip_times"] == {"ethereum": tip_time}
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    native = summary["assets"]["ethereum:native"]
    assert native["unmoved"] != "0"
    assert native["usd"]["unmoved"] == _expected(ETH_POINTS, native["unmoved"], tip_time)
    # offline: the tip and its time come from the store, the same bundle
    off = tmp_path / "off"
    assert main(["trace", str(case), "--out", str(off), "--prices", str(prices), "--offline"], env=env) == 0
    assert json.loads((off / "manifest.json").read_text())["tip_times"] == {"ethereum": tip_time}
    assert (off / "summary.json").read_bytes() == (tmp_path / "b" / "summary.json").read_bytes()


def test_mixed_case_records_both_tips_times(servers, tmp_path: Path) -> None:  # noqa: F811
    home = home_with_labels(tmp_path, servers)
    case = write_case(tmp_path, servers, chains=("ethereum", "bitcoin"), name="mixed")
    assert trace_cli(home, case, tmp_path / "mixed") == 0
    manifest = json.loads((tmp_path / "mixed" / "manifest.json").read_text())
    btc = servers[1]
    tip = manifest["block_heights"]["bitcoin"]
    times = {d["status"]["block_time"] for d in btc.txs.values() if d["status"].get("block_height") == tip}
    assert tip == btc.tip and len(times) == 1
    assert manifest["tip_times"]["bitcoin"] == times.pop()  # from Esplora's /block-height and /block/:hash
    assert set(manifest["tip_times"]) == {"ethereum", "bitcoin"}
