"""The catalogue of real hacks: every case parses, every seed is checked against the data it cites."""

from __future__ import annotations

import csv
import io
import json
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest
from rich.console import Console

from tracer.cases.catalogue import CATALOGUE_DIR, case_ids, get_case, list_cases, read_case_text, seed_sources
from tracer.cli import main
from tracer.core.errors import BadInput
from tracer.core.models import Category
from tracer.environment import Environment
from tracer.labels.book import LabelBook

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "data" / "raw"
needs_raw = pytest.mark.skipif(not (RAW / "forta-labelled-datasets").is_dir(), reason="../shared/data/raw absent")

REQUIRED = (
    "bybit-2025",
    "upbit-2019",
    "kucoin-2020",
    "bitfinex-2016",
    "ronin-2022",
    "harmony-2022",
    "atomic-wallet-2023",
)
UNLICENSED = ("bybit-incident-tna", "ethereumheist-lindan113", "blocksec-mftracer-laundernetevm41")


@pytest.fixture(scope="module")
def book() -> LabelBook:
    return LabelBook().load()


def test_required_cases_are_present() -> None:
    ids = case_ids()
    assert set(REQUIRED) <= set(ids)
    assert len(ids) >= 10
    assert [e.id for e in list_cases()] == ids


@pytest.mark.parametrize("case_id", case_ids())
def test_case_parses_and_every_seed_has_a_source(case_id: str) -> None:
    case = get_case(case_id)
    assert case.id == case_id and case.title and case.notes
    assert case.seeds
    sources = seed_sources(case_id)
    assert [(s.chain, s.address) for s in sources] == [(seed.chain, seed.address) for seed in case.seeds]
    for seed, src in zip(case.seeds, sources, strict=True):
        assert src.refs and src.dataset and src.source_words
        assert seed.role == src.role
        if not src.shippable:
            assert src.dataset in UNLICENSED and src.why
    text = read_case_text(case_id)
    assert text.count("# source: ") == len(case.seeds)


@pytest.mark.parametrize("case_id", case_ids())
def test_shippable_seeds_match_the_bundled_label_they_cite(case_id: str, book: LabelBook) -> None:
    for src in seed_sources(case_id):
        if not src.shippable:
            continue
        cited = [lb for lb in book.labels(src.chain, src.address) if lb.source == src.dataset]
        refs = {lb.source_ref for lb in cited}
        assert set(src.refs) <= refs, (case_id, src.address)
        categories = {lb.category for lb in cited if lb.source_ref in src.refs}
        if src.role == "thief":
            assert categories == {Category.HACKER}, (case_id, src.address, categories)
        else:
            assert Category.HACKER not in categories


def test_unlicensed_datasets_only_where_no_shippable_set_has_the_incident() -> None:
    unlicensed = {
        case_id
        for case_id in case_ids()
        for src in seed_sources(case_id)
        if not src.shippable
    }  # fmt: skip
    assert unlicensed == {"bybit-2025", "kucoin-2020", "atomic-wallet-2023"}
    assert len(seed_sources("bybit-2025")) == 1 and len(seed_sources("kucoin-2020")) == 1


@cache
def _raw_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8-sig").splitlines()


@needs_raw
@pytest.mark.parametrize("case_id", case_ids())
def test_every_seed_address_is_in_the_raw_row_it_cites(case_id: str) -> None:
    """Rebuilds the lookup from ../shared: each cited file:line (or file#key) holds the seed address."""
    for src in seed_sources(case_id):
        for ref in src.refs:
            if "#" in ref:
                file, key = ref.split("#", 1)
                entries = json.loads((RAW / file).read_text())
                assert key.lower() == src.address and key in entries
                assert entries[key]["name"] in src.source_words
            else:
                file, line = ref.rsplit(":", 1)
                text = _raw_lines(RAW / file)[int(line) - 1]
                assert src.address.lower() in text.lower(), ref
                if file.endswith(".csv") and not src.shippable and src.dataset == "ethereumheist-lindan113":
                    assert next(csv.reader(io.StringIO(text)))[1] == src.source_words


@needs_raw
def test_catalogue_build_reproduces_the_packaged_files(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_catalogue
    finally:
        sys.path.remove(str(ROOT / "tools"))
    build_catalogue.build(RAW, tmp_path, log=lambda *_: None)
    produced = sorted(p.name for p in tmp_path.iterdir())
    packaged = sorted(p.name for p in CATALOGUE_DIR.iterdir() if p.suffix in (".toml", ".json"))
    assert produced == packaged
    for name in produced:
        assert (tmp_path / name).read_bytes() == (CATALOGUE_DIR / name).read_bytes(), name


def test_case_files_have_only_known_keys() -> None:
    for case_id in case_ids():
        data = tomllib.loads(read_case_text(case_id))
        assert set(data) <= {"case", "seeds", "trace", "source"}


def test_unknown_case_is_bad_input() -> None:
    with pytest.raises(BadInput, match="known cases: ascendex-2021"):
        get_case("no-such-hack")
    with pytest.raises(BadInput):
        get_case("../labeldata/manifest")


def _run(home: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdout=Console(file=out, width=250, soft_wrap=True), stderr=Console(file=err, soft_wrap=True), home=home
    )
    return main(list(argv), env), out.getvalue(), err.getvalue()


def test_cli_cases_list_and_show(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "cases", "list", "--json")
    assert code == 0 and {c["id"] for c in json.loads(out)} == set(case_ids())
    code, out, _ = _run(tmp_path, "cases", "list")
    assert code == 0 and "bybit-2025" in out
    code, out, _ = _run(tmp_path, "cases", "show", "upbit-2019", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["seeds"][0]["dataset"] == "forta" and doc["seeds"][0]["labelled_now"] == "hacker"
    code, out, _ = _run(tmp_path, "cases", "show", "bybit-2025")
    assert code == 0 and "bybit-incident-tna" in out and "not bundled" in out
    code, out, _ = _run(tmp_path, "cases", "show", "kucoin-2020", "--toml")
    assert code == 0 and tomllib.loads(out)["case"]["id"] == "kucoin-2020"
    code, _, err = _run(tmp_path, "cases", "show", "nope")
    assert code == 2 and "no case 'nope'" in err
