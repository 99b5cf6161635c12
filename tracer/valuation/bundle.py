"""The valuation pass: USD columns and summary sections over a finished bundle's rows.

It runs after the engines, on the rows they wrote, and adds:

- `tainted_usd` to every flow (tainted amount × the price in force at the flow's time) and to
  every endpoint row (the sum of its arrivals, each at its own time), `tainted_in_usd` to addresses;
- per asset `usd` in summary.json (the bucket names: stolen at the theft inflows' times, endpoints at
  arrival, fees at payment, swaps at the swap, below-threshold at arrival, unmoved at the pinned tip's
  time) and a top-level `usd` (totals of what is priced, price sources, unpriced counts);
- a `summary.gaps` line per asset and reason for every unpriced event.

USD figures are exact products rounded once to cents, half-even; totals round the exact sum.
They are reported per bucket and do not close (prices move); the base-unit identity stays the law.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from heuristics.valuation import decimal_amount, to_cents
from tracer.bundle.schema import BUCKETS
from tracer.core.units import iso
from tracer.valuation.book import PriceBook
from tracer.valuation.events import FEE_SINK, arrivals, flow_key, flow_time, tainted_sum, theft_inflows

NOTE = (
    "USD at each event's own time (latest price at or before it, at most 36 h old; never interpolated); "
    "rounded to cents half-even; buckets are not expected to close in USD because prices move"
)


def cents(value: Fraction | None) -> str | None:
    return None if value is None else str(to_cents(value))


@dataclass
class _Valuer:
    book: PriceBook
    unpriced: dict[str, int] = field(default_factory=dict)
    gaps: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)  # (asset, what, why) -> times

    def value(self, asset: str, amount: Fraction, at: int | None, what: str) -> Fraction | None:
        """`amount` of `asset` at `at` in exact USD, or None (counted and listed as a gap)."""
        if amount == 0:
            return Fraction(0)
        point = None if at is None or at < 0 else self.book.lookup(asset, at)
        if point is None:
            if at is None:
                why = "the pinned tip's time is not in the bundle"
            elif at < 0:
                why = "no flow in the bundle carries the time of this part"
            else:
                why = self.book.why_unpriced(asset, at)
            self.unpriced[asset] = self.unpriced.get(asset, 0) + 1
            self.gaps.setdefault((asset, what, why), []).append(max(at or 0, 0))
            return None
        return amount * Fraction(point[1])

    def gap_lines(self) -> list[str]:
        lines = []
        for (asset, what, why), times in sorted(self.gaps.items()):
            span = "" if not any(times) else f" ({iso(min(times))} to {iso(max(times))})"
            count = f"{len(times)} event{'s' if len(times) != 1 else ''}"
            lines.append(f"unpriced: {asset} {what}: {count}{span}: {why}; USD null")
        return lines


@dataclass
class Valued:
    """What the pass adds: a column per table (row order kept) and the summary sections."""

    flows: list[str | None]
    endpoints: list[str | None]
    addresses: list[str | None]
    assets: dict[str, dict[str, str | None]]
    usd: dict[str, Any]
    gaps: list[str]
    evidence: list[dict[str, Any]]


def _total(parts: Iterable[Fraction | None]) -> Fraction | None:
    """The exact sum, or None when any part is unpriced."""
    total = Fraction(0)
    for part in parts:
        if part is None:
            return None
        total += part
    return total


def _bucket(
    valuer: _Valuer, asset: str, bucket: str, amount: Fraction, events: list[tuple[Fraction, int | None]]
) -> Fraction | None:
    """A bucket's USD: its events valued at their times; the part of `amount` no event explains is unpriced."""
    parts = [valuer.value(asset, a, t, bucket) for a, t in events]
    rest = amount - sum((a for a, _ in events), Fraction(0))
    if rest > 0:
        parts.append(valuer.value(asset, rest, None if bucket == "unmoved" else -1, bucket))
    return _total(parts)


def value_rows(
    summary: dict[str, Any],
    flows: list[dict[str, Any]],
    endpoints: list[dict[str, Any]],
    addresses: list[dict[str, Any]],
    book: PriceBook,
    *,
    tip_times: dict[str, int] | None = None,
) -> Valued:
    """Value a bundle's rows with `book` (no I/O)."""
    valuer = _Valuer(book)
    flow_usd = [valuer.value(flow_key(r), decimal_amount(r["tainted_amount"]), flow_time(r), "flow") for r in flows]
    by_id = {id(r): usd for r, usd in zip(flows, flow_usd, strict=True)}
    arriving = arrivals(flows)

    def arrival_usd(chain: str, address: str, asset: str, amount: str, first: str, what: str) -> Fraction | None:
        rows = arriving.get((chain, address, asset), [])
        if rows and tainted_sum(rows) == decimal_amount(amount):
            return _total(by_id[id(r)] for r in rows)
        return valuer.value(asset, decimal_amount(amount), flow_time({"timestamp": first}) if first else None, what)

    endpoint_usd = [
        arrival_usd(r["chain"], r["address"], r["asset"], r["tainted_amount"], r["first_tainted_at"], "endpoint")
        for r in endpoints
    ]
    address_usd = [
        arrival_usd(r["chain"], r["address"], r["asset"], r["tainted_in"], r["first_tainted_at"], "address")
        for r in addresses
    ]
    seeds = {(r["chain"], r["address"]) for r in addresses if r["role"] == "seed"}
    swaps = list(summary.get("swaps") or [])
    stolen = theft_inflows(flows, seeds, swaps)
    below = {(r["chain"], r["address"]) for r in addresses if r["role"] == "below-threshold"}
    tips = tip_times or {}
    assets: dict[str, dict[str, str | None]] = {}
    totals: dict[str, Fraction] = {}
    for key, row in summary["assets"].items():
        chain = key.split(":", 1)[0]
        events: dict[str, list[tuple[Fraction, int | None]]] = {b: [] for b in BUCKETS}
        events["stolen"] = [(decimal_amount(r["tainted_amount"]), flow_time(r)) for r in stolen if flow_key(r) == key]
        events["fees"] = [
            (decimal_amount(r["tainted_amount"]), flow_time(r))
            for r in flows
            if r["to"] == FEE_SINK and flow_key(r) == key
        ]
        events["below_threshold"] = [
            (decimal_amount(r["tainted_amount"]), flow_time(r))
            for r in flows
            if (r["chain"], r["to"]) in below and flow_key(r) == key
        ]
        for s in swaps:
            if s["asset_in"] == key:
                events["swapped_in"].append((decimal_amount(s["tainted_in"]), flow_time(s)))
            if s["asset_out"] == key:
                events["swapped_out"].append((decimal_amount(s["tainted_out"]), flow_time(s)))
        if chain in tips:
            events["unmoved"] = [(decimal_amount(row["unmoved"]), tips[chain])]
        per: dict[str, str | None] = {}
        for bucket in BUCKETS:
            amount = decimal_amount(row[bucket])
            if bucket == "endpoints":
                usd = _total(u for r, u in zip(endpoints, endpoint_usd, strict=True) if r["asset"] == key)
                explained = sum(
                    (decimal_amount(r["tainted_amount"]) for r in endpoints if r["asset"] == key), Fraction(0)
                )
                if usd is not None and explained != amount:
                    usd = _total([usd, valuer.value(key, amount - explained, -1, bucket)])
            else:
                usd = _bucket(valuer, key, bucket, amount, events[bucket])
            per[bucket] = cents(usd)
            if usd is not None:
                totals[bucket] = totals.get(bucket, Fraction(0)) + usd
        assets[key] = per
    usd_doc = {
        "note": NOTE,
        "rounding": "half-even to cents",
        "totals": {b: cents(totals.get(b, Fraction(0))) for b in BUCKETS},
        "price_sources": [{"source": book.source, "responses": len(book.responses)}],
        "unpriced": dict(sorted(valuer.unpriced.items())),
    }
    return Valued(
        flows=[cents(u) for u in flow_usd],
        endpoints=[cents(u) for u in endpoint_usd],
        addresses=[cents(u) for u in address_usd],
        assets=assets,
        usd=usd_doc,
        gaps=valuer.gap_lines(),
        evidence=book.evidence(),
    )
