"""Graph and table exports of a bundle: GraphML, GEXF, DOT, CSV, Parquet, JSON.

The graph has one node per traced address (id `chain:address`) and one edge per tainted flow
(key `tx_hash:position`); flows to the fee sink are left out of the graph (they stay in
flows.csv). Amounts stay exact decimal strings in the asset's unit; `taint_share` (a float, for
sizing in Gephi) is the address's taint in as a share of each asset's total, summed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl

from tracer.core.cells import csv_safe_frame
from tracer.core.errors import BadInput
from tracer.report import file_in_the_way, missing_directory
from tracer.report.analysis import AddressView, swap_flow_keys, taint_share
from tracer.report.bundle import Bundle
from tracer.report.casefile import CaseFile, analyse_bundle
from tracer.report.fmt import exact

GRAPH_FORMATS = ("graphml", "gexf", "dot", "json")
TABLE_FORMATS = ("csv", "parquet")
FORMATS = GRAPH_FORMATS + TABLE_FORMATS
NODE_COLUMNS = (
    "id",
    "chain",
    "address",
    "role",
    "category",
    "label",
    "label_source",
    "hop",
    "first_tainted_at",
    "tainted_in",
    "tainted_out",
    "taint_share",
    "swaps",
)
EDGE_COLUMNS = (
    "source",
    "target",
    "key",
    "chain",
    "tx_hash",
    "position",
    "block",
    "timestamp",
    "asset",
    "asset_id",
    "asset_key",
    "amount",
    "tainted_amount",
    "hop",
    "swap",
)


def _amount_list(bundle: Bundle, amounts: dict) -> str:
    return "; ".join(f"{exact(v)} {bundle.symbol(a)}" for a, v in sorted(amounts.items()))


def node_record(case: CaseFile, view: AddressView) -> dict[str, Any]:
    return {
        "id": view.id,
        "chain": view.chain,
        "address": view.address,
        "role": view.role,
        "category": view.category,
        "label": view.label,
        "label_source": view.label_source,
        "hop": -1 if view.hop is None else view.hop,
        "first_tainted_at": view.first_tainted_at,
        "tainted_in": _amount_list(case.bundle, view.tainted_in),
        "tainted_out": _amount_list(case.bundle, view.tainted_out),
        "taint_share": float(taint_share(view, case.bundle)),
        "swaps": len(view.swaps),
    }


def edge_records(case: CaseFile) -> list[dict[str, Any]]:
    legs = swap_flow_keys(case.swaps, case.bundle.flows)
    records = []
    for flow in case.bundle.flows:
        if flow.is_fee:
            continue
        records.append(
            {
                "source": f"{flow.chain}:{flow.sender}",
                "target": f"{flow.chain}:{flow.receiver}",
                "key": f"{flow.tx_hash}:{flow.position}",
                "chain": flow.chain,
                "tx_hash": flow.tx_hash,
                "position": flow.position,
                "block": flow.block,
                "timestamp": flow.timestamp,
                "asset": case.bundle.symbol(flow.asset),
                "asset_id": flow.asset.split(":", 1)[1],
                "asset_key": flow.asset,
                "amount": exact(flow.amount),
                "tainted_amount": exact(flow.tainted_amount),
                "hop": -1 if flow.hop is None else flow.hop,
                "swap": (flow.chain, flow.tx_hash, flow.position) in legs,
            }
        )
    records.sort(key=lambda r: (r["chain"], r["block"], r["tx_hash"], r["position"], r["source"], r["target"]))
    return records


def build_graph(case: CaseFile) -> nx.MultiDiGraph:
    """The traced flow graph with the node and edge attributes of INTERFACES §4."""
    graph = nx.MultiDiGraph(case=case.bundle.case, policy=case.bundle.policy)
    for key in sorted(case.views):
        record = node_record(case, case.views[key])
        graph.add_node(record.pop("id"), **record)
    for record in edge_records(case):
        record = dict(record)
        graph.add_edge(record.pop("source"), record.pop("target"), key=record.pop("key"), **record)
    return graph


def nodes_frame(case: CaseFile) -> pl.DataFrame:
    rows = [node_record(case, case.views[key]) for key in sorted(case.views)]
    return pl.DataFrame(rows, schema={c: _node_type(c) for c in NODE_COLUMNS}, orient="row")


def edges_frame(case: CaseFile) -> pl.DataFrame:
    schema = {
        c: pl.Int64 if c in ("position", "block", "hop") else pl.Boolean if c == "swap" else pl.String
        for c in EDGE_COLUMNS
    }
    return pl.DataFrame(edge_records(case), schema=schema, orient="row")


def _node_type(column: str) -> Any:
    return {"hop": pl.Int64, "taint_share": pl.Float64, "swaps": pl.Int64}.get(column, pl.String)


def tables(case: CaseFile) -> dict[str, pl.DataFrame]:
    """nodes, edges and the bundle's three tables (integers typed, amounts exact strings)."""
    typed = {}
    for name, frame in case.bundle.frames.items():
        ints = [c for c in ("hop", "position", "block") if c in frame.columns]
        typed[name] = frame.with_columns(
            pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).cast(pl.Int64).alias(c) for c in ints
        )
    return {"nodes": nodes_frame(case), "edges": edges_frame(case), **typed}


# --------------------------------------------------------------------------- writers


def write_graphml(case: CaseFile, out: Path) -> Path:
    nx.write_graphml(build_graph(case), out)
    return out


def write_gexf(case: CaseFile, out: Path) -> Path:
    """GEXF for Gephi; each edge's GEXF id is `chain:tx_hash:position` (unique in the file)."""
    graph = build_graph(case)
    for _, _, key, data in graph.edges(keys=True, data=True):
        data["id"] = f"{data['chain']}:{key}"
    nx.write_gexf(graph, out)
    return out


def _dot_quote(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")
    return f'"{text}"'


_DOT_SHAPES = {"seed": "doubleoctagon", "endpoint": "box", "transit": "ellipse"}
_DOT_COLORS = {"seed": "#d62728", "endpoint": "#2ca02c", "transit": "#7f7f7f"}


def write_dot(case: CaseFile, out: Path) -> Path:
    """Graphviz DOT, left to right, seeds red, endpoints green boxes, swap legs dashed orange."""
    graph = build_graph(case)
    lines = ["digraph heisttrace {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    lines.append(f"  label={_dot_quote(f'case {case.bundle.case} · policy {case.bundle.policy}')};")
    for node, data in graph.nodes(data=True):
        name = data["label"] or (data["address"][:10] + "…")
        label = f"{name}\n{data['category']}" if data["category"] else name
        shape, colour = _DOT_SHAPES.get(data["role"], "ellipse"), _DOT_COLORS.get(data["role"], "black")
        attrs = {k: v for k, v in data.items() if k != "label"}
        fields = ", ".join(f"{k}={_dot_quote(v)}" for k, v in sorted(attrs.items()))
        lines.append(
            f"  {_dot_quote(node)} [label={_dot_quote(label)}, shape={shape}, color={_dot_quote(colour)}, "
            f"tooltip={_dot_quote(data['label'] or data['address'])}, {fields}];"
        )
    for source, target, key, data in graph.edges(keys=True, data=True):
        style = ', style=dashed, color="#ff7f0e"' if data["swap"] else ""
        fields = ", ".join(f"{k}={_dot_quote(v)}" for k, v in sorted(data.items()))
        label = f"{data['tainted_amount']} {data['asset']}"
        lines.append(
            f"  {_dot_quote(source)} -> {_dot_quote(target)} [key={_dot_quote(key)}, "
            f"label={_dot_quote(label)}{style}, {fields}];"
        )
    lines.append("}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def write_json(case: CaseFile, out: Path) -> Path:
    """Node-link graph plus the summary, in one JSON document (sorted keys, stable)."""
    document = {
        "case": case.bundle.case,
        "policy": case.bundle.policy,
        "summary": case.bundle.summary,
        "nodes": [node_record(case, case.views[key]) for key in sorted(case.views)],
        "edges": edge_records(case),
        "endpoints": case.bundle.frames["endpoints"].to_dicts(),
    }
    out.write_text(json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def write_tables(case: CaseFile, out: Path, *, fmt: str) -> Path:
    """nodes, edges, addresses, flows, endpoints as CSV or Parquet files in directory `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables(case).items():
        if fmt == "csv":
            csv_safe_frame(frame).write_csv(out / f"{name}.csv")
        else:
            frame.write_parquet(out / f"{name}.parquet")
    return out


_WRITERS: dict[str, Callable[[CaseFile, Path], Path]] = {
    "graphml": write_graphml,
    "gexf": write_gexf,
    "dot": write_dot,
    "json": write_json,
    "csv": lambda case, out: write_tables(case, out, fmt="csv"),
    "parquet": lambda case, out: write_tables(case, out, fmt="parquet"),
}


def default_export_path(bundle_dir: Path, fmt: str) -> Path:
    """export.<fmt> for graph formats (never the bundle's own graph.graphml), a directory export-<fmt>/ for tables."""
    return bundle_dir / (f"export-{fmt}" if fmt in TABLE_FORMATS else f"export.{'gv' if fmt == 'dot' else fmt}")


def export_bundle(bundle: Bundle, fmt: str, *, out: Path | None = None, case: CaseFile | None = None) -> Path:
    """Write `bundle` in format `fmt` to `out` (a file, or a directory for csv/parquet); return the path."""
    if fmt not in _WRITERS:
        raise BadInput(f"unknown export format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    target = out or default_export_path(bundle.path, fmt)
    if fmt in GRAPH_FORMATS and target.is_dir():
        raise BadInput(f"{target} is a directory; give a file name for the {fmt} export")
    if fmt in TABLE_FORMATS and target.exists() and not target.is_dir():
        raise BadInput(f"{target} is a file; the {fmt} export writes a directory of tables")
    if fmt in GRAPH_FORMATS and not target.parent.is_dir():
        raise BadInput(f"cannot write {target}: {missing_directory(target.parent)}")
    if fmt in TABLE_FORMATS and file_in_the_way(target.parent):
        raise BadInput(f"cannot write {target}: {file_in_the_way(target.parent)} is a file, not a directory")
    return _WRITERS[fmt](case or analyse_bundle(bundle), target)
