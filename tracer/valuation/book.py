"""Price books: every point the valuation pass may use, per asset key, from one source.

A book is filled before valuation (one request per asset per 90-day window at most) and then
answers lookups without I/O. Raw answers are hashed; `evidence()` lists them for the manifest.
Offline, a time-series book reads the answers archived in the store instead of the network.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

from heuristics.valuation import MAX_AGE_SECONDS, price_in_force
from tracer.core.errors import BadInput, SourceError
from tracer.core.prices import PriceAnswer, PricePoint

SOURCES = ("coingecko", "defillama", "chainlink", "file", "none")


def shipped_price_ids() -> dict[str, dict[str, str]]:
    """Asset key -> {source: price id}, the project's data (tracer/valuation/price_ids.toml)."""
    text = files("tracer.valuation").joinpath("price_ids.toml").read_text(encoding="utf-8")
    return {key: dict(ids) for key, ids in tomllib.loads(text).items()}


@dataclass
class PriceBook:
    """Sorted points per asset key, the source's name and the evidence behind them."""

    source: str
    series: dict[str, list[PricePoint]] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    missing: dict[str, str] = field(default_factory=dict)  # asset key -> why the source has no prices
    #: asset key -> the spans the cache vouches for (offline/cached books): other times stay unpriced
    covered: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    uncovered: str = ""  # why a time outside `covered` is unpriced (default: the cache does not cover it)
    _index: dict[str, tuple[list[int], list[Decimal]]] = field(default_factory=dict, repr=False)

    def add(self, asset: str, points: Iterable[PricePoint]) -> None:
        merged = {p.time: p for p in self.series.get(asset, [])}
        merged.update((p.time, p) for p in points)
        self.series[asset] = [merged[t] for t in sorted(merged)]
        self._index.pop(asset, None)

    def lookup(self, asset: str, at: int) -> tuple[int, Decimal] | None:
        """The point in force for `asset` at `at` (heuristics.valuation rule), or None."""
        spans = self.covered.get(asset)
        if spans is not None and not any(a <= at <= b for a, b in spans):
            return None
        index = self._index.get(asset)
        if index is None:
            points = self.series.get(asset, [])
            index = self._index[asset] = ([p.time for p in points], [p.usd for p in points])
        return price_in_force(index[0], index[1], at)

    def why_unpriced(self, asset: str, at: int | None = None) -> str:
        if asset in self.missing:
            return self.missing[asset]
        spans = self.covered.get(asset)
        if spans is not None and at is not None and not any(a <= at <= b for a, b in spans):
            default = f"the store's {self.source} price cache does not cover this time (fetch it online first)"
            return self.uncovered or default
        if not self.series.get(asset):
            return f"{self.source} has no price for it"
        return f"no {self.source} price point in the 36 h before the event"

    def evidence(self) -> list[dict[str, Any]]:
        unique = {(r["sha256"], r["url"]): r for r in self.responses}
        return [unique[k] for k in sorted(unique)]


def file_book(path: Path | str) -> PriceBook:
    """A book from a price file (CSV asset,time,usd)."""
    from chains.pricefile import read_price_file

    series, sha = read_price_file(path)
    book = PriceBook("file", series=series)
    book.responses.append({"sha256": sha, "source": "file", "url": Path(path).name, "size": Path(path).stat().st_size})
    return book


def series_book(
    source: Any,
    wanted: Mapping[str, tuple[int, int]],
    *,
    ids: Mapping[str, Mapping[str, str]],
    offline: bool = False,
    store: Any = None,
) -> PriceBook:
    """A book from a time-series source (CoinGecko, DefiLlama): for each asset, its events' span
    (widened by 36 h before the first) in 90-day requests, unless the store's price cache already
    covers it; offline, from the cache alone (times it does not cover stay unpriced)."""
    from tracer.store.prices import covers, read_prices

    if offline and store is None:
        raise SourceError("offline valuation needs the store")
    book = PriceBook(source.name)
    for asset, (first, last) in sorted(wanted.items()):
        price_id = (ids.get(asset) or {}).get(source.name)
        if not price_id:
            book.missing[asset] = f"no {source.name} price id for it (add one under [valuation.ids])"
            continue
        since = first - MAX_AGE_SECONDS
        cached = read_prices(store, source.name, price_id, since=since, until=last) if store is not None else None
        if cached is not None and (offline or covers(cached.spans, since, last)):
            book.add(asset, cached.points)
            book.responses += [{**e, "source": book.source} for e in cached.evidence]
            book.covered[asset] = cached.spans
            continue
        for answer in source.series(price_id, since=since, until=last):
            _record(book, asset, answer)
            if store is not None and hasattr(store, "_write"):
                cache_answer(store, source.name, price_id, answer)
    book.requests = 0 if offline else int(getattr(source, "requests", 0))
    return book


def cache_answer(store: Any, source: str, price_id: str, answer: PriceAnswer) -> None:
    """Keep one answer's points in the store's price cache, with the span it vouches for."""
    from tracer.store.prices import write_prices

    times = [p.time for p in answer.points]
    since = answer.since if answer.since is not None else min(times, default=0)
    until = answer.until if answer.until is not None else max(times, default=0)
    write_prices(store, source, price_id, answer.points, since=since, until=until, sha256=answer.sha256, url=answer.url)


def _record(book: PriceBook, asset: str, answer: PriceAnswer) -> None:
    book.add(asset, answer.points)
    book.responses.append({"sha256": answer.sha256, "source": book.source, "url": answer.url})


def validate_source(name: str) -> str:
    if name not in SOURCES:
        raise BadInput(f"[valuation] source {name!r} is unknown; expected one of: {' | '.join(SOURCES)}")
    return name
