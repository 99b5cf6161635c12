"""The live-service quirks of issue 14, in every Etherscan-compatible emulator flavour.

The emulator answers internal calls as Etherscan (trace-address `traceId`), Routescan (flat
`traceId`) or Blockscout (`transactionHash`, flat `index`) do, and `txlistinternal&txhash=`
without `hash`/`traceId` in every flavour. The adapter must give the same records whichever
answered, keep identical calls apart, and never call a Blockscout status-2 history complete.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chains.emulators.etherscan import FLAVOURS, EtherscanEmulator
from chains.emulators.world import EvmWorld, WorldInternal, WorldTx
from chains.etherscan import EtherscanAdapter
from chains.http import RetryPolicy
from tracer.core.models import TransferKind
from tracer.core.networks import get_chain
from tracer.sources.history import HistoryService
from tracer.store import Store

ETH = get_chain("ethereum")
BATCH, DEPOSIT, THIEF, OTHER = (f"0x{n:040x}" for n in (0xB0, 0xD0, 0x7E, 0x0E))
TX = f"0x{0xABC:064x}"
#: Synthetic world: a batch contract makes three identical 32 ETH calls (and one other) in one transaction.
CALLS = (
    WorldInternal(BATCH, DEPOSIT, 32 * 10**18, "0"),
    WorldInternal(BATCH, DEPOSIT, 32 * 10**18, "1"),
    WorldInternal(BATCH, OTHER, 10**18, "1_0"),
    WorldInternal(BATCH, DEPOSIT, 32 * 10**18, "2"),
)


def world() -> EvmWorld:
    w = EvmWorld(chain_id=1, contracts={BATCH, DEPOSIT})
    w.add([WorldTx(TX, 10, 0, 1_700_000_000, THIEF, BATCH, 97 * 10**18, gas_used=90_000, internals=CALLS)])
    return w


def adapter(server: EtherscanEmulator) -> EtherscanAdapter:
    retry = RetryPolicy(attempts=2, backoff_base=0.0, backoff_max=0.0, timeout=5.0)
    return EtherscanAdapter(url=server.api_url, rate_per_s=None, retry=retry, sleep=lambda _s: None)


def records(flavour: str) -> tuple[set, list]:
    with EtherscanEmulator(world(), flavour=flavour) as server:
        a = adapter(server)
        history = {
            t
            for who in (BATCH, DEPOSIT, OTHER)
            for t in a.fetch_history(ETH, who, start_block=0, end_block=20).transfers
        }
        return history, a.fetch_tx_internals(ETH, TX)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_identical_calls_stay_apart_and_agree_between_modes(flavour: str) -> None:
    history, by_hash = records(flavour)
    internals = {t for t in history if t.kind is TransferKind.INTERNAL}
    assert sorted(t.amount for t in internals) == sorted(c.value for c in CALLS)  # 97 ETH, none collapsed
    assert set(by_hash) == internals  # txhash mode (no hash, no traceId) gives the same identities
    assert [t.receiver for t in by_hash] == [c.to for c in CALLS]  # in trace order


def test_every_flavour_gives_the_same_records() -> None:
    found = [records(flavour)[0] for flavour in FLAVOURS]
    assert found[0] == found[1] == found[2]


def test_txhash_rows_carry_neither_hash_nor_trace_id() -> None:
    for flavour in FLAVOURS:
        with EtherscanEmulator(world(), flavour=flavour) as server:
            body = adapter(server)._call(ETH, {"module": "account", "action": "txlistinternal", "txhash": TX})
        assert all(not {"hash", "traceId", "transactionHash", "index"} & set(row) for row in body["result"])


def test_blockscout_status_2_is_a_gap_never_covered(tmp_path: Path) -> None:
    with (
        EtherscanEmulator(world(), flavour="blockscout", unprocessed_internal=True) as server,
        Store.open(tmp_path / "s.sqlite3") as store,
    ):
        service = HistoryService(store, {"ethereum": adapter(server)})
        chunk = service.history(ETH, DEPOSIT, start_block=0, end_block=20)
        assert not chunk.complete and len(chunk.gaps) == 1 and "status 2" in chunk.gaps[0]
        assert sum(t.amount for t in chunk.transfers) == 96 * 10**18  # what it answered is kept
        assert store.missing_ranges("etherscan", "ethereum", DEPOSIT, 0, 20) == [(0, 20)]
        internal_asks = [q for _, _, q in server.request_log if q.get("action") == "txlistinternal"]
        assert len(internal_asks) == 3  # asked, retried twice
