"""The store's user labels (imported label files), keyed by (chain, address, source)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tracer.core.models import Category, Label
from tracer.store.core import StoreCore


class LabelTables(StoreCore):
    """`user_labels`."""

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
