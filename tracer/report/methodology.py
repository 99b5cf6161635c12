"""The methodology part of the case file: policy and parameters, sources, block heights, response hashes,
label sources and the software used, read from summary.json and manifest.json (whatever their extra keys)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from importlib import resources
from typing import Any

from tracer.report.casefile import CaseFile

POLICY_TEXT = {
    "poison": "Poison: any transfer out of an address that holds taint is tainted in full (an upper bound).",
    "haircut": "Haircut: every transfer out carries the holder's tainted fraction of its balance (proportional).",
    "fifo": "FIFO: coins leave in the order they arrived; taint leaves when the tainted lots are reached.",
    "lifo": "LIFO: the most recently received coins leave first.",
    "tiho": "TIHO (taint in, highest out): the taint held fills the largest outflows of a transaction first.",
}
HASH_LIST_LIMIT = 2_000
_HASH_KEYS = ("responses", "raw_responses", "response_hashes", "hashes")
_SOURCE_KEYS = ("sources", "data_sources")
_HEIGHT_KEYS = ("block_heights", "blocks", "heights")


@dataclass
class Methodology:
    policy: str
    policy_text: str
    parameters: dict[str, Any]
    sources: list[dict[str, Any]]
    heights: dict[str, Any]
    hashes: list[str]
    hashes_digest: str
    label_sources: list[tuple[str, int]]
    software: list[str]
    other: dict[str, Any] = field(default_factory=dict)


def _find(manifest: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if key in manifest:
            return key, manifest[key]
    return None, None


def _hashes(value: Any) -> list[str]:
    """Every sha256-looking string inside a manifest value (list of strings, of objects, or a mapping)."""
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, str):
            if len(item) >= 32 and all(c in "0123456789abcdefABCDEF" for c in item.removeprefix("sha256:")):
                found.append(item)
        elif isinstance(item, dict):
            for key in sorted(item):
                walk(key if isinstance(key, str) and len(key) >= 32 else None)
                walk(item[key])
        elif isinstance(item, list):
            for sub in item:
                walk(sub)

    walk(value)
    return sorted(set(found))


def read_methodology(case: CaseFile) -> Methodology:
    b = case.bundle
    manifest = b.manifest
    used: set[str] = set()
    params = b.summary.get("parameters") or b.summary.get("trace") or {}
    parameters = dict(sorted(params.items())) if isinstance(params, dict) else {"parameters": params}
    key, raw_sources = _find(manifest, _SOURCE_KEYS)
    used.add(key or "")
    if isinstance(raw_sources, dict):
        sources = [
            {"chain": k, **(v if isinstance(v, dict) else {"source": v})} for k, v in sorted(raw_sources.items())
        ]
    elif isinstance(raw_sources, list):
        sources = [s if isinstance(s, dict) else {"source": s} for s in raw_sources]
    else:
        sources = []
    key, heights = _find(manifest, _HEIGHT_KEYS)
    used.add(key or "")
    key, raw_hashes = _find(manifest, _HASH_KEYS)
    used.add(key or "")
    hashes = _hashes(raw_hashes)
    digest = hashlib.sha256("\n".join(hashes).encode()).hexdigest() if hashes else ""
    per_source = Counter()
    for view in case.views.values():
        if view.label_source:
            per_source[view.label_source] += 1
    software = [f"heisttrace {manifest.get('tool_version') or manifest.get('version') or '(version not recorded)'}"]
    try:
        vendored = json.loads(resources.files("tracer.report").joinpath("vendor", "VENDORED.json").read_text())
        software += [
            f"{v['name']} {v['version']} ({v['license']}), inlined for the interactive graph" for v in vendored
        ]
    except (FileNotFoundError, ValueError, KeyError):
        pass
    used |= {"tool_version", "version"}  # shown under Software
    other = {k: v for k, v in sorted(manifest.items()) if k not in used}
    return Methodology(
        policy=b.policy,
        policy_text=POLICY_TEXT.get(b.policy, ""),
        parameters=parameters,
        sources=sources,
        heights=dict(sorted(heights.items())) if isinstance(heights, dict) else {},
        hashes=hashes,
        hashes_digest=digest,
        label_sources=sorted(per_source.items(), key=lambda kv: (-kv[1], kv[0])),
        software=software,
        other=other,
    )


def _e(value: object) -> str:
    return escape(value if isinstance(value, str) else json.dumps(value, sort_keys=True), quote=True)


def _kv_table(rows: dict[str, Any]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td class=mono>{_e(v)}</td></tr>" for k, v in rows.items())
    return f"<table><tbody>{body}</tbody></table>" if body else "<p class=note>none recorded</p>"


def methodology_html(case: CaseFile) -> str:
    m = read_methodology(case)
    source_cols = sorted({k for s in m.sources for k in s})
    source_rows = "".join(
        "<tr>" + "".join(f"<td class=mono>{_e(s.get(c, ''))}</td>" for c in source_cols) + "</tr>" for s in m.sources
    )
    sources = (
        f"<table><thead><tr>{''.join(f'<th>{_e(c)}</th>' for c in source_cols)}</tr></thead>"
        f"<tbody>{source_rows}</tbody></table>"
        if m.sources
        else "<p class=note>none recorded</p>"
    )
    shown = m.hashes[:HASH_LIST_LIMIT]
    more = (
        f"<p class=note>… {len(m.hashes) - len(shown):,} more in manifest.json.</p>"
        if len(m.hashes) > len(shown)
        else ""
    )
    hashes = (
        f"<p>{len(m.hashes):,} raw responses were used; SHA-256 of their sorted hashes (one per line): "
        f"<code>{_e(m.hashes_digest)}</code></p><details><summary>Response hashes</summary>"
        f'<div class="mono cols">{"<br>".join(_e(h) for h in shown)}</div>{more}</details>'
        if m.hashes
        else "<p class=note>The manifest records no response hashes.</p>"
    )
    labels = "".join(f"<tr><td>{_e(s)}</td><td class=num>{n:,}</td></tr>" for s, n in m.label_sources)
    other = f"<h3>Other manifest entries</h3>{_kv_table(m.other)}" if m.other else ""
    return (
        '<section id="methodology"><h2>Methodology</h2>'
        f"<h3>Taint policy: {_e(m.policy)}</h3><p>{_e(m.policy_text)}</p>"
        "<p>Amounts are tracked as exact integers in each asset's base units and written as exact decimals. "
        "Value stops at endpoints (services that can be asked to freeze or identify); swaps carry the tainted "
        "fraction into the received asset; flows below the threshold are not followed.</p>"
        f"<h3>Parameters</h3>{_kv_table(m.parameters)}"
        f"{decisions_html(case.bundle.summary.get('decisions') or [])}"
        f"<h3>Data sources</h3>{sources}"
        f"<h3>Block heights read</h3>{_kv_table(m.heights)}"
        f"<h3>Raw responses</h3>{hashes}"
        "<h3>Label sources</h3><table><thead><tr><th>source</th><th class=num>addresses</th></tr></thead>"
        f"<tbody>{labels}</tbody></table>"
        f"<h3>Software</h3><ul>{''.join(f'<li>{_e(s)}</li>' for s in m.software)}</ul>{other}"
        "</section>"
    )


def decisions_html(decisions: list[dict[str, Any]]) -> str:
    """The analyst's case-file decisions, each with its reason (empty when there are none)."""
    if not decisions:
        return ""
    rows = "".join(
        f"<tr><td>{_e(d.get('chain', ''))}</td><td class=mono>{_e(d.get('address', ''))}</td>"
        f"<td>{_e(d.get('action', ''))}{_e(_endpoint_words(d))}"
        f"</td><td>{_e(d.get('reason', ''))}</td></tr>"
        for d in decisions
    )
    return (
        "<h3>Analyst decisions</h3><p>Applied by the engine as the case file states them: endpoint (stop there as "
        "that service), follow (expand although service-like), thief (thief-controlled, like a thief seed), exclude "
        "(not part of the laundering; its taint is counted as excluded).</p>"
        "<table><thead><tr><th>chain</th><th>address</th><th>decision</th><th>reason</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _endpoint_words(decision: dict[str, Any]) -> str:
    return f" as {decision['category']} {decision.get('label', '')}" if decision.get("category") else ""
