"""Reading Etherscan's lists: one request per page, paging past the per-request cap, proxy calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chains.etherscan.answers import (
    STATUS_2_BACKOFF_S,
    STATUS_2_RETRIES,
    STATUS_INCOMPLETE,
    as_row,
    hex_field,
    row_block,
)
from chains.http import HttpClient
from tracer.core.errors import BadChain, SourceError, SourceRejected
from tracer.core.networks import Chain, ChainKind

DEFAULT_BASE_URL = "https://api.etherscan.io/v2/api"
FREE_ROW_CAP = 1000
PUBLIC_RATE_PER_S = 3.0  # free Etherscan keys: 3 calls per second
RESULT_WINDOW = 10_000
MAX_BLOCK = 99_999_999


@dataclass(frozen=True, slots=True)
class _Page:
    rows: list[dict[str, Any]]
    truncated_at: int | None  # first block not fully read when a row budget stopped the read


class ListReading:
    """The request half of :class:`chains.etherscan.EtherscanAdapter` (which sets these attributes)."""

    client: HttpClient
    base_url: str
    page_size: int
    _api_key: str | None
    _sleep: Callable[[float], None]
    _gaps: list[str]

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
        return [as_row(row) for row in self._result(body)]

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
            held = [r for r in held if row_block(r) < cursor] + rows
            if not self._is_full(rows):
                return _Page(held, None)
            first, last = row_block(rows[0]), row_block(rows[-1])
            if first == last:  # one block fills the page: read the rest of it by page numbers, then move on
                rest = self._read_block(chain, action, address, first)
                held = [r for r in held if row_block(r) < first] + rows + rest
                if first >= end:
                    return _Page(held, None)
                last = first + 1
            if budget is not None and len(held) >= budget and last <= end:
                return _Page([r for r in held if row_block(r) < last], last)
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
        return hex_field(tx.get("transactionIndex"), "transactionIndex")
