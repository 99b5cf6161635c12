"""The `export` source: a trace over an ethereum-etl / BigQuery export of a world gives the same bundle
files as the trace over the emulated Etherscan API of that world, with zero requests (SYNTHETIC worlds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.etl_export import write_etl_export
from chains.emulators.world import EvmWorld
from chains.export.evm_index import build_evm_index
from tracer.demo.run import load_label_book, trace_world
from tracer.demo.scenario import build_scenario

CONTRACT_FILES = ("flows.csv", "addresses.csv", "endpoints.csv")


def trace_export(world_case, export: Path, work: Path, labels) -> tuple[object, int]:
    """Trace `world_case(path)` over the export at `export` from an empty store; (result, requests)."""
    from tracer.api import trace
    from tracer.cases.plan import build_plan
    from tracer.sources.factory import build_sources
    from tracer.store import Store

    work.mkdir(parents=True, exist_ok=True)
    case_path = work / "case.toml"
    case_path.write_text(world_case, encoding="utf-8")
    plan = build_plan(case_path)
    store = Store.open(work / "store.sqlite3")
    try:
        sources = build_sources(plan, store)
        result = trace(plan, history=sources.account, labels=labels, store=store)
        return result, sources.requests
    finally:
        store.close()


def export_case(api_case: str, path: Path) -> str:
    """The same case file, reading the export at `path` instead of the API."""
    lines = [line for line in api_case.splitlines() if not line.startswith("ethereum = ")]
    return "\n".join(lines).replace("[source]", f'[source]\nethereum = {{ kind = "export", path = "{path}" }}') + "\n"


@pytest.fixture(scope="module")
def demo():
    return build_scenario()


@pytest.mark.parametrize(
    ("fmt", "parts", "shape"), [("csv", 1, "bigquery"), ("parquet", 3, "bigquery"), ("csv", 2, "etl")]
)
def test_demo_world_over_its_export_gives_the_same_bundle(
    demo, tmp_path: Path, fmt: str, parts: int, shape: str
) -> None:
    world: EvmWorld = demo.world
    book = load_label_book(demo.labels)
    api = trace_world(world, lambda url: demo.case_toml(api_url=url), work_dir=tmp_path / "api", labels=book)
    assert api.requests > 0
    export = write_etl_export(world, tmp_path / "export", fmt=fmt, parts=parts, shape=shape)
    if shape == "etl":  # receipts in a table of their own, joined per bucket; time from blocks
        header = sorted((export / "transactions").iterdir())[0].read_text().splitlines()[0]
        assert (export / "receipts").is_dir() and "receipt_gas_used" not in header and "block_timestamp" not in header
    build_evm_index(export, export / "heisttrace-index", progress=lambda _: None)
    case = export_case(demo.case_toml(api_url="http://127.0.0.1:1/v2/api"), export)
    result, requests = trace_export(case, export, tmp_path / "exp", book)
    assert requests == 0
    api.result.write(tmp_path / "bundle-api")
    result.write(tmp_path / "bundle-export")
    for name in CONTRACT_FILES:
        a, b = (tmp_path / "bundle-api" / name).read_bytes(), (tmp_path / "bundle-export" / name).read_bytes()
        assert a == b, name
    assert len((tmp_path / "bundle-api" / "flows.csv").read_text().splitlines()) > 10


def test_benchmark_world_over_its_export_gives_the_same_bundle(tmp_path: Path) -> None:
    from bench.groundtruth import read_case
    from bench.worldgen import WorldOptions, generate_world
    from tests.test_bench_quality import HEADER, ROWS

    root = tmp_path / "truth"
    (root / "cluster 3").mkdir(parents=True)
    (root / "cluster 3" / "flow records.csv").write_text(HEADER + "\n".join(",".join(map(str, r)) for r in ROWS) + "\n")
    (root / "cluster 3" / "source addresses.csv").write_text(ROWS[1][3])
    (root / "cluster 3" / "terminal addresses.csv").write_text(f"{ROWS[4][5]}\n{ROWS[5][5]}\n")
    options = WorldOptions(users_per_exchange=30, hub_users=10, router_users=5, dust_share=1.0, poison_share=1.0)
    gen = generate_world(read_case(3, root=root), options)
    book = load_label_book(gen.labels)
    api = trace_world(gen.world, lambda url: gen.case_toml(api_url=url), work_dir=tmp_path / "api", labels=book)
    export = write_etl_export(gen.world, tmp_path / "export")
    build_evm_index(export, tmp_path / "index", progress=lambda _: None)
    case = export_case(gen.case_toml(api_url="http://127.0.0.1:1/v2/api"), tmp_path / "index")
    result, requests = trace_export(case, export, tmp_path / "exp", book)
    assert requests == 0 and api.requests > 0
    api.result.write(tmp_path / "bundle-api")
    result.write(tmp_path / "bundle-export")
    for name in CONTRACT_FILES:
        assert (tmp_path / "bundle-api" / name).read_bytes() == (tmp_path / "bundle-export" / name).read_bytes(), name
    # the hand-made rows use 0x…01-0x…09, which bundled label sets name as services ("Null: 0x…"), so
    # little is traced here; the demo world above is the non-trivial comparison
    assert result.flows.height >= 3


def test_case_files_take_an_export_folder_and_say_what_is_missing(tmp_path: Path) -> None:
    from tracer.cases.case import read_case
    from tracer.core.errors import BadCaseFile, BadInput
    from tracer.sources.factory import build_adapter

    head = '[case]\nid = "x"\n[[seeds]]\nchain = "ethereum"\naddress = "0x' + "1" * 40 + '"\n[source]\n'
    case = tmp_path / "case.toml"
    case.write_text(head + 'ethereum = { kind = "export", path = "data/eth" }\n')
    spec = read_case(case).source_for("ethereum")
    assert spec.kind == "export" and spec.path == str(tmp_path / "data" / "eth")
    with pytest.raises(BadInput, match="does not exist"):
        build_adapter("ethereum", spec)
    (tmp_path / "data" / "eth").mkdir(parents=True)
    with pytest.raises(BadInput, match="no index yet; build it once with `heisttrace index-export"):
        build_adapter("ethereum", spec)
    for body, message in (
        ('ethereum = { kind = "export" }', "source.ethereum.path: expected the folder"),
        ('ethereum = { kind = "export", path = "d", url = "http://127.0.0.1:1" }', "source.ethereum.url"),
        ('ethereum = { kind = "etherscan", path = "d" }', "source.ethereum.path: expected no path"),
    ):
        case.write_text(head + body + "\n")
        with pytest.raises(BadCaseFile, match=message):
            read_case(case)


def test_index_export_cli_and_its_errors(demo, tmp_path: Path) -> None:
    from tests.test_cluster_export import run_cli

    export = write_etl_export(demo.world, tmp_path / "export", fmt="parquet", parts=2)
    code, out, err = run_cli(["index-export", str(export)], home=tmp_path / "home")
    assert code == 0, err
    assert "indexed the evm export" in out and (export / "heisttrace-index" / "manifest.json").is_file()
    code, _, err = run_cli(["index-export", str(tmp_path / "absent")], home=tmp_path / "home")
    assert code == 2 and "is not a folder" in err
    (tmp_path / "no-tx").mkdir()
    code, _, err = run_cli(["index-export", str(tmp_path / "no-tx")], home=tmp_path / "home")
    assert code == 2 and "no transactions table" in err and "Traceback" not in err


def test_bigquery_and_ethereum_etl_shapes_index_to_the_same_rows(demo, tmp_path: Path) -> None:
    """Receipts in a table of their own (joined per transaction bucket) and time from `blocks` give
    the same index as BigQuery's receipt_* columns and block_timestamp."""
    import polars as pl

    indexes = {}
    for shape in ("bigquery", "etl"):
        export = write_etl_export(demo.world, tmp_path / shape, fmt="parquet", parts=2, shape=shape)
        indexes[shape] = build_evm_index(export, tmp_path / f"index-{shape}", key_chars=1, progress=lambda _: None)
    assert indexes["bigquery"]["items"] == indexes["etl"]["items"] > 100
    for table in ("tx", "addr"):
        files = sorted(p.name for p in (tmp_path / "index-bigquery" / table).iterdir())
        assert files == sorted(p.name for p in (tmp_path / "index-etl" / table).iterdir()) and len(files) == 16
        for name in files:
            a, b = (pl.read_parquet(tmp_path / f"index-{s}" / table / name) for s in ("bigquery", "etl"))
            assert a.equals(b), f"{table}/{name}"
    paid = pl.read_parquet(sorted((tmp_path / "index-etl" / "tx").iterdir()))
    assert paid.filter(pl.col("kind") == 0)["gas_used"].null_count() == 0
