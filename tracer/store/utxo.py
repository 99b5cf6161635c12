"""The store's UTXO tables: transactions (with known spenders) and each address's txid list."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from tracer.core.addresses import normalize_address
from tracer.core.errors import StoreError
from tracer.core.models import TxInput, TxOutput, UtxoTx
from tracer.store.core import StoreCore
from tracer.store.schema import COVERAGE_TXIDS


class UtxoTables(StoreCore):
    """`utxo_txs` and `address_txids` (with their `coverage` rows)."""

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
