"""Records of one transaction as the node describes it: gathered facts, internal calls, canonical order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from chains.evm_decode import (
    CallFrame,
    internal_position,
    internal_value_frames,
)
from chains.positions import canonical_positions
from tracer.core.models import (
    Asset,
    Transfer,
    TransferKind,
)
from tracer.core.networks import Chain
from tracer.core.protocols import HistoryChunk


@dataclass
class TxFacts:
    """What one transaction contributes, gathered from whichever calls the method needs."""

    tx_hash: str
    block: int
    tx_index: int = 0
    sender: str = ""
    to: str | None = None
    value: int = 0
    created: str | None = None
    success: bool = True
    fee: int = 0
    frames: list[CallFrame] = field(default_factory=list)


def internal_transfers(
    chain: Chain,
    frames: list[CallFrame],
    *,
    tx_hash: str,
    block: int,
    tx_index: int,
    timestamp: int,
    tx_success: bool = True,
    address: str | None = None,
) -> list[Transfer]:
    """INTERNAL records of one transaction's call frames (value > 0, below the top level), in trace order.

    Only frames touching `address` when it is given. Frames without beneficiary or value
    (see :func:`chains.evm_decode.unknown_value_frames`) give no record.
    """
    native = Asset(chain.slug, None, chain.native_symbol, chain.native_decimals)
    out = []
    for frame in internal_value_frames(frames):
        if frame.receiver is None or frame.sender is None or frame.value is None:
            continue
        if address is not None and address not in (frame.sender, frame.receiver):
            continue
        out.append(
            Transfer(
                chain=chain.slug,
                tx_hash=tx_hash,
                position=internal_position(frame.trace_address),
                block=block,
                tx_index=tx_index,
                timestamp=timestamp,
                sender=frame.sender,
                receiver=frame.receiver,
                asset=native,
                amount=frame.value,
                kind=TransferKind.INTERNAL,
                success=not frame.failed and tx_success,
            )
        )
    return out


def canonical_order(transfers: Iterable[Transfer]) -> list[Transfer]:
    """Trace / log order first (it numbers identical calls), then canonical positions (:mod:`chains.positions`)."""
    return sorted(canonical_positions(sorted(transfers, key=lambda t: t.order_key)), key=lambda t: t.order_key)


def limit_rows(ordered: list[Transfer], start: int, end: int, max_rows: int | None) -> HistoryChunk:
    """All of `ordered`, or the whole blocks that fit in `max_rows` (at least the first block)."""
    if max_rows is None or len(ordered) <= max_rows:
        return HistoryChunk(tuple(ordered), start, end, True)
    cut_block = ordered[max_rows].block
    first_block = ordered[0].block
    if cut_block == first_block:  # one block exceeds the budget: keep that block whole
        kept = [t for t in ordered if t.block == first_block]
        last = first_block
    else:
        kept = [t for t in ordered if t.block < cut_block]
        last = cut_block - 1
    return HistoryChunk(tuple(kept), start, last, last >= end)
