"""The local engine: the export read in batches (polars), joined by the union-find of :mod:`heuristics.cluster`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from chains.export.bitcoin import listed_address, scan_raw, script_address
from heuristics.cluster import cluster_links_bulk
from tracer.cluster.columns import columnar, input_keys, may_be_coinjoin_expr, own, star_links, txid_expr
from tracer.cluster.links import link_rows
from tracer.cluster.output import LINK_SCHEMA, Components, timed

Progress = Callable[[str], None]
CHUNK_ROWS = 50_000  # transactions whose new listed addresses are checked together
NO_ROWS = {"row": pl.UInt64, "candidate": pl.Boolean}


def _frame(rows: list[tuple[str, str | None, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=LINK_SCHEMA, orient="row")


class InputAddresses:
    """The address of every input, as :func:`chains.export.bitcoin.part_address` reads it, each distinct
    listed address checked once: its only listed address when that reads as one, else its script's."""

    def __init__(self, chain: str) -> None:
        self.chain = chain
        self.known = pl.DataFrame(schema={"first": pl.String, "listed": pl.String})
        self.found: list[pl.DataFrame] = []  # (row, candidate, address)
        self.scripted: list[pl.DataFrame] = []  # (row, candidate, kind, script): no listed address

    def add(self, keys: pl.DataFrame) -> None:
        """Take inputs (:func:`tracer.cluster.columns.input_keys`, strings owned: they are kept)."""
        new = keys.filter(pl.col("first") != "").select("first").unique().join(self.known, on="first", how="anti")
        listed = pl.Series("listed", [listed_address(self.chain, f) for f in new["first"]], dtype=pl.String)
        self.known = pl.concat([self.known, new.with_columns(listed)])
        got = keys.join(self.known, on="first", how="left")
        self.found.append(got.filter(pl.col("listed").is_not_null()).select("row", "candidate", address="listed"))
        rest = got.filter(pl.col("listed").is_null())
        self.scripted.append(rest.select("row", "candidate", "kind", "script"))

    def addresses(self) -> pl.DataFrame:
        """(row, candidate, address) of every input that has an address."""
        empty = pl.DataFrame(schema={**NO_ROWS, "kind": pl.String, "script": pl.String})
        rest = pl.concat(self.scripted) if self.scripted else empty
        kinds = rest.select("kind", "script").unique()
        kinds = kinds.with_columns(address=pl.Series([script_address(k, s) for k, s in kinds.rows()], dtype=pl.String))
        scripted = rest.join(kinds, on=["kind", "script"], how="left").select("row", "candidate", "address")
        found = pl.concat([*self.found, scripted]) if self.found else scripted
        return found.filter(pl.col("address").is_not_null())


def _read_columns(raw: pl.LazyFrame, progress: Progress, chain: str) -> tuple[pl.DataFrame, pl.Series]:
    """Link rows and input addresses, by columns: only prefilter candidates are read as records."""
    inputs, txids, rows, pending = InputAddresses(chain), [], [], []
    seen = taken = 0
    for batch in raw.collect_batches():
        txids.append(batch.select(row=pl.int_range(seen, seen + batch.height, dtype=pl.UInt64), txid=own(txid_expr())))
        pending.append(input_keys(batch, seen).select("row", "candidate", own("first"), own("kind"), own("script")))
        rows += link_rows(batch.filter(may_be_coinjoin_expr()).iter_rows(named=True), chain, spenders=False)
        seen += batch.height
        if seen - taken >= CHUNK_ROWS:
            inputs.add(pl.concat(pending))
            pending, taken = [], seen
            progress(f"  read {seen:,} transactions, {inputs.known.height:,} distinct listed input addresses")
    if pending:
        inputs.add(pl.concat(pending))
    addressed = inputs.addresses()
    txid = pl.concat(txids) if txids else pl.DataFrame(schema={"row": pl.UInt64, "txid": pl.String})
    stars = star_links(addressed.filter(~pl.col("candidate")), txid).with_columns(coinjoin=pl.lit(None, pl.String))
    progress(f"  read {seen:,} transactions: {addressed.height:,} inputs with an address")
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
