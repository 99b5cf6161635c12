"""A world of EVM transactions, as an explorer or a node would see them.

Emulators serve it; generators (demo, benchmarks, tests) build it. Addresses are
lowercase hex; amounts are integers in base units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class WorldInternal:
    """A value-moving call inside a transaction (explorer `txlistinternal` row)."""

    sender: str
    to: str
    value: int
    trace_id: str  # e.g. "0_1"
    call_type: str = "call"
    success: bool = True


@dataclass(frozen=True, slots=True)
class WorldTokenTransfer:
    """An ERC-20 `Transfer` event (explorer `tokentx` row)."""

    token: str  # contract address
    sender: str
    to: str
    value: int
    log_index: int
    symbol: str
    name: str
    decimals: int


@dataclass(frozen=True, slots=True)
class WorldLog:
    """An extra receipt log (a bridge's event), emitted after the token transfers' logs."""

    address: str
    topics: tuple[str, ...]
    data: str
    log_index: int


@dataclass(frozen=True, slots=True)
class WorldTx:
    """One transaction with its internal calls and token transfers."""

    hash: str
    block: int
    tx_index: int
    timestamp: int
    sender: str
    to: str | None  # None for contract creation
    value: int
    gas_used: int = 21_000
    gas_price: int = 20_000_000_000
    success: bool = True
    input: str = "0x"
    created: str | None = None  # contract created by this tx
    nonce: int = 0
    internals: tuple[WorldInternal, ...] = ()
    tokens: tuple[WorldTokenTransfer, ...] = ()
    logs: tuple[WorldLog, ...] = ()

    @property
    def fee(self) -> int:
        return self.gas_used * self.gas_price


@dataclass
class EvmWorld:
    """All transactions of one EVM chain, indexed by the addresses they touch."""

    chain_id: int = 1
    txs: list[WorldTx] = field(default_factory=list)
    contracts: set[str] = field(default_factory=set)
    _by_address: dict[str, list[int]] | None = field(default=None, repr=False)
    _by_hash: dict[str, int] | None = field(default=None, repr=False)

    def add(self, txs: Iterable[WorldTx]) -> None:
        self.txs.extend(txs)
        self._by_address = None
        self._by_hash = None

    @property
    def tip(self) -> int:
        """The newest block (the index is built on first use; `add` invalidates it)."""
        self._index()
        return self.txs[-1].block if self.txs else 0

    def _index(self) -> dict[str, list[int]]:
        if self._by_address is None:
            self.txs.sort(key=lambda t: (t.block, t.tx_index))
            index: dict[str, list[int]] = defaultdict(list)
            for i, tx in enumerate(self.txs):
                touched = {tx.sender, tx.to or "", tx.created or ""}
                for call in tx.internals:
                    touched.update((call.sender, call.to))
                for tok in tx.tokens:
                    touched.update((tok.sender, tok.to))
                touched.discard("")
                for address in touched:
                    index[address].append(i)
            self._by_address = dict(index)
            self._by_hash = {tx.hash: i for i, tx in enumerate(self.txs)}
        return self._by_address

    def txs_touching(self, address: str) -> list[WorldTx]:
        """Transactions touching `address` (as sender, receiver, internal or token party), in block order."""
        return [self.txs[i] for i in self._index().get(address.lower(), [])]

    def tx(self, tx_hash: str) -> WorldTx | None:
        self._index()
        i = (self._by_hash or {}).get(tx_hash.lower())
        return None if i is None else self.txs[i]
