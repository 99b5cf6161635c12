"""Label import/export: CSV and GraphSense TagPack YAML, malformed input named by line, and the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from tracer.cli import main
from tracer.core.errors import BadLabelFile
from tracer.core.models import Category, Label
from tracer.environment import Environment
from tracer.labels.files import (
    chain_for_tag,
    export_csv,
    export_tagpack,
    parse_label_csv,
    parse_tagpack,
    read_label_file,
)

# SYNTHETIC addresses (valid form, in no dataset) unless a comment says otherwise.
A = "0x" + "a1" * 20
B = "0x" + "b2" * 20
BTC = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"  # BIP-173 test vector
TORNADO_10_ETH = "0x910cbd523d972eb0a6f4cae4618ad62622b39dbf"  # OFAC SDN ETH list (bundled)


def _labels() -> list[Label]:
    return [
        Label("ethereum", A, Category.EXCHANGE, "SYNTHETIC exchange, hot", "user", "notes:1", "exchange", 0.9),
        Label("bitcoin", BTC, Category.MIXER, "SYNTHETIC mixer", "case-42", "notes:2", "mixing_service", 0.75),
        Label("bsc", B, Category.EXCHANGE_DEPOSIT, 'a "quoted", name', "user", "notes:3", "deposit", 1.0),
    ]


def test_csv_round_trip() -> None:
    labels = _labels()
    assert parse_label_csv(export_csv(labels), name="x.csv") == labels


def test_tagpack_round_trip() -> None:
    labels = _labels()
    assert parse_tagpack(export_tagpack(labels), name="x.yaml") == labels


def test_minimal_csv_and_defaults() -> None:
    text = "chain,address,category\n# a comment\n\nethereum,0x" + "A1" * 20 + ",Mixing_Service\n"
    (label,) = parse_label_csv(text, name="mine.csv")
    assert (label.address, label.category, label.source, label.source_ref) == (A, Category.MIXER, "user", "mine.csv:4")
    assert label.confidence == 1.0 and label.source_words == "Mixing_Service"


GRAPHSENSE_PACK = f"""\
title: SYNTHETIC investigator pack
creator: test
currency: ETH
confidence: service_data
source: https://example.org/report
tags:
- address: '{A}'
  label: SYNTHETIC exchange
  category: exchange
- address: '{B}'
  label: SYNTHETIC mixer
  category: mixing_service
  confidence: web_crawl
- address: '{TORNADO_10_ETH}'
  label: SYNTHETIC dex note
  category: defi_dex
- address: {BTC}
  currency: BTC
  label: SYNTHETIC thief
  abuse: service_hack
"""


def test_graphsense_tagpack_categories_and_header_inheritance() -> None:
    labels = parse_tagpack(GRAPHSENSE_PACK, name="pack.yaml")
    assert [lb.category for lb in labels] == [Category.EXCHANGE, Category.MIXER, Category.DEX, Category.HACKER]
    assert [lb.chain for lb in labels] == ["ethereum", "ethereum", "ethereum", "bitcoin"]
    assert labels[0].confidence == 0.9 and labels[1].confidence == 0.6
    assert labels[0].source_ref == "https://example.org/report"
    assert "category=mixing_service" in labels[1].source_words


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("address,category\nethereum,exchange\n", 1, "header lacks chain"),
        ("chain,address,category,colour\n", 1, "unknown column 'colour'"),
        (f"chain,address,category\nethereum,{A},exchange\nethereum,0x12,exchange\n", 3, "not an EVM address"),
        (f"chain,address,category\nethereum,{A},cafeteria\n", 2, "unknown label category"),
        (f"chain,address,category\nfantom,{A},exchange\n", 2, "unknown chain 'fantom'"),
        (f"chain,address,category,confidence\nethereum,{A},exchange,1.5\n", 2, "not between 0 and 1"),
        (f"chain,address,category\nethereum,{A},exchange,extra\n", 2, "4 fields"),
        (f"chain,address,category\n\nethereum,{A[:-1]}Z,exchange\n", 3, "not an EVM address"),
        (f'chain,address,category,name\nethereum,{A},exchange,"open quote\n', 2, "not valid CSV"),
        ("", 1, "empty file"),
        (f"chain,address,category\nethereum,0x{'A1' * 19}a1,exchange\n", 2, "checksum"),
    ],
)
def test_malformed_csv_names_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(BadLabelFile) as exc:
        parse_label_csv(text, name="bad.csv")
    message = str(exc.value)
    assert message.startswith(f"bad.csv line {line}:"), message
    assert words in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("title: x\ntags:\n- address: [unclosed\n", 4, "flow sequence opened on line 3"),
        ("title: x\ntags:\n  - address: a\n    label: b\n   bad: indent\n", 5, "not valid YAML"),
        ("- just\n- a list\n", 1, "a TagPack is a mapping"),
        ("title: x\ntags: nope\n", 2, "needs a 'tags:' list"),
        (
            f"title: x\ncurrency: ETH\ncategory: exchange\ntags:\n- address: '{A}'\n- label: no address\n",
            6,
            "no address",
        ),
        (f"title: x\ncurrency: DOGE\ncategory: exchange\ntags:\n- address: '{A}'\n", 5, "not a supported chain"),
        (f"title: x\ncurrency: ETH\ntags:\n- address: '{A}'\n  category: user\n", 4, "map to no heisttrace category"),
        ("title: x\ncurrency: ETH\ncategory: exchange\ntags:\n- address: '0x1234'\n", 5, "not an EVM address"),
        ("title: x\ntags:\n- 42\n", 3, "a tag must be a mapping"),
    ],
)
def test_malformed_tagpack_names_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(BadLabelFile) as exc:
        parse_tagpack(text, name="bad.yaml")
    message = str(exc.value)
    assert message.startswith(f"bad.yaml line {line}:"), message
    assert words in message


def test_tag_chains() -> None:
    assert chain_for_tag("USDT", "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb") == "tron"
    assert chain_for_tag("USDT", A) == "ethereum"
    assert chain_for_tag("BEP20", A) == "bsc"
    assert chain_for_tag("AVAX", "X-avax1xyz") is None
    assert chain_for_tag("ETH", A, "arbitrum") == "arbitrum"
    assert chain_for_tag("LTC", "ltc1qxyz") is None


def test_file_dispatch(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(export_csv(_labels()))
    (tmp_path / "a.yml").write_text(export_tagpack(_labels()))
    assert read_label_file(tmp_path / "a.csv") == read_label_file(tmp_path / "a.yml") == _labels()
    with pytest.raises(BadLabelFile, match="unknown label file type"):
        read_label_file(tmp_path / "a.txt")
    with pytest.raises(BadLabelFile, match="no such file"):
        read_label_file(tmp_path / "missing.csv")


# --------------------------------------------------------------------------- CLI


def _run(home: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdout=Console(file=out, width=200, soft_wrap=True), stderr=Console(file=err, soft_wrap=True), home=home
    )
    return main(list(argv), env), out.getvalue(), err.getvalue()


def test_cli_import_show_export_delete(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pack = tmp_path / "pack.yaml"
    pack.write_text(GRAPHSENSE_PACK)
    code, out, _ = _run(home, "labels", "import", str(pack))
    assert code == 0 and "imported 4 labels" in out

    code, out, _ = _run(home, "labels", "show", TORNADO_10_ETH, "--chain", "ethereum", "--json")
    doc = json.loads(out)
    assert code == 0 and doc[0]["best"]["name"] == "SYNTHETIC dex note"  # user label wins
    assert doc[0]["best"]["conflicts"]  # ... and disagrees with the bundled mixer labels
    assert {"ofac-sdn", "user"} <= {lb["source"] for lb in doc[0]["labels"]}

    code, out, _ = _run(home, "labels", "show", TORNADO_10_ETH)
    assert code == 0 and "ethereum" in out and "* dex" in out

    out_csv = tmp_path / "out.csv"
    code, _, err = _run(home, "labels", "export", "--out", str(out_csv))
    assert code == 0 and "wrote 4 labels" in err
    assert len(read_label_file(out_csv)) == 4
    code, out, _ = _run(home, "labels", "export", "--format", "tagpack")
    assert code == 0 and len(parse_tagpack(out, name="stdout")) == 4

    code, out, _ = _run(home, "labels", "stats", "--json")
    assert code == 0 and json.loads(out)["user_labels"] == 4

    code, out, _ = _run(home, "labels", "delete", "--source", "user")
    assert code == 0 and "deleted 4" in out
    code, out, _ = _run(home, "labels", "show", TORNADO_10_ETH, "--chain", "ethereum", "--json")
    assert json.loads(out)[0]["best"]["category"] == "mixer"


def test_cli_rejects_a_malformed_file_in_one_line_and_imports_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = tmp_path / "bad.csv"
    bad.write_text(f"chain,address,category\nethereum,{A},exchange\nethereum,{B},not-a-category\n")
    code, out, err = _run(home, "labels", "import", str(bad))
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "line 3" in err and "not-a-category" in err
    code, out, _ = _run(home, "labels", "export")
    assert code == 0 and out.strip() == "chain,address,category,name,source,source_ref,source_words,confidence"


def test_cli_show_unknown_and_bad_address(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "labels", "show", A)
    assert code == 0 and "no label" in out
    code, _, err = _run(tmp_path, "labels", "show", "0x1234")
    assert code == 2 and "not an EVM address" in err
    code, _, err = _run(tmp_path, "labels", "show", A, "--chain", "fantom")
    assert code == 2 and "unknown chain" in err


_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    name=_text,
    source=_text.filter(lambda s: s.strip() == s and s != ""),
    ref=_text.filter(lambda s: s.strip() == s and s != ""),
    words=_text.filter(lambda s: s.strip() == s and s != ""),
    category=st.sampled_from(list(Category)),
    confidence=st.integers(0, 10_000).map(lambda n: n / 10_000),
)
def test_round_trips_hold_for_any_text(
    name: str, source: str, ref: str, words: str, category: Category, confidence: float
) -> None:
    label = Label("ethereum", A, category, name.strip(), source, ref, words, confidence)
    assert parse_label_csv(export_csv([label]), name="x.csv") == [label]
    assert parse_tagpack(export_tagpack([label]), name="x.yaml") == [label]


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_parses_or_fails_with_one_clear_error(text: str) -> None:
    for parse in (parse_label_csv, parse_tagpack):
        try:
            parse(text, name="fuzz")
        except BadLabelFile as exc:
            assert str(exc).startswith("fuzz line ") and "\n" not in str(exc).strip()


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["ethereum", "bitcoin", "tron", "bsc", "moon", ""]),
            st.sampled_from([A, B, BTC, "0x12", "", "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb"]),
            st.sampled_from(["exchange", "mixing_service", "defi_dex", "nope", ""]),
        ),
        max_size=5,
    )
)
def test_structured_csv_fuzz(rows: list[tuple[str, str, str]]) -> None:
    text = "chain,address,category\n" + "".join(f"{c},{a},{k}\n" for c, a, k in rows)
    try:
        labels = parse_label_csv(text, name="fuzz.csv")
    except BadLabelFile as exc:
        assert str(exc).startswith("fuzz.csv line ")
    else:
        assert len(labels) == sum(1 for row in rows if any(row))  # blank rows are skipped
