"""The library entry points: `trace(case, ...)` and `compare_policies(case, policies, ...)`.

    from tracer import trace
    result = trace("case.toml", policy="fifo")
    result.summary["assets"]; result.flows; result.graph
    result.write("out/")

Sources, labels and the store default to what the case file and `HEISTTRACE_HOME` say;
tests and embedders pass their own (any :class:`tracer.core.protocols.HistoryProvider` and
:class:`tracer.core.protocols.LabelLookup`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

from tracer.account.engine import Engine, Progress
from tracer.account.result import build_result
from tracer.bundle.result import TraceResult
from tracer.cases.plan import SeedSpec, TraceConfig, Window
from tracer.core.errors import BadInput, SourceError
from tracer.core.models import Policy, Strategy
from tracer.core.protocols import HistoryProvider, LabelLookup
from tracer.sources.evidence import collect_raw_responses

#: The default frontier strategy (see bench/results/engine.json for the comparison).
DEFAULT_STRATEGY = Strategy.RANKED


def _policy(value: Any) -> Policy:
    try:
        return Policy(str(value).lower())
    except ValueError:
        raise BadInput(f"unknown policy {value!r}; expected one of: {', '.join(p.value for p in Policy)}") from None


def _strategy(value: Any) -> Strategy:
    try:
        return Strategy(str(value).lower())
    except ValueError:
        known = ", ".join(s.value for s in Strategy)
        raise BadInput(f"unknown strategy {value!r}; expected one of: {known}") from None


def _bound(bound: Any) -> tuple[int | None, int | None]:
    """(block, unix time) from a case TimeBound, an int block, or None."""
    if bound is None:
        return None, None
    if isinstance(bound, int):
        return bound, None
    block = getattr(bound, "block", None)
    ts = getattr(bound, "timestamp", None)
    if hasattr(ts, "timestamp"):  # a datetime
        ts = int(ts.timestamp())
    return block, ts


def _min_taint(value: Any) -> Fraction:
    if value is None:
        return Fraction(1, 10_000)
    try:
        result = Fraction(str(value)) if not isinstance(value, Fraction) else value
    except (ValueError, ZeroDivisionError):
        raise BadInput(f"min_taint {value!r} is not a number") from None
    if not 0 <= result <= 1:
        raise BadInput(f"min_taint {value} must be between 0 and 1")
    return result


def _attribution(value: Any) -> bool | None:
    """An `attribution=` override: True, False or None (the case's)."""
    if value is None or isinstance(value, bool):
        return value
    raise BadInput(f"attribution must be True, False or None (the case's), not {value!r}")


def config_from_case(
    case: Any,
    *,
    policy: Policy | str | None = None,
    strategy: Strategy | str | None = None,
    max_addresses: int | None = None,
    attribution: bool | None = None,
) -> TraceConfig:
    """The engine's config from a :class:`tracer.cases.case.Case` and command-line overrides.

    `attribution` (None: the case's `[trace] attribution`, default true) switches thief
    attribution by first funding (heuristics.attribution) on or off.
    """
    params = getattr(case, "trace", None) or getattr(case, "params", None)
    attribution = _attribution(attribution)
    if attribution is None:
        attribution = _attribution(getattr(params, "attribution", True))
    seeds = []
    for s in case.seeds:
        amount = getattr(s, "amount", None)
        seeds.append(
            SeedSpec(
                chain=str(getattr(s.chain, "slug", s.chain)),
                address=getattr(s, "address", None),
                tx=getattr(s, "tx", None),
                role=str(getattr(s, "role", "thief") or "thief"),
                label=getattr(s, "label", "") or "",
                amount=None if amount is None else str(amount),
                asset=getattr(s, "asset", None),
            )
        )
    decisions = tuple(getattr(case, "decisions", ()) or ())
    seeded = {(s.chain, s.address) for s in seeds}
    for d in decisions:  # an analyst's `thief` decision: thief-controlled, like a thief seed
        if d.action == "thief" and (d.chain, d.address) not in seeded:
            seeds.append(SeedSpec(chain=d.chain, address=d.address, role="thief", label="analyst decision"))
    if not seeds:
        raise BadInput("the case has no seeds")
    since_block, since_time = _bound(getattr(params, "since", None))
    until_block, until_time = _bound(getattr(params, "until", None))
    budget = max_addresses if max_addresses is not None else getattr(params, "max_addresses", 3000)
    if budget is not None and budget < 1:
        raise BadInput(f"max_addresses must be at least 1, not {budget}")
    return TraceConfig(
        case_id=str(getattr(case, "id", None) or getattr(case, "case_id", "case")),
        seeds=tuple(seeds),
        policy=_policy(policy or getattr(params, "policy", None) or Policy.HAIRCUT),
        strategy=_strategy(strategy or DEFAULT_STRATEGY),
        window=Window(since_block, since_time, until_block, until_time),
        max_hops=getattr(params, "max_hops", 25),
        min_taint=_min_taint(getattr(params, "min_taint", None)),
        max_addresses=budget,
        attribution=bool(attribution),
        decisions=decisions,
    )


def _read_case(case: Any) -> tuple[Any, str | None]:
    if isinstance(case, str | os.PathLike):
        from tracer.cases.case import read_case

        path = Path(case)
        return read_case(path), hashlib.sha256(path.read_bytes()).hexdigest()
    return case, getattr(case, "sha256", None)


def _default_store() -> Any:
    from tracer.environment import default_home
    from tracer.store import Store

    home = default_home()
    home.mkdir(parents=True, exist_ok=True)
    return Store.open(home / "store.sqlite3")


def _default_labels(store: Any) -> LabelLookup | None:
    """The bundled label book plus the store's user labels (None while tracer.labels.book is absent)."""
    if importlib.util.find_spec("tracer.labels.book") is None:
        return None
    from tracer.labels.book import load_labels

    return load_labels(store=store)


def _default_history(
    case: Any,
    store: Any,
    *,
    offline: bool,
    api_url: str | None,
    rpc_url: str | None,
    source: str | None,
    api_key: str | None,
) -> HistoryProvider:
    """A HistoryService over the adapters the case (or the command line) names."""
    if importlib.util.find_spec("tracer.sources.history") is None:
        raise SourceError("no history service is installed (tracer.sources.history)")
    from tracer.core.networks import get_chain
    from tracer.sources.history import HistoryService

    adapters: dict[str, Any] = {}
    for slug in dict.fromkeys(str(getattr(seed.chain, "slug", seed.chain)) for seed in case.seeds):
        spec = case.source_for(slug) if hasattr(case, "source_for") else None
        kind = source or getattr(spec, "kind", None) or "etherscan"
        url = getattr(spec, "url", None) if getattr(spec, "kind", None) == kind else None
        if kind == "etherscan":
            from chains.etherscan import EtherscanAdapter

            key = api_key or os.environ.get("ETHERSCAN_API_KEY") or None
            options: dict[str, Any] = {"api_key": key, "archive": store}
            if api_url or url:
                options["base_url"] = api_url or url
            adapters[slug] = EtherscanAdapter(**options)
        elif kind == "rpc":
            from chains.rpc import RpcAdapter

            endpoint = rpc_url or url
            if not endpoint:
                raise BadInput(f"{slug}: the rpc source needs a URL (--rpc-url or url = ... in the case file)")
            adapters[slug] = RpcAdapter(url=endpoint, expected_chain=get_chain(slug), archive=store)
        else:
            raise BadInput(f"{slug}: source kind {kind!r} cannot serve the account-chain engine")
    return HistoryService(store, adapters, offline=offline, pin_key=str(getattr(case, "id", "case")))


def _describe_sources(history: Any) -> dict[str, Any]:
    """Per chain: source kind and URL (adapters keep keys out of their URLs)."""
    adapters = getattr(history, "adapters", None)
    if not isinstance(adapters, dict):
        return {"history": type(history).__name__}
    out = {}
    for slug, adapter in sorted(adapters.items()):
        url = getattr(adapter, "base_url", None) or getattr(adapter, "url", None)
        out[slug] = {"kind": getattr(adapter, "source", type(adapter).__name__), "url": _redact(url)}
    return out


def _redact(url: Any) -> Any:
    if not isinstance(url, str):
        return url
    import re

    return re.sub(r"(?i)(apikey|api_key|key|token)=[^&]*", r"\1=REDACTED", url)


def _is_utxo_case(case: Any) -> bool:
    if importlib.util.find_spec("tracer.utxo.engine") is None:
        return False
    from tracer.utxo.engine import is_utxo_case

    return is_utxo_case(case)


def trace(
    case: Any,
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
) -> TraceResult:
    """Trace a case (a `Case` or a path to its TOML file) and return the result.

    `attribution=False` traces value only (no first-funder attribution); None keeps the
    case's `[trace] attribution` (default true). Bitcoin cases have no attribution.
    Resumes from the store's checkpoint when an earlier identical trace was interrupted.
    """
    case, case_hash = _read_case(case)
    attribution = _attribution(attribution)
    if history is None and _is_utxo_case(case):
        from tracer.utxo.engine import trace_utxo_case

        if store is None:
            store = _default_store()
        return trace_utxo_case(
            case,
            policy=policy,
            store=store,
            labels=labels if labels is not None else _default_labels(store),
            offline=offline,
            api_url=api_url,
            max_addresses=max_addresses,
            case_sha256=case_hash,
        )
    config = config_from_case(
        case, policy=policy, strategy=strategy, max_addresses=max_addresses, attribution=attribution
    )
    if history is None:
        store = store if store is not None else _default_store()
        history = _default_history(
            case, store, offline=offline, api_url=api_url, rpc_url=rpc_url, source=source, api_key=api_key
        )
    if labels is None:
        labels = _default_labels(store)
    checkpoints = store if store is not None and hasattr(store, "write_checkpoint") else None
    engine = Engine(config, history=history, labels=labels, checkpoints=checkpoints, progress=progress)
    state = engine.run()
    manifest: dict[str, Any] = {"case_file_sha256": case_hash, "sources": _describe_sources(history)}
    describe = getattr(history, "manifest", None)
    if callable(describe):
        manifest.update(describe())
    result = build_result(state, manifest=manifest)
    if store is not None and hasattr(store, "list_responses"):
        read = result.addresses.filter(result.addresses["role"] != "below-threshold")["address"].to_list()
        seeds_tx = [seed.tx for seed in case.seeds if getattr(seed, "tx", None)]
        result.manifest["raw_responses"] = collect_raw_responses(store, [*read, *seeds_tx])
    return result


def compare_policies(
    case: Any,
    policies: Iterable[Policy | str],
    *,
    out: str | Path | None = None,
    case_sha256: str | None = None,
    attribution: bool | None = None,
    **options: Any,
) -> dict[str, TraceResult]:
    """Trace the case once per policy; with `out`, write each bundle to `out/<policy>/` and
    `out/comparison.json` (`{policy: summary}`). `attribution` and `options` are passed to :func:`trace`."""
    attribution = _attribution(attribution)
    case, case_hash = _read_case(case)
    case_hash = case_hash or case_sha256
    results: dict[str, TraceResult] = {}
    for p in policies:
        name = _policy(p).value
        results[name] = trace(case, policy=name, attribution=attribution, **options)
        if case_hash:
            results[name].manifest["case_file_sha256"] = case_hash
    if out is not None:
        root = Path(out)
        root.mkdir(parents=True, exist_ok=True)
        for name, result in results.items():
            result.write(root / name)
        doc = {name: result.summary for name, result in results.items()}
        (root / "comparison.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return results
