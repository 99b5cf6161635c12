"""Reading a bundle: typed rows, exact amounts, one-line BadInput on anything missing or corrupt."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tests.report_fixtures import write_synthetic_bundle
from tracer.core.errors import BadInput
from tracer.report.bundle import LEDGER_FIELDS, read_bundle


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_bundle(tmp_path_factory.mktemp("bundle") / "case", addresses=150, comparison=True)


def _copy(bundle_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(bundle_dir, target)
    return target


def test_reads_typed_rows_with_exact_amounts(bundle_dir: Path) -> None:
    bundle = read_bundle(bundle_dir)
    assert bundle.case == "synthetic-heist-2023" and bundle.policy == "haircut"
    assert {r.chain for r in bundle.addresses} == {"ethereum", "bsc", "bitcoin"}
    assert all(isinstance(r.tainted_in, Decimal) for r in bundle.addresses)
    # asset columns become keys, whatever form the file used (symbol in flows.csv, key elsewhere)
    assert {f.asset for f in bundle.flows} <= set(bundle.assets)
    assert {r.asset for r in bundle.endpoints} <= set(bundle.assets)
    seed_eth = [r for r in bundle.addresses if r.role == "seed" and r.asset == "ethereum:native"]
    assert sum(r.tainted_in for r in seed_eth) == bundle.assets["ethereum:native"].ledger["stolen"]
    assert Decimal("4350.000000000123456789") == bundle.assets["ethereum:native"].ledger["stolen"]


def test_balance_identity_is_checked_exactly(bundle_dir: Path, tmp_path: Path) -> None:
    assert all(info.balanced for info in read_bundle(bundle_dir).assets.values())
    broken = _copy(bundle_dir, tmp_path)
    summary = json.loads((broken / "summary.json").read_text())
    entry = summary["assets"]["ethereum:native"]
    entry["unmoved"] = str(Decimal(entry["unmoved"]) + Decimal("0.000000000000000001"))
    (broken / "summary.json").write_text(json.dumps(summary))
    assert not read_bundle(broken).assets["ethereum:native"].balanced
    assert read_bundle(broken).assets["bsc:native"].balanced


def test_swapped_in_asset_shares_use_stolen_plus_swapped_in(bundle_dir: Path) -> None:
    bundle = read_bundle(bundle_dir)
    usdt = next(k for k in bundle.assets if k.startswith("ethereum:0x"))
    info = bundle.assets[usdt]
    assert info.ledger["stolen"] == 0 and info.ledger["swapped_in"] > 0
    assert bundle.share(usdt, info.ledger["swapped_in"]) == 1
    assert set(LEDGER_FIELDS) <= set(info.ledger)


def test_comparison_is_read(bundle_dir: Path) -> None:
    bundle = read_bundle(bundle_dir)
    assert bundle.comparison is not None and {"poison", "haircut", "fifo"} <= set(bundle.comparison)


def test_comparison_of_the_parent_directory_is_used(bundle_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "compare"
    shutil.copytree(bundle_dir, root / "haircut", ignore=shutil.ignore_patterns("comparison.json", ".synthetic-*"))
    (root / "comparison.json").write_text((bundle_dir / "comparison.json").read_text())
    assert read_bundle(root / "haircut").comparison is not None
    with pytest.raises(BadInput, match="policy comparison") as exc:
        read_bundle(root)
    assert "haircut" in str(exc.value)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda d: shutil.rmtree(d), "no bundle at"),
        (lambda d: (d / "flows.csv").unlink(), "flows.csv is missing"),
        (lambda d: (d / "summary.json").write_text("{not json"), "summary.json is not valid JSON"),
        (lambda d: (d / "manifest.json").write_text("[]"), "must each hold a JSON object"),
        (lambda d: (d / "endpoints.csv").write_text(""), "endpoints.csv is empty"),
        (lambda d: (d / "addresses.csv").write_text("chain,address\nethereum,0x1\n"), "addresses.csv has columns"),
        (
            lambda d: (d / "flows.csv").write_text((d / "flows.csv").read_text().replace(",1\n", ",x\n", 1)),
            "flows.csv line",
        ),
        (lambda d: (d / "summary.json").write_text('{"case": "x", "policy": "haircut"}'), "lacks the key 'assets'"),
        (
            lambda d: (d / "summary.json").write_text(
                json.dumps({"case": "x", "policy": "p", "assets": {"ETH": {"stolen": "1"}}})
            ),
            "chain:native",
        ),
        (lambda d: (d / "comparison.json").write_text('{"haircut": 3}'), "comparison.json must map"),
    ],
)
def test_broken_bundle_is_one_line_bad_input(bundle_dir: Path, tmp_path: Path, damage, expected: str) -> None:
    broken = _copy(bundle_dir, tmp_path)
    damage(broken)
    with pytest.raises(BadInput) as exc:
        read_bundle(broken)
    assert expected in str(exc.value)
    assert "\n" not in str(exc.value)


def test_bad_amount_names_file_line_and_column(bundle_dir: Path, tmp_path: Path) -> None:
    broken = _copy(bundle_dir, tmp_path)
    lines = (broken / "endpoints.csv").read_text().splitlines()
    cells = lines[2].split(",")
    cells[6] = "-1"
    lines[2] = ",".join(cells)
    (broken / "endpoints.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(BadInput, match=r"endpoints.csv line 3: tainted_amount '-1'"):
        read_bundle(broken)


def test_fixture_is_deterministic(tmp_path: Path) -> None:
    a = write_synthetic_bundle(tmp_path / "a", addresses=60)
    b = write_synthetic_bundle(tmp_path / "b", addresses=60)
    for name in ("summary.json", "addresses.csv", "flows.csv", "endpoints.csv", "manifest.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
