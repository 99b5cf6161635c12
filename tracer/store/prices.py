"""The store's USD price cache: price points per (source, price id) and the spans they vouch for.

`price_points` holds one row per point a source gave (time in unix seconds, USD as decimal text),
with the sha256 of the raw response it came from; the raw body itself is in `responses`
(archived by the HTTP client, like explorer responses). `price_spans` records what each answer
covers: a series answer vouches for every point in its asked range (up to the time it was fetched,
since later points cannot exist yet); a Chainlink round read at a block vouches for
[round updatedAt, block time] (no other round was in force in between).

Offline valuation reads points and spans from here alone: a time outside every span is not
in the cache, and stays unpriced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tracer.core.prices import PricePoint

#: The migration that adds the cache (appended to tracer.store.MIGRATIONS).
PRICE_MIGRATION: tuple[str, ...] = (
    "CREATE TABLE price_points (source TEXT NOT NULL, price_id TEXT NOT NULL, time INTEGER NOT NULL,"
    " usd TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (source, price_id, time)) WITHOUT ROWID",
    "CREATE TABLE price_spans (source TEXT NOT NULL, price_id TEXT NOT NULL, since INTEGER NOT NULL,"
    " until INTEGER NOT NULL, sha256 TEXT NOT NULL, url TEXT NOT NULL, fetched_at INTEGER NOT NULL,"
    " PRIMARY KEY (source, price_id, since, until, sha256)) WITHOUT ROWID",
)


@dataclass(frozen=True, slots=True)
class CachedPrices:
    """What the cache holds for one (source, price id) over a period."""

    points: list[PricePoint]
    spans: list[tuple[int, int]]  # merged, sorted
    evidence: list[dict[str, str]]  # {"sha256", "url"} of the answers behind the points and spans


def write_prices(
    store: Any,
    source: str,
    price_id: str,
    points: Iterable[PricePoint],
    *,
    since: int,
    until: int,
    sha256: str,
    url: str,
) -> None:
    """Keep `points` of one answer and the span it vouches for (until capped at the fetch time)."""
    now = int(store._clock())
    rows = [(source, price_id, p.time, str(p.usd), sha256) for p in points]
    with store._write() as conn:
        conn.executemany("INSERT OR REPLACE INTO price_points VALUES (?, ?, ?, ?, ?)", rows)
        if since <= min(until, now):
            conn.execute(
                "INSERT OR REPLACE INTO price_spans VALUES (?, ?, ?, ?, ?, ?, ?)",
                (source, price_id, int(since), int(min(until, now)), sha256, url, now),
            )


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, merged closed spans (touching spans, a second apart, merge)."""
    out: list[list[int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def read_prices(store: Any, source: str, price_id: str, *, since: int, until: int) -> CachedPrices:
    """Cached points and spans of (source, price id) that touch since..until."""
    with store._read() as conn:
        points = conn.execute(
            "SELECT time, usd, sha256 FROM price_points WHERE source = ? AND price_id = ? AND time BETWEEN ? AND ?"
            " ORDER BY time",
            (source, price_id, int(since), int(until)),
        ).fetchall()
        spans = conn.execute(
            "SELECT since, until, sha256, url FROM price_spans WHERE source = ? AND price_id = ?"
            " AND until >= ? AND since <= ? ORDER BY since, until, sha256",
            (source, price_id, int(since), int(until)),
        ).fetchall()
    evidence = {(row[2], row[3]) for row in spans}
    urls = {sha: url for _, _, sha, url in spans}
    evidence |= {(sha, urls.get(sha, "")) for _, _, sha in points}
    return CachedPrices(
        points=[PricePoint(int(t), Decimal(usd)) for t, usd, _ in points],
        spans=merge_spans((int(a), int(b)) for a, b, _, _ in spans),
        evidence=[{"sha256": s, "url": u} for s, u in sorted(evidence)],
    )


def covers(spans: list[tuple[int, int]], since: int, until: int) -> bool:
    """Whether merged `spans` hold all of since..until."""
    return any(a <= since and until <= b for a, b in spans)


def price_cache_counts(store: Any) -> dict[str, int]:
    """Points per source in the cache (for `heisttrace store info`-like summaries and tests)."""
    with store._read() as conn:
        rows = conn.execute("SELECT source, count(*) FROM price_points GROUP BY source ORDER BY source").fetchall()
    return {str(s): int(n) for s, n in rows}
