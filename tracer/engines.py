"""The one engine interface, and one trace of a plan across chain families.

Both chain families implement :class:`ChainEngine` (:class:`tracer.account.run.AccountTrace`,
:class:`tracer.utxo.run.UtxoTrace`): `run()` starts from the seeds and expands to the end,
resuming a checkpoint and checkpointing on the way; `result()` gives the tables;
`evidence_keys()` names what the raw responses behind it mention. :func:`run_plan` runs one
engine per family present in the seeds and merges their tables into one bundle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from tracer.bundle.activity import mark_no_activity
from tracer.bundle.merge import merge_results
from tracer.bundle.result import TraceResult, seed_entries
from tracer.cases.plan import TracePlan
from tracer.core.errors import BadInput
from tracer.core.networks import ACCOUNT_KINDS, ChainKind
from tracer.core.protocols import LabelLookup, Progress
from tracer.crosschain.contracts import BridgeAwareHistory, BridgeLabels
from tracer.sources.evidence import collect_raw_responses
from tracer.sources.factory import Sources


class ChainEngine(Protocol):
    """What `tracer.trace` runs for each chain family of a case."""

    def run(self) -> None:
        """Start from the seeds and expand to the end or the budget (resuming a checkpoint)."""
        ...

    def result(self, *, manifest: dict[str, Any]) -> TraceResult:
        """The family's tables, summary and manifest (with `manifest` merged in)."""
        ...

    def evidence_keys(self, result: TraceResult) -> list[str]:
        """Addresses and transactions read (raw responses naming one are the evidence)."""
        ...


def make_engines(
    plan: TracePlan,
    sources: Sources,
    *,
    labels: LabelLookup | None,
    checkpoints: Any,
    progress: Callable[[Progress], None] | None,
) -> list[ChainEngine]:
    """One engine per chain family of the plan's seeds: the account chains first, then each UTXO chain."""
    engines: list[ChainEngine] = []
    if plan.chains_of(*ACCOUNT_KINDS) and sources.account is not None:
        from tracer.account.run import AccountTrace

        config = plan.config_for(*ACCOUNT_KINDS)
        engines.append(AccountTrace(config, sources.account, labels=labels, checkpoints=checkpoints, progress=progress))
    elif plan.chains_of(*ACCOUNT_KINDS):
        raise BadInput("the case has account-chain seeds but no account history source")
    for source in sources.utxo.values():
        from tracer.utxo.run import UtxoTrace

        engines.append(
            UtxoTrace(
                plan.config_for(ChainKind.UTXO), source, labels=labels, checkpoints=checkpoints, progress=progress
            )
        )
    return engines


def with_case_text(summary: dict[str, Any], *, title: str, notes: str) -> dict[str, Any]:
    """`summary` with the case's `title` and free-text `case_notes` right after its id."""
    head = {"case": summary.get("case"), "title": title or summary.get("case"), "case_notes": notes}
    return {**head, **{k: v for k, v in summary.items() if k not in head}}


def run_plan(
    plan: TracePlan,
    sources: Sources,
    *,
    labels: LabelLookup | None = None,
    store: Any = None,
    progress: Callable[[Progress], None] | None = None,
) -> TraceResult:
    """Trace `plan` with one engine per chain family and merge their tables into one result.

    With the case's `[crosschain] follow` on (the default), crossings through bridges are resolved and
    their destinations traced on (:mod:`tracer.crosschain.follow`), into the same result.
    """
    checkpoints = store if store is not None and hasattr(store, "write_checkpoint") else None
    follow = plan.crosschain.follow and plan.crosschain.max_crossings > 0
    # the bridges' own contracts are bridges even without a label (tracer.crosschain.contracts)
    labels = BridgeLabels(labels)

    def run_round(round_plan: TracePlan, round_sources: Sources) -> tuple[TraceResult, list[str]]:
        if round_sources.account is not None and not isinstance(round_sources.account, BridgeAwareHistory):
            round_sources = replace(round_sources, account=BridgeAwareHistory(round_sources.account, labels))
        engines = make_engines(round_plan, round_sources, labels=labels, checkpoints=checkpoints, progress=progress)
        manifest = {"case_file_sha256": plan.case_sha256, "sources": round_sources.describe()}
        results, keys = [], []
        for engine in engines:
            engine.run()
            result = engine.result(manifest=manifest)
            results.append(result)
            keys.extend(engine.evidence_keys(result))
        return merge_results(results, seeds=seed_entries(round_plan.config.seeds)), keys

    merged, keys = run_round(plan, sources)
    if follow:
        from tracer.crosschain.follow import follow_crossings
        from tracer.sources.factory import build_sources

        merged, more = follow_crossings(
            plan, merged, sources=sources, store=store, run_round=run_round, build_sources=build_sources
        )
        keys.extend(more)
    mark_no_activity(merged.summary, merged.manifest.get("block_heights") or {})
    _record_tip_times(merged, sources, store=store, pin_key=plan.config.case_id, offline=plan.offline)
    merged.summary = with_case_text(merged.summary, title=plan.title, notes=plan.notes)
    if store is not None and hasattr(store, "list_responses"):
        merged.manifest["raw_responses"] = collect_raw_responses(store, keys)
    return merged


def _record_tip_times(result: TraceResult, sources: Sources, *, store: Any, pin_key: str, offline: bool) -> None:
    """`tip_times` in the manifest: the pinned tips' block times (unmoved value is valued then)."""
    from tracer.sources.tip_times import pinned_tip_times, source_adapters

    heights = {str(k): int(v) for k, v in (result.manifest.get("block_heights") or {}).items()}
    times = pinned_tip_times(source_adapters(sources), heights, store=store, pin_key=pin_key, offline=offline)
    if times:
        result.manifest["tip_times"] = times
