"""The files of `heisttrace cluster`, written the same from either engine's components.

- `clusters.parquet`: `address, cluster_id` for every address that spends in the export (an input
  address), sorted by address; a cluster's id is its smallest address, so it is the same whatever
  engine or order found it. An address that only ever spends alone (or only in CoinJoins) is a
  cluster of one, its own id. Addresses that only receive are absent: nothing links them.
- `cluster_stats.parquet`: per cluster `cluster_id, addresses, txs` (linking transactions),
  `service_sized` (at least `service_size` addresses: an exchange or custodian, whose merges an
  investigator checks before trusting them), `label_category, label_name, label_address` (the
  service label its members inherit), `label_conflict` (its members carry labels of two services:
  nothing is passed on).
- `cluster_labels.csv`: the inherited labels, one per member address that had none, in the
  label-file format `heisttrace labels import` reads (source `heisttrace-cluster`).
- `coinjoins.parquet`: `txid, pattern` of the multi-input transactions left out as CoinJoins.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from tracer.core.models import Category, Label
from tracer.labels.files import export_csv

LINK_SCHEMA = {"txid": pl.String, "a": pl.String, "b": pl.String, "coinjoin": pl.String}
DEFAULT_SERVICE_SIZE = 10_000
SOURCE = "heisttrace-cluster"
#: Categories whose label a co-spending cluster inherits (a deposit address's cluster is the exchange's wallet).
PASSED_ON = {
    Category.EXCHANGE: Category.EXCHANGE,
    Category.EXCHANGE_DEPOSIT: Category.EXCHANGE,
    Category.INSTANT_EXCHANGER: Category.INSTANT_EXCHANGER,
    Category.OTC: Category.OTC,
    Category.MIXER: Category.MIXER,
    Category.BRIDGE: Category.BRIDGE,
    Category.GAMBLING: Category.GAMBLING,
    Category.OTHER_SERVICE: Category.OTHER_SERVICE,
}


@dataclass
class Components:
    """What an engine found: the links (txid, a, b), the CoinJoins left out, and address -> cluster_id."""

    links: pl.DataFrame
    coinjoins: pl.DataFrame
    members: pl.DataFrame


def timed(progress: Callable[[str], None]) -> Callable[[str], None]:
    """`progress` with the seconds since this call appended to each line."""
    started = time.perf_counter()
    return lambda line: progress(f"{line} [{time.perf_counter() - started:.1f} s]")


def label_frame(labels: list[Label]) -> pl.DataFrame:
    rows = [
        {"address": lab.address, "category": PASSED_ON[lab.category].value, "name": lab.name, "source": lab.source}
        for lab in labels
        if lab.category in PASSED_ON
    ]
    schema = {"address": pl.String, "category": pl.String, "name": pl.String, "source": pl.String}
    return pl.DataFrame(rows, schema=schema).unique("address", keep="first").sort("address")


def cluster_stats(parts: Components, labelled: pl.DataFrame, service_size: int) -> pl.DataFrame:
    members = parts.members
    sizes = members.group_by("cluster_id").agg(addresses=pl.len().cast(pl.Int64))
    txs = (
        parts.links.join(members, left_on="a", right_on="address")
        .group_by("cluster_id")
        .agg(txs=pl.col("txid").n_unique().cast(pl.Int64))
    )
    found = members.join(labelled, on="address").sort("address")
    per = found.group_by("cluster_id").agg(
        services=pl.struct("category", "name").n_unique(),
        label_category=pl.col("category").first(),
        label_name=pl.col("name").first(),
        label_address=pl.col("address").first(),
    )
    stats = sizes.join(txs, on="cluster_id", how="left").join(per, on="cluster_id", how="left")
    conflict = pl.col("services").fill_null(0) > 1
    return stats.select(
        "cluster_id",
        "addresses",
        pl.col("txs").fill_null(0),
        service_sized=pl.col("addresses") >= service_size,
        label_category=pl.when(conflict).then(None).otherwise(pl.col("label_category")),
        label_name=pl.when(conflict).then(None).otherwise(pl.col("label_name")),
        label_address=pl.when(conflict).then(None).otherwise(pl.col("label_address")),
        label_conflict=conflict,
    ).sort(["addresses", "cluster_id"], descending=[True, False])


def inherited_labels(parts: Components, stats: pl.DataFrame, labelled: pl.DataFrame, chain: str) -> list[Label]:
    passing = stats.filter(pl.col("label_category").is_not_null()).select(
        "cluster_id", "label_category", "label_name", "label_address", "addresses"
    )
    heirs = (
        parts.members.join(passing, on="cluster_id")
        .join(labelled.select("address"), on="address", how="anti")
        .sort("address")
    )
    return [
        Label(
            chain=chain,
            address=row["address"],
            category=Category(row["label_category"]),
            name=row["label_name"],
            source=SOURCE,
            source_ref=f"cluster {row['cluster_id']} ({row['addresses']} addresses)",
            source_words=f"spent together with {row['label_address']} (multi-input heuristic, CoinJoins excluded)",
            confidence=0.8,
        )
        for row in heirs.iter_rows(named=True)
    ]


def write_outputs(
    parts: Components, out: Path, *, labels: list[Label], service_size: int, chain: str = "bitcoin", **meta: Any
) -> dict[str, Any]:
    """Write the files above into `out`; returns the summary also written as `cluster_summary.json`."""
    out.mkdir(parents=True, exist_ok=True)
    labelled = label_frame(labels)
    members = parts.members.sort("address")
    stats = cluster_stats(parts, labelled, service_size)
    heirs = inherited_labels(parts, stats, labelled, chain)
    members.write_parquet(out / "clusters.parquet")
    stats.write_parquet(out / "cluster_stats.parquet")
    parts.coinjoins.sort("txid").write_parquet(out / "coinjoins.parquet")
    (out / "cluster_labels.csv").write_text(export_csv(heirs), encoding="utf-8")
    summary = {
        "chain": chain,
        "addresses": members.height,
        "clusters": stats.height,
        "single_address_clusters": int((stats["addresses"] == 1).sum()),
        "links": parts.links.height,
        "coinjoins_excluded": parts.coinjoins.height,
        "service_size": service_size,
        "service_sized_clusters": int(stats["service_sized"].sum()),
        "largest_cluster": int(stats["addresses"].max() or 0) if stats.height else 0,
        "labels_passed_on": len(heirs),
        "label_conflicts": int(stats["label_conflict"].sum()),
        **meta,
    }
    (out / "cluster_summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return summary
