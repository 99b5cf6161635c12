"""Every examples/*.py runs offline (against the bundled synthetic demo) and writes what it says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_offline(script: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["HEISTTRACE_HOME"] = str(tmp_path / "home")
    env["NO_PROXY"] = "127.0.0.1"
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "out")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()
    produced = {p.name for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert "summary.json" in produced or "graph.gexf" in produced, produced


def test_there_are_examples_for_each_job() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"trace_a_case", "compare_policies", "export_gephi"} <= names
