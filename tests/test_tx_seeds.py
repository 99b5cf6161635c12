"""Theft-transaction seeds: `fetch_transaction` of both account adapters, the store cache, and the CLI.

Two worlds, both SYNTHETIC: a small hand-written world served by the Etherscan emulator, and the
heist scenario played on anvil (tests/anvil.py), read by the JSON-RPC adapter and, through
:func:`chains.emulators.from_node.fetch_world_from_node`, by the Etherscan adapter.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chains.emulators.etherscan import EtherscanEmulator
from chains.emulators.from_node import fetch_world_from_node
from chains.emulators.world import EvmWorld, WorldInternal, WorldTokenTransfer, WorldTx
from chains.etherscan import EtherscanAdapter
from chains.positions import internal_position_of
from chains.rpc import RpcAdapter
from tests.anvil import Scenario
from tests.cli_env import make_env
from tracer.cli import main
from tracer.core.errors import BadInput, OfflineGap
from tracer.core.models import FEE_SINK, Transfer, TransferKind
from tracer.core.networks import get_chain
from tracer.sources.history import HistoryService
from tracer.store import Store

ETH = 10**18
CHAIN = get_chain("ethereum")


def a(n: int) -> str:
    return f"0x{n:040x}"


def h(n: int) -> str:
    return f"0x{n:064x}"


VICTIM, THIEF, HOP, ROUTER, POOL, TOKEN, OTHER = (a(0xB0 + i) for i in range(7))
TOK = dict(token=TOKEN, symbol="SYN", name="Synthetic USD", decimals=6)
THEFT, SWAP, REVERTED, TOKEN_THEFT, UNKNOWN = h(0x21), h(0x22), h(0x23), h(0x24), h(0xDEAD)


def synthetic_world() -> EvmWorld:
    """A victim drained of 100 ETH, a swap with internal calls and a token log, a reverted call, a token theft."""
    txs = [
        WorldTx(h(0x20), 50, 0, 1_700_000_000, OTHER, VICTIM, 200 * ETH),
        WorldTx(THEFT, 100, 3, 1_700_001_200, VICTIM, THIEF, 100 * ETH, gas_price=30 * 10**9),
        WorldTx(
            SWAP,
            101,
            0,
            1_700_001_212,
            THIEF,
            ROUTER,
            15 * ETH,
            gas_used=150_000,
            internals=(WorldInternal(ROUTER, POOL, 15 * ETH, "0"), WorldInternal(POOL, HOP, ETH, "0_1")),
            tokens=(WorldTokenTransfer(sender=POOL, to=THIEF, value=30_000 * 10**6, log_index=7, **TOK),),
        ),
        WorldTx(
            REVERTED,
            102,
            0,
            1_700_001_224,
            THIEF,
            ROUTER,
            ETH,
            gas_used=40_000,
            success=False,
            internals=(WorldInternal(ROUTER, HOP, ETH, "0", success=False),),
        ),
        WorldTx(
            TOKEN_THEFT,
            103,
            1,
            1_700_001_236,
            VICTIM,
            TOKEN,
            0,
            gas_used=60_000,
            input="0xa9059cbb",
            tokens=(WorldTokenTransfer(sender=VICTIM, to=THIEF, value=5_000 * 10**6, log_index=2, **TOK),),
        ),
    ]
    world = EvmWorld(chain_id=1)
    world.contracts.update({ROUTER, POOL, TOKEN})
    world.add(txs)
    return world


@pytest.fixture(scope="module")
def emulator() -> Iterator[EtherscanEmulator]:
    with EtherscanEmulator(synthetic_world()) as server:
        yield server


def etherscan(server: EtherscanEmulator) -> EtherscanAdapter:
    return EtherscanAdapter(base_url=server.api_url, rate_per_s=None)


def from_histories(adapter: object, tx_hash: str, parties: set[str], end_block: int) -> set[Transfer]:
    """The transaction's records as the parties' address histories hold them (noise flags left out)."""
    out = set()
    for party in parties:
        chunk = adapter.fetch_history(CHAIN, party, start_block=0, end_block=end_block)  # type: ignore[attr-defined]
        out |= {_plain(t) for t in chunk.transfers if t.tx_hash == tx_hash}
    return out


def _plain(t: Transfer) -> Transfer:
    return Transfer(**{**{f: getattr(t, f) for f in Transfer.__dataclass_fields__}, "noise": frozenset()})


def _parties(transfers: tuple[Transfer, ...]) -> set[str]:
    return {p for t in transfers for p in (t.sender, t.receiver) if p != FEE_SINK}


# -- the Etherscan adapter against the emulator ------------------------------------------------------


def test_theft_tx_gives_fee_and_value(emulator: EtherscanEmulator) -> None:
    got = etherscan(emulator).fetch_transaction(CHAIN, THEFT.upper().replace("0X", "0x"))
    assert [(t.position, t.kind, t.sender, t.receiver, t.amount) for t in got] == [
        (0, TransferKind.FEE, VICTIM, FEE_SINK, 21_000 * 30 * 10**9),
        (1, TransferKind.EXTERNAL, VICTIM, THIEF, 100 * ETH),
    ]
    assert {(t.block, t.tx_index, t.timestamp) for t in got} == {(100, 3, 1_700_001_200)}


@pytest.mark.parametrize("tx_hash", [THEFT, SWAP, REVERTED, TOKEN_THEFT])
def test_records_equal_those_of_the_address_histories(emulator: EtherscanEmulator, tx_hash: str) -> None:
    adapter = etherscan(emulator)
    got = adapter.fetch_transaction(CHAIN, tx_hash)
    assert got and all(t.tx_hash == tx_hash for t in got)
    assert {_plain(t) for t in got} == from_histories(adapter, tx_hash, _parties(got), 200)
    sender = got[0].sender
    own = adapter.fetch_history(CHAIN, sender, start_block=0, end_block=200).transfers
    assert {t for t in own if t.tx_hash == tx_hash} == {t for t in got if sender in (t.sender, t.receiver)}


def test_swap_internals_tokens_and_metadata_by_eth_call(emulator: EtherscanEmulator) -> None:
    got = etherscan(emulator).fetch_transaction(CHAIN, SWAP)
    assert [t.position for t in got[:2]] == [0, 1]  # fee, top-level value
    internals = [t for t in got if t.kind is TransferKind.INTERNAL]
    assert len(internals) == 2 and all(
        t.position == internal_position_of(t.sender, t.receiver, t.amount) for t in internals
    )
    token = got[-1]
    assert (token.asset.symbol, token.asset.decimals, token.asset.contract) == ("SYN", 6, TOKEN)
    assert (token.sender, token.receiver, token.amount) == (POOL, THIEF, 30_000 * 10**6)


def test_reverted_tx_moves_only_its_fee(emulator: EtherscanEmulator) -> None:
    got = etherscan(emulator).fetch_transaction(CHAIN, REVERTED)
    assert [t.kind for t in got if t.moves_value] == [TransferKind.FEE]
    assert {t.kind for t in got} == {TransferKind.FEE, TransferKind.EXTERNAL, TransferKind.INTERNAL}


@pytest.mark.parametrize(
    ("tx_hash", "needle"), [(UNKNOWN, "not known to etherscan"), ("0x1234", "not an EVM transaction hash")]
)
def test_unknown_or_malformed_hash_is_bad_input(emulator: EtherscanEmulator, tx_hash: str, needle: str) -> None:
    with pytest.raises(BadInput) as caught:
        etherscan(emulator).fetch_transaction(CHAIN, tx_hash)
    assert needle in str(caught.value) and "\n" not in str(caught.value)


# -- the history service: cached in the store, offline gaps ---------------------------------------------


def test_service_fetches_once_then_answers_from_the_store(emulator: EtherscanEmulator, tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.sqlite3") as store:
        service = HistoryService(store, {"ethereum": etherscan(emulator)})
        first = service.transaction(CHAIN, SWAP)
        spent = service.requests
        assert spent > 0 and service.transaction("ethereum", SWAP) == first and service.requests == spent
        again = HistoryService(store, {"ethereum": etherscan(emulator)})
        assert again.transaction(CHAIN, SWAP) == first and again.requests == 0
        offline = HistoryService(store, {"ethereum": etherscan(emulator)}, offline=True)
        assert offline.transaction(CHAIN, SWAP) == first
        with pytest.raises(OfflineGap) as caught:
            offline.transaction(CHAIN, THEFT)
        assert THEFT in str(caught.value) and offline.requests == 0


# -- the CLI, end to end -------------------------------------------------------------------------------

CASE = """[case]
id = "synthetic-tx-seed"
title = "Synthetic theft transaction (fictional)"

[[seeds]]
chain = "ethereum"
tx = "{tx}"

[trace]
max_hops = 5
max_addresses = 20
"""


def write_case(tmp: Path, tx_hash: str) -> Path:
    case = tmp / "case.toml"
    case.write_text(CASE.format(tx=tx_hash))
    return case


def test_cli_traces_a_theft_tx_seed_and_reruns_from_the_store(emulator: EtherscanEmulator, tmp_path: Path) -> None:
    case, home = write_case(tmp_path, THEFT), tmp_path / "home"
    env, _, err = make_env(home)
    argv = ["trace", str(case), "--api-url", emulator.api_url]
    assert main([*argv, "--out", str(tmp_path / "b1")], env=env) == 0, err.getvalue()
    summary = json.loads((tmp_path / "b1" / "summary.json").read_text())
    assert summary["assets"]["ethereum:native"]["stolen"] == "100"
    assert json.loads((tmp_path / "b1" / "run.json").read_text())["counts"]["requests"] > 0
    served = emulator.requests
    env2, _, err2 = make_env(home)
    assert main([*argv, "--out", str(tmp_path / "b2")], env=env2) == 0, err2.getvalue()
    assert emulator.requests == served  # the second run asks the source nothing
    env3, _, err3 = make_env(home)
    assert main([*argv, "--out", str(tmp_path / "b3"), "--offline"], env=env3) == 0, err3.getvalue()
    for bundle in ("b2", "b3"):
        assert json.loads((tmp_path / bundle / "summary.json").read_text())["assets"] == summary["assets"]


def test_cli_token_theft_tx_seed(emulator: EtherscanEmulator, tmp_path: Path) -> None:
    env, _, err = make_env(tmp_path / "home")
    case = write_case(tmp_path, TOKEN_THEFT)
    code = main(["trace", str(case), "--api-url", emulator.api_url, "--out", str(tmp_path / "b")], env=env)
    assert code == 0, err.getvalue()
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["assets"][f"ethereum:{TOKEN}"]["stolen"] == "5000"


def test_cli_unknown_tx_seed_is_exit_2_with_one_line(emulator: EtherscanEmulator, tmp_path: Path) -> None:
    env, _, err = make_env(tmp_path / "home")
    case = write_case(tmp_path, UNKNOWN)
    code = main(["trace", str(case), "--api-url", emulator.api_url, "--out", str(tmp_path / "b")], env=env)
    lines = err.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1 and UNKNOWN in lines[0], err.getvalue()


def test_cli_offline_without_the_tx_in_the_store_names_it(emulator: EtherscanEmulator, tmp_path: Path) -> None:
    env, _, err = make_env(tmp_path / "home")
    case = write_case(tmp_path, THEFT)
    argv = ["trace", str(case), "--api-url", emulator.api_url, "--out", str(tmp_path / "b"), "--offline"]
    served = emulator.requests
    assert main(argv, env=env) == 4
    assert f"lacks ethereum transaction {THEFT}" in err.getvalue() and emulator.requests == served


# -- anvil: the JSON-RPC adapter and the Etherscan adapter agree on the same chain ------------------------

ANVIL_TXS = (
    "steal-eth",
    "steal-token",
    "fan-out",
    "relay",
    "spoof",
    "reverted",
    "create-vault",
    "spawn",
    "destroy",
)


@pytest.fixture(scope="module")
def scenario_emulator(anvil_scenario: Scenario) -> Iterator[EtherscanEmulator]:
    world = fetch_world_from_node(anvil_scenario.node.url, start_block=0, end_block=anvil_scenario.end_block)
    with EtherscanEmulator(world) as server:
        yield server


def _tokens(scenario: Scenario) -> dict[str, dict[str, set[str]]]:
    return {"ethereum": {"TST": {scenario.contracts["token"]}}}


@pytest.mark.anvil
@pytest.mark.parametrize("method", ["trace_filter", "ots", "debug_scan"])
def test_rpc_and_etherscan_agree_on_scenario_txs(
    anvil_scenario: Scenario, scenario_emulator: EtherscanEmulator, method: str, tmp_path: Path
) -> None:
    """Through the history service (which sets the noise flags), both sources give the same records."""
    tokens = _tokens(anvil_scenario)
    ours_adapter = EtherscanAdapter(base_url=scenario_emulator.api_url, rate_per_s=None)
    node_adapter = RpcAdapter(url=anvil_scenario.node.url, expected_chain=CHAIN, method=method)
    flagged = 0
    with Store.open(tmp_path / "store.sqlite3") as store:
        ours = HistoryService(store, {"ethereum": ours_adapter}, known_tokens=tokens)
        node = HistoryService(store, {"ethereum": node_adapter}, known_tokens=tokens)
        for step in ANVIL_TXS:
            tx_hash = anvil_scenario.txs[step]
            assert all(not t.noise for t in node_adapter.fetch_transaction(CHAIN, tx_hash)), step  # adapters translate
            reference = ours.transaction(CHAIN, tx_hash)
            assert node.transaction(CHAIN, tx_hash) == reference, step
            flagged += sum(1 for t in reference if t.noise)
    assert flagged >= 2  # the spoof transaction's two fake events "from" the thief


@pytest.mark.anvil
def test_scenario_txs_equal_the_senders_history(
    anvil_scenario: Scenario, scenario_emulator: EtherscanEmulator, tmp_path: Path
) -> None:
    tokens = _tokens(anvil_scenario)
    adapter = RpcAdapter(url=anvil_scenario.node.url, expected_chain=CHAIN, method="trace_filter")
    with Store.open(tmp_path / "store.sqlite3") as store:
        node = HistoryService(store, {"ethereum": adapter}, known_tokens=tokens)
        steal = node.transaction(CHAIN, anvil_scenario.txs["steal-eth"])
        victim, thief = anvil_scenario.accounts["victim"], anvil_scenario.accounts["thief"]
        value = [t for t in steal if t.kind is TransferKind.EXTERNAL]
        assert [(t.sender, t.receiver, t.amount) for t in value] == [(victim, thief, 100 * ETH)]
        end = anvil_scenario.end_block
        for step in ANVIL_TXS:
            tx_hash = anvil_scenario.txs[step]
            got = node.transaction(CHAIN, tx_hash)
            sender = next(t.sender for t in got if t.position == 0)
            history = node.history(CHAIN, sender, start_block=0, end_block=end).transfers
            own = {t for t in got if sender in (t.sender, t.receiver)}
            assert {t for t in history if t.tx_hash == tx_hash} == own, step  # same records, same flags
            assert {_plain(t) for t in got} == from_histories(adapter, tx_hash, _parties(got), end), step


@pytest.mark.anvil
def test_rpc_unknown_tx_is_bad_input(anvil_scenario: Scenario) -> None:
    node = RpcAdapter(url=anvil_scenario.node.url, expected_chain=CHAIN)
    with pytest.raises(BadInput) as caught:
        node.fetch_transaction(CHAIN, UNKNOWN)
    assert UNKNOWN in str(caught.value) and "\n" not in str(caught.value)
