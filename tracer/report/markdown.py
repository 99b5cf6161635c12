"""The case file as Markdown (for tickets, wikis and diffs): the same sections as the HTML, without the graph."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tracer.report.bundle import LEDGER_FIELDS, ZERO
from tracer.report.casefile import CaseFile, category_totals
from tracer.report.clustering import RULE as CLUSTER_RULE
from tracer.report.crossings import crossings_markdown
from tracer.report.fmt import ATTRIBUTION_RULE, REMAINDERS, amount, attributed_line, share, short_hash, when
from tracer.report.layout import address_url, tx_url
from tracer.report.methodology import read_methodology
from tracer.report.usd import UsdCells, usd_markdown

_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_{}[]<>()#+-.!|"})


def md(value: object) -> str:
    """Markdown-escape text from a chain or a label (markup, links and HTML show as text)."""
    return str(value).replace("\n", " ").translate(_SPECIAL)


def _link(url: str, text: str) -> str:
    return f"[{md(text)}](<{url}>)" if url.startswith("https://") and ">" not in url else md(text)


def _amounts(case: CaseFile, amounts: dict[str, Decimal]) -> str:
    return "; ".join(f"{md(amount(v))} {md(case.bundle.symbol(a))}" for a, v in amounts.items())


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *("| " + " | ".join(r) + " |" for r in rows)]


def render_markdown(case: CaseFile, *, endpoints: int = 50) -> str:
    b = case.bundle
    title = b.summary.get("title") or f"Case {b.case}"
    out = [
        f"# {md(title)}",
        "",
        f"Case `{md(b.case)}` · policy **{md(b.policy)}** · "
        + ("complete" if b.complete else "**incomplete** (budget or offline gap)"),
        "",
    ]
    if isinstance(b.summary.get("case_notes"), str) and b.summary["case_notes"]:
        out += [f"> {md(b.summary['case_notes'])}", ""]
    out += ["## Balance sheet", ""]
    rows = []
    for key, info in b.assets.items():
        rows.append(
            [
                f"{md(info.symbol)} ({md(key)})",
                *(md(amount(info.ledger[f])) for f in LEDGER_FIELDS),
                "yes" if info.balanced else "**NO**",
            ]
        )
    out += [*_table(["asset", *(f.replace("_", " ") for f in LEDGER_FIELDS), "closes"], rows), ""]
    out += [
        f"- {md(info.symbol)} ({md(key)}) stolen {md(amount(info.ledger['stolen']))}: "
        f"{md(attributed_line(info.attributed, info.symbol))}"
        for key, info in b.assets.items()
        if info.attributed > 0
    ]
    if any(info.attributed > 0 for info in b.assets.values()):
        out.append("")
    rows = []
    for category, values in category_totals(b).items():
        for asset, value in values.items():
            rows.append([md(category), f"{md(amount(value))} {md(b.symbol(asset))}", share(b.share(asset, value))])
    for field, name in REMAINDERS:
        for asset, info in b.assets.items():
            value = info.ledger.get(field, ZERO)
            if value > 0:
                rows.append([md(name), f"{md(amount(value))} {md(info.symbol)}", share(b.share(asset, value))])
    out += [*_table(["where", "amount", "share of asset"], rows), ""]
    usd = UsdCells(b)
    out += usd_markdown(b)
    out += crossings_markdown(b.summary)
    out += [f"## Endpoints ({len(case.endpoints)})", ""]
    rows = [
        [
            str(i),
            md(ep.chain),
            md(ep.category),
            md(ep.label or "unnamed"),
            _link(address_url(ep.chain, ep.address), ep.address),
            _amounts(case, ep.amounts),
            *([md(usd.endpoint(ep.chain, ep.address))] if usd.on else []),
            share(ep.share),
            md(when(ep.first_tainted_at)),
        ]
        for i, ep in enumerate(case.endpoints[:endpoints], start=1)
    ]
    head = ["#", "chain", "category", "label", "address", "received", *(["USD at arrival"] if usd.on else [])]
    out += _table([*head, "share", "first tainted"], rows)
    if len(case.endpoints) > endpoints:
        out.append(f"\n… {len(case.endpoints) - endpoints} more in endpoints.csv.")
    out += ["", "## Main laundering paths", ""]
    for index, path in enumerate(case.paths, start=1):
        names = [md(case.views[k].name) if k in case.views else md(k[1]) for k in path.nodes]
        out.append(
            f"{index}. **{' → '.join(names)}** · {len(path.hops)} hops in time order · "
            f"{share(path.width)} of its asset's taint reached the endpoint"
        )
        for hop in path.hops:
            first = hop.flows[0]
            value = usd.flows(hop.flows)
            out.append(
                f"   - {md(case.views[hop.sender].name)} → {md(case.views[hop.receiver].name)}: "
                f"{_amounts(case, hop.amounts())}{f' ({md(value)} at the time)' if value else ''} · "
                f"{md(when(hop.first_time))} · "
                f"{_link(tx_url(first.chain, first.tx_hash), first.tx_hash)}"
            )
        for swap in path.swaps:
            out.append(
                f"   - swap: {md(amount(swap.tainted_out))} {md(b.symbol(swap.asset_out))} → "
                f"{md(amount(swap.tainted_in))} {md(b.symbol(swap.asset_in))} "
                f"({_link(tx_url(swap.chain, swap.tx_hash), swap.tx_hash)})"
            )
    if b.attributed:
        out += ["", f"## Thief-controlled addresses ({len(b.attributed)})", "", md(ATTRIBUTION_RULE), ""]
        out += _table(
            ["chain", "address", "funded by", "funding transaction", "time"],
            [
                [
                    md(r.chain),
                    _link(address_url(r.chain, r.address), r.address),
                    _link(address_url(r.chain, r.funded_by), r.funded_by) if r.funded_by else "—",
                    _link(tx_url(r.chain, r.tx_hash), short_hash(r.tx_hash)) if r.tx_hash else "—",
                    md(when(r.timestamp)),
                ]
                for r in b.attributed
            ],
        )
    if b.clustered:
        out += ["", f"## Endpoints found by clustering ({len(b.clustered)})", "", md(CLUSTER_RULE), ""]
        out += _table(
            ["address", "inherited label", "co-spent with", "linking transactions", "tainted"],
            [
                [
                    _link(address_url(r.chain, r.address), r.address),
                    f"{md(r.category)}: {md(r.label)}",
                    _link(address_url(r.chain, r.service_address), r.service_address),
                    ", ".join(_link(tx_url(r.chain, t), short_hash(t)) for t in r.linked_by) or "—",
                    md(r.tainted_amount),
                ]
                for r in b.clustered
            ],
        )
    out += ["", "## Timeline (value reaching endpoints per day)", ""]
    per_day: dict[str, dict[str, Decimal]] = {}
    for arrival in case.arrivals:
        day = per_day.setdefault(arrival.timestamp[:10], {})
        day[arrival.asset] = day.get(arrival.asset, ZERO) + arrival.amount
    by_day = usd.per_day({(a.chain, a.address) for a in case.arrivals})
    out += _table(
        ["day", "reached endpoints", *(["USD at arrival"] if usd.on else [])],
        [
            [md(d), _amounts(case, dict(sorted(v.items()))), *([md(by_day.get(d, ""))] if usd.on else [])]
            for d, v in sorted(per_day.items())
        ],
    )
    if b.comparison:
        out += ["", "## Policies compared", ""]
        rows = []
        for policy in sorted(b.comparison):
            assets = b.comparison[policy].get("assets") or {}
            for key in sorted(assets):
                entry = assets[key]
                rows.append([md(policy), md(entry.get("symbol", key)), *(md(entry.get(f, "")) for f in LEDGER_FIELDS)])
        out += _table(["policy", "asset", *(f.replace("_", " ") for f in LEDGER_FIELDS)], rows)
    m = read_methodology(case)
    out += ["", "## Methodology", "", f"Policy **{md(m.policy)}**: {md(m.policy_text)}", ""]
    out += [f"- {md(k)}: `{md(v)}`" for k, v in m.parameters.items()]
    out += ["", "Data sources:", ""] + [
        f"- {md(', '.join(f'{k}={v}' for k, v in sorted(s.items())))}" for s in m.sources
    ]
    out += ["", "Block heights: " + md(", ".join(f"{k} {v}" for k, v in m.heights.items()) or "none recorded")]
    out += ["", f"Raw responses: {len(m.hashes)} (SHA-256 of the sorted list: `{m.hashes_digest or 'n/a'}`)"]
    out += ["", "Label sources: " + md(", ".join(f"{s} ({n})" for s, n in m.label_sources) or "none")]
    out += ["", "Software: " + md("; ".join(m.software)), ""]
    return "\n".join(out)


def write_markdown(case: CaseFile, out: Path) -> Path:
    out.write_text(render_markdown(case), encoding="utf-8")
    return out
