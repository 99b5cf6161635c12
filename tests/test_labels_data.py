"""The bundled label data: rebuilt byte for byte from ../shared, every row traced back to its source row."""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from functools import cache
from pathlib import Path

import pytest

from tracer.core.models import Category
from tracer.labels.book import BUNDLED_FILE, LABELDATA

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "data" / "raw"
SHIPPABLE = (
    "ofac-sdn-addresses-0xb10c",
    "forta-labelled-datasets",
    "etherscan-labels-brianleect",
    "graphsense-tagpacks",
)
SOURCE_DIRS = {
    "ofac-sdn": "ofac-sdn-addresses-0xb10c",
    "forta": "forta-labelled-datasets",
    "etherscan-labels": "etherscan-labels-brianleect",
    "graphsense": "graphsense-tagpacks",
}
needs_raw = pytest.mark.skipif(not (RAW / "forta-labelled-datasets").is_dir(), reason="../shared/data/raw absent")


def _rows() -> list[dict[str, str]]:
    text = gzip.decompress(BUNDLED_FILE.read_bytes()).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


def _build_module():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_labels
    finally:
        sys.path.remove(str(ROOT / "tools"))
    return build_labels


def test_packaged_data_is_compact_and_attributed() -> None:
    assert BUNDLED_FILE.stat().st_size < 4_000_000
    attribution = (LABELDATA / "ATTRIBUTION.md").read_text()
    for upstream in ("0xB10C", "forta-network", "brianleect", "graphsense"):
        assert upstream in attribution
    manifest = json.loads((LABELDATA / "manifest.json").read_text())
    assert manifest["rows"] == len(_rows())


def test_every_row_is_well_formed_and_from_a_shippable_set() -> None:
    rows = _rows()
    assert len(rows) > 40_000
    for row in rows:
        assert row["source"] in SOURCE_DIRS, row
        assert row["source_ref"].startswith(SOURCE_DIRS[row["source"]] + "/"), row
        assert Category(row["category"])
        assert 0.0 < float(row["confidence"]) <= 1.0
        assert row["source_words"]
    assert not any(name in row["source_ref"] for row in rows for name in ("blocksec", "bybit", "ethereumheist"))


@needs_raw
def test_build_reproduces_the_packaged_files_byte_for_byte(tmp_path: Path) -> None:
    build_labels = _build_module()
    build_labels.build(RAW, tmp_path, log=lambda *_: None)
    for name in ("labels.tsv.gz", "manifest.json", "ATTRIBUTION.md"):
        assert (tmp_path / name).read_bytes() == (LABELDATA / name).read_bytes(), name


def _norm(text: str) -> str:
    """Whitespace collapsed and CSV/YAML quotes dropped (the build stores one-line text)."""
    return " ".join(text.replace('"', "").replace("'", "").split())


@cache
def _raw_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8-sig").splitlines()


@cache
def _raw_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@needs_raw
def test_every_packaged_label_traces_back_to_its_source_row() -> None:
    checked = 0
    for row in _rows():
        ref = row["source_ref"]
        address = row["address"].lower()
        if "#" in ref:  # JSON object key (Etherscan dumps)
            file, key = ref.split("#", 1)
            entry = _raw_json(RAW / file)[key]
            assert key.lower() == address, ref
            assert entry["name"] in row["source_words"] or not entry["name"], ref
            assert all(slug in row["source_words"] for slug in entry["labels"]), ref
        else:
            file, line = ref.rsplit(":", 1)
            lines = _raw_lines(RAW / file)
            text = lines[int(line) - 1]
            assert address in text.lower(), ref
            if row["source"] in ("forta", "graphsense") and row["name"] != "malicious contract":
                own_name = row["name"].removeprefix("contract by ")
                window = " ".join(lines[int(line) - 6 : int(line) + 6]) if row["source"] == "graphsense" else text
                header = " ".join(lines[:15])  # TagPack header fields are inherited by every tag
                assert _norm(own_name) in _norm(window) or _norm(own_name) in _norm(header), ref
        checked += 1
    assert checked == len(_rows())


@needs_raw
def test_known_rows_land_in_the_expected_category() -> None:
    by_ref = {r["source_ref"]: r for r in _rows()}
    upbit = by_ref["forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv:1973"]
    assert (upbit["address"], upbit["category"]) == ("0xa09871aeadf4994ca12f5c0b6056bbd1d343c029", "hacker")
    ronin = by_ref["ofac-sdn-addresses-0xb10c/sanctioned_addresses_ETH.txt:11"]
    assert (ronin["address"], ronin["category"]) == ("0x098b716b8aaf21512996dc57eb0615e2383e2f96", "sanctioned")
