"""Etherscan lookups that bridge crossings need (:mod:`tracer.crosschain`): a transaction's own facts (calldata,
value, status, receipt logs) and a contract's logs by topic (`module=logs&action=getLogs`).

Functions over an :class:`chains.etherscan.adapter.EtherscanAdapter` (its request helpers), kept apart so the adapter
module stays one job: histories.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from chains.evm_decode import check_tx_hash, evm_log, evm_tx_facts, hex_int
from tracer.core.addresses import validate_evm
from tracer.core.crossings import EvmLog, EvmTxFacts
from tracer.core.errors import BadInput, SourceError
from tracer.core.networks import Chain


def tx_facts(adapter: Any, chain: Chain, tx_hash: str) -> EvmTxFacts:
    """Proxy `eth_getTransactionByHash` and `eth_getTransactionReceipt` as :class:`EvmTxFacts`."""
    tx_hash = check_tx_hash(tx_hash)
    tx = adapter._proxy(chain, "eth_getTransactionByHash", {"txhash": tx_hash})
    if not isinstance(tx, dict) or tx.get("blockNumber") is None:
        raise BadInput(f"transaction {tx_hash} on {chain.slug} is not known to {adapter.source} or still pending")
    receipt = adapter._proxy(chain, "eth_getTransactionReceipt", {"txhash": tx_hash})
    if not isinstance(receipt, dict):
        raise SourceError(f"etherscan: no receipt for transaction {tx_hash} on {chain.slug}")
    return evm_tx_facts(chain.slug, tx_hash, tx, receipt, source="etherscan")


def contract_logs(
    adapter: Any, chain: Chain, address: str, topics: Mapping[int, str], *, from_block: int, to_block: int
) -> list[tuple[str, int, EvmLog]]:
    """`getLogs` of one contract, topics joined by `and`, as (tx hash, unix time, log)."""
    params = {
        "module": "logs",
        "action": "getLogs",
        "address": validate_evm(address),
        "fromBlock": str(from_block),
        "toBlock": str(to_block),
    }
    for n, topic in sorted(topics.items()):
        params[f"topic{n}"] = topic
    ordered = sorted(topics)
    for a, b in pairwise(ordered):
        params[f"topic{a}_{b}_opr"] = "and"
    try:
        rows = adapter._result(adapter._call(chain, params))
        return [(str(r["transactionHash"]).lower(), hex_int(r.get("timeStamp")), evm_log(r)) for r in rows]
    except (KeyError, ValueError, TypeError) as exc:
        raise SourceError(f"etherscan: {chain.slug} logs of {address} could not be read ({exc})") from None
