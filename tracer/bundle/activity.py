"""An empty trace is not a complete one: when no seed moved any value in the window, the bundle says so.

Seeds with no activity between `since` and `until` (or a `since` after the chain tip) used to give an
empty bundle marked complete. Instead every seed gets a ``no-activity`` gap (:mod:`tracer.core.gaps`),
the summary is marked incomplete, and the CLI exits 4 with a sentence that says why.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tracer.core.gaps import NO_ACTIVITY, gap


def window_text(parameters: dict[str, Any]) -> str:
    """The trace window as the summary's parameters give it ('since block 100, until the tip')."""
    since, until = parameters.get("since"), parameters.get("until")
    return f"since {since if since is not None else 'the start'}, until {until if until is not None else 'the tip'}"


def mark_no_activity(summary: dict[str, Any], tips: dict[str, int]) -> bool:
    """When nothing was stolen in the window and no other gap explains it, add a no-activity gap per seed.

    Returns True when the trace had no activity. Another gap (offline, budget) already says why nothing
    was found, so the summary is left alone then.
    """
    if summary.get("gaps"):
        return False
    stolen = [Decimal(str(row.get("stolen", "0"))) for row in (summary.get("assets") or {}).values()]
    if any(v > 0 for v in stolen):
        return False
    window = window_text(summary.get("parameters") or {})
    gaps = []
    for seed in summary.get("seeds") or []:
        chain = seed.get("chain", "")
        tip = tips.get(chain)
        why = f"no value moved to or from this seed in the trace window ({window}"
        why += f"; the pinned chain tip is block {tip})" if tip is not None else ")"
        gaps.append(gap(NO_ACTIVITY, chain, seed.get("address") or seed.get("tx", ""), None, tip, why))
    summary["gaps"] = gaps
    summary["complete"] = False
    return True
