"""Bridge deposits decoded from EVM facts, and the resolvers (Midgard, LI.FI, amount-time fallback).

Midgard and LI.FI answers are recorded-shape SYNTHETIC documents, served by their emulators over
real HTTP on 127.0.0.1 where the client is exercised.
"""

from __future__ import annotations

from fractions import Fraction

from eth_abi import encode

from chains.crosschain.evm_inbound import (
    DEPOSIT_TOPIC,
    DEPOSIT_WITH_EXPIRY,
    LIFI_BRIDGE_DATA,
    LIFI_DIAMOND,
    LIFI_STARTED_TOPIC,
    THORCHAIN_ROUTERS,
    lifi_deposits,
    thorchain_deposits,
)
from chains.crosschain.lifi import LifiClient, resolution_from_status
from chains.crosschain.midgard import MidgardClient, resolution_from_actions
from chains.emulators.lifi import LifiEmulator, lifi_transfer
from chains.emulators.midgard import MidgardEmulator, midgard_action
from chains.evm_decode import pad_topic
from heuristics.crossing_match import Arrival, match_amount_time
from tracer.core.crossings import CrossingOut, EvmLog, EvmTxFacts

ROUTER = sorted(THORCHAIN_ROUTERS)[1]  # 0xd37b... (current)
VAULT = "0x" + "7a" * 20
THIEF = "0x" + "11" * 20
AGG = "0x" + "22" * 20
TX = "0x" + "ab" * 32
BTC_OUT = "f0" * 32
BTC_TO = "bc1qsyntheticthiefbtc0000000000000000000"
MEMO = f"=:b:{BTC_TO}:0/1/0:t:30"


def facts(**kw) -> EvmTxFacts:
    base = dict(chain="ethereum", tx_hash=TX, sender=THIEF, to=ROUTER, value=0, input="0x", success=True)
    base.update(kw)
    return EvmTxFacts(**base)


def deposit_log(amount: int, memo: str, asset: str = "0x" + "0" * 40, router: str = ROUTER) -> EvmLog:
    data = "0x" + encode(["uint256", "string"], [amount, memo]).hex()
    return EvmLog(router, (DEPOSIT_TOPIC, pad_topic(VAULT), pad_topic(asset)), data, 3)


def test_router_call_is_decoded() -> None:
    args = encode(["address", "address", "uint256", "string", "uint256"], [VAULT, "0x" + "0" * 40, 10**18, MEMO, 99])
    found = thorchain_deposits(facts(input=DEPOSIT_WITH_EXPIRY + args.hex(), value=10**18))
    assert len(found) == 1
    d = found[0]
    assert (d.protocol, d.contract, d.asset, d.amount, d.memo, d.join_key) == (
        "thorchain",
        ROUTER,
        None,
        10**18,
        MEMO,
        VAULT,
    )


def test_deposit_log_inside_an_aggregator_call_is_found() -> None:
    token = "0x" + "cc" * 20
    found = thorchain_deposits(facts(to=AGG, input="0xdeadbeef", logs=(deposit_log(5_000_000, MEMO, token),)))
    assert [(d.asset, d.amount, d.memo) for d in found] == [(token, 5_000_000, MEMO)]


def test_plain_vault_send_with_memo_in_calldata() -> None:
    f = facts(to=VAULT, value=2 * 10**18, input="0x" + MEMO.encode().hex())
    assert thorchain_deposits(f) == []  # an address nobody said is a vault
    (d,) = thorchain_deposits(f, vaults=[VAULT])
    assert (d.contract, d.amount, d.memo) == (VAULT, 2 * 10**18, MEMO)


def test_failed_and_unrelated_transactions_are_ignored() -> None:
    assert thorchain_deposits(facts(success=False, logs=(deposit_log(1, MEMO),))) == []
    assert thorchain_deposits(facts(to=AGG, logs=(deposit_log(1, MEMO, router=AGG),))) == []  # not a router


def test_lifi_transfer_started_is_decoded() -> None:
    usdc, receiver = "0x" + "dd" * 20, "0x" + "33" * 20
    bridge_data = (b"\x01" * 32, "across", "jumper", "0x" + "0" * 40, usdc, receiver, 250_000_000, 42161, False, False)
    log = EvmLog(LIFI_DIAMOND, (LIFI_STARTED_TOPIC,), "0x" + encode([LIFI_BRIDGE_DATA], [bridge_data]).hex(), 7)
    (d,) = lifi_deposits(facts(to=LIFI_DIAMOND, logs=(log,)))
    assert (d.protocol, d.asset, d.amount, d.declared_chain, d.declared_recipient) == (
        "lifi",
        usdc,
        250_000_000,
        "arbitrum",
        receiver,
    )
    assert d.join_key.startswith("across:0x0101")


# -- Midgard -------------------------------------------------------------------------------------


def swap(**kw):
    base = dict(
        in_tx=TX,
        in_address=THIEF,
        in_asset="ETH.ETH",
        in_amount=100_000_000,
        outs=[(BTC_TO, BTC_OUT.upper(), "BTC.BTC", 5_000_000)],
        date_s=1_700_000_000,
        memo=MEMO,
    )
    base.update(kw)
    return midgard_action(**base)


def test_midgard_swap_resolves_to_the_btc_outbound_not_the_affiliate() -> None:
    action = swap(affiliate_outs=[("thor1affiliate", "", "THOR.RUNE", 1000)])
    r = resolution_from_actions([action], TX, source_chain="ethereum")
    assert (r.status, r.method, r.amount_in) == ("resolved", "midgard", 100_000_000)
    (out,) = r.outs
    assert (out.chain, out.tx_hash, out.address, out.asset, out.amount, out.refund) == (
        "bitcoin",
        BTC_OUT,
        BTC_TO,
        "native",
        5_000_000,
        False,
    )


def test_midgard_streaming_swap_with_a_refund_of_the_unswapped_part() -> None:
    outs = [(BTC_TO, BTC_OUT, "BTC.BTC", 4_000_000), (THIEF, "CD" * 32, "ETH.ETH", 20_000_000)]
    r = resolution_from_actions([swap(outs=outs)], TX, source_chain="ethereum")
    assert r.status == "resolved"
    eth = next(o for o in r.outs if o.chain == "ethereum")
    assert eth.refund and eth.amount == 20_000_000 * 10**10 and eth.tx_hash == "0x" + "cd" * 32


def test_midgard_pending_refund_failed_and_unknown() -> None:
    assert resolution_from_actions([swap(status="pending", outs=[])], TX, source_chain="ethereum").status == "pending"
    refund = swap(type_="refund", outs=[(THIEF, "EE" * 32, "ETH.ETH", 99_000_000)], reason="emit asset below limit")
    r = resolution_from_actions([refund], TX, source_chain="ethereum")
    assert r.status == "refunded" and r.outs[0].refund and "below limit" in r.note
    assert resolution_from_actions([swap(status="failed")], TX, source_chain="ethereum").status == "failed"
    assert resolution_from_actions([swap(in_tx="0x" + "99" * 32)], TX, source_chain="ethereum").status == "not-found"


def test_midgard_client_over_http() -> None:
    other = swap(in_tx="0x" + "12" * 32, outs=[(BTC_TO, "E1" * 32, "BTC.BTC", 7)])
    with MidgardEmulator([swap(), other]) as server:
        client = MidgardClient(url=server.base_url)
        r = client.resolve(TX, source_chain="ethereum")
        assert r.status == "resolved" and r.outs[0].tx_hash == BTC_OUT
        assert server.request_log[-1][2]["txid"] == TX[2:].upper()  # THORChain's id: no 0x, upper case
        assert client.resolve("0x" + "34" * 32, source_chain="ethereum").status == "not-found"
        assert len(client.actions(BTC_OUT)) == 1  # found from its out hash too


# -- LI.FI ---------------------------------------------------------------------------------------

USDC_ETH, USDC_ARB = "0x" + "a0" * 20, "0x" + "af" * 20
ARB_TX = "0x" + "ae" * 32


def transfer(**kw):
    base = dict(
        tool="stargate",
        sending=(TX, 1, 250_000_000, USDC_ETH, "USDC", 6),
        receiving=(ARB_TX, 42161, 249_500_000, USDC_ARB, "USDC", 6),
        from_address=THIEF,
        to_address=THIEF,
    )
    base.update(kw)
    return lifi_transfer(**base)


def test_lifi_statuses() -> None:
    r = resolution_from_status(transfer())
    assert (r.status, r.method, r.amount_in) == ("resolved", "lifi-status", 250_000_000)
    out = r.outs[0]
    assert (out.chain, out.tx_hash, out.asset, out.amount, out.decimals) == (
        "arbitrum",
        ARB_TX,
        USDC_ARB,
        249_500_000,
        6,
    )
    assert "PARTIAL" in resolution_from_status(transfer(substatus="PARTIAL")).note
    refunded = resolution_from_status(transfer(substatus="REFUNDED", receiving=(TX, 1, 1, USDC_ETH, "USDC", 6)))
    assert refunded.status == "refunded" and refunded.outs[0].refund
    assert (
        resolution_from_status(
            transfer(status="PENDING", substatus="WAIT_DESTINATION_TRANSACTION", receiving=None)
        ).status
        == "pending"
    )
    assert resolution_from_status({"status": "FAILED"}).status == "failed"


def test_lifi_client_over_http_and_not_found() -> None:
    with LifiEmulator([transfer()]) as server:
        client = LifiClient(url=server.base_url, key="synthetic-key-123")
        assert client.resolve(TX, source_chain="ethereum").outs[0].tx_hash == ARB_TX
        assert client.resolve(ARB_TX, source_chain="arbitrum").status == "resolved"  # by the receiving hash
        assert client.resolve("0x" + "00" * 32, source_chain="ethereum").status == "not-found"


# -- the amount-time fallback --------------------------------------------------------------------


def arrival(tx: str, amount: int, at: int) -> Arrival:
    return Arrival(CrossingOut("arbitrum", tx, THIEF, "native", "ETH", amount, 18), at, amount)


def test_fallback_matches_one_arrival_with_low_confidence() -> None:
    r = match_amount_time("hop", 10**18, 1000, [arrival("0x1", 99 * 10**16, 1500), arrival("0x2", 10**18, 10**6)])
    assert (r.status, r.method, r.outs[0].tx_hash) == ("resolved", "amount-time", "0x1")
    assert r.confidence < 0.9 and "not fact" in r.note


def test_fallback_refuses_no_match() -> None:
    r = match_amount_time("hop", 10**18, 1000, [arrival("0x1", 10**18, 999), arrival("0x2", 10**18, 10**9)])
    assert r.status == "unresolved" and r.note.startswith("no match") and not r.outs


def test_fallback_refuses_two_matches() -> None:
    r = match_amount_time("hop", 10**18, 1000, [arrival("0x1", 10**18, 1100), arrival("0x2", 995 * 10**15, 1200)])
    assert r.status == "unresolved" and r.note.startswith("ambiguous") and "0x1" in r.note and "0x2" in r.note


def test_fallback_refuses_amount_out_of_tolerance() -> None:
    arrivals = [arrival("0x1", 90 * 10**16, 1100), arrival("0x2", 11 * 10**17, 1200)]  # 10 % less; more than sent
    r = match_amount_time("hop", 10**18, 1000, arrivals, tolerance=Fraction(2, 100))
    assert r.status == "unresolved" and r.note.startswith("amount out of tolerance")
