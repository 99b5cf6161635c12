"""Account histories from an indexed ethereum-etl / BigQuery export, with zero network requests.

Implements :class:`tracer.core.protocols.AccountAdapter` over the index that
:func:`chains.export.evm_index.build_evm_index` writes. An address's history is the rows of one
bucket file whose footer statistics point at its row groups; they become the same records the
Etherscan adapter makes from `txlist` / `txlistinternal` / `tokentx` rows: the fee (position 0)
when the address sent the transaction, the top-level value (1, `success` False when the
transaction reverted), internal calls and token transfers at their canonical positions
(:mod:`chains.positions`, given in trace / log order). Noise is flagged by the history service,
as for every account adapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from chains.export.evm_index import KIND_GENESIS, KIND_INTERNAL, KIND_TOKEN, KIND_TX
from chains.export.layout import bucket_of, locate_index, read_manifest
from chains.positions import canonical_positions
from tracer.core.addresses import GENESIS, validate_evm
from tracer.core.errors import BadChain, BadInput, SourceError
from tracer.core.models import FEE_SINK, POSITION_EXTERNAL, POSITION_FEE, Asset, Transfer, TransferKind
from tracer.core.networks import Chain, ChainKind
from tracer.core.protocols import HistoryChunk


def _seq_key(kind: int, seq: str) -> tuple[int, ...]:
    """Trace order (trace address ``"0,1"``) for internal calls, log order for tokens."""
    if not seq:
        return ()
    try:
        return tuple(int(part) for part in seq.replace("_", ",").split(","))
    except ValueError:
        return ()


def _block_prefix(rows: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The rows (in block order) of the fewest whole blocks holding more than `budget` rows; all when fewer."""
    if len(rows) <= budget:
        return rows
    cut = budget
    while cut < len(rows) and rows[cut]["block"] == rows[budget]["block"]:
        cut += 1
    return rows[:cut]


def limit_rows(ordered: list[Transfer], start: int, end: int, max_rows: int | None) -> HistoryChunk:
    """All of `ordered` (in block order), or the whole blocks that fit in `max_rows` (at least the first block)."""
    if max_rows is None or len(ordered) <= max_rows:
        return HistoryChunk(tuple(ordered), start, end, True)
    cut_block, first_block = ordered[max_rows].block, ordered[0].block
    last = first_block if cut_block == first_block else cut_block - 1  # one block over the budget: kept whole
    kept = tuple(t for t in ordered if t.block <= last)
    return HistoryChunk(kept, start, last, last >= end)


class ExportAdapter:
    """Histories of one EVM chain from an export index (`path`: the index, or the export holding one)."""

    source = "export"
    requests = 0  # never asks anyone

    def __init__(self, *, path: str | Path, **_: Any) -> None:
        self.index = locate_index(Path(path))
        self.manifest = read_manifest(self.index)
        if self.manifest.get("family") != "evm":
            raise BadInput(
                f"export source: {self.index} indexes a {self.manifest.get('family')} export, not an EVM one"
            )
        self.path = str(path)
        self.url = None
        self._key_chars = int(self.manifest["key_chars"])
        self._assets: dict[str, Asset] | None = None

    # -- AccountAdapter ---------------------------------------------------------------------------

    def fetch_tip(self, chain: Chain) -> int:
        self._check(chain)
        return int(self.manifest["tip"])

    def fetch_history(
        self, chain: Chain, address: str, *, start_block: int, end_block: int, max_rows: int | None = None
    ) -> HistoryChunk:
        """Every transfer touching `address` in the block range, or the whole blocks that fit in `max_rows`.

        With `max_rows` (the engine's service probe), a history longer than that stops at a block
        boundary as the RPC adapter's does: `complete` False and `end_block` the last block held in
        full (at least the first block, kept whole), so the rest is read again, never dropped.
        """
        self._check(chain)
        address = validate_evm(address)
        if end_block < start_block:
            return HistoryChunk((), start_block, end_block, True)
        rows = self.read_rows("addr", "address", address)
        rows = sorted((r for r in rows if start_block <= r["block"] <= end_block), key=lambda r: r["block"])
        budget = len(rows) if max_rows is None else max_rows
        while True:  # map whole blocks only as far as the budget needs (a row makes 0 to 2 transfers)
            prefix = _block_prefix(rows, budget)
            transfers = self._map(chain, address, prefix)
            if len(prefix) == len(rows) or (max_rows is not None and len(transfers) > max_rows):
                return limit_rows(transfers, start_block, end_block, max_rows)
            budget = budget * 2 + 1

    def fetch_transaction(self, chain: Chain, tx_hash: str) -> tuple[Transfer, ...]:
        """Every transfer of one transaction, as the history of its sender records them."""
        self._check(chain)
        tx_hash = str(tx_hash).strip().lower()
        rows = self.read_rows("tx", "tx_hash", tx_hash)
        top = [r for r in rows if r["kind"] in (KIND_TX, KIND_GENESIS)]
        if not top:
            raise BadInput(f"transaction {tx_hash} is not in the {chain.slug} export at {self.path}")
        sender = top[0]["sender"]
        return tuple(self._map(chain, sender, rows))

    # -- reading ----------------------------------------------------------------------------------

    def read_rows(self, table: str, column: str, key: str) -> list[dict[str, Any]]:
        """The index rows of `key` in `table` (`addr` by address, `tx` by transaction hash)."""
        file = self.index / table / f"{bucket_of(key, self._key_chars)}.parquet"
        if not file.is_file():
            return []
        try:
            return pl.scan_parquet(file).filter(pl.col(column) == key).collect().to_dicts()
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise SourceError(f"export index {file}: unreadable ({str(exc).splitlines()[0]})") from None

    def _check(self, chain: Chain) -> None:
        if chain.kind is not ChainKind.EVM:
            raise BadChain(f"the EVM export index at {self.index} serves EVM chains only, not {chain.slug}")

    def _asset(self, chain: Chain, token: str) -> Asset:
        if self._assets is None:
            file = self.index / "tokens.parquet"
            meta = pl.read_parquet(file).to_dicts() if file.is_file() else []
            self._assets = {m["token"]: Asset(chain.slug, m["token"], m["symbol"], int(m["decimals"])) for m in meta}
        found = self._assets.get(token)
        if found is None:
            found = self._assets[token] = Asset(chain.slug, token, "", 0)
        return found

    # -- mapping (the same records as the Etherscan adapter's) ------------------------------------

    def _map(self, chain: Chain, address: str, rows: list[dict[str, Any]]) -> list[Transfer]:
        native = Asset(chain.slug, None, chain.native_symbol, chain.native_decimals)
        rows = sorted(
            rows, key=lambda r: (r["block"], r["tx_index"], r["tx_hash"], r["kind"], _seq_key(r["kind"], r["seq"]))
        )
        out: dict[tuple[str, int], Transfer] = {}
        calls: list[Transfer] = []
        try:
            for row in rows:
                kind = row["kind"]
                if kind in (KIND_TX, KIND_GENESIS):
                    for transfer in self._top(chain, native, address, row):
                        out[(transfer.tx_hash, transfer.position)] = transfer
                elif kind == KIND_INTERNAL:
                    calls.append(self._call(chain, native, row, TransferKind.INTERNAL))
                elif kind == KIND_TOKEN:
                    calls.append(self._call(chain, self._asset(chain, row["token"]), row, TransferKind.TOKEN))
        except (KeyError, ValueError, TypeError) as exc:
            raise SourceError(f"export: a {chain.slug} row for {address} could not be read ({exc!r})") from None
        internal = [c for c in calls if c.kind is TransferKind.INTERNAL]
        tokens = [c for c in calls if c.kind is TransferKind.TOKEN]
        for transfer in canonical_positions(internal + tokens):
            out[(transfer.tx_hash, transfer.position)] = transfer
        return sorted(out.values(), key=lambda tr: tr.order_key)

    @staticmethod
    def _top(chain: Chain, native: Asset, address: str, row: dict[str, Any]) -> list[Transfer]:
        genesis = row["kind"] == KIND_GENESIS
        base = {
            "chain": chain.slug,
            "tx_hash": row["tx_hash"],
            "block": int(row["block"]),
            "tx_index": int(row["tx_index"] or 0),
            "timestamp": int(row["timestamp"] or 0),
            "sender": GENESIS if genesis else row["sender"],
            "asset": native,
        }
        out = []
        fee = int(row["gas_used"] or 0) * int(row["gas_price"] or 0)
        if fee > 0 and not genesis and row["sender"] == address:
            out.append(Transfer(**base, position=POSITION_FEE, receiver=FEE_SINK, amount=fee, kind=TransferKind.FEE))
        value = int(row["value"] or 0)
        if value > 0 and row["receiver"]:
            out.append(
                Transfer(
                    **base,
                    position=POSITION_EXTERNAL,
                    receiver=row["receiver"],
                    amount=value,
                    kind=TransferKind.EXTERNAL,
                    success=bool(row["success"]),
                )
            )
        return out

    @staticmethod
    def _call(chain: Chain, asset: Asset, row: dict[str, Any], kind: TransferKind) -> Transfer:
        return Transfer(
            chain=chain.slug,
            tx_hash=row["tx_hash"],
            position=2 if kind is TransferKind.INTERNAL else 1_000_000,  # provisional: canonical below
            block=int(row["block"]),
            tx_index=int(row["tx_index"] or 0),
            timestamp=int(row["timestamp"] or 0),
            sender=row["sender"],
            receiver=row["receiver"],
            asset=asset,
            amount=int(row["value"] or 0),
            kind=kind,
            success=bool(row["success"]),
        )
