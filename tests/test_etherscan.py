"""Etherscan API V2 adapter against the emulator (real HTTP on 127.0.0.1): mapping and every quirk.

The world here is **synthetic**: a small hand-made scenario (peel chain, a contract fanning ETH
out by internal calls, an ERC-20, a fake token mimicking USDT, a reverted tx, a contract creation).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import pytest
import requests

from chains.emulators.etherscan import EtherscanEmulator
from chains.emulators.server import EmulatorServer, Fault, FaultPlan, Reply, Request
from chains.emulators.world import EvmWorld, WorldInternal, WorldTokenTransfer, WorldTx
from chains.etherscan import EtherscanAdapter, trace_address_of
from chains.evm_decode import internal_position
from chains.http import RetryPolicy
from chains.positions import internal_position_of, token_position_of
from tracer.core.errors import BadAddress, BadChain, SourceError, SourceRejected
from tracer.core.models import FEE_SINK, NoiseFlag, TransferKind
from tracer.core.networks import get_chain
from tracer.sources.history import flag_history

KEY = "ZKEY9SECRET4ETHERSCAN"
ETH = get_chain("ethereum")
USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"
FAKE_USDT = "0x" + "de" * 20


def a(n: int) -> str:
    return f"0x{n:040x}"


def h(n: int) -> str:
    return f"0x{n:064x}"


THIEF, HOP1, HOP2, FANOUT, R1, R2, R3, POISONER, LOOKALIKE, RELAYER = (a(i) for i in range(0x100, 0x10A))
CREATED = a(0x200)


def scenario() -> EvmWorld:
    world = EvmWorld(chain_id=1, contracts={FANOUT, USDT, FAKE_USDT, CREATED})
    fan = (
        WorldInternal(FANOUT, R1, 3 * 10**18, "0"),
        WorldInternal(FANOUT, R2, 2 * 10**18, "1"),
        WorldInternal(FANOUT, R3, 10**18, "1_0"),
    )
    world.add(
        [
            WorldTx(h(1), 100, 0, 1_700_000_000, THIEF, HOP1, 10 * 10**18),  # peel 1
            WorldTx(h(2), 101, 3, 1_700_000_012, HOP1, HOP2, 9 * 10**18),  # peel 2
            WorldTx(h(3), 102, 1, 1_700_000_024, THIEF, FANOUT, 6 * 10**18, gas_used=80_000, internals=fan),
            WorldTx(
                h(4), 103, 0, 1_700_000_036, THIEF, USDT, 0, gas_used=50_000,
                tokens=(WorldTokenTransfer(USDT, THIEF, HOP1, 5_000_000_000, 7, "USDT", "Tether USD", 6),),
            ),
            WorldTx(h(5), 104, 2, 1_700_000_048, THIEF, HOP2, 4 * 10**18, success=False, gas_used=30_000),
            WorldTx(h(6), 105, 0, 1_700_000_060, THIEF, None, 0, gas_used=500_000, created=CREATED),
            WorldTx(  # address poisoning: a stranger's tx emits a fake-USDT Transfer "from" the thief
                h(7), 106, 4, 1_700_000_072, POISONER, FAKE_USDT, 0, gas_used=40_000,
                tokens=(WorldTokenTransfer(FAKE_USDT, THIEF, LOOKALIKE, 0, 2, "USDT", "Tether USD", 6),),
            ),
            WorldTx(h(8), 107, 5, 1_700_000_084, POISONER, THIEF, 1000),  # dust from a stranger
            WorldTx(
                h(9), 108, 6, 1_700_000_096, RELAYER, FANOUT, 0,
                internals=(WorldInternal(FANOUT, THIEF, 777, "0_2"),),
            ),
        ]
    )  # fmt: skip
    return world


@pytest.fixture
def emulator() -> Iterator[EtherscanEmulator]:
    with EtherscanEmulator(scenario(), api_keys={KEY}) as server:
        yield server


def adapter_for(server: EmulatorServer, **kw: object) -> EtherscanAdapter:
    options: dict[str, object] = {
        "base_url": server.base_url + "/v2/api",
        "api_key": KEY,
        "rate_per_s": None,
        "retry": RetryPolicy(attempts=5, backoff_base=0.01, backoff_max=0.05, timeout=2.0),
        "sleep": lambda _s: None,
    }
    options.update(kw)
    return EtherscanAdapter(**options)  # type: ignore[arg-type]


def raw(server: EtherscanEmulator, path: str = "/v2/api", **params: str) -> dict:
    return requests.get(server.base_url + path, params=params, timeout=5).json()


# -- mapping -------------------------------------------------------------------------------------


def test_thief_history_maps_every_kind(emulator: EtherscanEmulator) -> None:
    chunk = adapter_for(emulator).fetch_history(ETH, THIEF, start_block=0, end_block=200)
    assert chunk.complete and (chunk.start_block, chunk.end_block) == (0, 200)
    got = [(t.tx_hash, t.position, t.kind, t.sender, t.receiver, t.amount, t.success) for t in chunk.transfers]
    gwei20 = 20_000_000_000
    assert got == [
        (h(1), 0, TransferKind.FEE, THIEF, FEE_SINK, 21_000 * gwei20, True),
        (h(1), 1, TransferKind.EXTERNAL, THIEF, HOP1, 10 * 10**18, True),
        (h(3), 0, TransferKind.FEE, THIEF, FEE_SINK, 80_000 * gwei20, True),
        (h(3), 1, TransferKind.EXTERNAL, THIEF, FANOUT, 6 * 10**18, True),
        (h(4), 0, TransferKind.FEE, THIEF, FEE_SINK, 50_000 * gwei20, True),
        (
            h(4),
            token_position_of(USDT, THIEF, HOP1, 5_000_000_000),
            TransferKind.TOKEN,
            THIEF,
            HOP1,
            5_000_000_000,
            True,
        ),
        (h(5), 0, TransferKind.FEE, THIEF, FEE_SINK, 30_000 * gwei20, True),  # reverted: the fee is still paid
        (h(5), 1, TransferKind.EXTERNAL, THIEF, HOP2, 4 * 10**18, False),  # ... and no value moves
        (h(6), 0, TransferKind.FEE, THIEF, FEE_SINK, 500_000 * gwei20, True),  # creation with no value: fee only
        (h(7), token_position_of(FAKE_USDT, THIEF, LOOKALIKE, 0), TransferKind.TOKEN, THIEF, LOOKALIKE, 0, True),
        (h(8), 1, TransferKind.EXTERNAL, POISONER, THIEF, 1000, True),  # inbound: the stranger's fee is not ours
        (h(9), internal_position_of(FANOUT, THIEF, 777), TransferKind.INTERNAL, FANOUT, THIEF, 777, True),
    ]
    by_tx = {t.tx_hash: t for t in chunk.transfers}
    assert [t.moves_value for t in chunk.transfers if t.tx_hash == h(5)] == [True, False]
    token = by_tx[h(4)]
    assert (token.asset.contract, token.asset.symbol, token.asset.decimals) == (USDT, "USDT", 6)
    assert by_tx[h(1)].asset.contract is None and by_tx[h(1)].asset.symbol == "ETH"
    assert by_tx[h(9)].tx_index == 6 and by_tx[h(2 + 2)].tx_index == 0
    assert all(not t.noise for t in chunk.transfers)  # the adapter translates; the history service flags
    flagged = flag_history(chunk, "ethereum", THIEF)
    assert [t.tx_hash for t in flagged.transfers] == [t.tx_hash for t in chunk.transfers]
    noise = {t.tx_hash: t.noise for t in flagged.transfers}
    assert noise[h(7)] == {NoiseFlag.ZERO_VALUE, NoiseFlag.SPOOFED}
    assert noise[h(8)] == {NoiseFlag.DUST}
    assert noise[h(4)] == frozenset()


def test_internal_only_tx_index_is_looked_up_once_and_counted(emulator: EtherscanEmulator) -> None:
    adapter = adapter_for(emulator)
    adapter.fetch_history(ETH, THIEF, start_block=0, end_block=200)
    actions = [q.get("action") for _, _, q in emulator.request_log]
    assert actions == ["txlist", "txlistinternal", "tokentx", "eth_getTransactionByHash"]
    assert adapter.requests == emulator.requests == 4


def test_fan_out_positions_agree_between_receivers(emulator: EtherscanEmulator) -> None:
    adapter = adapter_for(emulator)
    seen = {}
    for who in (R1, R2, R3, FANOUT):
        for t in adapter.fetch_history(ETH, who, start_block=0, end_block=200).transfers:
            if t.kind is TransferKind.INTERNAL and t.tx_hash == h(3):
                assert seen.setdefault((t.tx_hash, t.position), t) == t
    assert len(seen) == 3
    internals = adapter.fetch_tx_internals(ETH, h(3))
    assert {(t.tx_hash, t.position): t for t in internals} == seen  # txhash mode: the same identities
    assert [(t.receiver, t.tx_index) for t in internals] == [(R1, 1), (R2, 1), (R3, 1)]  # in trace order


def test_contract_creation_pays_the_created_contract() -> None:
    world = EvmWorld(chain_id=1)
    world.add([WorldTx(h(1), 5, 0, 1000, THIEF, None, 7, created=CREATED)])
    with EtherscanEmulator(world) as server:
        chunk = adapter_for(server).fetch_history(ETH, CREATED, start_block=0, end_block=10)
    assert [(t.kind, t.sender, t.receiver, t.amount) for t in chunk.transfers] == [
        (TransferKind.EXTERNAL, THIEF, CREATED, 7)
    ]


def test_block_range_is_honoured(emulator: EtherscanEmulator) -> None:
    chunk = adapter_for(emulator).fetch_history(ETH, THIEF, start_block=102, end_block=104)
    assert {t.block for t in chunk.transfers} == {102, 103, 104}
    assert (chunk.start_block, chunk.end_block) == (102, 104)


def test_is_contract_tip_block_by_time_and_chainlist(emulator: EtherscanEmulator) -> None:
    adapter = adapter_for(emulator)
    assert adapter.fetch_is_contract(ETH, FANOUT) and not adapter.fetch_is_contract(ETH, THIEF)
    assert adapter.fetch_tip(ETH) == 108
    assert adapter.fetch_block_by_time(ETH, 1_700_000_030) == 102
    assert adapter.fetch_block_by_time(ETH, 1_700_000_030, closest="after") == 103
    with pytest.raises(SourceRejected, match="No closest block"):
        adapter.fetch_block_by_time(ETH, 1)
    chains = raw(emulator, "/v2/chainlist")["result"]
    assert [(c["chainid"], c["blockexplorer"]) for c in chains] == [("1", "https://etherscan.io")]


# -- quirks ----------------------------------------------------------------------------------------


def test_numbers_are_strings_and_errors_are_http_200(emulator: EtherscanEmulator) -> None:
    body = raw(emulator, chainid="1", module="account", action="txlist", address=THIEF, apikey=KEY)
    assert body["status"] == "1" and isinstance(body["result"], list)
    row = body["result"][0]
    assert all(isinstance(v, str) for v in row.values())
    assert row["value"] == str(10 * 10**18) and row["isError"] == "0" and row["txreceipt_status"] == "1"
    bad = requests.get(emulator.api_url, params={"chainid": "1", "module": "account", "action": "txlist"}, timeout=5)
    assert bad.status_code == 200 and bad.json() == {
        "status": "0",
        "message": "NOTOK",
        "result": "Missing/Invalid API Key",
    }


def test_empty_history_is_not_an_error(emulator: EtherscanEmulator) -> None:
    body = raw(emulator, chainid="1", module="account", action="txlist", address=a(0xFFFF), apikey=KEY)
    assert body == {"status": "0", "message": "No transactions found", "result": []}
    chunk = adapter_for(emulator).fetch_history(ETH, a(0xFFFF), start_block=0, end_block=200)
    assert chunk.transfers == () and chunk.complete


def test_result_window_and_row_cap(emulator: EtherscanEmulator) -> None:
    body = raw(
        emulator, chainid="1", module="account", action="txlist", address=THIEF, apikey=KEY, page="3", offset="5000"
    )
    assert body["status"] == "0" and body["result"].startswith("Result window is too large")
    emulator.row_cap = 2
    body = raw(emulator, chainid="1", module="account", action="txlist", address=THIEF, apikey=KEY, offset="100")
    assert len(body["result"]) == 2


def test_invalid_key_is_rejected_without_showing_it(
    emulator: EtherscanEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "WRONGKEY123456"
    with pytest.raises(SourceRejected, match="Invalid API Key") as info:
        adapter_for(emulator, api_key=wrong).fetch_history(ETH, THIEF, start_block=0, end_block=1)
    text = "".join(traceback.format_exception(info.value)) + caplog.text
    assert wrong not in text and "ETHERSCAN_API_KEY" in str(info.value)
    assert emulator.requests == 1  # a rejection is not retried


def test_unsupported_and_paid_only_chains(emulator: EtherscanEmulator) -> None:
    with pytest.raises(SourceRejected, match="unsupported chainid"):
        adapter_for(emulator).fetch_history(get_chain("polygon"), THIEF, start_block=0, end_block=1)
    with pytest.raises(BadChain):
        adapter_for(emulator).fetch_tip(get_chain("bitcoin"))
    worlds = {1: scenario(), 56: EvmWorld(chain_id=56)}
    with EtherscanEmulator(worlds, free_chains_only=True) as server:
        adapter = adapter_for(server)
        assert adapter.fetch_tip(ETH) == 108
        with pytest.raises(SourceRejected, match=r"bsc \(chainid 56\) is not available with .* plan"):
            adapter.fetch_tip(get_chain("bsc"))


def test_bad_address(emulator: EtherscanEmulator) -> None:
    body = raw(emulator, chainid="1", module="account", action="txlist", address="0x123", apikey=KEY)
    assert body == {"status": "0", "message": "NOTOK", "result": "Error! Invalid address format"}
    with pytest.raises(BadAddress):
        adapter_for(emulator).fetch_history(ETH, "0x123", start_block=0, end_block=1)
    assert emulator.requests == 1  # the adapter refused before asking


def test_v1_endpoint_is_deprecated(emulator: EtherscanEmulator) -> None:
    assert "deprecated V1 endpoint" in raw(emulator, "/api", module="account", action="txlist")["result"]
    with pytest.raises(SourceRejected, match=r"deprecated V1 endpoint.*v2/api"):
        adapter_for(emulator, base_url=emulator.base_url + "/api").fetch_tip(ETH)


def test_rate_limit_body_and_429_are_retried(emulator: EtherscanEmulator) -> None:
    emulator.faults = FaultPlan(script=(Fault.RATE_LIMIT_BODY, Fault.TOO_MANY, Fault.RATE_LIMIT_BODY))
    waits: list[float] = []
    adapter = adapter_for(emulator, sleep=waits.append)
    chunk = adapter.fetch_history(ETH, THIEF, start_block=0, end_block=200)
    assert len(chunk.transfers) == 12
    assert emulator.requests == 4 + 3 and adapter.requests == 7
    assert any(w >= 1.0 for w in waits)  # the 429's Retry-After: 1


def test_server_side_rate_limit_is_survived() -> None:
    with EtherscanEmulator(scenario(), rate_limit_per_s=8) as server:
        adapter = adapter_for(server, sleep=__import__("time").sleep, retry=RetryPolicy(attempts=8, backoff_base=0.05))
        for _ in range(4):
            assert len(adapter.fetch_history(ETH, THIEF, start_block=0, end_block=200).transfers) == 12
        assert server.rate_limited > 0 and adapter.requests == server.requests == 4 * 4 + server.rate_limited


def test_status_one_with_null_result_is_empty() -> None:
    class NullResult(EmulatorServer):
        def handle(self, request: Request) -> Reply:
            return Reply.json({"status": "1", "message": "OK", "result": None})

    with NullResult() as server:
        chunk = adapter_for(server).fetch_history(ETH, THIEF, start_block=0, end_block=5)
    assert chunk.transfers == () and chunk.complete


def test_query_timeout_body_is_retried_then_clear() -> None:
    class Busy(EmulatorServer):
        def handle(self, request: Request) -> Reply:
            return Reply.json(
                {
                    "status": "0",
                    "message": "NOTOK",
                    "result": "Query Timeout occured. Please select a smaller result dataset",
                }
            )

    with Busy() as server:
        with pytest.raises(SourceError, match="after 5 attempts: etherscan: Query Timeout"):
            adapter_for(server).fetch_tip(ETH)
        assert server.requests == 5


def test_token_positions_do_not_depend_on_log_index() -> None:
    world = EvmWorld(chain_id=1)
    tokens = tuple(
        WorldTokenTransfer(USDT, THIEF, r, 10 + i, 40 + i, "USDT", "Tether USD", 6) for i, r in enumerate((R1, R2))
    )
    world.add([WorldTx(h(1), 5, 0, 1000, THIEF, USDT, 0, tokens=tokens)])
    found = []
    for with_index in (False, True):
        with EtherscanEmulator(world, token_log_index=with_index) as server:
            chunk = adapter_for(server).fetch_history(ETH, THIEF, start_block=0, end_block=10)
        found.append({(t.position, t.receiver) for t in chunk.transfers if t.kind is TransferKind.TOKEN})
    assert found[0] == found[1] == {(token_position_of(USDT, THIEF, r, 10 + i), r) for i, r in enumerate((R1, R2))}


def test_archive_gets_redacted_urls(emulator: EtherscanEmulator) -> None:
    stored: list[tuple[str, str, bytes]] = []

    class Archive:
        def archive_response(self, *, source: str, url: str, body: bytes) -> str:
            stored.append((source, url, body))
            return "0" * 64

    adapter_for(emulator, archive=Archive()).fetch_history(ETH, THIEF, start_block=0, end_block=200)
    assert len(stored) == 4 and all(s == "etherscan" and KEY not in u and "apikey=***" in u for s, u, _ in stored)


# -- positions -------------------------------------------------------------------------------------


def test_internal_position_is_order_preserving_and_unique() -> None:
    paths = sorted(
        {(i,) for i in range(0, 998, 37)}
        | {(i, j) for i in range(5) for j in range(98)}
        | {(0, 1, k) for k in range(9)}
    )
    codes = [internal_position(p) for p in paths]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    assert all(2 <= c < 1_000_000 for c in codes)
    assert (
        internal_position((0,)) < internal_position((0, 0)) < internal_position((0, 0, 0)) < internal_position((0, 1))
    )
    odd = internal_position((0, 1, 2, 3))
    assert 2 <= odd < 1000 and odd == internal_position((0, 1, 2, 3))
    assert trace_address_of("0_1_2") == (0, 1, 2) and trace_address_of("") == ()
    with pytest.raises(SourceRejected):
        trace_address_of("x_1")


def test_url_is_an_alias_of_base_url(emulator: EtherscanEmulator) -> None:
    adapter = EtherscanAdapter(url=emulator.api_url, api_key=KEY, rate_per_s=None)
    assert adapter.base_url == emulator.api_url and adapter.fetch_tip(ETH) == 108


def test_proxy_receipts_balance_and_internal_by_hash(emulator: EtherscanEmulator) -> None:
    receipt = raw(emulator, chainid="1", module="proxy", action="eth_getTransactionReceipt", txhash=h(5), apikey=KEY)
    assert receipt["jsonrpc"] == "2.0" and receipt["result"]["status"] == "0x0"
    assert receipt["result"]["gasUsed"] == hex(30_000) and receipt["result"]["transactionIndex"] == "0x2"
    token_log = raw(emulator, chainid="1", module="proxy", action="eth_getTransactionReceipt", txhash=h(4), apikey=KEY)
    assert token_log["result"]["logs"][0]["logIndex"] == "0x7"
    missing = raw(emulator, chainid="1", module="proxy", action="eth_getTransactionByHash", txhash=h(99), apikey=KEY)
    assert missing["result"] is None
    bad = raw(emulator, chainid="1", module="proxy", action="eth_getCode", address="0x12", apikey=KEY)
    assert "error" in bad
    balance = raw(emulator, chainid="1", module="account", action="balance", address=HOP1, apikey=KEY)
    assert balance == {"status": "1", "message": "OK", "result": str(10 * 10**18 - 9 * 10**18 - 21_000 * 20 * 10**9)}
    by_hash = raw(emulator, chainid="1", module="account", action="txlistinternal", txhash=h(3), apikey=KEY)
    assert [r["to"] for r in by_hash["result"]] == [R1, R2, R3]  # in trace order; like the live API, no traceId
    assert not any("traceId" in r or "hash" in r for r in by_hash["result"])
    assert raw(emulator, chainid="1", module="nope", apikey=KEY)["result"] == "Error! Missing Or invalid Module name"
    assert raw(emulator, chainid="1", module="account", action="nope", apikey=KEY)["result"].startswith(
        "Error! Missing"
    )


def test_colliding_deep_trace_codes_keep_both_calls() -> None:
    assert internal_position((0, 0, 2, 3)) == internal_position((0, 0, 2, 8))  # a known checksum collision
    world = EvmWorld(chain_id=1)
    deep = (WorldInternal(FANOUT, THIEF, 11, "0_0_2_3"), WorldInternal(FANOUT, THIEF, 22, "0_0_2_8"))
    world.add([WorldTx(h(1), 5, 0, 1000, RELAYER, FANOUT, 0, internals=deep)])
    with EtherscanEmulator(world) as server:
        chunk = adapter_for(server).fetch_history(ETH, THIEF, start_block=0, end_block=10)
    assert sorted(t.amount for t in chunk.transfers) == [11, 22]
    assert len({t.position for t in chunk.transfers}) == 2
