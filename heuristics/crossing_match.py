"""The fallback for a labelled bridge without a resolver: one arrival matched by amount and time.

Pure: the caller gathers the candidate arrivals on destination chains (the same asset or its
wrapped twin, paid to the same recipient or from the bridge's known payout address); this decides
whether exactly one of them fits. It answers `method = "amount-time"` with a lower confidence,
never as fact, and refuses — with the reason — when nothing fits, when two or more fit, or when
the only arrival in the time window is out of the amount tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from tracer.core.crossings import RESOLVED, UNRESOLVED, CrossingOut, Resolution

METHOD = "amount-time"
#: A match by amount and time is a lead, not a fact.
CONFIDENCE = 0.5
DEFAULT_WINDOW_S = 6 * 3600
DEFAULT_TOLERANCE = Fraction(2, 100)  # a bridge keeps a fee: the arrival may be up to 2 % smaller


@dataclass(frozen=True, slots=True)
class Arrival:
    """A candidate payment on a destination chain, amount in the same unit as the deposit."""

    out: CrossingOut
    timestamp: int
    comparable_amount: int  # the amount in the deposit's base units (decimals aligned by the caller)


def match_amount_time(
    protocol: str,
    amount: int,
    timestamp: int,
    arrivals: Sequence[Arrival],
    *,
    window_s: int = DEFAULT_WINDOW_S,
    tolerance: Fraction = DEFAULT_TOLERANCE,
) -> Resolution:
    """The one arrival within `window_s` after `timestamp` whose amount is within `tolerance` below `amount`."""
    in_window = [a for a in arrivals if timestamp <= a.timestamp <= timestamp + window_s]
    fits = [a for a in in_window if _fits(a.comparable_amount, amount, tolerance)]
    window_h = f"{window_s / 3600:g} h"
    if len(fits) > 1:
        hashes = ", ".join(sorted(a.out.tx_hash for a in fits))
        return _refuse(protocol, f"ambiguous: {len(fits)} arrivals fit amount and time ({hashes})")
    if len(fits) == 1:
        chosen = fits[0]
        return Resolution(
            protocol,
            RESOLVED,
            METHOD,
            CONFIDENCE,
            (chosen.out,),
            amount,
            (chosen.out.tx_hash,),
            note=f"matched by amount and time (within {window_h}, {_pct(tolerance)} below); a lead, not fact",
        )
    if in_window:
        return _refuse(
            protocol,
            f"amount out of tolerance: {len(in_window)} arrival(s) within {window_h}, none within "
            f"{_pct(tolerance)} below the {amount} deposited",
        )
    return _refuse(protocol, f"no match: no arrival within {window_h}")


def _fits(arrived: int, amount: int, tolerance: Fraction) -> bool:
    return arrived <= amount and (amount - arrived) * tolerance.denominator <= tolerance.numerator * amount


def _refuse(protocol: str, why: str) -> Resolution:
    return Resolution(protocol, UNRESOLVED, METHOD, 0.0, note=why)


def _pct(share: Fraction) -> str:
    return f"{float(share) * 100:g} %"
