"""Etherscan API V2 adapter (and any Etherscan-compatible API, e.g. Blockscout) for every EVM chain.

`fetch_history` reads `txlist`, `txlistinternal` and `tokentx` for one address and block range
and maps each row to :class:`tracer.core.models.Transfer` records. It decides nothing, except that
it applies :func:`heuristics.noise.flag_noise` to the finished chunk (flags only; no record
is ever dropped). `fetch_transaction` reads one transaction (a theft-tx seed) through the
proxy module and maps it with the same code, so it gives the same records.

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
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from chains.evm_decode import check_tx_hash, decode_transfer_log, fetch_token_metadata
from chains.http import HttpClient, RetryPolicy, check_url, is_loopback, json_body
from chains.positions import canonical_positions
from chains.rows import check_rows
from heuristics.noise import KnownTokens, flag_noise
from tracer.core.addresses import GENESIS, validate_evm
from tracer.core.errors import BadChain, BadInput, RetriableSourceError, SourceError, SourceRejected
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
from tracer.core.networks import Chain, ChainKind
from tracer.core.protocols import HistoryChunk, ResponseArchive

DEFAULT_BASE_URL = "https://api.etherscan.io/v2/api"
FREE_ROW_CAP = 1000
PUBLIC_RATE_PER_S = 3.0  # free Etherscan keys: 3 calls per second
RESULT_WINDOW = 10_000
MAX_BLOCK = 99_999_999

_RATE_LIMIT = re.compile(
    r"rate limit|max calls per|too many|query timeout|busy|try again later|temporarily unavailable", re.IGNORECASE
)
#: Blockscout's "some internal transactions within this block range have not yet been processed".
STATUS_INCOMPLETE = "2"
STATUS_2_RETRIES = 2
STATUS_2_BACKOFF_S = 5.0
_EMPTY = re.compile(r"^no (transactions|records|token transfers|internal transactions)? ?found", re.IGNORECASE)


def trace_address_of(trace_id: str) -> tuple[int, ...]:
    """Etherscan's `traceId` (``"0_1"``) as a trace address (``(0, 1)``)."""
    if not trace_id:
        return ()
    try:
        return tuple(int(part) for part in trace_id.split("_"))
    except ValueError:
        raise SourceRejected(f"etherscan: unexpected traceId {trace_id!r}") from None


def classify_etherscan(response: requests.Response) -> Exception | None:
    """Etherscan answers errors as HTTP 200 bodies: sort them into retriable and rejected, once."""
    body = json_body(response)
    if not isinstance(body, dict):
        return RetriableSourceError("etherscan: answer is not a JSON object")
    if "jsonrpc" in body:  # module=proxy
        error = body.get("error")
        if isinstance(error, dict):
            message = str(error.get("message", error))
            if _RATE_LIMIT.search(message):
                return RetriableSourceError(f"etherscan: {message}")
            return SourceRejected(f"etherscan rejected the request: {message}")
        result = body.get("result")
        if isinstance(result, str) and _RATE_LIMIT.search(result) and not result.startswith("0x"):
            return RetriableSourceError(f"etherscan: {result}")
        return None
    if str(body.get("status")) == "1":
        return None
    message = str(body.get("message", ""))
    result = body.get("result")
    if not isinstance(result, str):  # "No transactions found" with [] (or null): empty, not an error
        return None
    text = result or message
    if _RATE_LIMIT.search(text) or _RATE_LIMIT.search(message):
        return RetriableSourceError(f"etherscan: {text}")
    if _EMPTY.match(message):
        return None
    return SourceRejected(f"etherscan rejected the request: {_explain(text)}")


def _explain(text: str) -> str:
    lowered = text.lower()
    if "api key" in lowered:
        return f"{text.rstrip('|')} (check ETHERSCAN_API_KEY)"
    if "not supported for this chain" in lowered:
        return f"{text} (the key's plan does not cover this chain; free keys do not cover BSC, Base, OP or Avalanche)"
    if "deprecated v1" in lowered:
        return f"{text} (use an /v2/api URL)"
    return text


@dataclass(frozen=True, slots=True)
class _Page:
    rows: list[dict[str, Any]]
    truncated_at: int | None  # first block not fully read when a row budget stopped the read


class EtherscanAdapter:
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
        known_tokens: KnownTokens | None = None,
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
        self._known_tokens = known_tokens
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
        return _hex_int(self._proxy(chain, "eth_blockNumber", {}), "eth_blockNumber")

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
        chunk = HistoryChunk(tuple(transfers), start_block, last_full, complete, gaps)
        return flag_noise(chunk, traced={address}, known_tokens=self._known_tokens)

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
        block = _hex_int(tx["blockNumber"], "blockNumber")
        header = self._proxy(chain, "eth_getBlockByNumber", {"tag": hex(block), "boolean": "false"})
        if not isinstance(header, dict):
            raise SourceError(f"etherscan: no header for {chain.slug} block {block}")
        timestamp = str(_hex_int(header.get("timestamp"), "timestamp"))
        internal = self._tx_internal_rows(chain, tx_hash)
        try:
            lists = self._tx_rows(chain, tx_hash, tx, receipt, timestamp, internal)
            sender = validate_evm(str(tx["from"]))
            transfers = self._map(chain, sender, lists, block)
        except (KeyError, ValueError, TypeError) as exc:
            raise SourceError(f"etherscan: transaction {tx_hash} on {chain.slug} could not be read ({exc})") from None
        chunk = flag_noise(
            HistoryChunk(tuple(transfers), block, block), traced={sender}, known_tokens=self._known_tokens
        )
        return chunk.transfers

    # -- extra lookups ----------------------------------------------------------------------------

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
        return [{**_row(row), "hash": tx_hash} for row in self._result(body)]

    def fetch_block_by_time(self, chain: Chain, timestamp: int, *, closest: str = "before") -> int:
        """The block closest to a unix time (`module=block&action=getblocknobytime`)."""
        params = {"module": "block", "action": "getblocknobytime", "timestamp": str(timestamp), "closest": closest}
        result = self._call(chain, params).get("result")
        try:
            return int(str(result))
        except ValueError:
            raise SourceRejected(f"etherscan: no block at unix time {timestamp}: {result}") from None

    # -- requests ---------------------------------------------------------------------------------

    def _chain_id(self, chain: Chain) -> int:
        if chain.kind is not ChainKind.EVM or chain.chain_id is None:
            raise BadChain(f"the Etherscan adapter serves EVM chains only, not {chain.slug}")
        return chain.chain_id

    def _call(self, chain: Chain, params: Mapping[str, str]) -> dict[str, Any]:
        chain_id = self._chain_id(chain)
        query = {"chainid": str(chain_id), **params}
        if self._api_key:
            query["apikey"] = self._api_key
        try:
            body = self.client.get_json(self.base_url, params=query)
        except SourceRejected as exc:
            if "not supported for this chain" in exc.message.lower():
                plan = "a free key" if not self._api_key else "this API key's plan"
                raise SourceRejected(
                    f"etherscan: {chain.slug} (chainid {chain_id}) is not available with {plan} at {self.base_url}"
                    " — upgrade the plan, or give another source for this chain (e.g. an RPC node or Blockscout)"
                ) from None
            raise
        if not isinstance(body, dict):
            raise SourceError("etherscan: answer is not a JSON object")
        return body

    def _proxy(self, chain: Chain, action: str, params: Mapping[str, str]) -> Any:
        return self._call(chain, {"module": "proxy", "action": action, **params}).get("result")

    @staticmethod
    def _result(body: dict[str, Any]) -> list[dict[str, Any]]:
        result = body.get("result")
        if result is None:
            return []
        if not isinstance(result, list):
            raise SourceError(f"etherscan: expected a list of rows, got {str(result)[:120]!r}")
        return result

    def _fetch_page(
        self, chain: Chain, action: str, address: str, start: int, end: int, page: int = 1
    ) -> list[dict[str, Any]]:
        params = {
            "module": "account",
            "action": action,
            "address": address,
            "startblock": str(start),
            "endblock": str(end),
            "page": str(page),
            "offset": str(self.page_size),
            "sort": "asc",
        }
        body = self._call(chain, params)
        for attempt in range(STATUS_2_RETRIES):
            if str(body.get("status")) != STATUS_INCOMPLETE:
                break
            self._sleep(STATUS_2_BACKOFF_S * 2**attempt)
            body = self._call(chain, params)
        if str(body.get("status")) == STATUS_INCOMPLETE:
            self._gaps.append(
                f"{chain.slug} {address}: {self.base_url} answered {action} for blocks {start}-{end} as incomplete"
                f" (status 2: {str(body.get('message', ''))[:120]}); transfers there may be missing — fetch again later"
            )
        return [_row(row) for row in self._result(body)]

    def _is_full(self, rows: list[dict[str, Any]]) -> bool:
        """True when more rows may follow: a full page, or a round count that smells of a server-side cap.

        Servers cap rows per answer below the asked `offset` without saying so (Etherscan's free keys:
        1,000); a short page whose size is a multiple of 100 costs one confirming request instead of
        silently ending the list.
        """
        return len(rows) >= self.page_size or (len(rows) > 0 and len(rows) % 100 == 0)

    def _read_list(self, chain: Chain, action: str, address: str, start: int, end: int, budget: int | None) -> _Page:
        """All rows of one list in start..end (or fewer, when `budget` rows are reached)."""
        held: list[dict[str, Any]] = []
        cursor = start
        while True:
            rows = self._fetch_page(chain, action, address, cursor, end)
            held = [r for r in held if _block(r) < cursor] + rows
            if not self._is_full(rows):
                return _Page(held, None)
            first, last = _block(rows[0]), _block(rows[-1])
            if first == last:  # one block fills the page: read the rest of it by page numbers, then move on
                held = [r for r in held if _block(r) < first] + rows + self._read_block(chain, action, address, first)
                if first >= end:
                    return _Page(held, None)
                last = first + 1
            if budget is not None and len(held) >= budget and last <= end:
                return _Page([r for r in held if _block(r) < last], last)
            cursor = last

    def _read_block(self, chain: Chain, action: str, address: str, block: int) -> list[dict[str, Any]]:
        """Rows of `block` after its first page (pages 2, 3, ... of startblock = endblock = block)."""
        rows: list[dict[str, Any]] = []
        page = 2
        while True:
            if page * self.page_size > RESULT_WINDOW:
                raise SourceError(
                    f"etherscan: block {block} holds more than {RESULT_WINDOW} {action} rows for {address};"
                    " the API cannot page past its result window"
                )
            batch = self._fetch_page(chain, action, address, block, block, page)
            rows.extend(batch)
            if not self._is_full(batch):
                return rows
            page += 1

    def _lookup_tx_index(self, chain: Chain, tx_hash: str) -> int:
        tx = self._proxy(chain, "eth_getTransactionByHash", {"txhash": tx_hash})
        if not isinstance(tx, dict):
            raise SourceError(f"etherscan: transaction {tx_hash} not found")
        return _hex_int(tx.get("transactionIndex"), "transactionIndex")

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
        block = str(_hex_int(tx["blockNumber"], "blockNumber"))
        tx_index = str(_hex_int(tx.get("transactionIndex") or "0x0", "transactionIndex"))
        ok = _hex_int(receipt.get("status") or "0x1", "status") == 1
        gas_price = receipt.get("effectiveGasPrice") or tx.get("gasPrice") or "0x0"
        normal = {
            "hash": tx_hash,
            "blockNumber": block,
            "transactionIndex": tx_index,
            "timeStamp": timestamp,
            "from": str(tx["from"]).lower(),
            "to": str(tx.get("to") or "").lower(),
            "value": str(_hex_int(tx.get("value") or "0x0", "value")),
            "gasUsed": str(_hex_int(receipt.get("gasUsed") or "0x0", "gasUsed")),
            "gasPrice": str(_hex_int(gas_price, "effectiveGasPrice")),
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


class _ProxyCalls:
    """`eth_call` through `module=proxy`, shaped like :class:`chains.rpc.JsonRpcClient` for token metadata."""

    def __init__(self, adapter: EtherscanAdapter, chain: Chain) -> None:
        self._adapter = adapter
        self._chain = chain

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        if method != "eth_call" or not params:
            raise SourceRejected(f"etherscan: proxy {method} is not used here")
        call, tag = params[0], (params[1] if len(params) > 1 else "latest")
        return self._adapter._proxy(self._chain, "eth_call", {"to": call["to"], "data": call["data"], "tag": tag})


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


def _row(row: Any) -> dict[str, Any]:
    """One list row in Etherscan's field names (Blockscout's internal rows say `transactionHash`)."""
    if not isinstance(row, dict):
        raise SourceError(f"etherscan: a list row is not an object: {str(row)[:80]!r}")
    if "hash" not in row and "transactionHash" in row:
        return {**row, "hash": row["transactionHash"]}
    return row


def _block(row: dict[str, Any]) -> int:
    return int(row["blockNumber"])


def _hex_int(value: Any, what: str) -> int:
    try:
        return int(str(value), 16)
    except ValueError:
        raise SourceError(f"etherscan: {what} is not a hex number: {str(value)[:40]!r}") from None
