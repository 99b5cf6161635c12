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

from chains.export.bitcoin import listed_address, script_address
from chains.export.tables import find_table
from heuristics.coinjoin import PREFILTER_MIN_INPUTS, PREFILTER_MIN_OUTPUTS
from tracer.cluster.columns import TXID_SPACE
from tracer.cluster.links import link_rows
from tracer.cluster.output import Components, timed
from tracer.core.errors import BadInput

READ_COLUMNS = ("hash", "block_number", "is_coinbase", "fee", "lock_time", "version", "inputs", "outputs")
MAX_ROUNDS = 200
SCHEMA_ROWS = 10_000  # as polars' scan_ndjson(infer_schema_length=10_000) in chains.export.tables


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
    """A Spark session on `master` (`local[2]`, `spark://host:7077`, `yarn`, ...); workers use this Python.

    On a `local` master the executors live in the driver's JVM, whose heap is then
    `$HEISTTRACE_SPARK_MEMORY` (default 4g; Spark's own default of 1g spills a 10 M-link run).
    """
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
        .config("spark.driver.memory", os.environ.get("HEISTTRACE_SPARK_MEMORY", "4g"))
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
        frame = spark.read.schema(_json_schema(spark, files[0])).option("mode", "FAILFAST").json(paths)
    present = [c for c in READ_COLUMNS if c in frame.columns]
    return frame.select(*present)


def _columnar(schema: Any) -> bool:
    """True when the columns below apply (the twin of :func:`tracer.cluster.columns.columnar`)."""
    from pyspark.sql.types import ArrayType, IntegralType, StringType, StructType

    def struct_fields(name: str) -> dict[str, Any]:
        if name not in schema.names:
            return {}
        dtype = schema[name].dataType
        if not (isinstance(dtype, ArrayType) and isinstance(dtype.elementType, StructType)):
            return {}
        return {f.name: f.dataType for f in dtype.elementType.fields}

    ins, outs = struct_fields("inputs"), struct_fields("outputs")
    listed = ins.get("addresses")
    return (
        isinstance(listed, ArrayType)
        and isinstance(listed.elementType, StringType)
        and all(isinstance(ins.get(n, StringType()), StringType) for n in ("type", "script_hex"))
        and isinstance(outs.get("value"), IntegralType)
    )


def _prefilter(F: Any) -> Any:
    """:func:`heuristics.coinjoin.may_be_coinjoin` on the raw columns (the twin of `may_be_coinjoin_expr`)."""
    positive = "filter(transform(outputs, o -> o.value), v -> v > 0)"
    test = (
        f"size(inputs) >= {PREFILTER_MIN_INPUTS} AND size({positive}) >= {PREFILTER_MIN_OUTPUTS}"
        f" AND size(array_distinct({positive})) < size({positive})"
    )
    return F.coalesce(F.expr(test), F.lit(False))


def _txid(F: Any) -> Any:
    space = "[" + "".join(f"\\x{ord(c):02x}" for c in TXID_SPACE) + "]+"
    return F.lower(F.regexp_replace(F.col("hash").cast("string"), f"^{space}|{space}$", ""))


def _row_links(spark: Any, raw: Any, chain: str, *, spenders: bool) -> Any:
    from pyspark.sql.types import StringType, StructField, StructType

    def partition(rows: Iterator[Any]) -> Iterator[tuple[Any, ...]]:
        return link_rows((row.asDict(recursive=True) for row in rows), chain, spenders=spenders)

    schema = StructType([StructField(name, StringType(), True) for name in ("txid", "a", "b", "coinjoin")])
    return spark.createDataFrame(raw.rdd.mapPartitions(partition), schema)


def _json_schema(spark: Any, first: Path) -> Any:
    """The schema of the first `SCHEMA_ROWS` rows of the first part, as the local engine infers it (polars);
    a later row that does not fit it fails the job instead of being read as nulls."""
    lines = []
    with first.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                lines.append(line)
            if len(lines) >= SCHEMA_ROWS:
                break
    return spark.read.json(spark.sparkContext.parallelize(lines or ["{}"], 1)).schema


def _links(
    spark: Any, export_dir: Path, F: Any, progress: Callable[[str], None], chain: str = "bitcoin"
) -> tuple[Any, Any]:
    """(txid, a, b, coinjoin) rows of links and CoinJoins, and the input addresses (column `address`)."""
    raw = _read(spark, export_dir)
    progress("  schema read")
    if not _columnar(raw.schema):
        rows = _row_links(spark, raw, chain, spenders=True).localCheckpoint(eager=True)
        spent = rows.where("b is null and coinjoin is null").select(F.col("a").alias("address"))
        return rows.where("b is not null or coinjoin is not null"), spent
    fields = set(raw.schema["inputs"].dataType.elementType.names)

    def field(name: str) -> str:
        return f"coalesce(i.{name}, '')" if name in fields else "''"

    first = "CASE WHEN size(i.addresses) = 1 THEN coalesce(i.addresses[0], '') ELSE '' END"
    keys = f"transform(inputs, i -> struct({first} AS first, {field('type')} AS kind, {field('script_hex')} AS script))"
    candidate = _prefilter(F)
    base = raw.select(
        F.monotonically_increasing_id().alias("n"),
        _txid(F).alias("txid"),
        candidate.alias("candidate"),
        F.expr(keys).alias("keys"),
        F.when(candidate, F.struct(*raw.columns)).alias("row"),
    ).localCheckpoint(eager=True)  # the export is read once (and `n` fixed)
    progress("  transactions read")
    inputs = base.select("n", "candidate", F.explode("keys").alias("k")).select("n", "candidate", "k.*")
    addressed = _input_addresses(spark, inputs, F, chain).localCheckpoint(eager=True)
    progress("  input addresses read")
    distinct = addressed.where("not candidate").select("n", "address").distinct()
    anchors = distinct.groupBy("n").agg(F.min("address").alias("anchor"))
    stars = distinct.join(anchors, "n").where("address != anchor").join(base.select("n", "txid"), "n")
    stars = stars.select("txid", F.col("anchor").alias("a"), F.col("address").alias("b"), F.lit(None).cast("string"))
    candidates = _row_links(spark, base.where("candidate").select("row.*"), chain, spenders=False)
    rows = stars.toDF("txid", "a", "b", "coinjoin").union(candidates).localCheckpoint(eager=True)
    progress("  links made")
    return rows, addressed.select("address")


def _input_addresses(spark: Any, inputs: Any, F: Any, chain: str) -> Any:
    """(n, candidate, address) of the inputs (n, candidate, first, kind, script) that have an address, each
    distinct listed address and script read once (the twin of :class:`tracer.cluster.local.InputAddresses`)."""

    def read_listed(rows: Iterator[Any]) -> Iterator[tuple[Any, ...]]:
        return ((first, listed_address(chain, first)) for (first,) in rows)

    def read_scripts(rows: Iterator[Any]) -> Iterator[tuple[Any, ...]]:
        return ((kind, script, script_address(kind, script)) for kind, script in rows)

    firsts = inputs.where("first != ''").select("first").distinct().rdd.mapPartitions(read_listed)
    listed = spark.createDataFrame(firsts, "first string, listed string").localCheckpoint(eager=True)
    got = inputs.join(listed, "first", "left")
    rest = got.where("listed is null")
    kinds = rest.select("kind", "script").distinct().rdd.mapPartitions(read_scripts)
    scripts = spark.createDataFrame(kinds, "kind string, script string, address string")
    scripted = rest.join(scripts.where("address is not null"), ["kind", "script"]).select("n", "candidate", "address")
    direct = got.where("listed is not null").select("n", "candidate", F.col("listed").alias("address"))
    return direct.union(scripted)


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
    progress = timed(progress)
    spark = spark or SparkSession.getActiveSession()
    own = spark is None
    if own:
        spark = spark_session(master, partitions=partitions)
    try:
        rows, spent = _links(spark, export_dir, F, progress)
        links = rows.where("a is not null").select("txid", "a", "b").distinct().localCheckpoint(eager=True)
        coinjoins = rows.where("coinjoin is not null").select("txid", F.col("coinjoin").alias("pattern")).distinct()
        linked = connected_components(links, F, progress=progress)
        nodes = spent.union(links.select(F.col("a").alias("address"))).distinct()
        members = nodes.join(linked, "address", "left").select(
            "address", F.coalesce("cluster_id", "address").alias("cluster_id")
        )
        progress("  connected components done")
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
        progress("  results written")
        return result
    finally:
        if own:
            spark.stop()


def _read_back(folder: Path, schema: dict[str, Any]) -> pl.DataFrame:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return pl.DataFrame(schema=schema)
    return pl.read_parquet(files).select(list(schema)).cast(schema)  # type: ignore[arg-type]
