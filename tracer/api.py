"""The library entry points: `trace(case, ...)` and `compare_policies(case, policies, ...)`.

    from tracer import trace
    result = trace("case.toml", policy="fifo")
    result.summary["assets"]; result.flows; result.graph
    result.write("out/")

`case` is a :class:`tracer.cases.case.Case`, a path to its TOML file, or a ready
:class:`tracer.cases.plan.TracePlan`. Sources, labels and the store default to what the case
file and `HEISTTRACE_HOME` say; tests and embedders pass their own (any
:class:`tracer.core.protocols.HistoryProvider` for the account chains and
:class:`tracer.core.protocols.LabelLookup`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tracer.bundle.result import TraceResult
from tracer.cases.case import Case
from tracer.cases.plan import DEFAULT_STRATEGY, TraceConfig, TracePlan, build_plan
from tracer.core.errors import BadInput
from tracer.core.models import Policy, Strategy
from tracer.core.networks import ChainKind
from tracer.core.protocols import HistoryProvider, LabelLookup, Progress

__all__ = ["DEFAULT_STRATEGY", "compare_policies", "config_from_case", "trace"]

CaseLike = Case | TracePlan | str | os.PathLike[str]


def _policy(value: Any) -> Policy:
    try:
        return Policy(str(value).lower())
    except ValueError:
        raise BadInput(f"unknown policy {value!r}; expected one of: {', '.join(p.value for p in Policy)}") from None


def _attribution(value: Any) -> bool | None:
    """An `attribution=` override: True, False or None (the case's)."""
    if value is None or isinstance(value, bool):
        return value
    raise BadInput(f"attribution must be True, False or None (the case's), not {value!r}")


def config_from_case(case: Case, **overrides: Any) -> TraceConfig:
    """The engine's config of a case with overrides (see :func:`tracer.cases.plan.build_plan`)."""
    if "attribution" in overrides:
        overrides["attribution"] = _attribution(overrides["attribution"])
    return build_plan(case, **overrides).config


def _default_store() -> Any:
    from tracer.environment import default_home
    from tracer.store import Store

    home = default_home()
    home.mkdir(parents=True, exist_ok=True)
    return Store.open(home / "store.sqlite3")


def _default_labels(store: Any) -> LabelLookup:
    """The bundled label book plus the store's user labels."""
    from tracer.labels.book import load_labels

    return load_labels(store=store)


def trace(
    case: CaseLike,
    *,
    policy: Policy | str | None = None,
    strategy: Strategy | str | None = None,
    history: HistoryProvider | None = None,
    labels: LabelLookup | None = None,
    store: Any = None,
    offline: bool = False,
    api_url: str | None = None,
    rpc_url: str | None = None,
    source: str | None = None,
    api_key: str | None = None,
    max_addresses: int | None = None,
    attribution: bool | None = None,
    progress: Callable[[Progress], None] | None = None,
    rate: float | None = None,
) -> TraceResult:
    """Trace a case (a `Case`, a path to its TOML file, or a `TracePlan`) and return the result.

    `attribution=False` traces value only (no first-funder attribution); None keeps the
    case's `[trace] attribution` (default true). Bitcoin seeds have no attribution. A case
    with seeds on account and UTXO chains runs one engine per family into one bundle.
    Resumes from the store's checkpoint when an earlier identical trace was interrupted.
    `history` replaces the account-chain history service (UTXO chains use the case's sources).
    `rate` sets every source's requests per second (as `--rate`).
    """
    from tracer.engines import run_plan
    from tracer.sources.factory import build_sources

    if isinstance(case, TracePlan):
        plan = case if policy is None else replace(case, config=replace(case.config, policy=_policy(policy)))
    else:
        plan = build_plan(
            case,
            policy=policy,
            strategy=strategy,
            max_addresses=max_addresses,
            attribution=_attribution(attribution),
            source=source,
            api_url=api_url,
            rpc_url=rpc_url,
            offline=offline,
            api_key=api_key,
            rate=rate,
        )
    if store is None and (history is None or plan.chains_of(ChainKind.UTXO)):
        store = _default_store()
    sources = build_sources(plan, store, account=history)
    if labels is None:
        labels = _default_labels(store)
    return run_plan(plan, sources, labels=labels, store=store, progress=progress)


def compare_policies(
    case: CaseLike,
    policies: Iterable[Policy | str],
    *,
    out: str | Path | None = None,
    case_sha256: str | None = None,
    attribution: bool | None = None,
    **options: Any,
) -> dict[str, TraceResult]:
    """Trace the case once per policy; with `out`, write each bundle to `out/<policy>/` and
    `out/comparison.json` (`{policy: summary}`). `attribution` and `options` are passed to :func:`trace`."""
    from tracer.cases.case import read_case

    attribution = _attribution(attribution)
    if isinstance(case, str | os.PathLike):
        case = read_case(Path(case))
    results: dict[str, TraceResult] = {}
    for p in policies:
        name = _policy(p).value
        results[name] = trace(case, policy=name, attribution=attribution, **options)
        if case_sha256 and not results[name].manifest.get("case_file_sha256"):
            results[name].manifest["case_file_sha256"] = case_sha256
    if out is not None:
        root = Path(out)
        root.mkdir(parents=True, exist_ok=True)
        for name, result in results.items():
            result.write(root / name)
        doc = {name: result.summary for name, result in results.items()}
        (root / "comparison.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return results
