"""`heisttrace prices fetch ASSET --since DATE --until DATE`: fill the store's price cache ahead of an offline run.

The raw answers are archived in the store (hashed, like explorer responses); a later
`trace --offline` with `[valuation] source = "coingecko"` (or "defillama") values from the cache alone.
"""

from __future__ import annotations

import argparse

from tracer.core.errors import BadInput
from tracer.environment import Environment


def register(subparsers: argparse._SubParsersAction) -> None:
    prices = subparsers.add_parser(
        "prices",
        help="USD price cache: fetch prices ahead of an offline run",
        description="Manage the store's USD prices (see the README section on value in USD).",
    )
    sub = prices.add_subparsers(dest="prices_command", metavar="SUBCOMMAND")
    fetch = sub.add_parser(
        "fetch",
        help="fetch an asset's USD prices over a period into the store",
        description="Fetch USD prices of ASSET (a key like ethereum:native) for --since..--until (UTC) from "
        "CoinGecko (COINGECKO_API_KEY, optional, goes in a header) or DefiLlama into the store's price cache, "
        "one request per 90 days.",
    )
    fetch.add_argument("asset", metavar="ASSET", help="asset key, e.g. ethereum:native or ethereum:0xa0b8…")
    fetch.add_argument("--since", required=True, help="ISO date or unix time (UTC)")
    fetch.add_argument("--until", required=True, help="ISO date or unix time (UTC)")
    fetch.add_argument(
        "--source", default="coingecko", choices=("coingecko", "defillama"), help="price source (default coingecko)"
    )
    fetch.add_argument("--url", help="API base URL (default the source's public API)")
    fetch.set_defaults(run=run_fetch)
    prices.set_defaults(run=lambda args, env: _help(prices, env))


def _help(parser: argparse.ArgumentParser, env: Environment) -> int:
    env.stdout.print(parser.format_help(), markup=False, highlight=False)
    return 2


def run_fetch(args: argparse.Namespace, env: Environment) -> int:
    from chains.pricefile import parse_time
    from tracer.store import Store
    from tracer.valuation.book import series_book, shipped_price_ids
    from tracer.valuation.config import series_source

    try:
        since, until = parse_time(args.since), parse_time(args.until)
    except ValueError:
        raise BadInput("--since and --until must be ISO dates or unix times (UTC)") from None
    if until < since:
        raise BadInput("--until is before --since")
    ids = shipped_price_ids()
    if args.source not in (ids.get(args.asset) or {}):
        raise BadInput(f"no {args.source} price id for {args.asset}; add one under [valuation.ids] in a case file")
    env.home.mkdir(parents=True, exist_ok=True)
    with Store.open(env.store_path) as store:
        source = series_source(args.source, url=args.url, api_key=env.api_key("COINGECKO_API_KEY"), archive=store)
        book = series_book(source, {args.asset: (since, until)}, ids=ids, store=store)
    points = len(book.series.get(args.asset, []))
    env.stdout.print(
        f"{args.asset}: {points} price points from {args.source} in {book.requests} request(s), stored for offline use",
        markup=False,
        highlight=False,
    )
    return 0
