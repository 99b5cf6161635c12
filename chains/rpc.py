"""JSON-RPC node adapter (your own node: Erigon, Nethermind, geth, anvil, a provider URL).

:class:`RpcAdapter` implements :class:`tracer.core.protocols.AccountAdapter` with ``source = "rpc"`` and
gives the same :class:`~tracer.core.models.Transfer` records as :class:`chains.etherscan.EtherscanAdapter`
(same positions, same fee and success rules, same noise flags), so either source can fill the store:

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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from chains.evm_decode import (
    TRANSFER_TOPIC,
    CallFrame,
    TokenLog,
    check_tx_hash,
    decode_transfer_log,
    fetch_token_metadata,
    flatten_call_tracer,
    flatten_parity_traces,
    hex_int,
    internal_position,
    internal_value_frames,
    pad_topic,
    unknown_value_frames,
)
from chains.http import HttpClient, RetryPolicy, check_url, json_body
from chains.positions import canonical_positions
from chains.rows import check_row
from chains.rpc_rows import check_rpc_tx, check_transfer_log
from heuristics.noise import KnownTokens, flag_noise
from tracer.core.addresses import validate_evm
from tracer.core.errors import BadChain, BadInput, RetriableSourceError, SourceError, SourceRejected
from tracer.core.models import (
    FEE_SINK,
    POSITION_EXTERNAL,
    POSITION_FEE,
    POSITION_TOKEN_BASE,
    Asset,
    Transfer,
    TransferKind,
)
from tracer.core.networks import Chain, ChainKind
from tracer.core.protocols import HistoryChunk, ResponseArchive

METHODS = ("trace_filter", "ots", "debug_scan", "block_scan")
CALL_TRACER = {"tracer": "callTracer"}
#: Successful chunks in a row after which a lowered block-range ceiling is lifted again.
REGROW_AFTER = 16
#: Largest decimals value taken at face value (uint256 max is ~1.2e77).

# -- classification of JSON-RPC answers (once, at the client boundary) ------------------------------


class RpcMethodUnsupported(SourceRejected):
    """The node does not offer this JSON-RPC method (or has it disabled)."""


class RpcRangeTooLarge(SourceRejected):
    """The node refused a block range or result size; ask again with a smaller range."""


class RpcCallReverted(SourceRejected):
    """An `eth_call` reverted (e.g. a token without `decimals()`)."""


_UNSUPPORTED = re.compile(
    r"method .*(not found|not exist|not supported|not available|unsupported)|does not exist|not supported|"
    r"unsupported method|unknown method|disabled|not enabled|namespace",
    re.IGNORECASE,
)
_RANGE = re.compile(
    r"more than \d+ results|query returned more than|limit exceeded|block range|range (is )?too (large|wide)|"
    r"exceed(s|ed)? (max|maximum)|too many (blocks|results|logs)|response size|query timeout|"
    r"max(imum)? .*range|range limit",
    re.IGNORECASE,
)
_RATE = re.compile(r"rate limit|too many requests|capacity|throughput|exceeded .*quota|try again", re.IGNORECASE)
_REVERT = re.compile(r"revert|invalid opcode|out of gas|execution error", re.IGNORECASE)


def classify_rpc(response: requests.Response) -> Exception | None:
    """Sort a JSON-RPC answer: None (usable), retriable (rate limit) or a definitive rejection class."""
    body = json_body(response)
    if not isinstance(body, dict):
        return RetriableSourceError("rpc: answer is not a JSON-RPC object")
    error = body.get("error")
    if error is None:
        if "result" not in body:
            return RetriableSourceError("rpc: answer has neither result nor error")
        return None
    code = error.get("code") if isinstance(error, dict) else None
    message = str(error.get("message", error) if isinstance(error, dict) else error)[:300]
    if code == 429 or _RATE.search(message):
        return RetriableSourceError(f"rpc: {message}")
    if code == -32601 or _UNSUPPORTED.search(message):
        return RpcMethodUnsupported(f"rpc: method not available: {message}")
    if _RANGE.search(message):
        return RpcRangeTooLarge(f"rpc: range refused: {message}")
    if code == 3 or _REVERT.search(message):
        return RpcCallReverted(f"rpc: call reverted: {message}")
    return SourceRejected(f"rpc: the node rejected the request: {message}")


_KEYLIKE_SEGMENT = re.compile(r"[A-Za-z0-9_\-]{16,}")


def url_secrets(url: str) -> list[str]:
    """The parts of an RPC URL that may be keys: long path segments, query values, user info."""
    parts = urlsplit(url)
    secrets = [seg for seg in parts.path.split("/") if _KEYLIKE_SEGMENT.fullmatch(seg)]
    secrets += [value for _, value in parse_qsl(parts.query) if len(value) >= 6]
    if parts.password:
        secrets.append(parts.password)
    if parts.username and parts.password:
        secrets.append(parts.username)
    return secrets


class JsonRpcClient:
    """Plain JSON-RPC calls through the shared HTTP client (hex strings in, hex strings out)."""

    def __init__(
        self,
        url: str,
        *,
        client: HttpClient | None = None,
        archive: ResponseArchive | None = None,
        rate_per_s: float | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        check_url(url, what="JSON-RPC URL")
        self.url = url
        if client is None:
            extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
            client = HttpClient(
                source="rpc",
                rate_per_s=rate_per_s,
                retry=retry,
                secrets=url_secrets(url),
                archive=archive,
                classify=classify_rpc,
                **extra,
            )
        self.client = client
        self._next_id = 0

    @property
    def requests(self) -> int:
        return self.client.requests

    @property
    def safe_url(self) -> str:
        """The URL with keys replaced by ``***`` (for messages and manifests)."""
        return self.client.redact(self.url)

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        """One JSON-RPC call; the `result`, or a classified :class:`SourceError`."""
        self._next_id += 1
        payload = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params or []}
        body = self.client.post_json(self.url, payload)
        return body.get("result")


# -- the adapter --------------------------------------------------------------------------------------


@dataclass
class _TxFacts:
    """What one transaction contributes, gathered from whichever calls the method needs."""

    tx_hash: str
    block: int
    tx_index: int = 0
    sender: str = ""
    to: str | None = None
    value: int = 0
    created: str | None = None
    success: bool = True
    fee: int = 0
    frames: list[CallFrame] = field(default_factory=list)


class RpcAdapter:
    """Account histories from a JSON-RPC node (implements :class:`tracer.core.protocols.AccountAdapter`)."""

    source = "rpc"

    def __init__(
        self,
        *,
        url: str,
        expected_chain: Chain,
        archive: ResponseArchive | None = None,
        client: HttpClient | None = None,
        method: str | None = None,
        block_chunk: int = 100_000,
        max_block_chunk: int | None = None,
        max_scan_blocks: int = 5_000,
        ots_page_size: int = 25,
        rate_per_s: float | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        known_tokens: KnownTokens | None = None,
    ) -> None:
        if expected_chain.kind is not ChainKind.EVM or expected_chain.chain_id is None:
            raise BadChain(f"the JSON-RPC adapter serves EVM chains only, not {expected_chain.slug}")
        if method is not None and method not in METHODS:
            raise BadInput(f"unknown trace method {method!r}; expected one of: {', '.join(METHODS)}")
        if block_chunk < 1 or max_scan_blocks < 1 or ots_page_size < 1:
            raise ValueError("block_chunk, max_scan_blocks and ots_page_size must be positive")
        self.rpc = JsonRpcClient(url, client=client, archive=archive, rate_per_s=rate_per_s, retry=retry, sleep=sleep)
        self.chain = expected_chain
        self.max_scan_blocks = max_scan_blocks
        self.ots_page_size = ots_page_size
        self.notes: list[str] = []
        self._forced_method = method
        self._method: str | None = None
        self._connected = False
        self._max_chunk = max(block_chunk, max_block_chunk or block_chunk)
        self._chunk = {"logs": block_chunk, "traces": block_chunk}
        self._cap = {"logs": self._max_chunk, "traces": self._max_chunk}
        self._streak = {"logs": 0, "traces": 0}
        self._known_tokens = known_tokens
        self._assets: dict[str, Asset] = {}
        self._block_times: dict[int, int] = {}

    # -- AccountAdapter ------------------------------------------------------------------------------

    @property
    def requests(self) -> int:
        return self.rpc.requests

    @property
    def url(self) -> str:
        """The node URL with keys replaced by ``***`` (safe for manifests and messages)."""
        return self.rpc.safe_url

    @property
    def method(self) -> str:
        """The trace method in use (see the module docstring); detected on first use."""
        self.connect()
        assert self._method is not None
        return self._method

    def connect(self) -> None:
        """Check the node's chain id against the case's chain, then detect the trace method (once)."""
        if self._connected:
            return
        chain_id = hex_int(self.rpc.call("eth_chainId"))
        if chain_id != self.chain.chain_id:
            raise SourceRejected(
                f"the node at {self.rpc.safe_url} serves chain id {chain_id}, but {self.chain.slug} "
                f"has chain id {self.chain.chain_id}; give an RPC URL of a {self.chain.slug} node"
            )
        self._method = self._forced_method or self._detect_method()
        if self._method == "block_scan":
            self.notes.append(
                "block_scan: the node is read without traces (no trace_filter, Otterscan or debug_traceBlockByNumber);"
                " internal transfers are missing, only top-level transactions and token transfers are read"
            )
        self._connected = True

    def fetch_tip(self, chain: Chain) -> int:
        self._check_chain(chain)
        self.connect()
        return hex_int(self.rpc.call("eth_blockNumber"))

    def fetch_history(
        self, chain: Chain, address: str, *, start_block: int, end_block: int, max_rows: int | None = None
    ) -> HistoryChunk:
        """Every transfer touching `address` in `start_block..end_block` (see the module docstring)."""
        self._check_chain(chain)
        address = validate_evm(address)
        if end_block < start_block:
            return HistoryChunk((), start_block, end_block, True)
        self.connect()
        facts = self._native_facts(address, start_block, end_block)
        transfers: dict[tuple[str, int], Transfer] = {}
        for tx in facts.values():
            for transfer in self._native_transfers(address, tx):
                transfers.setdefault((transfer.tx_hash, transfer.position), transfer)
        for log in self._token_logs(address, start_block, end_block):
            transfer = self._token_transfer(log)
            transfers.setdefault((transfer.tx_hash, transfer.position), transfer)
        ordered = _canonical_order(transfers.values())
        chunk = _limit(ordered, start_block, end_block, max_rows)
        return flag_noise(chunk, traced={address}, known_tokens=self._known_tokens)

    # -- extra lookups ---------------------------------------------------------------------------------

    def fetch_is_contract(self, chain: Chain, address: str) -> bool:
        """True when `address` has code at the tip."""
        self._check_chain(chain)
        code = self.rpc.call("eth_getCode", [validate_evm(address), "latest"])
        return isinstance(code, str) and code not in ("", "0x", "0x0")

    def fetch_transaction(self, chain: Chain, tx_hash: str) -> tuple[Transfer, ...]:
        """Every transfer of one transaction, as `fetch_history` records them (same positions and flags).

        `eth_getTransactionByHash` and the receipt (fee, status, ERC-20 `Transfer` logs); internal
        calls from `trace_transaction` (method ``trace_filter``), else `debug_traceTransaction`
        with `callTracer` (``ots``, ``debug_scan``); none with ``block_scan`` (noted). An unknown or
        pending hash raises :class:`BadInput`.
        """
        self._check_chain(chain)
        tx_hash = check_tx_hash(tx_hash)
        self.connect()
        raw = self.rpc.call("eth_getTransactionByHash", [tx_hash])
        if raw is None:
            raise BadInput(f"transaction {tx_hash} is not known to the node at {self.url} ({chain.slug})")
        if not isinstance(raw, Mapping):
            raise SourceError(f"rpc: eth_getTransactionByHash answered {str(raw)[:80]!r} for {tx_hash}")
        if raw.get("blockNumber") is None:
            raise BadInput(f"transaction {tx_hash} on {chain.slug} is still pending; trace it once it is mined")
        receipt = self._receipt(tx_hash)
        tx = self._tx_facts(tx_hash, raw=raw, receipt=receipt)
        if self.method == "trace_filter":
            tx.frames = flatten_parity_traces(self.rpc.call("trace_transaction", [tx_hash]) or [])
        elif self.method == "block_scan":
            note = f"block_scan: internal transfers of {tx_hash} are not read (the node offers no traces)"
            if note not in self.notes:
                self.notes.append(note)
        else:
            tx.frames = self._frames_of(tx_hash)
        transfers: dict[tuple[str, int], Transfer] = {}
        for transfer in self._native_transfers(None, tx):
            transfers.setdefault((transfer.tx_hash, transfer.position), transfer)
        for raw_log in receipt.get("logs") or []:
            if raw_log.get("removed"):
                continue
            log = decode_transfer_log({"transactionHash": tx_hash, "blockNumber": hex(tx.block), **raw_log})
            if log is not None:
                transfer = self._token_transfer(log)
                transfers.setdefault((transfer.tx_hash, transfer.position), transfer)
        ordered = _canonical_order(transfers.values())
        chunk = HistoryChunk(tuple(ordered), tx.block, tx.block)
        return flag_noise(chunk, traced={tx.sender}, known_tokens=self._known_tokens).transfers

    def fetch_tx_internals(self, chain: Chain, tx_hash: str) -> list[Transfer]:
        """The internal transfers of one transaction, in trace order."""
        self._check_chain(chain)
        self.connect()
        tx = self._tx_facts(tx_hash.lower())
        tx.frames = self._frames_of(tx.tx_hash)
        in_trace_order = sorted(self._native_transfers(None, tx), key=lambda t: t.order_key)
        return [t for t in canonical_positions(in_trace_order) if t.kind is TransferKind.INTERNAL]

    def fetch_block_by_time(self, chain: Chain, timestamp: int, *, closest: str = "before") -> int:
        """The last block at or before `timestamp` (`closest="before"`) or the first at or after it, by bisection."""
        if closest not in ("before", "after"):
            raise BadInput(f"closest must be 'before' or 'after', not {closest!r}")
        tip = self.fetch_tip(chain)
        low, high = 0, tip
        if closest == "before":
            if self._block_time(0) > timestamp:
                raise SourceRejected(f"rpc: no {chain.slug} block at or before unix time {timestamp}")
            while low < high:  # invariant: block `low` is at or before `timestamp`
                middle = (low + high + 1) // 2
                low, high = (middle, high) if self._block_time(middle) <= timestamp else (low, middle - 1)
            return low
        if self._block_time(tip) < timestamp:
            raise SourceRejected(f"rpc: no {chain.slug} block at or after unix time {timestamp} (tip {tip})")
        while low < high:  # invariant: block `high` is at or after `timestamp`
            middle = (low + high) // 2
            low, high = (low, middle) if self._block_time(middle) >= timestamp else (middle + 1, high)
        return high

    # -- method detection -----------------------------------------------------------------------------

    def _check_chain(self, chain: Chain) -> None:
        if chain.slug != self.chain.slug:
            raise BadChain(f"this RPC adapter was set up for {self.chain.slug}, not {chain.slug}")

    def _supports(self, method: str, params: list[Any]) -> bool:
        try:
            self.rpc.call(method, params)
        except RpcMethodUnsupported:
            return False
        except RpcRangeTooLarge:
            return True
        except SourceRejected:
            return False
        return True

    def _detect_method(self) -> str:
        tip = hex_int(self.rpc.call("eth_blockNumber"))
        probe = "0x" + "0" * 40
        if self._supports("trace_filter", [{"fromBlock": tip, "toBlock": tip, "toAddress": [probe]}]):
            return "trace_filter"
        if self._supports("ots_getApiLevel", []):
            return "ots"
        if self._supports("debug_traceBlockByNumber", [hex(tip), CALL_TRACER]):
            return "debug_scan"
        return "block_scan"

    # -- native transfers ------------------------------------------------------------------------------

    def _native_facts(self, address: str, start: int, end: int) -> dict[str, _TxFacts]:
        if self._method == "trace_filter":
            return self._facts_by_trace_filter(address, start, end)
        if self._method == "ots":
            return self._facts_by_ots(address, start, end)
        return self._facts_by_scan(address, start, end, traced=self._method == "debug_scan")

    def _facts_by_trace_filter(self, address: str, start: int, end: int) -> dict[str, _TxFacts]:
        traces: list[Mapping[str, Any]] = []
        for side in ("fromAddress", "toAddress"):

            def fetch(lo: int, hi: int, side: str = side) -> list[Any]:
                return self.rpc.call("trace_filter", [{"fromBlock": lo, "toBlock": hi, side: [address]}]) or []

            traces.extend(self._chunked("traces", start, end, fetch))
        hashes: dict[str, int] = {}
        internal_touch: set[str] = set()
        top_failed: set[str] = set()
        for trace in traces:
            tx_hash = trace.get("transactionHash")
            if not tx_hash:  # block rewards
                continue
            tx_hash = str(tx_hash).lower()
            check_row("rpc", "trace_filter", len(hashes), trace, numbers=("blockNumber",), hex_ok=True)
            hashes[tx_hash] = hex_int(trace.get("blockNumber"))
            if trace.get("traceAddress"):
                internal_touch.add(tx_hash)
            elif trace.get("error"):
                top_failed.add(tx_hash)  # pre-Byzantium receipts have no status; the trace says it
        facts = {}
        for tx_hash in sorted(hashes, key=lambda h: hashes[h]):
            tx = self._tx_facts(tx_hash)
            tx.success = tx.success and tx_hash not in top_failed
            if tx_hash in internal_touch:
                tx.frames = flatten_parity_traces(self.rpc.call("trace_transaction", [tx_hash]) or [])
            facts[tx_hash] = tx
        return facts

    def _facts_by_ots(self, address: str, start: int, end: int) -> dict[str, _TxFacts]:
        facts: dict[str, _TxFacts] = {}
        cursor = start - 1
        while cursor < end:
            page = self.rpc.call("ots_searchTransactionsAfter", [address, max(cursor, 0), self.ots_page_size]) or {}
            rows = page.get("txs") or []
            blocks = [hex_int(row.get("blockNumber")) for row in rows]
            for row, block in zip(rows, blocks, strict=True):
                if start <= block <= end:
                    facts.setdefault(str(row["hash"]).lower(), _TxFacts(str(row["hash"]).lower(), block))
            if not rows or page.get("firstPage") or max(blocks) <= cursor or max(blocks) >= end:
                break  # results come newest first; `firstPage` means nothing newer is left
            cursor = max(blocks)
        out = {}
        for tx_hash in sorted(facts, key=lambda h: facts[h].block):
            tx = self._tx_facts(tx_hash)
            tx.frames = self._frames_of(tx_hash)
            out[tx_hash] = tx
        return out

    def _facts_by_scan(self, address: str, start: int, end: int, *, traced: bool) -> dict[str, _TxFacts]:
        if end - start + 1 > self.max_scan_blocks:
            raise SourceRejected(
                f"rpc: the node has no trace_filter or Otterscan index, and scanning {end - start + 1} blocks "
                f"is over the limit of {self.max_scan_blocks}; narrow the range or use a node with trace_filter"
            )
        facts: dict[str, _TxFacts] = {}
        for number in range(start, end + 1):
            block = self.rpc.call("eth_getBlockByNumber", [hex(number), True]) or {}
            self._block_times[number] = hex_int(block.get("timestamp"))
            frames_by_tx: dict[str, list[CallFrame]] = {}
            if traced and block.get("transactions"):
                for item in self.rpc.call("debug_traceBlockByNumber", [hex(number), CALL_TRACER]) or []:
                    tx_hash = item.get("txHash") if isinstance(item, dict) else None
                    if tx_hash:
                        frames_by_tx[str(tx_hash).lower()] = flatten_call_tracer(item.get("result") or {})
                if not frames_by_tx:  # old geth answers without txHash: same order as the block
                    results = self.rpc.call("debug_traceBlockByNumber", [hex(number), CALL_TRACER]) or []
                    for raw, item in zip(block["transactions"], results, strict=False):
                        frames_by_tx[str(raw["hash"]).lower()] = flatten_call_tracer(item.get("result") or {})
            for raw in block.get("transactions") or []:
                tx_hash = str(raw["hash"]).lower()
                frames = frames_by_tx.get(tx_hash, [])
                parties = {str(raw.get("from") or "").lower(), str(raw.get("to") or "").lower()}
                touched = address in parties or any(address in (f.sender, f.receiver) for f in frames)
                if not touched and raw.get("to") is None:  # a creation: is `address` the new contract?
                    touched = self._receipt(tx_hash).get("contractAddress", "") == address
                if touched:
                    tx = self._tx_facts(tx_hash, raw=raw)
                    tx.frames = frames
                    facts[tx_hash] = tx
        return facts

    def _frames_of(self, tx_hash: str) -> list[CallFrame]:
        """Call frames of one tx: `debug_traceTransaction` (callTracer), else `trace_transaction`."""
        try:
            return flatten_call_tracer(self.rpc.call("debug_traceTransaction", [tx_hash, CALL_TRACER]) or {})
        except RpcMethodUnsupported:
            pass
        try:
            return flatten_parity_traces(self.rpc.call("trace_transaction", [tx_hash]) or [])
        except RpcMethodUnsupported:
            note = "the node traces no transaction (debug_traceTransaction, trace_transaction): internals missing"
            if note not in self.notes:
                self.notes.append(note)
            return []

    def _receipt(self, tx_hash: str) -> dict[str, Any]:
        receipt = self.rpc.call("eth_getTransactionReceipt", [tx_hash])
        if not isinstance(receipt, dict):
            raise SourceError(f"rpc: the node has no receipt for transaction {tx_hash}")
        return receipt

    def _tx_facts(
        self, tx_hash: str, *, raw: Mapping[str, Any] | None = None, receipt: Mapping[str, Any] | None = None
    ) -> _TxFacts:
        tx = raw if raw is not None else self.rpc.call("eth_getTransactionByHash", [tx_hash])
        if not isinstance(tx, Mapping):
            raise SourceError(f"rpc: the node does not know transaction {tx_hash}")
        if receipt is None:
            receipt = self._receipt(tx_hash)
        check_rpc_tx(tx_hash, tx, receipt)
        gas_price = receipt.get("effectiveGasPrice", tx.get("gasPrice"))
        block = hex_int(tx.get("blockNumber"))
        self._block_time(block, hint=tx.get("blockTimestamp"))
        created = receipt.get("contractAddress")
        return _TxFacts(
            tx_hash=tx_hash,
            block=block,
            tx_index=hex_int(tx.get("transactionIndex")),
            sender=str(tx["from"]).lower(),
            to=str(tx["to"]).lower() if tx.get("to") else None,
            value=hex_int(tx.get("value")),
            created=str(created).lower() if created else None,
            success=hex_int(receipt.get("status", "0x1")) == 1,
            fee=hex_int(receipt.get("gasUsed")) * hex_int(gas_price),
        )

    def _native_transfers(self, address: str | None, tx: _TxFacts) -> list[Transfer]:
        """Records of `tx` that touch `address` (all of them when `address` is None)."""
        native = Asset(self.chain.slug, None, self.chain.native_symbol, self.chain.native_decimals)
        base = {
            "chain": self.chain.slug,
            "tx_hash": tx.tx_hash,
            "block": tx.block,
            "tx_index": tx.tx_index,
            "timestamp": self._block_time(tx.block),
            "asset": native,
        }
        if tx.frames and tx.frames[0].is_top_level and tx.frames[0].failed:
            tx.success = False  # the trace knows even when a pre-Byzantium receipt does not
        out = []
        if tx.fee > 0 and address in (tx.sender, None):
            out.append(
                Transfer(
                    **base,
                    position=POSITION_FEE,
                    sender=tx.sender,
                    receiver=FEE_SINK,
                    amount=tx.fee,
                    kind=TransferKind.FEE,
                )
            )
        receiver = tx.to or tx.created
        if tx.value > 0 and receiver and address in (tx.sender, receiver, None):
            out.append(
                Transfer(
                    **base,
                    position=POSITION_EXTERNAL,
                    sender=tx.sender,
                    receiver=receiver,
                    amount=tx.value,
                    kind=TransferKind.EXTERNAL,
                    success=tx.success,
                )
            )
        out += internal_transfers(
            self.chain,
            tx.frames,
            tx_hash=tx.tx_hash,
            block=tx.block,
            tx_index=tx.tx_index,
            timestamp=base["timestamp"],
            tx_success=tx.success,
            address=address,
        )
        unknown = unknown_value_frames(tx.frames)
        note = (
            f"{len(unknown)} call(s) in {tx.tx_hash} have no beneficiary or value in the node's trace "
            "(old geth SELFDESTRUCT frames); their value, if any, is not in the records"
        )
        if unknown and note not in self.notes:
            self.notes.append(note)
        return out

    def _block_time(self, block: int, *, hint: Any = None) -> int:
        if block not in self._block_times:
            if hint is not None:
                self._block_times[block] = hex_int(hint)
            else:
                header = self.rpc.call("eth_getBlockByNumber", [hex(block), False])
                if not isinstance(header, Mapping):
                    raise SourceError(f"rpc: the node has no block {block}")
                check_row("rpc", "eth_getBlockByNumber", block, header, numbers=("timestamp",), hex_ok=True)
                self._block_times[block] = hex_int(header.get("timestamp"))
        return self._block_times[block]

    # -- token transfers ----------------------------------------------------------------------------

    def _token_logs(self, address: str, start: int, end: int) -> list[TokenLog]:
        topic = pad_topic(address)
        found: dict[tuple[str, int], TokenLog] = {}
        for topics in ([TRANSFER_TOPIC, topic], [TRANSFER_TOPIC, None, topic]):

            def fetch(lo: int, hi: int, topics: list[str | None] = topics) -> list[Any]:
                return self.rpc.call("eth_getLogs", [{"fromBlock": hex(lo), "toBlock": hex(hi), "topics": topics}])

            for raw in self._chunked("logs", start, end, fetch):
                if raw.get("removed"):
                    continue
                check_transfer_log(raw)
                log = decode_transfer_log(raw)
                if log is not None:
                    if raw.get("blockTimestamp") is not None:
                        self._block_time(log.block, hint=raw["blockTimestamp"])
                    found.setdefault((log.tx_hash, log.log_index), log)
        return sorted(found.values(), key=lambda log: (log.block, log.log_index))

    def _token_transfer(self, log: TokenLog) -> Transfer:
        return Transfer(
            chain=self.chain.slug,
            tx_hash=log.tx_hash,
            position=POSITION_TOKEN_BASE + log.log_index,
            block=log.block,
            tx_index=log.tx_index,
            timestamp=self._block_time(log.block),
            sender=log.sender,
            receiver=log.receiver,
            asset=self.fetch_token(log.token),
            amount=log.value,
            kind=TransferKind.TOKEN,
        )

    def fetch_token(self, token: str) -> Asset:
        """Symbol and decimals of a token by `eth_call` (cached), with the usual fallbacks."""
        token = validate_evm(token)
        if token not in self._assets:
            meta = fetch_token_metadata(self.rpc, token)
            self.notes.extend(meta.notes)
            self._assets[token] = Asset(self.chain.slug, token, meta.symbol, meta.decimals)
        return self._assets[token]

    # -- block chunks that shrink and grow ----------------------------------------------------------

    def _chunked(self, kind: str, start: int, end: int, fetch: Callable[[int, int], list[Any]]) -> Iterator[Any]:
        """`fetch(lo, hi)` over start..end in block chunks that adapt to what the node accepts.

        A refused range is halved (down to one block) and the half becomes the ceiling; sizes
        double back up to the ceiling after successes, and after `REGROW_AFTER` successes in a
        row the ceiling is lifted again to probe for larger ranges.
        """
        lo = start
        while lo <= end:
            size = self._chunk[kind]
            hi = min(end, lo + size - 1)
            try:
                rows = fetch(lo, hi) or []
            except RpcRangeTooLarge:
                if hi == lo:
                    raise SourceRejected(
                        f"rpc: the node refuses even a one-block {kind} query (block {lo}); it cannot serve this"
                    ) from None
                half = max(1, (hi - lo + 1) // 2)
                self._chunk[kind] = self._cap[kind] = half
                self._streak[kind] = 0
                continue
            yield from rows
            lo = hi + 1
            self._streak[kind] += 1
            if self._streak[kind] >= REGROW_AFTER:
                self._cap[kind] = self._max_chunk
                self._streak[kind] = 0
            self._chunk[kind] = min(self._cap[kind], size * 2)


def internal_transfers(
    chain: Chain,
    frames: list[CallFrame],
    *,
    tx_hash: str,
    block: int,
    tx_index: int,
    timestamp: int,
    tx_success: bool = True,
    address: str | None = None,
) -> list[Transfer]:
    """INTERNAL records of one transaction's call frames (value > 0, below the top level), in trace order.

    Only frames touching `address` when it is given. Frames without beneficiary or value
    (see :func:`chains.evm_decode.unknown_value_frames`) give no record.
    """
    native = Asset(chain.slug, None, chain.native_symbol, chain.native_decimals)
    out = []
    for frame in internal_value_frames(frames):
        if frame.receiver is None or frame.sender is None or frame.value is None:
            continue
        if address is not None and address not in (frame.sender, frame.receiver):
            continue
        out.append(
            Transfer(
                chain=chain.slug,
                tx_hash=tx_hash,
                position=internal_position(frame.trace_address),
                block=block,
                tx_index=tx_index,
                timestamp=timestamp,
                sender=frame.sender,
                receiver=frame.receiver,
                asset=native,
                amount=frame.value,
                kind=TransferKind.INTERNAL,
                success=not frame.failed and tx_success,
            )
        )
    return out


def _canonical_order(transfers: Iterable[Transfer]) -> list[Transfer]:
    """Trace / log order first (it numbers identical calls), then canonical positions (:mod:`chains.positions`)."""
    return sorted(canonical_positions(sorted(transfers, key=lambda t: t.order_key)), key=lambda t: t.order_key)


def _limit(ordered: list[Transfer], start: int, end: int, max_rows: int | None) -> HistoryChunk:
    """All of `ordered`, or the whole blocks that fit in `max_rows` (at least the first block)."""
    if max_rows is None or len(ordered) <= max_rows:
        return HistoryChunk(tuple(ordered), start, end, True)
    cut_block = ordered[max_rows].block
    first_block = ordered[0].block
    if cut_block == first_block:  # one block exceeds the budget: keep that block whole
        kept = [t for t in ordered if t.block == first_block]
        last = first_block
    else:
        kept = [t for t in ordered if t.block < cut_block]
        last = cut_block - 1
    return HistoryChunk(tuple(kept), start, last, last >= end)
