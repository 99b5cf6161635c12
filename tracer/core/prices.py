"""Price records shared by price adapters (chains/) and the valuation pass (tracer.valuation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PricePoint:
    """One USD price of a whole unit of an asset, as the source gave it, at `time` (unix seconds, UTC)."""

    time: int
    usd: Decimal


@dataclass(frozen=True, slots=True)
class PriceAnswer:
    """What one price request returned: its points and the evidence (sha256 and redacted URL of the raw body)."""

    points: tuple[PricePoint, ...]
    sha256: str
    url: str
    requests: int = 1
    notes: tuple[str, ...] = field(default=())
    #: the time span the answer vouches for (asked range; for a Chainlink round, updatedAt..block time)
    since: int | None = None
    until: int | None = None


class PriceSeriesSource(Protocol):
    """A source of price points over a time range for one source-specific id."""

    name: str

    def series(self, price_id: str, *, since: int, until: int) -> list[PriceAnswer]: ...
