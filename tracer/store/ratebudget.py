"""A request budget shared by every process that uses one key: booked request slots in a small SQLite file.

Two traces (two processes) with the same Etherscan key share that key's rate limit at the server. Each
process has its own in-memory token bucket (:mod:`chains.ratelimit`), so without coordination they would
together send twice the rate and be rate-limited. Here every request books the next free slot of its
(host, key fingerprint) in ``rate_slots``: slots are at least ``1/rate`` seconds apart across all
processes, so together they stay within the configured (or adapted) rate.

What is stored: the host (``hostname[:port]``, never userinfo or a path), the 12-hex key fingerprint of
:func:`chains.ratelimit.key_fingerprint` (a hash; the key itself is never stored), and wall-clock slot
times. Rows older than a minute are deleted as new ones are booked. The file lives beside the store
(``<store>.rates``), apart from the store's own database, so booking a slot never waits on a long store
write. Any SQLite problem (read-only home, a locked file past the timeout) turns sharing off for the
process with one warning: each process then limits itself alone, which is degraded but never fatal.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

LOG = logging.getLogger("heisttrace.store.ratebudget")

SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_slots (
    host TEXT NOT NULL,
    key_fp TEXT NOT NULL,
    slot REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_slots_by_bucket ON rate_slots (host, key_fp, slot);
"""
#: Booked slots older than this (s) are deleted.
KEEP_SECONDS = 60.0


def budget_path(store_path: Path | str) -> Path:
    """The shared budget file of the store at `store_path`."""
    path = Path(store_path)
    return path.with_name(path.name + ".rates")


class RateBudget:
    """Implements the shared budget hook of :class:`chains.ratelimit.RateLimiterRegistry` over SQLite."""

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._clock = clock
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.disabled = False

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")  # a slot lost to a crash costs nothing: no fsync per request
            conn.executescript(SCHEMA)
            self._conn = conn
        return self._conn

    def reserve(self, host: str, key_fp: str, rate: float, *, delay: float = 0.0) -> float:
        """Book the next slot of (host, key) at least `delay` s from now; return the seconds until it."""
        if self.disabled or rate <= 0:
            return delay
        with self._lock:
            try:
                conn = self._connect()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    now = self._clock()
                    (last,) = conn.execute(
                        "SELECT MAX(slot) FROM rate_slots WHERE host = ? AND key_fp = ?", (host, key_fp)
                    ).fetchone()
                    slot = max(now + delay, (last + 1.0 / rate) if last is not None else now)
                    conn.execute("INSERT INTO rate_slots (host, key_fp, slot) VALUES (?, ?, ?)", (host, key_fp, slot))
                    conn.execute(
                        "DELETE FROM rate_slots WHERE host = ? AND key_fp = ? AND slot < ?",
                        (host, key_fp, now - KEEP_SECONDS),
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                self._give_up(exc)
                return delay
        return max(0.0, slot - now)

    def defer(self, host: str, key_fp: str, seconds: float) -> None:
        """Hold every process using (host, key) back for `seconds` (a server's Retry-After applies to the key)."""
        if self.disabled or seconds <= 0:
            return
        with self._lock:
            try:
                conn = self._connect()
                conn.execute(
                    "INSERT INTO rate_slots (host, key_fp, slot) VALUES (?, ?, ?)",
                    (host, key_fp, self._clock() + seconds),
                )
            except sqlite3.Error as exc:
                self._give_up(exc)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _give_up(self, exc: sqlite3.Error) -> None:
        self.disabled = True
        LOG.warning("shared rate budget at %s unusable (%s); each process limits itself alone", self.path, exc)
