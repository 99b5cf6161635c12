"""The label book: bundled lookups of known addresses, user labels winning, conflicts flagged, the store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracer.core.models import Category, Label
from tracer.core.protocols import LabelLookup
from tracer.labels.book import LabelBook, flag_conflicts, load_labels, pick_best
from tracer.labels.taxonomy import (
    etherscan_category,
    exchange_wallet_kind,
    forta_category,
    graphsense_category,
    graphsense_confidence,
    parse_category,
)
from tracer.store import Store

# Addresses below are read from the bundled data (sources named in each test); none is invented.
TORNADO_10_ETH = "0x910cbd523d972eb0a6f4cae4618ad62622b39dbf"  # OFAC SDN ETH list; Etherscan "Tornado.Cash: 10 ETH"
BINANCE_14 = "0x28c6c06298d514db089934071355e5743bf21d60"  # Etherscan dump "Binance 14"
BITKUB_HOT_3 = "0x59e0cda5922efba00a57794faf09bf6252d64126"  # Etherscan dump "Bitkub: Hot Wallet 3" [hot-wallet]
RONIN_EXPLOITER = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"  # OFAC SDN ETH list; Etherscan "Ronin Bridge Exploiter"
UNLABELLED = "0x" + "5a" * 20  # SYNTHETIC address, in no dataset


@pytest.fixture(scope="module")
def book() -> LabelBook:
    return LabelBook().load()


def test_book_implements_the_engine_protocol(book: LabelBook) -> None:
    lookup: LabelLookup = book
    assert lookup.label("ethereum", UNLABELLED) is None


def test_ofac_tornado_pools_resolve_as_sanctioned_mixers(book: LabelBook) -> None:
    best = book.label("ethereum", TORNADO_10_ETH)
    assert best is not None and best.category is Category.MIXER
    assert book.is_sanctioned("ethereum", TORNADO_10_ETH)
    assert book.describe("ethereum", TORNADO_10_ETH) == "sanctioned mixer"
    sources = {(lb.source, lb.category) for lb in book.labels("ethereum", TORNADO_10_ETH)}
    assert ("ofac-sdn", Category.SANCTIONED) in sources
    assert ("etherscan-labels", Category.MIXER) in sources


def test_every_ofac_listed_tornado_pool_is_a_mixer(book: LabelBook) -> None:
    pools = set()
    for lb in book.iter_bundled():
        named_pool = lb.source == "etherscan-labels" and re.match(r"Tornado\.Cash: \d", lb.name)
        if named_pool and any(x.source == "ofac-sdn" for x in book.labels(lb.chain, lb.address)):
            pools.add((lb.chain, lb.address))
    assert len(pools) >= 20  # the ETH, DAI, cDAI, USDC, USDT, WBTC pools
    for chain, address in pools:
        assert book.category(chain, address) is Category.MIXER, address
        assert book.describe(chain, address) == "sanctioned mixer"


def test_exchange_hot_wallets_from_the_etherscan_dump_are_exchanges(book: LabelBook) -> None:
    binance = book.label("ethereum", BINANCE_14)
    assert binance is not None and binance.category is Category.EXCHANGE
    assert binance.is_endpoint
    bitkub = book.label("ethereum", BITKUB_HOT_3)
    assert bitkub is not None and bitkub.category is Category.EXCHANGE
    assert bitkub.source == "etherscan-labels" and "hot-wallet" in bitkub.source_words
    assert book.describe("ethereum", BITKUB_HOT_3) == "exchange (hot wallet)"


def test_a_sanctioned_exploiter_stays_a_hacker_so_tracing_goes_on(book: LabelBook) -> None:
    best = book.label("ethereum", RONIN_EXPLOITER)
    assert best is not None and best.category is Category.HACKER and not best.is_endpoint
    assert book.is_sanctioned("ethereum", RONIN_EXPLOITER)


def test_lookup_accepts_any_valid_case_and_rejects_nothing_silently(book: LabelBook) -> None:
    upper = "0x" + TORNADO_10_ETH[2:].upper()
    assert book.label("ethereum", upper) == book.label("ethereum", TORNADO_10_ETH)
    assert book.label("ethereum", "0xnot-an-address") is None
    assert book.labels("ethereum", "0xnot-an-address") == ()
    assert book.label("bsc", TORNADO_10_ETH) is None  # labels are per chain: this pool is an Ethereum contract


def test_labels_keep_source_words_and_confidence(book: LabelBook) -> None:
    for lb in book.labels("ethereum", TORNADO_10_ETH):
        assert lb.source and lb.source_ref and lb.source_words
        assert 0.0 < lb.confidence <= 1.0


def test_user_labels_win_and_conflicts_are_flagged(book: LabelBook) -> None:
    mine = Label("ethereum", BINANCE_14, Category.OTC, "my OTC desk", "user", "case-notes:1", "otc")
    extended = book.with_labels([mine])
    assert extended.label("ethereum", BINANCE_14).name == "my OTC desk"
    assert extended.label("ethereum", BINANCE_14).conflicts == ("etherscan-labels:exchange", "graphsense:exchange")
    bundled = [lb for lb in extended.labels("ethereum", BINANCE_14) if lb.source != "user"]
    assert bundled and all(lb.conflicts == ("user:otc",) for lb in bundled)
    # the original book is unchanged
    assert book.label("ethereum", BINANCE_14).category is Category.EXCHANGE


def test_sanctioned_is_a_status_and_never_a_conflict() -> None:
    a = Label("ethereum", UNLABELLED, Category.MIXER, "pool", "src-a", "a:1")
    b = Label("ethereum", UNLABELLED, Category.SANCTIONED, "sdn", "src-b", "b:1", confidence=1.0)
    c = Label("ethereum", UNLABELLED, Category.EXCHANGE, "cex", "src-c", "c:1", confidence=0.5)
    flagged = flag_conflicts([a, b, c])
    assert flagged[0].conflicts == ("src-c:exchange",)
    assert flagged[1].conflicts == ()
    assert flagged[2].conflicts == ("src-a:mixer",)
    assert pick_best([], [a, b, c]) == a  # a kind beats bare "sanctioned" despite lower confidence
    assert pick_best([c], [a, b]) == c  # user layer wins


def test_book_without_bundled_data_holds_only_extras() -> None:
    synthetic = Label("ethereum", UNLABELLED, Category.EXCHANGE, "SYNTHETIC exchange", "synthetic-test")
    book = LabelBook(bundled=False).with_labels([synthetic])
    assert book.label("ethereum", UNLABELLED) == synthetic
    assert book.label("ethereum", TORNADO_10_ETH) is None
    assert book.stats().labels == 1


def test_load_labels_reads_user_labels_from_the_store(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    mine = Label("ethereum", TORNADO_10_ETH, Category.OTHER_SERVICE, "my note", "user", "x.csv:2", "other")
    with Store.open(path) as store:
        store.write_user_labels([mine])
    book = load_labels(store=path)
    assert book.label("ethereum", TORNADO_10_ETH).name == "my note"
    assert book.is_sanctioned("ethereum", TORNADO_10_ETH)  # bundled labels are still there
    with Store.open(path) as store:
        assert load_labels(store=store).label("ethereum", TORNADO_10_ETH).name == "my note"
    assert load_labels(store=tmp_path / "absent.sqlite3").label("ethereum", TORNADO_10_ETH).category is Category.MIXER


def test_stats_count_sources_and_conflicts(book: LabelBook) -> None:
    stats = book.stats()
    assert set(stats.by_source) == {"ofac-sdn", "forta", "etherscan-labels", "graphsense"}
    assert stats.labels == sum(stats.by_source.values()) == sum(stats.by_category.values())
    assert 0 < stats.conflicting_addresses < stats.addresses


# --------------------------------------------------------------------------- taxonomy


@pytest.mark.parametrize(
    ("category", "abuse", "source", "expected"),
    [
        ("exchange", None, "", Category.EXCHANGE),
        ("mixing_service", None, "", Category.MIXER),
        ("defi_dex", None, "", Category.DEX),
        ("defi_bridge", None, "", Category.BRIDGE),
        ("gambling", None, "", Category.GAMBLING),
        ("exchange", "service_hack", "", Category.HACKER),
        (None, "ransomware", "", Category.RANSOMWARE),
        (None, "scam", "", Category.PHISHING),
        ("user", None, "https://www.treasury.gov/ofac/downloads/sdnlist.txt", Category.SANCTIONED),
        ("miner", None, "", Category.OTHER_SERVICE),
    ],
)
def test_graphsense_terms_map_onto_our_taxonomy(
    category: str | None, abuse: str | None, source: str, expected: Category
) -> None:
    assert graphsense_category(category=category, abuse=abuse, source=source)[0] is expected


def test_unmapped_graphsense_terms_are_none() -> None:
    assert graphsense_category(category="user", abuse=None, source="https://example.org") is None
    assert graphsense_category(category="black_list", abuse=None) is None
    assert graphsense_confidence("authority_data") > graphsense_confidence("web_crawl")
    assert graphsense_confidence(80) == 0.8


@pytest.mark.parametrize(
    ("name", "slugs", "expected"),
    [
        ("Tornado.Cash: 100 ETH", ["ofac-sanctions-lists", "tornado-cash"], Category.MIXER),
        ("Tornado.Cash: TORN Token", ["tornado-cash"], Category.OTHER_SERVICE),
        ("Kraken 6", ["cold-wallet", "kraken"], Category.EXCHANGE),
        ("Binance Wrapped FIL", ["binance"], Category.OTHER_SERVICE),
        ("Wintermute: Binance Deposit", ["binance"], Category.EXCHANGE_DEPOSIT),
        ("Genesis Trading: OTC Desk", ["otc"], Category.OTC),
        ("ChangeNOW 2", ["changenow"], Category.INSTANT_EXCHANGER),
        ("Optimism: L1 Escrow", ["bridge", "layer-2", "optimism"], Category.BRIDGE),
        ("SushiSwap: sUSD-yCREDIT", ["sushiswap"], Category.DEX),
        ("Ronin Bridge Exploiter", ["ofac-sanctions-lists"], Category.HACKER),
        ("", ["blocked", "ofac-sanctions-lists"], Category.SANCTIONED),
        ("Fake_Phishing1", ["phish-hack"], Category.PHISHING),
    ],
)
def test_etherscan_words_map_onto_our_taxonomy(name: str, slugs: list[str], expected: Category) -> None:
    assert etherscan_category(name, slugs)[0] is expected


def test_etherscan_person_tags_are_unmapped() -> None:
    assert etherscan_category("", ["airdrop-hunter"]) is None
    assert etherscan_category("someone", ["take-action", "mev-bot"]) is None


def test_forta_lists_and_words() -> None:
    assert forta_category("Upbit Hacker 1", "etherscan-heist-list")[0] is Category.HACKER
    assert forta_category("AnubisDAO Liquidity Rug 1", "etherscan-heist-list")[0] is Category.PHISHING
    assert forta_category("Fake_Phishing12", "etherscan-phish-hack-list")[0] is Category.PHISHING
    assert forta_category("DragonEx Hacker", "phish-hack")[0] is Category.HACKER


def test_parse_category_accepts_ours_aliases_and_graphsense_terms() -> None:
    assert parse_category("exchange-deposit") is Category.EXCHANGE_DEPOSIT
    assert parse_category("Mixing_Service") is Category.MIXER
    assert parse_category("defi_dex") is Category.DEX
    assert parse_category("instant exchanger") is Category.INSTANT_EXCHANGER
    with pytest.raises(ValueError, match="unknown label category"):
        parse_category("cafeteria")
    assert exchange_wallet_kind("Upbit: Cold Wallet [cold-wallet, upbit]") == "cold"
    assert exchange_wallet_kind("Binance 14") is None
