"""The JSON-RPC transport: calls through the shared HTTP client, answers classified once, keys kept out."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from chains.http import HttpClient, RetryPolicy, check_url, json_body
from tracer.core.errors import RetriableSourceError, SourceRejected
from tracer.core.protocols import ResponseArchive

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
