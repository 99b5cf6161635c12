"""End to end across chains (SYNTHETIC world, independent emulators on 127.0.0.1): ETH → BTC through
THORChain and USDC ethereum → arbitrum through LI.FI; the trace goes on to exchanges on both
destinations; every chain's sheet closes; the report shows the crossings; a re-run is identical."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from chains.emulators.esplora import EsploraEmulator
from chains.emulators.etherscan import EtherscanEmulator
from chains.emulators.lifi import LifiEmulator
from chains.emulators.messaging import LayerZeroScanEmulator, WormholeScanEmulator
from chains.emulators.midgard import MidgardEmulator
from tests import crosschain_world as w
from tests.cli_env import make_env
from tracer.cli import main
from tracer.store import Store

IN = ("stolen", "swapped_in", "bridged_in")
OUT = ("swapped_out", "bridged_out", "endpoints", "unmoved", "fees", "below_threshold", "unexplored", "excluded")


def worlds(**kw):
    return {1: w.ethereum(), 42161: w.arbitrum(**kw), 10: w.optimism(), 8453: w.base(), 137: w.polygon()}


@pytest.fixture(scope="module")
def servers():
    with (
        EtherscanEmulator(worlds()) as eth,
        EsploraEmulator(w.bitcoin()) as btc,
        MidgardEmulator(w.midgard_actions()) as midgard,
        LifiEmulator(w.lifi_transfers()) as lifi,
        LayerZeroScanEmulator(w.layerzero_messages()) as layerzero,
        WormholeScanEmulator(w.wormhole_operations()) as wormhole,
    ):
        yield {"eth": eth, "btc": btc, "midgard": midgard, "lifi": lifi, "layerzero": layerzero, "wormhole": wormhole}


def setup(tmp: Path, servers: dict) -> tuple[Path, Path]:
    home = tmp / "home"
    home.mkdir(parents=True)
    with Store.open(home / "store.sqlite3") as store:
        store.write_user_labels(w.labels())
    case = tmp / "case.toml"
    urls = {name: server.base_url for name, server in servers.items()}
    case.write_text(w.CASE.format(thief=w.THIEF, **{**urls, "eth": servers["eth"].api_url}))
    return home, case


def run(home: Path, case: Path, out: Path, *extra: str, code: int = 0) -> None:
    env, _, err = make_env(home)
    assert main(["trace", str(case), "--out", str(out), *extra], env=env) == code, err.getvalue()


def closes(row: dict[str, str]) -> bool:
    d = {k: Decimal(v) for k, v in row.items() if isinstance(v, str) and k != "symbol"}
    return sum(d.get(k, 0) for k in IN) == sum(d.get(k, 0) for k in OUT)


def test_trace_crosses_to_bitcoin_and_arbitrum(servers, tmp_path: Path) -> None:
    home, case = setup(tmp_path, servers)
    run(home, case, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assets = summary["assets"]
    for key, row in assets.items():
        assert closes(row), (key, row)
    back = next(c for c in summary["crossings"] if c["from"]["chain"] == "bitcoin")  # ETH -> BTC -> ETH
    assert (back["protocol"], back["method"], back["crossing"], back["to"]["tx"]) == (
        "thorchain",
        "midgard",
        2,
        w.ETH_BACK_TX,
    )
    assert back["from"]["tx"] == w.BTC_SPEND and back["to"]["address"] == w.ETH_BACK
    crossings = {c["protocol"]: c for c in summary["crossings"] if c is not back}
    assert set(crossings) == {"thorchain", "lifi", "across", "Synthetic X Bridge", "layerzero", "wormhole"}
    sg, wh = crossings["layerzero"], crossings["wormhole"]  # Stargate ETH -> base; Wormhole ETH -> WETH on polygon
    assert (sg["status"], sg["method"], sg["to"]["chain"], sg["to"]["tx"], sg["to"]["address"]) == (
        "resolved",
        "layerzero-oft",
        "base",
        w.SG_BASE_TX,
        w.BASE_THIEF,
    )
    assert (wh["status"], wh["method"], wh["to"]["chain"], wh["to"]["address"], wh["to"]["symbol"]) == (
        "resolved",
        "wormholescan",
        "polygon",
        w.POLY_THIEF,
        "WETH",
    )
    x = crossings["Synthetic X Bridge"]  # no resolver: one arrival fits amount and time, as a lead
    assert (x["status"], x["method"], x["to"]["tx"], x["to"]["chain"]) == (
        "resolved",
        "amount-time",
        w.X_ARRIVAL,
        "arbitrum",
    )
    assert x["confidence"] < crossings["thorchain"]["confidence"]
    assert Decimal(assets["arbitrum:native"]["bridged_in"]) == Decimal(x["to"]["amount"]) > 0
    across = crossings["across"]  # a second crossing: arbitrum -> optimism, joined on (origin chain, deposit id)
    assert (across["status"], across["method"], across["crossing"]) == ("resolved", "across-events", 2)
    assert (across["from"]["chain"], across["to"]["chain"], across["to"]["tx"]) == ("arbitrum", "optimism", w.OPT_FILL)
    assert across["to"]["address"] == w.OPT_THIEF and across["to"]["amount"] == "899"
    thor, lifi = crossings["thorchain"], crossings["lifi"]
    assert (thor["status"], thor["method"], thor["to"]["chain"], thor["to"]["tx"]) == (
        "resolved",
        "midgard",
        "bitcoin",
        w.BTC_OUT,
    )
    assert all(thor["checks"].values()) and thor["checks"]  # the OUT:<id> OP_RETURN is on the BTC outbound
    assert (lifi["status"], lifi["method"], lifi["to"]["chain"], lifi["to"]["address"]) == (
        "resolved",
        "lifi-status",
        "arbitrum",
        w.ARB_THIEF,
    )
    # haircut-proportional share: paid × tainted / what the bridge took in
    for c in (thor, lifi):
        paid, tainted, took = (Decimal(x) for x in (c["to"]["paid"], c["from"]["amount"], c["from"]["bridge_received"]))
        scale = Decimal(10) ** (8 if c["to"]["chain"] == "bitcoin" else 6)
        assert Decimal(c["to"]["amount"]) * scale == int(paid * scale * tainted / took)
    eth, btc, usdc_arb = assets["ethereum:native"], assets["bitcoin:native"], assets[f"arbitrum:{w.USDC_ARB}"]
    native_out = [c for c in summary["crossings"] if c["from"]["asset"] == "ethereum:native"]
    assert len(native_out) == 4  # THORChain, the X bridge, Stargate, Wormhole
    assert Decimal(eth["bridged_out"]) == sum(Decimal(c["from"]["amount"]) for c in native_out)
    assert Decimal(btc["bridged_in"]) == Decimal(thor["to"]["amount"]) and Decimal(btc["stolen"]) == 0
    assert Decimal(btc["bridged_out"]) == Decimal(back["from"]["amount"]) > 0
    assert Decimal(eth["bridged_in"]) == Decimal(back["to"]["amount"]) > 0  # the ethereum sheet sums both rounds
    assert Decimal(usdc_arb["bridged_in"]) == Decimal(lifi["to"]["amount"]) == Decimal("4990")
    assert Decimal(usdc_arb["bridged_out"]) == Decimal("900") and Decimal(usdc_arb["unmoved"]) == Decimal("90")
    assert Decimal(assets[f"optimism:{w.USDC_OPT}"]["bridged_in"]) == Decimal("899")
    assert Decimal(assets[f"ethereum:{w.USDC_ETH}"]["bridged_out"]) == Decimal("5000")
    # the trace went on to exchanges on both destinations
    ends = {(e["chain"], e["address"], e["asset"]): Decimal(e["amount"]) for e in summary["endpoints"]}
    assert ends[("bitcoin", w.BTC_EXCHANGE, "bitcoin:native")] > 0
    assert ends[("arbitrum", w.ARB_EXCHANGE, f"arbitrum:{w.USDC_ARB}")] == Decimal("4000")
    assert ends[("arbitrum", w.ARB_EXCHANGE, "arbitrum:native")] > 0
    assert ends[("optimism", w.OPT_EXCHANGE, f"optimism:{w.USDC_OPT}")] == Decimal("899")
    assert ends[("ethereum", w.ETH_EXCHANGE, "ethereum:native")] > 0
    assert ends[("base", w.BASE_EXCHANGE, "base:native")] > 0
    assert ends[("polygon", w.POLY_EXCHANGE, f"polygon:{w.WETH_POLY}")] > 0
    ends = {key[:2] for key in ends}
    assert ("ethereum", w.VAULT) not in ends and ("ethereum", w.LIFI_DIAMOND) not in ends  # crossed, not stopped
    report = (tmp_path / "out" / "report.html").read_text()
    assert "Crossings" in report and "midgard" in report and "lifi-status" in report
    assert report.count('"crossing":true') == 7  # a link between chain bands per crossing in the graph
    assert "bridged in" in report and "bridged out (other chain)" in report  # the Sankey of each side
    from tracer.report import write_report

    markdown = write_report(tmp_path / "out", fmt="md").read_text()
    assert "## Crossings (7)" in markdown and w.BTC_OUT in markdown and "0.95" in markdown
    # a re-run gives byte-identical contract files (resolutions come from the store)
    run(home, case, tmp_path / "again")
    for name in ("summary.json", "flows.csv", "endpoints.csv", "addresses.csv", "graph.graphml"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


def test_no_crosschain_stops_at_the_bridges(servers, tmp_path: Path) -> None:
    home, case = setup(tmp_path, servers)
    run(home, case, tmp_path / "out", "--no-crosschain")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert not summary.get("crossings")
    assert {a.split(":")[0] for a in summary["assets"]} == {"ethereum"}
    ends = {(e["chain"], e["address"]): e for e in summary["endpoints"]}
    assert ("ethereum", w.VAULT) in ends and ("ethereum", w.LIFI_DIAMOND) in ends
    # unlabelled: the diamond is a known contract, the vault is what the known router paid inside the deposit
    assert ends[("ethereum", w.LIFI_DIAMOND)]["label_source"] == "heisttrace:crosschain"
    assert ends[("ethereum", w.VAULT)]["label"].startswith("paid by the THORChain router")


def test_pending_crossing_leaves_the_bridge_as_endpoint_and_names_the_gap(servers, tmp_path: Path) -> None:
    pending = w.midgard_actions()
    swap = next(a for a in pending if a["in"][0]["txID"] == w.SWAP_TX[2:].upper())
    swap["status"], swap["out"] = "pending", []
    with MidgardEmulator(pending) as midgard:
        home, case = setup(tmp_path, {**servers, "midgard": midgard})
        run(home, case, tmp_path / "out", code=4)  # incomplete: the crossing is a named gap
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    thor = next(c for c in summary["crossings"] if c["protocol"] == "thorchain")
    assert thor["status"] == "pending" and thor["to"] is None
    assert any("pending" in g and w.SWAP_TX in g for g in summary["gaps"]) and summary["complete"] is False
    ends = {(e["chain"], e["address"]) for e in summary["endpoints"]}
    assert ("ethereum", w.VAULT) in ends and "bitcoin:native" not in summary["assets"]
    for key, row in summary["assets"].items():
        assert closes(row), key


def test_fallback_refuses_two_fitting_arrivals_and_the_bridge_stays_the_endpoint(servers, tmp_path: Path) -> None:
    with EtherscanEmulator(worlds(twin_arrival=True)) as eth:
        home, case = setup(tmp_path, {**servers, "eth": eth})
        run(home, case, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    x = next(c for c in summary["crossings"] if c["protocol"] == "Synthetic X Bridge")
    assert (x["status"], x["method"], x["to"]) == ("unresolved", "amount-time", None)
    assert x["note"].startswith("ambiguous: 2 arrivals")
    assert any(w.X_TX in n and "ambiguous" in n for n in summary["notes"])
    ends = {(e["chain"], e["address"]) for e in summary["endpoints"]}
    assert ("ethereum", w.X_BRIDGE) in ends
    for key, row in summary["assets"].items():
        assert closes(row), key


def test_offline_rerun_answers_crossings_from_the_store(servers, tmp_path: Path) -> None:
    home, case = setup(tmp_path, servers)
    run(home, case, tmp_path / "online")
    before = {name: server.requests for name, server in servers.items()}
    run(home, case, tmp_path / "offline", "--offline")
    assert {
        name: server.requests for name, server in servers.items()
    } == before  # resolutions are kept: nobody is asked again
    for name in ("summary.json", "flows.csv", "endpoints.csv"):
        assert (tmp_path / "online" / name).read_bytes() == (tmp_path / "offline" / name).read_bytes(), name


def test_case_and_flags(servers, tmp_path: Path) -> None:
    from tracer.cases.case import parse_case
    from tracer.cases.plan import build_plan
    from tracer.core.errors import BadCaseFile, BadInput

    home, case = setup(tmp_path, servers)
    plan = build_plan(case, midgard_url="http://127.0.0.1:9/", lifi_url="http://127.0.0.1:8")
    assert (plan.crosschain.thorchain, plan.crosschain.lifi, plan.crosschain.follow) == (
        "http://127.0.0.1:9",
        "http://127.0.0.1:8",
        True,
    )
    assert build_plan(case, crosschain=False).crosschain.follow is False
    minimal = '[case]\nid = "x"\n[[seeds]]\nchain = "ethereum"\naddress = "' + w.THIEF + '"\n'
    defaults = parse_case(minimal, name="c")
    assert defaults.crosschain.follow and defaults.crosschain.thorchain.startswith("https://midgard")
    for bad, match in (
        ("follow = 1", "crosschain.follow"),
        ('lifi = "ftp://x"', "crosschain.lifi"),
        ("bogus = 1", "unknown key crosschain.bogus"),
        ("max_crossings = 99", "max_crossings"),
    ):
        text = minimal + f"[crosschain]\n{bad}\n"
        with pytest.raises(BadCaseFile, match=match):
            parse_case(text, name="c")
    with pytest.raises(BadInput, match="--midgard-url"):
        build_plan(case, midgard_url="not a url")
    env, _, err = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "o"), "--lifi-url", "nope"], env=env) == 2
    assert "--lifi-url" in err.getvalue() and "Traceback" not in err.getvalue()


def test_crossing_limit_stops_at_the_next_bridge(servers, tmp_path: Path) -> None:
    home, case = setup(tmp_path, servers)
    case.write_text(case.read_text().replace("[crosschain]\n", "[crosschain]\nmax_crossings = 1\n"))
    run(home, case, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert {c["crossing"] for c in summary["crossings"]} == {1}  # arbitrum -> optimism and BTC -> ETH not followed
    assert any("crossing limit (1)" in n for n in summary["notes"])
    ends = {(e["chain"], e["address"]) for e in summary["endpoints"]}
    assert ("arbitrum", w.SPOKE_POOLS["arbitrum"]) in ends and ("bitcoin", w.BTC_VAULT) in ends
    for key, row in summary["assets"].items():
        assert closes(row), key
