"""The account-chain engine's final state as a :class:`tracer.bundle.result.TraceResult` (frames, graph, summary)."""

from __future__ import annotations

from typing import Any

import networkx as nx
import polars as pl

from tracer.account.engine import TraceState
from tracer.account.frontier import Node
from tracer.account.ledger import asset_key
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
from tracer.cases.decisions import is_excluded
from tracer.core.models import Asset, Label, Policy, Role
from tracer.core.units import format_units, iso
from tracer.core.version import __version__

#: Thief funds' balance sheet uses the stolen buckets, with what attributed addresses gained as "gained".
TF_BUCKETS = {"stolen": "gained"}
STOLEN, TF = 0, 4  # the amount slots of an endpoint row: stolen value, thief funds


def build_result(state: TraceState, *, manifest: dict[str, Any] | None = None) -> TraceResult:
    """Turn the engine's final state into frames, graph and summary."""
    builder = _Builder(state)
    return builder.build(manifest or {})


class _Builder:
    def __init__(self, state: TraceState) -> None:
        self.state = state
        self.cfg = state.config
        self.poison = self.cfg.policy is Policy.POISON
        self.assets: dict[str, Asset] = {}
        self.acc: dict[str, dict[str, int]] = {}  # stolen value: asset key -> bucket -> base units
        self.tf_acc: dict[str, dict[str, int]] = {}  # thief funds: the same buckets ("stolen" = gained)

    def _add(self, key: str, bucket: str, amount: int, *, tf: bool = False) -> None:
        if amount:
            row = (self.tf_acc if tf else self.acc).setdefault(key, dict.fromkeys(BUCKETS, 0))
            row[bucket] += amount

    def _conduit_row(self, rows: dict[tuple[Node, str], list], node: Node, key: str, amount: int, slot: int) -> None:
        """The endpoint row of what a conduit (or counterparty) endpoint kept: first inflow of that asset."""
        if not amount:
            return
        inflows = self.state.tf_inflows if slot == TF else self.state.inflows
        outcomes = self.state.tf_outcomes if slot == TF else self.state.outcomes
        first = min(
            (
                (tr.timestamp, tr.tx_hash)
                for taint, _, tr in inflows.get(node, {}).values()
                if taint and asset_key(tr.asset) == key
            ),
            default=(outcomes[node].first_tainted.get(key, 0), ""),  # kept after a swap inside
        )
        row = rows.setdefault((node, key), [0, first[0], first[1], 0, 0])
        row[slot] += amount
        if first < (row[1], row[2]):
            row[1], row[2] = first

    def _shows(self, taint: int, poisoned: bool) -> bool:
        return taint > 0 or (self.poison and poisoned)

    def build(self, manifest: dict[str, Any]) -> TraceResult:
        state = self.state
        endpoint_rows: dict[tuple[Node, str], list] = {}  # [stolen, first at, tx, poisoned amount, thief funds]
        self._balance(state.outcomes, state.inflows, endpoint_rows, slot=STOLEN)
        self._balance(state.tf_outcomes, state.tf_inflows, endpoint_rows, slot=TF)
        flows = self._flows()
        addresses = self._addresses()
        endpoints = self._endpoints(endpoint_rows)
        graph = self._graph(flows, addresses)
        summary = self._summary(endpoint_rows, endpoints)
        return TraceResult(
            summary=summary,
            flows=flows,
            addresses=addresses,
            endpoints=endpoints,
            graph=graph,
            manifest=self._manifest(manifest),
            accounting={k: dict(v) for k, v in sorted(self.acc.items())},
            thief_funds={k: dict(v) for k, v in sorted(self.tf_acc.items())},
        )

    def _balance(
        self,
        outcomes: dict[Node, Any],
        inflows: dict[Node, dict[Any, tuple[int, bool, Any]]],
        endpoint_rows: dict[tuple[Node, str], list],
        *,
        slot: int,
    ) -> None:
        """One quantity's balance sheet (stolen value or thief funds) and its share of the endpoint rows."""
        state, tf = self.state, slot == TF
        for node, outcome in outcomes.items():
            self.assets.update(outcome.assets)
            for bucket in ("stolen", "swapped_in", "swapped_out", "fees", "unmoved"):
                for key, amount in getattr(outcome, bucket).items():
                    if bucket == "unmoved" and node in state.endpoints:  # what a conduit/counterparty kept
                        self._add(key, "endpoints", amount, tf=tf)
                        self._conduit_row(endpoint_rows, node, key, amount, slot)
                    else:
                        self._add(key, bucket, amount, tf=tf)
        for node in sorted(inflows):
            if node in outcomes:
                continue
            for edge in sorted(inflows[node]):
                taint, poisoned, tr = inflows[node][edge]
                key = asset_key(tr.asset)
                self.assets.setdefault(key, tr.asset)
                if node in state.endpoints and is_excluded(state.endpoints[node]):
                    self._add(key, "excluded", taint, tf=tf)  # an analyst's `exclude` decision: not an endpoint row
                elif node in state.endpoints:
                    self._add(key, "endpoints", taint, tf=tf)
                    if self._shows(taint, poisoned):
                        row = endpoint_rows.setdefault((node, key), [0, tr.timestamp, tr.tx_hash, 0, 0])
                        row[slot] += taint
                        if not tf:
                            row[3] += tr.amount if poisoned else 0
                        if (tr.timestamp, tr.tx_hash) < (row[1], row[2]):
                            row[1], row[2] = tr.timestamp, tr.tx_hash
                else:
                    bucket = "unexplored" if node in state.unexplored else "below_threshold"
                    self._add(key, bucket, taint, tf=tf)

    # -- frames ---------------------------------------------------------------------------
    def _hop(self, node: Node) -> int:
        return self.state.hops.get(node, 0)

    def _flows(self) -> pl.DataFrame:
        merged: dict[tuple[str, str, int], list] = {}  # [transfer, stolen, hop, thief funds]
        for slot, outcomes in ((1, self.state.outcomes), (3, self.state.tf_outcomes)):
            for node in sorted(outcomes):
                for flow in outcomes[node].flows:
                    if flow.kind == "shortfall" or not self._shows(flow.taint, flow.poisoned):
                        continue  # a shortfall is carried by the outflow's own row
                    tr = flow.transfer
                    if flow.kind == "stolen":
                        hop = 0
                    elif flow.kind in ("swap-in", "attributed"):
                        hop = self._hop(node)
                    else:
                        hop = self._hop(node) + 1
                    k = (tr.chain, tr.tx_hash, tr.position)
                    row = merged.setdefault(k, [tr, 0, hop, 0])
                    row[slot] += flow.taint
                    row[2] = min(row[2], hop)
        rows = []
        for (chain, tx, position), (tr, taint, hop, tf) in sorted(
            merged.items(), key=lambda kv: (kv[1][0].chain, kv[1][0].order_key)
        ):
            rows.append(
                table_row(
                    "flows",
                    chain,
                    tx,
                    position,
                    tr.block,
                    iso(tr.timestamp),
                    tr.sender,
                    tr.receiver,
                    tr.asset.symbol,
                    tr.asset.asset_id,
                    format_units(tr.amount, tr.asset.decimals),
                    format_units(taint, tr.asset.decimals),
                    hop,
                    format_units(tf, tr.asset.decimals),
                )
            )
        return make_frame(rows, "flows")

    def _role(self, node: Node) -> Role:
        if node in self.state.seeds:
            return Role.SEED
        if node in self.state.endpoints:
            return Role.ENDPOINT
        if node not in self.state.outcomes and node in self.state.unexplored:
            return Role.UNEXPLORED  # would be followed, but the budget, the hop limit or a data gap stopped it
        if node not in self.state.outcomes:
            return Role.BELOW_THRESHOLD  # never expanded: its taint stayed below the thresholds
        return Role.TRANSIT

    def _label_cols(self, node: Node) -> tuple[str, str, str]:
        label: Label | None = self.state.endpoints.get(node) or self.state.labels.get(node)
        if label is None:
            return "", "", ""
        return str(label.category), label.name, label.source

    def _addresses(self) -> pl.DataFrame:
        rows = []
        received: dict[tuple[Node, str], list] = {}  # [stolen, first at, thief funds]
        for slot, outcomes, inflows in (
            (0, self.state.outcomes, self.state.inflows),
            (2, self.state.tf_outcomes, self.state.tf_inflows),
        ):
            for node, outcome in outcomes.items():
                for key, amount in outcome.received.items():
                    if amount or self.poison:
                        row = received.setdefault((node, key), [0, None, 0])
                        row[slot] += amount
                        first = outcome.first_tainted.get(key)
                        if first is not None and (row[1] is None or first < row[1]):
                            row[1] = first
            for node, edges in inflows.items():
                if node in outcomes:
                    continue
                for taint, poisoned, tr in edges.values():
                    if not self._shows(taint, poisoned):
                        continue
                    key = asset_key(tr.asset)
                    row = received.setdefault((node, key), [0, None, 0])
                    row[slot] += taint
                    if taint and (row[1] is None or tr.timestamp < row[1]):
                        row[1] = tr.timestamp
        for (node, key), (amount, first, tf) in sorted(received.items()):
            asset = self.assets[key]
            rows.append(
                table_row(
                    "addresses",
                    node[0],
                    node[1],
                    str(self._role(node)),
                    *self._label_cols(node),
                    self._hop(node),
                    format_units(amount, asset.decimals),
                    key,
                    iso(first) if first is not None else "",
                    format_units(tf, asset.decimals),
                )
            )
        return make_frame(rows, "addresses")

    def _endpoints(self, endpoint_rows: dict[tuple[Node, str], list]) -> pl.DataFrame:
        rows = [
            table_row(
                "endpoints",
                node[0],
                node[1],
                *self._label_cols(node),
                key,
                format_units(taint, self.assets[key].decimals),
                iso(first),
                tx,
                format_units(tf, self.assets[key].decimals),
            )
            for (node, key), (taint, first, tx, _, tf) in sorted(endpoint_rows.items())
        ]
        return make_frame(rows, "endpoints")

    def _graph(self, flows: pl.DataFrame, addresses: pl.DataFrame) -> nx.MultiDiGraph:
        def describe(chain: str, address: str, _flow_hop: int) -> tuple[str, str, int]:
            category, label, _ = self._label_cols((chain, address))
            return category, label, self._hop((chain, address))

        return build_trace_graph(flows, addresses, describe)

    # -- summary --------------------------------------------------------------------------
    def _summary(self, endpoint_rows: dict[tuple[Node, str], list], endpoints: pl.DataFrame) -> dict[str, Any]:
        state, cfg = self.state, self.cfg
        assets: dict[str, Any] = {}
        zero = dict.fromkeys(BUCKETS, 0)
        for key in sorted(set(self.acc) | set(self.tf_acc)):
            asset = self.assets[key]
            row = self.acc.get(key, zero)
            assets[key] = {"symbol": asset.symbol, **{b: format_units(row[b], asset.decimals) for b in BUCKETS}}
            if key in self.tf_acc:
                tf = self.tf_acc[key]
                assets[key]["thief_funds"] = {
                    TF_BUCKETS.get(b, b): format_units(tf[b], asset.decimals) for b in BUCKETS
                }
        by_category: dict[str, dict[str, int]] = {}
        for (node, key), (taint, _, _, _, _) in sorted(endpoint_rows.items()):
            cat = by_category.setdefault(self._label_cols(node)[0], {})
            cat[key] = cat.get(key, 0) + taint
        unexplored_total = sum(row["unexplored"] for row in self.acc.values())
        complete = unexplored_total == 0 and not state.gaps
        summary: dict[str, Any] = {
            "case": cfg.case_id,
            "policy": str(cfg.policy),
            "strategy": str(cfg.strategy),
            "complete": complete,
            "parameters": trace_parameters(cfg),
            "seeds": seed_entries(cfg.seeds),
            "assets": assets,
            "endpoints_by_category": {
                cat: {k: format_units(v, self.assets[k].decimals) for k, v in sorted(per.items())}
                for cat, per in sorted(by_category.items())
            },
            "endpoints": summary_endpoints(endpoints.iter_rows(named=True)),
            "swaps": self._swaps(),
            "attributed_addresses": self._attributed_addresses(),
            "counterparties": [
                {"chain": n[0], "address": n[1], "why": why} for n, why in sorted(state.counterparties.items())
            ],
            "counts": {
                "addresses_visited": len(state.expanded_order),
                "transfers_read": state.transfers_read,
                "requests": state.requests,
                "addresses_tainted": int(self._n_tainted()),
                "endpoints": len({n for n, _ in endpoint_rows}),
            },
            "gaps": list(state.gaps),
            "notes": list(state.notes),
        }
        if cfg.decisions:
            summary["decisions"] = [d.summary() for d in cfg.decisions]
        if self.poison:
            reached: dict[str, int] = {}
            for (_, key), row in endpoint_rows.items():
                reached[key] = reached.get(key, 0) + row[3]
            summary["poison"] = poison_note(
                "transfers", {k: format_units(v, self.assets[k].decimals) for k, v in sorted(reached.items())}
            )
        return summary

    def _attributed_addresses(self) -> list[dict[str, Any]]:
        """Thief-controlled addresses found by first funding, each with the payment that funded it."""
        return [
            {
                "chain": node[0],
                "address": node[1],
                "funded_by": tr.sender,
                "tx_hash": tr.tx_hash,
                "timestamp": iso(tr.timestamp),
                "evidence": self.state.evidence.get(node, {}),
            }
            for node, tr in sorted(self.state.attributed.items())
        ]

    def _n_tainted(self) -> int:
        nodes = {n for n, o in self.state.outcomes.items() if any(o.received.values())}
        nodes |= {n for n, e in self.state.inflows.items() if any(v[0] for v in e.values())}
        return len(nodes)

    def _swaps(self) -> list[dict[str, Any]]:
        rows = []
        for node in sorted(self.state.outcomes):
            for s in self.state.outcomes[node].swaps:
                if not (s.taint_out or s.taint_in):
                    continue
                a_out, a_in = self.assets[s.asset_out], self.assets[s.asset_in]
                rows.append(
                    {
                        "chain": node[0],
                        "address": s.address,
                        "tx_hash": s.tx_hash,
                        "timestamp": iso(s.timestamp),
                        "asset_out": s.asset_out,
                        "tainted_out": format_units(s.taint_out, a_out.decimals),
                        "asset_in": s.asset_in,
                        "tainted_in": format_units(s.taint_in, a_in.decimals),
                    }
                )
        rows.sort(key=lambda r: (r["chain"], r["timestamp"], r["tx_hash"], r["address"], r["asset_out"], r["asset_in"]))
        return rows

    def _manifest(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "tool": "heisttrace",
            "version": __version__,
            "case": self.cfg.case_id,
            "policy": str(self.cfg.policy),
            "strategy": str(self.cfg.strategy),
            "block_heights": dict(sorted(self.state.tips.items())),
            **extra,
        }
