"""The store's resumable checkpoints and small metadata (pinned tips, cached lookups)."""

from __future__ import annotations

from tracer.store.core import StoreCore


class CheckpointTables(StoreCore):
    """`checkpoints` and `meta`."""

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
