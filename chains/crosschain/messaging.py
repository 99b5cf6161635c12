"""LayerZero V2 / Stargate V2 and Wormhole: transfers announced on the source chain, their APIs' answers, and the
destination events, translated into records.

Facts from ../shared/docs/CROSSCHAIN.md:

- LayerZero scan `GET /v1/messages/tx/{txHash}` → `data[{pathway{srcEid, dstEid, sender, receiver},
  source{tx{txHash}}, destination{tx{txHash}, status}, guid, status}]` (statuses `DELIVERED`, `INFLIGHT`,
  `PAYLOAD_STORED`, `FAILED`, `BLOCKED`). `receiver` is the destination app, not the person: the person is in
  `OFTReceived(bytes32 indexed guid, uint32 srcEid, address indexed toAddress, uint256 amountReceivedLD)` of
  the destination transaction, joined on `guid` with `OFTSent(bytes32 indexed guid, uint32 dstEid, address
  indexed fromAddress, uint256 amountSentLD, uint256 amountReceivedLD)`. Endpoint ids: Ethereum 30101,
  Arbitrum 30110, Optimism 30111, Base 30184. Stargate's bus mode may put several users under one guid (an
  inference): match on guid, amount and recipient.
- Wormholescan `GET /api/v1/operations?txHash=<hash>` → `operations[{id, content{standarizedProperties{fromChain,
  toChain, toAddress, tokenAddress, amount}}, sourceChain{transaction{txHash}, status}, targetChain{transaction
  {txHash}, to, status}}]` (`targetChain` absent until redeemed). Wormhole chain ids: 2 Ethereum, 4 BSC,
  5 Polygon, 6 Avalanche, 23 Arbitrum, 24 Optimism, 30 Base, 1 Solana. The source transaction carries the
  core's `LogMessagePublished`. Amounts are normalised to 8 decimals, so the paid amount is read on the
  destination chain instead.
The event topics are the keccak of these signatures (checked in the tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from chains.crosschain.api import ResolverApi
from tracer.core.crossings import EvmTxFacts

OFT_SENT = "0x85496b760a4b7f8d66384b9df21b381f5d1b1e79f229a47aaf4c232edc2fe59a"
OFT_RECEIVED = "0xefed6d3500546b29533b128a29e3a94d70788727f0507505ac12eaf2e578fd9c"
LOG_MESSAGE_PUBLISHED = "0x6eb224fb001ed210e379b335e35efe88672a8ce935d981a6896b27ffdf52a3b2"
LAYERZERO_EIDS = {30101: "ethereum", 30110: "arbitrum", 30111: "optimism", 30184: "base"}
WORMHOLE_CHAINS = {2: "ethereum", 4: "bsc", 5: "polygon", 6: "avalanche", 23: "arbitrum", 24: "optimism", 30: "base"}
DEFAULT_LAYERZERO = "https://scan.layerzero-api.com"
DEFAULT_WORMHOLE = "https://api.wormholescan.io"
PUBLIC_RATE_PER_S = 1.0


@dataclass(frozen=True, slots=True)
class OftTransfer:
    """One side of an OFT transfer: `peer_chain` is the other side's chain (dstEid on send, srcEid on receive)."""

    guid: str
    address: str  # fromAddress (sent) or toAddress (received)
    peer_chain: str | None
    amount: int  # amountReceivedLD


def _data(hex_text: str) -> bytes:
    body = hex_text.removeprefix("0x")
    return bytes.fromhex(body) if body else b""


def oft_events(facts: EvmTxFacts, topic0: str) -> list[OftTransfer]:
    """`OFTSent` (topic0 OFT_SENT) or `OFTReceived` (OFT_RECEIVED) logs of one transaction, from any emitter."""
    if not facts.success:
        return []
    found = []
    for log in facts.logs:
        if not log.topics or log.topics[0].lower() != topic0 or len(log.topics) < 3:
            continue
        try:
            if topic0 == OFT_SENT:
                eid, _, amount = abi_decode(["uint32", "uint256", "uint256"], _data(log.data))
            else:
                eid, amount = abi_decode(["uint32", "uint256"], _data(log.data))
        except (ValueError, DecodingError):
            continue
        guid = log.topics[1].lower()
        found.append(OftTransfer(guid, "0x" + log.topics[2][-40:].lower(), LAYERZERO_EIDS.get(int(eid)), int(amount)))
    return found


def wormhole_published(facts: EvmTxFacts) -> bool:
    """True when the transaction published a Wormhole message (the core's `LogMessagePublished`)."""
    return facts.success and any(log.topics and log.topics[0].lower() == LOG_MESSAGE_PUBLISHED for log in facts.logs)


class LayerZeroScan(ResolverApi):
    """LayerZero scan: the messages a source transaction sent."""

    source = "layerzero"

    def __init__(self, *, url: str | None = None, archive: Any = None, client: Any = None) -> None:
        super().__init__(url or DEFAULT_LAYERZERO, public_rate_per_s=PUBLIC_RATE_PER_S, archive=archive, client=client)

    def messages(self, tx_hash: str) -> list[dict[str, Any]]:
        doc = self.get_object(f"{self.base_url}/v1/messages/tx/{tx_hash}", missing={})
        return [m for m in doc.get("data") or () if isinstance(m, dict)]


class WormholeScan(ResolverApi):
    """Wormholescan: the operations of a source transaction."""

    source = "wormholescan"

    def __init__(self, *, url: str | None = None, archive: Any = None, client: Any = None) -> None:
        super().__init__(url or DEFAULT_WORMHOLE, public_rate_per_s=PUBLIC_RATE_PER_S, archive=archive, client=client)

    def operations(self, tx_hash: str) -> list[dict[str, Any]]:
        doc = self.get_object(f"{self.base_url}/api/v1/operations", params={"txHash": tx_hash}, missing={})
        return [o for o in doc.get("operations") or () if isinstance(o, dict)]


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where an API says a message or transfer arrived (`tx` None while in flight)."""

    status: str  # delivered | pending | failed | not-found
    chain: str | None
    tx: str | None
    recipient: str | None = None
    detail: str = ""


def layerzero_delivery(messages: list[Mapping[str, Any]], guid: str) -> Delivery:
    """The message with `guid` (LayerZero scan `data[]`), translated."""
    wanted = [m for m in messages if str(m.get("guid", "")).lower() == guid.lower()] or (
        messages if len(messages) == 1 and not messages[0].get("guid") else []
    )
    if not wanted:
        return Delivery("not-found", None, None, detail="LayerZero scan lists no message with this guid")
    m = wanted[0]
    status = str(m.get("status") or (m.get("destination") or {}).get("status") or "").upper()
    dst = LAYERZERO_EIDS.get(int(str((m.get("pathway") or {}).get("dstEid", 0)) or 0))
    tx = ((m.get("destination") or {}).get("tx") or {}).get("txHash")
    if status in ("FAILED", "BLOCKED"):
        return Delivery("failed", dst, None, detail=f"LayerZero status {status}")
    if status != "DELIVERED" or not tx:
        return Delivery("pending", dst, None, detail=f"LayerZero status {status or 'unknown'}")
    return Delivery("delivered", dst, str(tx).lower(), detail="LayerZero status DELIVERED")


def wormhole_delivery(operations: list[Mapping[str, Any]]) -> Delivery:
    """The first operation of a source transaction (wormholescan `operations[]`), translated."""
    if not operations:
        return Delivery("not-found", None, None, detail="wormholescan lists no operation for it")
    op = operations[0]
    props = (op.get("content") or {}).get("standarizedProperties") or {}  # (sic), as the API spells it
    try:
        chain = WORMHOLE_CHAINS.get(int(str(props.get("toChain", 0))))
    except ValueError:
        chain = None
    to = str(props.get("toAddress") or "").lower()
    recipient = "0x" + to[-40:] if to else None
    target = op.get("targetChain") or {}
    tx = (target.get("transaction") or {}).get("txHash")
    if not tx:
        return Delivery("pending", chain, None, recipient, "not redeemed on the destination yet")
    if str(target.get("status", "")).lower() not in ("", "completed", "confirmed", "redeemed"):
        return Delivery("pending", chain, None, recipient, f"target status {target.get('status')}")
    tx_text = str(tx).lower()
    return Delivery("delivered", chain, tx_text if tx_text.startswith("0x") else "0x" + tx_text, recipient, "redeemed")
