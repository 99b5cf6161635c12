"""Reading a node: the trace method it offers, the transactions of an address, logs, block times.

:class:`NodeReading` finds what touched an address with the best method the node offers
(``trace_filter``, ``ots``, ``debug_scan``, ``block_scan``; see :mod:`chains.rpc`) and reads
`eth_getLogs` in block chunks that adapt to the node's limits. It builds no records; the adapter does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from chains.evm_decode import (
    TRANSFER_TOPIC,
    CallFrame,
    TokenLog,
    decode_transfer_log,
    flatten_call_tracer,
    flatten_parity_traces,
    hex_int,
    pad_topic,
)
from chains.rows import check_row
from chains.rpc.client import JsonRpcClient, RpcMethodUnsupported, RpcRangeTooLarge
from chains.rpc.records import TxFacts
from chains.rpc_rows import check_rpc_tx, check_transfer_log
from tracer.core.errors import SourceError, SourceRejected
from tracer.core.networks import Chain

METHODS = ("trace_filter", "ots", "debug_scan", "block_scan")
CALL_TRACER = {"tracer": "callTracer"}
#: Successful chunks in a row after which a lowered block-range ceiling is lifted again.
REGROW_AFTER = 16


class NodeReading:
    """The node-reading half of :class:`chains.rpc.RpcAdapter` (which sets these attributes)."""

    rpc: JsonRpcClient
    chain: Chain
    max_scan_blocks: int
    ots_page_size: int
    notes: list[str]
    _max_chunk: int
    _chunk: dict[str, int]
    _cap: dict[str, int]
    _streak: dict[str, int]
    _block_times: dict[int, int]

    # -- method detection -----------------------------------------------------------------------------

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

    def _native_facts(self, address: str, start: int, end: int) -> dict[str, TxFacts]:
        if self._method == "trace_filter":
            return self._facts_by_trace_filter(address, start, end)
        if self._method == "ots":
            return self._facts_by_ots(address, start, end)
        return self._facts_by_scan(address, start, end, traced=self._method == "debug_scan")

    def _facts_by_trace_filter(self, address: str, start: int, end: int) -> dict[str, TxFacts]:
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

    def _facts_by_ots(self, address: str, start: int, end: int) -> dict[str, TxFacts]:
        facts: dict[str, TxFacts] = {}
        cursor = start - 1
        while cursor < end:
            page = self.rpc.call("ots_searchTransactionsAfter", [address, max(cursor, 0), self.ots_page_size]) or {}
            rows = page.get("txs") or []
            blocks = [hex_int(row.get("blockNumber")) for row in rows]
            for row, block in zip(rows, blocks, strict=True):
                if start <= block <= end:
                    facts.setdefault(str(row["hash"]).lower(), TxFacts(str(row["hash"]).lower(), block))
            if not rows or page.get("firstPage") or max(blocks) <= cursor or max(blocks) >= end:
                break  # results come newest first; `firstPage` means nothing newer is left
            cursor = max(blocks)
        out = {}
        for tx_hash in sorted(facts, key=lambda h: facts[h].block):
            tx = self._tx_facts(tx_hash)
            tx.frames = self._frames_of(tx_hash)
            out[tx_hash] = tx
        return out

    def _facts_by_scan(self, address: str, start: int, end: int, *, traced: bool) -> dict[str, TxFacts]:
        if end - start + 1 > self.max_scan_blocks:
            raise SourceRejected(
                f"rpc: the node has no trace_filter or Otterscan index, and scanning {end - start + 1} blocks "
                f"is over the limit of {self.max_scan_blocks}; narrow the range or use a node with trace_filter"
            )
        facts: dict[str, TxFacts] = {}
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
    ) -> TxFacts:
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
        return TxFacts(
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
