"""A CoinGecko emulator on 127.0.0.1 with the free plan's quirks (synthetic prices only).

- `/coins/{id}/market_chart/range?vs_currency=usd&from=&to=` → `{"prices": [[ms, price], ...]}`
  (also `market_caps`, `total_volumes`), only the points inside the range;
- `/coins/{id}/history?date=dd-mm-yyyy` → `{"market_data": {"current_price": {"usd": …}}}` or no
  `market_data` when the day has no price;
- the free ("demo") plan refuses ranges reaching more than 365 days before `now` with HTTP 401 and
  error_code 10012, as CoinGecko does; a key in `x-cg-pro-api-key` lifts the limit;
- missing days are simply absent from the series (`missing_days`);
- unknown ids answer HTTP 404 `{"error": "coin not found"}`; over `rate_limit_per_s`, HTTP 429 with
  CoinGecko's rate-limit body.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from chains.emulators.server import EmulatorServer, FaultPlan, Reply, Request

FREE_PLAN_DAYS = 365


class CoinGeckoEmulator(EmulatorServer):
    """Serves `series` ({coin id: [(unix time, usd)]}) the way CoinGecko's API v3 does."""

    def __init__(
        self,
        series: Mapping[str, Sequence[tuple[int, Decimal | str]]],
        *,
        now: int,
        missing_days: Sequence[dt.date] = (),
        faults: FaultPlan | None = None,
        rate_limit_per_s: float | None = None,
    ) -> None:
        super().__init__(faults=faults, rate_limit_per_s=rate_limit_per_s)
        skip = set(missing_days)
        self.series = {
            coin: sorted(
                (t, Decimal(str(p))) for t, p in points if dt.datetime.fromtimestamp(t, dt.UTC).date() not in skip
            )
            for coin, points in series.items()
        }
        self.now = now

    def rate_limited_reply(self, request: Request) -> Reply:
        body = {
            "status": {
                "error_code": 429,
                "error_message": "You've exceeded the Rate Limit. Please visit "
                "https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits.",
            }
        }
        return Reply.json(body, status=429)

    def handle(self, request: Request) -> Reply:
        parts = [p for p in request.path.split("/") if p]
        if "coins" not in parts or len(parts) < parts.index("coins") + 3:
            return Reply.json({"error": "Incorrect path. Please check https://www.coingecko.com/api/"}, status=404)
        coin, action = parts[parts.index("coins") + 1], parts[-1]
        if coin not in self.series:
            return Reply.json({"error": "coin not found"}, status=404)
        pro = "x-cg-pro-api-key" in request.headers
        if action == "range":
            return self._range(coin, request, pro=pro)
        if action == "history":
            return self._history(coin, request, pro=pro)
        return Reply.json({"error": "Incorrect path"}, status=404)

    def _too_old(self, start: int, *, pro: bool) -> Reply | None:
        if pro or start >= self.now - FREE_PLAN_DAYS * 86400:
            return None
        message = (
            "Your request exceeds the allowed time range. Public API users are limited to querying "
            "historical data within the past 365 days. Upgrade to a paid plan to enjoy full historical data access"
        )
        return Reply.json(
            {"error": {"status": {"timestamp": "", "error_code": 10012, "error_message": message}}}, status=401
        )

    def _range(self, coin: str, request: Request, *, pro: bool) -> Reply:
        if request.query.get("vs_currency") != "usd":
            return Reply.json({"error": "invalid vs_currency"}, status=400)
        try:
            start, end = int(float(request.query["from"])), int(float(request.query["to"]))
        except (KeyError, ValueError):
            return Reply.json({"error": "from and to are required unix timestamps"}, status=400)
        refused = self._too_old(start, pro=pro)
        if refused:
            return refused
        points = [[t * 1000, float(p)] for t, p in self.series[coin] if start <= t <= end]
        return Reply.json(
            {"prices": points, "market_caps": [[t, 0] for t, _ in points], "total_volumes": [[t, 0] for t, _ in points]}
        )

    def _history(self, coin: str, request: Request, *, pro: bool) -> Reply:
        try:
            day = dt.datetime.strptime(request.query.get("date", ""), "%d-%m-%Y").replace(tzinfo=dt.UTC)
        except ValueError:
            return Reply.json({"error": "invalid date"}, status=400)
        midnight = int(day.timestamp())
        refused = self._too_old(midnight, pro=pro)
        if refused:
            return refused
        doc: dict = {"id": coin, "symbol": coin[:4], "name": coin}
        price = next((p for t, p in self.series[coin] if midnight <= t < midnight + 3600), None)
        if price is not None:
            doc["market_data"] = {"current_price": {"usd": float(price)}}
        return Reply.json(doc)
