"""The UTXO engine's final state as a :class:`tracer.bundle.result.TraceResult` (frames, graph, summary)."""

from __future__ import annotations

from typing import Any

from tracer.bundle.result import (
    TraceResult,
    build_trace_graph,
    make_frame,
    poison_note,
    seed_entries,
    summary_endpoints,
    table_row,
    trace_parameters,
)
from tracer.bundle.schema import BUCKETS
from tracer.core.models import Policy, Role
from tracer.core.networks import get_chain
from tracer.core.units import format_units, iso
from tracer.core.version import __version__
from tracer.utxo.engine import UNCONFIRMED, UNKNOWN_BLOCK, Flow, UtxoTraceState
from tracer.utxo.paths import clustering_summary, peel_summary


def build_utxo_result(state: UtxoTraceState, *, manifest: dict[str, Any] | None = None) -> TraceResult:
    """The UTXO trace as the same :class:`TraceResult` (frames, graph, summary) the account engine gives."""
    chain = get_chain(state.chain)
    key = f"{chain.slug}:native"
    decimals = chain.native_decimals
    cfg = state.config
    poison = cfg.policy is Policy.POISON

    def units(amount: int) -> str:
        return format_units(amount, decimals)

    def when(ts: int | None) -> str:
        return iso(ts) if ts is not None else ""

    merged: dict[tuple[str, int], Flow] = {}
    for f in state.flows:  # a transaction processed twice adds its taints up
        old = merged.get((f.tx.txid, f.position))
        if old is None:
            merged[(f.tx.txid, f.position)] = Flow(
                f.tx, f.position, f.sender, f.receiver, f.amount, f.taint, f.poisoned, f.hop
            )
        else:
            old.taint += f.taint
            old.hop = min(old.hop, f.hop)
            old.poisoned = old.poisoned or f.poisoned
    flow_rows = []
    for f in sorted(merged.values(), key=_flow_order):
        shown = f.amount if poison and f.poisoned else f.taint
        flow_rows.append(
            table_row(
                "flows",
                chain.slug,
                f.tx.txid,
                f.position,
                f.tx.block if f.tx.block is not None else UNKNOWN_BLOCK,
                when(f.tx.timestamp),
                f.sender,
                f.receiver,
                chain.native_symbol,
                "native",
                units(f.amount),
                units(shown),
                f.hop,
            )
        )
    flows = make_frame(flow_rows, "flows")

    def role(address: str) -> Role:
        if address in state.seeds:
            return Role.SEED
        if address in state.endpoints:
            return Role.ENDPOINT
        if address in state.unexplored:
            return Role.UNEXPLORED
        return Role.TRANSIT

    def label_cols(address: str) -> tuple[str, str, str]:
        label = state.endpoints.get(address) or state.labels.get(address)
        return ("", "", "") if label is None else (str(label.category), label.name, label.source)

    address_rows = []
    for address, (taint, first, hop, poisoned) in sorted(state.received.items()):
        if not taint and not (poison and poisoned):
            continue
        address_rows.append(
            table_row(
                "addresses",
                chain.slug,
                address,
                str(role(address)),
                *label_cols(address),
                hop,
                units(taint),
                key,
                when(first),
            )
        )
    addresses = make_frame(address_rows, "addresses")

    endpoint_rows = []
    by_category: dict[str, int] = {}
    for address, (taint, first, txid, _) in sorted(state.endpoint_rows.items()):
        category, label, source = label_cols(address)
        by_category[category] = by_category.get(category, 0) + taint
        endpoint_rows.append(
            table_row("endpoints", chain.slug, address, category, label, source, key, units(taint), when(first), txid)
        )
    endpoints = make_frame(endpoint_rows, "endpoints")

    def describe(_chain: str, address: str, flow_hop: int) -> tuple[str, str, int]:
        category, label, _ = label_cols(address)
        return category, label, flow_hop

    graph = build_trace_graph(flows, addresses, describe)

    buckets = state.buckets
    unexplored = buckets["unexplored"]
    summary: dict[str, Any] = {
        "case": cfg.case_id,
        "policy": str(cfg.policy),
        "strategy": "utxo-chain-order",
        "complete": unexplored == 0 and not [g for g in state.gaps if not str(g).startswith("seed ")],
        "parameters": trace_parameters(cfg, material=False),
        "seeds": seed_entries(cfg.seeds),
        "assets": {key: {"symbol": chain.native_symbol, **{b: units(buckets[b]) for b in BUCKETS}}},
        "endpoints_by_category": {c: {key: units(v)} for c, v in sorted(by_category.items())},
        "endpoints": summary_endpoints(endpoint_rows),
        "swaps": [],
        "counts": {
            "addresses_visited": len(state.received),
            "transfers_read": len(state.followed),
            "requests": state.requests,
            "addresses_tainted": len(address_rows),
            "endpoints": len(state.endpoint_rows),
            "transactions_followed": state.expanded,
            "outputs_with_unknown_spender": state.spends_unknown,
            # requests of the address histories read for clustering and change rules (run statistics: run.json)
            "cluster_requests": state.reader.requests if state.reader is not None else 0,
        },
        "gaps": list(state.gaps),
        "coinjoins": [
            {"tx_hash": c.txid, "pattern": c.pattern, "denomination": units(c.denomination), "why": c.explanation}
            for _, c in sorted(state.coinjoins.items())
        ],
        "peel_chains": peel_summary(state, units),
        "clustering": clustering_summary(state, units),
    }
    if poison:
        reached = sum(row[3] for row in state.endpoint_rows.values())
        summary["poison"] = poison_note("outputs", {key: units(reached)})
    full_manifest = {
        "tool": "heisttrace",
        "case": cfg.case_id,
        "policy": str(cfg.policy),
        "strategy": "utxo-chain-order",
        "block_heights": {chain.slug: state.tip} if state.tip is not None else {},
        **(manifest or {}),
    }
    full_manifest["version"] = __version__
    return TraceResult(
        summary=summary,
        flows=flows,
        addresses=addresses,
        endpoints=endpoints,
        graph=graph,
        manifest=full_manifest,
        accounting={key: dict(buckets)},
    )


def _flow_order(f: Flow) -> tuple[int, str, int]:
    return (f.tx.block if f.tx.block is not None else UNCONFIRMED, f.tx.txid, f.position)
