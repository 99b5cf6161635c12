"""Chainlink books: the round in force at each event, read on the user's node.

An event on the feed's chain is valued with `latestRoundData()` read at its own block (the round in
force when that block was sealed); an event with only a time (another chain's, or the unmoved value
at a tip the node cannot place) walks rounds back from the latest with `getRoundData` to the one in
force then. A bundle with more than `PER_BLOCK_MAX` distinct blocks walks the rounds once instead
(batches of consecutive round ids on the latest state: no archive node needed, about one request
per 100 rounds) and reads at the blocks the walk cannot reach (before the feed's current phase);
a node that pruned a block's state is walked likewise. Each round is a price point at its
`updatedAt`, so the 36 h rule applies to the age of the answer. Each read vouches for a span —
[updatedAt, block time] at a block, [updatedAt, next round's updatedAt) when walking — and a time
outside every span is never valued from a neighbour.
Points and spans go to the store's price cache; `--offline` values from it alone.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from importlib.resources import files
from typing import Any

from heuristics.valuation import MAX_AGE_SECONDS
from tracer.core.errors import SourceError
from tracer.core.prices import PricePoint
from tracer.valuation.book import PriceBook
from tracer.valuation.events import flow_key, flow_time

MAX_ROUNDS_WALKED = 20_000  # per feed and valuation (about two years of ETH / USD): older times stay unpriced
PER_BLOCK_MAX = 256  # up to this many distinct blocks, read at each block; beyond, walk the rounds once

Event = tuple[int, int | None]  # (unix time, block on the feed's chain or None)


def shipped_feeds() -> dict[str, dict[str, str]]:
    """Feed chain -> {asset key: feed address}, the project's data (tracer/valuation/chainlink_feeds.toml)."""
    text = files("tracer.valuation").joinpath("chainlink_feeds.toml").read_text(encoding="utf-8")
    return {chain: {k: v.lower() for k, v in table.items()} for chain, table in tomllib.loads(text).items()}


def chainlink_events(
    flows: Iterable[dict[str, Any]],
    endpoints: Iterable[dict[str, Any]],
    assets: Iterable[str],
    *,
    feed_chain: str,
    tip_heights: Mapping[str, int],
    tip_times: Mapping[str, int],
) -> dict[str, set[Event]]:
    """Asset key -> the events to price: flows (with their block when on the feed's chain), endpoint
    arrivals not already a flow time, and the unmoved value at the pinned tip."""
    events: dict[str, set[Event]] = {}
    for row in flows:
        block = int(row["block"]) if row["chain"] == feed_chain and str(row.get("block", "")).isdigit() else None
        events.setdefault(flow_key(row), set()).add((flow_time(row), block))
    for row in endpoints:
        if row.get("first_tainted_at"):
            at = flow_time({"timestamp": row["first_tainted_at"]})
            known = events.setdefault(row["asset"], set())
            if not any(t == at for t, _ in known):
                known.add((at, None))
    for key in assets:
        chain = key.split(":", 1)[0]
        if chain in tip_times:
            block = tip_heights.get(chain) if chain == feed_chain else None
            events.setdefault(key, set()).add((int(tip_times[chain]), block))
    return events


def chainlink_book(
    feeds_reader: Any,
    events: Mapping[str, set[Event]],
    *,
    feeds: Mapping[str, str],
    feed_chain: str,
    offline: bool = False,
    store: Any = None,
    max_rounds: int = MAX_ROUNDS_WALKED,
    per_block_max: int = PER_BLOCK_MAX,
) -> PriceBook:
    """A book of the rounds in force at `events`, per asset, from the feeds in `feeds`."""
    from tracer.store.prices import read_prices

    book = PriceBook("chainlink")
    book.uncovered = "no Chainlink round was read for this time"
    for asset in sorted(events):
        feed = feeds.get(asset)
        if not feed:
            where = f"[valuation.feeds.{feed_chain}]"
            book.missing[asset] = f"no chainlink feed for it on {feed_chain} (add one under {where})"
            continue
        price_id = f"{feed_chain}:{feed.lower()}"
        times = [t for t, _ in events[asset]]
        if offline:
            if store is None:
                raise SourceError("offline valuation needs the store")
            cached = read_prices(store, "chainlink", price_id, since=min(times) - MAX_AGE_SECONDS, until=max(times))
            book.add(asset, cached.points)
            book.responses += [{**e, "source": "chainlink"} for e in cached.evidence]
            book.covered[asset] = cached.spans
            book.uncovered = "the store's chainlink price cache does not cover this time (read it online first)"
            continue
        reader = _Reader(book, feeds_reader, store, asset, feed, price_id, max_rounds)
        reader.per_block_max = per_block_max
        with store.batch() if hasattr(store, "batch") else nullcontext():  # one transaction per feed
            reader.read(events[asset])
    book.requests = 0 if offline else int(getattr(feeds_reader, "requests", 0))
    return book


class _Reader:
    """Reads one feed for one asset into the book (points, spans, evidence, cache)."""

    def __init__(
        self, book: PriceBook, feeds: Any, store: Any, asset: str, feed: str, price_id: str, max_rounds: int
    ) -> None:
        self.book, self.feeds, self.store = book, feeds, store
        self.asset, self.feed, self.price_id, self.max_rounds = asset, feed, price_id, max_rounds
        self.spans: list[tuple[int, int]] = []
        self.per_block_max = PER_BLOCK_MAX

    def read(self, events: set[Event]) -> None:
        from chains.chainlink import FeedReverted

        try:
            self.decimals = self.feeds.decimals(self.feed)
        except FeedReverted:
            self.book.missing[self.asset] = f"the chainlink feed {self.feed} answered nothing (not a feed?)"
            return
        from chains.chainlink import STATE_UNAVAILABLE

        at_block = sorted(e for e in events if e[1] is not None)
        loose = [t for t, b in events if b is None]
        if len({b for _, b in at_block}) > self.per_block_max:
            # many blocks: walk the rounds once (latest state, batched ids), then read at the blocks it
            # does not cover (before the feed's current phase, or past the walk's cap)
            self._walk(min(t for t, _ in events))
            at_block = [(t, b) for t, b in at_block if not self._covered(t)]
            loose = [t for t in loose if not self._covered(t)]
        rounds = self.feeds.latest_rounds(self.feed, sorted({b for _, b in at_block})) if at_block else {}
        for at, block in at_block:
            found = rounds.get(block)
            if found == STATE_UNAVAILABLE:  # a pruned node: find the round in force by time instead
                loose.append(at)
            elif found is not None:  # None: no feed at that block yet, the time stays uncovered
                self._keep(found, found.updated_at, at)
        loose = [t for t in loose if not self._covered(t)]
        if loose:
            self._walk(min(loose))
        self.book.covered[self.asset] = self.spans

    def _covered(self, at: int) -> bool:
        return any(a <= at <= b for a, b in self.spans)

    def _walk(self, target: int) -> None:
        """Rounds from the latest back to the one in force at `target` (or the phase's first, or the cap),
        asked in batches of consecutive round ids."""
        current = self.feeds.latest_round(self.feed)
        _, end = self.feeds.block_time()
        pending: list[Any] = []
        walked = 0
        while True:
            self._keep(current, current.updated_at, end)
            if current.updated_at <= target or walked >= self.max_rounds:
                return
            if not pending:
                pending = self.feeds.rounds_before(self.feed, current, min(self.feeds.batch, self.max_rounds - walked))
                if not pending:
                    return
            end = current.updated_at - 1
            current = pending.pop(0)
            walked += 1

    def _keep(self, found: Any, since: int, until: int) -> None:
        point = PricePoint(found.updated_at, found.usd(self.decimals))
        self.book.add(self.asset, [point])
        self.book.responses.append({"sha256": found.sha256, "source": "chainlink", "url": found.url})
        if since <= until:
            self.spans.append((since, until))
        if self.store is not None and hasattr(self.store, "_write"):
            from tracer.store.prices import write_prices

            write_prices(
                self.store,
                "chainlink",
                self.price_id,
                [point],
                since=since,
                until=until,
                sha256=found.sha256,
                url=found.url,
            )
