"""Chainlink price feeds read on your own node with `eth_call` (AggregatorV3Interface).

- `latestRoundData()` at a block: the round in force when that block was sealed;
- `getRoundData(roundId)`: an earlier round, to walk back to the one in force at a time that has
  no block on the feed's chain (another chain's event, or a node without old state);
- `decimals()`: the answer's scale (USD feeds use 8).

A round is (roundId, answer, startedAt, updatedAt, answeredInRound); its price is
answer / 10^decimals, exact, and its time is `updatedAt` (so the 36 h rule downstream sees how old
the answer really was). Walking back stays inside the current phase of the proxy (roundId's low 64
bits): earlier phases are not followed, and the times before them stay unpriced. Every answer's
raw body is hashed (and archived when an archive is given); keys in the node URL are redacted.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from chains.http import HttpClient, RetryPolicy, check_url, json_body
from tracer.core.errors import RetriableSourceError, SourceError, SourceRejected
from tracer.core.protocols import ResponseArchive

LATEST_ROUND_DATA = "0xfeaf968c"  # keccak("latestRoundData()")[:4]
GET_ROUND_DATA = "0x9a6fc8f5"  # keccak("getRoundData(uint80)")[:4]
DECIMALS = "0x313ce567"  # keccak("decimals()")[:4]
PHASE_MASK = (1 << 64) - 1
BATCH = 100  # eth_calls per JSON-RPC batch request
_REVERT = re.compile(r"revert|execution reverted|no data present", re.IGNORECASE)
_RATE = re.compile(r"rate limit|too many requests|exceeded", re.IGNORECASE)
_STATE_GONE = re.compile(
    r"missing trie node|header not found|state (is )?not available|historical state|pruned|BlockOutOfRange|"
    r"unknown block|block .*not found|requested was",
    re.IGNORECASE,
)
STATE_UNAVAILABLE = "state unavailable"  # the node no longer holds the state of that block


class FeedReverted(SourceRejected):
    """The feed reverted (no such round, or not a feed at that address / block)."""


@dataclass(frozen=True, slots=True)
class Round:
    """One feed round and the evidence of the answer it came from."""

    round_id: int
    answer: int
    updated_at: int
    sha256: str
    url: str

    def usd(self, decimals: int) -> Decimal:
        return Decimal(self.answer).scaleb(-decimals)


def _classify(response: requests.Response) -> Exception | None:
    body = json_body(response)
    if isinstance(body, list):  # a batch: each item's error is read by the caller (a revert is per block)
        if not body or not all(isinstance(item, dict) for item in body):
            return RetriableSourceError("chainlink: batch answer is not a list of JSON-RPC objects")
        rate = [item for item in body if _item_verdict(item) is RetriableSourceError]
        return RetriableSourceError("chainlink: rate limited inside a batch") if rate else None
    if not isinstance(body, dict):
        return RetriableSourceError("chainlink: answer is not a JSON-RPC object")
    return _verdict(body)


def _item_verdict(item: dict[str, Any]) -> type[Exception] | None:
    error = item.get("error")
    if error is None:
        return None
    code = error.get("code") if isinstance(error, dict) else None
    message = str(error.get("message", error) if isinstance(error, dict) else error)
    if code == 429 or _RATE.search(message):
        return RetriableSourceError
    return FeedReverted if code == 3 or _REVERT.search(message) else SourceRejected


def _verdict(body: dict[str, Any]) -> Exception | None:
    error = body.get("error")
    if error is None:
        return None if "result" in body else RetriableSourceError("chainlink: answer has no result")
    code = error.get("code") if isinstance(error, dict) else None
    message = str(error.get("message", error) if isinstance(error, dict) else error)[:300]
    if code == 429 or _RATE.search(message):
        return RetriableSourceError(f"chainlink: {message}")
    if code == 3 or _REVERT.search(message):
        return FeedReverted(f"chainlink: call reverted: {message}")
    return SourceRejected(f"chainlink: the node rejected the request: {message}")


def _secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [seg for seg in parts.path.split("/") if re.fullmatch(r"[A-Za-z0-9_\-]{16,}", seg)]
    found += [value for _, value in parse_qsl(parts.query) if len(value) >= 6]
    return found + ([parts.password] if parts.password else [])


def _words(data: str, count: int) -> list[int]:
    raw = data[2:] if data.startswith("0x") else data
    if len(raw) < 64 * count:
        raise SourceError(f"chainlink: short answer ({len(raw) // 2} bytes, expected {32 * count})")
    return [int(raw[64 * i : 64 * (i + 1)], 16) for i in range(count)]


def _signed(word: int) -> int:
    return word - (1 << 256) if word >> 255 else word


class ChainlinkFeeds:
    """Feed reads through one node's JSON-RPC endpoint."""

    name = "chainlink"

    def __init__(
        self,
        *,
        url: str,
        archive: ResponseArchive | None = None,
        rate_per_s: float | None = None,
        retry: RetryPolicy | None = None,
        batch: int = BATCH,
    ) -> None:
        check_url(url, what="Chainlink node URL")
        self.url = url
        self.client = HttpClient(
            source=self.name,
            rate_per_s=rate_per_s,
            retry=retry,
            secrets=_secrets(url),
            archive=archive,
            classify=_classify,
        )
        self._next_id = 0
        self.batch = batch

    @property
    def requests(self) -> int:
        return self.client.requests

    def _call(self, method: str, params: list[Any]) -> tuple[Any, str, str]:
        self._next_id += 1
        payload = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        response, body = self.client.post_json_response(self.url, payload)
        return body.get("result"), hashlib.sha256(response.content).hexdigest(), self.client.redact(response.url)

    def _eth_call(self, feed: str, data: str, block: int | None) -> tuple[str, str, str]:
        tag = "latest" if block is None else hex(block)
        result, sha, url = self._call("eth_call", [{"to": feed, "data": data}, tag])
        if not isinstance(result, str) or result in ("0x", ""):
            raise FeedReverted(f"chainlink: {feed} answered nothing at block {tag} (no feed there?)")
        return result, sha, url

    def decimals(self, feed: str, *, block: int | None = None) -> int:
        result, _, _ = self._eth_call(feed, DECIMALS, block)
        return _words(result, 1)[0]

    def _round(self, feed: str, data: str, block: int | None) -> Round:
        result, sha, url = self._eth_call(feed, data, block)
        round_id, answer, _started, updated, _answered = _words(result, 5)
        return Round(round_id, _signed(answer), updated, sha, url)

    def latest_round(self, feed: str, *, block: int | None = None) -> Round:
        """`latestRoundData()` at `block` (None: the node's latest)."""
        return self._round(feed, LATEST_ROUND_DATA, block)

    def latest_rounds(self, feed: str, blocks: list[int]) -> dict[int, Round | str | None]:
        """`latestRoundData()` at each of `blocks`, `batch` calls per JSON-RPC batch request (one
        evidence hash per batch). Per block: the round; None where the feed answered nothing or
        reverted; `STATE_UNAVAILABLE` where the node no longer holds that block's state (pruned)."""
        calls = [(block, LATEST_ROUND_DATA, hex(block)) for block in blocks]
        return self._batch(feed, calls)

    def rounds_before(self, feed: str, current: Round, count: int) -> list[Round]:
        """Up to `count` rounds before `current` in its phase, newest first, in batches; stops at the
        first round the feed does not have."""
        first = max((current.round_id & ~PHASE_MASK) | 1, current.round_id - count)
        ids = list(range(current.round_id - 1, first - 1, -1))
        found = self._batch(feed, [(rid, GET_ROUND_DATA + f"{rid:064x}", "latest") for rid in ids])
        out = []
        for rid in ids:
            item = found.get(rid)
            if not isinstance(item, Round) or not item.updated_at:
                break
            out.append(item)
        return out

    def _batch(self, feed: str, calls: list[tuple[int, str, str]]) -> dict[int, Round | str | None]:
        out: dict[int, Round | str | None] = {}
        for start in range(0, len(calls), self.batch):
            chunk = calls[start : start + self.batch]
            payload = []
            for _key, data, tag in chunk:
                self._next_id += 1
                params = [{"to": feed, "data": data}, tag]
                payload.append({"jsonrpc": "2.0", "id": self._next_id, "method": "eth_call", "params": params})
            response, body = self.client.post_json_response(self.url, payload)
            sha, url = hashlib.sha256(response.content).hexdigest(), self.client.redact(response.url)
            by_id = {item.get("id"): item for item in body}
            for (key, _data, tag), request in zip(chunk, payload, strict=True):
                item = by_id.get(request["id"]) or {}
                verdict = _item_verdict(item)
                if verdict is FeedReverted or (verdict is None and item.get("result") in (None, "0x", "")):
                    out[key] = None
                    continue
                if verdict is not None and _STATE_GONE.search(str(item.get("error"))):
                    out[key] = STATE_UNAVAILABLE
                    continue
                if verdict is not None or "result" not in item:
                    raise SourceRejected(f"chainlink: the node rejected eth_call at {tag}: {item.get('error')}")
                round_id, answer, _started, updated, _answered = _words(item["result"], 5)
                out[key] = Round(round_id, _signed(answer), updated, sha, url)
        return out

    def round_data(self, feed: str, round_id: int, *, block: int | None = None) -> Round | None:
        """`getRoundData(round_id)`; None when the feed has no such round (it reverts, or updatedAt is 0)."""
        try:
            found = self._round(feed, GET_ROUND_DATA + f"{round_id:064x}", block)
        except FeedReverted:
            return None
        return found if found.updated_at else None

    def block_time(self, block: int | None = None) -> tuple[int, int]:
        """(number, timestamp) of `block` (None: latest)."""
        header, _, _ = self._call("eth_getBlockByNumber", ["latest" if block is None else hex(block), False])
        if not isinstance(header, dict):
            raise SourceError(f"chainlink: the node has no block {block}")
        return int(header["number"], 16), int(header["timestamp"], 16)
