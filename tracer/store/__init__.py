"""The local store: one SQLite file under `HEISTTRACE_HOME`; the only module that speaks SQL.

It keeps normalised records per (source, chain, address, record kind) together with the
block ranges already covered, UTXO transactions, an archive of raw responses (evidence,
keyed by sha256), user labels, resumable checkpoints and small metadata (pinned tips).

Safety: WAL journal, so several processes read while one writes; every write is one
`BEGIN IMMEDIATE ... COMMIT` transaction, so a kill at any moment leaves either all or
none of it. Schema changes are ordered migrations recorded in `schema_version`.
Durability: `synchronous = NORMAL` in WAL mode syncs at checkpoints, not at every commit. A killed
process loses nothing it committed; a power cut or OS crash may lose the last few committed
transactions, never half of one, and never corrupts the file. Lost writes only mean a re-fetch,
because coverage is committed in the same transaction as the records it vouches for.

Layout (integer keys for speed): `history` holds one row per (source, traced address,
transfer) with the whole record inline — transaction hash (32-byte blob), counterparties
(20-byte blobs for EVM addresses, text otherwise), amount (integer, or decimal text beyond
64 bits) — clustered by (source, traced address, block, hash, position): a chunk of history
is one b-tree insert per transfer and reading it back one range scan. A transfer between two
traced addresses is stored in both histories. Traced addresses are interned in `addresses`
and assets in `assets`. `coverage` holds the merged block ranges per (source, address, record
kind). Bulk imports can group many writes into one transaction with :meth:`Store.batch`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import operator
import re
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from tracer.core.addresses import EVM_CHAINS, normalize_address
from tracer.core.errors import StoreError
from tracer.core.models import (
    Asset,
    Category,
    Label,
    NoiseFlag,
    Transfer,
    TransferKind,
    TxInput,
    TxOutput,
    UtxoTx,
    restore_transfer,
)
from tracer.core.protocols import HistoryChunk
from tracer.store.prices import PRICE_MIGRATION

#: Ordered migrations: MIGRATIONS[i] brings the schema from version i to i + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
        "CREATE TABLE sources (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        "CREATE TABLE addresses (id INTEGER PRIMARY KEY, chain TEXT NOT NULL, address TEXT NOT NULL,"
        " UNIQUE (chain, address))",
        "CREATE TABLE assets (id INTEGER PRIMARY KEY, chain TEXT NOT NULL, contract TEXT NOT NULL,"
        " symbol TEXT NOT NULL, decimals INTEGER NOT NULL, UNIQUE (chain, contract, symbol, decimals))",
        "CREATE TABLE chains (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE)",
        # hash: 32-byte BLOB for 0x-prefixed 64-hex hashes, the text itself otherwise. The unique key
        # leads with the block so that a history (sorted by block) writes into few index pages.
        "CREATE TABLE txs (id INTEGER PRIMARY KEY, chain_id INTEGER NOT NULL REFERENCES chains (id),"
        " block INTEGER NOT NULL, hash BLOB NOT NULL, tx_index INTEGER NOT NULL, timestamp INTEGER NOT NULL,"
        " UNIQUE (chain_id, block, hash))",
        # The two hot tables carry no FOREIGN KEY clauses (each check costs a lookup per row): only
        # write_history fills them, with ids it interned in the same transaction. Senders and receivers
        # are stored inline (20-byte BLOB for EVM addresses, text otherwise), not interned: most
        # counterparties are seen once, and interning them would cost a random index write each.
        # amount: INTEGER when it fits 64 bits, decimal TEXT otherwise (uint256); BLOB = no type affinity.
        "CREATE TABLE transfers (tx_id INTEGER NOT NULL, position INTEGER NOT NULL, sender BLOB NOT NULL,"
        " receiver BLOB NOT NULL, asset_id INTEGER NOT NULL, amount BLOB NOT NULL, kind TEXT NOT NULL,"
        " success INTEGER NOT NULL, noise TEXT NOT NULL, PRIMARY KEY (tx_id, position)) WITHOUT ROWID",
        "CREATE TABLE address_transfers (source_id INTEGER NOT NULL, address_id INTEGER NOT NULL,"
        " block INTEGER NOT NULL, tx_id INTEGER NOT NULL, position INTEGER NOT NULL,"
        " PRIMARY KEY (source_id, address_id, block, tx_id, position)) WITHOUT ROWID",
        "CREATE TABLE coverage (source_id INTEGER NOT NULL REFERENCES sources (id),"
        " address_id INTEGER NOT NULL REFERENCES addresses (id), kind TEXT NOT NULL, start_block INTEGER NOT NULL,"
        " end_block INTEGER NOT NULL, PRIMARY KEY (source_id, address_id, kind, start_block)) WITHOUT ROWID",
        "CREATE TABLE utxo_txs (source_id INTEGER NOT NULL REFERENCES sources (id), chain TEXT NOT NULL,"
        " txid TEXT NOT NULL, block INTEGER, timestamp INTEGER, body TEXT NOT NULL,"
        " PRIMARY KEY (source_id, chain, txid)) WITHOUT ROWID",
        "CREATE TABLE address_txids (source_id INTEGER NOT NULL REFERENCES sources (id),"
        " address_id INTEGER NOT NULL REFERENCES addresses (id), seq INTEGER NOT NULL, txid TEXT NOT NULL,"
        " PRIMARY KEY (source_id, address_id, seq), UNIQUE (source_id, address_id, txid)) WITHOUT ROWID",
        "CREATE TABLE responses (sha256 TEXT PRIMARY KEY, source TEXT NOT NULL, url TEXT NOT NULL,"
        " fetched_at INTEGER NOT NULL, size INTEGER NOT NULL, body BLOB NOT NULL)",
        "CREATE INDEX responses_by_source ON responses (source, fetched_at)",
        "CREATE TABLE user_labels (chain TEXT NOT NULL, address TEXT NOT NULL, source TEXT NOT NULL,"
        " category TEXT NOT NULL, name TEXT NOT NULL, source_ref TEXT NOT NULL, source_words TEXT NOT NULL,"
        " confidence REAL NOT NULL, conflicts TEXT NOT NULL, PRIMARY KEY (chain, address, source)) WITHOUT ROWID",
        "CREATE TABLE checkpoints (key TEXT PRIMARY KEY, state BLOB NOT NULL, updated_at INTEGER NOT NULL)",
    ),
    (
        # One row per (source, traced address, transfer), holding the whole record: one b-tree insert per
        # transfer, and an address's history is one range scan. A transfer between two traced addresses is
        # stored in both histories. Keyed like version 1's (chain, block, hash, position) — the chain follows
        # from the address — so a re-fetch replaces rows (tx_index and every other field may change).
        # No FOREIGN KEY clauses: only write_history fills it, with ids it interned in the same transaction.
        "CREATE TABLE history (source_id INTEGER NOT NULL, address_id INTEGER NOT NULL, block INTEGER NOT NULL,"
        " hash BLOB NOT NULL, position INTEGER NOT NULL, tx_index INTEGER NOT NULL, timestamp INTEGER NOT NULL,"
        " sender BLOB NOT NULL, receiver BLOB NOT NULL, asset_id INTEGER NOT NULL, amount BLOB NOT NULL,"
        " kind TEXT NOT NULL, success INTEGER NOT NULL, noise TEXT NOT NULL,"
        " PRIMARY KEY (source_id, address_id, block, hash, position)) WITHOUT ROWID",
        "INSERT OR REPLACE INTO history SELECT l.source_id, l.address_id, l.block, t.hash, l.position, t.tx_index,"
        " t.timestamp, f.sender, f.receiver, f.asset_id, f.amount, f.kind, f.success, f.noise"
        " FROM address_transfers l JOIN txs t ON t.id = l.tx_id"
        " JOIN transfers f ON f.tx_id = l.tx_id AND f.position = l.position",
        "DROP TABLE address_transfers",
        "DROP TABLE transfers",
        "DROP TABLE txs",
        "DROP TABLE chains",
    ),
    (
        # watch alerts (tracer.store.watch): each new outflow of a watched address, once; delivered = 0
        # while the webhook has not accepted it (retried next round).
        "CREATE TABLE watch_alerts (case_id TEXT NOT NULL, chain TEXT NOT NULL, tx_hash TEXT NOT NULL,"
        " position INTEGER NOT NULL, body TEXT NOT NULL, seen_at INTEGER NOT NULL, delivered INTEGER NOT NULL,"
        " PRIMARY KEY (case_id, chain, tx_hash, position)) WITHOUT ROWID",
    ),
    PRICE_MIGRATION,  # the USD price cache (tracer.store.prices)
)

COVERAGE_TRANSFERS = "transfers"
COVERAGE_TXIDS = "txids"
_MAX_INT64 = (1 << 63) - 1
_UNREDACTED_KEY = re.compile(r"(?i)(?:^|[?&;])api[-_]?key=([^&#;]*)")
_REDACTED_VALUES = re.compile(r"(?i)\**|x*|<?redacted>?|%3credacted%3e|\[redacted\]|\.\.\.|…")
_PARAM_LIMIT = 500  # ids per `IN (...)` query (SQLite's variable limit is far above)
_BUSY_ERRORS = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT", "SQLITE_BUSY_RECOVERY"})
_ORDER_KEY = operator.attrgetter("block", "tx_index", "tx_hash", "position")  # = Transfer.order_key
_CHAIN, _ASSET, _HASH = operator.attrgetter("chain"), operator.attrgetter("asset"), operator.attrgetter("tx_hash")
_SENDER, _RECEIVER = operator.attrgetter("sender"), operator.attrgetter("receiver")
_ROWS_PER_INSERT = 256  # rows per multi-row insert (14 variables each), a power of two
_HISTORY_INSERT = (
    "INSERT OR REPLACE INTO history (source_id, address_id, block, hash, position, tx_index, timestamp, sender,"
    " receiver, asset_id, amount, kind, success, noise) VALUES "
)
_INSERT_SQL: dict[tuple[str, int], str] = {}


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One archived raw response (evidence for the manifest); the body is read separately."""

    sha256: str
    source: str
    url: str
    fetched_at: int  # unix seconds
    size: int  # bytes, uncompressed


@dataclass(frozen=True, slots=True)
class CoveredAddress:
    """One address with history in the store, and the block ranges it covers."""

    source: str
    chain: str
    address: str
    kind: str  # COVERAGE_TRANSFERS or COVERAGE_TXIDS
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """What `heisttrace store info` shows."""

    path: Path
    schema_version: int
    counts: dict[str, int] = field(default_factory=dict)
    covered: tuple[CoveredAddress, ...] = ()
    covered_total: int = 0


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge inclusive block ranges; touching ranges ([1, 5] and [6, 9]) merge too."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[0] <= r[1]):
        if merged and start <= merged[-1][1] + 1:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract_ranges(start: int, end: int, covered: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of the inclusive range start..end not inside any of the merged `covered` ranges."""
    missing: list[tuple[int, int]] = []
    cursor = start
    for lo, hi in covered:
        if hi < cursor:
            continue
        if lo > end:
            break
        if lo > cursor:
            missing.append((cursor, lo - 1))
        cursor = max(cursor, hi + 1)
        if cursor > end:
            break
    if cursor <= end:
        missing.append((cursor, end))
    return missing


def _encode_hash(tx_hash: str) -> bytearray | str:
    """32 bytes for a 0x-prefixed 64-hex lowercase hash (round-trips exactly), the text itself otherwise.

    Blobs are bound as bytearray: CPython's sqlite3 binds `bytes` only after a failed adapter lookup
    (several times slower).
    """
    if len(tx_hash) == 66 and tx_hash[:2] == "0x" and tx_hash.islower():
        try:
            raw = bytearray.fromhex(tx_hash[2:])
        except ValueError:
            return tx_hash
        if len(raw) == 32:  # 64 characters giving 32 bytes: hex digits only (no whitespace skipped)
            return raw
    return tx_hash


def _encode_hashes(hashes: Collection[str]) -> dict[str, bytearray | str]:
    """:func:`_encode_hash` of each hash; the checks run over all of them at once where they can."""
    joined = "".join(hashes)
    if joined.lower() == joined:  # no uppercase anywhere (str.islower per hash is slow)
        fromhex = bytearray.fromhex
        try:
            encoded: dict[str, bytearray | str] = {
                h: fromhex(h[2:]) if len(h) == 66 and h[:2] == "0x" else h for h in hashes
            }
        except ValueError:  # some hash is not hex
            pass
        else:
            for h in [h for h, value in encoded.items() if len(value) != 32 and value is not h]:
                encoded[h] = h  # fromhex skipped whitespace: not a plain hash
            return encoded
    return {h: _encode_hash(h) for h in hashes}


def _decode_hash(value: bytes | str) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else value


def _contains_unredacted_key(url: str) -> bool:
    return any(not _REDACTED_VALUES.fullmatch(m.group(1)) for m in _UNREDACTED_KEY.finditer(url))


def _insert_rows(conn: sqlite3.Connection, head: str, width: int, rows: Iterable[tuple], total: int) -> None:
    """`head` + multi-row VALUES over the `total` `rows`: one statement per up to _ROWS_PER_INSERT rows.

    Markedly cheaper per row than `executemany` (one VM run per statement, not per row). Statement
    sizes are powers of two so the connection's statement cache holds every shape it needs. `rows`
    may be a generator: each is dropped once flattened, so no bulk of row tuples piles up for the GC.
    """
    values = itertools.chain.from_iterable(rows)
    islice = itertools.islice
    marks = "(" + ",".join("?" * width) + ")"
    size = _ROWS_PER_INSERT
    while total:
        while size > total:
            size //= 2
        sql = _INSERT_SQL.get((head, size))
        if sql is None:
            sql = _INSERT_SQL[(head, size)] = head + ",".join([marks] * size)
        count = size * width
        for _ in range(total // size):
            conn.execute(sql, list(islice(values, count)))
        total %= size


def _history_rows(
    chain: str, source_id: int, address_id: int, transfers: Sequence[Transfer], asset_ids: dict[int, int]
) -> Iterator[tuple]:
    """The `history` rows of `transfers` (validated and normalised by Transfer); asset ids keyed by id(asset)."""
    hashes = _encode_hashes(set(map(_HASH, transfers)))
    parties = {*map(_SENDER, transfers), *map(_RECEIVER, transfers)}
    if chain in EVM_CHAINS:  # normalised EVM addresses are 0x + 40 lowercase hex: stored as 20 bytes
        fromhex = bytearray.fromhex
        encoded = {p: fromhex(p[2:]) if p[:2] == "0x" else p for p in parties}
    else:
        encoded = {p: p for p in parties}
    max_int = _MAX_INT64
    return (
        (
            source_id,
            address_id,
            t.block,
            hashes[t.tx_hash],
            t.position,
            t.tx_index,
            t.timestamp,
            encoded[t.sender],
            encoded[t.receiver],
            asset_ids[id(t.asset)],
            t.amount if t.amount <= max_int else str(t.amount),
            t.kind._value_,  # an exact str binds fastest (a str subclass goes through the adapter lookup)
            1 if t.success else 0,
            ",".join(sorted(t.noise)) if t.noise else "",
        )
        for t in transfers
    )


def _chunks(items: Sequence[str], size: int = _PARAM_LIMIT) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Store:
    """The local SQLite store. Open with :meth:`Store.open`; use as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._conn = conn
        self.path = path
        self._clock = clock
        self._lock = threading.RLock()
        self._source_ids: dict[str, int] = {}
        self._address_ids: dict[tuple[str, str], int] = {}
        self._asset_ids: dict[Asset, int] = {}
        self._assets_by_id: dict[int, Asset] = {}
        self._noise_cache: dict[str, frozenset[NoiseFlag]] = {"": frozenset()}
        self._kinds = {k.value: k for k in TransferKind}
        self._batch_depth = 0
        self._savepoints = 0

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: Path | str, *, timeout: float = 30.0, clock: Callable[[], float] = time.time) -> Store:
        """Open (creating if needed) the store at `path` and bring its schema up to date."""
        path = Path(path).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the local store at {path}: {exc}") from exc
        store = cls(conn, path, clock=clock)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            # 16 KiB pages (applies only when the file is created): fewer b-tree splits on bulk inserts.
            conn.execute("PRAGMA page_size = 16384")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB
            conn.execute("PRAGMA temp_store = MEMORY")
            page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
            conn.execute(f"PRAGMA wal_autocheckpoint = {(64 << 20) // page_size}")  # 64 MiB of WAL between checkpoints
            conn.execute("PRAGMA journal_size_limit = 67108864")
            store._migrate()
        except sqlite3.DatabaseError as exc:
            conn.close()
            if getattr(exc, "sqlite_errorname", "") in _BUSY_ERRORS:
                raise StoreError(
                    f"the local store at {path} stayed locked by another process for {timeout:g} s"
                ) from exc
            raise StoreError(f"the local store at {path} is unusable ({exc}); move it aside to start afresh") from exc
        except StoreError:
            conn.close()
            raise
        return store

    def _migrate(self) -> None:
        """Apply pending migrations; a store already up to date is only read (no write lock taken)."""
        conn = self._conn
        if self._stored_version() == len(MIGRATIONS):
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = self._stored_version()  # again, under the write lock: another process may have migrated
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"the local store at {self.path} has schema version {current}, newer than this heisttrace "
                    f"knows ({len(MIGRATIONS)}); upgrade heisttrace or use another HEISTTRACE_HOME"
                )
            for version in range(current + 1, len(MIGRATIONS) + 1):
                for statement in MIGRATIONS[version - 1]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _stored_version(self) -> int:
        exists = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if exists is None:
            return 0
        return int(self._conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0)

    @property
    def schema_version(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write (a transaction, or a savepoint inside :meth:`batch`); rollback forgets cached ids."""
        with self._lock:
            if self._batch_depth:
                self._savepoints += 1
                name = f"w{self._savepoints}"
                self._conn.execute(f"SAVEPOINT {name}")
                try:
                    yield self._conn
                    self._conn.execute(f"RELEASE {name}")
                except BaseException as exc:
                    self._forget_ids()
                    self._conn.execute(f"ROLLBACK TO {name}")
                    self._conn.execute(f"RELEASE {name}")
                    if isinstance(exc, sqlite3.Error):
                        raise StoreError(f"writing to the local store at {self.path} failed: {exc}") from exc
                    raise
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"the local store at {self.path} is busy or unusable: {exc}") from exc
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                self._forget_ids()
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"writing to the local store at {self.path} failed: {exc}") from exc
                raise

    @contextmanager
    def batch(self) -> Iterator[Store]:
        """Group many writes into one transaction (for bulk imports): all of them commit, or none.

        Each write inside stays atomic on its own (a savepoint): one that fails is undone alone
        and its error propagates; if the error leaves the block, everything in it is rolled back.
        Other processes see the batch only when it commits.
        """
        with self._lock, self._write():
            self._batch_depth += 1
            try:
                yield self
            finally:
                self._batch_depth -= 1

    def _forget_ids(self) -> None:
        self._source_ids.clear()
        self._address_ids.clear()
        self._asset_ids.clear()
        self._assets_by_id.clear()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read snapshot (one deferred transaction)."""
        with self._lock:
            nested = self._conn.in_transaction
            try:
                if not nested:
                    self._conn.execute("BEGIN")
                yield self._conn
            except sqlite3.Error as exc:
                raise StoreError(f"reading the local store at {self.path} failed: {exc}") from exc
            finally:
                if not nested and self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    # ------------------------------------------------------------------ interning

    def _source_id(self, conn: sqlite3.Connection, name: str, *, create: bool) -> int | None:
        cached = self._source_ids.get(name)
        if cached is not None:
            return cached
        row = conn.execute("SELECT id FROM sources WHERE name = ?", (name,)).fetchone()
        if row is None:
            if not create:
                return None
            row = conn.execute("INSERT INTO sources (name) VALUES (?) RETURNING id", (name,)).fetchone()
        self._source_ids[name] = row[0]
        return int(row[0])

    def _lookup_address_id(self, conn: sqlite3.Connection, chain: str, address: str) -> int | None:
        cached = self._address_ids.get((chain, address))
        if cached is not None:
            return cached
        row = conn.execute("SELECT id FROM addresses WHERE chain = ? AND address = ?", (chain, address)).fetchone()
        if row is None:
            return None
        self._address_ids[(chain, address)] = row[0]
        return int(row[0])

    def _intern_addresses(self, conn: sqlite3.Connection, chain: str, addresses: Iterable[str]) -> dict[str, int]:
        """Ids of `addresses` on `chain`, inserting the new ones (inside the caller's write transaction)."""
        ids: dict[str, int] = {}
        unknown: list[str] = []
        cache = self._address_ids
        for address in addresses:
            known = cache.get((chain, address))
            if known is None:
                unknown.append(address)
            else:
                ids[address] = known
        for batch in _chunks(unknown):
            marks = ",".join("?" * len(batch))
            sql = f"SELECT address, id FROM addresses WHERE chain = ? AND address IN ({marks})"
            for address, address_id in conn.execute(sql, (chain, *batch)):
                ids[address] = address_id
                cache[(chain, address)] = address_id
        new = [a for a in unknown if a not in ids]
        if new:
            base = conn.execute("SELECT coalesce(max(id), 0) FROM addresses").fetchone()[0]
            rows = [(base + i, chain, a) for i, a in enumerate(new, 1)]
            conn.executemany("INSERT INTO addresses (id, chain, address) VALUES (?, ?, ?)", rows)
            for address_id, _, address in rows:
                ids[address] = address_id
                cache[(chain, address)] = address_id
        if len(cache) > 2_000_000:
            cache.clear()
        return ids

    def _intern_asset(self, conn: sqlite3.Connection, asset: Asset) -> int:
        known = self._asset_ids.get(asset)
        if known is not None:
            return known
        key = (asset.chain, asset.contract or "", asset.symbol, asset.decimals)
        row = conn.execute(
            "SELECT id FROM assets WHERE chain = ? AND contract = ? AND symbol = ? AND decimals = ?", key
        ).fetchone()
        if row is None:
            row = conn.execute(
                "INSERT INTO assets (chain, contract, symbol, decimals) VALUES (?, ?, ?, ?) RETURNING id", key
            ).fetchone()
        self._asset_ids[asset] = row[0]
        self._assets_by_id[row[0]] = asset
        return int(row[0])

    def _asset(self, conn: sqlite3.Connection, asset_id: int) -> Asset:
        asset = self._assets_by_id.get(asset_id)
        if asset is None:
            chain, contract, symbol, decimals = conn.execute(
                "SELECT chain, contract, symbol, decimals FROM assets WHERE id = ?", (asset_id,)
            ).fetchone()
            asset = Asset(chain, contract or None, symbol, decimals)
            self._assets_by_id[asset_id] = asset
            self._asset_ids[asset] = asset_id
        return asset

    # ------------------------------------------------------------------ coverage

    def _coverage(self, conn: sqlite3.Connection, source: str, chain: str, address: str, kind: str) -> list:
        source_id = self._source_id(conn, source, create=False)
        address_id = self._lookup_address_id(conn, chain, normalize_address(chain, address))
        if source_id is None or address_id is None:
            return []
        rows = conn.execute(
            "SELECT start_block, end_block FROM coverage WHERE source_id = ? AND address_id = ? AND kind = ?"
            " ORDER BY start_block",
            (source_id, address_id, kind),
        ).fetchall()
        return merge_ranges((int(a), int(b)) for a, b in rows)

    def _add_coverage(
        self, conn: sqlite3.Connection, source_id: int, address_id: int, kind: str, start: int, end: int
    ) -> None:
        if start > end:
            return
        rows = conn.execute(
            "SELECT start_block, end_block FROM coverage WHERE source_id = ? AND address_id = ? AND kind = ?",
            (source_id, address_id, kind),
        ).fetchall()
        merged = merge_ranges([*rows, (start, end)])
        conn.execute(
            "DELETE FROM coverage WHERE source_id = ? AND address_id = ? AND kind = ?", (source_id, address_id, kind)
        )
        conn.executemany(
            "INSERT INTO coverage (source_id, address_id, kind, start_block, end_block) VALUES (?, ?, ?, ?, ?)",
            [(source_id, address_id, kind, a, b) for a, b in merged],
        )

    def covered_ranges(self, source: str, chain: str, address: str) -> list[tuple[int, int]]:
        """Merged, inclusive block ranges of `address`'s transfer history held for `source`."""
        with self._read() as conn:
            return self._coverage(conn, source, chain, address, COVERAGE_TRANSFERS)

    def missing_ranges(
        self, source: str, chain: str, address: str, start_block: int, end_block: int
    ) -> list[tuple[int, int]]:
        """The parts of start_block..end_block (inclusive) not yet covered for `address`."""
        if start_block > end_block:
            return []
        return subtract_ranges(start_block, end_block, self.covered_ranges(source, chain, address))

    # ------------------------------------------------------------------ account transfers

    def write_history(self, source: str, chain: str, address: str, chunk: HistoryChunk) -> None:
        """Store the chunk's transfers in `address`'s history and mark its block range covered — atomically."""
        address = normalize_address(chain, address)
        transfers = chunk.transfers
        if set(map(_CHAIN, transfers)) - {chain}:
            t = next(t for t in transfers if t.chain != chain)
            raise StoreError(f"a {t.chain} transfer ({t.tx_hash}) was given to write_history for chain {chain}")
        assets = {id(asset): asset for asset in map(_ASSET, transfers)}
        with self._write() as conn:
            source_id = self._source_id(conn, source, create=True)
            own_id = self._intern_addresses(conn, chain, [address])[address]
            asset_ids = {key: self._intern_asset(conn, asset) for key, asset in assets.items()}
            _insert_rows(
                conn, _HISTORY_INSERT, 14, _history_rows(chain, source_id, own_id, transfers, asset_ids), len(transfers)
            )
            self._add_coverage(conn, source_id, own_id, COVERAGE_TRANSFERS, chunk.start_block, chunk.end_block)

    def read_transfers(
        self, source: str, chain: str, address: str, *, start_block: int = 0, end_block: int | None = None
    ) -> list[Transfer]:
        """Transfers stored for `address` (from `source`) in the block range, in canonical order."""
        address = normalize_address(chain, address)
        upper = _MAX_INT64 if end_block is None else end_block
        with self._read() as conn:
            source_id = self._source_id(conn, source, create=False)
            address_id = self._lookup_address_id(conn, chain, address)
            if source_id is None or address_id is None:
                return []
            rows = conn.execute(
                "SELECT hash, position, block, tx_index, timestamp, sender, receiver, asset_id, amount, kind, success,"
                " noise"
                " FROM history WHERE source_id = ? AND address_id = ? AND block BETWEEN ? AND ?",
                (source_id, address_id, start_block, upper),
            ).fetchall()
            transfers = self._transfers(conn, chain, rows)
        transfers.sort(key=_ORDER_KEY)  # rows come back nearly sorted (by block): cheap
        return transfers

    def _transfers(self, conn: sqlite3.Connection, chain: str, rows: list[tuple]) -> list[Transfer]:
        """Rebuild stored rows as Transfer records; their fields were validated and normalised when written."""
        noise_cache = self._noise_cache
        kinds = self._kinds
        assets: dict[int, Asset] = {}
        hashes: dict[bytes | str, str] = {}
        addresses: dict[bytes | str, str] = {}
        restore = restore_transfer
        out = []
        for tx_hash, position, block, tx_index, timestamp, sender, receiver, asset_id, amount, kind, ok, noise in rows:
            flags = noise_cache.get(noise)
            if flags is None:
                flags = noise_cache[noise] = frozenset(NoiseFlag(x) for x in noise.split(","))
            asset = assets.get(asset_id)
            if asset is None:
                asset = assets[asset_id] = self._asset(conn, asset_id)
            decoded_hash = hashes.get(tx_hash)
            if decoded_hash is None:
                decoded_hash = hashes[tx_hash] = _decode_hash(tx_hash)
            from_address = addresses.get(sender)
            if from_address is None:
                from_address = addresses[sender] = "0x" + sender.hex() if isinstance(sender, bytes) else sender
            to_address = addresses.get(receiver)
            if to_address is None:
                to_address = addresses[receiver] = "0x" + receiver.hex() if isinstance(receiver, bytes) else receiver
            out.append(
                restore(
                    chain,
                    decoded_hash,
                    position,
                    block,
                    tx_index,
                    timestamp,
                    from_address,
                    to_address,
                    asset,
                    amount if type(amount) is int else int(amount),
                    kinds[kind],
                    bool(ok),
                    flags,
                )
            )
        return out

    # ------------------------------------------------------------------ UTXO (Bitcoin)

    def write_utxo_txs(self, source: str, chain: str, txs: Iterable[UtxoTx]) -> None:
        """Store UTXO transactions; spenders already known are kept when a newer copy lacks them."""
        txs = list(txs)
        for tx in txs:
            if tx.chain != chain:
                raise StoreError(f"a {tx.chain} transaction ({tx.txid}) was given to write_utxo_txs for chain {chain}")
        with self._write() as conn:
            source_id = self._source_id(conn, source, create=True)
            rows = []
            for tx in txs:
                old = self._read_utxo(conn, source_id, chain, tx.txid)
                if old is not None:
                    tx = _merge_spenders(tx, old)
                rows.append((source_id, chain, tx.txid, tx.block, tx.timestamp, _utxo_body(tx)))
            conn.executemany(
                "INSERT OR REPLACE INTO utxo_txs (source_id, chain, txid, block, timestamp, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def read_utxo_tx(self, source: str, chain: str, txid: str) -> UtxoTx | None:
        """A stored UTXO transaction, or None."""
        with self._read() as conn:
            source_id = self._source_id(conn, source, create=False)
            if source_id is None:
                return None
            return self._read_utxo(conn, source_id, chain, txid.lower())

    def _read_utxo(self, conn: sqlite3.Connection, source_id: int, chain: str, txid: str) -> UtxoTx | None:
        row = conn.execute(
            "SELECT block, timestamp, body FROM utxo_txs WHERE source_id = ? AND chain = ? AND txid = ?",
            (source_id, chain, txid),
        ).fetchone()
        if row is None:
            return None
        body = json.loads(row[2])
        return UtxoTx(
            chain,
            txid,
            row[0],
            row[1],
            tuple(TxInput(p, v, a, val, bool(cb)) for p, v, a, val, cb in body["in"]),
            tuple(TxOutput(i, a, val, st, sb) for i, a, val, st, sb in body["out"]),
            body["fee"],
            body["locktime"],
            body["version"],
        )

    def write_address_txids(
        self, source: str, chain: str, address: str, txids: Sequence[str], *, complete_to_block: int
    ) -> None:
        """Add `txids` to the address's list (order kept, duplicates dropped); it is complete up to the block."""
        address = normalize_address(chain, address)
        with self._write() as conn:
            source_id = self._source_id(conn, source, create=True)
            address_id = self._intern_addresses(conn, chain, [address])[address]
            have = {
                txid
                for (txid,) in conn.execute(
                    "SELECT txid FROM address_txids WHERE source_id = ? AND address_id = ?", (source_id, address_id)
                )
            }
            seq = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM address_txids WHERE source_id = ? AND address_id = ?",
                (source_id, address_id),
            ).fetchone()[0]
            rows = []
            for txid in txids:
                txid = txid.lower()
                if txid not in have:
                    have.add(txid)
                    seq += 1
                    rows.append((source_id, address_id, seq, txid))
            conn.executemany("INSERT INTO address_txids (source_id, address_id, seq, txid) VALUES (?, ?, ?, ?)", rows)
            self._add_coverage(conn, source_id, address_id, COVERAGE_TXIDS, 0, complete_to_block)

    def read_address_txids(self, source: str, chain: str, address: str) -> tuple[list[str], int | None]:
        """The address's stored txids and the block up to which that list is complete (None: never fetched)."""
        address = normalize_address(chain, address)
        with self._read() as conn:
            source_id = self._source_id(conn, source, create=False)
            address_id = self._lookup_address_id(conn, chain, address)
            if source_id is None or address_id is None:
                return [], None
            txids = [
                txid
                for (txid,) in conn.execute(
                    "SELECT txid FROM address_txids WHERE source_id = ? AND address_id = ? ORDER BY seq",
                    (source_id, address_id),
                )
            ]
            covered = self._coverage(conn, source, chain, address, COVERAGE_TXIDS)
        complete = covered[0][1] if covered and covered[0][0] == 0 else None
        return txids, complete

    # ------------------------------------------------------------------ raw responses

    def archive_response(self, *, source: str, url: str, body: bytes) -> str:
        """Keep `body` (compressed) fetched from `url`; return its sha256 hex. The URL must be redacted."""
        if _contains_unredacted_key(url):
            raise StoreError(f"refusing to archive a {source} response whose URL still carries an API key")
        digest = hashlib.sha256(body).hexdigest()
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO responses (sha256, source, url, fetched_at, size, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (digest, source, url, int(self._clock()), len(body), zlib.compress(body, 6)),
            )
        return digest

    def list_responses(self, *, source: str | None = None) -> list[RawRecord]:
        """Archived responses (without bodies), oldest first."""
        sql = "SELECT sha256, source, url, fetched_at, size FROM responses"
        params: tuple = ()
        if source is not None:
            sql += " WHERE source = ?"
            params = (source,)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY fetched_at, sha256", params).fetchall()
        return [RawRecord(*row) for row in rows]

    def read_response(self, sha256: str) -> bytes:
        """The archived body with this sha256; StoreError when absent."""
        with self._read() as conn:
            row = conn.execute("SELECT body FROM responses WHERE sha256 = ?", (sha256.lower(),)).fetchone()
        if row is None:
            raise StoreError(f"no archived response with sha256 {sha256}")
        return zlib.decompress(row[0])

    # ------------------------------------------------------------------ user labels

    def write_user_labels(self, labels: Sequence[Label]) -> None:
        """Add or replace labels, keyed by (chain, address, source)."""
        rows = [
            (
                lb.chain,
                lb.address,
                lb.source,
                lb.category.value,
                lb.name,
                lb.source_ref,
                lb.source_words,
                float(lb.confidence),
                json.dumps(list(lb.conflicts)),
            )
            for lb in labels
        ]
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO user_labels (chain, address, source, category, name, source_ref, source_words,"
                " confidence, conflicts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def read_user_labels(self) -> list[Label]:
        """All user labels, ordered by chain, address and source."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT chain, address, category, name, source, source_ref, source_words, confidence, conflicts"
                " FROM user_labels ORDER BY chain, address, source"
            ).fetchall()
        return [
            Label(chain, address, Category(category), name, source, ref, words, confidence, tuple(json.loads(conf)))
            for chain, address, category, name, source, ref, words, confidence, conf in rows
        ]

    def delete_user_labels(self, *, source: str | None = None) -> int:
        """Delete user labels (all, or those of one source); returns how many went."""
        with self._write() as conn:
            if source is None:
                return conn.execute("DELETE FROM user_labels").rowcount
            return conn.execute("DELETE FROM user_labels WHERE source = ?", (source,)).rowcount

    # ------------------------------------------------------------------ checkpoints and metadata

    def write_checkpoint(self, key: str, state: bytes) -> None:
        """Save resumable state under `key` (replacing the previous one)."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO checkpoints (key, state, updated_at) VALUES (?, ?, ?)",
                (key, bytes(state), int(self._clock())),
            )

    def read_checkpoint(self, key: str) -> bytes | None:
        with self._read() as conn:
            row = conn.execute("SELECT state FROM checkpoints WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def delete_checkpoint(self, key: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM checkpoints WHERE key = ?", (key,))

    def write_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def read_meta(self, key: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ------------------------------------------------------------------ overview

    def info(self, *, limit: int = 20) -> StoreInfo:
        """Schema version, row counts and (up to `limit`) covered addresses with their ranges."""
        tables = {  # count name -> table; "transfers": a transfer in two stored histories counts twice
            "addresses": "addresses",
            "assets": "assets",
            "transfers": "history",
            "utxo_txs": "utxo_txs",
            "responses": "responses",
            "user_labels": "user_labels",
            "checkpoints": "checkpoints",
        }
        with self._read() as conn:
            version = int(conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0)
            counts = {n: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for n, t in tables.items()}
            total = conn.execute(
                "SELECT count(*) FROM (SELECT DISTINCT source_id, address_id, kind FROM coverage)"
            ).fetchone()[0]
            rows = conn.execute(
                "SELECT s.name, a.chain, a.address, c.kind, c.start_block, c.end_block FROM coverage c"
                " JOIN sources s ON s.id = c.source_id JOIN addresses a ON a.id = c.address_id"
                " WHERE (c.source_id, c.address_id, c.kind) IN (SELECT DISTINCT source_id, address_id, kind"
                " FROM coverage ORDER BY source_id, address_id, kind LIMIT ?)"
                " ORDER BY s.name, a.chain, a.address, c.kind, c.start_block",
                (limit,),
            ).fetchall()
        grouped: dict[tuple[str, str, str, str], list[tuple[int, int]]] = {}
        for source, chain, address, kind, start, end in rows:
            grouped.setdefault((source, chain, address, kind), []).append((start, end))
        covered = tuple(CoveredAddress(*key, tuple(ranges)) for key, ranges in grouped.items())
        counts["covered_addresses"] = int(total)
        return StoreInfo(self.path, version, counts, covered, int(total))


def _utxo_body(tx: UtxoTx) -> str:
    return json.dumps(
        {
            "in": [[i.prev_txid, i.prev_vout, i.address, i.value, i.coinbase] for i in tx.inputs],
            "out": [[o.index, o.address, o.value, o.script_type, o.spent_by] for o in tx.outputs],
            "fee": tx.fee,
            "locktime": tx.locktime,
            "version": tx.version,
        },
        separators=(",", ":"),
    )


def _merge_spenders(new: UtxoTx, old: UtxoTx) -> UtxoTx:
    known = {o.index: o.spent_by for o in old.outputs if o.spent_by}
    if not known or all(o.spent_by or o.index not in known for o in new.outputs):
        return new
    outputs = tuple(
        o
        if o.spent_by or o.index not in known
        else TxOutput(o.index, o.address, o.value, o.script_type, known[o.index])
        for o in new.outputs
    )
    return UtxoTx(
        new.chain, new.txid, new.block, new.timestamp, new.inputs, outputs, new.fee, new.locktime, new.version
    )
