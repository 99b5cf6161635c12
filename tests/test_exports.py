"""Graph and table exports open in networkx (GraphML/GEXF round trip), polars (CSV/Parquet) and Graphviz."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import networkx as nx
import polars as pl
import pytest

from tests.report_fixtures import HOSTILE_LABEL, HOSTILE_TOKEN, write_synthetic_bundle
from tracer.cli import main
from tracer.core.errors import BadInput
from tracer.environment import Environment
from tracer.report.bundle import read_bundle
from tracer.report.casefile import analyse_bundle
from tracer.report.exports import EDGE_COLUMNS, NODE_COLUMNS, build_graph, export_bundle


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_bundle(tmp_path_factory.mktemp("exports") / "case", addresses=150, hostile=True)


@pytest.fixture(scope="module")
def graph(bundle_dir: Path) -> nx.MultiDiGraph:
    return build_graph(analyse_bundle(read_bundle(bundle_dir)))


def _edges(g: nx.MultiDiGraph) -> dict:
    return {(u, v, k): d for u, v, k, d in g.edges(keys=True, data=True)}


def test_graph_has_the_interface_attributes(graph: nx.MultiDiGraph, bundle_dir: Path) -> None:
    bundle = read_bundle(bundle_dir)
    assert graph.number_of_edges() == sum(1 for f in bundle.flows if not f.is_fee)
    assert set(graph.nodes) >= {f"{r.chain}:{r.address}" for r in bundle.addresses}
    for _, data in graph.nodes(data=True):
        assert set(data) == set(NODE_COLUMNS) - {"id"}
    for _, _, data in graph.edges(data=True):
        assert set(data) == set(EDGE_COLUMNS) - {"source", "target", "key"}
    swap_legs = [d for _, _, d in graph.edges(data=True) if d["swap"]]
    assert swap_legs and len({d["asset_key"] for d in swap_legs}) == 2
    roles = {d["role"] for _, d in graph.nodes(data=True)}
    assert {"seed", "transit", "endpoint"} <= roles
    # amounts stay exact decimal strings; the tainted total into endpoints matches endpoints.csv
    into_endpoints = sum(
        Decimal(d["tainted_amount"])
        for _, v, d in graph.edges(data=True)
        if graph.nodes[v]["role"] == "endpoint" and d["asset_key"] == "ethereum:native"
    )
    listed = sum(e.tainted_amount for e in bundle.endpoints if e.asset == "ethereum:native")
    assert into_endpoints == listed


def test_graphml_round_trip_is_equal(graph: nx.MultiDiGraph, bundle_dir: Path, tmp_path: Path) -> None:
    path = export_bundle(read_bundle(bundle_dir), "graphml", out=tmp_path / "g.graphml")
    back = nx.read_graphml(path, force_multigraph=True)
    assert dict(back.nodes(data=True)) == dict(graph.nodes(data=True))
    assert _edges(back) == _edges(graph)
    assert nx.utils.graphs_equal(back, graph) or back.graph.get("case") == graph.graph["case"]


def test_gexf_round_trip_is_equal(graph: nx.MultiDiGraph, bundle_dir: Path, tmp_path: Path) -> None:
    path = export_bundle(read_bundle(bundle_dir), "gexf", out=tmp_path / "g.gexf")
    back = nx.read_gexf(path)
    assert dict(back.nodes(data=True)) == dict(graph.nodes(data=True))
    theirs = {}
    for u, v, data in back.edges(data=True):
        data = dict(data)
        chain, key = data.pop("id").split(":", 1)  # the GEXF edge id is chain:tx_hash:position
        assert chain == data["chain"]
        theirs[(u, v, key)] = data
    assert theirs == _edges(graph)
    assert any(d["label"] == HOSTILE_LABEL for _, d in back.nodes(data=True))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables_open_in_polars(fmt: str, graph: nx.MultiDiGraph, bundle_dir: Path, tmp_path: Path) -> None:
    out = export_bundle(read_bundle(bundle_dir), fmt, out=tmp_path / fmt)
    read = pl.read_csv if fmt == "csv" else pl.read_parquet
    frames = {name: read(out / f"{name}.{fmt}") for name in ("nodes", "edges", "addresses", "flows", "endpoints")}
    assert frames["nodes"].columns == list(NODE_COLUMNS) and frames["edges"].columns == list(EDGE_COLUMNS)
    assert frames["nodes"].height == graph.number_of_nodes()
    assert frames["edges"].height == graph.number_of_edges()
    assert frames["flows"]["block"].dtype == pl.Int64 and frames["edges"]["swap"].dtype == pl.Boolean
    original = pl.read_csv(bundle_dir / "flows.csv", infer_schema=False)
    exact = pl.read_csv(out / "flows.csv", infer_schema=False) if fmt == "csv" else frames["flows"]
    assert exact["tainted_amount"].to_list() == original["tainted_amount"].to_list()  # exact decimal strings
    assert HOSTILE_TOKEN in frames["flows"]["asset"].to_list()


def test_dot_is_valid_graphviz(bundle_dir: Path, tmp_path: Path) -> None:
    path = export_bundle(read_bundle(bundle_dir), "dot", out=tmp_path / "g.gv")
    text = path.read_text()
    assert text.startswith("digraph heisttrace {") and 'style=dashed, color="#ff7f0e"' in text
    assert '\\"' not in HOSTILE_LABEL and "<\\/script>" not in text  # quoted as a plain DOT string
    if shutil.which("dot") is None:
        pytest.skip("graphviz `dot` is not installed")
    svg = subprocess.run(["dot", "-Tsvg", str(path)], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "<svg" in svg and "&lt;/script&gt;" in svg


def test_json_export(graph: nx.MultiDiGraph, bundle_dir: Path, tmp_path: Path) -> None:
    doc = json.loads(export_bundle(read_bundle(bundle_dir), "json", out=tmp_path / "g.json").read_text())
    assert len(doc["nodes"]) == graph.number_of_nodes() and len(doc["edges"]) == graph.number_of_edges()
    assert doc["summary"]["case"] == "synthetic-heist-2023" and doc["endpoints"]


def test_exports_are_deterministic(bundle_dir: Path, tmp_path: Path) -> None:
    bundle = read_bundle(bundle_dir)
    for fmt in ("graphml", "gexf", "dot", "json"):
        a = export_bundle(bundle, fmt, out=tmp_path / f"a.{fmt}").read_bytes()
        b = export_bundle(bundle, fmt, out=tmp_path / f"b.{fmt}").read_bytes()
        assert a == b, fmt


def test_bad_export_requests_are_bad_input(bundle_dir: Path, tmp_path: Path) -> None:
    bundle = read_bundle(bundle_dir)
    with pytest.raises(BadInput, match="unknown export format"):
        export_bundle(bundle, "xlsx")
    with pytest.raises(BadInput, match="is a directory"):
        export_bundle(bundle, "graphml", out=tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadInput, match="is a file"):
        export_bundle(bundle, "csv", out=tmp_path / "file")


def test_export_command(bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = Environment(home=tmp_path / "home")
    assert main(["export", str(bundle_dir), "--format", "gexf", "--out", str(tmp_path / "c.gexf")], env) == 0
    assert nx.read_gexf(tmp_path / "c.gexf").number_of_nodes() > 100
    assert main(["export", str(bundle_dir), "--format", "parquet"], env) == 0
    assert (bundle_dir / "export-parquet" / "edges.parquet").is_file()
    assert main(["export", str(tmp_path / "nope"), "--format", "csv"], env) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no bundle at" in err[0]
