"""Laundering paths from seeds to endpoints, extracted from a bundle's flows (pure and deterministic).

Amounts in different assets cannot be added without prices, so every flow is measured as a
*share*: its tainted amount over everything its asset carried as taint (stolen + swapped in,
from summary.json). An edge between two addresses carries the sum of its flows' shares. The
path to an address is the *widest* one (largest bottleneck share) from any seed; ties go to
fewer hops, then to the smaller address. Paths stop at endpoints (value is not followed through
them) nor through the pools of swaps. Top paths are the widest paths to endpoints, ordered by width, hops and endpoint.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from tracer.report.analysis import AddressView, NodeKey, Swap, extract_swaps, swap_flow_keys
from tracer.report.bundle import ZERO, Bundle, FlowRow

INFINITE = Decimal("Infinity")


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a path: every tainted flow from `sender` to `receiver`."""

    sender: NodeKey
    receiver: NodeKey
    flows: tuple[FlowRow, ...]  # in time order

    def amounts(self) -> dict[str, Decimal]:
        """Tainted amount per asset key."""
        totals: dict[str, Decimal] = {}
        for flow in self.flows:
            totals[flow.asset] = totals.get(flow.asset, ZERO) + flow.tainted_amount
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
    width: Decimal  # bottleneck, as a share of the case
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


def build_flow_graph(bundle: Bundle, swaps: list[Swap] | None = None) -> FlowGraph:
    """Group flows by edge; swap legs are left out (a swap converts taint at the swapper, not via the pool)."""
    legs = swap_flow_keys(extract_swaps(bundle.flows) if swaps is None else swaps, bundle.flows)
    edges: dict[NodeKey, dict[NodeKey, list[FlowRow]]] = defaultdict(lambda: defaultdict(list))
    capacity: dict[tuple[NodeKey, NodeKey], Decimal] = defaultdict(lambda: ZERO)
    for flow in bundle.flows:
        if flow.is_fee or flow.sender == flow.receiver or (flow.chain, flow.tx_hash, flow.position) in legs:
            continue
        u, v = (flow.chain, flow.sender), (flow.chain, flow.receiver)
        edges[u][v].append(flow)
        capacity[(u, v)] += bundle.share(flow.asset, flow.tainted_amount)
    for targets in edges.values():
        for rows in targets.values():
            rows.sort(key=lambda f: (f.timestamp, f.block, f.tx_hash, f.position))
    return FlowGraph(edges=edges, capacity=capacity)


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
    """The widest paths from `sources` (default: seeds) to `targets` (default: endpoints), best first."""
    graph = graph or build_flow_graph(bundle)
    endpoints = {key for key, v in views.items() if v.role == "endpoint"}
    starts = list(sources) if sources is not None else list(bundle.seeds)
    goals = set(targets) if targets is not None else endpoints
    width, parent = widest_tree(graph, starts, stop_at=endpoints)
    found = []
    for goal in goals:
        if goal not in parent:
            continue
        nodes = [goal]
        while nodes[-1] in parent:
            nodes.append(parent[nodes[-1]])
        nodes.reverse()
        found.append((nodes, width[goal]))
    found.sort(key=lambda item: (-item[1], len(item[0]), item[0][-1]))
    return [_make_path(graph, views, nodes, w) for nodes, w in found[:limit]]


def _make_path(
    graph: FlowGraph, views: dict[NodeKey, AddressView], nodes: list[NodeKey], width: Decimal
) -> LaunderingPath:
    hops = tuple(Hop(u, v, tuple(graph.edges[u][v])) for u, v in itertools.pairwise(nodes))
    swaps: list[Swap] = []
    for i in range(1, len(nodes) - 1):
        assets_in = {f.asset for f in hops[i - 1].flows}
        assets_out = {f.asset for f in hops[i].flows}
        view = views.get(nodes[i])
        for swap in view.swaps if view else ():
            if swap.asset_out in assets_in and swap.asset_in in assets_out:
                swaps.append(swap)
    return LaunderingPath(nodes=tuple(nodes), hops=hops, width=width, swaps=tuple(swaps))
