"""Etherscan API V2 adapter (and any Etherscan-compatible API, e.g. Blockscout) for every EVM chain.

`fetch_history` reads `txlist`, `txlistinternal` and `tokentx` for one address and block range
and maps each row to :class:`tracer.core.models.Transfer` records. It decides nothing (noise
flags are set by the history service, :mod:`tracer.sources.history`). `fetch_transaction` reads
one transaction (a theft-tx seed) through the proxy module and maps it with the same code, so it
gives the same records.

Position scheme (shared with the JSON-RPC adapter, so both sources give the same records and
the store's (chain, tx hash, position) key means the same transfer whoever fetched it):

- ``0`` (`POSITION_FEE`): the gas fee `gasUsed × gasPrice` paid by the tx sender to
  `FEE_SINK`, also for reverted txs; only when the fee is > 0 (L1 data fees of rollups are
  not in `txlist` and not counted);
- ``1`` (`POSITION_EXTERNAL`): the top-level value, only when `value > 0`; `success` is
  False for reverted txs (`isError=1`), which then move no value; contract creation pays
  the created contract;
- internal calls and tokens: the canonical position of :mod:`chains.positions`, derived
  from the transfer's content (never from Etherscan's trace-address `traceId`, Routescan's
  flat `traceId`, Blockscout's `index` or `logIndex`), so every Etherscan-compatible
  service and the JSON-RPC adapter give one transfer one identity, and identical calls
  of one transaction (rows of `txlistinternal&txhash=` carry neither `hash` nor `traceId`)
  stay apart.

Real-service quirks read here (README "Sources"; bodies in the shared sample):

- genesis allocations in `txlist`: ``"from": "GENESIS"``, ``"hash": "GENESIS_<address>"``,
  block 0 — an EXTERNAL inflow from the pseudo-sender :data:`tracer.core.addresses.GENESIS`
  under the hash ``genesis_<address>`` (stored as text; no fee);
- Blockscout internal rows name the hash `transactionHash` and number calls by `index`;
- Blockscout `status: "2"` ("some internal transactions ... not yet processed") is an
  incomplete answer: asked again (`STATUS_2_RETRIES`, with backoff), then its rows are kept
  and the chunk carries a named gap (never complete, never marked covered);
- "Free API access is temporarily unavailable ..." (HTTP 200, NOTOK) is retried like a rate
  limit; "Free API access is not supported for this chain" is one permanent error naming
  the chain and the plan;
- an internal row whose parent transaction is not in `txlist` costs one lookup of its
  transaction index; if that keeps failing, the transfer is kept (tx index 0) and the chunk
  carries a named gap instead of the whole history failing.

Paging beyond the per-request cap: `sort=asc, page=1, offset=page_size`, then again from
`startblock = last block seen`; rows already held for that block are replaced by the new
page's (so a block straddling two pages is neither lost nor doubled). A single block with
more rows than a page is read by page numbers inside the `page × offset ≤ 10,000` window.
A page shorter than `page_size` ends the list, unless its size is a multiple of 100 (a
server-side cap such as the free keys' 1,000 rows): then one more request confirms the end.

Modules: :mod:`~chains.etherscan.answers` (error classification, row shapes),
:mod:`~chains.etherscan.paging` (requests, paging, proxy calls), :mod:`~chains.etherscan.mapping`
(rows to records) and :mod:`~chains.etherscan.adapter` (:class:`EtherscanAdapter`, the public face).
"""

from chains.etherscan.adapter import EtherscanAdapter
from chains.etherscan.answers import STATUS_INCOMPLETE, classify_etherscan
from chains.etherscan.mapping import trace_address_of
from chains.etherscan.paging import DEFAULT_BASE_URL, FREE_ROW_CAP, MAX_BLOCK, PUBLIC_RATE_PER_S, RESULT_WINDOW

__all__ = [
    "DEFAULT_BASE_URL",
    "FREE_ROW_CAP",
    "MAX_BLOCK",
    "PUBLIC_RATE_PER_S",
    "RESULT_WINDOW",
    "STATUS_INCOMPLETE",
    "EtherscanAdapter",
    "classify_etherscan",
    "trace_address_of",
]
