"""Terminal views: `heisttrace show`, `path`, `address`, `report` on SYNTHETIC bundles."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from tests.report_fixtures import EX, HOSTILE_LABEL, HOSTILE_TOKEN, MX, A, S, write_synthetic_bundle, write_tiny_bundle
from tracer.cli import main
from tracer.environment import Environment


class _Run:
    def __init__(self, tmp_path: Path) -> None:
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.env = Environment(
            stdout=Console(file=self.out, width=200, color_system=None, soft_wrap=True),
            stderr=Console(file=self.err, width=200, color_system=None, soft_wrap=True),
            home=tmp_path / "home",
        )

    def __call__(self, *argv: str) -> int:
        return main(list(argv), self.env)


@pytest.fixture
def run(tmp_path: Path) -> _Run:
    return _Run(tmp_path)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_bundle(tmp_path_factory.mktemp("views") / "case", addresses=120, hostile=True)


def test_show_prints_balance_sheet_endpoints_paths_timeline(run: _Run, tmp_path: Path) -> None:
    bundle = write_tiny_bundle(tmp_path / "tiny")
    assert run("show", str(bundle)) == 0
    text = run.out.getvalue()
    assert "Balance sheet" in text and "Where it went" in text and "Endpoints (2" in text and "Timeline" in text
    assert "Path 1:" in text and "Path 2:" in text
    assert "swap at 0xaaaaaa…aaaa" in text and "30 ETH → 54,000 USDT" in text
    assert "Exchange [bold]x[/bold]" in text  # markup in a label is printed, not interpreted
    assert "exchange" in text and "2023-06-03" in text
    assert "hops in time order  ·  100.00% of its asset's taint reached the endpoint" in text
    assert text.count("yes") >= 2  # both assets balance


def test_path_view_shows_route_and_onward(run: _Run, tmp_path: Path) -> None:
    bundle = write_tiny_bundle(tmp_path / "tiny")
    assert run("path", str(bundle), A) == 0
    text = run.out.getvalue()
    assert "Path 1: Thief → 0xaaaaaa…aaaa" in text
    assert "Onward from 0xaaaaaa…aaaa" in text and "Mixer [mixer]" in text
    assert run("path", str(bundle), MX) == 0
    assert "Thief → Mixer [mixer]" in run.out.getvalue()


def test_address_view(run: _Run, tmp_path: Path) -> None:
    bundle = write_tiny_bundle(tmp_path / "tiny")
    assert run("address", str(bundle), f"ethereum:{A}") == 0
    text = run.out.getvalue()
    assert "taint in" in text and "54,000 USDT; 60 ETH" in text
    assert "received from (2)" in text and "sent to (3)" in text
    assert "Router" in text and "dex" in text and "swap 0x05" in text
    assert run("address", str(bundle), EX) == 0
    assert "endpoint" in run.out.getvalue()
    assert run("address", str(bundle), S) == 0


def test_unknown_address_and_missing_bundle_are_one_line_exit_2(run: _Run, tmp_path: Path) -> None:
    bundle = write_tiny_bundle(tmp_path / "tiny")
    assert run("address", str(bundle), "0x" + "9" * 40) == 2
    assert run("path", str(tmp_path / "missing"), A) == 2
    assert run("show", str(tmp_path / "missing")) == 2
    lines = run.err.getvalue().strip().splitlines()
    assert len(lines) == 3
    assert "not an address of this trace" in lines[0] and "no bundle at" in lines[1]


def test_hostile_strings_print_as_text(run: _Run, hostile: Path) -> None:
    assert run("show", str(hostile), "--endpoints", "200") == 0
    text = run.out.getvalue()
    assert HOSTILE_LABEL in text and HOSTILE_TOKEN in text


def test_report_command_writes_each_format(run: _Run, hostile: Path, tmp_path: Path) -> None:
    assert run("report", str(hostile)) == 0
    assert (hostile / "report.html").is_file()
    assert run("report", str(hostile), "--format", "md", "--out", str(tmp_path / "case.md")) == 0
    assert (tmp_path / "case.md").read_text().startswith("# ")
    assert f"wrote {tmp_path / 'case.md'}" in run.out.getvalue()


def test_report_format_is_validated(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", str(hostile), "--format", "docx"])
    assert exc.value.code == 2


def test_a_trace_where_nothing_moved_renders_everywhere(run: _Run, tmp_path: Path) -> None:
    bundle = tmp_path / "still"
    bundle.mkdir()
    (bundle / "addresses.csv").write_text(
        "chain,address,role,category,label,label_source,hop,tainted_in,asset,first_tainted_at\n"
        f"ethereum,{S},seed,,,,0,5,ethereum:native,2023-01-01T00:00:00Z\n"
    )
    (bundle / "flows.csv").write_text(
        "chain,tx_hash,position,block,timestamp,from,to,asset,asset_id,amount,tainted_amount,hop\n"
    )
    (bundle / "endpoints.csv").write_text(
        "chain,address,category,label,label_source,asset,tainted_amount,first_tainted_at,tx_hash\n"
    )
    (bundle / "summary.json").write_text(
        '{"case": "still", "policy": "fifo", "complete": true, "assets": {"ethereum:native": '
        '{"symbol": "ETH", "stolen": "5", "unmoved": "5"}}}'
    )
    (bundle / "manifest.json").write_text("{}")
    assert run("show", str(bundle)) == 0 and "yes" in run.out.getvalue()
    assert run("path", str(bundle), S) == 0 and "is a seed of the case" in run.out.getvalue()
    for fmt in ("html", "md"):
        assert run("report", str(bundle), "--format", fmt) == 0
    assert "No path from a seed reaches an endpoint" in (bundle / "report.html").read_text()
    for fmt in ("graphml", "gexf", "dot", "json", "csv", "parquet"):
        assert run("export", str(bundle), "--format", fmt) == 0, fmt
    assert not (bundle / "graph.graphml").exists()  # exports never overwrite the engine's own files
    assert (bundle / "export.graphml").is_file()
