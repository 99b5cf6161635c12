"""The seams between data sources, the store and the engine.

Adapters in :mod:`chains` implement the ``*Adapter`` protocols (they only translate
responses into records). :mod:`tracer.sources.history` puts the store in front of them and
offers the engine a :class:`HistoryProvider`, which asks the network only for ranges
the store does not cover yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from tracer.core.models import Label, Transfer, UtxoTx
from tracer.core.networks import Chain


@dataclass(frozen=True, slots=True)
class HistoryChunk:
    """What an adapter read for one address: the transfers of blocks `start_block..end_block`.

    `complete` is False when the adapter stopped early at `max_rows`; then `end_block`
    is the last block read in full and only `start_block..end_block` counts as covered.
    `gaps` names what the source could not answer in full even after retries (e.g.
    Blockscout's `status: "2"`, a per-transaction lookup that kept failing): such a chunk
    is never complete and its range is never marked covered.
    """

    transfers: tuple[Transfer, ...]
    start_block: int
    end_block: int
    complete: bool = True
    gaps: tuple[str, ...] = ()


class ResponseArchive(Protocol):
    """Keeps raw responses as evidence; the store implements it."""

    def archive_response(self, *, source: str, url: str, body: bytes) -> str:
        """Store `body` fetched from `url` (already redacted); return its sha256 hex."""
        ...


class AccountAdapter(Protocol):
    """A source of account-chain transfers (Etherscan-compatible API, JSON-RPC node, TronGrid)."""

    source: str  # e.g. "etherscan", "rpc"; part of the store key
    requests: int  # HTTP/RPC requests made so far

    def fetch_tip(self, chain: Chain) -> int:
        """The newest block the source knows."""
        ...

    def fetch_history(
        self, chain: Chain, address: str, *, start_block: int, end_block: int, max_rows: int | None = None
    ) -> HistoryChunk:
        """Every transfer (all kinds, fees included) touching `address` in the block range, de-duplicated."""
        ...

    def fetch_transaction(self, chain: Chain, tx_hash: str) -> tuple[Transfer, ...]:
        """Every transfer of one transaction (fee, value, internal calls, tokens), with the positions
        `fetch_history` gives them; :class:`tracer.core.errors.BadInput` when the source does not know the hash."""
        ...


class UtxoAdapter(Protocol):
    """A source of UTXO transactions (Esplora)."""

    source: str
    requests: int

    def fetch_tip(self, chain: Chain) -> int: ...

    def fetch_address_txs(self, chain: Chain, address: str, *, max_txs: int | None = None) -> Sequence[UtxoTx]:
        """Confirmed transactions touching `address`, oldest first."""
        ...

    def fetch_tx(self, chain: Chain, txid: str) -> UtxoTx: ...

    def fetch_outspends(self, chain: Chain, txid: str) -> Sequence[str | None]:
        """For each output, the txid that spends it, or None while unspent."""
        ...


class HistoryProvider(Protocol):
    """What the engine reads account histories through (store first, then the network)."""

    @property
    def requests(self) -> int:
        """Source requests made so far."""
        ...

    def history(
        self,
        chain: Chain,
        address: str,
        *,
        start_block: int = 0,
        end_block: int | None = None,
        max_rows: int | None = None,
    ) -> HistoryChunk:
        """Transfers touching `address` in the range (None = up to the source's tip)."""
        ...

    def transaction(self, chain: Chain, tx_hash: str) -> Sequence[Transfer]:
        """Every transfer of one transaction (theft-transaction seeds)."""
        ...


class LabelLookup(Protocol):
    """What the engine and reports ask about an address; :mod:`tracer.labels.book` implements it."""

    def label(self, chain: str, address: str) -> Label | None:
        """The best label for the address (user labels win), or None."""
        ...


class UtxoHistoryProvider(Protocol):
    """What the UTXO engine reads transactions through (:class:`tracer.sources.utxo_history.UtxoHistoryService`)."""

    chain: Chain
    #: txid -> why the source cannot tell who spent its outputs
    spends_unknown: Mapping[str, str]

    @property
    def requests(self) -> int: ...

    def tip(self) -> int | None: ...

    def tx(self, txid: str) -> UtxoTx: ...

    def spender(self, txid: str, vout: int) -> str | None: ...

    def address_txs(self, address: str) -> list[UtxoTx]: ...

    def address_txs_within(self, address: str, limit: int) -> list[UtxoTx] | None:
        """The history when it holds at most `limit` transactions, else None (read `limit` + 1 at most)."""
        ...


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress report after each expansion (an address read, or a spending transaction followed)."""

    expanded: int
    frontier: int
    requests: int
    transfers_read: int
    endpoint_share: Fraction  # taint at endpoints / stolen, averaged over stolen assets


class CheckpointStore(Protocol):
    """Where engines keep their checkpoint (the store implements it)."""

    def write_checkpoint(self, key: str, state: bytes) -> None: ...

    def read_checkpoint(self, key: str) -> bytes | None: ...
