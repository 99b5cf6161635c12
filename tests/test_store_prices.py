"""The store's USD price cache (tracer/store/prices.py): points with their evidence, spans capped at the fetch time."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tracer.core.prices import PricePoint
from tracer.store import Store
from tracer.store.prices import covers, merge_spans, price_cache_counts, read_prices, write_prices


def test_points_spans_and_evidence(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3", clock=lambda: 5_000) as store:
        sha = store.archive_response(source="defillama", url="http://127.0.0.1/chart/x", body=b'{"coins": {}}')
        points = [PricePoint(1_000, Decimal("1.5")), PricePoint(2_000, Decimal("1234567890.123456789"))]
        write_prices(store, "defillama", "coingecko:x", points, since=900, until=9_000, sha256=sha, url="u1")
        write_prices(store, "defillama", "coingecko:x", [], since=10, until=20, sha256="ab" * 32, url="u2")
        got = read_prices(store, "defillama", "coingecko:x", since=0, until=10_000)
        assert got.points == points  # exact decimals back
        assert got.spans == [(10, 20), (900, 5_000)]  # the span ends at the fetch time, not the asked end
        assert {e["sha256"] for e in got.evidence} == {sha, "ab" * 32}
        assert store.read_response(sha) == b'{"coins": {}}'
        assert read_prices(store, "coingecko", "coingecko:x", since=0, until=10_000).points == []
        assert price_cache_counts(store) == {"defillama": 2}


def test_merge_and_cover() -> None:
    assert merge_spans([(5, 9), (1, 3), (4, 4), (20, 30)]) == [(1, 9), (20, 30)]
    assert covers([(1, 9), (20, 30)], 2, 9) and not covers([(1, 9), (20, 30)], 8, 21)
