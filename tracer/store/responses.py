"""The store's archive of raw responses: the evidence behind a trace, keyed by sha256."""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass

from tracer.core.errors import StoreError
from tracer.store.core import StoreCore

_UNREDACTED_KEY = re.compile(r"(?i)(?:^|[?&;])api[-_]?key=([^&#;]*)")
_REDACTED_VALUES = re.compile(r"(?i)\**|x*|<?redacted>?|%3credacted%3e|\[redacted\]|\.\.\.|…")


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One archived raw response (evidence for the manifest); the body is read separately."""

    sha256: str
    source: str
    url: str
    fetched_at: int  # unix seconds
    size: int  # bytes, uncompressed


def _contains_unredacted_key(url: str) -> bool:
    return any(not _REDACTED_VALUES.fullmatch(m.group(1)) for m in _UNREDACTED_KEY.finditer(url))


class ResponseTables(StoreCore):
    """`responses`: compressed bodies, their (redacted) URL and when they were fetched."""

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
