"""Etherscan's answers: errors sorted once at the client boundary (HTTP 200 bodies), rows in one shape."""

from __future__ import annotations

import re
from typing import Any

import requests

from chains.http import json_body
from tracer.core.errors import RetriableSourceError, SourceError, SourceRejected

_RATE_LIMIT = re.compile(
    r"rate limit|max calls per|too many|query timeout|busy|try again later|temporarily unavailable", re.IGNORECASE
)
#: Blockscout's "some internal transactions within this block range have not yet been processed".
STATUS_INCOMPLETE = "2"
STATUS_2_RETRIES = 2
STATUS_2_BACKOFF_S = 5.0
_EMPTY = re.compile(r"^no (transactions|records|token transfers|internal transactions)? ?found", re.IGNORECASE)


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


def as_row(row: Any) -> dict[str, Any]:
    """One list row in Etherscan's field names (Blockscout's internal rows say `transactionHash`)."""
    if not isinstance(row, dict):
        raise SourceError(f"etherscan: a list row is not an object: {str(row)[:80]!r}")
    if "hash" not in row and "transactionHash" in row:
        return {**row, "hash": row["transactionHash"]}
    return row


def row_block(row: dict[str, Any]) -> int:
    return int(row["blockNumber"])


def hex_field(value: Any, what: str) -> int:
    try:
        return int(str(value), 16)
    except ValueError:
        raise SourceError(f"etherscan: {what} is not a hex number: {str(value)[:40]!r}") from None
