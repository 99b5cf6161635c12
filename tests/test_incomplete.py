"""Honest incompleteness (issue 15 item 8): a trace that is missing something says what, where and why.

SYNTHETIC world of tests/test_engine_cli.py, served by the Etherscan emulator on 127.0.0.1.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from chains.emulators.etherscan import EtherscanEmulator
from tests.cli_env import make_env
from tests.test_engine_cli import HOP1, HOP2, THIEF, a, setup_case, synthetic_world
from tracer.cli import main


@pytest.fixture(scope="module")
def emulator():
    with EtherscanEmulator(synthetic_world()) as server:
        yield server


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def _roles(out: Path) -> dict[str, set[str]]:
    roles: dict[str, set[str]] = {}
    with (out / "addresses.csv").open() as f:
        for row in csv.DictReader(f):
            roles.setdefault(row["address"], set()).add(row["role"])
    return roles


def test_budget_run_lists_every_unread_address_and_marks_it_unexplored(emulator, tmp_path: Path) -> None:
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _, err = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "b"), "--max-addresses", "1"], env=env) == 4
    summary = _summary(tmp_path / "b")
    assert summary["complete"] is False
    gaps = {g["address"]: g for g in summary["gaps"]}
    assert set(gaps) == {HOP1, HOP2}  # the two addresses the thief paid that the budget left unread
    tip = json.loads((tmp_path / "b" / "manifest.json").read_text())["block_heights"]["ethereum"]
    for entry in gaps.values():
        assert entry["kind"] == "budget" and entry["chain"] == "ethereum"
        assert entry["range"] == {"from_block": 0, "to_block": tip}
        assert "max_addresses = 1" in entry["why"]
    roles = _roles(tmp_path / "b")
    assert roles[HOP1] == {"unexplored"} and roles[HOP2] == {"unexplored"}
    assert roles[THIEF] == {"seed"}
    assert "2 gaps" in err.getvalue()


def test_hop_limit_gap_says_hop_limit(emulator, tmp_path: Path) -> None:
    home, case = setup_case(tmp_path, emulator.api_url)
    case.write_text(case.read_text().replace("max_hops = 10", "max_hops = 1"))
    env, _, _ = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "b")], env=env) == 4
    kinds = {g["kind"] for g in _summary(tmp_path / "b")["gaps"]}
    assert kinds == {"hop-limit"}
    assert "transit" not in _roles(tmp_path / "b")[HOP1]


def test_a_complete_trace_has_no_gaps_and_no_unexplored_role(emulator, tmp_path: Path) -> None:
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _, _ = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "b")], env=env) == 0
    assert _summary(tmp_path / "b")["gaps"] == []
    assert not any("unexplored" in r for r in _roles(tmp_path / "b").values())


def test_offline_on_an_empty_store_writes_a_bundle_that_says_it_is_incomplete(emulator, tmp_path: Path) -> None:
    _, case = setup_case(tmp_path, emulator.api_url)
    env, _, err = make_env(tmp_path / "empty-home")
    assert main(["trace", str(case), "--out", str(tmp_path / "off"), "--offline"], env=env) == 4
    summary = _summary(tmp_path / "off")
    assert summary["complete"] is False
    (entry,) = summary["gaps"]
    assert entry["kind"] == "offline" and entry["address"] == THIEF and entry["chain"] == "ethereum"
    assert "run once without --offline" in entry["why"]
    assert (tmp_path / "off" / "manifest.json").is_file()
    assert "incomplete" in err.getvalue()


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda text: text.replace(THIEF, a(0x777)), "since 100"),  # a seed that never moved anything
        (lambda text: text.replace("since = 100", "since = 100000"), "since 100000"),  # since after the tip
    ],
    ids=["idle-seed", "since-in-the-future"],
)
def test_no_activity_in_the_window_is_exit_4_with_a_message(emulator, tmp_path: Path, edit, where: str) -> None:
    home, case = setup_case(tmp_path, emulator.api_url)
    case.write_text(edit(case.read_text()))
    env, _, err = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "b")], env=env) == 4
    line = err.getvalue()
    assert "no seed had any activity" in line and where in line
    summary = _summary(tmp_path / "b")
    assert summary["complete"] is False
    assert [g["kind"] for g in summary["gaps"]] == ["no-activity"]


def test_utxo_budget_and_hop_limit_gaps_name_address_and_output(tmp_path: Path) -> None:
    """The UTXO engine too: each output a limit left unfollowed is a gap; its address is `unexplored`."""
    from chains.emulators.esplora import EsploraEmulator
    from chains.esplora import EsploraAdapter
    from tests.test_utxo_engine import FAST, config, scenario
    from tracer.sources.utxo_history import UtxoHistoryService
    from tracer.utxo.run import trace_utxo

    txs, labels, _ = scenario()
    with EsploraEmulator(txs) as server:
        adapter = EsploraAdapter(url=server.base_url, retry=FAST)
        for kw, kind in (({"max_addresses": 3}, "budget"), ({"max_hops": 2}, "hop-limit")):
            result = trace_utxo(config(**kw), UtxoHistoryService(adapter, None), labels=labels)
            gaps = [g for g in result.summary["gaps"] if isinstance(g, dict)]
            assert gaps and {g["kind"] for g in gaps} == {kind}
            unexplored = set(result.addresses.filter(result.addresses["role"] == "unexplored")["address"].to_list())
            assert unexplored == {g["address"] for g in gaps}
            for g in gaps:
                assert g["chain"] == "bitcoin" and "output " in g["why"] and g["range"]["to_block"] is not None
