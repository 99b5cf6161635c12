"""USD beside amounts in the case file's endpoints, paths and timeline (HTML and Markdown), from the
valued bundle's columns; nothing of it for a bundle without USD. SYNTHETIC world and prices."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from tests.cli_env import make_env
from tests.test_engine_cli import emulator, setup_case  # noqa: F401  (emulator is a fixture)
from tests.test_valuation_trace import _price_file
from tracer.cli import main
from tracer.report.usd import usd_text


def _trace(tmp: Path, url: str, *extra: str) -> tuple[Path, dict]:
    home, case = setup_case(tmp, url)
    env, _out, err = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp / "b"), *extra], env=env) == 0, err.getvalue()
    assert main(["report", str(tmp / "b"), "--format", "md"], env=env) == 0, err.getvalue()
    return tmp / "b", env


def test_usd_beside_endpoints_paths_and_timeline(emulator, tmp_path: Path) -> None:  # noqa: F811
    bundle, _env = _trace(tmp_path, emulator.api_url, "--prices", str(_price_file(tmp_path)))
    html = (bundle / "report.html").read_text()
    md = (bundle / "report.md").read_text()
    endpoints = list(csv.DictReader((bundle / "endpoints.csv").open()))
    flows = list(csv.DictReader((bundle / "flows.csv").open()))
    per_address: dict[tuple[str, str], Decimal] = {}
    for row in endpoints:
        key = (row["chain"], row["address"])
        per_address[key] = per_address.get(key, Decimal(0)) + Decimal(row["tainted_usd"])
    assert html.count("USD at arrival") == 2 and md.count("USD at arrival") == 2  # endpoints and timeline
    for value in per_address.values():
        text = usd_text(str(value))
        assert text in html and text.replace(".", "\\.") in md
    arriving = {k for k in per_address}
    reached = sum(
        (Decimal(r["tainted_usd"]) for r in flows if (r["chain"], r["to"]) in arriving and r["tainted_usd"]),
        Decimal(0),
    )
    assert f'<td class="num">{usd_text(str(reached))}</td></tr>' in html  # the one day of the timeline
    assert "at the time)" in html and "at the time)" in md  # path hops
    assert "+ unpriced at the time" in html  # a hop carrying the unpriced token says so, never a guess
    assert "## Value in USD" in md and "USD reaching endpoints over time" in html


def test_no_usd_columns_without_valuation(emulator, tmp_path: Path) -> None:  # noqa: F811
    bundle, _env = _trace(tmp_path, emulator.api_url)
    for name in ("report.html", "report.md"):
        text = (bundle / name).read_text()
        assert "USD at arrival" not in text and "at the time)" not in text and "Value in USD" not in text
