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

One module per table family, each a class over :class:`~tracer.store.core.StoreCore` (the
connection, transactions, interned ids); :class:`Store` combines them. `schema` holds the
migrations of every family. Modules of free functions over a `Store` (`watch`) work too.
"""

from __future__ import annotations

from tracer.store.checkpoints import CheckpointTables
from tracer.store.overview import CoveredAddress, OverviewTables, StoreInfo
from tracer.store.ranges import merge_ranges, subtract_ranges
from tracer.store.responses import RawRecord, ResponseTables
from tracer.store.schema import COVERAGE_TRANSFERS, COVERAGE_TXIDS, MIGRATIONS
from tracer.store.transfers import TransferTables
from tracer.store.user_labels import LabelTables
from tracer.store.utxo import UtxoTables

__all__ = [
    "COVERAGE_TRANSFERS",
    "COVERAGE_TXIDS",
    "MIGRATIONS",
    "CoveredAddress",
    "RawRecord",
    "Store",
    "StoreInfo",
    "merge_ranges",
    "subtract_ranges",
]


class Store(TransferTables, UtxoTables, ResponseTables, LabelTables, CheckpointTables, OverviewTables):
    """The local SQLite store. Open with :meth:`Store.open`; use as a context manager."""
