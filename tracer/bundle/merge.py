"""One bundle from the results of several chain families (a case with seeds on ethereum and bitcoin).

Each asset keeps its own closing balance sheet (asset keys are chain-prefixed, so they never
collide); tables are concatenated in the order the families ran; counts are summed; lists
(endpoints, gaps, notes, swaps, ...) are joined; the manifest lists every family's sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import polars as pl

from tracer.bundle.result import TraceResult

_SHARED = ("case", "policy", "complete", "parameters", "seeds")


def merge_results(results: Sequence[TraceResult], *, seeds: list[dict[str, Any]]) -> TraceResult:
    """The results of one trace's chain families as one result; one result is returned as is."""
    if len(results) == 1:
        return results[0]
    first = results[0]
    summary: dict[str, Any] = {
        "case": first.summary["case"],
        "policy": first.summary["policy"],
        "strategy": " + ".join(dict.fromkeys(str(r.summary["strategy"]) for r in results)),
        "complete": all(r.complete for r in results),
        "parameters": _union(r.summary["parameters"] for r in results),
        "seeds": seeds,
    }
    for result in results:
        for key, value in result.summary.items():
            if key in _SHARED or key == "strategy":
                continue
            summary[key] = _combine(summary[key], value) if key in summary else _copy(value)
    summary["assets"] = dict(sorted(summary["assets"].items()))
    manifest: dict[str, Any] = {}
    for result in results:
        for key, value in result.manifest.items():
            manifest[key] = _combine(manifest[key], value) if key in manifest and key != "strategy" else value
    manifest["strategy"] = summary["strategy"]
    graph = nx.MultiDiGraph()
    for result in results:
        graph = nx.compose(graph, result.graph)
    return TraceResult(
        summary=summary,
        flows=pl.concat([r.flows for r in results]),
        addresses=pl.concat([r.addresses for r in results]),
        endpoints=pl.concat([r.endpoints for r in results]),
        graph=graph,
        manifest=manifest,
        accounting=dict(sorted(_union(r.accounting for r in results).items())),
    )


def _union(docs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for doc in docs:
        for key, value in doc.items():
            out.setdefault(key, value)
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return list(value) if isinstance(value, list) else value


def _combine(old: Any, new: Any) -> Any:
    """Counts add up, lists join, tables merge key by key; otherwise the first value stays."""
    if isinstance(old, bool) or isinstance(new, bool):
        return old
    if isinstance(old, int) and isinstance(new, int):
        return old + new
    if isinstance(old, list) and isinstance(new, list):
        return [*old, *new]
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for key, value in new.items():
            out[key] = _combine(out[key], value) if key in out else _copy(value)
        return out
    return old
