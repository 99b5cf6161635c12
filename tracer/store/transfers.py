"""The store's account-chain transfers: each traced address's history and the block ranges it covers."""

from __future__ import annotations

import itertools
import operator
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence

from tracer.core.addresses import EVM_CHAINS, normalize_address
from tracer.core.errors import StoreError
from tracer.core.models import Asset, NoiseFlag, Transfer, restore_transfer
from tracer.core.protocols import HistoryChunk
from tracer.store.core import StoreCore
from tracer.store.ranges import subtract_ranges
from tracer.store.schema import COVERAGE_TRANSFERS

_MAX_INT64 = (1 << 63) - 1
_ORDER_KEY = operator.attrgetter("block", "tx_index", "tx_hash", "position")  # = Transfer.order_key
_CHAIN, _ASSET, _HASH = operator.attrgetter("chain"), operator.attrgetter("asset"), operator.attrgetter("tx_hash")
_SENDER, _RECEIVER = operator.attrgetter("sender"), operator.attrgetter("receiver")
_ROWS_PER_INSERT = 256  # rows per multi-row insert (14 variables each), a power of two
_HISTORY_INSERT = (
    "INSERT OR REPLACE INTO history (source_id, address_id, block, hash, position, tx_index, timestamp, sender,"
    " receiver, asset_id, amount, kind, success, noise) VALUES "
)
_INSERT_SQL: dict[tuple[str, int], str] = {}


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


class TransferTables(StoreCore):
    """`history` (one row per traced address and transfer) and its `coverage` rows."""

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
