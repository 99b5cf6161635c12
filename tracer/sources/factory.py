"""The one factory from a plan's source spec (per chain) to an adapter and the history services.

Every caller that reads a chain — `tracer.trace`, `heisttrace fetch`, the demo — builds its
adapters here. Each adapter archives its raw responses in the store (the evidence listed in
manifest.json); the account chains share one :class:`HistoryService`, each UTXO chain gets
a :class:`UtxoHistoryService`. Kinds come from :data:`tracer.sources.kinds.SOURCE_KINDS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tracer.cases.case import SourceSpec
from tracer.cases.plan import TracePlan
from tracer.core.errors import BadInput
from tracer.core.networks import ACCOUNT_KINDS, Chain, ChainKind, get_chain
from tracer.core.protocols import HistoryProvider
from tracer.core.redact import describe_url
from tracer.sources.history import HistoryService
from tracer.sources.kinds import SOURCE_KINDS, check_kind
from tracer.sources.utxo_history import UtxoHistoryService


def _etherscan(chain: Chain, spec: SourceSpec, options: dict[str, Any]) -> Any:
    from chains.etherscan import EtherscanAdapter

    if spec.url:
        options["base_url"] = spec.url
    return EtherscanAdapter(**options)


def _rpc(chain: Chain, spec: SourceSpec, options: dict[str, Any]) -> Any:
    from chains.rpc import RpcAdapter

    if not spec.url:
        raise BadInput(f"{chain.slug}: the rpc source needs a URL (--rpc-url or url = ... in the case file)")
    options.pop("api_key", None)
    return RpcAdapter(url=spec.url, expected_chain=chain, **options)


def _esplora(chain: Chain, spec: SourceSpec, options: dict[str, Any]) -> Any:
    from chains.esplora import EsploraAdapter

    options.pop("api_key", None)
    return EsploraAdapter(url=spec.url, **options)


def _tron(chain: Chain, spec: SourceSpec, options: dict[str, Any]) -> Any:
    from chains.tron import TronGridAdapter

    options["api_key"] = os.environ.get("TRONGRID_API_KEY") or None  # TronGrid's own key, never Etherscan's
    return TronGridAdapter(url=spec.url, **options)


def _export(chain: Chain, spec: SourceSpec, options: dict[str, Any]) -> Any:
    if not spec.path:
        raise BadInput(
            f'{chain.slug}: the export source needs a folder ({chain.slug} = {{ kind = "export", path = "DIR" }})'
        )
    if chain.kind is ChainKind.UTXO:
        from chains.export.utxo import ExportUtxoAdapter

        return ExportUtxoAdapter(path=spec.path)
    from chains.export.evm import ExportAdapter

    return ExportAdapter(path=spec.path)


#: One builder per kind of :data:`tracer.sources.kinds.SOURCE_KINDS` (a test checks they match).
BUILDERS: dict[str, Callable[[Chain, SourceSpec, dict[str, Any]], Any]] = {
    "etherscan": _etherscan,
    "rpc": _rpc,
    "esplora": _esplora,
    "tron": _tron,
    "export": _export,
}


def build_adapter(
    chain: str | Chain,
    spec: SourceSpec,
    *,
    store: Any = None,
    api_key: str | None = None,
) -> Any:
    """The adapter of `spec` for `chain`, archiving raw responses in `store` (BadInput for an unusable kind)."""
    chain = chain if isinstance(chain, Chain) else get_chain(chain)
    check_kind(chain.slug, chain.kind, spec.kind)
    options: dict[str, Any] = {"archive": store, "api_key": api_key}
    if spec.rate is not None:
        options["rate_per_s"] = spec.rate
    share_rate_budget(store)
    return BUILDERS[spec.kind](chain, spec, options)


def share_rate_budget(store: Any) -> None:
    """Share request budgets with other processes using the same store (and key): see tracer.store.ratebudget."""
    from chains.ratelimit import LIMITERS
    from tracer.store.ratebudget import RateBudget, budget_path

    path = getattr(store, "path", None)
    if path is None:
        return
    current = LIMITERS.shared
    if isinstance(current, RateBudget):
        if current.path == budget_path(path):
            return
        current.close()
    LIMITERS.share_through(RateBudget(budget_path(path)))


@dataclass
class Sources:
    """The history services of one trace: one for the account chains, one per UTXO chain."""

    account: HistoryProvider | None = None
    utxo: dict[str, UtxoHistoryService] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        account = int(self.account.requests) if self.account is not None else 0
        return account + sum(s.requests for s in self.utxo.values())

    def describe(self) -> dict[str, Any]:
        """manifest.json `sources`: per chain, the source kind and its URL (keys redacted)."""
        adapters: dict[str, Any] = dict(getattr(self.account, "adapters", None) or {})
        if self.account is not None and not adapters:
            return {"history": type(self.account).__name__}
        adapters.update({chain: service.adapter for chain, service in self.utxo.items()})
        out = {}
        for slug, adapter in sorted(adapters.items()):
            url = getattr(adapter, "base_url", None) or getattr(adapter, "url", None)
            kind = getattr(adapter, "source", type(adapter).__name__)
            if isinstance(url, str):
                out[slug] = {"kind": kind, **describe_url(url)}
            elif isinstance(getattr(adapter, "path", None), str):  # a local export folder
                out[slug] = {"kind": kind, "path": adapter.path}
            else:
                out[slug] = {"kind": kind, "url": url}
        return out


def build_sources(
    plan: TracePlan,
    store: Any,
    *,
    account: HistoryProvider | None = None,
    utxo_adapters: Mapping[str, Any] | None = None,
) -> Sources:
    """The history services for every seed chain of `plan` (`account`: a ready account history instead)."""
    offline = plan.offline
    if account is None and plan.chains_of(*ACCOUNT_KINDS):
        key = plan.api_key or os.environ.get("ETHERSCAN_API_KEY") or None
        adapters = {
            chain: build_adapter(chain, plan.sources[chain], store=store, api_key=key)
            for chain in plan.chains_of(*ACCOUNT_KINDS)
        }
        account = HistoryService(store, adapters, offline=offline, pin_key=plan.config.case_id)
    utxo = {}
    for chain in plan.chains_of(ChainKind.UTXO):
        adapter = (utxo_adapters or {}).get(chain)
        if adapter is None and not offline:
            adapter = build_adapter(chain, plan.sources[chain], store=store)
        utxo[chain] = UtxoHistoryService(adapter, store, chain=chain, offline=offline)
    for chain in plan.chains:
        kind = get_chain(chain).kind
        if kind not in (*ACCOUNT_KINDS, ChainKind.UTXO):
            raise BadInput(f"{chain}: no engine traces {kind.value} chains yet")
    return Sources(account=account, utxo=utxo)


__all__ = ["BUILDERS", "SOURCE_KINDS", "Sources", "build_adapter", "build_sources"]
