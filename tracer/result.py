"""A finished trace: polars frames, a networkx graph, the summary, and the bundle writer.

Amounts inside are integers in base units; the frames, CSV and JSON carry decimal strings in
the asset's own unit (ETH, not wei), so nothing is lost to floats. Every file is written
from sorted rows, so the same trace gives byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl

from tracer import __version__
from tracer.engine import TraceState
from tracer.frontier import Node
from tracer.models import Asset, Label, Policy, Role
from tracer.taint import asset_key

BUCKETS = ("stolen", "swapped_in", "swapped_out", "endpoints", "unmoved", "fees", "below_threshold", "unexplored")

FLOW_COLUMNS = [
    "chain",
    "tx_hash",
    "position",
    "block",
    "timestamp",
    "from",
    "to",
    "asset",
    "asset_id",
    "amount",
    "tainted_amount",
    "hop",
]
ADDRESS_COLUMNS = [
    "chain",
    "address",
    "role",
    "category",
    "label",
    "label_source",
    "hop",
    "tainted_in",
    "asset",
    "first_tainted_at",
]
ENDPOINT_COLUMNS = [
    "chain",
    "address",
    "category",
    "label",
    "label_source",
    "asset",
    "tainted_amount",
    "first_tainted_at",
    "tx_hash",
]


def format_units(amount: int, decimals: int) -> str:
    """Base units as a decimal string in the asset's unit: 1234500000000000000000, 18 -> '1234.5'."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**decimals)
    if not decimals or not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{str(frac).rjust(decimals, '0').rstrip('0')}"


def iso(ts: int) -> str:
    """Unix seconds as ISO 8601 UTC."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class TraceResult:
    """What `tracer.trace()` returns."""

    summary: dict[str, Any]
    flows: pl.DataFrame
    addresses: pl.DataFrame
    endpoints: pl.DataFrame
    graph: nx.MultiDiGraph
    manifest: dict[str, Any] = field(default_factory=dict)
    accounting: dict[str, dict[str, int]] = field(default_factory=dict)  # asset key -> bucket -> base units

    @property
    def complete(self) -> bool:
        return bool(self.summary["complete"])

    def write(self, directory: str | Path, *, report: bool = True) -> Path:
        """Write the bundle (INTERFACES §4); then the HTML report when the reporter is installed."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(_json(self.summary))
        self.addresses.write_csv(out / "addresses.csv")
        self.flows.write_csv(out / "flows.csv")
        self.endpoints.write_csv(out / "endpoints.csv")
        nx.write_graphml(self.graph, out / "graph.graphml")
        (out / "manifest.json").write_text(_json(self.manifest))
        if report:
            from tracer.report import write_report

            write_report(out, fmt="html")
        return out


def _json(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- building


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
        self.acc: dict[str, dict[str, int]] = {}

    def _add(self, key: str, bucket: str, amount: int) -> None:
        if amount:
            row = self.acc.setdefault(key, dict.fromkeys(BUCKETS, 0))
            row[bucket] += amount

    def _shows(self, taint: int, poisoned: bool) -> bool:
        return taint > 0 or (self.poison and poisoned)

    def build(self, manifest: dict[str, Any]) -> TraceResult:
        state = self.state
        for outcome in state.outcomes.values():
            self.assets.update(outcome.assets)
            for bucket in ("stolen", "swapped_in", "swapped_out", "fees", "unmoved"):
                for key, amount in getattr(outcome, bucket).items():
                    self._add(key, bucket, amount)
        endpoint_rows: dict[tuple[Node, str], list] = {}
        waiting: dict[Node, dict[str, int]] = {}
        for node in sorted(state.inflows):
            if node in state.outcomes:
                continue
            for edge in sorted(state.inflows[node]):
                taint, poisoned, tr = state.inflows[node][edge]
                key = asset_key(tr.asset)
                self.assets.setdefault(key, tr.asset)
                if node in state.endpoints:
                    self._add(key, "endpoints", taint)
                    if self._shows(taint, poisoned):
                        row = endpoint_rows.setdefault((node, key), [0, tr.timestamp, tr.tx_hash, 0])
                        row[0] += taint
                        row[3] += tr.amount if poisoned else 0
                        if (tr.timestamp, tr.tx_hash) < (row[1], row[2]):
                            row[1], row[2] = tr.timestamp, tr.tx_hash
                else:
                    bucket = "unexplored" if node in state.unexplored else "below_threshold"
                    self._add(key, bucket, taint)
                    waiting.setdefault(node, {})
                    waiting[node][key] = waiting[node].get(key, 0) + taint
        flows = self._flows()
        addresses = self._addresses()
        endpoints = self._endpoints(endpoint_rows)
        graph = self._graph(flows, addresses)
        summary = self._summary(endpoint_rows)
        return TraceResult(
            summary=summary,
            flows=flows,
            addresses=addresses,
            endpoints=endpoints,
            graph=graph,
            manifest=self._manifest(manifest),
            accounting={k: dict(v) for k, v in sorted(self.acc.items())},
        )

    # -- frames ---------------------------------------------------------------------------
    def _hop(self, node: Node) -> int:
        return self.state.hops.get(node, 0)

    def _flows(self) -> pl.DataFrame:
        merged: dict[tuple[str, str, int], list] = {}
        for node in sorted(self.state.outcomes):
            outcome = self.state.outcomes[node]
            for flow in outcome.flows:
                if not self._shows(flow.taint, flow.poisoned):
                    continue
                tr = flow.transfer
                if flow.kind == "stolen":
                    hop = 0
                elif flow.kind == "swap-in":
                    hop = self._hop(node)
                else:
                    hop = self._hop(node) + 1
                k = (tr.chain, tr.tx_hash, tr.position)
                row = merged.get(k)
                if row is None:
                    merged[k] = [tr, flow.taint, hop]
                else:
                    row[1] += flow.taint
                    row[2] = min(row[2], hop)
        rows = []
        for (chain, tx, position), (tr, taint, hop) in sorted(
            merged.items(), key=lambda kv: (kv[1][0].chain, kv[1][0].order_key)
        ):
            rows.append(
                {
                    "chain": chain,
                    "tx_hash": tx,
                    "position": position,
                    "block": tr.block,
                    "timestamp": iso(tr.timestamp),
                    "from": tr.sender,
                    "to": tr.receiver,
                    "asset": tr.asset.symbol,
                    "asset_id": tr.asset.asset_id,
                    "amount": format_units(tr.amount, tr.asset.decimals),
                    "tainted_amount": format_units(taint, tr.asset.decimals),
                    "hop": hop,
                }
            )
        return _frame(rows, FLOW_COLUMNS, ints=("position", "block", "hop"))

    def _role(self, node: Node) -> Role:
        if node in self.state.seeds:
            return Role.SEED
        if node in self.state.endpoints:
            return Role.ENDPOINT
        if node not in self.state.outcomes and node not in self.state.unexplored:
            return Role.BELOW_THRESHOLD  # never expanded: its taint stayed below the thresholds
        return Role.TRANSIT

    def _label_cols(self, node: Node) -> tuple[str, str, str]:
        label: Label | None = self.state.endpoints.get(node) or self.state.labels.get(node)
        if label is None:
            return "", "", ""
        return str(label.category), label.name, label.source

    def _addresses(self) -> pl.DataFrame:
        rows = []
        received: dict[tuple[Node, str], list] = {}
        for node, outcome in self.state.outcomes.items():
            for key, amount in outcome.received.items():
                if amount or self.poison:
                    received[(node, key)] = [amount, outcome.first_tainted.get(key)]
        for node, edges in self.state.inflows.items():
            if node in self.state.outcomes:
                continue
            for taint, poisoned, tr in edges.values():
                if not self._shows(taint, poisoned):
                    continue
                key = asset_key(tr.asset)
                row = received.setdefault((node, key), [0, None])
                row[0] += taint
                if taint and (row[1] is None or tr.timestamp < row[1]):
                    row[1] = tr.timestamp
        for (node, key), (amount, first) in sorted(received.items()):
            asset = self.assets[key]
            category, label, source = self._label_cols(node)
            rows.append(
                {
                    "chain": node[0],
                    "address": node[1],
                    "role": str(self._role(node)),
                    "category": category,
                    "label": label,
                    "label_source": source,
                    "hop": self._hop(node),
                    "tainted_in": format_units(amount, asset.decimals),
                    "asset": key,
                    "first_tainted_at": iso(first) if first is not None else "",
                }
            )
        return _frame(rows, ADDRESS_COLUMNS, ints=("hop",))

    def _endpoints(self, endpoint_rows: dict[tuple[Node, str], list]) -> pl.DataFrame:
        rows = []
        for (node, key), (taint, first, tx, _) in sorted(endpoint_rows.items()):
            category, label, source = self._label_cols(node)
            rows.append(
                {
                    "chain": node[0],
                    "address": node[1],
                    "category": category,
                    "label": label,
                    "label_source": source,
                    "asset": key,
                    "tainted_amount": format_units(taint, self.assets[key].decimals),
                    "first_tainted_at": iso(first),
                    "tx_hash": tx,
                }
            )
        return _frame(rows, ENDPOINT_COLUMNS, ints=())

    def _graph(self, flows: pl.DataFrame, addresses: pl.DataFrame) -> nx.MultiDiGraph:
        graph = nx.MultiDiGraph()
        for row in addresses.iter_rows(named=True):
            node_id = f"{row['chain']}:{row['address']}"
            if node_id not in graph:
                graph.add_node(
                    node_id,
                    chain=row["chain"],
                    address=row["address"],
                    role=row["role"],
                    category=row["category"],
                    label=row["label"],
                    hop=row["hop"],
                )
        for row in flows.iter_rows(named=True):
            for end in ("from", "to"):
                node_id = f"{row['chain']}:{row[end]}"
                if node_id not in graph:
                    node = (row["chain"], row[end])
                    category, label, _ = self._label_cols(node)
                    graph.add_node(
                        node_id,
                        chain=row["chain"],
                        address=row[end],
                        role="source" if end == "from" else "sink",
                        category=category,
                        label=label,
                        hop=self._hop(node),
                    )
            graph.add_edge(
                f"{row['chain']}:{row['from']}",
                f"{row['chain']}:{row['to']}",
                key=f"{row['tx_hash']}:{row['position']}",
                tx_hash=row["tx_hash"],
                position=row["position"],
                block=row["block"],
                asset=row["asset"],
                asset_id=row["asset_id"],
                amount=row["amount"],
                tainted_amount=row["tainted_amount"],
                hop=row["hop"],
            )
        return graph

    # -- summary --------------------------------------------------------------------------
    def _summary(self, endpoint_rows: dict[tuple[Node, str], list]) -> dict[str, Any]:
        state, cfg = self.state, self.cfg
        assets: dict[str, Any] = {}
        for key in sorted(self.acc):
            asset = self.assets[key]
            row = self.acc[key]
            assets[key] = {"symbol": asset.symbol, **{b: format_units(row[b], asset.decimals) for b in BUCKETS}}
        by_category: dict[str, dict[str, int]] = {}
        per_endpoint = []
        for (node, key), (taint, _, _, _) in sorted(endpoint_rows.items()):
            category, label, source = self._label_cols(node)
            cat = by_category.setdefault(category, {})
            cat[key] = cat.get(key, 0) + taint
            per_endpoint.append(
                {
                    "chain": node[0],
                    "address": node[1],
                    "category": category,
                    "label": label,
                    "label_source": source,
                    "asset": key,
                    "amount": format_units(taint, self.assets[key].decimals),
                }
            )
        unexplored_total = sum(row["unexplored"] for row in self.acc.values())
        complete = unexplored_total == 0 and not state.gaps
        w = cfg.window
        summary: dict[str, Any] = {
            "case": cfg.case_id,
            "policy": str(cfg.policy),
            "strategy": str(cfg.strategy),
            "complete": complete,
            "parameters": {
                "since": w.since_block if w.since_block is not None else (iso(w.since_time) if w.since_time else None),
                "until": w.until_block if w.until_block is not None else (iso(w.until_time) if w.until_time else None),
                "max_hops": cfg.max_hops,
                "min_taint": _fraction_text(cfg.min_taint),
                "material_share": _fraction_text(cfg.material_share),
                "material_floor": _fraction_text(cfg.material_floor),
                "max_addresses": cfg.max_addresses,
            },
            "seeds": [
                {k: v for k, v in (("chain", s.chain), ("address", s.address), ("tx", s.tx), ("role", s.role)) if v}
                for s in cfg.seeds
            ],
            "assets": assets,
            "endpoints_by_category": {
                cat: {k: format_units(v, self.assets[k].decimals) for k, v in sorted(per.items())}
                for cat, per in sorted(by_category.items())
            },
            "endpoints": per_endpoint,
            "swaps": self._swaps(),
            "counts": {
                "addresses_visited": len(state.expanded_order),
                "transfers_read": state.transfers_read,
                "requests": state.requests,
                "addresses_tainted": int(self._n_tainted()),
                "endpoints": len({n for n, _ in endpoint_rows}),
            },
            "gaps": list(state.gaps),
        }
        if self.poison:
            reached: dict[str, int] = {}
            for (_, key), row in endpoint_rows.items():
                reached[key] = reached.get(key, 0) + row[3]
            summary["poison"] = {
                "note": "amounts above are the conserved (proportional) taint; this is the full value "
                "of poisoned transfers that reached endpoints",
                "endpoint_value_reached": {
                    k: format_units(v, self.assets[k].decimals) for k, v in sorted(reached.items())
                },
            }
        return summary

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


def _fraction_text(value: Fraction) -> str:
    """A fraction as a plain decimal (40 significant digits at most)."""
    with localcontext() as ctx:
        ctx.prec = 40
        text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _frame(rows: list[dict[str, Any]], columns: list[str], *, ints: tuple[str, ...]) -> pl.DataFrame:
    schema = {c: (pl.Int64 if c in ints else pl.Utf8) for c in columns}
    if not rows:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(rows, schema=schema)
