"""Records of value crossing chains: what an EVM transaction says on chain, and a resolved crossing.

Shared by the translators (`chains/crosschain/`), the pure deciders (`heuristics/`) and the
tracer's continuation (`tracer/crosschain/`). Amounts are integers in the asset's base units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Statuses of a crossing: only `resolved` (and the resolved part of `refunded`) is followed on.
RESOLVED, PENDING, REFUNDED, FAILED, NOT_FOUND, UNRESOLVED = (
    "resolved",
    "pending",
    "refunded",
    "failed",
    "not-found",
    "unresolved",
)


@dataclass(frozen=True, slots=True)
class EvmLog:
    """One receipt log: emitting contract, topics (0x hex), data (0x hex), log index."""

    address: str
    topics: tuple[str, ...]
    data: str
    log_index: int = 0


@dataclass(frozen=True, slots=True)
class EvmTxFacts:
    """What an EVM transaction itself says (calldata, logs): enough to classify a bridge deposit offline."""

    chain: str
    tx_hash: str
    sender: str
    to: str | None
    value: int
    input: str
    success: bool
    logs: tuple[EvmLog, ...] = ()
    block: int = 0
    timestamp: int = 0


@dataclass(frozen=True, slots=True)
class BridgeDeposit:
    """A deposit into a bridge, decoded from the source chain (`declared_*` as the sender stated them)."""

    protocol: str  # thorchain | lifi | across | ...
    chain: str
    tx_hash: str
    contract: str  # the router, vault, diamond or pool the deposit went to
    asset: str | None  # token contract, None for the native coin
    amount: int
    memo: str | None = None
    declared_chain: str | None = None  # destination chain slug, when the source chain says it
    declared_recipient: str | None = None
    declared_asset: str | None = None
    join_key: str | None = None  # an on-chain key for the destination side (Across deposit id, ...)


@dataclass(frozen=True, slots=True)
class CrossingOut:
    """One destination payment of a crossing (a swap can end with two: the swap and a refund)."""

    chain: str
    tx_hash: str
    address: str
    asset: str  # `native` or the token contract on `chain`
    symbol: str
    amount: int  # base units on `chain`
    decimals: int
    refund: bool = False


@dataclass(frozen=True, slots=True)
class Resolution:
    """A resolver's answer for one source transaction."""

    protocol: str
    status: str  # one of the statuses above
    method: str  # midgard | lifi-status | across-events | amount-time | ...
    confidence: float
    outs: tuple[CrossingOut, ...] = ()
    amount_in: int | None = None  # what the bridge took in, in the source asset's base units (when known)
    evidence: tuple[str, ...] = ()  # lookups behind the answer (URLs without keys, tx hashes)
    note: str = ""
    checks: dict[str, bool] = field(default_factory=dict)  # e.g. {"btc-out-memo": True}
