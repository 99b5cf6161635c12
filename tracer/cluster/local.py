"""The local engine: links read in batches (polars), joined by the union-find of :mod:`heuristics.cluster`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from chains.export.bitcoin import multi_input, scan_raw
from heuristics.cluster import cluster_links_bulk
from tracer.cluster.links import link_rows
from tracer.cluster.output import LINK_SCHEMA, Components


def read_links(export_dir: Path, progress: Callable[[str], None]) -> pl.DataFrame:
    """Every (txid, a, b, coinjoin) row of the export's multi-input transactions."""
    frames = []
    seen = 0
    for batch in multi_input(scan_raw(export_dir)).collect_batches():
        rows = list(link_rows(batch.iter_rows(named=True)))
        seen += batch.height
        if rows:
            frames.append(pl.DataFrame(rows, schema=LINK_SCHEMA, orient="row"))
        progress(f"  read {seen:,} multi-input transactions")
    return pl.concat(frames) if frames else pl.DataFrame(schema=LINK_SCHEMA)


def local_components(export_dir: Path, *, progress: Callable[[str], None] = print) -> Components:
    """Clusters of the export's input addresses, on this machine."""
    rows = read_links(export_dir, progress)
    links = rows.filter(pl.col("a").is_not_null()).select("txid", "a", "b")
    coinjoins = rows.filter(pl.col("coinjoin").is_not_null()).select("txid", pattern="coinjoin").unique().sort("txid")
    nodes = pl.concat([links["a"], links["b"]]).unique().sort().rename("address")
    ids = pl.DataFrame({"address": nodes, "id": pl.int_range(0, nodes.len(), dtype=pl.UInt32, eager=True)})
    a = links.join(ids, left_on="a", right_on="address", how="left", maintain_order="left")["id"]
    b = links.join(ids, left_on="b", right_on="address", how="left", maintain_order="left")["id"]
    label = cluster_links_bulk(a, b, nodes.len())  # each id's smallest id in its cluster = its smallest address
    members = pl.DataFrame({"address": nodes, "cluster_id": nodes.gather(label)})
    return Components(links=links, coinjoins=coinjoins, members=members)
