"""Amounts and times at the edges: base units as decimal text, unix seconds as ISO 8601 UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def format_units(amount: int, decimals: int) -> str:
    """Base units as a decimal string in the asset's unit: 1234500000000000000000, 18 -> '1234.5'."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**decimals)
    if not decimals or not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{str(frac).rjust(decimals, '0').rstrip('0')}"


def iso(ts: int) -> str:
    """Unix seconds as ISO 8601 UTC."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
