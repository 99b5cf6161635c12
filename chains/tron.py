"""TronGrid v1 adapter: TRX and TRC-20 transfers of one TRON address as records.

Implements :class:`tracer.core.protocols.AccountAdapter`. What it reads:

- ``GET /v1/accounts/{address}/transactions``: TRX transfers (``TransferContract``), contract calls
  (``TriggerSmartContract`` with ``call_value``) and their ``internal_transactions``; the fee the owner
  burnt (``ret[0].fee``, else ``net_fee + energy_fee``) is an outflow to the fee sink, also when the
  call failed (``contractRet`` other than ``SUCCESS``: value does not move, the fee does);
- ``GET /v1/accounts/{address}/transactions/trc20``: TRC-20 transfers with ``token_info``;
- ``POST /wallet/getnowblock`` (tip), ``POST /wallet/getblockbynum`` (a block's time, to turn a block
  range into TronGrid's ``min_timestamp``/``max_timestamp``) and ``POST /wallet/gettransactioninfobyid``
  (the block of a TRC-20 transfer, which the trc20 list does not give, when the block clock cannot).

The block clock: every (block, time) pair the adapter has seen (transaction rows, block answers) is
kept; TRON makes one block per 3 s slot, so a time between two known pairs whose distance is exactly one
block per slot (no missed slot between them) names its block without a request. Otherwise one
``gettransactioninfobyid`` answers it, and its pair joins the clock. A TRC-20 transfer's position is
derived from its content (token, from, to, value; :mod:`chains.positions`), so both sides of a transfer
give it the same identity without knowing its log index.

Both lists ask ``limit=200``, ``order_by=block_timestamp,asc``, ``only_confirmed=true`` and follow the
``meta.fingerprint`` cursor. Quirks handled: the cursor breaks deep in long histories (an error or a
400 on a page with a fingerprint) — the walk restarts without it at the last timestamp read, and rows
already seen are skipped; errors come in 200 bodies (``"success": false``, ``"Error"``); a 403 that says
the caller is suspended for exceeding the free rate is waited out and retried. The key goes in the
``TRON-PRO-API-KEY`` header and is never logged or stored.

Canonical order: block, then the transaction (TronGrid gives no transaction index inside a block, so
``tx_index`` is 0 and transactions of one block are ordered by hash — the same on every side of a
transfer), then position: fee 0, top-level value 1, internal calls 2.. in list order, TRC-20 transfers
their content position (1,000,000 and up; the k-th identical transfer of a transaction takes slot + k).
"""

from __future__ import annotations

import bisect
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from chains.http import HttpClient, RetryPolicy, is_loopback
from chains.positions import token_position_of
from chains.tron_rows import check_trc20_row, check_tron_tx
from tracer.core.addresses import normalize_address
from tracer.core.errors import BadAddress, BadChain, BadInput, RetriableSourceError, RetriesExhausted, SourceRejected
from tracer.core.models import (
    FEE_SINK,
    POSITION_EXTERNAL,
    POSITION_FEE,
    POSITION_INTERNAL_BASE,
    Asset,
    Transfer,
    TransferKind,
)
from tracer.core.networks import Chain, ChainKind
from tracer.core.protocols import HistoryChunk, ResponseArchive

DEFAULT_BASE_URL = "https://api.trongrid.io"
PAGE_LIMIT = 200
#: TronGrid without a key allows a few requests per second; with one, more. Stay polite by default.
PUBLIC_RATE_PER_S = 3.0
KEYED_RATE_PER_S = 10.0
#: How long a "suspended" 403 is waited out, and how often at most.
SUSPENDED_WAIT_S = 30.0
SUSPENDED_RETRIES = 4
TRX = 6  # decimals of TRX (1 TRX = 1,000,000 sun)
SLOT_MS = 3_000  # one TRON block per 3 s slot (a missed slot leaves a gap in time, not in numbers)
TRANSFER_EVENT = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
_TXID = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_SUSPENDED = re.compile(r"(?i)suspend|frequency limit|exceeds? the")


def tron_address(value: Any) -> str:
    """A TRON address from TronGrid's base58 or hex (``41…``) form; BadAddress otherwise."""
    return normalize_address("tron", str(value))


class BlockClock:
    """Known (block, time) pairs; places a time between two of them when no slot was missed in between."""

    def __init__(self) -> None:
        self._times: list[int] = []
        self._blocks: dict[int, int] = {}  # time ms -> block

    def add(self, block: int, time_ms: int) -> None:
        if time_ms <= 0 or block < 0 or time_ms in self._blocks:
            return
        bisect.insort(self._times, time_ms)
        self._blocks[time_ms] = block

    def block_at(self, time_ms: int) -> int | None:
        """The block made at `time_ms`, when the known pairs around it prove it; else None."""
        exact = self._blocks.get(time_ms)
        if exact is not None:
            return exact
        i = bisect.bisect_left(self._times, time_ms)
        if i == 0 or i == len(self._times):
            return None
        lo_t, hi_t = self._times[i - 1], self._times[i]
        lo_b, hi_b = self._blocks[lo_t], self._blocks[hi_t]
        if (hi_t - lo_t) != (hi_b - lo_b) * SLOT_MS or (time_ms - lo_t) % SLOT_MS:
            return None  # a missed slot (or an odd time) in between: ask
        return lo_b + (time_ms - lo_t) // SLOT_MS


def _hex_log_address(hex20: str) -> str:
    """A log's 20-byte contract or topic address (no ``41`` prefix) as base58."""
    return tron_address("41" + hex20[-40:])


class TronGridAdapter:
    """Reads TRON histories from a TronGrid v1 API (see the module docstring)."""

    source = "trongrid"

    def __init__(
        self,
        *,
        url: str | None = None,
        api_key: str | None = None,
        client: HttpClient | None = None,
        archive: ResponseArchive | None = None,
        rate_per_s: float | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        page_limit: int = PAGE_LIMIT,
    ) -> None:
        if not 1 <= page_limit <= PAGE_LIMIT:
            raise BadInput(f"page_limit must be 1..{PAGE_LIMIT}, not {page_limit}")
        self.page_limit = page_limit
        self.base_url = (url or DEFAULT_BASE_URL).rstrip("/")
        self._sleep = sleep
        if client is None:
            if rate_per_s is None and not is_loopback(self.base_url):
                rate_per_s = KEYED_RATE_PER_S if api_key else PUBLIC_RATE_PER_S
            headers = {"TRON-PRO-API-KEY": api_key} if api_key else None
            client = HttpClient(
                source=self.source,
                rate_per_s=rate_per_s,
                retry=retry,
                archive=archive,
                secrets=(api_key,) if api_key else (),
                classify=_classify,
                sleep=sleep,
                headers=headers,
            )
        self.client = client
        self._tx_info: dict[str, dict[str, Any]] = {}
        self._failed: set[str] = set()  # transactions seen to fail: a source listing their events is wrong
        self._block_ms: dict[int, int] = {}
        self.clock = BlockClock()
        #: Called with the rows read so far after every list page (a live progress line), if set.
        self.on_page: Callable[[int], None] | None = None
        self._rows_read = 0

    @property
    def requests(self) -> int:
        return self.client.requests

    # -- transport ---------------------------------------------------------------------------

    @staticmethod
    def _check_chain(chain: Chain) -> str:
        if chain.kind is not ChainKind.TRON:
            raise BadChain(f"TronGrid serves TRON only, not {chain.slug}")
        return chain.slug

    def _call(self, send: Callable[[], Any]) -> Any:
        """`send()`, waiting out a 403 "suspended" answer (the free rate was exceeded) a few times."""
        for attempt in range(SUSPENDED_RETRIES + 1):
            try:
                return send()
            except SourceRejected as exc:
                suspended = exc.http_status == 403 and _SUSPENDED.search(exc.message or "")
                if not suspended or attempt == SUSPENDED_RETRIES:
                    if exc.http_status == 403:
                        said = (exc.message or "").split("HTTP 403: ", 1)[-1][:120]
                        hint = "set TRONGRID_API_KEY or lower the rate"
                        raise SourceRejected(f"trongrid: access refused (HTTP 403: {said}); {hint}") from None
                    raise
                self._sleep(SUSPENDED_WAIT_S)
        raise AssertionError("unreachable")

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        doc = self._call(lambda: self.client.get_json(self.base_url + path, params=params))
        if not isinstance(doc, dict):
            raise SourceRejected(f"trongrid: {path} did not answer a JSON object")
        return doc

    def _post(self, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        doc = self._call(lambda: self.client.post_json(self.base_url + path, dict(payload)))
        if not isinstance(doc, dict):
            raise SourceRejected(f"trongrid: {path} did not answer a JSON object")
        return doc

    # -- blocks ------------------------------------------------------------------------------

    def fetch_tip(self, chain: Chain) -> int:
        self._check_chain(chain)
        return _block_number(self._post("/wallet/getnowblock", {}))

    def _block_time_ms(self, number: int) -> int:
        """The time of block `number` (of the newest block past the tip), memoised; joins the clock."""
        if number in self._block_ms:
            return self._block_ms[number]
        doc = self._post("/wallet/getblockbynum", {"num": number})
        if not doc:  # past the tip: the range ends at the newest block
            now = self._post("/wallet/getnowblock", {})
            if _block_number(now) < number:
                doc = now
        try:
            ms = int(doc["block_header"]["raw_data"]["timestamp"])
        except (KeyError, TypeError, ValueError):
            raise SourceRejected(f"trongrid: block {number} has no timestamp in its answer") from None
        if doc.get("block_header", {}).get("raw_data", {}).get("number") in (None, number):
            self._block_ms[number] = ms
            self.clock.add(number, ms)
        return ms

    def fetch_block_by_time(self, chain: Chain, timestamp: int, *, closest: str = "before") -> int:
        """The last block at or before (`closest="before"`) or the first at or after `timestamp` (seconds).

        TronGrid has no such query: a bisection over ``getblockbynum`` (about 27 requests on mainnet; the
        caller remembers the answer).
        """
        self._check_chain(chain)
        if closest not in ("before", "after"):
            raise BadInput(f"closest must be 'before' or 'after', not {closest!r}")
        target = int(timestamp) * 1000
        tip = self.fetch_tip(chain)
        lo, hi = 0, tip  # invariant for "before": time(lo) <= target (or lo = 0)
        if self._block_time_ms(tip) <= target:
            return tip
        if closest == "after" and self._block_time_ms(0) >= target:
            return 0
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._block_time_ms(mid) <= target:
                lo = mid
            else:
                hi = mid
        if closest == "before":
            return lo
        return lo if self._block_time_ms(lo) >= target else hi

    def _info(self, tx_hash: str) -> dict[str, Any]:
        """`gettransactioninfobyid` of one transaction (memoised for the adapter's life)."""
        if tx_hash not in self._tx_info:
            doc = self._post("/wallet/gettransactioninfobyid", {"value": tx_hash})
            if not doc or "blockNumber" not in doc:
                raise SourceRejected(f"trongrid: transaction {tx_hash} is unknown or not yet confirmed")
            self._tx_info[tx_hash] = doc
            self.clock.add(int(doc["blockNumber"]), int(doc.get("blockTimeStamp") or 0))
        return self._tx_info[tx_hash]

    # -- lists -------------------------------------------------------------------------------

    def _pages(
        self,
        path: str,
        *,
        min_ms: int,
        max_ms: int | None,
        key: Callable[[dict], str],
        true_count: Callable[[dict], int] = lambda row: 1,
    ) -> Iterator[dict]:
        """Every row of a v1 list between the times, following fingerprints.

        TronGrid repeats rows at page edges, and a TRC-20 transaction may hold identical transfers (same
        key): a row whose key the previous page also had is kept only up to the key's `true_count` (one
        for a transaction; the number of matching logs for a TRC-20 transfer, asked only then). A broken
        cursor restarts the walk at the last timestamp read (a narrower window); rows it re-reads are
        skipped by counting them per key."""
        seen: Counter[str] = Counter()  # rows yielded, per key
        walk: Counter[str] = Counter()  # rows read by the current walk, per key
        since = walk_from = min_ms  # a fingerprint walk keeps its window; a restart narrows it
        fingerprint: str | None = None
        previous: set[str] = set()  # keys of the previous page of this walk
        while True:
            params: dict[str, Any] = {
                "limit": self.page_limit,
                "order_by": "block_timestamp,asc",
                "only_confirmed": "true",
                "min_timestamp": walk_from,
            }
            if max_ms is not None:
                params["max_timestamp"] = max_ms
            if fingerprint:
                params["fingerprint"] = fingerprint
            try:
                doc = self._get(path, params)
                if doc.get("success") is False:
                    raise SourceRejected(f"trongrid: {path}: {_error_text(doc)}")
            except (SourceRejected, RetriesExhausted):
                if not fingerprint:
                    raise
                fingerprint, walk_from = None, since  # the cursor broke: narrow the window instead
                walk, previous = Counter(), set()
                continue
            rows = doc.get("data")
            if not isinstance(rows, list):
                raise SourceRejected(f"trongrid: {path} answered without a data list")
            self._rows_read += len(rows)
            if self.on_page is not None:
                self.on_page(self._rows_read)
            progressed = False
            page: set[str] = set()
            for row in rows:
                ident = key(row)
                page.add(ident)
                walk[ident] += 1
                if walk[ident] <= seen[ident]:
                    continue  # read before the cursor broke
                progressed = True
                if ident in previous and seen[ident] >= true_count(row):
                    continue  # a page-edge repeat
                seen[ident] += 1
                since = max(since, int(row.get("block_timestamp") or 0))
                yield row
            previous = page
            last, fingerprint = fingerprint, (doc.get("meta") or {}).get("fingerprint")
            if not fingerprint or not rows:
                return
            if fingerprint == last:
                raise SourceRejected(f"trongrid: {path} answered the same cursor twice; the history would be cut short")
            if not progressed:  # only rows already read, yet more pages: stopping here would drop the rest
                raise SourceRejected(
                    f"trongrid: {path} pages no further past timestamp {since} ms "
                    f"(more than {self.page_limit} rows at one time?); the history would be incomplete"
                )

    def _logged_count(self, row: Mapping[str, Any]) -> int:
        """How many Transfer logs of its transaction match a trc20 row (asks the transaction's info)."""
        try:
            txid = str(row["transaction_id"]).lower()
            wanted = (
                tron_address((row.get("token_info") or {})["address"]),
                tron_address(row["from"]),
                tron_address(row["to"]),
                int(row["value"]),
            )
        except (KeyError, TypeError, ValueError, BadAddress):
            return 1
        return sum(1 for _i, *content in _log_transfers(self._info(txid)) if tuple(content) == wanted)

    # -- AccountAdapter ----------------------------------------------------------------------

    def fetch_history(
        self, chain: Chain, address: str, *, start_block: int, end_block: int, max_rows: int | None = None
    ) -> HistoryChunk:
        slug = self._check_chain(chain)
        address = tron_address(address)
        min_ms = 0 if start_block <= 0 else self._block_time_ms(start_block)
        max_ms = self._block_time_ms(end_block)
        transfers: dict[tuple[str, int], Transfer] = {}
        for row in self._pages(f"/v1/accounts/{address}/transactions", min_ms=min_ms, max_ms=max_ms, key=_txid_of):
            if ((row.get("ret") or [{}])[0].get("contractRet") or "SUCCESS") != "SUCCESS":
                self._failed.add(_txid_of(row))
            for tr in parse_transaction(slug, row):
                self.clock.add(tr.block, int(row.get("block_timestamp") or 0))
                if start_block <= tr.block <= end_block and address in (tr.sender, tr.receiver):
                    transfers[(tr.tx_hash, tr.position)] = tr
        occurrences: dict[tuple[str, str, str, str, int], int] = {}
        for row in self._pages(
            f"/v1/accounts/{address}/transactions/trc20",
            min_ms=min_ms,
            max_ms=max_ms,
            key=_trc20_key,
            true_count=self._logged_count,
        ):
            tr = self._trc20_transfer(slug, row, occurrences)
            if tr is not None and start_block <= tr.block <= end_block:
                transfers[(tr.tx_hash, tr.position)] = tr
        ordered = tuple(sorted(transfers.values(), key=lambda t: t.order_key))
        return HistoryChunk(ordered, start_block, end_block)

    def fetch_transaction(self, chain: Chain, tx_hash: str) -> tuple[Transfer, ...]:
        slug = self._check_chain(chain)
        if not isinstance(tx_hash, str) or not _TXID.fullmatch(tx_hash):
            raise BadInput(f"not a TRON transaction id: {tx_hash!r} (expected 64 hex digits)")
        txid = tx_hash.lower().removeprefix("0x")
        doc = self._post("/wallet/gettransactionbyid", {"value": txid})
        if not doc or "txID" not in doc:
            raise BadInput(f"trongrid does not know the transaction {txid}")
        info = self._info(txid)
        row = {**doc, "blockNumber": info["blockNumber"], "block_timestamp": info.get("blockTimeStamp", 0)}
        row.setdefault("internal_transactions", info.get("internal_transactions") or [])
        if "fee" in info:
            row["ret"] = [{**((doc.get("ret") or [{}])[0]), "fee": info["fee"]}]
        out = list(parse_transaction(slug, row))
        out += self._trc20_of_transaction(slug, txid, info)
        return tuple(sorted(out, key=lambda t: t.order_key))

    def _trc20_of_transaction(self, chain: str, txid: str, info: Mapping[str, Any]) -> list[Transfer]:
        """The TRC-20 transfers of one transaction, with their token info read from a receiver's trc20 list."""
        found: list[Transfer] = []
        ms = int(info.get("blockTimeStamp") or 0)
        wanted: dict[tuple[str, str, str, int], int] = {}
        for _index, contract, sender, receiver, value in _log_transfers(info):
            wanted[(contract, sender, receiver, value)] = wanted.get((contract, sender, receiver, value), 0) + 1
        for (contract, sender, receiver, value), count in sorted(wanted.items()):
            path = f"/v1/accounts/{receiver}/transactions/trc20"
            occurrences: dict[tuple[str, str, str, str, int], int] = {}
            rows = [
                tr
                for row in self._pages(path, min_ms=ms, max_ms=ms, key=_trc20_key, true_count=self._logged_count)
                if str(row.get("transaction_id", "")).lower() == txid
                and (tr := self._trc20_transfer(chain, row, occurrences)) is not None
                and (tr.asset.contract, tr.sender, tr.receiver, tr.amount) == (contract, sender, receiver, value)
            ]
            if len(rows) < count:
                raise SourceRejected(f"trongrid: the trc20 list lacks a Transfer of transaction {txid}")
            found += rows[:count]
        return found

    # -- TRC-20 ------------------------------------------------------------------------------

    def _block_of(self, txid: str, time_ms: int) -> int:
        """The block of a transaction made at `time_ms`: from the block clock, else one info request."""
        block = self.clock.block_at(time_ms)
        return block if block is not None else int(self._info(txid)["blockNumber"])

    def _trc20_transfer(
        self, chain: str, row: dict[str, Any], occurrences: dict[tuple[str, str, str, str, int], int]
    ) -> Transfer | None:
        """One trc20 row as a Transfer at its content position (`occurrences` counts identical ones per list)."""
        check_trc20_row(row)
        try:
            txid = str(row["transaction_id"]).lower()
            token = row.get("token_info") or {}
            contract = tron_address(token["address"])
            sender, receiver = tron_address(row["from"]), tron_address(row["to"])
            value = int(row["value"])
            decimals = int(token.get("decimals") or 0)
            time_ms = int(row.get("block_timestamp") or 0)
        except (KeyError, TypeError, ValueError, BadAddress) as exc:
            raise SourceRejected(f"trongrid: malformed trc20 row {row.get('transaction_id')!r}: {exc}") from None
        if row.get("type") not in (None, "Transfer") or txid in self._failed:
            return None  # Approval rows move nothing; a failed transaction emits no event
        content = (txid, contract, sender, receiver, value)
        occurrence = occurrences.get(content, 0)
        occurrences[content] = occurrence + 1
        block = self._block_of(txid, time_ms)
        if not time_ms:
            time_ms = int(self._info(txid).get("blockTimeStamp") or 0)
        asset = Asset(chain, contract, str(token.get("symbol") or "?"), decimals)
        return Transfer(
            chain,
            txid,
            token_position_of(contract, sender, receiver, value, occurrence),
            block,
            0,
            time_ms // 1000,
            sender,
            receiver,
            asset,
            value,
            TransferKind.TOKEN,
        )  # TronGrid lists the Transfer events of successful transactions only


# ------------------------------------------------------------------------------- parsing


def _classify(response: Any) -> Exception | None:
    """Errors in 200 bodies: ``{"Error": ...}`` (retried when it is about load), else usable."""
    if b'"Error"' not in response.content:
        return None  # the usual answer: no need to parse it twice
    try:
        doc = response.json()
    except ValueError:
        return None  # left to the JSON parser (malformed bodies are retried)
    if isinstance(doc, dict) and doc.get("Error"):
        text = str(doc["Error"])
        if _SUSPENDED.search(text) or "busy" in text.lower():
            return RetriableSourceError(f"trongrid: {text[:160]}")
        return SourceRejected(f"trongrid: {text[:160]}")
    return None


def _error_text(doc: Mapping[str, Any]) -> str:
    return str(doc.get("error") or doc.get("Error") or doc.get("message") or "the answer says success: false")[:160]


def _block_number(doc: Mapping[str, Any]) -> int:
    try:
        return int(doc["block_header"]["raw_data"]["number"])
    except (KeyError, TypeError, ValueError):
        raise SourceRejected("trongrid: the block answer has no number") from None


def _txid_of(row: Mapping[str, Any]) -> str:
    return str(row.get("txID") or "").lower()


def _trc20_key(row: Mapping[str, Any]) -> str:
    token = (row.get("token_info") or {}).get("address")
    return f"{row.get('transaction_id')}:{token}:{row.get('from')}:{row.get('to')}:{row.get('value')}"


def _fee(row: Mapping[str, Any]) -> int:
    ret = (row.get("ret") or [{}])[0]
    if ret.get("fee") is not None:
        return int(ret["fee"])
    return int(row.get("net_fee") or 0) + int(row.get("energy_fee") or 0)


def parse_transaction(chain: str, row: Mapping[str, Any]) -> list[Transfer]:
    """A v1 transaction row as its fee, top-level TRX value and internal TRX calls."""
    check_tron_tx(row)
    try:
        txid = str(row["txID"]).lower()
        block = int(row["blockNumber"])
        ts = int(row.get("block_timestamp") or 0) // 1000
        contract = ((row.get("raw_data") or {}).get("contract") or [{}])[0]
        kind = contract.get("type")
        value = (contract.get("parameter") or {}).get("value") or {}
        owner = tron_address(value["owner_address"])
    except (KeyError, TypeError, ValueError, BadAddress) as exc:
        raise SourceRejected(f"trongrid: malformed transaction row {row.get('txID')!r}: {exc}") from None
    ok = ((row.get("ret") or [{}])[0].get("contractRet") or "SUCCESS") == "SUCCESS"
    trx = Asset(chain, None, "TRX", TRX)
    out: list[Transfer] = []
    fee = _fee(row)
    if fee:
        out.append(Transfer(chain, txid, POSITION_FEE, block, 0, ts, owner, FEE_SINK, trx, fee, TransferKind.FEE))
    amount, to = 0, None
    if kind == "TransferContract":
        amount, to = int(value.get("amount") or 0), value.get("to_address")
    elif kind == "TriggerSmartContract":
        amount, to = int(value.get("call_value") or 0), value.get("contract_address")
    if amount and to:
        out.append(
            Transfer(
                chain, txid, POSITION_EXTERNAL, block, 0, ts, owner, tron_address(to), trx, amount,
                TransferKind.EXTERNAL, success=ok,
            )
        )  # fmt: skip
    for index, internal in enumerate(row.get("internal_transactions") or ()):
        data = internal.get("data") or {}
        sun = int((data.get("call_value") or {}).get("_") or 0)
        if not sun:
            continue  # TRC-10 call values (other keys) are not traced
        out.append(
            Transfer(
                chain, txid, POSITION_INTERNAL_BASE + index, block, 0, ts, tron_address(internal["from_address"]),
                tron_address(internal["to_address"]), trx, sun, TransferKind.INTERNAL,
                success=ok and not data.get("rejected"),
            )
        )  # fmt: skip
    return out


def _log_transfers(info: Mapping[str, Any]) -> Iterator[tuple[int, str, str, str, int]]:
    """(log index, contract, from, to, value) of every TRC-20 Transfer log of a transaction info."""
    for index, log in enumerate(info.get("log") or ()):
        topics = log.get("topics") or []
        if len(topics) != 3 or topics[0].lower().removeprefix("0x") != TRANSFER_EVENT:
            continue
        try:
            yield (
                index,
                _hex_log_address(str(log["address"])),
                _hex_log_address(topics[1]),
                _hex_log_address(topics[2]),
                int(str(log.get("data") or "0") or "0", 16),
            )
        except (KeyError, ValueError, BadAddress):
            continue  # not a standard Transfer
