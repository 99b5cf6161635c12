"""`heisttrace trace` end to end: EtherscanEmulator (127.0.0.1) over a small SYNTHETIC world.

Fictional entities and amounts: a victim hot wallet is drained into a thief address, which
pays a mixer, splits to two hops, swaps ETH for a token through a router and a pool, and
feeds an exchange deposit address that sweeps to a labelled exchange wallet.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from chains.emulators.etherscan import EtherscanEmulator
from chains.emulators.world import EvmWorld, WorldInternal, WorldTokenTransfer, WorldTx
from tests.cli_env import labelled_home, make_env
from tracer.cli import main
from tracer.core.gaps import gap_text

ETH = 10**18


def a(n: int) -> str:
    return f"0x{n:040x}"


def h(n: int) -> str:
    return f"0x{n:064x}"


VICTIM, THIEF, HOP1, HOP2, DEPOSIT, EXCHANGE, MIXER, ROUTER, POOL, TOKEN = (a(0xA0 + i) for i in range(10))
FUNDER = a(0xF0)


def synthetic_world() -> EvmWorld:
    tok = dict(token=TOKEN, symbol="SYN", name="Synthetic USD", decimals=6)
    txs = [
        WorldTx(h(1), 90, 0, 1_700_000_000, FUNDER, HOP1, 2 * ETH),  # clean money before the theft
        WorldTx(h(2), 100, 0, 1_700_001_200, VICTIM, THIEF, 100 * ETH),  # the theft
        WorldTx(h(3), 101, 0, 1_700_001_212, THIEF, MIXER, 10 * ETH),
        WorldTx(h(4), 102, 0, 1_700_001_224, THIEF, HOP1, 50 * ETH),
        WorldTx(h(5), 102, 1, 1_700_001_224, THIEF, HOP2, 20 * ETH),
        WorldTx(  # swap 15 ETH for 30,000 SYN: router wraps and pays the pool, the pool pays the thief
            h(6),
            103,
            0,
            1_700_001_236,
            THIEF,
            ROUTER,
            15 * ETH,
            gas_used=150_000,
            internals=(WorldInternal(ROUTER, POOL, 15 * ETH, "0_1"),),
            tokens=(WorldTokenTransfer(sender=POOL, to=THIEF, value=30_000 * 10**6, log_index=3, **tok),),
        ),
        WorldTx(h(7), 110, 0, 1_700_001_320, HOP1, DEPOSIT, 40 * ETH),
        WorldTx(h(8), 120, 0, 1_700_001_440, DEPOSIT, EXCHANGE, 40 * ETH - 21_000 * 20 * 10**9),
        WorldTx(h(9), 130, 0, 1_700_001_560, HOP2, MIXER, 19 * ETH),
        WorldTx(
            h(10),
            131,
            0,
            1_700_001_572,
            THIEF,
            HOP2,
            0,
            input="0xa9059cbb",
            tokens=(WorldTokenTransfer(sender=THIEF, to=HOP2, value=30_000 * 10**6, log_index=0, **tok),),
        ),
    ]
    world = EvmWorld(chain_id=1)
    world.contracts.update({ROUTER, POOL, TOKEN})
    world.add(txs)
    return world


CASE = """[case]
id = "synthetic-cli"
title = "Synthetic exchange hack (fictional)"

[[seeds]]
chain = "ethereum"
address = "{thief}"

[trace]
since = 100
policy = "haircut"
max_hops = 10
min_taint = "0.0001"
max_addresses = 50

[source]
ethereum = {{ kind = "etherscan", url = "{url}" }}
"""


@pytest.fixture(scope="module")
def emulator():
    with EtherscanEmulator(synthetic_world()) as server:
        yield server


def setup_case(tmp: Path, url: str) -> tuple[Path, Path]:
    home = labelled_home(tmp, exchange=EXCHANGE, mixer=MIXER)
    case = tmp / "case.toml"
    case.write_text(CASE.format(thief=THIEF, url=url))
    return home, case


BUNDLE = ("summary.json", "flows.csv", "addresses.csv", "endpoints.csv", "graph.graphml", "manifest.json")


def test_trace_end_to_end_closes_and_reruns_identically(emulator, tmp_path: Path) -> None:
    home, case = setup_case(tmp_path, emulator.api_url)
    env, out, err = make_env(home)
    code = main(["trace", str(case), "--out", str(tmp_path / "b1"), "--json"], env=env)
    assert code == 0, err.getvalue()
    summary = json.loads(out.getvalue())
    native, token = summary["assets"]["ethereum:native"], summary["assets"][f"ethereum:{TOKEN}"]
    assert native["stolen"] == "100" and native["swapped_out"] == "15"
    assert token["swapped_in"] == "30000" and token["unmoved"] == "30000"
    assert summary["endpoints_by_category"]["mixer"]["ethereum:native"] == "29"
    # haircut at HOP1: 50 tainted + 2 clean held; its fee goes first, then 40 ETH to the deposit address
    fee = 21_000 * 20 * 10**9
    taint_after_fee = 50 * ETH - fee * 50 * ETH // (52 * ETH)
    to_deposit = 40 * ETH * taint_after_fee // (52 * ETH - fee)
    got = summary["endpoints_by_category"]["exchange-deposit"]["ethereum:native"]
    assert Decimal(got) == Decimal(to_deposit) / ETH
    for row in summary["assets"].values():
        d = {k: Decimal(v) for k, v in row.items() if k != "symbol"}
        assert d["stolen"] + d["swapped_in"] == sum(
            d[k] for k in ("endpoints", "unmoved", "fees", "below_threshold", "unexplored", "swapped_out")
        )
    assert summary["complete"] is True
    first_requests = summary["counts"]["requests"]
    assert first_requests > 0
    # same command again: answered from the store, byte-identical CSV and JSON
    env2, out2, _ = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "b2"), "--offline"], env=env2) == 0
    for name in BUNDLE:
        assert (tmp_path / "b1" / name).read_bytes() == (tmp_path / "b2" / name).read_bytes(), name
    assert "bundle written" in out2.getvalue()


def test_interrupt_keeps_progress_and_the_same_command_resumes(emulator, tmp_path: Path, monkeypatch) -> None:
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _, _ = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "whole"), "--json"], env=env) == 0
    # a fresh home: interrupt after the second expansion
    home2, case2 = setup_case(tmp_path / "again", emulator.api_url)
    import tracer.account.engine as engine_module

    original = engine_module.Engine._expand
    calls = {"n": 0}

    def flaky(self, node):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, node)

    monkeypatch.setattr(engine_module.Engine, "_expand", flaky)
    env2, _, err2 = make_env(home2)
    assert main(["trace", str(case2), "--out", str(tmp_path / "resumed")], env=env2) == 130
    assert "resume" in err2.getvalue()
    monkeypatch.setattr(engine_module.Engine, "_expand", original)
    env3, _, _ = make_env(home2)
    assert main(["trace", str(case2), "--out", str(tmp_path / "resumed")], env=env3) == 0
    whole = json.loads((tmp_path / "whole" / "summary.json").read_text())
    resumed = json.loads((tmp_path / "resumed" / "summary.json").read_text())
    assert resumed == whole
    for name in ("flows.csv", "addresses.csv", "endpoints.csv"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "resumed" / name).read_bytes()


def test_budget_gives_exit_4_and_a_bundle_that_says_so(emulator, tmp_path: Path) -> None:
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _, err = make_env(home)
    code = main(["trace", str(case), "--out", str(tmp_path / "b"), "--max-addresses", "1"], env=env)
    assert code == 4
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["complete"] is False and summary["assets"]["ethereum:native"]["unexplored"] != "0"
    assert "incomplete" in err.getvalue()


def test_compare_writes_comparison(emulator, tmp_path: Path) -> None:
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _, _ = make_env(home)
    code = main(["trace", str(case), "--out", str(tmp_path / "cmp"), "--compare", "haircut,fifo,poison"], env=env)
    assert code == 0
    doc = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert set(doc) == {"haircut", "fifo", "poison"}
    assert (tmp_path / "cmp" / "fifo" / "flows.csv").exists()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--policy", "bogus"], "policy"),
        (["--max-addresses", "0"], "max-addresses"),
        (["--strategy", "dfs"], "strategy"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(emulator, tmp_path: Path, argv: list[str], needle: str) -> None:
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _, err = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "x"), *argv], env=env) == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


def test_missing_case_file_is_exit_2(tmp_path: Path) -> None:
    env, _, err = make_env(tmp_path / "home")
    assert main(["trace", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "x")], env=env) == 2
    assert "does not exist" in err.getvalue()


def test_offline_gap_leaves_an_incomplete_bundle_naming_the_gap(emulator, tmp_path: Path) -> None:
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _, _ = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "one"), "--max-addresses", "1"], env=env) == 4
    env2, _, err = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "off"), "--offline"], env=env2) == 4
    assert "incomplete" in err.getvalue()
    summary = json.loads((tmp_path / "off" / "summary.json").read_text())
    assert summary["complete"] is False and summary["gaps"]
    assert json.loads((tmp_path / "off" / "run.json").read_text())["counts"]["requests"] >= 0  # run statistics
    text = gap_text(summary["gaps"][0]).lower()
    assert "offline" in text or "missing" in text
