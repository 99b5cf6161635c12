"""USD valuation from Chainlink feeds read on anvil (127.0.0.1): a SYNTHETIC MockAggregator answering
latestRoundData/getRoundData, read at each flow's block; rounds walked back for times without a block;
the 36 h rule on updatedAt; the store's price cache and --offline."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from chains.chainlink import STATE_UNAVAILABLE, ChainlinkFeeds
from tests.anvil import AnvilNode, read_artifact, start_anvil, stop_anvil
from tests.cli_env import make_env
from tests.test_engine_cli import TOKEN, emulator, setup_case  # noqa: F401  (emulator is a fixture)
from tests.test_valuation_trace import T_THEFT, _check_flows
from tracer.cli import main
from tracer.store import Store
from tracer.valuation.chainlink import chainlink_book

HOUR = 3600
# SYNTHETIC rounds of the ETH feed: (answer with 8 decimals, updatedAt, block the round is pushed in)
ETH_ROUNDS = [(2000_12345678, T_THEFT - HOUR, 2), (2100_87654321, T_THEFT + 20, 102)]


class Chain:
    """The anvil node and helpers to deploy feeds and push rounds as real transactions."""

    def __init__(self, node: AnvilNode) -> None:
        from web3 import HTTPProvider, Web3

        self.node = node
        self.w3 = Web3(HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        self.sender = self.w3.eth.accounts[0]
        self.art = read_artifact("MockAggregator")

    def _send(self, tx: dict) -> dict:
        tx_hash = self.w3.eth.send_transaction({"from": self.sender, "gas": 3_000_000, **tx})
        return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)

    def deploy(self, decimals: int, name: str) -> str:
        factory = self.w3.eth.contract(abi=self.art["abi"], bytecode=self.art["bytecode"])
        data = factory.constructor(decimals, name).build_transaction({"from": self.sender, "gas": 3_000_000})["data"]
        return self._send({"data": data})["contractAddress"].lower()

    def push(self, feed: str, answer: int, updated_at: int) -> int:
        contract = self.w3.eth.contract(address=self.w3.to_checksum_address(feed), abi=self.art["abi"])
        data = contract.encode_abi("pushRound", args=[answer, updated_at])
        return int(self._send({"to": self.w3.to_checksum_address(feed), "data": data})["blockNumber"])

    def mine_to(self, block: int) -> None:
        count = block - self.w3.eth.block_number
        if count > 0:
            self.node.rpc("anvil_mine", [hex(count)])

    @property
    def tip(self) -> int:
        return self.w3.eth.block_number


@pytest.fixture(scope="module")
def chain() -> Iterator[tuple[Chain, dict[str, str]]]:
    node = start_anvil()
    try:
        c = Chain(node)
        eth = c.deploy(8, "ETH / USD")  # block 1
        assert c.push(eth, *ETH_ROUNDS[0][:2]) == ETH_ROUNDS[0][2]
        c.mine_to(ETH_ROUNDS[1][2] - 1)
        assert c.push(eth, *ETH_ROUNDS[1][:2]) == ETH_ROUNDS[1][2]
        c.mine_to(130)
        feeds = {"eth": eth, "edge": c.deploy(8, "EDGE / USD"), "old": c.deploy(8, "OLD / USD")}
        feeds["walk"] = c.deploy(18, "WALK / USD")
        c.push(feeds["edge"], 100_000_000, T_THEFT - 36 * HOUR)  # exactly 36 h before the theft
        c.push(feeds["old"], 100_000_000, T_THEFT - 37 * HOUR)  # 37 h before
        for k in range(5):
            c.push(feeds["walk"], (3 + k) * 10**18 + 5, T_THEFT + 1000 * k)
        node.rpc("evm_mine", [T_THEFT + 86400])  # the node's clock passes the SYNTHETIC world's events
        yield c, feeds
    finally:
        stop_anvil(node)


def _points() -> list[tuple[int, str]]:
    return [(t, f"{a // 10**8}.{a % 10**8:08d}") for a, t, _ in ETH_ROUNDS]


def test_trace_valued_from_chainlink_at_each_flow_block(chain, emulator, tmp_path: Path) -> None:  # noqa: F811
    c, feeds = chain
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _out, err = make_env(home)
    case.write_text(
        case.read_text()
        + f'\n[valuation]\nsource = "chainlink"\nurl = "{c.node.url}"\n\n'
        + f'[valuation.feeds.ethereum]\n"ethereum:native" = "{feeds["eth"]}"\n'
    )
    assert main(["trace", str(case), "--out", str(tmp_path / "b")], env=env) == 0, err.getvalue()
    flows = _check_flows(tmp_path / "b", _points())  # amount × the round in force, to the cent; SYN unpriced
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["usd"]["price_sources"][0]["source"] == "chainlink"
    assert any(
        g.startswith(f"unpriced: ethereum:{TOKEN} flow") and "no chainlink feed for it on ethereum" in g
        for g in summary["gaps"]
    )
    native_blocks = {int(r["block"]) for r in flows if r["asset_id"] == "native"}
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    (batch,) = manifest["price_responses"]  # one JSON-RPC batch: latestRoundData at each block, hashed
    blocks = native_blocks | {manifest["block_heights"]["ethereum"]}  # the flows' blocks and the pinned tip
    with Store.open(home / "store.sqlite3") as store:
        answers = json.loads(store.read_response(batch["sha256"]))
    assert len(answers) == len(blocks) and all(a["result"].startswith("0x") for a in answers)
    # offline: the same figures from the store's cache, no node needed
    case.write_text(case.read_text().replace(c.node.url, "http://127.0.0.1:9"))
    assert main(["trace", str(case), "--out", str(tmp_path / "off"), "--offline"], env=env) == 0, err.getvalue()
    offline = list(csv.DictReader((tmp_path / "off" / "flows.csv").open()))
    assert [r["tainted_usd"] for r in offline] == [r["tainted_usd"] for r in flows]


def test_36_hours_on_updated_at(chain) -> None:
    c, feeds = chain
    reader = ChainlinkFeeds(url=c.node.url)
    events = {"a:edge": {(T_THEFT, c.tip)}, "a:old": {(T_THEFT, c.tip)}}
    book = chainlink_book(reader, events, feeds={"a:edge": feeds["edge"], "a:old": feeds["old"]}, feed_chain="ethereum")
    assert book.lookup("a:edge", T_THEFT) == (T_THEFT - 36 * HOUR, 1)  # exactly 36 h old: in force
    assert book.lookup("a:old", T_THEFT) is None  # 37 h old: unpriced
    assert "36 h" in book.why_unpriced("a:old", T_THEFT)


def test_rounds_walked_back_to_the_one_in_force(chain, tmp_path: Path) -> None:
    c, feeds = chain
    reader = ChainlinkFeeds(url=c.node.url)
    with Store.open(tmp_path / "s.sqlite3") as store:
        events = {"a:walk": {(T_THEFT + 2500, None)}}
        book = chainlink_book(reader, events, feeds={"a:walk": feeds["walk"]}, feed_chain="ethereum", store=store)
        got = book.lookup("a:walk", T_THEFT + 2500)
        assert got is not None and got[0] == T_THEFT + 2000 and str(got[1]) == "5.000000000000000005"
        assert [p.time for p in book.series["a:walk"]] == [T_THEFT + 2000, T_THEFT + 3000, T_THEFT + 4000]
        # before the feed's first round: walked to the phase's start, unpriced, never the first round's price
        early = chainlink_book(
            reader, {"a:walk": {(T_THEFT - 10, None)}}, feeds={"a:walk": feeds["walk"]}, feed_chain="ethereum"
        )
        assert early.lookup("a:walk", T_THEFT - 10) is None and len(early.series["a:walk"]) == 5
        # offline: what was read is in the cache; a time it does not cover stays unpriced
        off = chainlink_book(
            None, events, feeds={"a:walk": feeds["walk"]}, feed_chain="ethereum", offline=True, store=store
        )
        assert off.lookup("a:walk", T_THEFT + 2500) == got
        assert off.lookup("a:walk", T_THEFT + 1500) is None
        assert "cache does not cover" in off.why_unpriced("a:walk", T_THEFT + 1500)


def test_rounds_at_blocks_in_batches(chain) -> None:
    c, feeds = chain
    reader = ChainlinkFeeds(url=c.node.url, batch=2)
    got = reader.latest_rounds(feeds["eth"], [0, 1, 2, 50, 101, 102])
    assert reader.requests == 3  # six calls, two per batch request
    assert got[0] is None  # no contract yet: an empty answer
    assert got[1] is None  # deployed, no round yet: the feed reverts
    assert [got[b].round_id for b in (2, 50, 101, 102)] == [1, 1, 1, 2]  # type: ignore[union-attr]
    assert got[102].usd(8) == Decimal("2100.87654321")  # type: ignore[union-attr]
    assert len({got[b].sha256 for b in (2, 50, 101, 102)}) == 2  # one evidence hash per batch  # type: ignore


def test_pruned_node_falls_back_to_walking_rounds_by_time() -> None:
    node = start_anvil(extra=("--prune-history", "5"))  # keeps the state of the last 5 blocks only
    try:
        c = Chain(node)
        feed = c.deploy(8, "ETH / USD")
        rounds = [c.push(feed, (2000 + k) * 10**8, T_THEFT + 100 * k) for k in range(3)]
        c.mine_to(c.tip + 50)
        reader = ChainlinkFeeds(url=node.url)
        old_block = rounds[1]
        assert reader.latest_rounds(feed, [old_block])[old_block] == STATE_UNAVAILABLE
        event = (T_THEFT + 150, old_block)  # round 2 (T+100) was in force then
        book = chainlink_book(reader, {"a:eth": {event}}, feeds={"a:eth": feed}, feed_chain="ethereum")
        assert book.lookup("a:eth", T_THEFT + 150) == (T_THEFT + 100, 2001)
    finally:
        stop_anvil(node)


def test_many_blocks_walk_the_rounds_once_with_the_same_figures(chain) -> None:
    c, feeds = chain
    events = {"a:eth": {(T_THEFT - 60, 50), (T_THEFT + 12, 101), (T_THEFT + 24, 102), (T_THEFT + 600, 120)}}
    per_block = chainlink_book(ChainlinkFeeds(url=c.node.url), events, feeds={"a:eth": feeds["eth"]}, feed_chain="e")
    reader = ChainlinkFeeds(url=c.node.url)
    walked = chainlink_book(reader, events, feeds={"a:eth": feeds["eth"]}, feed_chain="e", per_block_max=2)
    for at, _ in events["a:eth"]:
        assert walked.lookup("a:eth", at) == per_block.lookup("a:eth", at) is not None
    assert reader.requests == 4  # decimals, latestRoundData, the block time, one batch of older round ids


def test_chainlink_without_a_node_or_with_bad_feeds_is_one_line_exit_2(emulator, tmp_path: Path) -> None:  # noqa: F811
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _out, err = make_env(home)
    base = case.read_text()
    bad = {
        '\n[valuation]\nsource = "chainlink"\n': "needs your node",
        '\n[valuation]\nsource = "chainlink"\nurl = "ftp://node"\n': "Chainlink node URL: expected an http",
        '\n[valuation]\nsource = "chainlink"\nurl = "http://127.0.0.1:9"\n[valuation.feeds.ethereum]\n'
        '"ethereum:native" = "eth-usd"\n': "[valuation.feeds.<chain>] must map",
    }
    for table, message in bad.items():
        case.write_text(base + table)
        err.truncate(0)
        err.seek(0)
        assert main(["trace", str(case), "--out", str(tmp_path / "b")], env=env) == 2, table
        assert message in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1, err.getvalue()
    assert not (tmp_path / "b").exists()  # stopped before any trace work
