"""The import contract in pyproject.toml: complete, able to fail; no import cycles; no module over 600 lines."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tracer", "chains", "heuristics")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["name"]: c for c in config["contracts"]}


def _tracer_parts() -> set[str]:
    """Every direct subpackage or module of tracer/ (what `ls tracer` shows that Python can import)."""
    parts = set()
    for entry in (ROOT / "tracer").iterdir():
        if entry.is_dir() and any(entry.glob("*.py")):
            parts.add(f"tracer.{entry.name}")
        elif entry.suffix == ".py" and entry.stem not in ("__init__", "__main__"):
            parts.add(f"tracer.{entry.stem}")
    return parts


def test_forbidden_lists_cover_every_tracer_part_but_core() -> None:
    expected = _tracer_parts() - {"tracer.core"}
    contracts = _contracts()
    for name in ("heuristics imports only tracer.core", "chains imports only tracer.core"):
        forbidden = set(contracts[name]["forbidden_modules"])
        assert expected - forbidden == set(), f"{name}: add the new tracer parts to forbidden_modules"
        assert "tracer.core" not in forbidden


def test_contract_catches_a_forbidden_import(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    clean = subprocess.run([str(LINT_IMPORTS)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout[-2000:]
    target = tmp_path / "heuristics" / "peel.py"
    target.write_text(target.read_text() + "\nimport tracer.store  # noqa: E402,F401\n")
    broken = subprocess.run([str(LINT_IMPORTS)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert broken.returncode != 0
    assert "heuristics.peel -> tracer.store" in broken.stdout


def test_no_import_cycles() -> None:
    graph = grimp.build_graph(*PACKAGES)
    edges = nx.DiGraph()
    for module in graph.modules:
        edges.add_node(module)
        for imported in graph.find_modules_directly_imported_by(module):
            edges.add_edge(module, imported)
    cycles = sorted(sorted(c) for c in nx.strongly_connected_components(edges) if len(c) > 1)
    assert cycles == [], f"import cycles: {cycles}"


#: The ~600-line rule of docs/ARCHITECTURE.md. Only Python modules count: data files shipped inside the
#: packages (the catalogue's .toml/.json, labels.tsv.gz, report templates, price_ids.toml) are not modules.
MAX_MODULE_LINES = 600
#: Generated Python modules exempt from the rule (path relative to the repo): none today.
GENERATED_MODULES: frozenset[str] = frozenset()


def _oversized(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, int]:
    """Modules of `packages` under `root` longer than MAX_MODULE_LINES, with their line counts."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if "__pycache__" in path.parts or rel in GENERATED_MODULES:
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_MODULE_LINES:
                found[rel] = lines
    return found


def test_no_module_over_600_lines() -> None:
    assert _oversized(ROOT) == {}, "split these modules by responsibility (docs/ARCHITECTURE.md)"


def test_line_limit_catches_a_long_module(tmp_path: Path) -> None:
    (tmp_path / "chains" / "deep").mkdir(parents=True)
    (tmp_path / "chains" / "deep" / "long.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    (tmp_path / "chains" / "short.py").write_text("x = 1\n" * MAX_MODULE_LINES)
    assert _oversized(tmp_path, ("chains",)) == {"chains/deep/long.py": MAX_MODULE_LINES + 1}
