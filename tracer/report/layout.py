"""The interactive graph's data: a deterministic reduction of big traces and a layered layout.

Columns are hops (left to right), chains are stacked in horizontal bands, and inside a column
nodes are ordered by the mean row of their senders (one barycentre pass), which keeps the
laundering flow readable and the output identical run after run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from tracer.core.errors import BadChain
from tracer.core.networks import get_chain
from tracer.report.analysis import AddressView, NodeKey, node_id, short_address, swap_flow_keys, taint_share
from tracer.report.bundle import ZERO
from tracer.report.casefile import CaseFile
from tracer.report.fmt import amount, exact, share, short_hash, when
from tracer.report.paths import extract_paths
from tracer.report.svg import color

MAX_GRAPH_NODES = 300
PATHS_KEPT = 40
MAX_EDGE_TXS = 12
COLUMN_GAP, ROW_GAP, BAND_GAP = 320.0, 46.0, 90.0


def address_url(chain: str, address: str) -> str:
    """Explorer link for an address, or "" for a chain outside the registry."""
    try:
        return get_chain(chain).address_url(quote(address, safe=""))
    except BadChain:
        return ""


def tx_url(chain: str, tx_hash: str) -> str:
    try:
        return get_chain(chain).tx_url(quote(tx_hash, safe=""))
    except BadChain:
        return ""


def select_nodes(case: CaseFile, *, limit: int = MAX_GRAPH_NODES) -> tuple[list[NodeKey], str]:
    """All nodes when they fit; else seeds, nodes on the widest paths, then most taint. Returns (keys, note)."""
    views = case.views
    if len(views) <= limit:
        return sorted(views), ""
    keep: dict[NodeKey, None] = {key: None for key in case.bundle.seeds if key in views}
    for path in extract_paths(case.bundle, views, limit=PATHS_KEPT, graph=case.graph):
        if len(keep) + len(path.nodes) > limit:
            break
        keep.update((key, None) for key in path.nodes)
    ranked = sorted(views, key=lambda k: (-taint_share(views[k], case.bundle), k))
    for key in ranked:
        if len(keep) >= limit:
            break
        keep.setdefault(key, None)
    note = (
        f"Showing {len(keep):,} of {len(views):,} addresses: the seeds, every address on the "
        f"{PATHS_KEPT} widest seed-to-endpoint paths, then those that received the largest share of taint. "
        "The full graph is in graph.graphml (or `heisttrace export DIR --format gexf` for Gephi)."
    )
    return sorted(keep), note


def _columns(case: CaseFile, keys: list[NodeKey]) -> dict[NodeKey, int]:
    hops = {}
    for key in keys:
        view = case.views[key]
        if view.hop is not None:
            hops[key] = view.hop
        else:
            senders = [case.views[s].hop for s in view.senders if s in case.views and case.views[s].hop is not None]
            hops[key] = (max(senders) + 1) if senders else 0
    return hops


def layout(case: CaseFile, keys: list[NodeKey]) -> dict[NodeKey, tuple[float, float]]:
    """Preset positions: x by hop, chains in bands, rows by barycentre of senders."""
    column = _columns(case, keys)
    kept = set(keys)
    positions: dict[NodeKey, tuple[float, float]] = {}
    band_top = 0.0
    for chain in sorted({k[0] for k in keys}):
        by_column: dict[int, list[NodeKey]] = defaultdict(list)
        for key in keys:
            if key[0] == chain:
                by_column[column[key]].append(key)
        rows: dict[NodeKey, float] = {}
        tallest = 0
        for col in sorted(by_column):
            members = by_column[col]

            def barycentre(key: NodeKey, rows: dict[NodeKey, float] = rows) -> tuple[float, Decimal, NodeKey]:
                parents = [rows[s] for s in case.views[key].senders if s in kept and s in rows]
                mean = sum(parents) / len(parents) if parents else math.inf
                return (mean, -taint_share(case.views[key], case.bundle), key)

            members.sort(key=barycentre)
            for index, key in enumerate(members):
                rows[key] = float(index)
            tallest = max(tallest, len(members))
        for key, row in rows.items():
            offset = (tallest - len(by_column[column[key]])) * ROW_GAP / 2
            positions[key] = (column[key] * COLUMN_GAP, band_top + offset + row * ROW_GAP)
        band_top += tallest * ROW_GAP + BAND_GAP
    return positions


def _amount_texts(case: CaseFile, amounts: dict[str, Decimal]) -> list[str]:
    return [f"{amount(v)} {case.bundle.symbol(a)}" for a, v in sorted(amounts.items())]


def _node(case: CaseFile, view: AddressView, position: tuple[float, float]) -> dict[str, Any]:
    weight = float(taint_share(view, case.bundle))
    classes = [view.role]
    if view.category == "dex":
        classes.append("dex")
    if view.swaps:
        classes.append("swapper")
    fill = {"seed": "#d62728", "transit": "#b8c2cc", "external": "#eeeeee"}.get(view.role, color(view.category))
    return {
        "id": view.id,
        "chain": view.chain,
        "address": view.address,
        "short": view.label[:40] if view.label else short_address(view.address),
        "label": view.label,
        "label_source": view.label_source,
        "role": view.role,
        "category": view.category,
        "hop": view.hop,
        "first": when(view.first_tainted_at),
        "tin": _amount_texts(case, view.tainted_in),
        "tout": _amount_texts(case, view.tainted_out),
        "share": share(taint_share(view, case.bundle)),
        "senders": len(view.senders),
        "receivers": len(view.receivers),
        "swaps": [
            {
                "text": f"{when(s.timestamp)}: {amount(s.tainted_out)} {case.bundle.symbol(s.asset_out)} → "
                f"{amount(s.tainted_in)} {case.bundle.symbol(s.asset_in)} via {short_address(s.counterparty)}",
                "tx": short_hash(s.tx_hash),
                "url": tx_url(s.chain, s.tx_hash),
            }
            for s in view.swaps
        ],
        "url": address_url(view.chain, view.address),
        "x": round(position[0], 2),
        "y": round(position[1], 2),
        "size": round(16 + 44 * math.sqrt(min(weight, 1.0)), 2),
        "color": fill,
        "kind": view.role,
        "classes": " ".join(classes),
    }


def graph_payload(case: CaseFile, *, limit: int = MAX_GRAPH_NODES) -> tuple[dict[str, Any], str]:
    """Nodes and aggregated edges (one per sender→receiver) for the page, and the reduction note."""
    keys, note = select_nodes(case, limit=limit)
    kept = set(keys)
    positions = layout(case, keys)
    nodes = [_node(case, case.views[key], positions[key]) for key in keys]
    legs = swap_flow_keys(case.swaps, case.bundle.flows)
    grouped: dict[tuple[NodeKey, NodeKey], list] = defaultdict(list)
    for flow in case.bundle.flows:
        u, v = (flow.chain, flow.sender), (flow.chain, flow.receiver)
        if flow.is_fee or u not in kept or v not in kept:
            continue
        grouped[(u, v)].append(flow)
    edges = []
    for (u, v), flows in sorted(grouped.items()):
        flows.sort(key=lambda f: (f.timestamp, f.block, f.tx_hash, f.position))
        totals: dict[str, Decimal] = {}
        for f in flows:
            totals[f.asset] = totals.get(f.asset, ZERO) + f.tainted_amount
        weight = sum((case.bundle.share(a, t) for a, t in totals.items()), ZERO)
        amounts = "; ".join(_amount_texts(case, totals))
        edges.append(
            {
                "id": f"{node_id(*u)}>{node_id(*v)}",
                "source": node_id(*u),
                "target": node_id(*v),
                "amounts": amounts,
                "label": amounts,
                "count": len(flows),
                "swap": any((f.chain, f.tx_hash, f.position) in legs for f in flows),
                "width": round(1 + 9 * math.sqrt(min(float(weight), 1.0)), 2),
                "txs": [
                    {
                        "short": short_hash(f.tx_hash),
                        "url": tx_url(f.chain, f.tx_hash),
                        "amount": f"{exact(f.tainted_amount)} {case.bundle.symbol(f.asset)}",
                        "time": when(f.timestamp),
                    }
                    for f in flows[:MAX_EDGE_TXS]
                ],
            }
        )
    edges += crossing_edges(case, kept)
    return {"nodes": nodes, "edges": edges}, note


def crossing_edges(case: CaseFile, kept: set[NodeKey]) -> list[dict[str, Any]]:
    """One edge per followed crossing (summary.json `crossings`): bridge on one chain -> recipient on another."""
    edges = []
    for c in case.bundle.summary.get("crossings") or ():
        src, to = c.get("from") or {}, c.get("to")
        if not to or c.get("status") not in ("resolved", "refunded"):
            continue
        u, v = (src.get("chain", ""), src.get("bridge", "")), (to.get("chain", ""), to.get("address", ""))
        if u not in kept or v not in kept:
            continue
        label = f"{c.get('protocol')} · {c.get('method')} · confidence {float(c.get('confidence', 0)):.2f}"
        amounts = f"{to.get('amount')} {to.get('symbol')} ({label})"
        edges.append(
            {
                "id": f"{node_id(*u)}>{node_id(*v)}:crossing:{to.get('tx')}",
                "source": node_id(*u),
                "target": node_id(*v),
                "amounts": amounts,
                "label": label,
                "count": 1,
                "swap": False,
                "crossing": True,
                "width": 3,
                "txs": [
                    {
                        "short": short_hash(str(t.get("tx", ""))),
                        "url": tx_url(t.get("chain", ""), str(t.get("tx", ""))),
                        "amount": f"{t.get('amount')} {t.get('asset' if t is src else 'symbol')}",
                        "time": "",
                    }
                    for t in (src, to)
                ],
            }
        )
    return edges
