"""Etherscan rows as :class:`tracer.core.models.Transfer` records (fee, value, internal calls, tokens)."""

from __future__ import annotations

from typing import Any

from chains.etherscan.answers import hex_field
from chains.etherscan.paging import ListReading
from chains.evm_decode import decode_transfer_log, fetch_token_metadata
from chains.positions import canonical_positions
from chains.rows import check_rows
from tracer.core.addresses import GENESIS
from tracer.core.errors import SourceError, SourceRejected
from tracer.core.models import (
    FEE_SINK,
    POSITION_EXTERNAL,
    POSITION_FEE,
    POSITION_INTERNAL_BASE,
    POSITION_TOKEN_BASE,
    Asset,
    Transfer,
    TransferKind,
)
from tracer.core.networks import Chain


def trace_address_of(trace_id: str) -> tuple[int, ...]:
    """Etherscan's `traceId` (``"0_1"``) as a trace address (``(0, 1)``)."""
    if not trace_id:
        return ()
    try:
        return tuple(int(part) for part in trace_id.split("_"))
    except ValueError:
        raise SourceRejected(f"etherscan: unexpected traceId {trace_id!r}") from None


class RowMapping(ListReading):
    """The mapping half of :class:`chains.etherscan.EtherscanAdapter`: rows in, records out."""

    _assets: dict[tuple[str, str], Asset]

    def _tx_rows(
        self,
        chain: Chain,
        tx_hash: str,
        tx: dict[str, Any],
        receipt: dict[str, Any],
        timestamp: str,
        internal: list[dict[str, Any]],
    ) -> dict[str, list[dict[str, Any]]]:
        """One transaction's proxy answers as the account lists `_map` reads."""
        block = str(hex_field(tx["blockNumber"], "blockNumber"))
        tx_index = str(hex_field(tx.get("transactionIndex") or "0x0", "transactionIndex"))
        ok = hex_field(receipt.get("status") or "0x1", "status") == 1
        gas_price = receipt.get("effectiveGasPrice") or tx.get("gasPrice") or "0x0"
        normal = {
            "hash": tx_hash,
            "blockNumber": block,
            "transactionIndex": tx_index,
            "timeStamp": timestamp,
            "from": str(tx["from"]).lower(),
            "to": str(tx.get("to") or "").lower(),
            "value": str(hex_field(tx.get("value") or "0x0", "value")),
            "gasUsed": str(hex_field(receipt.get("gasUsed") or "0x0", "gasUsed")),
            "gasPrice": str(hex_field(gas_price, "effectiveGasPrice")),
            "isError": "0" if ok else "1",
            "txreceipt_status": "1" if ok else "0",
            "contractAddress": str(receipt.get("contractAddress") or "").lower(),
        }
        internal_rows = [
            {**row, "hash": tx_hash, "blockNumber": row.get("blockNumber") or block, "timeStamp": timestamp}
            for row in internal
        ]
        token_rows = []
        for raw in receipt.get("logs") or []:
            if raw.get("removed"):
                continue
            log = decode_transfer_log({"transactionHash": tx_hash, "blockNumber": hex(int(block)), **raw})
            if log is None:
                continue
            asset = self._token_asset(chain, log.token)
            token_rows.append(
                {
                    "hash": tx_hash,
                    "blockNumber": block,
                    "transactionIndex": tx_index,
                    "timeStamp": timestamp,
                    "from": log.sender,
                    "to": log.receiver,
                    "contractAddress": log.token,
                    "value": str(log.value),
                    "tokenSymbol": asset.symbol,
                    "tokenDecimal": str(asset.decimals),
                    "logIndex": str(log.log_index),
                }
            )
        return {"txlist": [normal], "txlistinternal": internal_rows, "tokentx": token_rows}

    def _token_asset(self, chain: Chain, token: str) -> Asset:
        """Symbol and decimals of a token by proxy `eth_call` (cached; fallbacks as in :mod:`chains.rpc`)."""
        key = (chain.slug, token)
        if key not in self._assets:
            meta = fetch_token_metadata(_ProxyCalls(self, chain), token)
            self._assets[key] = Asset(chain.slug, token, meta.symbol, meta.decimals)
        return self._assets[key]

    # -- mapping ----------------------------------------------------------------------------------

    def _map(
        self, chain: Chain, address: str, lists: dict[str, list[dict[str, Any]]], last_block: int
    ) -> list[Transfer]:
        for action, rows in lists.items():
            check_rows(self.source, f"{chain.slug} {action}", rows, **ROW_FIELDS[action])
        tx_index: dict[str, int] = {}
        for row in lists["txlist"] + lists["tokentx"]:
            if row.get("transactionIndex", "") != "":
                tx_index[row["hash"].lower()] = int(row["transactionIndex"])
        out: dict[tuple[str, int], Transfer] = {}

        def keep(transfer: Transfer) -> None:
            if transfer.block > last_block:
                return
            held = out.setdefault((transfer.tx_hash, transfer.position), transfer)
            if held != transfer:
                raise SourceError(f"etherscan: two different transfers at {transfer.tx_hash} #{transfer.position}")

        for row in lists["txlist"]:
            for transfer in self._normal(chain, address, row):
                keep(transfer)
        calls: list[Transfer] = []  # internal and token transfers, in row order: canonical positions below
        for row in lists["txlistinternal"]:
            tx_hash = row["hash"].lower()
            if tx_hash not in tx_index:
                tx_index[tx_hash] = self._lookup_tx_index_or_gap(chain, tx_hash)
            calls.append(self._internal(chain, row, tx_index[tx_hash]))
        calls.extend(self._token(chain, row, POSITION_TOKEN_BASE) for row in lists["tokentx"])
        for transfer in canonical_positions(calls):
            if transfer.block <= last_block:
                out[(transfer.tx_hash, transfer.position)] = transfer
        return sorted(out.values(), key=lambda t: t.order_key)

    def _lookup_tx_index_or_gap(self, chain: Chain, tx_hash: str) -> int:
        """The parent's tx index; a lookup that fails twice is a named gap (the transfer is kept, at index 0)."""
        for attempt in (1, 2):
            try:
                return self._lookup_tx_index(chain, tx_hash)
            except SourceError as exc:
                if attempt == 2:
                    self._gaps.append(
                        f"{chain.slug} tx {tx_hash}: its internal transfers are kept but its position in block is"
                        f" unknown (lookup failed: {exc.message})"
                    )
        return 0

    @staticmethod
    def _native(chain: Chain) -> Asset:
        return Asset(chain.slug, None, chain.native_symbol, chain.native_decimals)

    def _normal(self, chain: Chain, address: str, row: dict[str, Any]) -> list[Transfer]:
        native = self._native(chain)
        failed = row.get("isError") == "1" or row.get("txreceipt_status") == "0"
        genesis = str(row["from"]).upper() == "GENESIS"
        base = {
            "chain": chain.slug,
            "tx_hash": row["hash"],
            "block": int(row["blockNumber"]),
            "tx_index": int(row.get("transactionIndex") or 0),
            "timestamp": int(row["timeStamp"]),
            "sender": GENESIS if genesis else row["from"],
            "asset": native,
        }
        out = []
        fee = int(row.get("gasUsed") or 0) * int(row.get("gasPrice") or 0)
        if fee > 0 and not genesis and row["from"].lower() == address:  # the fee touches the sender only
            out.append(Transfer(**base, position=POSITION_FEE, receiver=FEE_SINK, amount=fee, kind=TransferKind.FEE))
        value = int(row.get("value") or 0)
        receiver = row.get("to") or row.get("contractAddress") or ""
        if value > 0 and receiver:
            out.append(
                Transfer(
                    **base,
                    position=POSITION_EXTERNAL,
                    receiver=receiver,
                    amount=value,
                    kind=TransferKind.EXTERNAL,
                    success=not failed,
                )
            )
        return out

    def _internal(self, chain: Chain, row: dict[str, Any], tx_index: int) -> Transfer:
        return Transfer(
            chain=chain.slug,
            tx_hash=row["hash"],
            position=POSITION_INTERNAL_BASE,  # provisional: `canonical_positions` assigns it
            block=int(row["blockNumber"]),
            tx_index=tx_index,
            timestamp=int(row["timeStamp"]),
            sender=row["from"],
            receiver=row.get("to") or row.get("contractAddress"),
            asset=self._native(chain),
            amount=int(row.get("value") or 0),
            kind=TransferKind.INTERNAL,
            success=row.get("isError", "0") != "1",
        )

    @staticmethod
    def _token(chain: Chain, row: dict[str, Any], position: int) -> Transfer:
        decimals = row.get("tokenDecimal", "")
        asset = Asset(chain.slug, row["contractAddress"], row.get("tokenSymbol", ""), int(decimals or 0))
        return Transfer(
            chain=chain.slug,
            tx_hash=row["hash"],
            position=position,
            block=int(row["blockNumber"]),
            tx_index=int(row.get("transactionIndex") or 0),
            timestamp=int(row["timeStamp"]),
            sender=row["from"],
            receiver=row["to"],
            asset=asset,
            amount=int(row.get("value") or 0),
            kind=TransferKind.TOKEN,
        )


#: What every list row must carry (chains.rows): a null or negative one is a named source error.
_COMMON = {"required": ("hash", "from"), "numbers": ("blockNumber", "timeStamp", "value")}
ROW_FIELDS: dict[str, dict[str, Any]] = {
    "txlist": {**_COMMON, "optional_numbers": ("transactionIndex", "gasUsed", "gasPrice")},
    "txlistinternal": _COMMON,
    "tokentx": {
        "required": ("hash", "from", "to", "contractAddress"),
        "numbers": _COMMON["numbers"],
        "optional_numbers": ("transactionIndex", "tokenDecimal"),
    },
}


class _ProxyCalls:
    """`eth_call` through `module=proxy`, shaped like :class:`chains.rpc.JsonRpcClient` for token metadata."""

    def __init__(self, adapter: ListReading, chain: Chain) -> None:
        self._adapter = adapter
        self._chain = chain

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        if method != "eth_call" or not params:
            raise SourceRejected(f"etherscan: proxy {method} is not used here")
        call, tag = params[0], (params[1] if len(params) > 1 else "latest")
        return self._adapter._proxy(self._chain, "eth_call", {"to": call["to"], "data": call["data"], "tag": tag})
