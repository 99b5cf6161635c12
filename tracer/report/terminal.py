"""Rich terminal views of a finished trace: case overview, paths, one address.

Every string that comes from a chain or a label is wrapped in `rich.text.Text`, so markup in a
token name or label is printed, never interpreted.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tracer.core.cells import terminal_safe
from tracer.report.analysis import AddressView, NodeKey, find_address, short_address
from tracer.report.bundle import LEDGER_FIELDS, ZERO
from tracer.report.casefile import CaseFile, category_totals
from tracer.report.clustering import clustering_line
from tracer.report.fmt import REMAINDERS, amount, attributed_line, share, short_hash, when
from tracer.report.paths import LaunderingPath, extract_paths
from tracer.report.usd import usd_balance_table, valued

LEDGER_TITLES = {
    "stolen": "stolen",
    "swapped_in": "swapped in",
    "endpoints": "→ endpoints",
    "unmoved": "unmoved",
    "fees": "fees",
    "below_threshold": "below thr.",
    "unexplored": "unexplored",
    "swapped_out": "swapped out",
    "excluded": "excluded",
}


def _t(value: str, style: str = "") -> Text:
    """Chain or label text, inert: markup printed, bidi overrides and control characters escaped."""
    return Text(terminal_safe(value), style=style)


def _amounts(case: CaseFile, amounts: dict[str, Decimal]) -> Text:
    return Text("; ".join(f"{amount(v)} {case.bundle.symbol(a)}" for a, v in amounts.items()))


def _name(case: CaseFile, key: NodeKey) -> Text:
    view = case.views.get(key)
    name = view.name if view else short_address(key[1])
    style = {"seed": "bold red", "endpoint": "bold green"}.get(view.role if view else "", "")
    return Text(name, style=style)


def balance_sheet(case: CaseFile) -> Table:
    """Stolen (+ swapped in) per asset and where it went; the last column checks the identity."""
    table = Table(title="Balance sheet (amounts in each asset's unit)", title_justify="left")
    table.add_column("asset")
    for name in LEDGER_FIELDS:
        table.add_column(LEDGER_TITLES[name], justify="right")
    table.add_column("closes", justify="center")
    for _key, info in case.bundle.assets.items():
        table.add_row(
            Text(f"{info.symbol} ({info.chain})"),
            *(_t(amount(info.ledger[name])) for name in LEDGER_FIELDS),
            _t("yes", "green") if info.balanced else _t("NO", "bold red"),
        )
    caption = attribution_note(case)
    if caption is not None:
        table.caption = caption
        table.caption_justify = "left"
    return table


def attribution_note(case: CaseFile) -> Text | None:
    """Per asset with thief funds: what thief-controlled addresses gained from elsewhere (not stolen), apart
    from stolen value; then how many addresses first-funder attribution found (None when there is nothing to say)."""
    b = case.bundle
    lines = [
        f"{info.symbol} ({info.chain}) stolen {amount(info.ledger['stolen'])}: "
        + attributed_line(info.attributed, info.symbol)
        for info in b.assets.values()
        if info.attributed > 0
    ]
    if b.attributed:
        count = len(b.attributed)
        lines.append(
            f"{count:,} address{'es' if count != 1 else ''} taken as thief-controlled because the thief funded "
            "them first (summary.json attributed_addresses)"
        )
    clustered = clustering_line(b.clustered)
    if clustered is not None:
        lines.append(clustered)
    return Text("\n".join(lines)) if lines else None


def endpoints_by_category(case: CaseFile) -> Table:
    table = Table(title="Where it went, by endpoint category", title_justify="left")
    table.add_column("category")
    table.add_column("amount")
    table.add_column("share of asset", justify="right")
    for category, values in category_totals(case.bundle).items():
        for asset, value in values.items():
            table.add_row(
                _t(category or "(none)"),
                _t(f"{amount(value)} {case.bundle.symbol(asset)}"),
                _t(share(case.bundle.share(asset, value))),
            )
    for field, title in REMAINDERS:
        for key, info in case.bundle.assets.items():
            value = info.ledger.get(field, ZERO)
            if value > 0:
                table.add_row(
                    _t(title, "dim"), _t(f"{amount(value)} {info.symbol}"), _t(share(case.bundle.share(key, value)))
                )
    return table


def endpoints_table(case: CaseFile, *, limit: int = 25) -> Table:
    total = len(case.endpoints)
    title = f"Endpoints ({total}; named first by share of the case" + (f", top {limit})" if total > limit else ")")
    table = Table(title=title, title_justify="left")
    for column in ("chain", "category", "label", "address", "received", "share", "first tainted"):
        table.add_column(column)
    for ep in case.endpoints[:limit]:
        table.add_row(
            _t(ep.chain),
            _t(ep.category),
            _t(ep.label or "—"),
            _t(ep.address),
            _amounts(case, ep.amounts),
            _t(share(ep.share)),
            _t(when(ep.first_tainted_at)),
        )
    return table


def path_panel(case: CaseFile, path: LaunderingPath, index: int) -> Panel:
    """One path: each hop with assets, amounts, transactions and times; swaps on the way."""
    table = Table(show_header=True, box=None, pad_edge=False)
    for column in ("#", "from", "to", "tainted", "txs", "time"):
        table.add_column(column)
    for n, hop in enumerate(path.hops, start=1):
        txs = sorted({f.tx_hash for f in hop.flows})
        tx_text = short_hash(txs[0]) + (f" +{len(txs) - 1}" if len(txs) > 1 else "")
        time_text = when(hop.first_time) + (f" … {when(hop.last_time)}" if hop.last_time != hop.first_time else "")
        table.add_row(
            _t(str(n)),
            _name(case, hop.sender),
            _name(case, hop.receiver),
            _amounts(case, hop.amounts()),
            _t(tx_text),
            _t(time_text),
        )
    parts: list = [table]
    for swap in path.swaps:
        parts.append(
            Text(
                f"swap at {short_address(swap.address)} in {short_hash(swap.tx_hash)} ({when(swap.timestamp)}): "
                f"{amount(swap.tainted_out)} {case.bundle.symbol(swap.asset_out)} → "
                f"{amount(swap.tainted_in)} {case.bundle.symbol(swap.asset_in)}",
                style="yellow",
            )
        )
    target = case.views.get(path.target)
    title = Text(f"Path {index}: ")
    title.append(_name(case, path.source))
    title.append(" → ")
    title.append(_name(case, path.target))
    if target and target.category:
        title.append(f" [{target.category}]")
    reached = share(path.width)
    title.append(f"  ·  {len(path.hops)} hops in time order  ·  {reached} of its asset's taint reached the endpoint")
    return Panel(Group(*parts), title=title, title_align="left")


def timeline_table(case: CaseFile) -> Table:
    """Value reaching endpoints per day, with each asset's cumulative share."""
    per_day: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for arrival in case.arrivals:
        day = per_day[arrival.timestamp[:10]]
        day[arrival.asset] = day.get(arrival.asset, ZERO) + arrival.amount
    table = Table(title="Timeline: tainted value reaching endpoints", title_justify="left")
    for column in ("day", "reached endpoints", "cumulative share of each asset"):
        table.add_column(column)
    running: dict[str, Decimal] = {}
    for day, amounts in sorted(per_day.items()):
        for asset, value in amounts.items():
            running[asset] = running.get(asset, ZERO) + value
        cumulative = "; ".join(
            f"{case.bundle.symbol(a)} {share(case.bundle.share(a, v))}" for a, v in sorted(running.items())
        )
        table.add_row(_t(day), _amounts(case, dict(sorted(amounts.items()))), _t(cumulative))
    return table


def render_case(case: CaseFile, console: Console, *, paths: int = 5, endpoints: int = 25) -> None:
    """`heisttrace show`: the case at a glance."""
    b = case.bundle
    head = Text(f"Case {b.case}", style="bold")
    if b.summary.get("title"):
        head.append(" — " + terminal_safe(str(b.summary["title"])))
    if isinstance(b.summary.get("case_notes"), str) and b.summary["case_notes"]:
        head.append("\n" + terminal_safe(b.summary["case_notes"]), style="italic")
    head.append(f"\npolicy {b.policy} · {'complete' if b.complete else 'INCOMPLETE (budget or offline gap)'}")
    counts = b.summary.get("counts") or {}
    if isinstance(counts, dict) and counts:
        head.append(" · " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(counts.items())))
    console.print(head)
    console.print(balance_sheet(case))
    if valued(b):
        console.print(usd_balance_table(b))
    console.print(endpoints_by_category(case))
    console.print(endpoints_table(case, limit=endpoints))
    for index, path in enumerate(case.paths[:paths], start=1):
        console.print(path_panel(case, path, index))
    console.print(timeline_table(case))


def render_path(case: CaseFile, console: Console, query: str, *, onward: int = 5) -> None:
    """`heisttrace path`: the widest path from a seed to the address, then its widest routes onward."""
    view = find_address(case.views, query)
    to_it = extract_paths(case.bundle, case.views, targets=[view.key], limit=1, graph=case.graph)
    if view.role == "seed":
        console.print(Text(f"{view.address} is a seed of the case."))
    elif to_it:
        console.print(path_panel(case, to_it[0], 1))
    else:
        console.print(Text(f"No time-ordered tainted path from a seed reaches {view.address}."))
    if view.role != "endpoint":
        onward_paths = extract_paths(case.bundle, case.views, sources=[view.key], limit=onward, graph=case.graph)
        if onward_paths:
            console.print(Text(f"Onward from {view.name} to endpoints (widest first):", style="bold"))
        for index, path in enumerate(onward_paths, start=1):
            console.print(path_panel(case, path, index))


def address_panel(case: CaseFile, view: AddressView, *, counterparties: int = 15) -> Group:
    info = Table(show_header=False, box=None)
    info.add_column(style="bold")
    info.add_column()
    info.add_row("address", _t(f"{view.chain}:{view.address}"))
    info.add_row("role", _t(view.role))
    info.add_row("category", _t(view.category or "—"))
    info.add_row("label", _t(view.label or "—"))
    info.add_row("label source", _t(view.label_source or "—"))
    info.add_row("hop", _t("—" if view.hop is None else str(view.hop)))
    info.add_row("first tainted", _t(when(view.first_tainted_at) or "—"))
    info.add_row("taint in", _amounts(case, dict(sorted(view.tainted_in.items()))))
    info.add_row("taint out", _amounts(case, dict(sorted(view.tainted_out.items()))))
    parts: list = [info]
    for title, side in (("received from", view.senders), ("sent to", view.receivers)):
        if not side:
            continue
        table = Table(title=f"{title} ({len(side)})", title_justify="left")
        for column in ("counterparty", "role", "category", "share of the case"):
            table.add_column(column)
        for key, value in sorted(side.items(), key=lambda kv: (-kv[1], kv[0]))[:counterparties]:
            other = case.views.get(key)
            table.add_row(
                _name(case, key), _t(other.role if other else ""), _t(other.category if other else ""), _t(share(value))
            )
        parts.append(table)
    for swap in view.swaps:
        parts.append(
            Text(
                f"swap {short_hash(swap.tx_hash)} ({when(swap.timestamp)}): {amount(swap.tainted_out)} "
                f"{case.bundle.symbol(swap.asset_out)} → {amount(swap.tainted_in)} {case.bundle.symbol(swap.asset_in)}",
                style="yellow",
            )
        )
    return Group(*parts)


def render_address(case: CaseFile, console: Console, query: str) -> None:
    """`heisttrace address`: labels, taint in/out, counterparties, swaps."""
    console.print(address_panel(case, find_address(case.views, query)))
