"""THORChain memo grammar (chains.crosschain.thorchain_memo): every documented form, and refusals."""

from __future__ import annotations

import pytest

from chains.crosschain.thorchain_memo import MemoError, inbound_id, is_housekeeping, parse_asset, parse_memo

BTC_ADDR = "bc1qsyntheticrecipient0000000000000000000"
ETH_ADDR = "0x" + "ab" * 20


@pytest.mark.parametrize("name", ["SWAP", "swap", "s", "S", "=", "=<"])
def test_every_swap_name(name: str) -> None:
    memo = parse_memo(f"{name}:BTC.BTC:{BTC_ADDR}")
    assert memo.action == "swap" and memo.function == name
    assert memo.asset.text == "BTC.BTC" and memo.asset.chain_slug == "bitcoin"
    assert memo.destination == BTC_ADDR and memo.limit == 0 and not memo.streaming


@pytest.mark.parametrize(
    ("code", "asset"),
    [
        ("b", "BTC.BTC"),
        ("e", "ETH.ETH"),
        ("a", "AVAX.AVAX"),
        ("c", "BCH.BCH"),
        ("d", "DOGE.DOGE"),
        ("l", "LTC.LTC"),
        ("s", "BSC.BNB"),
        ("f", "BASE.ETH"),
        ("g", "GAIA.ATOM"),
        ("x", "XRP.XRP"),
        ("r", "THOR.RUNE"),
        ("tr", "TRON.TRX"),
        ("B", "BTC.BTC"),
    ],
)
def test_short_asset_codes(code: str, asset: str) -> None:
    assert parse_asset(code).text == asset


def test_streaming_swap_with_affiliate() -> None:
    memo = parse_memo(f"=:b:{BTC_ADDR}:0/3/0:t:30")
    assert memo.asset.text == "BTC.BTC"
    assert (memo.limit, memo.interval, memo.quantity) == (0, 3, 0) and memo.streaming
    assert memo.affiliates == ("t",) and memo.fees == (30,)


def test_limit_in_scientific_notation() -> None:
    assert parse_memo(f"SWAP:BTC.BTC:{BTC_ADDR}:1e6").limit == 1_000_000
    memo = parse_memo("=:e:dx:161e6:t:10")
    assert memo.destination == "dx" and memo.limit == 161_000_000 and memo.asset.chain_slug == "ethereum"


def test_refund_address_and_empty_destination() -> None:
    memo = parse_memo(f"=:BTC.BTC:{BTC_ADDR}/{ETH_ADDR}")
    assert memo.destination == BTC_ADDR and memo.refund_address == ETH_ADDR
    assert parse_memo("=:BTC.BTC:").destination is None  # back to the sender


def test_tokens_fuzzy_synth_trade_secured() -> None:
    full = parse_asset("ETH.USDT-0xdAC17F958D2ee523a2206206994597C13D831ec7")
    assert full.contract == "0XDAC17F958D2EE523A2206206994597C13D831EC7" and not full.fuzzy
    fuzzy = parse_asset("ETH.USDT-ec7")
    assert fuzzy.fuzzy and fuzzy.symbol == "USDT-EC7"
    synth, trade, secured = parse_asset("BTC/BTC"), parse_asset("BTC~BTC"), parse_asset("BTC-BTC")
    assert (synth.kind, trade.kind, secured.kind) == ("synth", "trade", "secured")
    assert not any(a.leaves_thorchain for a in (synth, trade, secured))  # stay inside THORChain
    assert synth.chain_slug is None


def test_multiple_affiliates_and_aggregator_fields_and_pipe() -> None:
    memo = parse_memo(f"=:ETH.ETH:{ETH_ADDR}:0:t/ss/wr:10/20/5:agg:0xfeed:1|ignored:after:pipe")
    assert memo.affiliates == ("t", "ss", "wr") and memo.fees == (10, 20, 5)
    assert memo.extra == ("agg", "0xfeed", "1")
    assert memo.raw.endswith("pipe") and "ignored" not in memo.extra


def test_out_and_refund_memos() -> None:
    out = parse_memo("OUT:9D5F1A2B3C")
    assert out.action == "out" and out.inbound_id == "9D5F1A2B3C"
    assert parse_memo("refund:abc").action == "refund" and parse_memo("REFUND:abc").inbound_id == "ABC"


def test_other_functions_and_housekeeping() -> None:
    assert parse_memo("+:BTC.BTC").action == "other"
    assert parse_memo("WITHDRAW:BTC.BTC:10000").action == "other"
    assert is_housekeeping("MIGRATE:123") and is_housekeeping("consolidate") and is_housekeeping("ragnarok")
    assert not is_housekeeping(f"=:b:{BTC_ADDR}")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "=:",
        "=:BTC.BTC",
        "=:nonsense:addr",
        f"=:b:{BTC_ADDR}:abc",
        f"=:b:{BTC_ADDR}:1/2",
        f"=:b:{BTC_ADDR}:-5",
        f"=:b:{BTC_ADDR}:0:a/b/c/d/e/f:1",
        f"=:b:{BTC_ADDR}:0:a/b:1/2/3",
        f"=:b:{BTC_ADDR}:0:t",
        "OUT:",
    ],
)
def test_malformed_memos_are_refused(bad: str) -> None:
    with pytest.raises(MemoError):
        parse_memo(bad)


def test_inbound_id_is_hash_without_0x_upper_case() -> None:
    assert inbound_id("0xabcdef01") == "ABCDEF01"
