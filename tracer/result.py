"""A finished trace: polars frames, a networkx graph, the summary, and the bundle writer.

Amounts inside are integers in base units; the frames, CSV and JSON carry decimal strings in
the asset's own unit (ETH, not wei), so nothing is lost to floats. Every file is written
from sorted rows, so the same trace gives byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl

from tracer import __version__
from tracer.bundle_schema import (
    GRAPH_FILE,
    INT_COLUMNS,
    MANIFEST_FILE,
    SUMMARY_FILE,
    TABLES,
    table_file,
)
from tracer.engine import TraceState
from tracer.frontier import Node
from tracer.models import Asset, Label, Policy, Role
from tracer.taint import asset_key

BUCKETS = ("stolen", "swapped_in", "swapped_out", "endpoints", "unmoved", "fees", "below_threshold", "unexplored")


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
        (out / SUMMARY_FILE).write_text(_json(self.summary))
        self.addresses.write_csv(out / table_file("addresses"))
        self.flows.write_csv(out / table_file("flows"))
        self.endpoints.write_csv(out / table_file("endpoints"))
        nx.write_graphml(self.graph, out / GRAPH_FILE)
        (out / MANIFEST_FILE).write_text(_json(self.manifest))
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
        self.attributed: dict[str, int] = {}  # the part of `stolen` gained at attributed addresses

    def _add(self, key: str, bucket: str, amount: int) -> None:
        if amount:
            row = self.acc.setdefault(key, dict.fromkeys(BUCKETS, 0))
            row[bucket] += amount

    def _conduit_row(self, rows: dict[tuple[Node, str], list], node: Node, key: str, amount: int) -> None:
        """The endpoint row of what a conduit endpoint kept: first tainted inflow of that asset."""
        if not amount:
            return
        first = min(
            (
                (tr.timestamp, tr.tx_hash)
                for taint, _, tr in self.state.inflows.get(node, {}).values()
                if taint and asset_key(tr.asset) == key
            ),
            default=(self.state.outcomes[node].first_tainted.get(key, 0), ""),  # kept after a swap inside
        )
        rows[(node, key)] = [amount, first[0], first[1], 0]

    def _shows(self, taint: int, poisoned: bool) -> bool:
        return taint > 0 or (self.poison and poisoned)

    def build(self, manifest: dict[str, Any]) -> TraceResult:
        state = self.state
        endpoint_rows: dict[tuple[Node, str], list] = {}
        for node, outcome in state.outcomes.items():
            self.assets.update(outcome.assets)
            for bucket in ("stolen", "swapped_in", "swapped_out", "fees", "unmoved"):
                for key, amount in getattr(outcome, bucket).items():
                    if bucket == "unmoved" and node in state.endpoints:  # what a conduit endpoint kept
                        self._add(key, "endpoints", amount)
                        self._conduit_row(endpoint_rows, node, key, amount)
                    else:
                        self._add(key, bucket, amount)
            for key, amount in outcome.attributed.items():
                self.attributed[key] = self.attributed.get(key, 0) + amount
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
        summary = self._summary(endpoint_rows, endpoints)
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
                )
            )
        return make_frame(rows, "flows")

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
            )
            for (node, key), (taint, first, tx, _) in sorted(endpoint_rows.items())
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
        for key in sorted(self.acc):
            asset = self.assets[key]
            row = self.acc[key]
            assets[key] = {"symbol": asset.symbol, **{b: format_units(row[b], asset.decimals) for b in BUCKETS}}
            if self.attributed.get(key):
                assets[key]["attributed"] = format_units(self.attributed[key], asset.decimals)
        by_category: dict[str, dict[str, int]] = {}
        for (node, key), (taint, _, _, _) in sorted(endpoint_rows.items()):
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


# --------------------------------------------------------------------------- shared by the engines' builders


def fraction_text(value: Fraction) -> str:
    """A fraction as a plain decimal (40 significant digits at most)."""
    with localcontext() as ctx:
        ctx.prec = 40
        text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def table_row(table: str, *values: Any) -> dict[str, Any]:
    """One row of a bundle table: `values` in the table's column order (:data:`tracer.bundle_schema.TABLES`)."""
    return dict(zip(TABLES[table], values, strict=True))


def make_frame(rows: list[dict[str, Any]], table: str) -> pl.DataFrame:
    """The rows of a bundle table as a frame with the schema's dtypes (integers or text), empty or not."""
    ints = INT_COLUMNS[table]
    schema = {c: (pl.Int64 if c in ints else pl.Utf8) for c in TABLES[table]}
    if not rows:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(rows, schema=schema)


def summary_endpoints(endpoint_rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """`summary["endpoints"]`: each endpoints.csv row without its time and tx, its tainted amount as `amount`."""
    keep = ("chain", "address", "category", "label", "label_source", "asset")
    return [{**{k: row[k] for k in keep}, "amount": row["tainted_amount"]} for row in endpoint_rows]


def trace_parameters(cfg: Any, *, material: bool = True) -> dict[str, Any]:
    """`summary["parameters"]` of a trace config (the materiality knobs only where the engine uses them)."""
    w = cfg.window
    params: dict[str, Any] = {
        "since": w.since_block if w.since_block is not None else (iso(w.since_time) if w.since_time else None),
        "until": w.until_block if w.until_block is not None else (iso(w.until_time) if w.until_time else None),
        "max_hops": cfg.max_hops,
        "min_taint": fraction_text(cfg.min_taint),
    }
    if material:
        params["material_share"] = fraction_text(cfg.material_share)
        params["material_floor"] = fraction_text(cfg.material_floor)
        params["attribution"] = "first-funder" if cfg.attribution else "off"
    params["max_addresses"] = cfg.max_addresses
    return params


def seed_entries(seeds: Iterable[Any]) -> list[dict[str, Any]]:
    """`summary["seeds"]`: each seed's non-empty fields among chain, address, tx and role."""
    return [
        {k: v for k, v in (("chain", s.chain), ("address", s.address), ("tx", s.tx), ("role", s.role)) if v}
        for s in seeds
    ]


def poison_note(moved: str, reached: dict[str, str]) -> dict[str, Any]:
    """`summary["poison"]`: the full value of the poisoned `moved` (transfers, outputs) that reached endpoints."""
    return {
        "note": "amounts above are the conserved (proportional) taint; this is the full value "
        f"of poisoned {moved} that reached endpoints",
        "endpoint_value_reached": reached,
    }


def build_trace_graph(
    flows: pl.DataFrame, addresses: pl.DataFrame, describe: Callable[[str, str, int], tuple[str, str, int]]
) -> nx.MultiDiGraph:
    """graph.graphml: a node per address row (the first row wins), an edge per flow.

    A flow end with no address row becomes a `source`/`sink` node; `describe(chain, address, flow_hop)`
    gives its category, label and hop.
    """
    graph = nx.MultiDiGraph()

    def add_node(chain: str, address: str, role: str, category: str, label: str, hop: int) -> None:
        node_id = f"{chain}:{address}"
        if node_id not in graph:
            graph.add_node(node_id, chain=chain, address=address, role=role, category=category, label=label, hop=hop)

    for row in addresses.iter_rows(named=True):
        add_node(row["chain"], row["address"], row["role"], row["category"], row["label"], row["hop"])
    for row in flows.iter_rows(named=True):
        for end in ("from", "to"):
            if f"{row['chain']}:{row[end]}" not in graph:
                category, label, hop = describe(row["chain"], row[end], row["hop"])
                add_node(row["chain"], row[end], "source" if end == "from" else "sink", category, label, hop)
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
