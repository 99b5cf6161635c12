"""Issue 15 (output integrity): atomic bundles with file hashes, CSV formula injection, run statistics apart,
BOM/deep TOML in case files, SIGTERM like Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from tracer.bundle.result import TraceResult, make_frame, table_row
from tracer.cases.case import parse_case
from tracer.core.cells import csv_safe, csv_unescape, terminal_safe
from tracer.core.errors import BadCaseFile, BadInput
from tracer.report.bundle import read_bundle


def _result(label: str = '=HYPERLINK("http://evil","x")', policy: str = "haircut") -> TraceResult:
    addresses = make_frame(
        [
            table_row(
                "addresses", "ethereum", "0x" + "1" * 40, "endpoint", "exchange", label, "test", 1, "5", "eth:ETH", ""
            )
        ],
        "addresses",
    )
    summary = {
        "case": "t",
        "policy": policy,
        "complete": True,
        "assets": {},
        "counts": {"addresses_visited": 1, "transfers_read": 7, "requests": 42},
    }
    return TraceResult(
        summary=summary,
        flows=make_frame([], "flows"),
        addresses=addresses,
        endpoints=make_frame([], "endpoints"),
        graph=nx.MultiDiGraph(),
        manifest={"tool": "heisttrace"},
    )


def test_csv_cells_starting_a_formula_are_neutralised(tmp_path: Path) -> None:
    out = _result().write(tmp_path / "b", report=False)
    text = (out / "addresses.csv").read_text()
    assert ",\"'=HYPERLINK(" in text and ',"=HYPERLINK(' not in text and ",=HYPERLINK(" not in text
    assert ",5," in text  # amounts untouched
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(cell) == "'" + cell and csv_unescape(csv_safe(cell)) == cell
    assert csv_safe("0.5") == "0.5" and csv_safe("Binance 14") == "Binance 14"


def test_bidi_override_shown_escaped() -> None:
    assert terminal_safe("abc\u202etxt.exe") == "abc\\u202etxt.exe"


def test_manifest_lists_file_hashes_and_reader_refuses_mixed_files(tmp_path: Path) -> None:
    out = _result().write(tmp_path / "b", report=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {"summary.json", "addresses.csv", "flows.csv", "endpoints.csv", "graph.graphml"}
    read_bundle(out)
    other = _result(policy="fifo").write(tmp_path / "c", report=False)
    (out / "summary.json").write_bytes((other / "summary.json").read_bytes())
    with pytest.raises(BadInput, match=r"does not match manifest\.json"):
        read_bundle(out)


def test_rewrite_leaves_no_stale_file_and_no_staging_dir(tmp_path: Path) -> None:
    target = tmp_path / "b"
    _result().write(target, report=False)
    (target / "stale.csv").write_text("old run\n")
    _result(policy="fifo").write(target, report=False)
    assert not (target / "stale.csv").exists()
    assert json.loads((target / "summary.json").read_text())["policy"] == "fifo"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_failed_write_keeps_the_previous_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    target = tmp_path / "b"
    _result().write(target, report=False)
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def full_disk(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("networkx.write_graphml", full_disk)
    with pytest.raises(BadInput, match="disk is full; the previous bundle"):
        _result(policy="fifo").write(target, report=False)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


@pytest.mark.parametrize("kind", ["root", "file", "foreign"])
def test_unsafe_out_targets_are_refused(tmp_path: Path, kind: str) -> None:
    if kind == "root":
        target = Path("/")
    elif kind == "file":
        target = tmp_path / "f.txt"
        target.write_text("x")
    else:
        target = tmp_path / "photos"
        target.mkdir()
        (target / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(BadInput):
        _result().write(target, report=False)
    if kind == "foreign":
        assert (target / "holiday.jpg").exists()


def test_run_statistics_are_kept_out_of_the_contract_files(tmp_path: Path) -> None:
    out = _result().write(tmp_path / "b", report=False)
    summary = json.loads((out / "summary.json").read_text())
    assert "requests" not in summary["counts"] and "transfers_read" not in summary["counts"]
    run = json.loads((out / "run.json").read_text())
    assert run["counts"] == {"requests": 42, "transfers_read": 7}
    assert "run.json" not in json.loads((out / "manifest.json").read_text())["files"]


CASE = """
[case]
id = "bom"
title = "BOM"
[[seeds]]
chain = "ethereum"
address = "0x1111111111111111111111111111111111111111"
"""


def test_case_file_with_bom_is_accepted_and_deep_nesting_is_one_error() -> None:
    assert parse_case("\ufeff" + CASE, name="c.toml").id == "bom"
    with pytest.raises(BadCaseFile, match=r"c\.toml"):
        parse_case("x = " + "[" * 5000 + "]" * 5000, name="c.toml")


def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path) -> None:
    """A command sleeping inside the CLI gets SIGTERM: one line, exit 143, no traceback."""
    script = tmp_path / "s.py"
    script.write_text(
        "import sys, time, argparse\n"
        "import tracer.cli as cli\n"
        "orig = cli.build_parser\n"
        "def build():\n"
        "    p = orig()\n"
        "    p.set_defaults(run=lambda a, e: (print('ready', flush=True), time.sleep(30)))\n"
        "    return p\n"
        "cli.build_parser = build\n"
        "sys.exit(cli.main([]))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 143
    assert "SIGTERM received; progress is kept" in err and "Traceback" not in err


def test_terminal_views_escape_bidi_overrides() -> None:
    from tracer.report.terminal import _t

    assert "\u202e" not in _t("Binance\u202e 14").plain
