"""The TronGrid adapter against the TronGrid emulator (a synthetic TRON world, labelled synthetic)."""

from __future__ import annotations

import hashlib
import time

import pytest

from chains.emulators.server import FaultPlan, Reply
from chains.emulators.trongrid import Trc20Move, TronGridEmulator, TronInternal, TronToken, TronTx, TronWorld
from chains.http import RetryPolicy
from chains.positions import token_position_of
from chains.tron import TronGridAdapter
from tracer.core.addresses import b58check_encode
from tracer.core.errors import SourceRejected
from tracer.core.models import FEE_SINK, TransferKind
from tracer.core.networks import get_chain

TRON = get_chain("tron")
FAST = RetryPolicy(attempts=8, backoff_base=0.0, backoff_max=0.0, jitter=False, timeout=5.0)


def addr(n: int) -> str:
    """A synthetic TRON address (version byte 0x41 + 20 bytes derived from n)."""
    return b58check_encode(b"\x41" + hashlib.sha256(f"synthetic-{n}".encode()).digest()[:20])


def txid(n: int) -> str:
    return hashlib.sha256(f"tx-{n}".encode()).hexdigest()


THIEF, MULE, DEPOSIT, CONTRACT, STRANGER = addr(1), addr(2), addr(3), addr(4), addr(5)
USDT = TronToken("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "USDT", 6, "Tether USD")
FAKE = TronToken(addr(99), "USDT", 6, "Tether USD")  # copies the symbol: address poisoning


def world() -> TronWorld:
    w = TronWorld()
    w.add(
        TronTx(txid(1), 100, STRANGER, to=THIEF, amount=5_000_000, fee=0),
        TronTx(txid(2), 101, THIEF, contract=USDT.contract, fee=13_845_000, trc20=(Trc20Move(USDT, THIEF, MULE, 700),)),
        TronTx(txid(3), 102, THIEF, to=MULE, amount=1_000_000, fee=1_100_000),
        TronTx(txid(4), 103, THIEF, contract=USDT.contract, fee=8_000_000, success=False),  # failed: fee only
        TronTx(
            txid(5),
            104,
            MULE,
            contract=CONTRACT,
            call_value=300_000,
            fee=2_000_000,
            internals=(TronInternal(CONTRACT, DEPOSIT, 300_000), TronInternal(CONTRACT, DEPOSIT, 300_000, True)),
        ),
        TronTx(txid(6), 105, FAKE.contract, contract=FAKE.contract, trc20=(Trc20Move(FAKE, STRANGER, THIEF, 0),)),
    )
    return w


def adapter(server: TronGridEmulator, **kw) -> TronGridAdapter:
    return TronGridAdapter(url=server.base_url, retry=FAST, sleep=lambda s: None, **kw)


def test_history_reads_trx_trc20_fees_and_failed_calls() -> None:
    with TronGridEmulator(world()) as server:
        chunk = adapter(server).fetch_history(TRON, THIEF, start_block=0, end_block=200)
    got = [
        (t.tx_hash, t.position, t.kind, t.sender, t.receiver, t.amount, t.success, t.asset.key) for t in chunk.transfers
    ]
    trx = "tron:native"
    assert (txid(1), 1, TransferKind.EXTERNAL, STRANGER, THIEF, 5_000_000, True, trx) in got
    assert (txid(2), 0, TransferKind.FEE, THIEF, FEE_SINK, 13_845_000, True, trx) in got
    usdt_at = token_position_of(USDT.contract, THIEF, MULE, 700)
    assert (txid(2), usdt_at, TransferKind.TOKEN, THIEF, MULE, 700, True, f"tron:{USDT.contract}") in got
    assert (txid(4), 0, TransferKind.FEE, THIEF, FEE_SINK, 8_000_000, True, trx) in got
    # a failed call moves no value
    assert all(t.tx_hash != txid(4) or t.kind is TransferKind.FEE for t in chunk.transfers)
    assert [t.block for t in chunk.transfers] == sorted(t.block for t in chunk.transfers)


def test_a_transfer_has_one_identity_from_both_sides() -> None:
    with TronGridEmulator(world()) as server:
        a = adapter(server)
        chunks = [a.fetch_history(TRON, x, start_block=0, end_block=200) for x in (THIEF, MULE)]
        thief, mule = ({(t.tx_hash, t.position, t.amount) for t in chunk.transfers} for chunk in chunks)
    assert (txid(2), token_position_of(USDT.contract, THIEF, MULE, 700), 700) in thief & mule
    assert (txid(3), 1, 1_000_000) in thief & mule


def test_internal_calls_and_rejected_ones() -> None:
    with TronGridEmulator(world()) as server:
        chunk = adapter(server).fetch_history(TRON, DEPOSIT, start_block=0, end_block=200)
    internal = [t for t in chunk.transfers if t.kind is TransferKind.INTERNAL]
    assert [(t.amount, t.success) for t in internal] == [(300_000, True), (300_000, False)]
    assert len({t.position for t in internal}) == 2


def test_block_range_and_tip() -> None:
    with TronGridEmulator(world()) as server:
        a = adapter(server)
        assert a.fetch_tip(TRON) == 105
        chunk = a.fetch_history(TRON, THIEF, start_block=102, end_block=103)
    assert {t.block for t in chunk.transfers} == {102, 103}


def test_a_broken_cursor_restarts_at_the_last_time_read() -> None:
    w = TronWorld()
    w.add(*(TronTx(txid(100 + i), 10 + i, STRANGER, to=THIEF, amount=1_000 + i) for i in range(30)))
    with TronGridEmulator(w, break_after_pages=2) as server:
        chunk = adapter(server, page_limit=4).fetch_history(TRON, THIEF, start_block=0, end_block=100)
    assert sorted(t.amount for t in chunk.transfers) == [1_000 + i for i in range(30)]


def test_a_cursor_that_cannot_move_past_one_time_is_an_error_not_a_short_history() -> None:
    w = TronWorld()
    w.add(*(TronTx(txid(200 + i), 10, STRANGER, to=THIEF, amount=1_000 + i) for i in range(5)))  # one block
    with TronGridEmulator(w, break_after_pages=1) as server, pytest.raises(SourceRejected, match="pages no further"):
        adapter(server, page_limit=2).fetch_history(TRON, THIEF, start_block=0, end_block=100)


def test_ten_percent_faults_give_identical_records() -> None:
    with TronGridEmulator(world()) as server:
        clean = adapter(server).fetch_history(TRON, THIEF, start_block=0, end_block=200).transfers
    with TronGridEmulator(world(), faults=FaultPlan.mixed(0.10, seed=7)) as server:
        faulty = adapter(server).fetch_history(TRON, THIEF, start_block=0, end_block=200).transfers
    assert faulty == clean


def test_suspended_403_is_waited_out_and_the_key_never_shows() -> None:
    waits: list[float] = []
    with TronGridEmulator(world(), rate_limit_per_s=1.0) as server:
        a = TronGridAdapter(url=server.base_url, retry=FAST, sleep=lambda s: (waits.append(s), time.sleep(0.6)))
        for _ in range(3):
            a.fetch_tip(TRON)
    assert waits  # the free tier's 403 "suspended" answer was waited out, not fatal
    with TronGridEmulator(world()) as server:
        keyed = TronGridAdapter(url=server.base_url, api_key="SECRETKEY123", retry=FAST, sleep=lambda s: None)
        keyed.fetch_tip(TRON)
        assert "SECRETKEY123" not in repr(server.request_log)


def test_bad_input_is_a_clear_error() -> None:
    with TronGridEmulator(world()) as server:
        a = adapter(server)
        with pytest.raises(Exception, match="TRON transaction id"):
            a.fetch_transaction(TRON, "nothex")
        with pytest.raises(Exception, match="TronGrid serves TRON only"):
            a.fetch_tip(get_chain("ethereum"))


class _BusyThenFine(TronGridEmulator):
    """Answers its first `busy` requests with TronGrid's 200-body error, then normally (synthetic)."""

    def __init__(self, world: TronWorld, busy: int, text: str = "server is busy, please retry later") -> None:
        super().__init__(world)
        self.busy = busy
        self.text = text

    def handle(self, request):
        if self.busy > 0:
            self.busy -= 1
            return Reply.json({"Error": self.text})  # HTTP 200
        return super().handle(request)


def test_errors_in_200_bodies_are_retried_or_refused() -> None:
    with _BusyThenFine(world(), busy=3) as server:
        chunk = adapter(server).fetch_history(TRON, THIEF, start_block=0, end_block=200)
        assert server.requests >= 3 + 3 and chunk.transfers  # three busy answers were retried
    text = "class org.tron.core.exception.BadItemException : invalid block number"
    with _BusyThenFine(world(), busy=1, text=text) as server, pytest.raises(SourceRejected, match="BadItemException"):
        adapter(server).fetch_tip(TRON)  # an error that is not about load: refused at once, never read as data


def test_keyed_rate_limit_429_is_retried_and_the_key_stays_in_its_header() -> None:
    key = "SYNTHETIC-KEY-429"
    with TronGridEmulator(world(), rate_limit_per_s=4.0) as server:
        keyed = TronGridAdapter(url=server.base_url, api_key=key, retry=FAST, sleep=lambda s: time.sleep(0.3))
        chunk = keyed.fetch_history(TRON, THIEF, start_block=0, end_block=200)
        assert chunk.transfers and server.rate_limited > 0  # 429s were answered and waited out
        assert set(server.keys_seen) == {key} and key not in repr(server.request_log)


@pytest.mark.parametrize("limit", [2, 3, 4])
def test_page_edge_repeats_are_dropped_and_identical_transfers_kept(limit: int) -> None:
    w = TronWorld()
    w.add(*(TronTx(txid(300 + i), 10 + i, STRANGER, to=MULE, amount=7_000 + i) for i in range(3)))
    same = (Trc20Move(USDT, THIEF, MULE, 5),) * 3  # three identical transfers in one transaction
    w.add(TronTx(txid(310), 20, THIEF, contract=USDT.contract, fee=1, trc20=(Trc20Move(USDT, THIEF, MULE, 1), *same)))
    w.add(*(TronTx(txid(320 + i), 30 + i, THIEF, contract=USDT.contract, trc20=(Trc20Move(USDT, THIEF, MULE, 9 + i),))
            for i in range(3)))  # fmt: skip
    with TronGridEmulator(w) as server:
        clean = adapter(server).fetch_history(TRON, MULE, start_block=0, end_block=100).transfers
    with TronGridEmulator(w, edge_duplicates=True) as server:
        got = adapter(server, page_limit=limit).fetch_history(TRON, MULE, start_block=0, end_block=100).transfers
    assert got == clean
    assert sorted(t.amount for t in got if t.kind is TransferKind.TOKEN) == [1, 5, 5, 5, 9, 10, 11]


def test_a_transaction_read_alone_matches_the_histories() -> None:
    with TronGridEmulator(world()) as server:
        a = adapter(server)
        history = set(a.fetch_history(TRON, THIEF, start_block=0, end_block=200).transfers)
        alone = adapter(server).fetch_transaction(TRON, "0x" + txid(2).upper())
    assert [t.kind for t in alone] == [TransferKind.FEE, TransferKind.TOKEN]
    assert {(t.tx_hash, t.position, t.amount, t.block) for t in alone} <= {
        (t.tx_hash, t.position, t.amount, t.block) for t in history
    }
