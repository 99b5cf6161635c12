"""`heisttrace demo`: the SYNTHETIC scenario, traced end to end offline through the real code path."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from tracer.cli import main
from tracer.demo.scenario import CASE_TITLE, LABEL_SOURCE, build_scenario
from tracer.environment import Environment


def test_scenario_is_deterministic_and_labelled_synthetic() -> None:
    a, b = build_scenario(), build_scenario()
    assert [t.hash for t in a.world.txs] == [t.hash for t in b.world.txs]
    assert [t.hash for t in build_scenario(seed=1).world.txs] != [t.hash for t in a.world.txs]
    assert "SYNTHETIC" in CASE_TITLE
    assert a.labels and all(lab.source == LABEL_SOURCE and "(synthetic)" in lab.name for lab in a.labels)
    case = a.case_toml(api_url="http://127.0.0.1:1/v2/api")
    assert "synthetic" in case.lower() and a.thief in case and a.token_thief in case


def _balance(sheet: dict[str, str]) -> tuple[Decimal, Decimal]:
    d = {k: Decimal(v) for k, v in sheet.items() if k not in ("symbol", "thief_funds", "usd")}
    inflow = d["stolen"] + d["swapped_in"]
    outflow = sum(d[k] for k in ("endpoints", "unmoved", "fees", "below_threshold", "unexplored", "swapped_out"))
    return inflow, outflow


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, str]:
    tmp = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    env = Environment(
        stdout=Console(file=out, width=140, soft_wrap=True),
        stderr=Console(file=io.StringIO(), width=140),
        home=tmp / "home",
        environ={},
    )
    code = main(["demo", "--out", str(tmp / "bundle")], env=env)
    return code, tmp / "bundle", out.getvalue()


def test_demo_command_writes_the_full_bundle(demo_run: tuple[int, Path, str]) -> None:
    code, bundle, printed = demo_run
    assert code == 0, printed
    for name in ("summary.json", "addresses.csv", "flows.csv", "endpoints.csv", "graph.graphml", "manifest.json"):
        assert (bundle / name).is_file(), name
    assert (bundle / "report.html").is_file()
    assert "SYNTHETIC" in printed and "Balance sheet" in printed
    assert "Path 1" in printed


def test_demo_trace_follows_the_playbook(demo_run: tuple[int, Path, str]) -> None:
    _, bundle, _ = demo_run
    summary = json.loads((bundle / "summary.json").read_text())
    assert summary["complete"] is True
    assert "synthetic" in summary["case"]
    eth = summary["assets"]["ethereum:native"]
    dusd = next(v for k, v in summary["assets"].items() if v["symbol"] == "DUSD")
    # The DEX swap: all stolen DUSD left as a swap and came back as 600 ETH.
    assert Decimal(dusd["stolen"]) == Decimal(dusd["swapped_out"]) == 1_500_000
    # exactly the 2,400 ETH stolen; the gas the thief's own station later gave the addresses it funded is
    # thief funds, on their own balance sheet
    assert Decimal(eth["stolen"]) == 2_400 and Decimal(eth["swapped_in"]) == 600
    assert 0 < Decimal(eth["thief_funds"]["gained"]) < 1
    for sheet in summary["assets"].values():
        inflow, outflow = _balance(sheet)
        assert inflow == outflow
        if "thief_funds" in sheet:
            funds = {**sheet["thief_funds"], "stolen": sheet["thief_funds"]["gained"]}
            assert _balance(funds)[0] == _balance(funds)[1]
    # Exchange deposit addresses (recognised by their sweeps), the mixer and the bridge are endpoints.
    assert {"exchange-deposit", "mixer", "bridge"} <= set(summary["endpoints_by_category"])
    # The peel chains' ends keep the rest: unmoved, not lost.
    assert Decimal(eth["unmoved"]) > 0
    # Dust and the fake look-alike token are not loot.
    assert all(v["symbol"] != "DUSD" or k.endswith(dusd_key(summary)) for k, v in summary["assets"].items())


def dusd_key(summary: dict) -> str:
    keys = [k for k, v in summary["assets"].items() if v["symbol"] == "DUSD"]
    assert len(keys) == 1, f"a fake DUSD was counted as loot: {keys}"
    return keys[0]


def test_demo_refuses_a_file_as_output(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    err = io.StringIO()
    env = Environment(
        stdout=Console(file=io.StringIO()), stderr=Console(file=err, width=200), home=tmp_path, environ={}
    )
    assert main(["demo", "--out", str(target)], env=env) == 2
    assert "is a file" in err.getvalue() and "Traceback" not in err.getvalue()
