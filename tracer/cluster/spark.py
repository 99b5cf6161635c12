"""The Spark engine: the same per-transaction links, joined by connected components on DataFrames.

Spark reads the export's `transactions` (JSON lines, Parquet or CSV parts) on its executors;
each partition's rows go through :func:`tracer.cluster.links.link_rows` (so
:mod:`heuristics.coinjoin` decides CoinJoins exactly as in the local engine; the executors
need heisttrace installed, `pip install 'heisttrace[spark]'`). Connected components use the
alternating large-star / small-star algorithm (Kiveris et al., "Connected Components in
MapReduce and Beyond", SoCC 2014) as plain DataFrame joins and aggregations, checkpointed each
round; it stops when the edges form stars around each component's smallest address, which is
then the cluster id (the local engine's too). Spark schedules everything; there is no
scheduler of ours.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from chains.export.tables import find_table
from tracer.cluster.links import link_rows
from tracer.cluster.output import Components
from tracer.core.errors import BadInput

READ_COLUMNS = ("hash", "block_number", "is_coinbase", "fee", "lock_time", "version", "inputs", "outputs")
MAX_ROUNDS = 200


def _spark_modules() -> Any:
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession, functions
    except ImportError:
        raise BadInput("--engine spark needs pyspark: pip install 'heisttrace[spark]' (and Java 17+)") from None
    return SparkSession, functions


def java_available() -> bool:
    """True when a `java` runtime is on PATH or under JAVA_HOME (Spark's JVM)."""
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and (Path(home) / "bin" / "java").exists()))


def spark_session(master: str, *, partitions: int = 8, app: str = "heisttrace-cluster") -> Any:
    """A Spark session on `master` (`local[2]`, `spark://host:7077`, `yarn`, ...); workers use this Python."""
    SparkSession, _ = _spark_modules()
    if not java_available():
        raise BadInput(
            "--engine spark needs a Java runtime (17+): apt-get install default-jre-headless, or set JAVA_HOME"
        )
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.default.parallelism", str(partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
    )
    if not master.startswith("local"):
        builder = SparkSession.builder.master(master).appName(app)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _read(spark: Any, export_dir: Path) -> Any:
    files = find_table(export_dir, "transactions")
    if not files:
        raise BadInput(f"{export_dir}: no transactions table (transactions.json, .parquet, .csv or a folder of parts)")
    paths = [str(p) for p in files]
    suffix = files[0].suffix
    if suffix == ".parquet":
        frame = spark.read.parquet(*paths)
    elif suffix == ".csv":
        frame = spark.read.option("header", True).option("escape", '"').option("multiLine", True).csv(paths)
    else:
        frame = spark.read.json(paths)
    present = [c for c in READ_COLUMNS if c in frame.columns]
    return frame.select(*present)


def _links(spark: Any, export_dir: Path) -> Any:
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType

    raw = _read(spark, export_dir)
    if isinstance(raw.schema["inputs"].dataType, ArrayType):
        raw = raw.where("size(inputs) >= 2")

    def partition(rows: Iterator[Any]) -> Iterator[tuple[Any, ...]]:
        return link_rows(row.asDict(recursive=True) for row in rows)

    schema = StructType([StructField(name, StringType(), True) for name in ("txid", "a", "b", "coinjoin")])
    return spark.createDataFrame(raw.rdd.mapPartitions(partition), schema)


def _stable(edges: Any) -> Any:
    return edges.localCheckpoint(eager=True)


def connected_components(edges: Any, F: Any, *, progress: Callable[[str], None] = print) -> Any:
    """(address, cluster_id) of every node of the undirected `edges` (columns a, b), id = smallest address."""
    col, least, greatest = F.col, F.least, F.greatest
    e = _stable(edges.select(least("a", "b").alias("u"), greatest("a", "b").alias("v")).where("u != v").distinct())
    for rounds in range(1, MAX_ROUNDS + 1):
        # large-star: every node links its larger neighbours to the smallest of its neighbourhood (itself included)
        sym = e.select(col("u").alias("x"), col("v").alias("y")).union(
            e.select(col("v").alias("x"), col("u").alias("y"))
        )
        low = sym.groupBy("x").agg(F.min("y").alias("m")).select("x", least("x", "m").alias("m"))
        large = sym.where(col("y") > col("x")).join(low, "x").select(col("m").alias("u"), col("y").alias("v"))
        large = _stable(large.distinct())
        # small-star: every node and its smaller neighbours link to the smallest of them
        top = large.groupBy("v").agg(F.min("u").alias("m"))
        small = (
            large.join(top, "v")
            .where(col("u") != col("m"))
            .select(col("m").alias("u"), col("u").alias("v"))
            .union(top.select(col("m").alias("u"), col("v")))
        )
        e = _stable(small.select(least("u", "v").alias("u"), greatest("u", "v").alias("v")).distinct())
        two_parents = e.groupBy("v").agg(F.countDistinct("u").alias("n")).where("n > 1").limit(1).count()
        middle = e.select(col("v").alias("x")).join(e.select(col("u").alias("x")), "x").limit(1).count()
        progress(f"  connected components: round {rounds}")
        if two_parents == 0 and middle == 0:  # stars around each component's smallest node: done
            roots = e.select(col("u").alias("address"), col("u").alias("cluster_id")).distinct()
            return e.select(col("v").alias("address"), col("u").alias("cluster_id")).union(roots)
    raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")


def spark_components(
    export_dir: Path,
    *,
    master: str = "local[2]",
    spark: Any = None,
    work_dir: Path,
    partitions: int = 8,
    progress: Callable[[str], None] = print,
) -> Components:
    """Clusters of the export's input addresses, computed by Spark (`spark`: an open session to reuse)."""
    SparkSession, F = _spark_modules()
    spark = spark or SparkSession.getActiveSession()
    own = spark is None
    if own:
        spark = spark_session(master, partitions=partitions)
    try:
        rows = _links(spark, export_dir).localCheckpoint(eager=True)
        links = rows.where("a is not null").select("txid", "a", "b")
        coinjoins = rows.where("coinjoin is not null").select("txid", F.col("coinjoin").alias("pattern")).distinct()
        members = connected_components(links, F, progress=progress)
        staging = work_dir / "spark-staging"
        shutil.rmtree(staging, ignore_errors=True)
        for name, frame in (("links", links), ("coinjoins", coinjoins), ("members", members)):
            frame.write.mode("overwrite").parquet(str(staging / name))
        result = Components(
            links=_read_back(staging / "links", {"txid": pl.String, "a": pl.String, "b": pl.String}),
            coinjoins=_read_back(staging / "coinjoins", {"txid": pl.String, "pattern": pl.String}),
            members=_read_back(staging / "members", {"address": pl.String, "cluster_id": pl.String}),
        )
        shutil.rmtree(staging, ignore_errors=True)
        return result
    finally:
        if own:
            spark.stop()


def _read_back(folder: Path, schema: dict[str, Any]) -> pl.DataFrame:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return pl.DataFrame(schema=schema)
    return pl.read_parquet(files).select(list(schema)).cast(schema)  # type: ignore[arg-type]
