"""A finished trace (frames, graph, summary), the bundle writer, and helpers shared by the engines' builders.

Amounts inside are integers in base units; the frames, CSV and JSON carry decimal strings in
the asset's own unit (ETH, not wei), so nothing is lost to floats. Every file is written
from sorted rows, so the same trace gives byte-identical files.
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl

from tracer.bundle.outputs import check_bundle_dir, staging_dir, swap_in
from tracer.bundle.schema import (
    CONTRACT_FILES,
    GRAPH_FILE,
    INT_COLUMNS,
    MANIFEST_FILE,
    RUN_COUNTS,
    RUN_FILE,
    RUN_NOTE,
    SUMMARY_FILE,
    TABLES,
    THIEF_FUNDS_COLUMNS,
    table_file,
)
from tracer.core.cells import csv_safe_frame
from tracer.core.errors import BadInput
from tracer.core.units import iso


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
    thief_funds: dict[str, dict[str, int]] = field(default_factory=dict)  # the same, for thief funds

    @property
    def complete(self) -> bool:
        return bool(self.summary["complete"])

    def write(self, directory: str | Path, *, report: bool = True, extra: dict[str, bytes] | None = None) -> Path:
        """Write the bundle (INTERFACES §4) atomically; then the HTML report when the reporter is installed.

        Every file is written into a staging sibling of `directory`, hashed into the manifest
        (``files``), and the whole directory swapped in at once: a kill or a full disk leaves the
        previous bundle intact, and no file of an earlier run survives beside the new one. Run
        statistics (requests, transfers read: they differ between a fresh and a resumed run) go to
        ``run.json``, outside the byte-identical contract files.
        """
        out = check_bundle_dir(directory)
        staged = staging_dir(out)
        try:
            self._write_files(staged, report=report)
            for name, data in (extra or {}).items():  # e.g. the case file copy: swapped in with the rest
                (staged / name).write_bytes(data)
            swap_in(staged, out)
        except OSError as exc:
            shutil.rmtree(staged, ignore_errors=True)
            reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            kept = "the previous bundle (if any) is kept"
            raise BadInput(f"cannot write the bundle to {out}: {reason}; {kept}") from None
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        return out

    def _write_files(self, out: Path, *, report: bool) -> None:
        summary, run = split_run_statistics(self.summary)
        (out / SUMMARY_FILE).write_text(_json(summary))
        for table, frame in (("addresses", self.addresses), ("flows", self.flows), ("endpoints", self.endpoints)):
            csv_safe_frame(frame).write_csv(out / table_file(table))
        nx.write_graphml(self.graph, out / GRAPH_FILE)
        manifest = {**self.manifest, "files": file_hashes(out, CONTRACT_FILES)}
        (out / MANIFEST_FILE).write_text(_json(manifest))
        (out / RUN_FILE).write_text(_json(run))
        if report:
            from tracer.report import write_report

            write_report(out, fmt="html")


def split_run_statistics(summary: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary without run statistics, run.json document): counts that describe this run, not the answer."""
    counts = dict(summary.get("counts") or {})
    run_counts = {key: counts.pop(key) for key in RUN_COUNTS if key in counts}
    kept = {**summary, "counts": counts} if "counts" in summary else dict(summary)
    return kept, {"note": RUN_NOTE, "counts": run_counts}


def file_hashes(directory: Path, names: Iterable[str]) -> dict[str, str]:
    """sha256 of each named file in `directory` (the manifest's ``files``)."""
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in names}


def _json(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- shared by the engines' builders


def fraction_text(value: Fraction) -> str:
    """A fraction as a plain decimal (40 significant digits at most)."""
    with localcontext() as ctx:
        ctx.prec = 40
        text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def table_row(table: str, *values: Any) -> dict[str, Any]:
    """One row of a bundle table: `values` in the table's column order (:data:`tracer.bundle.schema.TABLES`);
    the thief-funds column may be left out ("0")."""
    columns = TABLES[table]
    if len(values) == len(columns) - 1 and columns[-1] == THIEF_FUNDS_COLUMNS[table]:
        values = (*values, "0")
    return dict(zip(columns, values, strict=True))


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
