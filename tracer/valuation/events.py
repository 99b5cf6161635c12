"""The valued events of a bundle: which amounts, of which asset, at which time, feed each USD figure.

Pure functions over bundle rows (dicts of strings, as in the CSV files and summary.json).
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from chains.pricefile import parse_time
from heuristics.valuation import decimal_amount

FEE_SINK = "fee"


def flow_key(row: dict[str, Any]) -> str:
    return f"{row['chain']}:{row['asset_id']}"


def flow_time(row: dict[str, Any]) -> int:
    return parse_time(str(row["timestamp"]))


def arrivals(flows: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """(chain, receiver, asset key) -> the flows arriving there."""
    out: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in flows:
        out.setdefault((row["chain"], row["to"], flow_key(row)), []).append(row)
    return out


def tainted_sum(rows: Iterable[dict[str, Any]]) -> Fraction:
    return sum((decimal_amount(r["tainted_amount"]) for r in rows), Fraction(0))


def theft_inflows(flows: list[dict[str, Any]], seeds: set[tuple[str, str]], swaps: list[dict[str, Any]]) -> list[dict]:
    """Hop-0 flows into a seed that are not the incoming leg of a swap: the theft inflows."""
    swap_in = {(s["tx_hash"], s["asset_in"], s["address"]) for s in swaps}
    return [
        r
        for r in flows
        if int(r["hop"]) == 0 and (r["chain"], r["to"]) in seeds and (r["tx_hash"], flow_key(r), r["to"]) not in swap_in
    ]
