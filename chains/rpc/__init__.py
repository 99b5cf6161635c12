"""JSON-RPC node adapter (your own node: Erigon, Nethermind, geth, anvil, a provider URL).

:class:`RpcAdapter` implements :class:`tracer.core.protocols.AccountAdapter` with ``source = "rpc"`` and
gives the same :class:`~tracer.core.models.Transfer` records as :class:`chains.etherscan.EtherscanAdapter`
(same positions, same fee and success rules), so either source can fill the store:

- ``FEE`` (position 0): `gasUsed × effectiveGasPrice` from the receipt, paid by the sender to
  `FEE_SINK`, also for reverted transactions; listed in the sender's history only;
- ``EXTERNAL`` (1): the top-level value (> 0) to `to`, or to the created contract;
  `success` is the receipt status;
- ``INTERNAL``: value-moving calls, creates and self-destructs below the top-level call, at
  :func:`chains.evm_decode.internal_position` of their trace address; `success` is False when
  the call or an ancestor reverted;
- ``TOKEN`` (1,000,000 + logIndex): ERC-20 `Transfer` logs (3 topics), `logIndex` within the block.

Known difference from Etherscan: Etherscan's own `tokentx` rows carry no `logIndex`, so the
Etherscan adapter then numbers token transfers by their order within the transaction (Blockscout
and the emulator do send `logIndex`, and then both adapters agree). The two numberings differ
when other logs precede a transfer in its block; the records are otherwise the same.
Transactions of pre-Byzantium blocks have receipts without `status`; their success is then
taken from the top-level trace where the method has one, else assumed.

Native and internal transfers come from the best method the node offers, detected once on
connect and exposed as :attr:`RpcAdapter.method`:

1. ``trace_filter`` (Erigon, Nethermind, reth, anvil): traces from and to the address;
2. ``ots``: Otterscan's `ots_searchTransactionsAfter` finds the transactions, `debug_traceTransaction`
   with `callTracer` (else `trace_transaction`) gives their internal calls; it comes before the
   geth-only method because it needs no scan (`debug_traceTransaction` alone cannot find the
   transactions of an address);
3. ``debug_scan``: a bounded block scan (`max_scan_blocks`), each block traced once with
   `debug_traceBlockByNumber` (`callTracer`);
4. ``block_scan``: a bounded block scan of top-level transactions only; internal transfers
   are then missing, which :attr:`RpcAdapter.notes` says (never silently).

Token transfers come from `eth_getLogs` with the address padded into topic 1, then topic 2.
`eth_getLogs` and `trace_filter` go in block chunks (default 100,000 blocks) that halve when
the node refuses a range ("query returned more than 10000 results", range limits) and grow
back after successes (see :meth:`RpcAdapter._chunked`).

Every request goes through :class:`chains.http.HttpClient` (retries, backoff, redaction);
JSON-RPC error envelopes are classified there by :func:`classify_rpc`. Keys embedded in the
URL (``https://host/v2/KEY``, ``?apikey=``, ``user:pass@``) never appear in errors or logs.

Modules: :mod:`~chains.rpc.client` (the JSON-RPC transport and its error classes),
:mod:`~chains.rpc.reading` (method detection, finding an address's transactions, logs, adaptive
block chunks), :mod:`~chains.rpc.records` (a transaction's facts and internal calls as records,
canonical order) and :mod:`~chains.rpc.adapter` (:class:`RpcAdapter`, the public face).
"""

from chains.rpc.adapter import RpcAdapter
from chains.rpc.client import (
    JsonRpcClient,
    RpcCallReverted,
    RpcMethodUnsupported,
    RpcRangeTooLarge,
    classify_rpc,
    url_secrets,
)
from chains.rpc.reading import CALL_TRACER, METHODS, REGROW_AFTER
from chains.rpc.records import internal_transfers

__all__ = [
    "CALL_TRACER",
    "METHODS",
    "REGROW_AFTER",
    "JsonRpcClient",
    "RpcAdapter",
    "RpcCallReverted",
    "RpcMethodUnsupported",
    "RpcRangeTooLarge",
    "classify_rpc",
    "internal_transfers",
    "url_secrets",
]
