"""JSON-RPC lookups that bridge crossings need (:mod:`tracer.crosschain`): a transaction's own facts and a
contract's logs by topic (`eth_getLogs`), over any :class:`chains.evm_decode.EthCaller` (the RPC adapter's client).
"""

from __future__ import annotations

from collections.abc import Mapping

from chains.evm_decode import EthCaller, check_tx_hash, evm_log, evm_tx_facts, hex_int
from tracer.core.crossings import EvmLog, EvmTxFacts
from tracer.core.errors import BadInput, SourceError


def rpc_tx_facts(rpc: EthCaller, chain: str, tx_hash: str) -> EvmTxFacts:
    """`eth_getTransactionByHash` and `eth_getTransactionReceipt` as :class:`EvmTxFacts`."""
    tx_hash = check_tx_hash(tx_hash)
    tx = rpc.call("eth_getTransactionByHash", [tx_hash])
    if not isinstance(tx, dict) or tx.get("blockNumber") is None:
        raise BadInput(f"transaction {tx_hash} on {chain} is not known to the node or still pending")
    receipt = rpc.call("eth_getTransactionReceipt", [tx_hash])
    if not isinstance(receipt, dict):
        raise SourceError(f"rpc: the node has no receipt for transaction {tx_hash}")
    return evm_tx_facts(chain, tx_hash, tx, receipt, source="rpc")


def rpc_logs(
    rpc: EthCaller, address: str, topics: Mapping[int, str], *, from_block: int, to_block: int | None
) -> list[tuple[str, int, EvmLog]]:
    """`eth_getLogs` of one contract with topics by position, as (tx hash, unix time, log); times from headers."""
    wanted: list[str | None] = [topics.get(n) for n in range(max(topics) + 1)] if topics else []
    flt = {"address": address, "fromBlock": hex(from_block), "toBlock": "latest" if to_block is None else hex(to_block)}
    rows = rpc.call("eth_getLogs", [{**flt, "topics": wanted}])
    if not isinstance(rows, list):
        raise SourceError("rpc: eth_getLogs did not answer a list")
    times: dict[str, int] = {}
    found = []
    try:
        for row in rows:
            block = str(row["blockNumber"])
            if block not in times:
                header = rpc.call("eth_getBlockByNumber", [block, False])
                times[block] = hex_int((header or {}).get("timestamp"))
            found.append((str(row["transactionHash"]).lower(), times[block], evm_log(row)))
    except (KeyError, ValueError, TypeError) as exc:
        raise SourceError(f"rpc: logs of {address} could not be read ({exc})") from None
    return found
