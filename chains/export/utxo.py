"""Bitcoin transactions from an indexed bitcoin-etl export, with zero network requests.

Implements :class:`tracer.core.protocols.UtxoAdapter` over the index of
:func:`chains.export.utxo_index.build_utxo_index`: an address's transactions (oldest first,
as the Esplora adapter gives them), one transaction, and who spent each of its outputs
(None while the export holds no spender: unspent up to the export's last block).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from chains.export.layout import bucket_of, locate_index, read_manifest
from tracer.core.addresses import normalize_address
from tracer.core.errors import BadChain, BadInput, SourceError
from tracer.core.models import TxInput, TxOutput, UtxoTx
from tracer.core.networks import Chain, ChainKind


class ExportUtxoAdapter:
    """Transactions of one UTXO chain from an export index (`path`: the index, or the export holding one)."""

    source = "export"
    requests = 0

    def __init__(self, *, path: str | Path, **_: Any) -> None:
        self.index = locate_index(Path(path))
        self.manifest = read_manifest(self.index)
        if self.manifest.get("family") != "utxo":
            raise BadInput(
                f"export source: {self.index} indexes an {self.manifest.get('family')} export, not a UTXO one"
            )
        self.path = str(path)
        self.url = None
        self._key_chars = int(self.manifest["key_chars"])

    def _check(self, chain: Chain) -> None:
        if chain.kind is not ChainKind.UTXO or chain.slug != self.manifest.get("chain", chain.slug):
            raise BadChain(f"the export index at {self.index} serves {self.manifest.get('chain')}, not {chain.slug}")

    def _rows(self, table: str, column: str, key: str) -> pl.DataFrame:
        file = self.index / table / f"{bucket_of(key, self._key_chars)}.parquet"
        if not file.is_file():
            return pl.DataFrame()
        try:
            return pl.scan_parquet(file).filter(pl.col(column) == key).collect()
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise SourceError(f"export index {file}: unreadable ({str(exc).splitlines()[0]})") from None

    def fetch_tip(self, chain: Chain) -> int:
        self._check(chain)
        return int(self.manifest["tip"])

    def fetch_address_txs(self, chain: Chain, address: str, *, max_txs: int | None = None) -> list[UtxoTx]:
        self._check(chain)
        address = normalize_address(chain.slug, address)
        rows = self._rows("addr", "address", address)
        txids = list(dict.fromkeys(rows["txid"].to_list())) if rows.height else []
        if max_txs is not None:
            txids = txids[:max_txs]
        return [self.fetch_tx(chain, txid) for txid in txids]

    def fetch_tx(self, chain: Chain, txid: str) -> UtxoTx:
        self._check(chain)
        txid = str(txid).strip().lower()
        rows = self._rows("utx", "txid", txid)
        if not rows.height:
            raise BadInput(f"transaction {txid} is not in the {chain.slug} export at {self.path}")
        row = rows.row(0, named=True)
        return UtxoTx(
            chain=chain.slug,
            txid=row["txid"],
            block=row["block"],
            timestamp=row["timestamp"],
            inputs=tuple(
                TxInput(i["prev_txid"], i["prev_vout"], i["address"], i["value"], bool(i["coinbase"]))
                for i in row["inputs"]
            ),
            outputs=tuple(TxOutput(o["index"], o["address"], o["value"], o["script_type"]) for o in row["outputs"]),
            fee=row["fee"],
            locktime=row["locktime"],
            version=row["version"],
        )

    def fetch_outspends(self, chain: Chain, txid: str) -> Sequence[str | None]:
        tx = self.fetch_tx(chain, txid)
        rows = self._rows("spends", "prev_txid", tx.txid)
        spent = dict(zip(rows["prev_vout"].to_list(), rows["txid"].to_list(), strict=True)) if rows.height else {}
        return [spent.get(o.index) for o in tx.outputs]
