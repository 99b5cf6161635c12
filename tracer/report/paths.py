"""Laundering paths from seeds to endpoints, extracted from a bundle's flows (pure and deterministic).

Amounts in different assets cannot be added without prices, so every flow is measured as a
*share*: its tainted amount over everything its asset carried as taint (stolen + swapped in,
from summary.json). An edge between two addresses carries the sum of its flows' shares. The
path to an address is the *widest* one (largest bottleneck share) from any seed; ties go to
fewer hops, then to the smaller address. Paths stop at endpoints (value is not followed through
them) nor through the pools of swaps.

A path's hops then carry only what can have flowed *along that path, in time order*: at each
address on the way, what arrived over the previous hop is held, and a later flow over the next
hop takes from it (never more than the flow's own tainted amount); a flow that left before any
of the path's value arrived is not part of the path. So each hop's amount is what the path
carried, never more than the hop before, and can be quoted in a freeze request. Across a swap
the held value is converted by its share of the case. A path whose value cannot reach the end
in time order is dropped. Top paths are ordered by the share that reached the end, hops and endpoint.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from tracer.report.analysis import AddressView, NodeKey, Swap, extract_swaps, swap_flow_keys
from tracer.report.bundle import ZERO, Bundle, FlowRow

INFINITE = Decimal("Infinity")


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a path: the tainted flows from `sender` to `receiver` that carried the path's value."""

    sender: NodeKey
    receiver: NodeKey
    flows: tuple[FlowRow, ...]  # in time order
    carried: tuple[Decimal, ...] = ()  # per flow, what of it the path carried (default: its tainted amount)

    def amounts(self) -> dict[str, Decimal]:
        """What the path carried over this hop, per asset key."""
        totals: dict[str, Decimal] = {}
        carried = self.carried or tuple(f.tainted_amount for f in self.flows)
        for flow, value in zip(self.flows, carried, strict=True):
            totals[flow.asset] = totals.get(flow.asset, ZERO) + value
        return dict(sorted(totals.items()))

    @property
    def first_time(self) -> str:
        return self.flows[0].timestamp if self.flows else ""

    @property
    def last_time(self) -> str:
        return self.flows[-1].timestamp if self.flows else ""


@dataclass(frozen=True, slots=True)
class LaunderingPath:
    """Seed → … → endpoint, the widest route taint took."""

    nodes: tuple[NodeKey, ...]
    hops: tuple[Hop, ...]
    width: Decimal  # what reached the end along the path, as a share of the case
    swaps: tuple[Swap, ...]

    @property
    def source(self) -> NodeKey:
        return self.nodes[0]

    @property
    def target(self) -> NodeKey:
        return self.nodes[-1]

    @property
    def assets(self) -> list[str]:
        """Asset keys met along the way, in order of first appearance."""
        seen: list[str] = []
        for hop in self.hops:
            for asset in hop.amounts():
                if asset not in seen:
                    seen.append(asset)
        return seen

    @property
    def started(self) -> str:
        return self.hops[0].first_time if self.hops else ""

    @property
    def arrived(self) -> str:
        return self.hops[-1].first_time if self.hops else ""


@dataclass
class FlowGraph:
    """Flows grouped by (sender, receiver); capacities are summed shares."""

    edges: dict[NodeKey, dict[NodeKey, list[FlowRow]]]
    capacity: dict[tuple[NodeKey, NodeKey], Decimal]
    #: (chain, tx hash, position) -> rank in canonical chain order (flows.csv is written in it)
    order: dict[tuple[str, str, int], int]
    #: (chain, tx hash) -> rank of the transaction's last flow (where a swap in it has happened)
    tx_order: dict[tuple[str, str], int]


def build_flow_graph(bundle: Bundle, swaps: list[Swap] | None = None) -> FlowGraph:
    """Group flows by edge; swap legs are left out (a swap converts taint at the swapper, not via the pool)."""
    legs = swap_flow_keys(extract_swaps(bundle.flows) if swaps is None else swaps, bundle.flows)
    edges: dict[NodeKey, dict[NodeKey, list[FlowRow]]] = defaultdict(lambda: defaultdict(list))
    capacity: dict[tuple[NodeKey, NodeKey], Decimal] = defaultdict(lambda: ZERO)
    order = {(f.chain, f.tx_hash, f.position): rank for rank, f in enumerate(bundle.flows)}
    tx_order = {(f.chain, f.tx_hash): rank for rank, f in enumerate(bundle.flows)}  # the last one wins
    for flow in bundle.flows:
        if flow.is_fee or flow.sender == flow.receiver or (flow.chain, flow.tx_hash, flow.position) in legs:
            continue
        u, v = (flow.chain, flow.sender), (flow.chain, flow.receiver)
        edges[u][v].append(flow)
        capacity[(u, v)] += bundle.share(flow.asset, flow.tainted_amount)
    for targets in edges.values():
        for rows in targets.values():
            rows.sort(key=lambda f: order[(f.chain, f.tx_hash, f.position)])
    return FlowGraph(edges=edges, capacity=capacity, order=order, tx_order=tx_order)


def widest_tree(
    graph: FlowGraph, sources: Iterable[NodeKey], *, stop_at: set[NodeKey]
) -> tuple[dict[NodeKey, Decimal], dict[NodeKey, NodeKey]]:
    """Multi-source widest-path search: best bottleneck per node and the predecessor that gives it."""
    width: dict[NodeKey, Decimal] = {}
    hops: dict[NodeKey, int] = {}
    parent: dict[NodeKey, NodeKey] = {}
    heap: list[tuple[Decimal, int, NodeKey]] = []
    for source in sorted(set(sources)):
        width[source], hops[source] = INFINITE, 0
        heap.append((-INFINITE, 0, source))
    heapq.heapify(heap)
    done: set[NodeKey] = set()
    while heap:
        neg_width, depth, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        if node in stop_at and depth > 0:
            continue
        for succ in sorted(graph.edges.get(node, {})):
            if succ in done:
                continue
            candidate = min(-neg_width, graph.capacity[(node, succ)])
            better = (candidate, -(depth + 1)) > (width.get(succ, Decimal(-1)), -hops.get(succ, 1 << 30))
            if better:
                width[succ], hops[succ], parent[succ] = candidate, depth + 1, node
                heapq.heappush(heap, (-candidate, depth + 1, succ))
    return width, parent


def extract_paths(
    bundle: Bundle,
    views: dict[NodeKey, AddressView],
    *,
    limit: int = 10,
    sources: Iterable[NodeKey] | None = None,
    targets: Iterable[NodeKey] | None = None,
    graph: FlowGraph | None = None,
) -> list[LaunderingPath]:
    """The widest routes from `sources` (default: seeds) to `targets` (default: endpoints), as time-ordered
    paths; the one that carried the largest share to its end first."""
    graph = graph or build_flow_graph(bundle)
    endpoints = {key for key, v in views.items() if v.role == "endpoint"}
    starts = list(sources) if sources is not None else list(bundle.seeds)
    goals = set(targets) if targets is not None else endpoints
    _, parent = widest_tree(graph, starts, stop_at=endpoints)
    found = []
    for goal in goals:
        if goal not in parent:
            continue
        nodes = [goal]
        while nodes[-1] in parent:
            nodes.append(parent[nodes[-1]])
        nodes.reverse()
        found.append(nodes)
    paths = [p for p in (_make_path(bundle, graph, views, nodes) for nodes in found) if p is not None]
    paths.sort(key=lambda p: (-p.width, len(p.nodes), p.target))
    return paths[:limit]


def _make_path(
    bundle: Bundle, graph: FlowGraph, views: dict[NodeKey, AddressView], nodes: list[NodeKey]
) -> LaunderingPath | None:
    hops = _time_ordered_hops(graph, views, nodes)
    if hops is None:
        return None
    swaps: list[Swap] = []
    for i in range(1, len(nodes) - 1):
        assets_in = {f.asset for f in hops[i - 1].flows}
        assets_out = {f.asset for f in hops[i].flows}
        view = views.get(nodes[i])
        for swap in view.swaps if view else ():
            if swap.asset_out in assets_in and swap.asset_in in assets_out:
                swaps.append(swap)
    last = hops[-1]
    width = sum((bundle.share(a, v) for a, v in last.amounts().items()), ZERO)
    return LaunderingPath(nodes=tuple(nodes), hops=hops, width=width, swaps=tuple(swaps))


def _time_ordered_hops(
    graph: FlowGraph, views: dict[NodeKey, AddressView], nodes: list[NodeKey]
) -> tuple[Hop, ...] | None:
    """The hops of `nodes` with what the path carried, in time order (None: nothing reaches the end).

    At each address on the way, events run in canonical order: an arrival over the previous hop is
    held, a swap there converts what is held of the paid asset (up to what the swap took) at the
    swap's own rate, and a departure over the next hop takes what is held of its asset."""
    rank, tx_rank = graph.order, graph.tx_order
    first = [(f, f.tainted_amount) for f in graph.edges[nodes[0]][nodes[1]] if f.tainted_amount > 0]
    carried_hops = [first]
    for u, v in itertools.pairwise(nodes[1:]):
        view = views.get(u)
        events: list[tuple[int, int, Any]] = [
            (rank[(f.chain, f.tx_hash, f.position)], 0, (f, c)) for f, c in carried_hops[-1]
        ]
        events += [(tx_rank.get((s.chain, s.tx_hash), -1), 1, s) for s in (view.swaps if view else ())]
        events += [(rank[(f.chain, f.tx_hash, f.position)], 2, (f, f.tainted_amount)) for f in graph.edges[u][v]]
        held: dict[str, Decimal] = {}
        out: list[tuple[FlowRow, Decimal]] = []
        for _, kind, item in sorted(events, key=lambda e: (e[0], e[1])):
            if kind == 1:
                _convert(held, item)
                continue
            flow, value = item
            if kind == 0:
                held[flow.asset] = held.get(flow.asset, ZERO) + value
                continue
            take = min(value, held.get(flow.asset, ZERO))
            if take > 0:
                held[flow.asset] -= take
                out.append((flow, take))
        if not out:
            return None
        carried_hops.append(out)
    return tuple(
        Hop(u, v, tuple(f for f, _ in used), tuple(c for _, c in used))
        for (u, v), used in zip(itertools.pairwise(nodes), carried_hops, strict=True)
    )


def _convert(held: dict[str, Decimal], swap: Swap) -> None:
    """Convert what the path holds of the swap's paid asset at the swap's rate (never more than it took)."""
    have = held.get(swap.asset_out, ZERO)
    if have <= 0 or swap.tainted_out <= 0:
        return
    used = min(have, swap.tainted_out)
    got = swap.tainted_in * used / swap.tainted_out
    exponent = swap.tainted_in.as_tuple().exponent
    if isinstance(exponent, int) and used < swap.tainted_out:
        got = got.quantize(Decimal(1).scaleb(min(exponent, -18)), rounding=ROUND_DOWN).normalize()
    held[swap.asset_out] = have - used
    held[swap.asset_in] = held.get(swap.asset_in, ZERO) + got
