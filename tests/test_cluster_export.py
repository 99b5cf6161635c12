"""`heisttrace cluster` over a SYNTHETIC bitcoin-etl export: CoinJoins excluded, a service-sized merge flagged,
labels passed on, and the Spark engine (local[2]) giving the local engine's clusters exactly."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import polars as pl
import pytest

from bench.btc_export import BitcoinTruth, write_bitcoin_export
from tests.cli_env import make_env
from tracer.cluster.local import local_components
from tracer.cluster.spark import java_available
from tracer.labels.files import export_csv

SERVICE_SIZE = 40


def run_cli(argv: list[str], *, home: Path) -> tuple[int, str, str]:
    from tracer.cli import main

    env, out, err = make_env(home)
    return main(argv, env), out.getvalue(), err.getvalue()


SPARK_READY = importlib.util.find_spec("pyspark") is not None and java_available()
needs_spark = pytest.mark.skipif(
    not SPARK_READY,
    reason="pyspark or Java 17+ missing: `make test` installs both (tools/ensure-system-deps.sh, the test extra)",
)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BitcoinTruth]:
    out = tmp_path_factory.mktemp("btc-export")
    truth = write_bitcoin_export(out, txs=600, wallets=150, coinjoins=12, service_deposits=SERVICE_SIZE + 5, parts=3)
    return out, truth


def _owners_of(clusters: pl.DataFrame, truth: BitcoinTruth) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in clusters.iter_rows(named=True):
        out.setdefault(row["cluster_id"], set()).add(truth.owners[row["address"]])
    return out


def test_local_clusters_follow_owners_and_skip_coinjoins(export, tmp_path: Path) -> None:
    folder, truth = export
    parts = local_components(folder, progress=lambda _: None)
    owners = _owners_of(parts.members, truth)
    assert all(len(o) == 1 for o in owners.values()), "a cluster mixes owners: a CoinJoin was not excluded"
    assert set(parts.coinjoins["txid"]) == set(truth.coinjoin_txids)
    assert parts.links.height == truth.links
    # every input address is a member: those that never co-spent (CoinJoin-only spenders here) are their own cluster
    assert set(parts.members["address"]) == set(truth.owners)
    alone = parts.members.filter(~pl.col("address").is_in(pl.concat([parts.links["a"], parts.links["b"]]).implode()))
    assert alone.height > 0 and (alone["address"] == alone["cluster_id"]).all()
    # the cluster id is the smallest address of the cluster
    smallest = parts.members.group_by("cluster_id").agg(pl.col("address").min())
    assert (smallest["cluster_id"] == smallest["address"]).all()
    # a cluster per wallet that co-spent: the exchange's consolidation is one cluster
    exchange = parts.members.filter(pl.col("address").is_in(list(truth.deposits)))["cluster_id"].unique()
    assert exchange.len() == 1


def test_cli_writes_the_files_and_labels_that_import(export, tmp_path: Path) -> None:
    folder, truth = export
    labels = tmp_path / "hot.csv"
    labels.write_text(export_csv(truth.labels()), encoding="utf-8")
    out = tmp_path / "clusters"
    home = tmp_path / "home"
    code, _, err = run_cli(
        ["cluster", str(folder), "--out", str(out), "--service-size", str(SERVICE_SIZE), "--labels", str(labels)],
        home=home,
    )
    assert code == 0, err
    stats = pl.read_parquet(out / "cluster_stats.parquet")
    big = stats.filter(pl.col("service_sized"))
    assert big.height == 1 and big["addresses"][0] == SERVICE_SIZE + 6
    assert big["label_category"][0] == "exchange"
    rows = list(csv.DictReader((out / "cluster_labels.csv").open(encoding="utf-8")))
    assert {r["address"] for r in rows} == set(truth.deposits)
    assert {r["category"] for r in rows} == {"exchange"} and {r["source"] for r in rows} == {"heisttrace-cluster"}
    code, _, err = run_cli(["labels", "import", str(out / "cluster_labels.csv")], home=home)
    assert code == 0, err
    code, _, _ = run_cli(["cluster", str(folder), "--out", str(tmp_path / "again"), "--service-size", "40",
                              "--labels", str(labels)], home=home)  # fmt: skip
    assert code == 0
    assert (tmp_path / "again" / "clusters.parquet").read_bytes() == (out / "clusters.parquet").read_bytes()


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    code, _, err = run_cli(["cluster", str(tmp_path / "absent"), "--out", str(tmp_path / "o")], home=tmp_path)
    assert code == 2 and "is not a folder" in err and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(["cluster", str(tmp_path / "empty"), "--out", str(tmp_path / "o")], home=tmp_path)
    assert code == 2 and "no transactions table" in err


@pytest.fixture(scope="module")
def spark():
    if not SPARK_READY:
        pytest.skip("pyspark or Java missing")
    from tracer.cluster.spark import spark_session

    session = spark_session("local[2]", partitions=2)
    yield session
    session.stop()


@needs_spark
def test_spark_cli_writes_identical_files(export, spark, tmp_path: Path) -> None:
    folder, truth = export
    labels = tmp_path / "hot.csv"
    labels.write_text(export_csv(truth.labels()), encoding="utf-8")
    outs = {}
    for engine in ("local", "spark"):
        outs[engine] = tmp_path / engine
        code, _, err = run_cli(
            ["cluster", str(folder), "--out", str(outs[engine]), "--engine", engine, "--master", "local[2]",
             "--service-size", str(SERVICE_SIZE), "--labels", str(labels)],
            home=tmp_path / "home",
        )  # fmt: skip
        assert code == 0, err
    assert pl.read_parquet(outs["spark"] / "clusters.parquet").height > 100
    assert len((outs["spark"] / "cluster_labels.csv").read_text().splitlines()) == SERVICE_SIZE + 6
    for name in ("clusters.parquet", "cluster_stats.parquet", "coinjoins.parquet", "cluster_labels.csv"):
        assert (outs["local"] / name).read_bytes() == (outs["spark"] / name).read_bytes(), name


@needs_spark
def test_connected_components_on_a_long_chain(spark) -> None:
    from pyspark.sql import functions as F

    from tracer.cluster.spark import connected_components

    nodes = [f"n{i:03d}" for i in range(60)]
    pairs = [(nodes[i], nodes[i + 1]) for i in range(0, 39)] + [("n059", "n045"), ("n050", "n045")]
    frame = spark.createDataFrame(pairs, "a string, b string")
    got = {r["address"]: r["cluster_id"] for r in connected_components(frame, F, progress=lambda _: None).collect()}
    assert {got[n] for n in nodes[:40]} == {"n000"}
    assert {got[n] for n in ("n045", "n050", "n059")} == {"n045"}
    assert len(got) == 43


@needs_spark
def test_spark_columns_are_the_local_columns(spark, tmp_path: Path) -> None:
    """Spark's prefilter, txids, input addresses and clusters are the polars ones (tricky rows, random rows)."""
    import json
    import random

    from pyspark.sql import functions as F

    from chains.export.bitcoin import scan_raw
    from tests.test_cluster_prefilter import write_tricky
    from tracer.cluster.columns import may_be_coinjoin_expr, txid_expr
    from tracer.cluster.spark import _prefilter, _read, _txid, spark_components

    rng = random.Random(11)
    values = [None, 0, -1, 600, 600, 700, 1_000_000]
    rows = [
        {"hash": rng.choice(["", " ", "\t"]) + f"{n:064X}" + rng.choice(["", "\n", " \r"]),
         "inputs": [{"addresses": [f"a{k}"], "value": 1} for k in range(rng.randrange(5))],
         "outputs": [{"value": rng.choice(values)} for _ in range(rng.randrange(7))]}
        for n in range(300)
    ]  # fmt: skip
    folder = tmp_path / "random"
    folder.mkdir()
    (folder / "transactions.json").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    mine = scan_raw(folder).select(txid_expr(), c=may_be_coinjoin_expr()).collect().rows()
    theirs = _read(spark, folder).select(_txid(F), _prefilter(F)).collect()
    assert sorted(mine) == sorted(tuple(r) for r in theirs) and any(c for _, c in mine) and len(mine) == 300

    export = write_tricky(tmp_path / "tricky")
    local = local_components(export, progress=lambda _: None)
    remote = spark_components(export, spark=spark, work_dir=tmp_path / "work", progress=lambda _: None)
    assert local.members.sort("address").equals(remote.members.sort("address"))
    assert sorted(local.links.rows()) == sorted(remote.links.rows())
    assert local.coinjoins.sort("txid").equals(remote.coinjoins.sort("txid"))
