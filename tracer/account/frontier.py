"""Which address to fetch next: strategies behind one push / pop / snapshot / rank interface.

A node is ``(chain, address)``. The engine pushes a node whenever the taint waiting at it
changes, with its *score* (the taint it holds as a fraction of the stolen total, summed over
assets), its hop count and whether it is *material* (it received a transfer that is mostly
stolen value: eligible even below `min_taint`, see :mod:`tracer.account.engine`); `pop` returns the
next node worth expanding, or None.

- :class:`RankedFrontier` — TRacer-style ranked residual (Wu et al., IEEE TIFS 2023): the
  node holding the largest share of the loot first; only nodes with score ≥ `min_taint`.
- :class:`BreadthFirstFrontier` — hop by hop, in discovery order, score ≥ `min_taint`.
- :class:`PoisonFrontier` — hop by hop, every node that received anything (no threshold).

All three respect `max_hops` (a node at hop ≥ `max_hops` is not expanded). Ties are broken
by (chain, address), so the order never depends on dict or set iteration.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from tracer.core.models import Strategy

Node = tuple[str, str]


@dataclass(slots=True)
class _Entry:
    score: Fraction
    hop: int
    seq: int  # discovery order
    material: bool = False  # received a mostly-tainted transfer: eligible below min_taint


class Frontier:
    """Base: bookkeeping shared by the strategies; subclasses define `_priority` and `accepts`."""

    strategy: Strategy

    def __init__(self, *, min_taint: Fraction = Fraction(0), max_hops: int | None = None) -> None:
        self.min_taint = min_taint
        self.max_hops = max_hops
        self._entries: dict[Node, _Entry] = {}
        self._heap: list[tuple[Any, ...]] = []
        self._seq = 0

    # -- the interface ---------------------------------------------------------------------
    def push(self, node: Node, *, score: Fraction, hop: int, material: bool = False) -> None:
        """Add `node` or update its score, hop and materiality."""
        entry = self._entries.get(node)
        if entry is None:
            entry = self._entries[node] = _Entry(score, hop, self._seq, material)
            self._seq += 1
        else:
            if entry.score == score and entry.hop == hop and entry.material == material:
                return
            entry.score = score
            entry.hop = hop
            entry.material = material
        if self.eligible(node):
            heapq.heappush(self._heap, (*self._priority(node, entry), node, score, hop))

    def remove(self, node: Node) -> None:
        """Forget `node` (it was expanded or became an endpoint)."""
        self._entries.pop(node, None)

    def pop(self) -> Node | None:
        """The next node to expand, or None when nothing eligible is left."""
        heap = self._heap
        while heap:
            item = heapq.heappop(heap)
            node, score, hop = item[-3], item[-2], item[-1]
            entry = self._entries.get(node)
            if entry is None or entry.score != score or entry.hop != hop or not self.eligible(node):
                continue  # stale
            del self._entries[node]
            return node
        return None

    def rank(self) -> list[tuple[Node, Fraction, int]]:
        """Every waiting node (eligible or not) with score and hop, best first."""
        ordered = sorted(self._entries.items(), key=lambda kv: (*self._priority(kv[0], kv[1]), kv[0]))
        return [(node, e.score, e.hop) for node, e in ordered]

    def above_threshold(self, node: Node) -> bool:
        """Would `node` be expanded but for `max_hops` or the budget (its taint passes the threshold)?"""
        entry = self._entries.get(node)
        return entry is not None and (self.accepts(entry.score) or (entry.material and entry.score > 0))

    def eligible(self, node: Node) -> bool:
        entry = self._entries.get(node)
        if entry is None:
            return False
        if self.max_hops is not None and entry.hop >= self.max_hops:
            return False
        return self.above_threshold(node)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able state; `restore` rebuilds an equal frontier."""
        return {
            "strategy": str(self.strategy),
            "seq": self._seq,
            "entries": [
                [node[0], node[1], f"{e.score.numerator}/{e.score.denominator}", e.hop, e.seq, e.material]
                for node, e in sorted(self._entries.items())
            ],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Replace this frontier's content with a snapshot's."""
        self._entries = {}
        self._heap = []
        for chain, address, score, hop, seq, *rest in state["entries"]:
            node = (chain, address)
            entry = self._entries[node] = _Entry(Fraction(score), int(hop), int(seq), bool(rest[0]) if rest else False)
            if self.eligible(node):
                heapq.heappush(self._heap, (*self._priority(node, entry), node, entry.score, entry.hop))
        self._seq = int(state["seq"])

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, node: object) -> bool:
        return node in self._entries

    # -- per strategy ---------------------------------------------------------------------
    def accepts(self, score: Fraction) -> bool:
        return score > 0 and score >= self.min_taint

    def _priority(self, node: Node, entry: _Entry) -> tuple[Any, ...]:
        raise NotImplementedError


class RankedFrontier(Frontier):
    """Largest residual first (TRacer)."""

    strategy = Strategy.RANKED

    def _priority(self, node: Node, entry: _Entry) -> tuple[Any, ...]:
        # the float first makes heap comparisons cheap; rounding is monotonic, so ties fall
        # through to the exact fraction and the order is exactly that of (-score, hop)
        return (-float(entry.score), -entry.score, entry.hop)


class BreadthFirstFrontier(Frontier):
    """Lowest hop first, then discovery order."""

    strategy = Strategy.BREADTH_FIRST

    def _priority(self, node: Node, entry: _Entry) -> tuple[Any, ...]:
        return (entry.hop, entry.seq)


class PoisonFrontier(BreadthFirstFrontier):
    """Breadth-first over everything reached, ignoring `min_taint` (the explosion, for comparison)."""

    strategy = Strategy.POISON

    def accepts(self, score: Fraction) -> bool:
        return score > 0


def make_frontier(strategy: Strategy | str, *, min_taint: Fraction, max_hops: int | None) -> Frontier:
    """The frontier for `strategy` (ranked | bfs | poison)."""
    kinds: dict[Strategy, type[Frontier]] = {
        Strategy.RANKED: RankedFrontier,
        Strategy.BREADTH_FIRST: BreadthFirstFrontier,
        Strategy.POISON: PoisonFrontier,
    }
    return kinds[Strategy(strategy)](min_taint=min_taint, max_hops=max_hops)
