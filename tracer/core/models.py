"""Domain records: assets, account-chain transfers and UTXO transactions.

Every record is a frozen, slotted dataclass. Addresses are normalised once, at
construction (see :mod:`tracer.core.addresses`); amounts are integers in base units.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from tracer.core.addresses import GENESIS, normalize_address


class TransferKind(StrEnum):
    """How value moved on an account chain."""

    EXTERNAL = "external"  # value of a top-level transaction
    INTERNAL = "internal"  # value moved by a contract call inside a transaction
    TOKEN = "token"  # ERC-20 / TRC-20 Transfer event
    FEE = "fee"  # gas paid by the sender (receiver is the fee sink)


class NoiseFlag(StrEnum):
    """Why a transfer is noise the engine must neither follow nor be diluted by."""

    ZERO_VALUE = "zero-value"  # token transfer of amount 0
    SPOOFED = "spoofed"  # Transfer event from a token that mimics a real one (address poisoning)
    DUST = "dust"  # tiny amount sent to a traced address by a stranger


class Strategy(StrEnum):
    """Which frontier address a trace expands next."""

    RANKED = "ranked"
    BREADTH_FIRST = "bfs"
    POISON = "poison"


class Policy(StrEnum):
    """Taint policies (see docs/METHODS)."""

    POISON = "poison"
    HAIRCUT = "haircut"
    FIFO = "fifo"
    LIFO = "lifo"
    TIHO = "tiho"


class Category(StrEnum):
    """The one label taxonomy used everywhere."""

    EXCHANGE = "exchange"
    EXCHANGE_DEPOSIT = "exchange-deposit"
    MIXER = "mixer"
    BRIDGE = "bridge"
    DEX = "dex"
    INSTANT_EXCHANGER = "instant-exchanger"
    OTC = "otc"
    SANCTIONED = "sanctioned"
    HACKER = "hacker"
    PHISHING = "phishing"
    GAMBLING = "gambling"
    RANSOMWARE = "ransomware"
    OTHER_SERVICE = "other-service"
    UNKNOWN_SERVICE = "unknown-service"


#: Categories at which followed value stops (endpoints that can be asked to freeze or identify).
ENDPOINT_CATEGORIES: frozenset[Category] = frozenset(
    {
        Category.EXCHANGE,
        Category.EXCHANGE_DEPOSIT,
        Category.MIXER,
        Category.BRIDGE,
        Category.INSTANT_EXCHANGER,
        Category.OTC,
        Category.SANCTIONED,
        Category.UNKNOWN_SERVICE,
    }
)


#: Categories of businesses that pay many customers: a payment from one of them to a thief seed
#: (an exchange withdrawal, a mixer or bridge payout) is the thief's own money, never the theft.
SERVICE_CATEGORIES: frozenset[Category] = frozenset(
    {
        Category.EXCHANGE,
        Category.EXCHANGE_DEPOSIT,
        Category.MIXER,
        Category.BRIDGE,
        Category.DEX,
        Category.INSTANT_EXCHANGER,
        Category.OTC,
        Category.GAMBLING,
        Category.OTHER_SERVICE,
        Category.UNKNOWN_SERVICE,
    }
)


class Role(StrEnum):
    """An address's role in a trace."""

    SEED = "seed"
    TRANSIT = "transit"
    ENDPOINT = "endpoint"
    BELOW_THRESHOLD = "below-threshold"  # received taint too small to follow; not expanded
    UNEXPLORED = "unexplored"  # would be followed, but a budget, the hop limit or a data gap stopped it


NATIVE = "native"
FEE_SINK = "fee"  # receiver of FEE transfers


@dataclass(frozen=True, slots=True)
class Asset:
    """A native coin or a token contract on one chain."""

    chain: str
    contract: str | None  # None for the chain's native coin
    symbol: str
    decimals: int

    def __post_init__(self) -> None:
        if self.contract is not None:
            object.__setattr__(self, "contract", normalize_address(self.chain, self.contract))

    @property
    def asset_id(self) -> str:
        """`native` or the token contract."""
        return self.contract or NATIVE

    @property
    def key(self) -> str:
        """`chain:native` or `chain:<contract>` — never a bare symbol."""
        return f"{self.chain}:{self.asset_id}"


@dataclass(frozen=True, slots=True)
class Transfer:
    """One movement of value on an account chain (EVM, TRON).

    `position` orders transfers inside one transaction: the fee first (0), the
    top-level value (1), internal calls by their trace address (see
    `chains.evm_decode.internal_position`, always in 2..999_999 and in trace order),
    token transfers in log order (1_000_000 + log index). Canonical order is
    (block, tx_index, position).
    """

    chain: str
    tx_hash: str
    position: int
    block: int
    tx_index: int
    timestamp: int  # unix seconds, UTC
    sender: str
    receiver: str
    asset: Asset
    amount: int  # base units
    kind: TransferKind
    success: bool = True
    noise: frozenset[NoiseFlag] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.sender != GENESIS:  # a genesis allocation comes from nobody
            object.__setattr__(self, "sender", normalize_address(self.chain, self.sender))
        if self.receiver != FEE_SINK:
            object.__setattr__(self, "receiver", normalize_address(self.chain, self.receiver))
        object.__setattr__(self, "tx_hash", self.tx_hash.lower())
        if self.amount < 0:
            raise ValueError(f"negative amount in {self.tx_hash}")

    @property
    def order_key(self) -> tuple[int, int, str, int]:
        """Canonical processing order."""
        return (self.block, self.tx_index, self.tx_hash, self.position)

    @property
    def moves_value(self) -> bool:
        """True when this transfer actually changed balances (fees move value even on failure)."""
        return self.amount > 0 and (self.success or self.kind is TransferKind.FEE)


def _make_transfer_restorer() -> Callable[..., Transfer]:
    """Build :func:`restore_transfer` with the slot setters bound once (frozen records refuse plain setattr)."""
    new = object.__new__
    (s_chain, s_hash, s_pos, s_block, s_index, s_ts, s_sender, s_receiver, s_asset, s_amount, s_kind, s_ok, s_noise) = (
        getattr(Transfer, name).__set__ for name in Transfer.__slots__
    )

    def restore_transfer(
        chain: str,
        tx_hash: str,
        position: int,
        block: int,
        tx_index: int,
        timestamp: int,
        sender: str,
        receiver: str,
        asset: Asset,
        amount: int,
        kind: TransferKind,
        success: bool,
        noise: frozenset[NoiseFlag],
    ) -> Transfer:
        """A Transfer from fields that were already validated and normalised (read back from the store).

        Skips `__post_init__`; the record is equal to, and as frozen as, one built by the constructor.
        Never use it for outside data.
        """
        t = new(Transfer)
        s_chain(t, chain)
        s_hash(t, tx_hash)
        s_pos(t, position)
        s_block(t, block)
        s_index(t, tx_index)
        s_ts(t, timestamp)
        s_sender(t, sender)
        s_receiver(t, receiver)
        s_asset(t, asset)
        s_amount(t, amount)
        s_kind(t, kind)
        s_ok(t, success)
        s_noise(t, noise)
        return t

    return restore_transfer


#: Internal fast constructor for records read back from the local store (see its docstring).
restore_transfer = _make_transfer_restorer()


POSITION_FEE = 0
POSITION_EXTERNAL = 1
POSITION_INTERNAL_BASE = 2
POSITION_TOKEN_BASE = 1_000_000


_ENTITY_TAG = re.compile(r"\[([^\[\]]+)\]\s*$")
_NON_WORD = re.compile(r"[^a-z0-9.]+")
_TRAILING_NUMBER = re.compile(r"(?:\s+\d+)+$")


@dataclass(frozen=True, slots=True)
class Label:
    """What a source says an address is, with provenance.

    `source` names the dataset (e.g. `ofac-sdn`, `etherscan-labels`, `user`), `source_ref`
    the row or file inside it, `source_words` the source's own text. `conflicts` lists
    other sources that say something different (kept and flagged, never overwritten).
    """

    chain: str
    address: str
    category: Category
    name: str
    source: str
    source_ref: str = ""
    source_words: str = ""
    confidence: float = 1.0
    conflicts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", normalize_address(self.chain, self.address))

    @property
    def is_endpoint(self) -> bool:
        """Followed value stops here (exchange, deposit, mixer, bridge, sanctioned, OTC, ...)."""
        return self.category in ENDPOINT_CATEGORIES

    @property
    def entity(self) -> str:
        """Who runs the address, so that one exchange's numbered wallets count as one service.

        The source's own entity tag when it gives one (Etherscan label dumps end their words with
        `[binance]`), else the name folded to lowercase words without a trailing wallet number
        ("Kraken 5" and "Kraken 13" are `kraken`)."""
        tag = _ENTITY_TAG.search(self.source_words)
        if tag:
            return tag.group(1).strip().lower()
        words = _NON_WORD.sub(" ", self.name.lower()).strip()
        return _TRAILING_NUMBER.sub("", words) or words


@dataclass(frozen=True, slots=True)
class TxInput:
    """A UTXO transaction input: the outpoint it spends and what that outpoint held."""

    prev_txid: str | None  # None for coinbase
    prev_vout: int | None
    address: str | None
    value: int  # satoshi
    coinbase: bool = False


@dataclass(frozen=True, slots=True)
class TxOutput:
    """A UTXO transaction output, with its spender when known."""

    index: int
    address: str | None  # None for OP_RETURN and non-standard scripts
    value: int  # satoshi
    script_type: str = ""
    spent_by: str | None = None  # txid of the spending transaction, when known


@dataclass(frozen=True, slots=True)
class UtxoTx:
    """A UTXO-chain transaction (Bitcoin)."""

    chain: str
    txid: str
    block: int | None  # None while unconfirmed
    timestamp: int | None
    inputs: tuple[TxInput, ...]
    outputs: tuple[TxOutput, ...]
    fee: int
    locktime: int = 0
    version: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "txid", self.txid.lower())
        object.__setattr__(
            self,
            "inputs",
            tuple(
                i
                if i.address is None
                else TxInput(i.prev_txid, i.prev_vout, normalize_address(self.chain, i.address), i.value, i.coinbase)
                for i in self.inputs
            ),
        )
        object.__setattr__(
            self,
            "outputs",
            tuple(
                o
                if o.address is None
                else TxOutput(o.index, normalize_address(self.chain, o.address), o.value, o.script_type, o.spent_by)
                for o in self.outputs
            ),
        )

    @property
    def input_value(self) -> int:
        return sum(i.value for i in self.inputs)

    @property
    def output_value(self) -> int:
        return sum(o.value for o in self.outputs)
