"""`--prices FILE` and `--no-usd` for trace, report and show, and the valuation step they run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tracer.environment import Environment


def add_valuation_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prices", type=Path, metavar="FILE", help="value in USD from a price file (CSV asset,time,usd; UTC)"
    )
    parser.add_argument("--no-usd", action="store_true", help="no USD columns or sections")


def valuation_spec(case: Any, args: argparse.Namespace) -> Any:
    """The validated price choice of the case and the flags (checked before any trace work), or None."""
    from tracer.valuation.config import choose_spec

    spec = choose_spec(case, prices=args.prices, no_usd=args.no_usd)
    if spec is not None and spec.file is not None:
        from chains.pricefile import read_price_file

        read_price_file(spec.file)  # a bad file stops here, before any trace work
    if spec is not None and spec.source == "chainlink":
        from tracer.valuation.config import check_chainlink

        check_chainlink(spec, rpc_url=getattr(args, "rpc_url", None), offline=bool(getattr(args, "offline", False)))
    return spec


def value_trace(result: Any, spec: Any, args: argparse.Namespace, env: Environment, store: Any) -> None:
    """Value a fresh trace with `spec` (nothing when it is None)."""
    from tracer.valuation.apply import value_result
    from tracer.valuation.config import build_book, event_spans

    if spec is None:
        return
    spans = event_spans(result.flows.to_dicts(), result.endpoints.to_dicts())
    rows = {
        "flows": result.flows.to_dicts(),
        "endpoints": result.endpoints.to_dicts(),
        "summary": result.summary,
        "manifest": result.manifest,
    }
    book = build_book(
        spec,
        spans,
        offline=bool(getattr(args, "offline", False)),
        store=store,
        api_key=env.api_key("COINGECKO_API_KEY"),
        rows=rows,
        rpc_url=getattr(args, "rpc_url", None),
    )
    value_result(result, book)


def revalue_dir(directory: Path, args: argparse.Namespace) -> None:
    """`report`/`show` with --prices (re-value the bundle in place) or --no-usd (drop its USD)."""
    from tracer.valuation.apply import value_bundle_dir
    from tracer.valuation.book import file_book

    if args.no_usd:
        value_bundle_dir(directory, None)
    elif args.prices is not None:
        value_bundle_dir(directory, file_book(args.prices))
