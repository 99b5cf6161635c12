"""Cases across chain families, end to end: EtherscanEmulator + EsploraEmulator (127.0.0.1), SYNTHETIC worlds.

One engine per family runs behind the one engine interface; their tables merge into one
bundle. Bitcoin traces get what account traces have: raw-response hashes in the manifest,
checkpoint/resume (interrupted + resumed == uninterrupted, byte for byte) and progress reports.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from chains.emulators.esplora import EsploraEmulator
from chains.emulators.etherscan import EtherscanEmulator
from tests.cli_env import labelled_home, make_env
from tests.test_engine_cli import EXCHANGE, MIXER, THIEF, synthetic_world
from tests.test_utxo_engine import scenario
from tracer.cli import main
from tracer.store import Store

BUNDLE = ("summary.json", "flows.csv", "addresses.csv", "endpoints.csv", "graph.graphml", "manifest.json")
OUTGOING = ("endpoints", "unmoved", "fees", "below_threshold", "unexplored", "swapped_out")

ETH_SEED = """
[[seeds]]
chain = "ethereum"
address = "{thief}"
"""
BTC_SEED = """
[[seeds]]
chain = "bitcoin"
tx = "{theft}"
"""
TAIL = """
[trace]
since = 100
policy = "haircut"
max_hops = 10
min_taint = "0"
max_addresses = 50

[source]
{sources}
"""


@pytest.fixture(scope="module")
def servers():
    txs, labels, theft = scenario()
    with EtherscanEmulator(synthetic_world()) as eth, EsploraEmulator(txs) as btc:
        yield eth, btc, labels, theft


def write_case(tmp: Path, servers, *, chains: tuple[str, ...], name: str = "case") -> Path:
    eth, btc, _, theft = servers
    seeds = {"ethereum": ETH_SEED.format(thief=THIEF), "bitcoin": BTC_SEED.format(theft=theft.txid)}
    sources = {
        "ethereum": f'ethereum = {{ kind = "etherscan", url = "{eth.api_url}" }}',
        "bitcoin": f'bitcoin = {{ kind = "esplora", url = "{btc.base_url}/api" }}',
    }
    text = f'[case]\nid = "synthetic-{name}"\ntitle = "Synthetic cross-family case (fictional)"\n'
    text += "".join(seeds[c] for c in chains)
    text += TAIL.format(sources="\n".join(sources[c] for c in chains))
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return path


def home_with_labels(tmp: Path, servers) -> Path:
    home = labelled_home(tmp, exchange=EXCHANGE, mixer=MIXER)
    with Store.open(home / "store.sqlite3") as store:
        store.write_user_labels(list(servers[2].labels.values()))
    return home


def closes(row: dict[str, str]) -> bool:
    d = {k: Decimal(v) for k, v in row.items() if k != "symbol"}
    return d["stolen"] + d["swapped_in"] == sum(d[k] for k in OUTGOING)


def trace_cli(home: Path, case: Path, out: Path, *extra: str) -> int:
    env, _, err = make_env(home)
    code = main(["trace", str(case), "--out", str(out), *extra], env=env)
    assert code in (0, 130), err.getvalue()
    return code


def test_mixed_case_gives_one_bundle_with_both_balance_sheets(servers, tmp_path: Path) -> None:
    home = home_with_labels(tmp_path, servers)
    mixed = write_case(tmp_path, servers, chains=("ethereum", "bitcoin"), name="mixed")
    assert trace_cli(home, mixed, tmp_path / "mixed") == 0
    parts = {}
    for chain in ("ethereum", "bitcoin"):  # each family alone, in a fresh home
        alone_home = home_with_labels(tmp_path / chain, servers)
        case = write_case(tmp_path / chain, servers, chains=(chain,), name="mixed")  # same case id
        assert trace_cli(alone_home, case, tmp_path / chain / "out") == 0
        parts[chain] = json.loads((tmp_path / chain / "out" / "summary.json").read_text())
    summary = json.loads((tmp_path / "mixed" / "summary.json").read_text())
    assert {"ethereum:native", "bitcoin:native"} <= set(summary["assets"])
    for key, row in summary["assets"].items():
        assert closes(row), key
        chain = key.split(":")[0]
        assert row == parts[chain]["assets"][key]  # each asset's own sheet, as when traced alone
    for count, value in summary["counts"].items():
        assert value == sum(p["counts"].get(count, 0) for p in parts.values()), count
    assert summary["coinjoins"] == parts["bitcoin"]["coinjoins"] and summary["coinjoins"]
    assert summary["complete"] is True
    assert [s["chain"] for s in summary["seeds"]] == ["ethereum", "bitcoin"]
    manifest = json.loads((tmp_path / "mixed" / "manifest.json").read_text())
    assert {s["kind"] for s in manifest["sources"].values()} == {"etherscan", "esplora"}
    assert {r["source"] for r in manifest["raw_responses"]} == {"etherscan", "esplora"}
    assert set(manifest["block_heights"]) == {"ethereum", "bitcoin"}
    flows = (tmp_path / "mixed" / "flows.csv").read_text().splitlines()
    assert {line.split(",")[0] for line in flows[1:]} == {"ethereum", "bitcoin"}
    report = (tmp_path / "mixed" / "report.html").read_text()
    assert "bitcoin:native" in report and "ethereum:native" in report


def test_library_traces_a_mixed_case_like_the_cli(servers, tmp_path: Path) -> None:
    from tracer import trace
    from tracer.cases.plan import build_plan
    from tracer.labels.book import load_labels

    home = home_with_labels(tmp_path, servers)
    case = write_case(tmp_path, servers, chains=("ethereum", "bitcoin"), name="lib")
    assert trace_cli(home, case, tmp_path / "cli") == 0
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())
    home2 = home_with_labels(tmp_path / "lib", servers)
    with Store.open(home2 / "store.sqlite3") as store:
        for given in (case, build_plan(case)):  # a path, then a plan
            result = trace(given, store=store, labels=load_labels(store=store))
            assert result.summary["assets"] == cli["assets"]
            assert result.summary["endpoints"] == cli["endpoints"]


def test_bitcoin_manifest_lists_raw_responses(servers, tmp_path: Path) -> None:
    home = home_with_labels(tmp_path, servers)
    case = write_case(tmp_path, servers, chains=("bitcoin",))
    assert trace_cli(home, case, tmp_path / "b") == 0
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    responses = manifest["raw_responses"]
    assert responses and all(r["source"] == "esplora" for r in responses)
    theft = servers[3].txid
    assert any(f"/tx/{theft}" in r["url"] for r in responses)
    with Store.open(home / "store.sqlite3") as store:
        archived = {r.sha256 for r in store.list_responses()}
    assert {r["sha256"] for r in responses} <= archived


def test_bitcoin_trace_interrupted_and_resumed_equals_uninterrupted(servers, tmp_path: Path, monkeypatch) -> None:
    import tracer.utxo.engine as engine_module

    whole_home = home_with_labels(tmp_path / "whole", servers)
    case = write_case(tmp_path, servers, chains=("bitcoin",))
    assert trace_cli(whole_home, case, tmp_path / "whole" / "out") == 0
    home = home_with_labels(tmp_path / "again", servers)
    original = engine_module.UtxoEngine._spend
    calls = {"n": 0}

    def flaky(self, txid):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return original(self, txid)

    monkeypatch.setattr(engine_module.UtxoEngine, "_spend", flaky)
    assert trace_cli(home, case, tmp_path / "resumed") == 130
    monkeypatch.setattr(engine_module.UtxoEngine, "_spend", original)
    assert trace_cli(home, case, tmp_path / "resumed") == 0
    for name in BUNDLE:
        assert (tmp_path / "whole" / "out" / name).read_bytes() == (tmp_path / "resumed" / name).read_bytes(), name


def test_bitcoin_trace_reports_progress(servers, tmp_path: Path) -> None:
    from tracer import trace

    case = write_case(tmp_path, servers, chains=("bitcoin",))
    seen = []
    with Store.open(tmp_path / "s.sqlite3") as store:
        result = trace(case, store=store, labels=servers[2], progress=seen.append)
    assert seen and seen[-1].expanded == result.summary["counts"]["transactions_followed"]
    assert [p.expanded for p in seen] == sorted(p.expanded for p in seen)
    assert seen[-1].requests == result.summary["counts"]["requests"] > 0
    assert 0 < seen[-1].endpoint_share <= 1


def test_every_source_kind_has_a_builder() -> None:
    from tracer.sources.factory import BUILDERS
    from tracer.sources.kinds import SOURCE_KINDS

    assert set(BUILDERS) == set(SOURCE_KINDS)
