"""Stargate/LayerZero and Wormhole: event topics, API translations, the bus-mode refusal (SYNTHETIC documents)."""

from __future__ import annotations

from eth_abi import encode
from eth_hash.auto import keccak

from chains.crosschain.messaging import (
    LOG_MESSAGE_PUBLISHED,
    OFT_RECEIVED,
    OFT_SENT,
    LayerZeroScan,
    WormholeScan,
    layerzero_delivery,
    oft_events,
    wormhole_delivery,
    wormhole_published,
)
from chains.emulators.messaging import (
    LayerZeroScanEmulator,
    WormholeScanEmulator,
    layerzero_message,
    wormhole_operation,
)
from chains.evm_decode import pad_topic
from tracer.core.crossings import EvmLog, EvmTxFacts
from tracer.crosschain.resolvers import CrossingRequest, LayerZeroResolver

GUID, SRC, DST = "0x" + "6e" * 32, "0x" + "aa" * 32, "0x" + "bb" * 32
ALICE, BOB, POOL = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20


def test_topics_are_the_documented_signatures() -> None:
    for topic, sig in (
        (OFT_SENT, "OFTSent(bytes32,uint32,address,uint256,uint256)"),
        (OFT_RECEIVED, "OFTReceived(bytes32,uint32,address,uint256)"),
        (LOG_MESSAGE_PUBLISHED, "LogMessagePublished(address,uint64,uint32,bytes,uint8)"),
    ):
        assert "0x" + keccak(sig.encode()).hex() == topic


def sent_facts() -> EvmTxFacts:
    data = "0x" + encode(["uint32", "uint256", "uint256"], [30184, 10**18, 99 * 10**16]).hex()
    return EvmTxFacts(
        "ethereum", SRC, ALICE, POOL, 10**18, "0x", True, (EvmLog(POOL, (OFT_SENT, GUID, pad_topic(ALICE)), data),)
    )


def received(to: str, amount: int) -> EvmLog:
    return EvmLog(
        POOL, (OFT_RECEIVED, GUID, pad_topic(to)), "0x" + encode(["uint32", "uint256"], [30101, amount]).hex()
    )


def test_oft_events_decode() -> None:
    (sent,) = oft_events(sent_facts(), OFT_SENT)
    assert (sent.guid, sent.address, sent.peer_chain, sent.amount) == (GUID, ALICE, "base", 99 * 10**16)
    facts = EvmTxFacts("base", DST, POOL, POOL, 0, "0x", True, (received(BOB, 5),))
    assert [(r.address, r.peer_chain, r.amount) for r in oft_events(facts, OFT_RECEIVED)] == [(BOB, "ethereum", 5)]


def test_layerzero_statuses() -> None:
    msg = layerzero_message(guid=GUID, src_eid=30101, dst_eid=30184, src_tx=SRC, dst_tx=DST)
    d = layerzero_delivery([msg], GUID)
    assert (d.status, d.chain, d.tx) == ("delivered", "base", DST)
    inflight = layerzero_message(guid=GUID, src_eid=30101, dst_eid=30184, src_tx=SRC, dst_tx=None, status="INFLIGHT")
    assert layerzero_delivery([inflight], GUID).status == "pending"
    blocked = layerzero_message(guid=GUID, src_eid=30101, dst_eid=30184, src_tx=SRC, dst_tx=None, status="BLOCKED")
    assert layerzero_delivery([blocked], GUID).status == "failed"
    assert layerzero_delivery([msg], "0x" + "00" * 32).status == "not-found"


def test_layerzero_resolver_refuses_a_bus_it_cannot_split() -> None:
    msg = layerzero_message(guid=GUID, src_eid=30101, dst_eid=30184, src_tx=SRC, dst_tx=DST)
    with LayerZeroScanEmulator([msg]) as server:
        scan = LayerZeroScan(url=server.base_url)
        request = CrossingRequest("ethereum", SRC, ALICE, frozenset({POOL}), "ethereum:native", 10**18, 10**18, 0)

        def resolve(*logs: EvmLog):
            dest = EvmTxFacts("base", DST, POOL, POOL, 0, "0x", True, logs)
            paid = lambda chain, tx, to: None  # noqa: E731 - the payment reader is not reached
            return LayerZeroResolver(scan, lambda chain, tx: dest, paid).resolve(request, sent_facts())

        two = resolve(received(ALICE, 99 * 10**16), received(BOB, 99 * 10**16))  # same guid and amount
        assert two.status == "unresolved" and "2 OFTReceived" in two.note
        one_matches = resolve(received(ALICE, 99 * 10**16), received(BOB, 7))  # the amount tells them apart
        assert one_matches.status == "unresolved" and "pays" in one_matches.note  # found; no payment was read
        assert resolve().status == "unresolved"
        assert scan.messages("0x" + "cc" * 32) == []  # 404: unknown transaction


def test_wormhole_over_http() -> None:
    done = wormhole_operation(
        src_tx=SRC, to_chain=5, to_address=BOB, token="0x" + "0" * 40, amount_8dec=10**8, target_tx=DST
    )
    waiting = wormhole_operation(
        src_tx=DST, to_chain=23, to_address=BOB, token="0x" + "0" * 40, amount_8dec=1, target_tx=None
    )
    with WormholeScanEmulator([done, waiting]) as server:
        scan = WormholeScan(url=server.base_url)
        d = wormhole_delivery(scan.operations(SRC))
        assert (d.status, d.chain, d.tx, d.recipient) == ("delivered", "polygon", DST, BOB)
        assert wormhole_delivery(scan.operations(DST)).status == "pending"
        assert wormhole_delivery(scan.operations("0x" + "cc" * 32)).status == "not-found"
    log = EvmLog(POOL, (LOG_MESSAGE_PUBLISHED, pad_topic(POOL)), "0x")
    assert wormhole_published(EvmTxFacts("ethereum", SRC, ALICE, POOL, 0, "0x", True, (log,)))
    assert not wormhole_published(EvmTxFacts("ethereum", SRC, ALICE, POOL, 0, "0x", False, (log,)))
