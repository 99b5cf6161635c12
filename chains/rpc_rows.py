"""JSON-RPC objects checked before they are read (:mod:`chains.rows`): a transaction, its receipt, a log.

`hex_int(None)` is 0, so a node answering `null` for a block number, a value or the gas used
would silently give block 0, a zero payment or a missing fee; a malformed Transfer log would be
dropped. Here each is one :class:`tracer.core.errors.SourceError` naming the field and the object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chains.evm_decode import TRANSFER_TOPIC
from chains.rows import check_row


def check_rpc_tx(tx_hash: str, tx: Mapping[str, Any], receipt: Mapping[str, Any]) -> None:
    """A transaction and its receipt carry the fields the adapter reads, none null or negative."""
    check_row(
        "rpc",
        "eth_getTransactionByHash",
        0,
        {"hash": tx_hash, **tx},
        required=("from",),
        numbers=("blockNumber", "value"),
        optional_numbers=("transactionIndex", "gasPrice"),
        hex_ok=True,
    )
    check_row(
        "rpc",
        "eth_getTransactionReceipt",
        0,
        {"hash": tx_hash, **receipt},
        numbers=("gasUsed",),
        optional_numbers=("effectiveGasPrice", "status"),
        hex_ok=True,
    )


def check_transfer_log(raw: Any) -> None:
    """An ERC-20 Transfer log (three topics) carries its contract, transaction, block and log index."""
    if not isinstance(raw, Mapping):
        check_row("rpc", "eth_getLogs", 0, raw)  # raises: not an object
        return
    topics = raw.get("topics") or ()
    if len(topics) != 3 or str(topics[0]).lower() != TRANSFER_TOPIC:
        return  # not an ERC-20 transfer (ERC-721 has four topics): not ours to read
    check_row(
        "rpc",
        "eth_getLogs",
        0,
        raw,
        required=("address", "transactionHash", "data"),
        numbers=("blockNumber", "logIndex"),
        optional_numbers=("transactionIndex",),
        ident=("transactionHash",),
        hex_ok=True,
    )
