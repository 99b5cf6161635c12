"""The Esplora adapter against the Esplora emulator (real HTTP on 127.0.0.1); data is SYNTHETIC."""

from __future__ import annotations

import pytest
import requests

from chains.emulators.esplora import EsploraEmulator, esplora_json, synthetic_address, synthetic_tx, synthetic_txid
from chains.emulators.server import Fault, FaultPlan
from chains.esplora import EsploraAdapter, InvalidBitcoinAddress, TxNotFound, parse_tx
from chains.http import RetryPolicy
from tracer.core.errors import BadAddress, BadChain, RetriesExhausted
from tracer.core.networks import get_chain

BTC = get_chain("bitcoin")
HOT = synthetic_address("hot")
FAST = RetryPolicy(attempts=6, backoff_base=0.0, backoff_max=0.0, jitter=False, timeout=5.0)


def _world() -> list:
    """60 payments into HOT over 60 blocks (3 pages), a coinbase, an OP_RETURN, an unconfirmed spend."""
    txs = [synthetic_tx("coinbase", [(None, None, None, 0)], [(HOT, 625_000_000)], block=799_000)]
    prev = txs[0].txid
    for n in range(60):
        payer = synthetic_address(f"payer-{n}")
        txs.append(
            synthetic_tx(
                f"pay-{n}",
                [(synthetic_txid(f"funding-{n}"), 0, payer, 1_000_000 + n)],
                [(HOT, 900_000), (payer, 99_000 + n)],
                block=800_000 + n,
            )
        )
    txs.append(synthetic_tx("memo", [(prev, 0, HOT, 625_000_000)], [(None, 0), (HOT, 624_990_000)], block=800_100))
    txs.append(
        synthetic_tx(
            "pending", [(txs[-1].txid, 1, HOT, 624_990_000)], [(synthetic_address("x"), 624_980_000)], block=None
        )
    )
    return txs


@pytest.fixture(scope="module")
def world() -> list:
    return _world()


@pytest.fixture
def emulator(world):
    with EsploraEmulator(world) as server:
        yield server


def _adapter(server: EsploraEmulator) -> EsploraAdapter:
    return EsploraAdapter(url=server.base_url + "/api", retry=FAST)


def test_address_history_pages_of_25_newest_first_returned_oldest_first(emulator, world):
    adapter = _adapter(emulator)
    txs = adapter.fetch_address_txs(BTC, HOT)
    confirmed = [t for t in world if t.block is not None]
    assert [t.txid for t in txs] == [t.txid for t in sorted(confirmed, key=lambda t: t.block)]
    pages = [q for _, path, q in emulator.request_log if "/txs/chain" in path]
    assert len(pages) == 3  # 62 confirmed txs: 25 + 25 + 12
    assert adapter.requests == 3


def test_max_txs_keeps_the_newest(emulator, world):
    txs = _adapter(emulator).fetch_address_txs(BTC, HOT, max_txs=30)
    assert len(txs) == 30
    assert txs[-1].txid == synthetic_txid("memo")


def test_cursor_quirks(emulator):
    base = emulator.base_url + "/api"
    first = requests.get(f"{base}/address/{HOT}/txs/chain", timeout=5).json()
    assert len(first) == 25
    assert requests.get(f"{base}/address/{HOT}/txs/chain/{'ab' * 32}", timeout=5).json() == []  # unknown cursor
    again = requests.get(f"{base}/address/{HOT}/txs/chain/not-a-txid", timeout=5).json()
    assert [t["txid"] for t in again] == [t["txid"] for t in first]  # malformed cursor: ignored
    mixed = requests.get(f"{base}/address/{HOT}/txs", timeout=5).json()
    assert mixed[0]["status"] == {"confirmed": False}


def test_tx_records_coinbase_op_return_unconfirmed(emulator, world):
    adapter = _adapter(emulator)
    coinbase = adapter.fetch_tx(BTC, world[0].txid)
    assert coinbase.inputs[0].coinbase and coinbase.inputs[0].address is None
    memo = adapter.fetch_tx(BTC, synthetic_txid("memo"))
    assert memo.outputs[0].address is None and memo.outputs[0].value == 0
    assert memo.fee == 10_000 and memo.block == 800_100
    pending = adapter.fetch_tx(BTC, synthetic_txid("pending"))
    assert pending.block is None and pending.timestamp is None
    assert adapter.fetch_outspends(BTC, synthetic_txid("memo")) == [None, synthetic_txid("pending")]
    full = adapter.fetch_tx_with_spenders(BTC, world[0].txid)
    assert full.outputs[0].spent_by == synthetic_txid("memo")


def test_text_plain_errors(emulator):
    adapter = _adapter(emulator)
    with pytest.raises(TxNotFound, match="404"):
        adapter.fetch_tx(BTC, "cd" * 32)
    with pytest.raises(BadAddress):  # refused locally before any request
        adapter.fetch_address_txs(BTC, "1NotAnAddress")
    response = requests.get(f"{emulator.base_url}/api/address/1NotAnAddress/txs/chain", timeout=5)
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "Invalid Bitcoin address"
    with pytest.raises(BadChain):
        adapter.fetch_tip(get_chain("ethereum"))


def test_server_side_invalid_address_maps_to_invalid_bitcoin_address(emulator):
    adapter = _adapter(emulator)
    with pytest.raises(InvalidBitcoinAddress):
        adapter._get_json("/address/1NotAnAddress/txs/chain")


def test_tip_is_text_plain(emulator):
    assert _adapter(emulator).fetch_tip(BTC) == 800_100


def test_parse_round_trip(world):
    for tx in world:
        assert parse_tx("bitcoin", esplora_json(tx)) == tx


def _contract_run(adapter: EsploraAdapter, world: list) -> tuple:
    """The contract: every UtxoAdapter call, its records as plain tuples."""
    tip = adapter.fetch_tip(BTC)
    history = adapter.fetch_address_txs(BTC, HOT)
    txs = [adapter.fetch_tx(BTC, t.txid) for t in world[:8]]
    outspends = [adapter.fetch_outspends(BTC, t.txid) for t in world[:8]]
    try:
        adapter.fetch_tx(BTC, "ef" * 32)
        missing = "found"
    except TxNotFound:
        missing = "not found"
    return tip, history, txs, outspends, missing


@pytest.mark.parametrize(
    "plan",
    [
        FaultPlan(rates={Fault.TOO_MANY_BARE: 0.3}, seed=1),
        FaultPlan(rates={Fault.SERVER_ERROR: 0.3}, seed=2),
        FaultPlan(rates={Fault.SLOW: 0.2}, seed=3, slow_seconds=0.05),
        FaultPlan.mixed(
            0.4, kinds=(Fault.TOO_MANY_BARE, Fault.SERVER_ERROR, Fault.SLOW, Fault.RESET), seed=4, slow_seconds=0.05
        ),
    ],
    ids=["429-no-retry-after", "5xx", "slow", "mixed"],
)
def test_contract_identical_under_faults(world, plan):
    with EsploraEmulator(world) as clean_server:
        expected = _contract_run(_adapter(clean_server), world)
    with EsploraEmulator(world, faults=plan) as faulty:
        adapter = _adapter(faulty)
        got = _contract_run(adapter, world)
        assert sum(faulty.faults_served.values()) > 0
        assert adapter.requests > 13
    assert got == expected


def test_429_without_retry_after_is_retried_then_exhausted(world):
    plan = FaultPlan(script=(Fault.TOO_MANY_BARE,) * 10)
    with EsploraEmulator(world, faults=plan) as server:
        adapter = EsploraAdapter(url=server.base_url, retry=RetryPolicy(attempts=3, backoff_base=0, jitter=False))
        with pytest.raises(RetriesExhausted, match="429"):
            adapter.fetch_tip(BTC)
        assert server.requests == 3


def test_public_hosts_are_rate_limited_by_default():
    assert EsploraAdapter().client.rate_per_s == 0.5
    assert EsploraAdapter(url="http://127.0.0.1:1/api").client.rate_per_s is None


def test_emulator_other_routes(emulator, world):
    base = emulator.base_url + "/api"
    stats = requests.get(f"{base}/address/{HOT}", timeout=5).json()
    assert stats["chain_stats"]["tx_count"] == 62 and stats["mempool_stats"]["tx_count"] == 1
    assert stats["chain_stats"]["funded_txo_sum"] == 625_000_000 + 60 * 900_000 + 624_990_000
    memo = synthetic_txid("memo")
    assert requests.get(f"{base}/tx/{memo}/outspend/1", timeout=5).json()["txid"] == synthetic_txid("pending")
    assert requests.get(f"{base}/tx/{memo}/outspend/0", timeout=5).json() == {"spent": False}
    assert requests.get(f"{base}/tx/{memo}/status", timeout=5).json()["block_height"] == 800_100
    assert len(requests.get(f"{base}/block-height/800000", timeout=5).text) == 64
    bad = requests.get(f"{base}/tx/xyz", timeout=5)
    assert bad.status_code == 400 and bad.text == "Invalid hex string"


def test_spends_unknown_answers_404_for_outspends(world):
    with EsploraEmulator(world, spends_unknown=True) as server:
        adapter = _adapter(server)
        with pytest.raises(TxNotFound):
            adapter.fetch_outspends(BTC, synthetic_txid("pending"))
        assert adapter.fetch_outspends(BTC, world[0].txid) == [synthetic_txid("memo")]  # fully spent: known
