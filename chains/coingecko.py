"""CoinGecko price adapter: `/coins/{id}/market_chart/range` (USD series) and `/coins/{id}/history` (one day).

Translates answers into :class:`tracer.core.prices.PricePoint`; nothing else. A key, when given,
goes in the `x-cg-demo-api-key` header (`x-cg-pro-api-key` for the pro host), never in URLs.
Ranges are asked in windows of at most 90 days (CoinGecko answers hourly points inside 90 days).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

from chains.http import HttpClient, RetryPolicy
from tracer.core.errors import SourceError
from tracer.core.prices import PriceAnswer, PricePoint
from tracer.core.protocols import ResponseArchive

DEFAULT_URL = "https://api.coingecko.com/api/v3"
WINDOW_SECONDS = 90 * 86400


class CoinGeckoPrices:
    """USD prices of CoinGecko coin ids."""

    name = "coingecko"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        archive: ResponseArchive | None = None,
        rate_per_s: float = 0.5,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        header = "x-cg-pro-api-key" if "pro-api" in self.base_url else "x-cg-demo-api-key"
        self.client = HttpClient(
            source=self.name,
            rate_per_s=rate_per_s,
            secrets=(api_key,) if api_key else (),
            archive=archive,
            retry=retry,
            headers={header: api_key} if api_key else None,
        )

    @property
    def requests(self) -> int:
        return self.client.requests

    def series(self, price_id: str, *, since: int, until: int) -> list[PriceAnswer]:
        """Points of `price_id` in since..until, one request per 90-day window."""
        answers = []
        start = since
        while start <= until:
            end = min(until, start + WINDOW_SECONDS - 1)
            url = f"{self.base_url}/coins/{price_id}/market_chart/range"
            params = {"vs_currency": "usd", "from": start, "to": end}
            response = self.client.get(url, params=params)
            doc = _json(response.content, url)
            _check_error(doc, price_id)
            points = tuple(
                PricePoint(int(ms) // 1000, Decimal(str(price)))
                for ms, price in doc.get("prices") or []
                if price is not None
            )
            sha = hashlib.sha256(response.content).hexdigest()
            answers.append(PriceAnswer(points, sha, self.client.redact(response.url), since=start, until=end))
            start = end + 1
        return answers

    def parse_archived(self, price_id: str, url: str, body: bytes) -> list[PricePoint]:
        """The points of an archived `market_chart/range` answer (offline valuation); other answers give none."""
        if "/market_chart/range" not in url:
            return []
        doc = _json(body, url)
        return [PricePoint(int(ms) // 1000, Decimal(str(p))) for ms, p in doc.get("prices") or [] if p is not None]

    def day(self, price_id: str, *, day: dt.date) -> PriceAnswer:
        """`/coins/{id}/history`: the price CoinGecko gives for `day` (00:00 UTC); no point when it has none."""
        url = f"{self.base_url}/coins/{price_id}/history"
        response = self.client.get(url, params={"date": day.strftime("%d-%m-%Y"), "localization": "false"})
        doc = _json(response.content, url)
        _check_error(doc, price_id)
        usd = ((doc.get("market_data") or {}).get("current_price") or {}).get("usd")
        midnight = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
        points = () if usd is None else (PricePoint(midnight, Decimal(str(usd))),)
        return PriceAnswer(points, hashlib.sha256(response.content).hexdigest(), self.client.redact(response.url))


def _json(body: bytes, url: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise SourceError(f"coingecko: {url} answered with a body that is not JSON") from None


def _check_error(doc: Any, price_id: str) -> None:
    if not isinstance(doc, dict):
        raise SourceError(f"coingecko: unexpected answer for {price_id}")
    error = doc.get("error")
    if error:
        status = error.get("status", {}) if isinstance(error, dict) else {}
        message = status.get("error_message") or str(error)
        raise SourceError(f"coingecko: {price_id}: {message}")
