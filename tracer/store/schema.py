"""The store's schema: ordered migrations (one tuple of statements per version) and coverage kinds."""

from __future__ import annotations

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
