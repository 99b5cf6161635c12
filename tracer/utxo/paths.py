"""The explained parts of a UTXO summary: peel chains (steered by change detection) and the
clustering decisions, each naming the transactions behind it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from heuristics.peel import change_paths, detect_peel_chains
from tracer.utxo.engine import UtxoTraceState

Units = Callable[[int], str]


def _spent_by(state: UtxoTraceState) -> dict[tuple[str, int], str]:
    found: dict[tuple[str, int], str] = {}
    for tx in state.followed.values():
        for i in tx.inputs:
            if i.prev_txid is not None and i.prev_vout is not None:
                found[(i.prev_txid, i.prev_vout)] = tx.txid
    return found


def _outcome(state: UtxoTraceState, spent_by: dict[tuple[str, int], str], txid: str, vout: int, address: str) -> dict:
    """What became of a payment: an endpoint (with its label and evidence), transit (followed), or not followed."""
    label = state.endpoints.get(address)
    if label is not None:
        doc: dict[str, Any] = {
            "outcome": "endpoint",
            "category": str(label.category),
            "label": label.name,
            "label_source": label.source,
        }
        decision = state.cluster_decisions.get(address)
        if decision is not None:
            doc["linked_by"] = list(decision.txids)
        return doc
    return {"outcome": "transit" if (txid, vout) in spent_by else "not followed"}


def peel_summary(state: UtxoTraceState, units: Units) -> list[dict[str, Any]]:
    """`summary["peel_chains"]`: by change detection when its rules are on, else by the peel shape."""
    tainted = {(f.tx.txid, f.position): f.taint for f in state.flows}
    spent_by = _spent_by(state)
    chains = []
    if state.config.utxo.change_rules:
        changes = {t: r.change for t, r in state.changes.items() if r.change is not None}
        for path in change_paths(state.followed, changes):
            payments = [
                {
                    "tx_hash": s.txid,
                    "address": p.address,
                    "amount": units(p.value),
                    "tainted_amount": units(tainted.get((s.txid, p.index), 0)),
                    **_outcome(state, spent_by, s.txid, p.index, p.address or ""),
                }
                for s in path
                for p in s.payments
            ]
            peeled = sum(p.value for s in path for p in s.payments)
            rules = ", ".join(state.config.utxo.change_rules)
            chains.append(
                {
                    "start_tx": path[0].txid,
                    "steps": len(path),
                    "txs": [s.txid for s in path],
                    "remainder_address": path[-1].change.address,
                    "peeled_total": units(peeled),
                    "payments": payments,
                    "detected_by": "change",
                    "why": (
                        f"{len(path)} hops from {path[0].txid}, each spending the previous hop's change output "
                        f"(change rules: {rules}); {units(peeled)} peeled off in {len(payments)} payments"
                    ),
                    "change": [{"tx_hash": s.txid, "why": state.changes[s.txid].explanation} for s in path],
                }
            )
        return chains
    for chain in detect_peel_chains(state.followed):
        chains.append(
            {
                "start_tx": chain.start,
                "steps": len(chain.steps),
                "txs": [s.txid for s in chain.steps],
                "remainder_address": chain.steps[-1].remainder.address,
                "peeled_total": units(chain.peeled_total),
                "payments": [
                    {
                        "tx_hash": s.txid,
                        "address": s.payment.address,
                        "amount": units(s.payment.value),
                        "tainted_amount": units(tainted.get((s.txid, s.payment.index), 0)),
                        **_outcome(state, spent_by, s.txid, s.payment.index, s.payment.address or ""),
                    }
                    for s in chain.steps
                ],
                "detected_by": "shape",
                "why": chain.explanation,
            }
        )
    return chains


def clustering_summary(state: UtxoTraceState, units: Units) -> dict[str, Any]:
    """`summary["clustering"]`: the options, each endpoint found by co-spending with its linking
    transactions, the merges refused as service-sized (or joining two services), the CoinJoins left out."""
    opts = state.config.utxo
    oracle, reader = state.oracle, state.reader
    decisions = []
    for address, d in sorted(state.cluster_decisions.items()):
        row = state.endpoint_rows.get(address)
        decisions.append(
            {
                "chain": state.chain,
                "address": address,
                "category": str(d.service.category),
                "label": d.service.name,
                "service_address": d.service_address,
                "service_label_source": d.service.source,
                "linked_by": list(d.txids),
                "tainted_amount": units(row[0] if row else 0),
                "why": d.explanation,
            }
        )
    refused = []
    skipped: dict[str, str] = {}
    if oracle is not None:
        for txid, r in sorted(oracle.refusals.items()):
            refused.append({"tx_hash": txid, "inputs": len(r.addresses), "why": r.reason})
        skipped = dict(sorted(oracle.skipped.items()))
    return {
        "options": opts.doc(),
        "endpoints": decisions,
        "refused_merges": refused,
        "coinjoins_not_clustered": [{"tx_hash": t, "pattern": p} for t, p in skipped.items()],
        "address_histories_read": reader.reads if reader is not None else 0,
        "decisions_cut_short": sorted(oracle.short) if oracle is not None else [],
        "histories_too_long": sorted(reader.too_long) if reader is not None else [],
    }
