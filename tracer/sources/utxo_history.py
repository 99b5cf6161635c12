"""The UTXO history service: the store in front of a UTXO adapter (Esplora), the twin of
:class:`tracer.sources.history.HistoryService` for account chains.

Transactions whose outputs are all spent never change: they are answered from the store.
Others (an output still unspent, or spenders unknown) are asked of the adapter again, which
archives every raw response in the store as evidence. `offline=True` answers from the store only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracer.core.errors import BadInput, OfflineGap, SourceNotFound
from tracer.core.models import TxOutput, UtxoTx
from tracer.core.networks import Chain, get_chain
from tracer.core.protocols import UtxoAdapter


class UtxoHistoryService:
    """Store-first access to UTXO transactions; `offline=True` never asks the network."""

    def __init__(
        self, adapter: UtxoAdapter | None, store: Any = None, *, chain: str = "bitcoin", offline: bool = False
    ) -> None:
        if adapter is None and not offline:
            raise BadInput("a UTXO trace needs a source adapter unless it runs offline")
        self.adapter = adapter
        self.store = store
        self.chain: Chain = get_chain(chain)
        self.offline = offline
        self.name = getattr(adapter, "source", "esplora")
        self.txs_read = 0
        self.spends_unknown: dict[str, str] = {}  # txid -> why its outputs' spenders are unknown
        self._spenders: dict[str, list[str | None]] = {}  # txid -> spender per output

    @property
    def requests(self) -> int:
        return int(getattr(self.adapter, "requests", 0)) if self.adapter is not None else 0

    def tip(self) -> int | None:
        if self.offline or self.adapter is None:
            return None
        return self.adapter.fetch_tip(self.chain)

    def tx(self, txid: str) -> UtxoTx:
        """The transaction; its outputs' spenders are then known to :meth:`spender`."""
        self.txs_read += 1
        stored = self.store.read_utxo_tx(self.name, self.chain.slug, txid) if self.store is not None else None
        if stored is not None and (self.offline or all(o.spent_by or o.address is None for o in stored.outputs)):
            self._spenders[txid] = [o.spent_by for o in stored.outputs]
            return stored
        if self.offline or self.adapter is None:
            raise OfflineGap(f"offline: transaction {txid} is not in the store")
        tx = stored if stored is not None else self.adapter.fetch_tx(self.chain, txid)
        try:
            spenders = list(self.adapter.fetch_outspends(self.chain, txid))
        except SourceNotFound as exc:
            self.spends_unknown[txid] = exc.message  # the source knows the tx but not who spent it
            self._spenders[txid] = [None] * len(tx.outputs)
            return tx
        self._spenders[txid] = spenders
        if self.store is not None:
            self.store.write_utxo_txs(self.name, self.chain.slug, [_with_spenders(tx, spenders)])
        return tx

    def spender(self, txid: str, vout: int) -> str | None:
        """The txid spending output `vout` of `txid` (None: unspent, or unknown to the source)."""
        known = self._spenders.get(txid)
        if known is None:
            self.tx(txid)
            known = self._spenders[txid]
        return known[vout] if vout < len(known) else None

    def address_txs_within(self, address: str, limit: int) -> list[UtxoTx] | None:
        """`address_txs` when the address has at most `limit` confirmed transactions, else None.

        Reads at most `limit` + 1 transactions (a few pages), never a service's whole history.
        "Longer than `limit`" is kept in the store (a history only grows), so reruns ask nothing.
        """
        marker = f"utxo-history-longer:{self.name}:{self.chain.slug}:{address}:{limit}"
        if self.store is not None:
            txids, complete_to = self.store.read_address_txids(self.name, self.chain.slug, address)
            if complete_to is not None and txids:
                return self.address_txs(address) if len(txids) <= limit else None
            if self.store.read_checkpoint(marker) is not None:
                return None
        if self.offline or self.adapter is None:
            raise OfflineGap(f"offline: the history of {address} is not in the store")
        txs = list(self.adapter.fetch_address_txs(self.chain, address, max_txs=limit + 1))
        if len(txs) > limit:
            if self.store is not None:
                self.store.write_checkpoint(marker, b"1")
            return None
        self._keep_history(address, txs)
        return txs

    def address_txs(self, address: str) -> list[UtxoTx]:
        """Confirmed transactions touching `address`, oldest first (spenders not filled)."""
        if self.store is not None:
            txids, complete_to = self.store.read_address_txids(self.name, self.chain.slug, address)
            if complete_to is not None or self.offline:
                found = [self.store.read_utxo_tx(self.name, self.chain.slug, t) for t in txids]
                if all(found) and (complete_to is not None or txids):
                    return [t for t in found if t is not None]
        if self.offline or self.adapter is None:
            raise OfflineGap(f"offline: the history of {address} is not in the store")
        txs = list(self.adapter.fetch_address_txs(self.chain, address))
        self._keep_history(address, txs)
        return txs

    def _keep_history(self, address: str, txs: list[UtxoTx]) -> None:
        """Store a complete history (its transactions and the address's list)."""
        if self.store is not None:
            self.store.write_utxo_txs(self.name, self.chain.slug, txs)
            top = max((t.block for t in txs if t.block is not None), default=0)
            self.store.write_address_txids(
                self.name, self.chain.slug, address, [t.txid for t in txs], complete_to_block=top
            )


def _with_spenders(tx: UtxoTx, spenders: Sequence[str | None]) -> UtxoTx:
    """`tx` with `spent_by` set from `spenders` (addresses are already normalised: no re-validation)."""
    outputs = tuple(
        TxOutput(o.index, o.address, o.value, o.script_type, spenders[o.index] if o.index < len(spenders) else None)
        for o in tx.outputs
    )
    copy = object.__new__(UtxoTx)
    for name in UtxoTx.__slots__:  # type: ignore[attr-defined]
        object.__setattr__(copy, name, outputs if name == "outputs" else getattr(tx, name))
    return copy
