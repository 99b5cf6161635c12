"""The JSON-RPC account adapter: a node's answers as :class:`tracer.core.models.Transfer` records."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chains.evm_decode import (
    TokenLog,
    check_tx_hash,
    decode_transfer_log,
    fetch_token_metadata,
    flatten_parity_traces,
    hex_int,
    unknown_value_frames,
)
from chains.http import HttpClient, RetryPolicy
from chains.positions import canonical_positions
from chains.rpc.client import JsonRpcClient
from chains.rpc.facts import rpc_logs, rpc_tx_facts
from chains.rpc.reading import METHODS, NodeReading
from chains.rpc.records import TxFacts, canonical_order, internal_transfers, limit_rows
from tracer.core.addresses import validate_evm
from tracer.core.crossings import EvmLog, EvmTxFacts
from tracer.core.errors import BadChain, BadInput, SourceError, SourceRejected
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


class RpcAdapter(NodeReading):
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

    def fetch_block_time(self, chain: Chain, block: int) -> int:
        """The unix time of `block` (its header)."""
        self._check_chain(chain)
        return self._block_time(block)

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
        ordered = canonical_order(transfers.values())
        return limit_rows(ordered, start_block, end_block, max_rows)

    # -- extra lookups ---------------------------------------------------------------------------------

    def fetch_is_contract(self, chain: Chain, address: str) -> bool:
        """True when `address` has code at the tip."""
        self._check_chain(chain)
        code = self.rpc.call("eth_getCode", [validate_evm(address), "latest"])
        return isinstance(code, str) and code not in ("", "0x", "0x0")

    def fetch_transaction(self, chain: Chain, tx_hash: str) -> tuple[Transfer, ...]:
        """Every transfer of one transaction, as `fetch_history` records them (same positions).

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
        ordered = canonical_order(transfers.values())
        return tuple(ordered)

    def fetch_tx_facts(self, chain: Chain, tx_hash: str) -> EvmTxFacts:
        """What one transaction says itself (calldata, logs): bridge deposits (chains.rpc.facts)."""
        self._check_chain(chain)
        return rpc_tx_facts(self.rpc, chain.slug, tx_hash)

    def fetch_logs(
        self, chain: Chain, address: str, topics: Mapping[int, str], *, from_block: int = 0, to_block: int | None = None
    ) -> list[tuple[str, int, EvmLog]]:
        """Logs of one contract matching `topics` (position -> 0x topic), as (tx hash, unix time, log)."""
        self._check_chain(chain)
        return rpc_logs(self.rpc, address, topics, from_block=from_block, to_block=to_block)

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

    # -- records ------------------------------------------------------------------------------------

    def _check_chain(self, chain: Chain) -> None:
        if chain.slug != self.chain.slug:
            raise BadChain(f"this RPC adapter was set up for {self.chain.slug}, not {chain.slug}")

    def _native_transfers(self, address: str | None, tx: TxFacts) -> list[Transfer]:
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
