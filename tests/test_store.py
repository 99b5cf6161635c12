"""The local store: exact round trips, de-duplication, coverage, evidence archive, labels, migrations."""

from __future__ import annotations

import hashlib
import sqlite3
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracer.store.schema as store_module
import tracer.store.transfers as transfers_module
from tracer.core.errors import StoreError
from tracer.core.models import (
    FEE_SINK,
    Asset,
    Category,
    Label,
    NoiseFlag,
    Transfer,
    TransferKind,
    TxInput,
    TxOutput,
    UtxoTx,
)
from tracer.core.protocols import HistoryChunk
from tracer.store import Store, merge_ranges, subtract_ranges

ETH = Asset("ethereum", None, "ETH", 18)
USDT = Asset("ethereum", "0xdac17f958d2ee523a2206206994597c13d831ec7", "USDT", 6)
FAKE_USDT = Asset("ethereum", "0x" + "de" * 20, "USDT", 6)  # same symbol, other contract: a different asset
TRX = Asset("tron", None, "TRX", 6)
A = "0x" + "a1" * 20
B = "0x" + "b2" * 20
C = "0x" + "c3" * 20
TRON_A = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
TRON_B = "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7"


def _hash(n: int) -> str:
    return "0x" + hashlib.sha256(str(n).encode()).hexdigest()


def _tx(n: int, block: int, sender: str, receiver: str, amount: int, **kw: object) -> list[Transfer]:
    """A synthetic EVM transaction: its fee and its value transfer."""
    common = {
        "chain": "ethereum",
        "tx_hash": _hash(n),
        "block": block,
        "tx_index": n % 7,
        "timestamp": 1_700_000_000 + block,
    }
    return [
        Transfer(
            **common,
            position=0,
            sender=sender,
            receiver=FEE_SINK,
            asset=ETH,
            amount=21_000 * 10**9,
            kind=TransferKind.FEE,
        ),  # type: ignore[arg-type]
        Transfer(
            **common,
            position=1,
            sender=sender,
            receiver=receiver,
            asset=ETH,
            amount=amount,
            kind=TransferKind.EXTERNAL,
            **kw,
        ),  # type: ignore[arg-type]
    ]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "home" / "store.sqlite3") as opened:
        yield opened


def test_open_creates_directories_wal_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.sqlite3"
    with Store.open(path) as store:
        assert store.schema_version == len(store_module.MIGRATIONS)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 16384  # new stores get large pages


def test_store_with_small_pages_keeps_them_and_works(tmp_path: Path) -> None:
    """A store created with 4 KiB pages (earlier heisttrace) is opened as it is: WAL pins the page size."""
    path = tmp_path / "store.sqlite3"
    old = sqlite3.connect(path)
    old.execute("PRAGMA page_size = 4096")
    old.execute("PRAGMA journal_mode = WAL")
    old.execute("CREATE TABLE unrelated (x)")
    old.close()
    with Store.open(path) as store:
        store.write_history("etherscan", "ethereum", A, HistoryChunk(tuple(_tx(1, 5, A, B, 1)), 0, 9))
        assert store.read_transfers("etherscan", "ethereum", A) == _tx(1, 5, A, B, 1)
        assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == (64 << 20) // 4096
    assert sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0] == 4096


def test_transfers_round_trip_exactly(store: Store) -> None:
    transfers = [
        *_tx(1, 100, A, B, 10**30),  # beyond 64 bits
        *_tx(2, 100, B, A, 5, success=False),
        Transfer("ethereum", _hash(3), 1_000_007, 101, 0, 1_700_000_101, B, A, USDT, 2**256 - 1, TransferKind.TOKEN),
        Transfer(
            "ethereum", _hash(4), 1_000_000, 102, 3, 1_700_000_102, C, A, FAKE_USDT, 0, TransferKind.TOKEN,
            noise=frozenset({NoiseFlag.ZERO_VALUE, NoiseFlag.SPOOFED}),
        ),
        Transfer("ethereum", _hash(1), 2, 100, 1, 1_700_000_100, B, C, ETH, 7, TransferKind.INTERNAL),
    ]  # fmt: skip
    store.write_history("etherscan", "ethereum", A, HistoryChunk(tuple(reversed(transfers)), 0, 200))
    got = store.read_transfers("etherscan", "ethereum", A)
    assert got == sorted(transfers, key=lambda t: t.order_key)
    assert got[0].asset == ETH and {t.asset for t in got} == {ETH, USDT, FAKE_USDT}
    assert store.read_transfers("etherscan", "ethereum", A.upper().replace("0X", "0x"), start_block=101) == sorted(
        transfers[4:6], key=lambda t: t.order_key
    )
    assert store.read_transfers("etherscan", "ethereum", A, start_block=100, end_block=100) == sorted(
        [*transfers[:4], transfers[6]], key=lambda t: t.order_key
    )


def test_large_history_round_trips_through_every_statement_size(store: Store) -> None:
    """Rows go in as multi-row statements of power-of-two sizes: 2 * 256 + 128 + 64 + 4 + 1 transactions."""
    transfers = []
    for n in range(709):
        fee, value = _tx(n, 1_000 + n // 3, A if n % 2 else B, B if n % 2 else A, 10**20 + n if n % 5 else n)
        transfers += [fee, value]
        if n % 4 == 0:  # a token transfer with noise in some transactions
            noise = frozenset({NoiseFlag.DUST}) if n % 8 == 0 else frozenset()
            token = Transfer("ethereum", _hash(n), 1_000_000 + n % 9, value.block, value.tx_index, value.timestamp,
                             B, A, USDT, 2**255 + n, TransferKind.TOKEN, success=n % 3 != 0, noise=noise)  # fmt: skip
            transfers.append(token)
    store.write_history("etherscan", "ethereum", A, HistoryChunk(tuple(transfers), 0, 5_000))
    assert store.read_transfers("etherscan", "ethereum", A) == sorted(transfers, key=lambda t: t.order_key)
    assert store.info().counts["transfers"] == len(transfers)


def test_rewrite_of_known_transactions_updates_them_and_adds_new_ones(store: Store) -> None:
    old = [*_tx(1, 10, A, B, 5), *_tx(2, 11, B, A, 6)]
    store.write_history("etherscan", "ethereum", A, HistoryChunk(tuple(old), 0, 20))
    moved = [  # tx 2 re-reported at another index inside its block, next to a new transaction
        Transfer(**{**{f: getattr(t, f) for f in Transfer.__slots__}, "tx_index": 6}) for t in old[2:]
    ]
    new = _tx(3, 12, A, C, 7)
    store.write_history("etherscan", "ethereum", A, HistoryChunk((*old[:2], *moved, *new), 0, 20))
    assert store.read_transfers("etherscan", "ethereum", A) == sorted(
        [*old[:2], *moved, *new], key=lambda t: t.order_key
    )
    assert store.info().counts["transfers"] == 6  # tx 2 replaced in place, not duplicated
    store.write_history("etherscan", "ethereum", C, HistoryChunk(tuple(_tx(4, 13, C, B, 8)), 0, 20))  # ids still fresh
    assert store.read_transfers("etherscan", "ethereum", C) == _tx(4, 13, C, B, 8)


UNUSUAL_HASHES = [
    "0x" + "ab" * 30 + " ab ",  # 66 characters that bytes.fromhex would shorten (whitespace is skipped)
    "0x" + "ab" * 31 + "zz",  # not hex
    "0x" + "ab" * 33,  # too long
    "ab" * 32,  # no 0x (TRON style)
    "0x" + "AB" * 32,  # uppercase (a Transfer lowercases its hash; the encoder still keeps it as text)
]


@pytest.mark.parametrize("tx_hash", UNUSUAL_HASHES[:4])
def test_unusual_transaction_hashes_round_trip_exactly(store: Store, tx_hash: str) -> None:
    t = Transfer("ethereum", tx_hash, 1, 5, 0, 1_600_000_000, A, B, ETH, 1, TransferKind.EXTERNAL)
    store.write_history("etherscan", "ethereum", A, HistoryChunk((t,), 0, 10))
    assert store.read_transfers("etherscan", "ethereum", A) == [t]


def test_hash_encoding_of_a_whole_chunk_matches_one_by_one() -> None:
    plain = [_hash(n) for n in range(5)]
    for unusual in ([], *([h] for h in UNUSUAL_HASHES), UNUSUAL_HASHES):
        hashes = {*plain, *unusual}
        assert transfers_module._encode_hashes(hashes) == {h: transfers_module._encode_hash(h) for h in hashes}
    assert all(len(transfers_module._encode_hash(h)) == 32 for h in plain)
    assert all(transfers_module._encode_hash(h) == h for h in UNUSUAL_HASHES)


def test_chunk_mixing_plain_and_unusual_hashes_round_trips(store: Store) -> None:
    transfers = [
        Transfer("ethereum", h, 1, 5 + n, 0, 1_600_000_000, A, B, ETH, n, TransferKind.EXTERNAL)
        for n, h in enumerate([*UNUSUAL_HASHES[:4], _hash(1), _hash(2)])
    ]
    store.write_history("etherscan", "ethereum", A, HistoryChunk(tuple(transfers), 0, 20))
    assert store.read_transfers("etherscan", "ethereum", A) == transfers


def test_records_read_back_are_equal_frozen_and_hash_alike(store: Store) -> None:
    transfers = _tx(1, 5, A, B, 10**30, noise=frozenset({NoiseFlag.DUST}))
    store.write_history("etherscan", "ethereum", A, HistoryChunk(tuple(transfers), 0, 10))
    got = store.read_transfers("etherscan", "ethereum", A)
    assert got == transfers and {hash(t) for t in got} == {hash(t) for t in transfers}
    assert all(type(t) is Transfer and isinstance(t.kind, TransferKind) for t in got)
    with pytest.raises(AttributeError):
        got[0].amount = 1  # type: ignore[misc]
    assert repr(got[1]) == repr(transfers[1])


def test_tron_hashes_and_addresses_round_trip(store: Store) -> None:
    tx_hash = "ab" * 32  # TronGrid ids have no 0x
    t = Transfer("tron", tx_hash, 1, 5, 0, 1_600_000_000, TRON_A, TRON_B, TRX, 123_456, TransferKind.EXTERNAL)
    store.write_history("tron", "tron", TRON_B, HistoryChunk((t,), 0, 10))
    assert store.read_transfers("tron", "tron", TRON_B) == [t]


def test_transfer_touching_two_traced_addresses_is_kept_in_each_history(store: Store) -> None:
    shared = _tx(1, 50, A, B, 99)
    store.write_history("etherscan", "ethereum", A, HistoryChunk((*shared, *_tx(2, 60, A, C, 1)), 0, 100))
    store.write_history("etherscan", "ethereum", B, HistoryChunk(tuple(shared), 0, 100))
    assert store.read_transfers("etherscan", "ethereum", B) == shared
    assert store.read_transfers("etherscan", "ethereum", A) == [*shared, *_tx(2, 60, A, C, 1)]
    assert store.info().counts["transfers"] == 6  # one row per (history, transfer)
    # the same history from another source is kept apart (own rows, own coverage)
    store.write_history("rpc", "ethereum", B, HistoryChunk(tuple(shared), 0, 100))
    assert store.covered_ranges("rpc", "ethereum", B) == [(0, 100)]
    assert store.read_transfers("rpc", "ethereum", B) == shared
    assert store.read_transfers("rpc", "ethereum", A) == []
    assert store.info().counts["transfers"] == 8
    # re-fetching one history (here with a noise flag) leaves the other histories' copies as they were
    fields = {f: getattr(shared[1], f) for f in Transfer.__slots__}
    flagged = Transfer(**{**fields, "noise": frozenset({NoiseFlag.DUST})})
    store.write_history("etherscan", "ethereum", B, HistoryChunk((shared[0], flagged), 0, 100))
    assert store.read_transfers("etherscan", "ethereum", B) == [shared[0], flagged]
    assert store.read_transfers("etherscan", "ethereum", A)[:2] == shared
    assert store.info().counts["transfers"] == 8


def test_rewrite_updates_flags_without_duplicating(store: Store) -> None:
    first = _tx(1, 10, C, A, 5)
    store.write_history("etherscan", "ethereum", A, HistoryChunk(tuple(first), 0, 20))
    flagged = Transfer(
        **{**{f: getattr(first[1], f) for f in Transfer.__slots__}, "noise": frozenset({NoiseFlag.DUST})}
    )
    store.write_history("etherscan", "ethereum", A, HistoryChunk((first[0], flagged), 0, 20))
    assert store.read_transfers("etherscan", "ethereum", A) == [first[0], flagged]


def test_coverage_merges_and_missing_ranges(store: Store) -> None:
    assert store.covered_ranges("etherscan", "ethereum", A) == []
    assert store.missing_ranges("etherscan", "ethereum", A, 0, 100) == [(0, 100)]
    store.write_history("etherscan", "ethereum", A, HistoryChunk((), 10, 20))
    store.write_history("etherscan", "ethereum", A, HistoryChunk((), 21, 30))  # touching: merges
    store.write_history("etherscan", "ethereum", A, HistoryChunk((), 50, 60))
    assert store.covered_ranges("etherscan", "ethereum", A) == [(10, 30), (50, 60)]
    assert store.missing_ranges("etherscan", "ethereum", A, 0, 100) == [(0, 9), (31, 49), (61, 100)]
    assert store.missing_ranges("etherscan", "ethereum", A, 12, 28) == []
    assert store.missing_ranges("etherscan", "ethereum", A, 25, 55) == [(31, 49)]
    assert store.missing_ranges("etherscan", "ethereum", A, 5, 4) == []
    store.write_history("etherscan", "ethereum", A, HistoryChunk((), 0, 100))
    assert store.covered_ranges("etherscan", "ethereum", A) == [(0, 100)]


def test_partial_chunk_covers_only_what_it_says(store: Store) -> None:
    store.write_history("etherscan", "ethereum", A, HistoryChunk(tuple(_tx(1, 40, A, B, 1)), 0, 40, complete=False))
    assert store.missing_ranges("etherscan", "ethereum", A, 0, 100) == [(41, 100)]
    store.write_history("etherscan", "ethereum", A, HistoryChunk((), 30, 29, complete=False))  # nothing read in full
    assert store.covered_ranges("etherscan", "ethereum", A) == [(0, 40)]


def test_write_history_rejects_foreign_chain_atomically(store: Store) -> None:
    tron = Transfer("tron", "cd" * 32, 1, 5, 0, 1, TRON_A, TRON_B, TRX, 1, TransferKind.EXTERNAL)
    with pytest.raises(StoreError, match="tron transfer"):
        store.write_history("etherscan", "ethereum", A, HistoryChunk((*_tx(1, 1, A, B, 1), tron), 0, 10))
    assert store.covered_ranges("etherscan", "ethereum", A) == []


ranges = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=8)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(ranges=ranges, query=st.tuples(st.integers(0, 60), st.integers(0, 60)))
def test_range_arithmetic_matches_a_set_model(ranges: list[tuple[int, int]], query: tuple[int, int]) -> None:
    covered = {b for lo, hi in ranges for b in range(lo, hi + 1)}
    merged = merge_ranges(ranges)
    assert {b for lo, hi in merged for b in range(lo, hi + 1)} == covered
    assert all(merged[i][1] + 1 < merged[i + 1][0] for i in range(len(merged) - 1))  # disjoint, not touching
    start, end = query
    missing = subtract_ranges(start, end, merged)
    assert {b for lo, hi in missing for b in range(lo, hi + 1)} == set(range(start, end + 1)) - covered
    assert missing == merge_ranges(missing)


# ---------------------------------------------------------------------- UTXO


def _utxo(txid: str, *, spent_by: str | None = None) -> UtxoTx:
    return UtxoTx(
        "bitcoin",
        txid,
        800_000,
        1_690_000_000,
        (
            TxInput("11" * 32, 0, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", 150_000),
            TxInput(None, None, None, 0, coinbase=True),
        ),
        (
            TxOutput(0, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", 100_000, "p2pkh", spent_by),
            TxOutput(1, None, 0, "op_return"),
            TxOutput(2, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", 40_000, "p2sh"),
        ),
        fee=10_000,
        locktime=7,
        version=2,
    )


def test_utxo_round_trip_and_spenders_kept(store: Store) -> None:
    txid = "AA" * 32
    assert store.read_utxo_tx("esplora", "bitcoin", txid) is None
    store.write_utxo_txs("esplora", "bitcoin", [_utxo(txid, spent_by="bb" * 32)])
    assert store.read_utxo_tx("esplora", "bitcoin", txid) == _utxo(txid, spent_by="bb" * 32)
    store.write_utxo_txs("esplora", "bitcoin", [_utxo(txid)])  # a later copy without the spender
    assert store.read_utxo_tx("esplora", "bitcoin", txid.lower()).outputs[0].spent_by == "bb" * 32
    assert store.read_utxo_tx("other", "bitcoin", txid) is None


def test_address_txids(store: Store) -> None:
    address = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
    assert store.read_address_txids("esplora", "bitcoin", address) == ([], None)
    store.write_address_txids("esplora", "bitcoin", address, ["01" * 32, "02" * 32], complete_to_block=100)
    store.write_address_txids("esplora", "bitcoin", address.upper(), ["02" * 32, "03" * 32], complete_to_block=120)
    assert store.read_address_txids("esplora", "bitcoin", address) == (["01" * 32, "02" * 32, "03" * 32], 120)


# ---------------------------------------------------------------------- evidence archive


def test_archive_round_trip_compressed_and_listed(tmp_path: Path) -> None:
    clock = iter([1000.0, 2000.0, 3000.0])
    with Store.open(tmp_path / "s.sqlite3", clock=lambda: next(clock)) as store:
        body = b'{"status":"1","result":[]}' * 100
        digest = store.archive_response(source="etherscan", url="https://x/api?module=account&apikey=***", body=body)
        assert digest == hashlib.sha256(body).hexdigest()
        assert store.archive_response(source="etherscan", url="https://x/api?again", body=body) == digest  # kept once
        other = store.archive_response(source="esplora", url="https://m/api/tx/ab", body=b"raw")
        assert store.read_response(digest) == body and store.read_response(other) == b"raw"
        assert [r.sha256 for r in store.list_responses()] == [digest, other]
        (record,) = store.list_responses(source="etherscan")
        assert (record.url, record.fetched_at, record.size) == (
            "https://x/api?module=account&apikey=***",
            1000,
            len(body),
        )
        with pytest.raises(StoreError, match="no archived response"):
            store.read_response("00" * 32)
    (raw,) = (
        sqlite3.connect(tmp_path / "s.sqlite3")
        .execute("SELECT body FROM responses WHERE sha256 = ?", (digest,))
        .fetchone()
    )
    assert len(raw) < len(body) and zlib.decompress(raw) == body  # stored compressed


@pytest.mark.parametrize(
    "url",
    [
        "https://api.etherscan.io/v2/api?chainid=1&apikey=ABCDEF123",
        "https://api.etherscan.io/v2/api?APIKEY=ABCDEF123&chainid=1",
        "https://x/api?api_key=ABCDEF123",
    ],
)
def test_archive_refuses_unredacted_key(store: Store, url: str) -> None:
    with pytest.raises(StoreError, match="still carries an API key") as info:
        store.archive_response(source="etherscan", url=url, body=b"{}")
    assert "ABCDEF123" not in str(info.value)
    assert store.list_responses() == []


@pytest.mark.parametrize("redacted", ["***", "", "REDACTED", "<redacted>", "%3Credacted%3E"])
def test_archive_accepts_redacted_key(store: Store, redacted: str) -> None:
    store.archive_response(source="etherscan", url=f"https://x/api?chainid=1&apikey={redacted}&a=b", body=b"{}")
    assert len(store.list_responses()) == 1


# ---------------------------------------------------------------------- labels, checkpoints, meta


def test_user_labels(store: Store) -> None:
    labels = [
        Label("ethereum", A.upper().replace("0X", "0x"), Category.EXCHANGE, "Hot wallet", "user", "row 1", "hot", 0.9),
        Label("ethereum", A, Category.MIXER, "Mixer?", "import-x", conflicts=("user",)),
        Label("tron", TRON_A, Category.OTC, "Desk", "user"),
    ]
    store.write_user_labels(labels)
    got = store.read_user_labels()
    assert sorted(got, key=lambda lb: (lb.chain, lb.address, lb.source)) == got
    assert set(got) == set(labels)
    store.write_user_labels([Label("ethereum", A, Category.EXCHANGE, "Renamed", "user")])  # replaces (chain, addr, src)
    assert {lb.name for lb in store.read_user_labels()} == {"Renamed", "Mixer?", "Desk"}
    assert store.delete_user_labels(source="user") == 2
    assert [lb.source for lb in store.read_user_labels()] == ["import-x"]
    assert store.delete_user_labels() == 1 and store.read_user_labels() == []


def test_checkpoints_and_meta(store: Store) -> None:
    assert store.read_checkpoint("trace:x") is None and store.read_meta("tip:x:ethereum") is None
    store.write_checkpoint("trace:x", b"\x00state")
    store.write_checkpoint("trace:x", b"\x00state2")
    store.write_meta("tip:x:ethereum", "123")
    assert store.read_checkpoint("trace:x") == b"\x00state2" and store.read_meta("tip:x:ethereum") == "123"
    store.delete_checkpoint("trace:x")
    assert store.read_checkpoint("trace:x") is None


def test_info(store: Store) -> None:
    store.write_history("etherscan", "ethereum", A, HistoryChunk(tuple(_tx(1, 5, A, B, 1)), 0, 9))
    store.write_history("etherscan", "ethereum", A, HistoryChunk((), 20, 29))
    info = store.info()
    assert info.schema_version == len(store_module.MIGRATIONS) and info.covered_total == 1
    assert info.counts["transfers"] == 2 and info.counts["addresses"] == 1  # only traced addresses are interned
    (covered,) = info.covered
    assert (covered.source, covered.chain, covered.address, covered.ranges) == (
        "etherscan",
        "ethereum",
        A,
        ((0, 9), (20, 29)),
    )


# ---------------------------------------------------------------------- migrations and damage


def test_migrations_run_in_order_and_keep_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.sqlite3"
    with Store.open(path) as store:
        store.write_meta("kept", "yes")
        v1 = store.schema_version
    extra = (
        ("CREATE TABLE later_a (x INTEGER)", "INSERT INTO later_a VALUES (1)"),
        ("INSERT INTO later_a VALUES (2)",),
    )
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS + extra)
    with Store.open(path) as store:
        assert store.schema_version == v1 + 2 and store.read_meta("kept") == "yes"
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT x FROM later_a ORDER BY rowid").fetchall() == [(1,), (2,)]
    assert [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")] == list(range(1, v1 + 3))
    with Store.open(path) as store:  # opening again applies nothing twice
        assert store.schema_version == v1 + 2


def _write_v1_store(path: Path, histories: dict[tuple[str, str, str], HistoryChunk]) -> None:
    """A version-1 store (its DDL, its encodings) holding `histories`, keyed by (source, chain, address).

    Version 1 interned transactions in `txs`, kept each transfer once in `transfers` (keyed by tx id and
    position) and linked it to the traced addresses whose histories held it through `address_transfers`.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    for statement in store_module.MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (1)")

    def intern(table: str, **values: object) -> int:
        columns, key = ", ".join(values), tuple(values.values())
        conn.execute(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({', '.join('?' * len(key))})", key)
        where = " AND ".join(f"{column} = ?" for column in values)
        return conn.execute(f"SELECT id FROM {table} WHERE {where}", key).fetchone()[0]

    def blob(value: str) -> bytes | str:  # v1: EVM addresses and 0x + 64-hex hashes as bytes, the rest as text
        try:
            raw = bytes.fromhex(value[2:]) if value[:2] == "0x" else b""
        except ValueError:
            return value
        return raw if len(raw) in (20, 32) and len(value) == 2 + 2 * len(raw) else value

    for (source, chain, address), chunk in histories.items():
        source_id = intern("sources", name=source)
        address_id = intern("addresses", chain=chain, address=address)
        chain_id = intern("chains", slug=chain)
        for t in chunk.transfers:
            a = t.asset
            asset_id = intern("assets", chain=a.chain, contract=a.contract or "", symbol=a.symbol, decimals=a.decimals)
            tx_id = intern("txs", chain_id=chain_id, block=t.block, hash=blob(t.tx_hash), tx_index=t.tx_index,
                           timestamp=t.timestamp)  # fmt: skip
            conn.execute(
                "INSERT OR REPLACE INTO transfers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (tx_id, t.position, blob(t.sender), blob(t.receiver), asset_id,
                 t.amount if t.amount < 2**63 else str(t.amount), t.kind.value, int(t.success),
                 ",".join(sorted(t.noise))),
            )  # fmt: skip
            link = (source_id, address_id, t.block, tx_id, t.position)
            conn.execute("INSERT INTO address_transfers VALUES (?, ?, ?, ?, ?)", link)
        conn.execute(
            "INSERT INTO coverage VALUES (?, ?, 'transfers', ?, ?)",
            (source_id, address_id, chunk.start_block, chunk.end_block),
        )
    conn.execute("COMMIT")
    conn.close()


def test_version_1_store_migrates_and_reads_back_identical_transfers(tmp_path: Path) -> None:
    shared = _tx(1, 100, A, B, 10**30)  # in the histories of A and B, once in version 1
    token = Transfer(
        "ethereum", _hash(3), 1_000_007, 101, 0, 1_700_000_101, B, A, FAKE_USDT, 2**256 - 1, TransferKind.TOKEN,
        success=False, noise=frozenset({NoiseFlag.ZERO_VALUE, NoiseFlag.SPOOFED}),
    )  # fmt: skip
    odd = Transfer("ethereum", UNUSUAL_HASHES[1], 1, 102, 2, 1_700_000_102, A, C, USDT, 5, TransferKind.INTERNAL)
    tron = Transfer("tron", "ab" * 32, 1, 5, 0, 1_600_000_000, TRON_A, TRON_B, TRX, 123_456, TransferKind.EXTERNAL)
    histories = {
        ("etherscan", "ethereum", A): HistoryChunk((*shared, token, odd, *_tx(2, 150, C, A, 7)), 0, 200),
        ("etherscan", "ethereum", B): HistoryChunk((*shared, token), 50, 120),
        ("rpc", "ethereum", B): HistoryChunk(tuple(shared), 90, 110),
        ("tron", "tron", TRON_B): HistoryChunk((tron,), 0, 10),
    }
    path = tmp_path / "v1.sqlite3"
    _write_v1_store(path, histories)
    with Store.open(path) as store:
        assert store.schema_version == len(store_module.MIGRATIONS) >= 2
        for (source, chain, address), chunk in histories.items():
            assert store.read_transfers(source, chain, address) == sorted(chunk.transfers, key=lambda t: t.order_key)
            assert store.covered_ranges(source, chain, address) == [(chunk.start_block, chunk.end_block)]
        assert store.info().counts["transfers"] == sum(len(c.transfers) for c in histories.values())
        again = histories[("etherscan", "ethereum", B)]  # a re-fetch after the migration replaces, not duplicates
        store.write_history("etherscan", "ethereum", B, again)
        assert store.read_transfers("etherscan", "ethereum", B) == sorted(again.transfers, key=lambda t: t.order_key)
    conn = sqlite3.connect(path)
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"txs", "transfers", "address_transfers", "chains"}.isdisjoint(tables) and "history" in tables
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_failed_migration_leaves_the_old_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.sqlite3"
    Store.open(path).close()
    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, ("CREATE TABLE ok (x)", "NOT SQL")))
    with pytest.raises(StoreError, match="unusable"):
        Store.open(path)
    monkeypatch.undo()
    with Store.open(path) as store:
        assert store.schema_version == len(store_module.MIGRATIONS)
    assert sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE name = 'ok'").fetchone() is None


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?)", (len(store_module.MIGRATIONS) + 5,))
    with pytest.raises(StoreError, match="newer than this heisttrace knows"):
        Store.open(path)


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="unusable"):
        Store.open(path)


def test_open_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with Store.open(path) as store:
        store.write_meta("k", "before")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('k', 'during')")
    try:
        started = time.monotonic()
        with Store.open(path, timeout=5) as reader:  # an up-to-date store is opened without the write lock
            assert reader.read_meta("k") == "before"  # and reads the last committed state
        assert time.monotonic() - started < 2
        with Store.open(path, timeout=0.2) as blocked, pytest.raises(StoreError, match="busy"):
            blocked.write_meta("k", "other")
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_creating_a_store_while_locked_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE squatter (x)")
    try:
        with pytest.raises(StoreError, match="stayed locked by another process"):
            Store.open(path, timeout=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_batch_commits_together_and_rolls_back_together(store: Store, tmp_path: Path) -> None:
    with store.batch():
        store.write_history("etherscan", "ethereum", A, HistoryChunk(tuple(_tx(1, 5, A, B, 1)), 0, 9))
        store.write_meta("k", "v")
        with Store.open(store.path) as other:  # another connection sees nothing before the commit
            assert other.covered_ranges("etherscan", "ethereum", A) == [] and other.read_meta("k") is None
        assert store.covered_ranges("etherscan", "ethereum", A) == [(0, 9)]  # the batch sees its own writes
    with Store.open(store.path) as other:
        assert other.covered_ranges("etherscan", "ethereum", A) == [(0, 9)] and other.read_meta("k") == "v"

    with pytest.raises(RuntimeError), store.batch():
        store.write_history("etherscan", "ethereum", B, HistoryChunk(tuple(_tx(2, 5, B, A, 1)), 0, 9))
        raise RuntimeError("interrupted")
    assert store.covered_ranges("etherscan", "ethereum", B) == []
    assert store.read_transfers("etherscan", "ethereum", B) == []


def test_failed_write_inside_a_batch_is_undone_alone(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    real_add_coverage = store._add_coverage

    def failing_for_c(conn: sqlite3.Connection, source_id: int, address_id: int, *args: object) -> None:
        if conn.execute("SELECT address FROM addresses WHERE id = ?", (address_id,)).fetchone()[0] == C:
            raise sqlite3.IntegrityError("simulated failure after the rows went in")
        real_add_coverage(conn, source_id, address_id, *args)

    monkeypatch.setattr(store, "_add_coverage", failing_for_c)
    with store.batch():
        store.write_history("etherscan", "ethereum", A, HistoryChunk(tuple(_tx(1, 5, A, B, 1)), 0, 9))
        with pytest.raises(StoreError, match="simulated failure"):
            store.write_history("etherscan", "ethereum", C, HistoryChunk(tuple(_tx(3, 6, C, B, 1)), 0, 9))
        assert store.read_transfers("etherscan", "ethereum", C) == []  # its rows were rolled back at once
        store.write_history("etherscan", "ethereum", B, HistoryChunk(tuple(_tx(2, 7, B, A, 1)), 0, 9))
    assert store.covered_ranges("etherscan", "ethereum", A) == store.covered_ranges("etherscan", "ethereum", B)
    assert store.covered_ranges("etherscan", "ethereum", C) == [] and store.info().counts["transfers"] == 4
