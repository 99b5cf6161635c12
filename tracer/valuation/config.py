"""Which prices value a bundle: the case's `[valuation]` table and the command line (`--prices`, `--no-usd`).

Values are validated when read, with one-line errors. Precedence: `--no-usd` > `--prices FILE` >
the case's `[valuation]` > none (no USD columns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracer.core.errors import BadInput
from tracer.valuation.book import PriceBook, file_book, series_book, shipped_price_ids, validate_source
from tracer.valuation.events import flow_key, flow_time


@dataclass(frozen=True, slots=True)
class ValuationSpec:
    """A validated price choice."""

    source: str
    url: str | None = None
    file: Path | None = None
    ids: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    chain: str = "ethereum"  # Chainlink: the chain the feeds are read on (the node's chain)
    feeds: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # chain -> asset key -> feed


def _text(table: Mapping[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise BadInput(f"[valuation] {key} must be a string, not {value!r}")
    return value


def read_spec(table: Mapping[str, Any], *, base: Path | None = None) -> ValuationSpec:
    """A case's `[valuation]` table as a spec (`file` relative to the case file's folder)."""
    source = validate_source(_text(table, "source") or ("file" if "file" in table else "none"))
    file = _text(table, "file")
    if source == "file" and not file:
        raise BadInput('[valuation] source = "file" needs file = "prices.csv"')
    ids = table.get("ids") or {}
    if not isinstance(ids, Mapping) or not all(isinstance(v, Mapping) for v in ids.values()):
        raise BadInput('[valuation.ids] must map asset keys to tables like {coingecko = "ethereum"}')
    path = None if not file else (Path(file) if base is None or Path(file).is_absolute() else base / file)
    feeds = table.get("feeds") or {}
    if not isinstance(feeds, Mapping) or not all(
        isinstance(v, Mapping) and all(isinstance(a, str) and a.startswith("0x") for a in v.values())
        for v in feeds.values()
    ):
        raise BadInput('[valuation.feeds.<chain>] must map asset keys to feed addresses like "0x5f4e…"')
    return ValuationSpec(
        source,
        _text(table, "url"),
        path,
        {str(k): dict(v) for k, v in ids.items()},
        chain=_text(table, "chain") or "ethereum",
        feeds={str(c): {str(k): str(a).lower() for k, a in v.items()} for c, v in feeds.items()},
    )


def choose_spec(case: Any, *, prices: Path | None, no_usd: bool) -> ValuationSpec | None:
    """The spec in force, or None for no valuation."""
    if no_usd:
        return None
    if prices is not None:
        return ValuationSpec("file", file=Path(prices))
    table = getattr(case, "valuation", None) or {}
    if not table:
        return None
    path = getattr(case, "path", None)
    spec = read_spec(table, base=path.parent if path else None)
    return None if spec.source == "none" else spec


def event_spans(flows: list[dict[str, Any]], endpoints: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Asset key -> (first, last) event time in the bundle's flows and endpoint arrivals."""
    spans: dict[str, tuple[int, int]] = {}
    times = [(flow_key(r), flow_time(r)) for r in flows]
    times += [
        (r["asset"], flow_time({"timestamp": r["first_tainted_at"]})) for r in endpoints if r.get("first_tainted_at")
    ]
    for key, at in times:
        first, last = spans.get(key, (at, at))
        spans[key] = (min(first, at), max(last, at))
    return spans


def build_book(
    spec: ValuationSpec,
    spans: Mapping[str, tuple[int, int]],
    *,
    offline: bool = False,
    store: Any = None,
    api_key: str | None = None,
    rows: Mapping[str, Any] | None = None,
    rpc_url: str | None = None,
) -> PriceBook:
    """Fill a book for `spans` from the spec's source (Chainlink reads the bundle `rows`: flows,
    endpoints, summary and manifest, for the events' blocks and the pinned tips)."""
    if spec.source == "chainlink":
        return _chainlink(spec, rows or {}, offline=offline, store=store, rpc_url=rpc_url)
    if spec.source == "file":
        if spec.file is None:
            raise BadInput("the price file source needs a file")
        return file_book(spec.file)
    ids = {**shipped_price_ids(), **spec.ids}
    if spec.source in ("coingecko", "defillama"):
        source = series_source(spec.source, url=spec.url, api_key=api_key, archive=store)
        return series_book(source, spans, ids=ids, offline=offline, store=store)
    raise BadInput(f"[valuation] source {spec.source!r} is not available in this build")


def series_source(name: str, *, url: str | None, api_key: str | None, archive: Any) -> Any:
    """The adapter of a time-series price source (CoinGecko's key goes in a header; DefiLlama needs none)."""
    if name == "coingecko":
        from chains.coingecko import DEFAULT_URL, CoinGeckoPrices

        return CoinGeckoPrices(base_url=url or DEFAULT_URL, api_key=api_key, archive=archive)
    if name == "defillama":
        from chains.defillama import DEFAULT_URL as LLAMA_URL
        from chains.defillama import DefiLlamaPrices

        return DefiLlamaPrices(base_url=url or LLAMA_URL, archive=archive)
    raise BadInput(f"{name} is not a time-series price source")


def check_chainlink(spec: ValuationSpec, *, rpc_url: str | None, offline: bool) -> None:
    """One-line errors for a Chainlink choice that cannot work (before any trace work)."""
    url = spec.url or rpc_url
    if not url and not offline:
        raise BadInput('[valuation] source = "chainlink" needs your node: url = "http://…" or --rpc-url')
    if url:
        from chains.http import url_problem

        problem = url_problem(url)
        if problem:
            raise BadInput(f"[valuation] Chainlink node URL: expected {problem}")


def _chainlink(spec: ValuationSpec, rows: Mapping[str, Any], *, offline: bool, store: Any, rpc_url: str | None) -> Any:
    from tracer.valuation.chainlink import chainlink_book, chainlink_events, shipped_feeds

    check_chainlink(spec, rpc_url=rpc_url, offline=offline)
    url = spec.url or rpc_url
    manifest = rows.get("manifest") or {}
    summary = rows.get("summary") or {}
    events = chainlink_events(
        rows.get("flows") or [],
        rows.get("endpoints") or [],
        list((summary.get("assets") or {}).keys()),
        feed_chain=spec.chain,
        tip_heights={str(k): int(v) for k, v in (manifest.get("block_heights") or {}).items()},
        tip_times={str(k): int(v) for k, v in (manifest.get("tip_times") or {}).items()},
    )
    feeds = {**shipped_feeds().get(spec.chain, {}), **spec.feeds.get(spec.chain, {})}
    reader = None
    if not offline:
        from chains.chainlink import ChainlinkFeeds

        reader = ChainlinkFeeds(url=str(url), archive=store)
    return chainlink_book(reader, events, feeds=feeds, feed_chain=spec.chain, offline=offline, store=store)
