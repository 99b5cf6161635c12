"""The typed trace plan: a case with its overrides applied once (:func:`build_plan`), and the config
(seeds, window, parameters) that decides a trace's answer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tracer.cases.case import Case, SourceSpec, read_case
from tracer.cases.crosschain import CrosschainSpec
from tracer.cases.decisions import Decision
from tracer.cases.utxo_options import UtxoOptions
from tracer.core.errors import BadInput
from tracer.core.models import Policy, Strategy, Transfer
from tracer.core.networks import ChainKind, get_chain
from tracer.sources.kinds import kinds_for

#: The default frontier strategy (see bench/results/engine.json for the comparison).
DEFAULT_STRATEGY = Strategy.RANKED


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
    #: Bitcoin only: clustering and change detection.
    utxo: UtxoOptions = field(default_factory=UtxoOptions)

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
        if self.utxo != UtxoOptions():  # the defaults keep the fingerprints of earlier versions
            doc["utxo"] = self.utxo.doc()
        if self.decisions:
            doc["decisions"] = [[d.chain, d.address, d.action, d.category, d.label] for d in self.decisions]
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class TracePlan:
    """A case made ready to trace, once: the engine config, the source per seed chain, the case hash.

    Built by :func:`build_plan`, which applies every command-line or library override.
    """

    config: TraceConfig
    sources: Mapping[str, SourceSpec]  # seed chain -> source
    case_sha256: str | None = None
    offline: bool = False
    api_key: str | None = None  # the Etherscan key (never written anywhere)
    title: str = ""
    notes: str = ""  # the case's free-text notes
    #: the case's `[valuation]` table and file path (prices are chosen from them after the trace)
    valuation: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None
    #: following value across bridges (tracer.crosschain) and the case's `[source]` for every chain
    crosschain: CrosschainSpec = field(default_factory=CrosschainSpec)
    case_sources: Mapping[str, SourceSpec] = field(default_factory=dict)

    def source_for(self, chain: str) -> SourceSpec:
        """The source of any chain (a destination of a crossing too): the case's entry, else the kind's default."""
        spec = self.sources.get(chain) or self.case_sources.get(chain)
        if spec is not None:
            return spec
        kinds = kinds_for(get_chain(chain).kind)
        if not kinds:
            raise BadInput(f"{chain}: no source kind can read it yet")
        return SourceSpec(kinds[0])

    @property
    def chains(self) -> tuple[str, ...]:
        """The seed chains, in order of first appearance."""
        return tuple(dict.fromkeys(seed.chain for seed in self.config.seeds))

    def chains_of(self, *kinds: ChainKind) -> tuple[str, ...]:
        """The seed chains of the given kinds."""
        return tuple(c for c in self.chains if get_chain(c).kind in kinds)

    def config_for(self, *kinds: ChainKind) -> TraceConfig:
        """The config with only the seeds of the given chain kinds (all of them when the case has no other)."""
        seeds = tuple(s for s in self.config.seeds if get_chain(s.chain).kind in kinds)
        return self.config if len(seeds) == len(self.config.seeds) else replace(self.config, seeds=seeds)


def build_plan(
    case: Case | str | PathLike[str],
    *,
    policy: Policy | str | None = None,
    strategy: Strategy | str | None = None,
    max_addresses: int | None = None,
    attribution: bool | None = None,
    source: str | None = None,
    api_url: str | None = None,
    rpc_url: str | None = None,
    offline: bool = False,
    api_key: str | None = None,
    crosschain: bool | None = None,
    midgard_url: str | None = None,
    lifi_url: str | None = None,
    rate: float | None = None,
) -> TracePlan:
    """The plan of a case (or a case file path) with overrides applied, validated once.

    `attribution` (None: the case's `[trace] attribution`, default true) switches thief
    attribution by first funding on or off; `strategy` None is :data:`DEFAULT_STRATEGY`.
    `crosschain=False` stops at bridges; `midgard_url` / `lifi_url` replace the case's resolver URLs.
    """
    if isinstance(case, str | PathLike):
        case = read_case(Path(case))
    case = case.with_overrides(
        policy=policy,
        max_addresses=max_addresses,
        source_kind=source,
        api_url=api_url,
        rpc_url=rpc_url,
        attribution=attribution,
        rate=rate,
    )
    params = case.trace
    seeds = tuple(
        SeedSpec(
            chain=s.chain,
            address=s.address,
            tx=s.tx,
            role=s.role,
            label=s.label,
            amount=None if s.amount is None else str(s.amount),
            asset=s.asset,
        )
        for s in case.seeds
    )
    seeded = {(s.chain, s.address) for s in seeds}
    seeds += tuple(  # an analyst's `thief` decision: thief-controlled, like a thief seed
        SeedSpec(chain=d.chain, address=d.address, role="thief", label="analyst decision")
        for d in case.decisions
        if d.action == "thief" and (d.chain, d.address) not in seeded
    )
    since_block, since_time = params.since.block, params.since.timestamp
    until = params.until
    config = TraceConfig(
        case_id=case.id,
        seeds=seeds,
        policy=params.policy,
        strategy=_strategy(strategy),
        window=Window(since_block, since_time, until and until.block, until and until.timestamp),
        max_hops=params.max_hops,
        min_taint=params.min_taint,
        max_addresses=params.max_addresses,
        attribution=params.attribution,
        decisions=case.decisions,
        utxo=params.utxo,
    )
    sources = MappingProxyType({chain: case.source_for(chain) for chain in case.chains})
    return TracePlan(
        config,
        sources,
        case.sha256,
        offline=offline,
        api_key=api_key,
        title=case.title,
        notes=case.notes,
        valuation=case.valuation,
        path=case.path,
        crosschain=case.crosschain.with_overrides(follow=crosschain, midgard_url=midgard_url, lifi_url=lifi_url),
        case_sources=MappingProxyType(dict(case.sources)),
    )


def _strategy(value: Strategy | str | None) -> Strategy:
    if value is None:
        return DEFAULT_STRATEGY
    try:
        return Strategy(str(value).lower())
    except ValueError:
        known = ", ".join(s.value for s in Strategy)
        raise BadInput(f"unknown strategy {value!r}; expected one of: {known}") from None
