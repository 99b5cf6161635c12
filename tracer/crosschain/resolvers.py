"""The resolver interface and the resolvers: from a source-chain transaction that paid a bridge to its
destination payment(s), with the method used and a confidence.

A :class:`Resolver` gets the :class:`CrossingRequest` (the transaction, the bridge addresses it paid,
the tainted amount) and what the transaction says itself (:class:`tracer.core.crossings.EvmTxFacts`);
it answers None when the deposit is not its protocol's. Answers that cannot change any more
(resolved, refunded, failed) are kept in the store, so a re-run asks nobody and gives the same
bundle; pending and not-found answers are asked again next time.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chains.crosschain.across import FILLS, SPOKE_POOLS, across_deposits, decode_fill, fill_topics
from chains.crosschain.evm_inbound import LIFI_DIAMOND, THORCHAIN_ROUTERS, lifi_deposits, thorchain_deposits
from chains.crosschain.lifi import LifiClient
from chains.crosschain.messaging import (
    OFT_RECEIVED,
    OFT_SENT,
    LayerZeroScan,
    WormholeScan,
    layerzero_delivery,
    oft_events,
    wormhole_delivery,
    wormhole_published,
)
from chains.crosschain.midgard import MidgardClient
from chains.crosschain.thorchain_memo import MemoError, inbound_id, parse_memo
from tracer.core.crossings import (
    FAILED,
    NOT_FOUND,
    PENDING,
    REFUNDED,
    RESOLVED,
    UNRESOLVED,
    CrossingOut,
    EvmTxFacts,
    Resolution,
)
from tracer.core.errors import OfflineGap
from tracer.core.networks import get_chain

#: Addresses the resolvers recognise without a label (each protocol's own contracts).
KNOWN_CONTRACTS = frozenset({*THORCHAIN_ROUTERS, LIFI_DIAMOND, *SPOKE_POOLS.values()})
FINAL = (RESOLVED, REFUNDED, FAILED)


@dataclass(frozen=True, slots=True)
class CrossingRequest:
    """Taint that entered a bridge in one source-chain transaction."""

    chain: str
    tx_hash: str
    sender: str  # who paid the bridge
    bridges: frozenset[str]  # the bridge addresses paid in the transaction
    asset_key: str
    amount_in: int  # what entered the bridge (base units)
    tainted: int  # the taint in it (base units)
    timestamp: int
    symbol: str = ""  # the source asset's symbol
    label: str = ""  # the bridge's label (name), when labelled


class Resolver(Protocol):
    """One protocol's resolver."""

    protocol: str

    def resolve(self, request: CrossingRequest, facts: EvmTxFacts) -> Resolution | None:
        """The crossing's destination, or None when the transaction is not this protocol's."""
        ...


class ThorchainResolver:
    """THORChain: the router's deposit or a vault send, resolved by Midgard, checked on Bitcoin by `OUT:<id>`."""

    protocol = "thorchain"

    def __init__(self, midgard: MidgardClient, op_returns: Callable[[str, str], list[bytes]] | None) -> None:
        self.midgard = midgard
        self.op_returns = op_returns

    def resolve(self, request: CrossingRequest, facts: EvmTxFacts) -> Resolution | None:
        deposits = thorchain_deposits(facts, vaults=request.bridges)
        if not deposits:
            return None
        notes = []
        try:
            memo = parse_memo(deposits[0].memo or "")
        except MemoError as exc:
            memo, notes = None, [f"memo {deposits[0].memo!r} is malformed ({exc}): THORChain refunds such inbounds"]
        found = self.midgard.resolve(request.tx_hash, source_chain=request.chain)
        checks = dict(found.checks)
        confidence = found.confidence
        for out in found.outs:
            if memo is not None and memo.destination and not out.refund and out.address != memo.destination:
                notes.append(f"Midgard pays {out.address}, the memo named {memo.destination}")
            if get_chain(out.chain).kind.value == "utxo" and self.op_returns is not None:
                expected = f"{'REFUND' if out.refund else 'OUT'}:{inbound_id(request.tx_hash)}"
                memos = [d.decode("utf-8", "replace").strip() for d in self.op_returns(out.chain, out.tx_hash)]
                ok = any(m.upper() == expected for m in memos)
                checks[f"{out.chain} {out.tx_hash[:12]}… carries {expected[:16]}…"] = ok
                if not ok:
                    confidence = min(confidence, 0.6)
                    notes.append(f"{out.chain} {out.tx_hash} does not carry the OP_RETURN {expected}")
        if memo is not None and memo.action == "swap":
            notes.insert(0, f"memo {memo.raw}")
        note = "; ".join(n for n in (found.note, *notes) if n)
        return dataclasses.replace(found, confidence=confidence, checks=checks, note=note)

    def resolve_utxo(self, request: CrossingRequest) -> Resolution | None:
        """A Bitcoin inbound: a swap memo in the transaction's OP_RETURN, resolved by Midgard (id: the txid)."""
        if self.op_returns is None:
            return None
        memo = None
        for data in self.op_returns(request.chain, request.tx_hash):
            try:
                parsed = parse_memo(data.decode("utf-8", "replace"))
            except MemoError:
                continue
            if parsed.action == "swap":
                memo = parsed
                break
        if memo is None:
            return None
        found = self.midgard.resolve(request.tx_hash, source_chain=request.chain)
        notes = [n for n in (found.note, f"memo {memo.raw}") if n]
        for out in found.outs:
            if memo.destination and not out.refund and out.address != memo.destination.lower():
                notes.append(f"Midgard pays {out.address}, the memo named {memo.destination}")
        return dataclasses.replace(found, note="; ".join(notes))


class LifiResolver:
    """LI.FI: a `LiFiTransferStarted` log (or a payment to the diamond), resolved by the status API."""

    protocol = "lifi"

    def __init__(self, client: LifiClient) -> None:
        self.client = client

    def resolve(self, request: CrossingRequest, facts: EvmTxFacts) -> Resolution | None:
        deposits = lifi_deposits(facts)
        if not deposits and LIFI_DIAMOND not in request.bridges:
            return None
        found = self.client.resolve(request.tx_hash, source_chain=request.chain)
        notes = [found.note] if found.note else []
        for dep in deposits[:1]:
            for out in found.outs:
                if dep.declared_chain and out.chain != dep.declared_chain and not out.refund:
                    notes.append(f"the source chain declared {dep.declared_chain}, LI.FI paid on {out.chain}")
                if dep.declared_recipient and out.address != dep.declared_recipient and not out.refund:
                    notes.append(
                        f"the source chain declared receiver {dep.declared_recipient}, LI.FI paid {out.address}"
                    )
        return dataclasses.replace(found, note="; ".join(notes))


class AcrossResolver:
    """Across: the SpokePool's deposit event joined to the destination's fill event on (origin chain, deposit id)."""

    protocol = "across"

    def __init__(self, logs: Callable[[str, str, dict[int, str]], list[tuple[str, int, Any]]]) -> None:
        self.logs = logs

    def resolve(self, request: CrossingRequest, facts: EvmTxFacts) -> Resolution | None:
        deposits = across_deposits(facts, pools=frozenset(SPOKE_POOLS.values()) | request.bridges)
        if not deposits:
            return None
        dep = deposits[0]
        dest = dep.declared_chain
        pool = SPOKE_POOLS.get(dest or "")
        key = dep.join_key or ""
        if dest is None or pool is None:
            return Resolution(
                "across",
                UNRESOLVED,
                "across-events",
                0.0,
                note=f"deposit {key} to a chain heisttrace has no SpokePool for ({dest or 'unknown'})",
            )
        t1, t2 = fill_topics(key)
        fills = []
        for topic0 in FILLS:
            for tx_hash, when, log in self.logs(dest, pool, {0: topic0, 1: t1, 2: t2}):
                fill = decode_fill(tx_hash, log, timestamp=when)
                if fill is not None:
                    fills.append(fill)
        evidence = (f"{dest} SpokePool {pool} fills of deposit {key}",)
        if not fills:
            return Resolution(
                "across",
                PENDING,
                "across-events",
                0.0,
                evidence=evidence,
                note=f"deposit {key} not filled yet (unfilled past fillDeadline: refunded on {request.chain})",
            )
        outs = tuple(
            CrossingOut(dest, f.tx_hash, f.recipient, f.token or dep.declared_asset or "native", "", f.amount, 0)
            for f in sorted(fills, key=lambda f: f.tx_hash)
        )
        notes = [f"deposit {key} joined to its fill"]
        if dep.declared_recipient and any(o.address != dep.declared_recipient for o in outs):
            notes.append(f"the deposit named {dep.declared_recipient}; a speed-up changed the recipient")
        return Resolution("across", RESOLVED, "across-events", 0.9, outs, dep.amount, evidence, "; ".join(notes))


class LayerZeroResolver:
    """Stargate / LayerZero OFTs: `OFTSent` on the source, the scan API's destination transaction, `OFTReceived`
    there joined on the guid (and the amount, for Stargate's bus)."""

    protocol = "layerzero"

    def __init__(self, scan: LayerZeroScan, facts: Callable[[str, str], Any], payment: Callable[..., Any]) -> None:
        self.scan, self.facts, self.payment = scan, facts, payment

    def resolve(self, request: CrossingRequest, facts: EvmTxFacts) -> Resolution | None:
        sent = oft_events(facts, OFT_SENT)
        if not sent:
            return None
        oft = next((o for o in sent if o.address == request.sender), sent[0])
        d = layerzero_delivery(self.scan.messages(request.tx_hash), oft.guid)
        ev = (f"{self.scan.base_url}/v1/messages/tx/{request.tx_hash}",)
        if d.status != "delivered":
            status = {"not-found": NOT_FOUND, "failed": FAILED}.get(d.status, PENDING)
            return Resolution("layerzero", status, "layerzero-oft", 0.0, evidence=ev, note=d.detail)
        dest = d.chain or oft.peer_chain or ""
        dest_facts = self.facts(dest, d.tx or "")
        received = [r for r in oft_events(dest_facts, OFT_RECEIVED) if r.guid == oft.guid] if dest_facts else []
        if len(received) > 1:
            received = [r for r in received if r.amount == oft.amount]
        if len(received) != 1:
            why = "no OFTReceived" if not received else f"{len(received)} OFTReceived of the same amount"
            return Resolution(
                "layerzero",
                UNRESOLVED,
                "layerzero-oft",
                0.0,
                evidence=ev,
                note=f"{why} under guid {oft.guid} in {dest} {d.tx}",
            )
        out = self.payment(dest, d.tx, received[0].address)
        if out is None:
            return Resolution(
                "layerzero",
                UNRESOLVED,
                "layerzero-oft",
                0.0,
                evidence=ev,
                note=f"{dest} {d.tx} pays {received[0].address} nothing heisttrace reads",
            )
        return Resolution(
            "layerzero",
            RESOLVED,
            "layerzero-oft",
            0.9,
            (out,),
            request.amount_in,
            ev,
            note=f"guid {oft.guid}; {d.detail}",
        )


class WormholeResolver:
    """Wormhole: a `LogMessagePublished` on the source, the redeeming transaction from wormholescan."""

    protocol = "wormhole"

    def __init__(self, scan: WormholeScan, payment: Callable[..., Any]) -> None:
        self.scan, self.payment = scan, payment

    def resolve(self, request: CrossingRequest, facts: EvmTxFacts) -> Resolution | None:
        if not wormhole_published(facts):
            return None
        d = wormhole_delivery(self.scan.operations(request.tx_hash))
        ev = (f"{self.scan.base_url}/api/v1/operations?txHash={request.tx_hash}",)
        if d.status != "delivered":
            status = NOT_FOUND if d.status == "not-found" else PENDING
            return Resolution("wormhole", status, "wormholescan", 0.0, evidence=ev, note=d.detail)
        out = self.payment(d.chain or "", d.tx, d.recipient or "") if d.chain and d.recipient else None
        if out is None:
            return Resolution(
                "wormhole",
                UNRESOLVED,
                "wormholescan",
                0.0,
                evidence=ev,
                note=f"the redeeming transaction {d.tx} pays {d.recipient} nothing heisttrace reads",
            )
        return Resolution("wormhole", RESOLVED, "wormholescan", 0.85, (out,), request.amount_in, ev, note=d.detail)


class CachedResolution:
    """Final answers kept in the store's meta table (a re-run asks nobody); offline, a missing one is a gap."""

    def __init__(self, store: Any, *, offline: bool) -> None:
        self.store = store if store is not None and hasattr(store, "read_meta") else None
        self.offline = offline

    def get(self, chain: str, tx_hash: str, ask: Callable[[], Resolution]) -> Resolution:
        key = f"crossing:{chain}:{tx_hash}"
        if self.store is not None:
            stored = self.store.read_meta(key)
            if stored is not None:
                return decode_resolution(stored)
        if self.offline:
            raise OfflineGap(f"offline: the store lacks the crossing of {chain} {tx_hash}; run once online first")
        answer = ask()
        if self.store is not None and answer.status in FINAL:
            self.store.write_meta(key, encode_resolution(answer))
        return answer


def unresolved(request: CrossingRequest, why: str) -> Resolution:
    return Resolution("unknown", UNRESOLVED, "none", 0.0, note=why)


def encode_resolution(r: Resolution) -> str:
    return json.dumps(dataclasses.asdict(r), sort_keys=True)


def decode_resolution(text: str) -> Resolution:
    doc = json.loads(text)
    doc["outs"] = tuple(CrossingOut(**o) for o in doc["outs"])
    doc["evidence"] = tuple(doc["evidence"])
    return Resolution(**doc)
