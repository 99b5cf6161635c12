"""USD valuation from DefiLlama (its emulator on 127.0.0.1, SYNTHETIC prices) on the world of test_engine_cli:
charts in 90-day windows, the nearest-point rule of `/prices/historical`, missing points, rate limits,
coins DefiLlama does not know, the store's price cache and `--offline`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from chains.defillama import DefiLlamaPrices
from chains.emulators.defillama import DefiLlamaEmulator
from chains.http import RetryPolicy
from tests.cli_env import make_env
from tests.test_engine_cli import TOKEN, emulator, setup_case  # noqa: F401  (emulator is a fixture)
from tests.test_valuation_trace import T_THEFT, _check_flows, _epoch, _expected
from tracer.cli import main
from tracer.core.errors import SourceError
from tracer.store import Store
from tracer.store.prices import price_cache_counts, read_prices
from tracer.valuation.book import series_book

ETH = "coingecko:ethereum"
SYN = f"ethereum:{TOKEN}"
# hourly SYNTHETIC points from 2 h before the theft
LLAMA_POINTS = [(T_THEFT - 7200 + 3600 * i, f"{1900 + 7 * i}.{(13 * i) % 100:02d}") for i in range(14)]


def _server(**kw) -> DefiLlamaEmulator:
    return DefiLlamaEmulator({ETH: LLAMA_POINTS}, **kw)


def _valuation(url: str) -> str:
    return f'\n[valuation]\nsource = "defillama"\nurl = "{url}"\n\n[valuation.ids."{SYN}"]\ndefillama = "{SYN}"\n'


def test_trace_valued_by_defillama_then_offline_from_the_cache(emulator, tmp_path: Path) -> None:  # noqa: F811
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _out, err = make_env(home)
    with _server(rate_limit_per_s=3) as server:
        case.write_text(case.read_text() + _valuation(server.base_url))
        assert main(["trace", str(case), "--out", str(tmp_path / "b")], env=env) == 0, err.getvalue()
        asked = server.requests
    assert 2 <= asked <= 4  # one chart per asset (hours of history), plus 429 retries at most
    flows = _check_flows(tmp_path / "b", LLAMA_POINTS)
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["usd"]["price_sources"][0]["source"] == "defillama"
    assert summary["assets"]["ethereum:native"]["usd"]["stolen"] == _expected(LLAMA_POINTS, "100", T_THEFT)
    gaps = [g for g in summary["gaps"] if g.startswith(f"unpriced: {SYN} flow")]
    assert gaps and all("defillama has no price for it" in g for g in gaps)  # absent from `coins`: no 1.00
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert {r["source"] for r in manifest["price_responses"]} == {"defillama"}
    with Store.open(home / "store.sqlite3") as store:
        cached = read_prices(store, "defillama", ETH, since=T_THEFT - 86400, until=T_THEFT + 86400)
        last = max(_epoch(r["timestamp"]) for r in flows)
        assert [p.time for p in cached.points] == [t for t, _ in LLAMA_POINTS if t <= last]
        assert all(store.read_response(e["sha256"]) for e in cached.evidence)  # raw answers kept as evidence
        assert price_cache_counts(store)["defillama"] == len(cached.points)
    # the server is gone: --offline values from the cache alone, with the same figures
    assert main(["trace", str(case), "--out", str(tmp_path / "off"), "--offline"], env=env) == 0, err.getvalue()
    offline = list(csv.DictReader((tmp_path / "off" / "flows.csv").open()))
    assert [r["tainted_usd"] for r in offline] == [r["tainted_usd"] for r in flows]


def test_offline_without_cached_prices_stays_unpriced(emulator, tmp_path: Path) -> None:  # noqa: F811
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _out, err = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "b")], env=env) == 0, err.getvalue()
    case.write_text(case.read_text() + _valuation("http://127.0.0.1:9"))
    assert main(["trace", str(case), "--out", str(tmp_path / "off"), "--offline"], env=env) == 0, err.getvalue()
    summary = json.loads((tmp_path / "off" / "summary.json").read_text())
    assert summary["usd"]["totals"]["stolen"] == "0.00"
    assert any(g.startswith("unpriced: ethereum:native flow") and "price cache" in g for g in summary["gaps"])


def test_missing_points_fall_back_to_the_older_point_or_stay_unpriced() -> None:
    hole = (T_THEFT - 3600, T_THEFT + 1)  # the two points before and at the theft are missing
    with _server(missing=[hole]) as server:
        source = DefiLlamaPrices(base_url=server.base_url, rate_per_s=50)
        book = series_book(source, {"ethereum:native": (T_THEFT, T_THEFT)}, ids={"ethereum:native": {"defillama": ETH}})
    kept = [(t, p) for t, p in LLAMA_POINTS if not hole[0] <= t < hole[1]]
    got = book.lookup("ethereum:native", T_THEFT)
    assert got is not None and got[0] == T_THEFT - 7200
    assert _expected(kept, "1", T_THEFT) == str(round(got[1], 2))
    with _server(missing=[(0, T_THEFT + 1)]) as server:  # nothing at or before the theft
        source = DefiLlamaPrices(base_url=server.base_url, rate_per_s=50)
        book = series_book(source, {"ethereum:native": (T_THEFT, T_THEFT)}, ids={"ethereum:native": {"defillama": ETH}})
    assert book.lookup("ethereum:native", T_THEFT) is None  # the next point is after: never used


def test_historical_gives_the_nearest_point_with_its_own_time() -> None:
    with _server() as server:
        source = DefiLlamaPrices(base_url=server.base_url, rate_per_s=50)
        answers = source.historical([ETH, SYN], at=T_THEFT + 1900)
        assert server.requests == 1  # several coins in one request
    (point,) = answers[ETH].points
    assert point.time == T_THEFT + 3600 and str(point.usd) == LLAMA_POINTS[3][1]  # nearest, after the asked time
    assert answers[SYN].points == ()
    with _server(missing=[(0, 2 * T_THEFT)]) as server:
        assert DefiLlamaPrices(base_url=server.base_url).historical([ETH], at=T_THEFT)[ETH].points == ()


def test_long_history_goes_in_90_day_charts_under_the_size_limit() -> None:
    day = 86400
    points = [(T_THEFT + 3600 * h, "1.00") for h in range(-48, 200 * 24)]
    with DefiLlamaEmulator({ETH: points}) as server:
        source = DefiLlamaPrices(base_url=server.base_url, rate_per_s=100)
        book = series_book(
            source, {"ethereum:native": (T_THEFT, T_THEFT + 199 * day)}, ids={"ethereum:native": {"defillama": ETH}}
        )
        assert server.requests == 3  # 200 days + 36 h: three 90-day windows
        assert len(book.series["ethereum:native"]) == 36 + 200 * 24 - 24 + 1
        too_long = server.base_url + "/chart/" + ETH
        with pytest.raises(SourceError, match="span must be between"):
            source.client.get(too_long, params={"start": T_THEFT, "span": 5000, "period": "1h"})


def test_rate_limit_is_waited_out() -> None:
    with _server(rate_limit_per_s=1) as server:
        source = DefiLlamaPrices(base_url=server.base_url, rate_per_s=50, retry=RetryPolicy(backoff_base=0.05))
        for _ in range(3):
            assert source.series(ETH, since=T_THEFT, until=T_THEFT + 3600)[0].points
        assert server.requests > 3  # some were refused with 429 and retried
