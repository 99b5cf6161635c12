"""A DefiLlama coins-API emulator on 127.0.0.1 (synthetic prices only), with the quirks we model:

- `/prices/historical/{timestamp}/{coins}?searchWidth=6h` → `{"coins": {key: {"price", "symbol",
  "timestamp", "confidence"}}}`: the point nearest the asked time within the search width (on either
  side, as DefiLlama does), with the point's own timestamp; coins without such a point are absent;
- `/chart/{coins}?start=&span=&period=1h&searchWidth=600` → `{"coins": {key: {"symbol", "confidence",
  "prices": [{"timestamp", "price"}, ...]}}}`: for each of `span` steps, the nearest point within the
  width (de-duplicated), so missing points are simply absent;
- charts of more than `max_chart_points` steps are refused with HTTP 400 (our model of a size limit;
  the adapter's 90-day windows of hourly steps stay under it);
- unknown coins are absent from `coins` (HTTP 200), never an error;
- over `rate_limit_per_s`, HTTP 429 with a plain-text body.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from decimal import Decimal

from chains.emulators.server import EmulatorServer, FaultPlan, Reply, Request

MAX_CHART_POINTS = 2200  # 90 days of hourly steps is 2,160
PERIODS = {"1h": 3600, "4h": 4 * 3600, "1d": 86400}


def _width(text: str | None, default: int) -> int:
    if not text:
        return default
    units = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    if text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(float(text))


class DefiLlamaEmulator(EmulatorServer):
    """Serves `series` ({coin key: [(unix time, usd)]}) like coins.llama.fi; `missing` drops (start, end) spans."""

    def __init__(
        self,
        series: Mapping[str, Sequence[tuple[int, Decimal | str]]],
        *,
        missing: Sequence[tuple[int, int]] = (),
        faults: FaultPlan | None = None,
        rate_limit_per_s: float | None = None,
        max_chart_points: int = MAX_CHART_POINTS,
    ) -> None:
        super().__init__(faults=faults, rate_limit_per_s=rate_limit_per_s)
        self.series: dict[str, list[tuple[int, Decimal]]] = {}
        for coin, points in series.items():
            kept = sorted((t, Decimal(str(p))) for t, p in points if not any(a <= t < b for a, b in missing))
            self.series[coin] = kept
        self._times = {coin: [t for t, _ in pts] for coin, pts in self.series.items()}
        self.max_chart_points = max_chart_points

    def rate_limited_reply(self, request: Request) -> Reply:
        return Reply.text("Too Many Requests", status=429)

    def _nearest(self, coin: str, at: int, width: int) -> tuple[int, Decimal] | None:
        times = self._times.get(coin) or []
        i = bisect.bisect_left(times, at)
        best = None
        for j in (i - 1, i):
            if 0 <= j < len(times) and abs(times[j] - at) <= width and (best is None or abs(times[j] - at) < best[0]):
                best = (abs(times[j] - at), j)
        return None if best is None else self.series[coin][best[1]]

    def handle(self, request: Request) -> Reply:
        parts = [p for p in request.path.split("/") if p]
        if len(parts) == 4 and parts[:2] == ["prices", "historical"]:
            return self._historical(parts[2], parts[3].split(","), request)
        if len(parts) == 2 and parts[0] == "chart":
            return self._chart(parts[1].split(","), request)
        return Reply.json({"message": "Not Found"}, status=404)

    def _historical(self, stamp: str, coins: list[str], request: Request) -> Reply:
        try:
            at = int(stamp)
            width = _width(request.query.get("searchWidth"), 6 * 3600)
        except ValueError:
            return Reply.json({"message": "invalid timestamp or searchWidth"}, status=400)
        out = {}
        for coin in coins:
            found = self._nearest(coin, at, width)
            if found is not None:
                out[coin] = {
                    "price": float(found[1]),
                    "symbol": coin.split(":")[-1][:6].upper(),
                    "timestamp": found[0],
                    "confidence": 0.99,
                }
        return Reply.json({"coins": out})

    def _chart(self, coins: list[str], request: Request) -> Reply:
        try:
            start = int(request.query["start"])
            span = int(request.query.get("span", "0"))
            period = PERIODS[request.query.get("period", "1d")]
            width = _width(request.query.get("searchWidth"), period // 10)
        except (KeyError, ValueError):
            return Reply.json({"message": "start, span and period (1h, 4h, 1d) are required"}, status=400)
        if span < 1 or span > self.max_chart_points:
            return Reply.json({"message": f"span must be between 1 and {self.max_chart_points}"}, status=400)
        out = {}
        for coin in coins:
            if coin not in self.series:
                continue
            seen: dict[int, Decimal] = {}
            for k in range(span):
                found = self._nearest(coin, start + k * period, width)
                if found is not None:
                    seen[found[0]] = found[1]
            prices = [{"timestamp": t, "price": float(seen[t])} for t in sorted(seen)]
            out[coin] = {"symbol": coin.split(":")[-1][:6].upper(), "confidence": 0.99, "prices": prices}
        return Reply.json({"coins": out})
