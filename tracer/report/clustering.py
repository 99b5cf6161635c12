"""Endpoints found by address clustering (`summary["clustering"]["endpoints"]`, UTXO chains): each with
the labelled address it was co-spent with and the transactions that linked them, to check on an explorer."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tracer.core.errors import BadChain, BadInput
from tracer.core.networks import get_chain

#: At most this many clustered endpoints are listed in the HTML report (all of them are in summary.json).
CLUSTERED_LIMIT = 200
RULE = (
    "An output whose address was spent together with a labelled service address in one transaction "
    "(multi-input heuristic; CoinJoins excluded, service-sized merges refused) is an endpoint of that "
    "service: it inherits the category and name, with label source heuristic:cluster."
)


@dataclass(frozen=True, slots=True)
class ClusteredEndpoint:
    chain: str
    address: str
    category: str
    label: str
    service_address: str
    linked_by: tuple[str, ...]
    tainted_amount: str


def read_clustered(path: Path, raw: Any) -> list[ClusteredEndpoint]:
    """`clustering.endpoints` of summary.json (absent in account-chain bundles and older ones)."""
    if raw is None:
        return []
    entries = raw.get("endpoints") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise BadInput(f"{path}: 'clustering' must be an object with an 'endpoints' list")
    rows = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("address", "label")):
            raise BadInput(f"{path}: clustering.endpoints[{i}] must be an object with address and label strings")
        linked = entry.get("linked_by") or []
        if not isinstance(linked, list) or not all(isinstance(t, str) for t in linked):
            raise BadInput(f"{path}: clustering.endpoints[{i}].linked_by must be a list of transaction ids")
        rows.append(
            ClusteredEndpoint(
                chain=str(entry.get("chain") or "bitcoin"),
                address=entry["address"],
                category=str(entry.get("category") or ""),
                label=entry["label"],
                service_address=str(entry.get("service_address") or ""),
                linked_by=tuple(linked),
                tainted_amount=str(entry.get("tainted_amount") or ""),
            )
        )
    return rows


def clustering_line(rows: list[ClusteredEndpoint]) -> str | None:
    """One line for the terminal report (None when clustering found nothing)."""
    if not rows:
        return None
    n = len(rows)
    return (
        f"{n:,} endpoint{'s' if n != 1 else ''} found by clustering (co-spent with a labelled address; "
        "the linking transactions are in summary.json clustering.endpoints)"
    )


def _explorer(chain: str, kind: str, value: str) -> str:
    """The explorer link of an address or transaction ("" for a chain outside the registry)."""
    try:
        known = get_chain(chain)
    except BadChain:
        return ""
    return known.address_url(quote(value, safe="")) if kind == "address" else known.tx_url(quote(value, safe=""))


def _link(url: str, text: str) -> str:
    if not url.startswith("https://"):
        return f'<span class="mono">{escape(text)}</span>'
    return f'<a class="mono" href="{escape(url)}" rel="noopener noreferrer" target="_blank">{escape(text)}</a>'


def clustering_html(rows: list[ClusteredEndpoint]) -> str:
    """The report section listing clustered endpoints and their evidence ("" when there are none)."""
    if not rows:
        return ""
    body = []
    for row in rows[:CLUSTERED_LIMIT]:
        txs = "<br>".join(_link(_explorer(row.chain, "tx", t), t[:16] + "…") for t in row.linked_by) or "—"
        body.append(
            f"<tr><td>{_link(_explorer(row.chain, 'address', row.address), row.address)}</td>"
            f"<td>{escape(row.category)}<br>{escape(row.label)}</td>"
            f"<td>{_link(_explorer(row.chain, 'address', row.service_address), row.service_address)}</td>"
            f"<td>{txs}</td><td>{escape(row.tainted_amount)}</td></tr>"
        )
    more = (
        f'<p class="note">… {len(rows) - CLUSTERED_LIMIT:,} more in summary.json (clustering.endpoints).</p>'
        if len(rows) > CLUSTERED_LIMIT
        else ""
    )
    return (
        f'<section id="clustering"><h2>Endpoints found by clustering ({len(rows):,})</h2><p>{escape(RULE)}</p>'
        "<table><thead><tr><th>address</th><th>inherited label</th><th>co-spent with</th>"
        "<th>linking transactions</th><th>tainted</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{more}</section>"
    )
