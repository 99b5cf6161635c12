"""Multi-input address clustering with an explainable, array-based union-find.

Inputs of one transaction share an owner (Meiklejohn et al. 2013) — except CoinJoins, which
are skipped. Every merge remembers the transaction and heuristic that made it, so
:meth:`Clustering.explain` can say why two addresses are in one cluster. A merge that would
grow a cluster past `max_cluster_size` (a service-sized cluster: an exchange, a custodian)
is refused and recorded in :attr:`Clustering.refusals`.

Transactions are processed in canonical order (block, txid), so the result is the same
whatever order they are given in.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import polars as pl

from heuristics.coinjoin import detect_coinjoin
from tracer.core.models import UtxoTx

MULTI_INPUT = "multi-input"
DEFAULT_MAX_CLUSTER = 100_000


class UnionFind:
    """Union-find over integer ids in flat arrays (path halving, union by size)."""

    __slots__ = ("parent", "size")

    def __init__(self, n: int = 0) -> None:
        self.parent = array("q", range(n))
        self.size = array("q", [1]) * n if n else array("q")

    def add(self) -> int:
        """A new singleton; returns its id."""
        n = len(self.parent)
        self.parent.append(n)
        self.size.append(1)
        return n

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> int:
        """Merge the sets of a and b; returns the new root."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        size = self.size
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        size[ra] += size[rb]
        return ra

    def union_links(self, left: array, right: array) -> None:
        """Merge every pair (left[i], right[i]) — the hot loop of the benchmark, inlined."""
        parent, size = self.parent, self.size
        for a, b in zip(left, right, strict=True):
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            while parent[b] != b:
                parent[b] = parent[parent[b]]
                b = parent[b]
            if a == b:
                continue
            if size[a] < size[b]:
                a, b = b, a
            parent[b] = a
            size[a] += size[b]


def cluster_links_bulk(left: Sequence[int] | pl.Series, right: Sequence[int] | pl.Series, n_nodes: int) -> pl.Series:
    """Connected components of `n_nodes` integer ids joined by the links (left[i], right[i]), vectorised.

    For millions of links (a whole chain's input links, CoinJoins already removed) where the
    per-link Python loop of :class:`UnionFind` is too slow. Same answer as union-find: it
    hooks each link's higher root under its lower root (parents only ever decrease, so no
    cycles), then jumps pointers, round after round, on polars arrays. Returns each id's
    cluster label, which is the smallest id in its cluster (so independent of link order).
    """
    a = left if isinstance(left, pl.Series) else pl.Series("a", left, dtype=pl.UInt32)
    b = right if isinstance(right, pl.Series) else pl.Series("b", right, dtype=pl.UInt32)
    if a.len() != b.len():
        raise ValueError("left and right must have the same length")
    a, b = a.cast(pl.UInt32), b.cast(pl.UInt32)
    if a.len() and max(a.max(), b.max()) >= n_nodes:  # type: ignore[type-var, operator]
        raise ValueError("a link names an id >= n_nodes")
    parent = pl.int_range(0, n_nodes, dtype=pl.UInt32, eager=True)

    def roots(x: pl.Series) -> pl.Series:
        nonlocal parent
        start, jumps = x, 0
        while True:
            y = parent.gather(x)
            if (y == x).all():
                break
            x, jumps = y, jumps + 1
        if jumps > 1:  # compress the paths just walked
            parent = parent.scatter(start, x)
        return x

    while a.len():
        x, y = roots(a), roots(b)
        pairs = pl.DataFrame({"x": x, "y": y}).select(lo=pl.min_horizontal("x", "y"), hi=pl.max_horizontal("x", "y"))
        pairs = pairs.filter(pl.col("lo") != pl.col("hi"))
        a, b = pairs["lo"], pairs["hi"]
        if a.len():
            parent = parent.scatter(b, a)  # any one of a root's lower partners will do; the rest stay as links
    while True:
        jumped = parent.gather(parent)
        if (jumped == parent).all():
            return jumped
        parent = jumped


@dataclass(frozen=True, slots=True)
class Link:
    """Why two addresses were joined: the transaction and the heuristic."""

    a: str
    b: str
    txid: str
    heuristic: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """A merge that was not made, and why."""

    txid: str
    addresses: tuple[str, ...]
    reason: str


@dataclass
class Clustering:
    """The clusters, with the links that formed them and the merges refused."""

    ids: dict[str, int] = field(default_factory=dict)
    uf: UnionFind = field(default_factory=UnionFind)
    links: dict[int, list[Link]] = field(default_factory=dict)  # address id -> forest edges touching it
    skipped_coinjoins: dict[str, str] = field(default_factory=dict)  # txid -> pattern
    refusals: list[Refusal] = field(default_factory=list)

    def _id(self, address: str) -> int:
        found = self.ids.get(address)
        if found is None:
            found = self.ids[address] = self.uf.add()
        return found

    def cluster_of(self, address: str) -> frozenset[str]:
        """Every address in `address`'s cluster (just itself when unknown)."""
        if address not in self.ids:
            return frozenset({address})
        root = self.uf.find(self.ids[address])
        return frozenset(a for a, i in self.ids.items() if self.uf.find(i) == root)

    def same_cluster(self, a: str, b: str) -> bool:
        return a in self.ids and b in self.ids and self.uf.find(self.ids[a]) == self.uf.find(self.ids[b])

    def clusters(self) -> list[frozenset[str]]:
        """All clusters, largest first, then by smallest address."""
        groups: dict[int, set[str]] = {}
        for address, i in self.ids.items():
            groups.setdefault(self.uf.find(i), set()).add(address)
        return sorted((frozenset(g) for g in groups.values()), key=lambda g: (-len(g), min(g)))

    def explain(self, a: str, b: str) -> list[Link]:
        """The chain of links (tx + heuristic) joining a to b; empty when they are not clustered."""
        if a == b or not self.same_cluster(a, b):
            return []
        start, goal = self.ids[a], self.ids[b]
        back: dict[int, tuple[int, Link]] = {}
        queue = deque([start])
        seen = {start}
        while queue:
            node = queue.popleft()
            if node == goal:
                break
            for link in self.links.get(node, ()):
                other = self.ids[link.b] if self.ids[link.a] == node else self.ids[link.a]
                if other not in seen:
                    seen.add(other)
                    back[other] = (node, link)
                    queue.append(other)
        path = []
        node = goal
        while node != start:
            node, link = back[node]
            path.append(link)
        return path[::-1]

    def explain_text(self, a: str, b: str) -> str:
        path = self.explain(a, b)
        if not path:
            return f"{a} and {b} are not in one cluster"
        steps = "; ".join(f"{x.a} ~ {x.b} by {x.heuristic} in tx {x.txid}" for x in path)
        return f"{a} and {b} are in one cluster: {steps}"


def cluster_addresses(
    txs: Iterable[UtxoTx],
    *,
    skip_coinjoins: bool = True,
    max_cluster_size: int = DEFAULT_MAX_CLUSTER,
    is_service: Callable[[str], bool] | None = None,
    service_of: Callable[[str], str | None] | None = None,
) -> Clustering:
    """Cluster input addresses by the multi-input heuristic.

    A merge is refused (and recorded) when it would make a cluster larger than
    `max_cluster_size`, or when it would join clusters holding different labelled services:
    `service_of` names an address's service (clusters of one service may join), `is_service`
    marks labelled addresses each as a service of its own (no two labelled clusters join).
    The answer depends only on the set of transactions: they are deduplicated and taken in
    canonical order (block, txid), each one's input addresses sorted.
    """
    if service_of is None and is_service is not None:
        marked = is_service

        def service_of(address: str) -> str | None:
            return address if marked(address) else None

    result = Clustering()
    uf = result.uf
    service: dict[int, str] = {}  # cluster root -> the service it holds
    unique = {t.txid: t for t in txs}
    ordered = sorted(unique.values(), key=lambda t: (t.block if t.block is not None else 1 << 62, t.txid))
    for tx in ordered:
        addresses = sorted({i.address for i in tx.inputs if i.address})
        for address in addresses:
            if address not in result.ids:
                new = result._id(address)
                name = service_of(address) if service_of is not None else None
                if name is not None:
                    service[new] = name
        if len(addresses) < 2:
            continue
        if skip_coinjoins:
            found = detect_coinjoin(tx)
            if found is not None:
                result.skipped_coinjoins[tx.txid] = found.pattern
                continue
        roots = {uf.find(result.ids[a]) for a in addresses}
        if len(roots) == 1:
            continue
        total = sum(uf.size[r] for r in roots)
        if total > max_cluster_size:
            result.refusals.append(
                Refusal(
                    tx.txid,
                    tuple(addresses),
                    f"merging would make a cluster of {total} addresses (> {max_cluster_size}, service-sized)",
                )
            )
            continue
        services = {service[r] for r in roots if r in service}
        if len(services) > 1:
            result.refusals.append(
                Refusal(tx.txid, tuple(addresses), f"it would join {len(services)} clusters of labelled services")
            )
            continue
        anchor = addresses[0]
        for other in addresses[1:]:
            ra, rb = uf.find(result.ids[anchor]), uf.find(result.ids[other])
            if ra == rb:
                continue
            root = uf.union(ra, rb)
            name = service.pop(ra, None) or service.pop(rb, None)
            service.pop(ra, None)
            service.pop(rb, None)
            if name is not None:
                service[root] = name
            link = Link(anchor, other, tx.txid, MULTI_INPUT)
            result.links.setdefault(result.ids[anchor], []).append(link)
            result.links.setdefault(result.ids[other], []).append(link)
    return result
