"""Static SVG charts for the case file: the balance sheet as a Sankey diagram, the timeline.

Drawn in Python so they are deterministic, print in the PDF and need no script. Every text is
escaped; coordinates are rounded to two decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from html import escape

from tracer.report.analysis import Arrival, short_address
from tracer.report.bundle import ZERO, AssetInfo, Bundle
from tracer.report.casefile import NamedEndpoint
from tracer.report.fmt import REMAINDERS, amount, category_rank, share

CATEGORY_COLORS = {
    "exchange": "#2ca02c",
    "exchange-deposit": "#98df8a",
    "instant-exchanger": "#17becf",
    "otc": "#bcbd22",
    "bridge": "#1f77b4",
    "mixer": "#9467bd",
    "sanctioned": "#8c564b",
    "unknown-service": "#e377c2",
    "unmoved": "#c7c7c7",
    "fees": "#7f7f7f",
    "below_threshold": "#dbdbdb",
    "unexplored": "#ffbb78",
    "swapped_out": "#ff7f0e",
    "excluded": "#aec7e8",
    "stolen": "#d62728",
    "swapped_in": "#ff9896",
    "bridged_in": "#17becf",
    "bridged_out": "#17becf",
}
SERIES_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def color(name: str) -> str:
    return CATEGORY_COLORS.get(name, "#aec7e8")


def _n(value: float) -> str:
    return f"{value:.2f}"


@dataclass
class _Box:
    name: str
    title: str
    value: Decimal
    fill: str = ""
    y: float = 0.0
    h: float = 0.0
    out_used: float = 0.0
    in_used: float = 0.0


def _stack(boxes: list[_Box], total: Decimal, height: float, gap: float) -> None:
    usable = height - gap * max(len(boxes) - 1, 0)
    y = 0.0
    for box in boxes:
        box.h = max(float(box.value / total) * usable, 1.0) if total > 0 else 1.0
        box.y = y
        y += box.h + gap


def _ribbon(x0: float, y0: float, x1: float, y1: float, h: float, fill: str, title: str) -> str:
    mid = (x0 + x1) / 2
    d = (
        f"M{_n(x0)},{_n(y0)} C{_n(mid)},{_n(y0)} {_n(mid)},{_n(y1)} {_n(x1)},{_n(y1)} "
        f"L{_n(x1)},{_n(y1 + h)} C{_n(mid)},{_n(y1 + h)} {_n(mid)},{_n(y0 + h)} {_n(x0)},{_n(y0 + h)} Z"
    )
    return f'<path d="{d}" fill="{fill}" fill-opacity="0.45"><title>{escape(title)}</title></path>'


def sankey_svg(bundle: Bundle, info: AssetInfo, endpoints: list[NamedEndpoint], *, named_per_category: int = 3) -> str:
    """stolen (+ swapped in) → endpoint categories and remainders → named endpoints, for one asset."""
    symbol = info.symbol
    total = info.total
    if total <= 0:
        return ""
    width, height, top, node_w = 1040.0, 340.0, 10.0, 12.0
    xs = (150.0, 420.0, 690.0)
    sources = [
        _Box(n, t, info.ledger.get(n, ZERO))
        for n, t in (("stolen", "stolen"), ("swapped_in", "swapped in"), ("bridged_in", "bridged in"))
    ]
    sources = [b for b in sources if b.value > 0]
    by_category: dict[str, Decimal] = {}
    for ep in endpoints:
        if info.key in ep.amounts:
            by_category[ep.category] = by_category.get(ep.category, ZERO) + ep.amounts[info.key]
    middle = [_Box(c, c, v) for c, v in sorted(by_category.items(), key=lambda kv: category_rank(kv[0])) if v > 0]
    listed = sum((b.value for b in middle), ZERO)
    gap_endpoints = info.ledger.get("endpoints", ZERO) - listed
    if gap_endpoints > 0:
        middle.append(_Box("unknown-service", "endpoints not in endpoints.csv", gap_endpoints))
    middle += [_Box(n, t, info.ledger.get(n, ZERO)) for n, t in REMAINDERS if info.ledger.get(n, ZERO) > 0]
    if info.ledger.get("bridged_out", ZERO) > 0:  # crossed to another chain (tracer.crosschain)
        middle.append(_Box("bridged_out", "bridged out (other chain)", info.ledger["bridged_out"]))
    right: list[tuple[_Box, _Box]] = []  # (category box, named box)
    for cat_box in middle:
        if cat_box.name not in by_category:
            continue
        named = [ep for ep in endpoints if ep.category == cat_box.name and info.key in ep.amounts]
        named.sort(key=lambda ep: (-ep.amounts[info.key], ep.chain, ep.address))
        shown = named[:named_per_category]
        for ep in shown:
            title = ep.label if len(ep.label) <= 30 else ep.label[:29] + "…"
            title = title or short_address(ep.address)
            right.append((cat_box, _Box(ep.address, title, ep.amounts[info.key], fill=color(cat_box.name))))
        rest = sum((ep.amounts[info.key] for ep in named[named_per_category:]), ZERO)
        if rest > 0:
            other = f"{len(named) - len(shown)} other {cat_box.name}"
            right.append((cat_box, _Box("", other, rest, fill=color(cat_box.name))))
    gap = 6.0
    _stack(sources, total, height, gap)
    _stack(middle, total, height, 3.0)
    _stack([b for _, b in right], total, height, 3.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" viewBox="0 0 {_n(width)} {_n(height + 2 * top)}" '
        f'role="img" aria-label="{escape(f"Balance sheet of {symbol} as a Sankey diagram")}" '
        f'font-family="system-ui, sans-serif" font-size="11">'
    ]
    for src in sources:
        for dst in middle:
            h = src.h * float(dst.value / total)
            parts.append(
                _ribbon(
                    xs[0] + node_w,
                    top + src.y + src.out_used,
                    xs[1],
                    top + dst.y + dst.in_used,
                    h,
                    color(dst.name),
                    f"{src.title} → {dst.title}: {amount(src.value * dst.value / total)} {symbol}",
                )
            )
            src.out_used += h
            dst.in_used += h
    for cat_box, box in right:
        h = box.h
        parts.append(
            _ribbon(
                xs[1] + node_w,
                top + cat_box.y + cat_box.out_used,
                xs[2],
                top + box.y,
                h,
                color(cat_box.name),
                f"{cat_box.title} → {box.title}: {amount(box.value)} {symbol}",
            )
        )
        cat_box.out_used += h
    columns = ((xs[0], sources, "end"), (xs[1], middle, "start"), (xs[2], [b for _, b in right], "start"))
    for x, boxes, anchor in columns:
        label_floor = -1e9  # labels never overlap: each sits at least 12 px below the previous one
        for box in boxes:
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(top + box.y)}" width="{_n(node_w)}" height="{_n(box.h)}" '
                f'fill="{box.fill or color(box.name)}" stroke="#333" '
                f'stroke-width="0.5"><title>{escape(f"{box.title}: {amount(box.value)} {symbol}")}</title></rect>'
            )
            tx = x - 4 if anchor == "end" else x + node_w + 4
            label = f"{box.title} · {amount(box.value)} {symbol}"
            if x == xs[1]:
                label += f" ({share(box.value / total)})"
            label_y = max(top + box.y + box.h / 2 + 4, label_floor + 12)
            label_floor = label_y
            parts.append(
                f'<text x="{_n(tx)}" y="{_n(label_y)}" text-anchor="{anchor}" paint-order="stroke" stroke="#fff" '
                f'stroke-width="3" stroke-linejoin="round">'
                f"{escape(label if x != xs[0] else f'{box.title} {amount(box.value)} {symbol}')}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _epoch(timestamp: str) -> float:
    try:
        return datetime.strptime(timestamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


def timeline_svg(bundle: Bundle, arrivals: list[Arrival]) -> str:
    """Cumulative share of each asset's taint that reached endpoints, over time (step lines)."""
    if not arrivals:
        return ""
    width, height, left, bottom, top, right = 1000.0, 300.0, 56.0, 40.0, 14.0, 220.0
    t0, t1 = _epoch(arrivals[0].timestamp), _epoch(arrivals[-1].timestamp)
    span = max(t1 - t0, 3600.0)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(t: float) -> float:
        return left + (t - t0) / span * plot_w

    def y(fraction: float) -> float:
        return top + plot_h * (1 - fraction)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        'role="img" aria-label="Timeline of tainted value reaching endpoints" '
        'font-family="system-ui, sans-serif" font-size="11">'
    ]
    for i in range(5):
        fy = y(i / 4)
        parts.append(f'<line x1="{_n(left)}" x2="{_n(left + plot_w)}" y1="{_n(fy)}" y2="{_n(fy)}" stroke="#e3e7eb"/>')
        parts.append(f'<text x="{_n(left - 6)}" y="{_n(fy + 4)}" text-anchor="end">{i * 25}%</text>')
    for i in range(6):
        t = t0 + span * i / 5
        stamp = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M" if span < 5 * 86400 else "%Y-%m-%d")
        parts.append(
            f'<text x="{_n(x(t))}" y="{_n(top + plot_h + 18)}" text-anchor="middle">{escape(stamp)} UTC</text>'
        )
    assets = sorted({a.asset for a in arrivals})
    for index, asset in enumerate(assets):
        colour = SERIES_COLORS[index % len(SERIES_COLORS)]
        running = ZERO
        points = [f"{_n(x(t0))},{_n(y(0))}"]
        for arrival in arrivals:
            if arrival.asset != asset:
                continue
            px = x(_epoch(arrival.timestamp))
            points.append(f"{_n(px)},{_n(y(float(bundle.share(asset, running))))}")
            running += arrival.amount
            points.append(f"{_n(px)},{_n(y(float(bundle.share(asset, running))))}")
        points.append(f"{_n(x(t1))},{_n(y(float(bundle.share(asset, running))))}")
        label = f"{bundle.symbol(asset)} ({asset.split(':', 1)[0]}) {share(bundle.share(asset, running))}"
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}">'
            f"<title>{escape(label)}</title></polyline>"
        )
        ly = top + 14 + index * 16
        parts.append(f'<rect x="{_n(left + plot_w + 12)}" y="{_n(ly - 9)}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{_n(left + plot_w + 26)}" y="{_n(ly)}">{escape(label)}</text>')
    parts.append(
        f'<line x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" y2="{_n(top + plot_h)}" stroke="#333"/>'
        f'<line x1="{_n(left)}" x2="{_n(left + plot_w)}" y1="{_n(top + plot_h)}" y2="{_n(top + plot_h)}" '
        f'stroke="#333"/></svg>'
    )
    return "".join(parts)
