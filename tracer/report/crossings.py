"""The crossings section of the case file: value that left one chain through a bridge and where it arrived.

Reads `summary["crossings"]` (written by tracer.crosschain): protocol, from/to chain, transaction,
address and tainted amount, the method and confidence of the resolution, and its status.
"""

from __future__ import annotations

from html import escape
from typing import Any

HEAD = ("#", "protocol", "from", "tainted in", "to", "tainted out", "method", "confidence", "status")


def crossing_rows(summary: dict[str, Any]) -> list[list[str]]:
    """One row per crossing (texts only)."""
    rows = []
    for c in summary.get("crossings") or ():
        src, to = c.get("from") or {}, c.get("to") or {}
        rows.append(
            [
                str(c.get("crossing", "")),
                str(c.get("protocol", "")),
                f"{src.get('chain', '')} {src.get('tx', '')}",
                f"{src.get('amount', '')} {src.get('asset', '')}",
                f"{to.get('chain', '')} {to.get('tx', '')} → {to.get('address', '')}"
                if to
                else "— (the bridge is the endpoint)",
                f"{to.get('amount', '')} {to.get('symbol', '')}" if to else "",
                str(c.get("method", "")),
                f"{float(c.get('confidence', 0)):.2f}",
                str(c.get("status", "")) + (" (refund)" if to and to.get("refund") else ""),
            ]
        )
    return rows


def crossings_html(summary: dict[str, Any]) -> str:
    rows = crossing_rows(summary)
    if not rows:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in HEAD)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    note = (
        "<p>Taint that entered a bridge and was followed onto the destination chain (the destination payment "
        "carries the tainted share of what the bridge took in). A method of <code>amount-time</code> is a lead, "
        "not fact.</p>"
    )
    return (
        f'<section id="crossings"><h2>Crossings ({len(rows)})</h2>{note}<table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></section>"
    )


def crossings_markdown(summary: dict[str, Any]) -> list[str]:
    rows = crossing_rows(summary)
    if not rows:
        return []
    out = ["", f"## Crossings ({len(rows)})", "", "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return out
