"""USD valuation end to end on the SYNTHETIC world of test_engine_cli: `trace --prices FILE`, the CoinGecko
emulator (rate limit, free-plan 365-day limit, missing days), `show --prices` / `--no-usd`."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from chains.coingecko import CoinGeckoPrices
from chains.emulators.coingecko import CoinGeckoEmulator
from chains.http import RetryPolicy
from heuristics.valuation import price_in_force, to_cents
from tests.cli_env import make_env
from tests.test_engine_cli import TOKEN, emulator, setup_case  # noqa: F401  (emulator is a fixture)
from tracer.cli import main
from tracer.core.errors import SourceError
from tracer.valuation.apply import value_bundle_dir
from tracer.valuation.book import series_book

T_THEFT = 1_700_001_200
ETH_POINTS = [(T_THEFT - 7200 + 600 * i, f"{2000 + i}.{i:02d}") for i in range(40)]


def _price_file(tmp: Path) -> Path:
    f = tmp / "prices.csv"
    rows = ["asset,time,usd"] + [f"ethereum:native,{t},{p}" for t, p in ETH_POINTS]
    f.write_text("\n".join(rows) + "\n")
    return f


def _expected(points: list[tuple[int, str]], amount: str, at: int) -> str | None:
    times = [t for t, _ in points]
    found = price_in_force(times, [Decimal(p) for _, p in points], at)
    return None if found is None else str(to_cents(Fraction(Decimal(amount)) * Fraction(found[1])))


def _epoch(stamp: str) -> int:
    from chains.pricefile import parse_time

    return parse_time(stamp)


def _check_flows(bundle: Path, points: list[tuple[int, str]]) -> list[dict[str, str]]:
    with (bundle / "flows.csv").open() as f:
        flows = list(csv.DictReader(f))
    assert flows and list(flows[0])[-1] == "tainted_usd"
    for row in flows:
        if row["asset_id"] == "native":
            assert (row["tainted_usd"] or None) == _expected(points, row["tainted_amount"], _epoch(row["timestamp"]))
            assert row["tainted_usd"], row
        else:
            assert row["tainted_usd"] == ""  # the token is absent from the prices: unpriced, never 1.00
    return flows


def test_trace_with_a_price_file(emulator, tmp_path: Path) -> None:  # noqa: F811
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _out, err = make_env(home)
    prices = _price_file(tmp_path)
    assert main(["trace", str(case), "--out", str(tmp_path / "b"), "--prices", str(prices)], env=env) == 0, (
        err.getvalue()
    )
    bundle = tmp_path / "b"
    _check_flows(bundle, ETH_POINTS)
    summary = json.loads((bundle / "summary.json").read_text())
    assert summary["assets"]["ethereum:native"]["usd"]["stolen"] == _expected(ETH_POINTS, "100", T_THEFT)
    assert summary["usd"]["unpriced"][f"ethereum:{TOKEN}"] >= 1
    assert any(g.startswith(f"unpriced: ethereum:{TOKEN}") for g in summary["gaps"])
    assert summary["assets"][f"ethereum:{TOKEN}"]["usd"]["swapped_in"] is None
    with (bundle / "endpoints.csv").open() as f:
        assert list(next(csv.DictReader(f)))[-1] == "tainted_usd"
    with (bundle / "addresses.csv").open() as f:
        assert list(next(csv.DictReader(f)))[-1] == "tainted_in_usd"
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["price_responses"][0]["source"] == "file"
    assert "Value in USD" in (bundle / "report.html").read_text()
    assert main(["export", str(bundle), "--format", "csv", "--out", str(tmp_path / "x")], env=env) == 0
    assert (tmp_path / "x" / "flows.csv").read_text().splitlines()[0].endswith(",tainted_usd")
    # show --no-usd drops the columns; show --prices puts them back, identical
    before = (bundle / "flows.csv").read_bytes()
    assert main(["show", str(bundle), "--no-usd"], env=env) == 0
    assert "tainted_usd" not in (bundle / "flows.csv").read_text()
    assert main(["show", str(bundle), "--prices", str(prices)], env=env) == 0
    assert (bundle / "flows.csv").read_bytes() == before


def test_trace_without_prices_has_no_usd(emulator, tmp_path: Path) -> None:  # noqa: F811
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _out, err = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "b")], env=env) == 0, err.getvalue()
    assert "usd" not in json.loads((tmp_path / "b" / "summary.json").read_text())


def test_bad_price_file_is_one_line_exit_2(emulator, tmp_path: Path) -> None:  # noqa: F811
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _out, err = make_env(home)
    bad = tmp_path / "bad.csv"
    bad.write_text("asset,time,usd\nethereum:native,soon,1\n")
    assert main(["trace", str(case), "--out", str(tmp_path / "b"), "--prices", str(bad)], env=env) == 2
    assert "line 2: time" in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1


def _coingecko(now: int, **kw) -> CoinGeckoEmulator:
    return CoinGeckoEmulator({"ethereum": ETH_POINTS}, now=now, **kw)


def test_coingecko_book_values_like_the_file(emulator, tmp_path: Path) -> None:  # noqa: F811
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _out, err = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "b")], env=env) == 0, err.getvalue()
    with _coingecko(T_THEFT + 86400, rate_limit_per_s=2) as server:
        source = CoinGeckoPrices(base_url=server.base_url, rate_per_s=50, retry=RetryPolicy(backoff_base=0.05))
        book = series_book(
            source, {"ethereum:native": (T_THEFT, T_THEFT + 3600)}, ids={"ethereum:native": {"coingecko": "ethereum"}}
        )
        assert server.requests >= 1 and source.requests == server.requests  # one 90-day window (+ 429 retries)
    value_bundle_dir(tmp_path / "b", book)
    _check_flows(tmp_path / "b", ETH_POINTS)
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["usd"]["price_sources"][0]["source"] == "coingecko"


def test_coingecko_free_plan_refuses_old_ranges() -> None:
    with _coingecko(T_THEFT + 400 * 86400) as server:
        source = CoinGeckoPrices(base_url=server.base_url, rate_per_s=50)
        with pytest.raises(SourceError, match="365 days"):
            source.series("ethereum", since=T_THEFT, until=T_THEFT + 3600)


def test_coingecko_missing_day_stays_unpriced() -> None:
    import datetime as dt

    day = dt.datetime.fromtimestamp(T_THEFT, dt.UTC).date()
    with _coingecko(T_THEFT + 86400, missing_days=[day]) as server:
        source = CoinGeckoPrices(base_url=server.base_url, rate_per_s=50)
        book = series_book(
            source, {"ethereum:native": (T_THEFT, T_THEFT)}, ids={"ethereum:native": {"coingecko": "ethereum"}}
        )
    points_that_day = [t for t, _ in ETH_POINTS if dt.datetime.fromtimestamp(t, dt.UTC).date() == day]
    assert points_that_day and all(p.time not in points_that_day for p in book.series.get("ethereum:native", []))
    expected = _expected([(t, p) for t, p in ETH_POINTS if t not in points_that_day], "1", T_THEFT)
    got = book.lookup("ethereum:native", T_THEFT)
    assert (None if got is None else str(to_cents(Fraction(got[1])))) == expected


def test_prices_fetch_then_offline_trace_values_from_the_store(emulator, tmp_path: Path) -> None:  # noqa: F811
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _out, err = make_env(home)
    with _coingecko(T_THEFT + 86400) as server:
        args = ["prices", "fetch", "ethereum:native", "--since", str(T_THEFT - 86400), "--until", str(T_THEFT + 3600)]
        assert main([*args, "--url", server.base_url], env=env) == 0, err.getvalue()
        assert server.requests == 1  # 1.04 days: one 90-day window
        case.write_text(case.read_text() + f'\n[valuation]\nsource = "coingecko"\nurl = "{server.base_url}"\n')
        assert main(["trace", str(case), "--out", str(tmp_path / "online")], env=env) == 0, err.getvalue()
    assert main(["trace", str(case), "--out", str(tmp_path / "b"), "--offline"], env=env) == 0, err.getvalue()
    _check_flows(tmp_path / "b", ETH_POINTS)


def test_case_valuation_table_is_validated(emulator, tmp_path: Path) -> None:  # noqa: F811
    home, case = setup_case(tmp_path, emulator.api_url)
    env, _out, err = make_env(home)
    case.write_text(case.read_text() + '\n[valuation]\nsource = "oracle"\n')
    assert main(["trace", str(case), "--out", str(tmp_path / "b")], env=env) == 2
    assert "[valuation] source 'oracle' is unknown" in err.getvalue()
