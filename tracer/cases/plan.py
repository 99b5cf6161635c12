"""The typed trace plan: seeds, window and the parameters that decide a trace's answer."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction

from tracer.cases.decisions import Decision
from tracer.core.models import Policy, Strategy, Transfer


@dataclass(frozen=True, slots=True)
class Window:
    """The trace window; a bound is a block or a unix timestamp (or absent)."""

    since_block: int | None = None
    since_time: int | None = None
    until_block: int | None = None
    until_time: int | None = None

    def started(self, transfer: Transfer) -> bool:
        """True when `transfer` is at or after `since` (taint may start or move)."""
        if self.since_block is not None and transfer.block < self.since_block:
            return False
        return not (self.since_time is not None and transfer.timestamp < self.since_time)

    def ended(self, transfer: Transfer) -> bool:
        """True when `transfer` is after `until` (outside the trace)."""
        if self.until_block is not None and transfer.block > self.until_block:
            return True
        return self.until_time is not None and transfer.timestamp > self.until_time


@dataclass(frozen=True, slots=True)
class SeedSpec:
    """One seed: an address (thief or victim) or a theft transaction."""

    chain: str
    address: str | None = None
    tx: str | None = None
    role: str = "thief"  # thief | victim
    label: str = ""
    amount: str | None = None  # decimal in the asset's unit
    asset: str | None = None  # symbol or token contract


@dataclass(frozen=True, slots=True)
class TraceConfig:
    """Everything that decides a trace's answer."""

    case_id: str
    seeds: tuple[SeedSpec, ...]
    policy: Policy = Policy.HAIRCUT
    strategy: Strategy = Strategy.RANKED
    window: Window = field(default_factory=Window)
    max_hops: int | None = 25
    min_taint: Fraction = Fraction(1, 10_000)
    #: A transfer at least this share of which is stolen value is *material* (see `material_floor`).
    material_share: Fraction = Fraction(1, 2)
    #: An address that received a material transfer is expanded even below `min_taint`, down to this.
    material_floor: Fraction = Fraction(1, 1_000_000)
    max_addresses: int | None = 3000
    checkpoint_every: int = 25
    #: Treat fresh addresses first funded by the thief as thief-controlled (heuristics.attribution).
    attribution: bool = True
    #: The analyst's `[[decisions]]` (tracer.cases.decisions), applied by the engine.
    decisions: tuple[Decision, ...] = ()

    def fingerprint(self) -> str:
        """Hash of what decides the expansion order (not the budget: a larger budget continues)."""
        doc = {
            "case": self.case_id,
            "seeds": [[s.chain, s.address, s.tx, s.role, s.amount, s.asset] for s in self.seeds],
            "policy": str(self.policy),
            "strategy": str(self.strategy),
            "window": [
                self.window.since_block,
                self.window.since_time,
                self.window.until_block,
                self.window.until_time,
            ],
            "max_hops": self.max_hops,
            "min_taint": str(self.min_taint),
            "material": [str(self.material_share), str(self.material_floor)],
            "attribution": self.attribution,
        }
        if self.decisions:
            doc["decisions"] = [[d.chain, d.address, d.action, d.category, d.label] for d in self.decisions]
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
