"""The self-contained case file, report.html.

Everything is inlined (styles, the vendored cytoscape build, the page script, the data), a
Content-Security-Policy forbids any request and allows only the page's own scripts (by hash),
every string from a chain or label is HTML-escaped, and the JSON data block escapes `<`, `>`,
`&` and U+2028/9 so nothing can close the script element. No render time is written: the
same bundle renders to the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from decimal import Decimal
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from tracer.core.gaps import gap_text
from tracer.report.analysis import short_address
from tracer.report.bundle import LEDGER_FIELDS, ZERO
from tracer.report.casefile import CaseFile, category_totals
from tracer.report.clustering import clustering_html
from tracer.report.crossings import crossings_html
from tracer.report.fmt import (
    ATTRIBUTED_TEXT,
    ATTRIBUTION_RULE,
    REMAINDERS,
    amount,
    exact,
    share,
    short_hash,
    when,
)
from tracer.report.layout import address_url, graph_payload, tx_url
from tracer.report.methodology import methodology_html
from tracer.report.svg import color, sankey_svg, timeline_svg
from tracer.report.usd import UsdCells, usd_section_html

LEDGER_HEADINGS = {
    "stolen": "stolen",
    "swapped_in": "swapped in",
    "endpoints": "reached endpoints",
    "unmoved": "unmoved",
    "fees": "fees",
    "below_threshold": "below threshold",
    "unexplored": "unexplored",
    "swapped_out": "swapped out",
    "excluded": "excluded",
}
#: At most this many attributed addresses are listed (all of them are in summary.json).
ATTRIBUTED_LIMIT = 500


def e(value: object) -> str:
    """HTML-escape text and attribute values."""
    return escape(str(value), quote=True)


def script_json(data: Any) -> str:
    """JSON safe inside <script>: no `<`, `>`, `&`, U+2028 or U+2029 survive unescaped."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset_resource(*parts: str) -> str:
    return resources.files("tracer.report").joinpath(*parts).read_text(encoding="utf-8")


def _csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() + "'"


def _link(url: str, text: str, *, mono: bool = True) -> str:
    cls = ' class="mono"' if mono else ""
    if not url.startswith("https://"):
        return f"<span{cls}>{e(text)}</span>"
    return f'<a{cls} href="{e(url)}" rel="noopener noreferrer" target="_blank">{e(text)}</a>'


def _amounts(case: CaseFile, amounts: dict[str, Decimal]) -> str:
    return "<br>".join(
        f'<span title="{e(exact(v))}">{e(amount(v))} {e(case.bundle.symbol(a))}</span>' for a, v in amounts.items()
    )


def _name(case: CaseFile, key: tuple[str, str]) -> str:
    view = case.views.get(key)
    text = view.name if view else short_address(key[1])
    role = view.role if view else ""
    node = f"{key[0]}:{key[1]}"
    return f'<a href="#graph" data-node="{e(node)}" class="node-{e(role)}" title="{e(node)}">{e(text)}</a>'


# --------------------------------------------------------------------------- sections


def _header(case: CaseFile) -> str:
    b = case.bundle
    title = b.summary.get("title") or f"Case {b.case}"
    status = (
        '<span class="badge ok">complete</span>'
        if b.complete
        else '<span class="badge warn">incomplete: budget or offline gap</span>'
    )
    version = case.bundle.manifest.get("tool_version") or case.bundle.manifest.get("version") or ""
    limits = [gap_text(x) for key in ("gaps", "notes") for x in b.summary.get(key) or () if isinstance(x, str | dict)]
    notes = b.summary.get("case_notes")
    notes_html = f'<p class="case-notes">{e(notes)}</p>' if isinstance(notes, str) and notes else ""
    limits_html = '<ul class="limits">' + "".join(f"<li>{e(x)}</li>" for x in limits[:50]) + "</ul>" if limits else ""
    return (
        f'<header class="case"><h1>{e(title)}</h1><div class="meta">case <code>{e(b.case)}</code> · '
        f"policy <b>{e(b.policy)}</b> · {status} · written by heisttrace {e(version)}</div>"
        f"{notes_html}{limits_html}</header>"
    )


def _toc(case: CaseFile) -> str:
    items = [
        ("summary", "Summary"),
        ("balance", "Balance sheet"),
        ("graph", "Flow graph"),
        ("endpoints", "Endpoints"),
        ("paths", "Main paths"),
    ]
    if case.bundle.summary.get("crossings"):
        items.insert(2, ("crossings", "Crossings"))
    if _has_attribution(case):
        items.append(("attribution", "Thief-controlled addresses"))
    if case.bundle.clustered:
        items.append(("clustering", "Found by clustering"))
    items += [("timeline", "Timeline")]
    if case.bundle.comparison:
        items.append(("comparison", "Policies compared"))
    items.append(("methodology", "Methodology"))
    return '<nav class="toc">' + "".join(f'<a href="#{k}">{e(v)}</a>' for k, v in items) + "</nav>"


def _summary(case: CaseFile) -> str:
    b = case.bundle
    lines = []
    for key, info in b.assets.items():
        if info.total <= 0:
            continue
        reached = info.ledger["endpoints"]
        origin = f"{amount(info.ledger['stolen'])} {info.symbol} stolen" if info.ledger["stolen"] > 0 else ""
        if info.attributed > 0:
            origin += f" (plus {amount(info.attributed)} {info.symbol} {ATTRIBUTED_TEXT})"
        if info.ledger["swapped_in"] > 0:
            swapped = f"{amount(info.ledger['swapped_in'])} {info.symbol} received through swaps"
            origin = f"{origin} and {swapped}" if origin else swapped
        lines.append(
            f"<li><b>{e(info.symbol)}</b> <span class=note>({e(key)})</span>: {e(origin)}; "
            f"{e(amount(reached))} {e(info.symbol)} ({e(share(b.share(key, reached)))}) reached endpoints, "
            f"{e(amount(info.ledger['unmoved']))} stay unmoved, {e(amount(info.ledger['unexplored']))} unexplored."
            + ("" if info.balanced else ' <span class="bad">The balance sheet of this asset does not close.</span>')
            + "</li>"
        )
    counts = b.summary.get("counts") if isinstance(b.summary.get("counts"), dict) else {}
    facts = [
        f"{len(case.views):,} addresses received taint",
        f"{len({(f.chain, f.tx_hash) for f in b.flows}):,} transactions carried it",
        f"{len(case.endpoints):,} endpoints",
        f"{len(case.swaps):,} swaps",
        f"chains: {', '.join(sorted({k[0] for k in case.views}))}",
    ]
    facts += [f"{k.replace('_', ' ')}: {v}" for k, v in sorted(counts.items())]
    raw_notes = b.summary.get("notes") or []
    notes = "".join(f"<p>{e(n)}</p>" for n in (raw_notes if isinstance(raw_notes, list) else [raw_notes]))
    top = case.endpoints[:3]
    top_text = ""
    if top:
        names = "; ".join(f"{ep.label or short_address(ep.address)} ({ep.category}, {share(ep.share)})" for ep in top)
        top_text = f"<p>Largest endpoints: {e(names)}.</p>"
    return (
        f'<section id="summary"><h2>Case summary</h2>{notes}<ul>{"".join(lines)}</ul>{top_text}'
        f'<p class="note">{e(" · ".join(facts))}</p>'
        '<p class="note">Shares are fractions of everything an asset carried as taint (stolen + swapped in); '
        "amounts are shown rounded, the exact values are in the tooltips and in the bundle's CSV files.</p></section>"
    )


def _balance(case: CaseFile) -> str:
    b = case.bundle
    head = "".join(f'<th class="num">{e(LEDGER_HEADINGS[f])}</th>' for f in LEDGER_FIELDS)
    rows = []
    for key, info in b.assets.items():
        cells = "".join(
            f'<td class="num" title="{e(exact(info.ledger[f]))}">{e(amount(info.ledger[f]))}</td>'
            for f in LEDGER_FIELDS
        )
        check = '<td class="ok">yes</td>' if info.balanced else '<td class="bad">NO</td>'
        rows.append(f"<tr><td>{e(info.symbol)} <span class=note>{e(key)}</span></td>{cells}{check}</tr>")
    cat_rows = []
    for category, values in category_totals(b).items():
        for asset, value in values.items():
            cat_rows.append(
                f'<tr><td><i style="color:{color(category)}">■</i> {e(category)}</td><td>{e(b.symbol(asset))}</td>'
                f'<td class="num" title="{e(exact(value))}">{e(amount(value))}</td>'
                f'<td class="num">{e(share(b.share(asset, value)))}</td></tr>'
            )
    for field, title in REMAINDERS:
        for asset, info in b.assets.items():
            value = info.ledger.get(field, ZERO)
            if value > 0:
                cat_rows.append(
                    f'<tr><td class="note">{e(title)}</td><td>{e(info.symbol)}</td>'
                    f'<td class="num" title="{e(exact(value))}">{e(amount(value))}</td>'
                    f'<td class="num">{e(share(b.share(asset, value)))}</td></tr>'
                )
    sankeys = []
    for info in b.assets.values():
        svg = sankey_svg(b, info, case.endpoints)
        if svg:
            sankeys.append(
                f'<h3>{e(info.symbol)} <span class="note">{e(info.key)}</span></h3><div class="sankey">{svg}</div>'
            )
    return (
        '<section id="balance"><h2>Balance sheet</h2>'
        "<p>For every asset, stolen + swapped in = reached endpoints + unmoved + fees + below threshold + "
        "unexplored + swapped out; the last column checks that this holds exactly.</p>"
        f"<table><thead><tr><th>asset</th>{head}<th>closes</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        + _attributed_notes(case)
        + "".join(sankeys)
        + "<h3>By endpoint category</h3><table><thead><tr><th>where</th><th>asset</th>"
        f'<th class="num">amount</th><th class="num">share of asset</th></tr></thead><tbody>{"".join(cat_rows)}'
        "</tbody></table></section>"
    )


def _has_attribution(case: CaseFile) -> bool:
    b = case.bundle
    return bool(b.attributed) or any(info.attributed > 0 for info in b.assets.values())


def _attributed_notes(case: CaseFile) -> str:
    """Under the balance sheet: per asset, thief funds (what attributed addresses gained; not stolen), apart."""
    items = [
        f'<li>{e(info.symbol)} <span class="note">{e(info.key)}</span>: stolen '
        f'<span title="{e(exact(info.ledger["stolen"]))}">{e(amount(info.ledger["stolen"]))}</span>; plus '
        f'<span title="{e(exact(info.attributed))}">{e(amount(info.attributed))}</span> {e(info.symbol)} '
        f"{e(ATTRIBUTED_TEXT)}, of which "
        f'<span title="{e(exact(info.thief_funds_at_endpoints))}">{e(amount(info.thief_funds_at_endpoints))}</span> '
        f'{e(info.symbol)} reached endpoints · <a href="#attribution">the addresses</a></li>'
        for info in case.bundle.assets.values()
        if info.attributed > 0
    ]
    return f'<ul class="attributed">{"".join(items)}</ul>' if items else ""


def _attribution(case: CaseFile) -> str:
    """The addresses first-funder attribution took as thief-controlled (nothing for older bundles)."""
    if not _has_attribution(case):
        return ""
    rows = []
    listed = case.bundle.attributed[:ATTRIBUTED_LIMIT]
    for row in listed:
        funder = case.views.get((row.chain, row.funded_by))
        funder_name = (
            f'<br><span class="note">{e(funder.name)}</span>'
            if funder is not None and funder.label and funder.name != row.funded_by
            else ""
        )
        funded_by = _link(address_url(row.chain, row.funded_by), row.funded_by) if row.funded_by else "—"
        tx = _link(tx_url(row.chain, row.tx_hash), short_hash(row.tx_hash)) if row.tx_hash else "—"
        rows.append(
            f"<tr><td>{e(row.chain)}</td><td>{_link(address_url(row.chain, row.address), row.address)}</td>"
            f"<td>{funded_by}{funder_name}</td><td>{tx}</td><td>{e(when(row.timestamp))}</td></tr>"
        )
    total = len(case.bundle.attributed)
    more = (
        f'<p class="note">… {total - len(listed):,} more in summary.json (attributed_addresses).</p>'
        if total > len(listed)
        else ""
    )
    table = (
        "<table><thead><tr><th>chain</th><th>address</th><th>funded by</th><th>funding transaction</th>"
        f"<th>time (UTC)</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"
        if rows
        else '<p class="note">The bundle lists no attributed addresses.</p>'
    )
    return (
        f'<section id="attribution"><h2>Thief-controlled addresses ({total:,})</h2>'
        f"<p>First-funder attribution. {e(ATTRIBUTION_RULE)} What these addresses gained after the theft is "
        "reported per asset as <i>thief funds</i>, apart from <i>stolen</i>; they carry the label "
        "&ldquo;thief-controlled&rdquo; (source heuristic:first-funder).</p>"
        f"{table}</section>"
    )


def _graph(note: str) -> str:
    legend = (
        '<div class="legend"><span><i class="seed" style="background:#d62728"></i>seed</span>'
        '<span><i class="transit" style="background:#b8c2cc"></i>transit</span>'
        '<span><i class="endpoint" style="background:#2ca02c"></i>endpoint (colour = category)</span>'
        '<span><i class="swapper"></i>address that swapped</span><span><i class="swap"></i>swap leg</span>'
        '<span><i class="transit" style="background:#eee;border-style:dashed"></i>outside the trace (e.g. victim)'
        "</span></div>"
    )
    return (
        '<section id="graph"><h2>Flow graph</h2>'
        "<p>Left to right by hop, one band per chain. Scroll to zoom, drag to pan, click an address or an edge "
        "for its details. Node size and edge width grow with the share of taint.</p>"
        '<div class="controls"><button type="button" id="graph-fit">fit</button>'
        '<button type="button" id="graph-in">zoom in</button><button type="button" id="graph-out">zoom out</button>'
        '<input id="graph-search" type="search" placeholder="find address or label" size="34"></div>'
        f"{legend}"
        + (f'<p class="note" id="graph-note">{e(note)}</p>' if note else "")
        + '<div class="graph-wrap"><div id="graph-canvas"></div>'
        '<aside id="details" aria-live="polite"><p class="note">Select an address or an edge.</p></aside>'
        "</div></section>"
    )


def _usd_td(cells: UsdCells, text: str) -> str:
    return f'<td class="num">{e(text)}</td>' if cells.on else ""


def _endpoints(case: CaseFile) -> str:
    rows = []
    usd = UsdCells(case.bundle)
    for index, ep in enumerate(case.endpoints, start=1):
        label = e(ep.label) if ep.label else '<span class="note">unnamed</span>'
        source = f'<br><span class="note">{e(ep.label_source)}</span>' if ep.label_source else ""
        rows.append(
            f'<tr><td class="num">{index}</td><td>{e(ep.chain)}</td>'
            f'<td><i style="color:{color(ep.category)}">■</i> {e(ep.category)}</td><td>{label}{source}</td>'
            f"<td>{_link(address_url(ep.chain, ep.address), ep.address)}</td>"
            f'<td class="num">{_amounts(case, ep.amounts)}</td>{_usd_td(usd, usd.endpoint(ep.chain, ep.address))}'
            f'<td class="num">{e(share(ep.share))}</td>'
            f"<td>{e(when(ep.first_tainted_at))}<br>"
            f"{_link(tx_url(ep.chain, ep.first_tx), short_hash(ep.first_tx))}</td></tr>"
        )
    return (
        f'<section id="endpoints"><h2>Endpoints ({len(case.endpoints):,})</h2>'
        "<p>Where followed value stopped: exchanges and their deposit addresses, instant exchangers, OTC desks, "
        "bridges, mixers, sanctioned and unknown services. Links open the chain's public explorer.</p>"
        '<table><thead><tr><th class="num">#</th><th>chain</th><th>category</th><th>label</th><th>address</th>'
        '<th class="num">received (tainted)</th>'
        + ('<th class="num">USD at arrival</th>' if usd.on else "")
        + '<th class="num">share</th><th>first tainted</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _paths(case: CaseFile) -> str:
    items = []
    usd = UsdCells(case.bundle)
    for path in case.paths:
        hops = []
        for hop in path.hops:
            txs = sorted({(f.chain, f.tx_hash) for f in hop.flows})
            links = ", ".join(_link(tx_url(c, t), short_hash(t)) for c, t in txs[:3])
            more = f" +{len(txs) - 3}" if len(txs) > 3 else ""
            amounts = "; ".join(f"{amount(v)} {case.bundle.symbol(a)}" for a, v in hop.amounts().items())
            value = usd.flows(hop.flows)
            amounts += f" ({value} at the time)" if value else ""
            hops.append(
                f"<li>{_name(case, hop.sender)} → {_name(case, hop.receiver)}: <b>{e(amounts)}</b> · "
                f"{e(when(hop.first_time))} · {links}{e(more)}</li>"
            )
        swaps = "".join(
            f'<li class="swapnote">swap at {e(short_address(s.address))} ({e(when(s.timestamp))}): '
            f"{e(amount(s.tainted_out))} {e(case.bundle.symbol(s.asset_out))} → {e(amount(s.tainted_in))} "
            f"{e(case.bundle.symbol(s.asset_in))} · {_link(tx_url(s.chain, s.tx_hash), short_hash(s.tx_hash))}</li>"
            for s in path.swaps
        )
        target = case.views.get(path.target)
        category = f" [{target.category}]" if target and target.category else ""
        assets = ", ".join(case.bundle.symbol(a) for a in path.assets)
        items.append(
            f"<li><b>{_name(case, path.source)} → {_name(case, path.target)}</b>{e(category)} · "
            f"{len(path.hops)} hops in time order · assets {e(assets)} · "
            f"{e(share(path.width))} of its asset's taint reached the endpoint · "
            f"{e(when(path.started))} → {e(when(path.arrived))}<ol class=hops>{''.join(hops)}</ol>"
            + (f"<ul>{swaps}</ul>" if swaps else "")
            + "</li>"
        )
    body = f'<ol class="path">{"".join(items)}</ol>' if items else "<p>No path from a seed reaches an endpoint.</p>"
    return (
        '<section id="paths"><h2>Main laundering paths</h2>'
        "<p>For each endpoint, the widest route from a seed (the one whose narrowest hop carried the largest share "
        "of taint). Each hop shows what flowed along this path in time order: what arrived over the hop before and "
        "left later over this one, never more; the path that carried the most to its endpoint first. Swap pools are "
        "not crossed: a swap converts taint at the swapper.</p>"
        f"{body}</section>"
    )


def _timeline(case: CaseFile) -> str:
    per_day: dict[str, dict[str, Decimal]] = {}
    for arrival in case.arrivals:
        day = per_day.setdefault(arrival.timestamp[:10], {})
        day[arrival.asset] = day.get(arrival.asset, ZERO) + arrival.amount
    usd = UsdCells(case.bundle)
    by_day = usd.per_day({(a.chain, a.address) for a in case.arrivals})
    rows = "".join(
        f"<tr><td>{e(day)}</td><td>{_amounts(case, dict(sorted(values.items())))}</td>"
        f"{_usd_td(usd, by_day.get(day, ''))}</tr>"
        for day, values in sorted(per_day.items())
    )
    svg = timeline_svg(case.bundle, case.arrivals)
    return (
        '<section id="timeline"><h2>Timeline</h2><p>Cumulative share of each asset\'s taint that reached endpoints.</p>'
        f'<div class="timeline">{svg}</div><details><summary>Per day ({len(per_day)} days)</summary>'
        "<table><thead><tr><th>day (UTC)</th><th>reached endpoints</th>"
        + ('<th class="num">USD at arrival</th>' if usd.on else "")
        + f"</tr></thead><tbody>{rows}</tbody></table>"
        "</details></section>"
    )


def _comparison(case: CaseFile) -> str:
    comparison = case.bundle.comparison
    if not comparison:
        return ""
    rows = []
    for policy in sorted(comparison):
        summary = comparison[policy]
        assets = summary.get("assets") if isinstance(summary.get("assets"), dict) else {}
        for key in sorted(assets):
            entry = assets[key] if isinstance(assets[key], dict) else {}
            cells = "".join(f'<td class="num">{e(_maybe_amount(entry.get(f)))}</td>' for f in LEDGER_FIELDS)
            mark = " ◀" if policy == case.bundle.policy else ""
            rows.append(
                f"<tr><td><b>{e(policy)}</b>{e(mark)}</td><td>{e(entry.get('symbol', key))} "
                f'<span class="note">{e(key)}</span></td>{cells}</tr>'
            )
    head = "".join(f'<th class="num">{e(LEDGER_HEADINGS[f])}</th>' for f in LEDGER_FIELDS)
    return (
        '<section id="comparison"><h2>Policies compared</h2>'
        "<p>The same case traced under several taint policies (◀ marks the policy of this report).</p>"
        f"<table><thead><tr><th>policy</th><th>asset</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</section>"
    )


def _maybe_amount(value: object) -> str:
    try:
        return amount(Decimal(str(value)))
    except ArithmeticError:
        return str(value) if value is not None else "—"


def render_html(case: CaseFile) -> str:
    """The report as one HTML string (deterministic for a given bundle)."""
    payload, note = graph_payload(case)
    data = {"case": case.bundle.case, "policy": case.bundle.policy, "graph": payload}
    library = _asset_resource("vendor", "cytoscape.min.js")
    app = _asset_resource("templates", "report.js")
    css = _asset_resource("templates", "report.css")
    csp = (
        f"default-src 'none'; script-src {_csp_hash(library)} {_csp_hash(app)}; style-src 'unsafe-inline'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    title = case.bundle.summary.get("title") or f"Case {case.bundle.case}"
    body = "".join(
        (
            _header(case),
            _toc(case),
            "<main>",
            _summary(case),
            _balance(case),
            crossings_html(case.bundle.summary),
            usd_section_html(case.bundle),
            _graph(note),
            _endpoints(case),
            _paths(case),
            _attribution(case),
            clustering_html(case.bundle.clustered),
            _timeline(case),
            _comparison(case),
            methodology_html(case),
            "</main>",
        )
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{e(csp)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{e(title)} — heisttrace case file</title><style>{css}</style></head><body>{body}"
        f'<script type="application/json" id="heisttrace-data">{script_json(data)}</script>'
        f"<script>{library}</script><script>{app}</script></body></html>\n"
    )


def write_html(case: CaseFile, out: Path) -> Path:
    out.write_text(render_html(case), encoding="utf-8")
    return out
