"""What `heisttrace store info` shows: schema version, row counts and covered addresses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tracer.store.core import StoreCore


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


class OverviewTables(StoreCore):
    """Counts over every table family (read only)."""

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
