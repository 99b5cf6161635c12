"""USD in the case file: the balance sheet in USD, USD per endpoint, and a plot of USD reaching endpoints.

Reads what the valuation pass wrote into the bundle (summary `usd`, the `tainted_usd` columns);
a bundle that was not valued gives no USD sections.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from rich.table import Table

from tracer.bundle.schema import BUCKETS
from tracer.report.bundle import Bundle
from tracer.report.svg import SERIES_COLORS, _epoch, _n

CLOSING_NOTE = (
    "USD figures value each event at its own time (latest price at or before it, at most 36 h old); "
    "they are reported per bucket and are not expected to close, because prices move. "
    "The base-unit balance sheet is the one that closes. Unpriced parts are null and listed under gaps."
)


def valued(bundle: Bundle) -> bool:
    return isinstance(bundle.summary.get("usd"), dict)


def usd_text(value: str | None) -> str:
    """`$1,234.56`, or `unpriced` for null."""
    if value in (None, ""):
        return "unpriced"
    return f"${Decimal(value):,.2f}"


def usd_rows(bundle: Bundle) -> list[tuple[str, list[str]]]:
    """(asset label, USD per bucket) for each asset, then the totals of what is priced."""
    rows = []
    for key, row in bundle.summary["assets"].items():
        per = row.get("usd") or {}
        rows.append((f"{row.get('symbol', key)} ({key})", [usd_text(per.get(b)) for b in BUCKETS]))
    totals = bundle.summary["usd"].get("totals") or {}
    rows.append(("total priced", [usd_text(totals.get(b)) for b in BUCKETS]))
    return rows


def usd_balance_table(bundle: Bundle) -> Table:
    """The terminal's balance sheet in USD."""
    table = Table(title="Balance sheet in USD (at each event's time)", caption=CLOSING_NOTE, caption_justify="left")
    table.add_column("asset")
    for bucket in BUCKETS:
        table.add_column(bucket.replace("_", " "), justify="right")
    for label, cells in usd_rows(bundle):
        table.add_row(label, *cells)
    return table


def endpoint_arrivals_usd(bundle: Bundle) -> list[tuple[float, Decimal]]:
    """(time, USD) of each priced flow arriving at an endpoint, in time order."""
    ends = {(r.chain, r.address) for r in bundle.endpoints}
    values = bundle.usd.get("flows") or []
    out = [
        (_epoch(flow.timestamp), Decimal(usd))
        for flow, usd in zip(bundle.flows, values, strict=False)
        if usd and (flow.chain, flow.receiver) in ends
    ]
    return sorted(out)


def usd_timeline_svg(bundle: Bundle) -> str:
    """Cumulative USD reaching endpoints over time (one step line; priced arrivals only)."""
    from datetime import UTC, datetime

    arrivals = endpoint_arrivals_usd(bundle)
    if not arrivals:
        return ""
    width, height, left, bottom, top, right = 1000.0, 300.0, 90.0, 40.0, 14.0, 40.0
    t0, t1 = arrivals[0][0], arrivals[-1][0]
    span = max(t1 - t0, 3600.0)
    total = sum((v for _, v in arrivals), Decimal(0)) or Decimal(1)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(t: float) -> float:
        return left + (t - t0) / span * plot_w

    def y(v: Decimal) -> float:
        return top + plot_h * (1 - float(v / total))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        'role="img" aria-label="USD value reaching endpoints over time" font-family="system-ui, sans-serif" '
        'font-size="11">'
    ]
    for i in range(5):
        level = total * i / 4
        parts.append(
            f'<line x1="{_n(left)}" x2="{_n(left + plot_w)}" y1="{_n(y(level))}" y2="{_n(y(level))}" stroke="#e3e7eb"/>'
        )
        parts.append(
            f'<text x="{_n(left - 6)}" y="{_n(y(level) + 4)}" text-anchor="end">'
            f"{escape(usd_text(str(round(level, 2))))}</text>"
        )
    for i in range(6):
        t = t0 + span * i / 5
        stamp = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M" if span < 5 * 86400 else "%Y-%m-%d")
        parts.append(
            f'<text x="{_n(x(t))}" y="{_n(top + plot_h + 18)}" text-anchor="middle">{escape(stamp)} UTC</text>'
        )
    running = Decimal(0)
    points = [f"{_n(x(t0))},{_n(y(running))}"]
    for t, value in arrivals:
        points.append(f"{_n(x(t))},{_n(y(running))}")
        running += value
        points.append(f"{_n(x(t))},{_n(y(running))}")
    parts.append(
        f'<polyline fill="none" stroke="{SERIES_COLORS[0]}" stroke-width="2" points="{" ".join(points)}">'
        f"<title>{escape(usd_text(str(running)))} reached endpoints (priced arrivals)</title></polyline>"
    )
    parts.append(
        f'<line x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" y2="{_n(top + plot_h)}" stroke="#333"/>'
        f'<line x1="{_n(left)}" x2="{_n(left + plot_w)}" y1="{_n(top + plot_h)}" y2="{_n(top + plot_h)}" '
        'stroke="#333"/></svg>'
    )
    return "".join(parts)


def usd_section_html(bundle: Bundle) -> str:
    """The report's USD section (empty for a bundle that was not valued)."""
    if not valued(bundle):
        return ""
    head = "".join(f"<th>{escape(b.replace('_', ' '))}</th>" for b in BUCKETS)
    body = "".join(
        f"<tr><td>{escape(label)}</td>{''.join(f'<td class=num>{escape(c)}</td>' for c in cells)}</tr>"
        for label, cells in usd_rows(bundle)
    )
    sources = ", ".join(
        f"{s['source']} ({s['responses']} response(s))" for s in bundle.summary["usd"].get("price_sources", [])
    )
    unpriced = bundle.summary["usd"].get("unpriced") or {}
    gaps = "".join(f"<li>{escape(k)}: {v} unpriced event(s)</li>" for k, v in unpriced.items())
    svg = usd_timeline_svg(bundle)
    return (
        '<section id="usd"><h2>Value in USD</h2>'
        f'<p class="note">{escape(CLOSING_NOTE)} Prices: {escape(sources)}.</p>'
        f"<table><thead><tr><th>asset</th>{head}</tr></thead><tbody>{body}</tbody></table>"
        + (f"<ul>{gaps}</ul>" if gaps else "")
        + (f'<h3>USD reaching endpoints over time</h3><div class="timeline">{svg}</div>' if svg else "")
        + "</section>"
    )


class UsdCells:
    """USD beside amounts in the report's tables: per flow set (path hops), per endpoint, per day.

    A cell sums the priced parts; a part without a price makes it "$X + unpriced" (or "unpriced"),
    never a guess. Empty strings everywhere when the bundle was not valued.
    """

    def __init__(self, bundle: Bundle) -> None:
        self.on = valued(bundle)
        self.bundle = bundle
        flows = bundle.usd.get("flows") or []
        self._flow = {id(f): u for f, u in zip(bundle.flows, flows, strict=False)}
        self._endpoint: dict[tuple[str, str], list[str]] = {}
        for row, usd in zip(bundle.endpoints, bundle.usd.get("endpoints") or [], strict=False):
            self._endpoint.setdefault((row.chain, row.address), []).append(usd)

    def total(self, values: list[str | None]) -> str:
        if not self.on:
            return ""
        priced = [Decimal(v) for v in values if v not in (None, "")]
        if not priced:
            return "unpriced" if values else ""
        text = usd_text(str(sum(priced, Decimal(0))))
        return text if len(priced) == len(values) else f"{text} + unpriced"

    def flows(self, flows: object) -> str:
        return self.total([self._flow.get(id(f), "") for f in flows])  # type: ignore[attr-defined]

    def endpoint(self, chain: str, address: str) -> str:
        return self.total(self._endpoint.get((chain, address), []))

    def per_day(self, endpoints: set[tuple[str, str]]) -> dict[str, str]:
        """Day (UTC) -> USD of the tainted flows reaching `endpoints` that day."""
        days: dict[str, list[str | None]] = {}
        for flow in self.bundle.flows:
            if flow.is_fee or flow.tainted_amount <= 0 or (flow.chain, flow.receiver) not in endpoints:
                continue
            days.setdefault(flow.timestamp[:10], []).append(self._flow.get(id(flow), ""))
        return {day: self.total(values) for day, values in days.items()}


def usd_markdown(bundle: Bundle) -> list[str]:
    """The Markdown balance sheet in USD (nothing for a bundle that was not valued)."""
    if not valued(bundle):
        return []
    head = ["asset", *(b.replace("_", " ") for b in BUCKETS)]
    rows = [[label, *cells] for label, cells in usd_rows(bundle)]
    lines = ["## Value in USD", "", CLOSING_NOTE, ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    sources = ", ".join(
        f"{s['source']} ({s['responses']} response(s))" for s in bundle.summary["usd"].get("price_sources", [])
    )
    return [*lines, "", f"Prices: {sources}.", ""]
