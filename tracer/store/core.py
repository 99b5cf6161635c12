"""The store's connection: opening and migrating the file, transactions, interned ids, coverage rows.

Every table family (`transfers`, `utxo`, `responses`, `user_labels`, `checkpoints`, `overview`,
`watch`) reads and writes through :meth:`StoreCore._write` and :meth:`StoreCore._read`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

from tracer.core.addresses import normalize_address
from tracer.core.errors import StoreError
from tracer.core.models import Asset, NoiseFlag, TransferKind
from tracer.store import schema
from tracer.store.ranges import merge_ranges

_PARAM_LIMIT = 500  # ids per `IN (...)` query (SQLite's variable limit is far above)
_BUSY_ERRORS = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT", "SQLITE_BUSY_RECOVERY"})


def _chunks(items: Sequence[str], size: int = _PARAM_LIMIT) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class StoreCore:
    """The connection and what every table family shares; :class:`tracer.store.Store` adds the tables."""

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
    def open(cls, path: Path | str, *, timeout: float = 30.0, clock: Callable[[], float] = time.time) -> Self:
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
        if self._stored_version() == len(schema.MIGRATIONS):
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = self._stored_version()  # again, under the write lock: another process may have migrated
            if current > len(schema.MIGRATIONS):
                raise StoreError(
                    f"the local store at {self.path} has schema version {current}, newer than this heisttrace "
                    f"knows ({len(schema.MIGRATIONS)}); upgrade heisttrace or use another HEISTTRACE_HOME"
                )
            for version in range(current + 1, len(schema.MIGRATIONS) + 1):
                for statement in schema.MIGRATIONS[version - 1]:
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

    def __enter__(self) -> Self:
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
    def batch(self) -> Iterator[Self]:
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
