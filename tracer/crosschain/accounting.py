"""The crossing accounting on bundle results: `bridged_out` on the source chain, `bridged_in` on the
destination, and one result from the rounds of a trace that crossed chains.

Works on :class:`tracer.bundle.result.TraceResult` (integer sheets in `accounting`, decimal strings in
`summary["assets"]` and the endpoint rows), so the engines stay unaware of crossings.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tracer.bundle.merge import merge_results
from tracer.bundle.result import TraceResult, make_frame, summary_endpoints
from tracer.bundle.schema import BRIDGE_BUCKETS, BUCKETS
from tracer.cases.plan import SeedSpec
from tracer.core.networks import get_chain
from tracer.core.units import format_units


def asset_decimals(result: TraceResult) -> dict[str, int]:
    """Each asset key's decimals, read off its sheet (integers in `accounting`, decimals in the summary)."""
    found: dict[str, int] = {}
    for key, row in result.accounting.items():
        shown = result.summary.get("assets", {}).get(key, {})
        for bucket, units in row.items():
            text = shown.get(bucket)
            if units and text not in (None, "0"):
                ratio = Decimal(units) / Decimal(text)
                found[key] = ratio.adjusted()  # 10 ** decimals
                break
        else:
            chain, asset = key.split(":", 1)
            if asset == "native":
                found[key] = get_chain(chain).native_decimals
    return found


def _sheet(result: TraceResult, key: str) -> dict[str, int]:
    return result.accounting.setdefault(key, dict.fromkeys(BUCKETS, 0))


def apply_bridged_out(result: TraceResult, chain: str, key: str, kept: dict[str, int], tx_hash: str) -> None:
    """Taint that left `chain` through a resolved crossing: out of `endpoints` (and the bridges' rows) into
    `bridged_out`."""
    asset_decimals_before = asset_decimals(result)
    places = asset_decimals_before.get(key, 0)
    total = sum(kept.values())
    sheet = _sheet(result, key)
    sheet["endpoints"] -= total
    sheet["bridged_out"] = sheet.get("bridged_out", 0) + total
    rows = []
    for row in result.endpoints.iter_rows(named=True):
        row = dict(row)
        if row["chain"] == chain and row["asset"] == key and row["address"] in kept:
            left = Decimal(row["tainted_amount"]) - Decimal(format_units(kept[row["address"]], places))
            if left <= 0:
                continue
            row["tainted_amount"] = _plain(left)
        rows.append(row)
    result.endpoints = make_frame(rows, "endpoints") if rows else result.endpoints.clear()
    _refresh(result, {**asset_decimals_before, key: places})


def apply_bridged_in(result: TraceResult, seeds: Sequence[SeedSpec]) -> None:
    """Taint that arrived on a chain through a crossing: the destination seeds' `stolen` becomes `bridged_in`."""
    places = asset_decimals(result)
    for seed in seeds:
        key = f"{seed.chain}:{seed.asset or 'native'}"
        if key not in result.accounting:
            continue
        d = places.get(key, get_chain(seed.chain).native_decimals)
        units = int(Decimal(seed.amount or "0") * Decimal(10) ** d)
        sheet = _sheet(result, key)
        moved = min(units, sheet["stolen"])
        sheet["stolen"] -= moved
        sheet["bridged_in"] = sheet.get("bridged_in", 0) + moved
    _refresh(result, places)


def merge_rounds(rounds: Sequence[TraceResult], *, seeds: list[dict[str, Any]]) -> TraceResult:
    """The rounds as one result: sheets of an asset traced in several rounds add up bucket by bucket."""
    if len(rounds) == 1:
        return rounds[0]
    decimals: dict[str, int] = {}
    summed: dict[str, dict[str, int]] = {}
    symbols: dict[str, str] = {}
    for r in rounds:
        decimals.update(asset_decimals(r))
        for key, row in r.accounting.items():
            into = summed.setdefault(key, {})
            for bucket, units in row.items():
                into[bucket] = into.get(bucket, 0) + units
            symbols.setdefault(key, r.summary.get("assets", {}).get(key, {}).get("symbol", key))
    merged = merge_results(list(rounds), seeds=seeds)
    merged.accounting = dict(sorted(summed.items()))
    assets = merged.summary.setdefault("assets", {})
    for key, row in merged.accounting.items():
        entry = dict(assets.get(key, {"symbol": symbols[key]}))
        entry.update({b: format_units(v, decimals.get(key, 0)) for b, v in row.items()})
        assets[key] = entry
    merged.summary["assets"] = dict(sorted(assets.items()))
    _refresh(merged, None)
    return merged


def _refresh(result: TraceResult, places: dict[str, int] | None) -> None:
    """Re-derive the summary's strings from the integer sheets (`places`: decimals per asset) and endpoint rows."""
    if places is not None:
        for key, row in result.accounting.items():
            entry = result.summary.setdefault("assets", {}).setdefault(key, {"symbol": key})
            for bucket, units in row.items():
                if bucket in BRIDGE_BUCKETS or bucket in entry or units:
                    entry[bucket] = format_units(units, places.get(key, 0))
    rows = list(result.endpoints.iter_rows(named=True))
    result.summary["endpoints"] = summary_endpoints(rows)
    by_cat: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        per = by_cat.setdefault(row["category"], {})
        per[row["asset"]] = per.get(row["asset"], Decimal(0)) + Decimal(row["tainted_amount"])
    result.summary["endpoints_by_category"] = {
        cat: {k: _plain(v) for k, v in sorted(per.items())} for cat, per in sorted(by_cat.items())
    }
    counts = result.summary.get("counts")
    if isinstance(counts, dict) and "endpoints" in counts:
        counts["endpoints"] = len({(r["chain"], r["address"]) for r in rows})


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
