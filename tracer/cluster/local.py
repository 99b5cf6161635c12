"""The local engine: the export read in batches (polars), joined by the union-find of :mod:`heuristics.cluster`."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import polars as pl

from chains.export.bitcoin import scan_raw
from heuristics.cluster import cluster_links_bulk
from tracer.cluster.columns import KEY, columnar, input_keys, may_be_coinjoin_expr, star_links
from tracer.cluster.links import key_address, link_rows
from tracer.cluster.output import LINK_SCHEMA, Components, timed

Progress = Callable[[str], None]
PARALLEL_KEYS = 200_000  # fewer distinct input scripts are read in this process
CHUNK = 50_000


def _chunk_addresses(chain: str, keys: list[tuple[str, str, str]]) -> list[str | None]:
    return [key_address(chain, *key) for key in keys]


def key_addresses(chain: str, keys: list[tuple[str, str, str]], *, workers: int | None = None) -> list[str | None]:
    """:func:`key_address` of each key, in order; many keys are shared out over `workers` processes
    (default: the cores this process may use), as address checksums are pure-Python work."""
    workers = workers or len(os.sched_getaffinity(0))
    if workers < 2 or len(keys) < PARALLEL_KEYS:
        return _chunk_addresses(chain, keys)
    chunks = [keys[i : i + CHUNK] for i in range(0, len(keys), CHUNK)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return [a for part in pool.map(_chunk_addresses, [chain] * len(chunks), chunks) for a in part]


def _frame(rows: list[tuple[str, str | None, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=LINK_SCHEMA, orient="row")


def _read_columns(raw: pl.LazyFrame, progress: Progress, chain: str) -> tuple[pl.DataFrame, pl.Series]:
    """Link rows and input addresses, by columns: only prefilter candidates are read as records."""
    keys, rows = [], []
    seen = 0
    for batch in raw.collect_batches():
        keys.append(input_keys(batch))
        candidates = batch.filter(may_be_coinjoin_expr())
        rows += link_rows(candidates.iter_rows(named=True), chain, spenders=False)
        seen += batch.height
        progress(f"  read {seen:,} transactions ({len(rows):,} rows from CoinJoin candidates)")
    empty = pl.DataFrame(schema={"txid": pl.String, "candidate": pl.Boolean, **dict.fromkeys(KEY, pl.String)})
    inputs = pl.concat(keys) if keys else empty
    unique = inputs.select(KEY).unique()
    progress(f"  reading {unique.height:,} distinct input scripts")
    found = pl.Series("address", key_addresses(chain, unique.rows()), dtype=pl.String)
    addressed = (
        inputs.join(unique.with_columns(found), on=list(KEY), how="left")
        .filter(pl.col("address").is_not_null())
        .select("txid", "candidate", "address")
    )
    stars = star_links(addressed.filter(~pl.col("candidate"))).with_columns(coinjoin=pl.lit(None, pl.String))
    return pl.concat([stars, _frame(rows)]), addressed["address"]


def _read_rows(raw: pl.LazyFrame, progress: Progress, chain: str) -> tuple[pl.DataFrame, pl.Series]:
    """Link rows and input addresses, every transaction read as a record (exports with JSON-text columns)."""
    frames = []
    seen = 0
    for batch in raw.collect_batches():
        frames.append(_frame(list(link_rows(batch.iter_rows(named=True), chain))))
        seen += batch.height
        progress(f"  read {seen:,} transactions")
    rows = pl.concat(frames) if frames else pl.DataFrame(schema=LINK_SCHEMA)
    spent = rows.filter(pl.col("b").is_null() & pl.col("coinjoin").is_null())["a"]
    return rows.filter(pl.col("b").is_not_null() | pl.col("coinjoin").is_not_null()), spent


def local_components(export_dir: Path, *, progress: Progress = print, chain: str = "bitcoin") -> Components:
    """Clusters of the export's input addresses, on this machine."""
    progress = timed(progress)
    raw = scan_raw(export_dir)
    read = _read_columns if columnar(raw.collect_schema()) else _read_rows
    rows, spent = read(raw, progress, chain)
    links = rows.filter(pl.col("a").is_not_null()).select("txid", "a", "b").unique()
    coinjoins = rows.filter(pl.col("coinjoin").is_not_null()).select("txid", pattern="coinjoin").unique().sort("txid")
    nodes = pl.concat([spent, links["a"], links["b"]]).unique().sort().rename("address")
    ids = pl.DataFrame({"address": nodes, "id": pl.int_range(0, nodes.len(), dtype=pl.UInt32, eager=True)})
    a = links.join(ids, left_on="a", right_on="address", how="left", maintain_order="left")["id"]
    b = links.join(ids, left_on="b", right_on="address", how="left", maintain_order="left")["id"]
    progress(f"  joining {links.height:,} links over {nodes.len():,} addresses")
    label = cluster_links_bulk(a, b, nodes.len())  # each id's smallest id in its cluster = its smallest address
    members = pl.DataFrame({"address": nodes, "cluster_id": nodes.gather(label)})
    progress("  clusters found")
    return Components(links=links, coinjoins=coinjoins, members=members)
