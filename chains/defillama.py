"""DefiLlama price adapter (coins.llama.fi): `/prices/historical/{timestamp}/{coins}` and `/chart/{coins}`.

Coins are DefiLlama keys: `coingecko:<id>` for natives, `<chain>:<contract>` for tokens. Each
point keeps the timestamp DefiLlama gives for it (which may lie on either side of the asked time,
within `searchWidth`), so the 36 h rule downstream sees the real age of the price. Coins DefiLlama
has no price for are absent from its `coins` object: no point, never a guess. No key is needed.
Series are asked as hourly charts in windows of at most 90 days (one request per coin per window).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from chains.http import HttpClient, RetryPolicy
from tracer.core.errors import SourceError
from tracer.core.prices import PriceAnswer, PricePoint
from tracer.core.protocols import ResponseArchive

DEFAULT_URL = "https://coins.llama.fi"
WINDOW_SECONDS = 90 * 86400
PERIOD_SECONDS = 3600
SEARCH_WIDTH = "1800"  # seconds: the point nearest each hourly step, if one lies within half an hour
HISTORICAL_SEARCH_WIDTH = "6h"


class DefiLlamaPrices:
    """USD prices of DefiLlama coin keys."""

    name = "defillama"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_URL,
        archive: ResponseArchive | None = None,
        rate_per_s: float = 2.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = HttpClient(source=self.name, rate_per_s=rate_per_s, archive=archive, retry=retry)

    @property
    def requests(self) -> int:
        return self.client.requests

    def series(self, price_id: str, *, since: int, until: int) -> list[PriceAnswer]:
        """Hourly points of `price_id` in since..until, one `/chart` request per 90-day window."""
        answers = []
        start = since
        while start <= until:
            end = min(until, start + WINDOW_SECONDS - 1)
            span = (end - start) // PERIOD_SECONDS + 1
            url = f"{self.base_url}/chart/{price_id}"
            params = {"start": start, "span": span, "period": "1h", "searchWidth": SEARCH_WIDTH}
            response = self.client.get(url, params=params)
            coin = _coins(response.content, url).get(price_id) or {}
            points = tuple(_point(p) for p in coin.get("prices") or [] if _usable(p))
            answers.append(
                PriceAnswer(
                    points,
                    hashlib.sha256(response.content).hexdigest(),
                    self.client.redact(response.url),
                    since=start,
                    until=end,
                )
            )
            start = end + 1
        return answers

    def historical(self, price_ids: list[str], *, at: int) -> dict[str, PriceAnswer]:
        """`/prices/historical/{at}/{coins}`: per coin, the point nearest `at` within 6 h (absent: no point)."""
        coins = ",".join(sorted(price_ids))
        url = f"{self.base_url}/prices/historical/{int(at)}/{coins}"
        response = self.client.get(url, params={"searchWidth": HISTORICAL_SEARCH_WIDTH})
        found = _coins(response.content, url)
        sha, safe = hashlib.sha256(response.content).hexdigest(), self.client.redact(response.url)
        out = {}
        for price_id in sorted(price_ids):
            doc = found.get(price_id) or {}
            points = (_point(doc),) if _usable(doc) else ()
            out[price_id] = PriceAnswer(points, sha, safe)
        return out


def _usable(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("price") is not None and doc.get("timestamp") is not None


def _point(doc: dict[str, Any]) -> PricePoint:
    return PricePoint(int(doc["timestamp"]), Decimal(str(doc["price"])))


def _coins(body: bytes, url: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError:
        raise SourceError(f"defillama: {url} answered with a body that is not JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("coins", {}), dict):
        raise SourceError(f"defillama: unexpected answer from {url}")
    return doc.get("coins") or {}
