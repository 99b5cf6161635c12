"""Everything the reporters show, computed once from a bundle."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from tracer.report.analysis import (
    AddressView,
    Arrival,
    NodeKey,
    Swap,
    bundle_swaps,
    endpoint_arrivals,
    summarize_addresses,
)
from tracer.report.bundle import ZERO, Bundle
from tracer.report.fmt import category_rank
from tracer.report.paths import FlowGraph, LaunderingPath, build_flow_graph, extract_paths


@dataclass(frozen=True, slots=True)
class NamedEndpoint:
    """One endpoint address with everything it received, per asset."""

    chain: str
    address: str
    category: str
    label: str
    label_source: str
    amounts: dict[str, Decimal]
    share: Decimal  # summed shares of the case
    first_tainted_at: str
    first_tx: str


@dataclass
class CaseFile:
    bundle: Bundle
    views: dict[NodeKey, AddressView]
    swaps: list[Swap]
    graph: FlowGraph
    paths: list[LaunderingPath]
    arrivals: list[Arrival]
    endpoints: list[NamedEndpoint]


def analyse_bundle(bundle: Bundle, *, top_paths: int = 10) -> CaseFile:
    """Views, swaps, flow graph, the top paths, arrivals and endpoints of one bundle."""
    views = summarize_addresses(bundle)
    swaps = bundle_swaps(bundle)
    graph = build_flow_graph(bundle, swaps)
    paths = extract_paths(bundle, views, limit=top_paths, graph=graph)
    return CaseFile(
        bundle=bundle,
        views=views,
        swaps=swaps,
        graph=graph,
        paths=paths,
        arrivals=endpoint_arrivals(bundle, views),
        endpoints=collect_endpoints(bundle),
    )


def collect_endpoints(bundle: Bundle) -> list[NamedEndpoint]:
    """endpoints.csv grouped by address, largest share of the case first."""
    grouped: dict[tuple[str, str], list] = defaultdict(list)
    for row in bundle.endpoints:
        grouped[(row.chain, row.address)].append(row)
    result = []
    for (chain, address), rows in grouped.items():
        amounts: dict[str, Decimal] = {}
        for row in rows:
            amounts[row.asset] = amounts.get(row.asset, ZERO) + row.tainted_amount
        first = min(rows, key=lambda r: (r.first_tainted_at, r.tx_hash))
        result.append(
            NamedEndpoint(
                chain=chain,
                address=address,
                category=next((r.category for r in rows if r.category), ""),
                label=next((r.label for r in rows if r.label), ""),
                label_source=next((r.label_source for r in rows if r.label_source), ""),
                amounts=dict(sorted(amounts.items())),
                share=sum((bundle.share(a, v) for a, v in amounts.items()), ZERO),
                first_tainted_at=first.first_tainted_at,
                first_tx=first.tx_hash,
            )
        )
    result.sort(key=lambda e: (-e.share, category_rank(e.category), e.chain, e.address))
    return result


def category_totals(bundle: Bundle) -> dict[str, dict[str, Decimal]]:
    """summary.json's endpoints_by_category as exact decimals, categories in display order."""
    raw = bundle.summary.get("endpoints_by_category") or {}
    totals: dict[str, dict[str, Decimal]] = {}
    if isinstance(raw, dict) and raw:
        for category in sorted(raw, key=category_rank):
            values = raw[category] if isinstance(raw[category], dict) else {}
            totals[category] = {k: Decimal(str(v)) for k, v in sorted(values.items())}
        return totals
    for endpoint in collect_endpoints(bundle):  # fallback: derive from endpoints.csv
        bucket = totals.setdefault(endpoint.category, {})
        for asset, value in endpoint.amounts.items():
            bucket[asset] = bucket.get(asset, ZERO) + value
    return dict(sorted(totals.items(), key=lambda kv: category_rank(kv[0])))
