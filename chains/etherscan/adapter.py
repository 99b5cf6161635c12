"""The Etherscan-compatible account adapter: the public face over paging and mapping."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from chains.etherscan.answers import as_row, classify_etherscan, hex_field
from chains.etherscan.facts import contract_logs, tx_facts
from chains.etherscan.mapping import RowMapping
from chains.etherscan.paging import DEFAULT_BASE_URL, FREE_ROW_CAP, MAX_BLOCK, PUBLIC_RATE_PER_S, RESULT_WINDOW
from chains.evm_decode import check_tx_hash
from chains.http import HttpClient, RetryPolicy, check_url, is_loopback
from chains.positions import canonical_positions
from chains.rows import check_rows
from tracer.core.addresses import validate_evm
from tracer.core.crossings import EvmLog, EvmTxFacts
from tracer.core.errors import BadInput, SourceError, SourceRejected
from tracer.core.models import (
    Asset,
    Transfer,
)
from tracer.core.networks import Chain
from tracer.core.protocols import HistoryChunk, ResponseArchive


class EtherscanAdapter(RowMapping):
    """Account histories from Etherscan API V2 (implements :class:`tracer.core.protocols.AccountAdapter`)."""

    source = "etherscan"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        client: HttpClient | None = None,
        archive: ResponseArchive | None = None,
        page_size: int = FREE_ROW_CAP,
        rate_per_s: float | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        url: str | None = None,
    ) -> None:
        """`url` is an alias of `base_url` (the name case files and `tracer.api` use); it wins when given."""
        if url is not None:
            base_url = url
        check_url(base_url, what="Etherscan-compatible API URL")
        if not 1 <= page_size <= RESULT_WINDOW:
            raise ValueError(f"page_size must be 1..{RESULT_WINDOW}")
        self.base_url = base_url
        if rate_per_s is None and not is_loopback(base_url):
            rate_per_s = PUBLIC_RATE_PER_S
        self.page_size = page_size
        self._api_key = api_key
        self._assets: dict[tuple[str, str], Asset] = {}
        self._sleep = sleep or time.sleep
        self._gaps: list[str] = []
        if client is None:
            extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
            client = HttpClient(
                source=self.source,
                rate_per_s=rate_per_s,
                retry=retry,
                secrets=[api_key] if api_key else [],
                archive=archive,
                classify=classify_etherscan,
                **extra,
            )
        self.client = client

    @property
    def requests(self) -> int:
        return self.client.requests

    # -- AccountAdapter ---------------------------------------------------------------------------

    def fetch_tip(self, chain: Chain) -> int:
        return hex_field(self._proxy(chain, "eth_blockNumber", {}), "eth_blockNumber")

    def fetch_block_time(self, chain: Chain, block: int) -> int:
        """The unix time of `block` (`eth_getBlockByNumber` through the proxy module)."""
        header = self._proxy(chain, "eth_getBlockByNumber", {"tag": hex(block), "boolean": "false"})
        if not isinstance(header, dict):
            raise SourceError(f"etherscan: no header for {chain.slug} block {block}")
        return hex_field(header.get("timestamp"), "timestamp")

    def fetch_history(
        self, chain: Chain, address: str, *, start_block: int, end_block: int, max_rows: int | None = None
    ) -> HistoryChunk:
        """Every transfer touching `address` in `start_block..end_block` (see the module docstring)."""
        address = validate_evm(address)
        if end_block < start_block:
            return HistoryChunk((), start_block, end_block, True)
        budget = max_rows
        self._gaps = []
        lists: dict[str, list[dict[str, Any]]] = {}
        last_full = end_block
        for action in ("txlist", "txlistinternal", "tokentx"):
            page = self._read_list(chain, action, address, start_block, last_full, budget)
            lists[action] = page.rows
            if budget is not None:
                budget = max(0, budget - len(page.rows))
            if page.truncated_at is not None:
                last_full = min(last_full, page.truncated_at - 1)
        try:
            transfers = self._map(chain, address, lists, last_full)
        except (KeyError, ValueError, TypeError) as exc:  # BadAddress is a ValueError too
            raise SourceError(f"etherscan: a {chain.slug} row for {address} could not be read ({exc!r})") from None
        gaps = tuple(dict.fromkeys(self._gaps))
        complete = last_full == end_block and not gaps
        return HistoryChunk(tuple(transfers), start_block, last_full, complete, gaps)

    def fetch_transaction(self, chain: Chain, tx_hash: str) -> tuple[Transfer, ...]:
        """Every transfer of one transaction, as `fetch_history` of its sender records them.

        Proxy `eth_getTransactionByHash`, `eth_getTransactionReceipt` (fee, status, ERC-20
        `Transfer` logs) and `eth_getBlockByNumber` (time), `txlistinternal&txhash=` for internal
        calls, token symbol/decimals by proxy `eth_call` (cached). The answers are turned into
        `txlist` / `txlistinternal` / `tokentx` rows and mapped by the same code as histories, so
        positions and records are the same. Receipts without `status` (pre-Byzantium) count as
        successful. An unknown or pending hash raises :class:`BadInput`.
        """
        tx_hash = check_tx_hash(tx_hash)
        tx = self._proxy(chain, "eth_getTransactionByHash", {"txhash": tx_hash})
        if tx is None:
            raise BadInput(f"transaction {tx_hash} is not known to {self.source} on {chain.slug}")
        if not isinstance(tx, dict):
            raise SourceError(f"etherscan: eth_getTransactionByHash answered {str(tx)[:80]!r} for {tx_hash}")
        if tx.get("blockNumber") is None:
            raise BadInput(f"transaction {tx_hash} on {chain.slug} is still pending; trace it once it is mined")
        receipt = self._proxy(chain, "eth_getTransactionReceipt", {"txhash": tx_hash})
        if not isinstance(receipt, dict):
            raise SourceError(f"etherscan: no receipt for transaction {tx_hash} on {chain.slug}")
        block = hex_field(tx["blockNumber"], "blockNumber")
        header = self._proxy(chain, "eth_getBlockByNumber", {"tag": hex(block), "boolean": "false"})
        if not isinstance(header, dict):
            raise SourceError(f"etherscan: no header for {chain.slug} block {block}")
        timestamp = str(hex_field(header.get("timestamp"), "timestamp"))
        internal = self._tx_internal_rows(chain, tx_hash)
        try:
            lists = self._tx_rows(chain, tx_hash, tx, receipt, timestamp, internal)
            sender = validate_evm(str(tx["from"]))
            transfers = self._map(chain, sender, lists, block)
        except (KeyError, ValueError, TypeError) as exc:
            raise SourceError(f"etherscan: transaction {tx_hash} on {chain.slug} could not be read ({exc})") from None
        return tuple(transfers)

    # -- extra lookups ----------------------------------------------------------------------------

    def fetch_tx_facts(self, chain: Chain, tx_hash: str) -> EvmTxFacts:
        """What one transaction says itself: calldata, value, status and receipt logs (bridge deposits)."""
        return tx_facts(self, chain, tx_hash)

    def fetch_logs(
        self, chain: Chain, address: str, topics: Mapping[int, str], *, from_block: int = 0, to_block: int = MAX_BLOCK
    ) -> list[tuple[str, int, EvmLog]]:
        """Logs of one contract matching `topics` (position -> 0x topic), as (tx hash, unix time, log)."""
        return contract_logs(self, chain, address, topics, from_block=from_block, to_block=to_block)

    def fetch_is_contract(self, chain: Chain, address: str) -> bool:
        """True when `address` has code (proxy `eth_getCode`)."""
        address = validate_evm(address)
        code = self._proxy(chain, "eth_getCode", {"address": address, "tag": "latest"})
        return isinstance(code, str) and code not in ("", "0x", "0x0")

    def fetch_tx_internals(self, chain: Chain, tx_hash: str) -> list[Transfer]:
        """The internal transfers of one transaction (`txlistinternal&txhash=`)."""
        tx_hash = check_tx_hash(tx_hash)
        rows = self._tx_internal_rows(chain, tx_hash)
        check_rows(
            self.source,
            f"{chain.slug} txlistinternal of {tx_hash}",
            rows,
            required=("from",),
            numbers=("value",),
            optional_numbers=("blockNumber", "timeStamp"),
        )
        tx_index = self._lookup_tx_index(chain, tx_hash) if rows else 0
        try:
            internals = [self._internal(chain, row, tx_index) for row in rows]
        except (KeyError, ValueError, TypeError) as exc:
            raise SourceError(f"etherscan: {chain.slug} tx {tx_hash}: internal calls unreadable ({exc!r})") from None
        return canonical_positions(internals)  # in row (trace) order

    def _tx_internal_rows(self, chain: Chain, tx_hash: str) -> list[dict[str, Any]]:
        """`txlistinternal&txhash=` rows (no `hash`, no `traceId` in them), with the hash filled in, in row order."""
        body = self._call(chain, {"module": "account", "action": "txlistinternal", "txhash": tx_hash})
        return [{**as_row(row), "hash": tx_hash} for row in self._result(body)]

    def fetch_block_by_time(self, chain: Chain, timestamp: int, *, closest: str = "before") -> int:
        """The block closest to a unix time (`module=block&action=getblocknobytime`)."""
        params = {"module": "block", "action": "getblocknobytime", "timestamp": str(timestamp), "closest": closest}
        result = self._call(chain, params).get("result")
        try:
            return int(str(result))
        except ValueError:
            raise SourceRejected(f"etherscan: no block at unix time {timestamp}: {result}") from None
