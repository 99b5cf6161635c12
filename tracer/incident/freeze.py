"""Freeze-request packs: per service reached, the deposits of stolen value and a request its compliance team can act on.

Read from bundle files only. One folder per service (deposit addresses are grouped under the
service their label names); `deposits.csv` lists every tainted inflow of its endpoint addresses
(from flows.csv), so its stolen amounts add up to the service's rows of endpoints.csv.
"""

from __future__ import annotations

import csv
import re
from collections import deque
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracer.core.errors import BadChain
from tracer.core.networks import get_chain
from tracer.incident.bundle import Bundle

#: Endpoint categories a freeze or identification request can go to.
SERVICE_CATEGORIES = ("exchange", "exchange-deposit", "instant-exchanger", "otc", "bridge", "unknown-service")
DEPOSIT_COLUMNS = (
    "chain",
    "deposit_address",
    "tx_hash",
    "time",
    "asset",
    "amount_received",
    "stolen_amount",
    "usd",
    "explorer_link",
)
_DEPOSIT_SUFFIX = re.compile(r"\s+deposit address$", re.IGNORECASE)


def service_name(row: dict[str, str]) -> str:
    """The service an endpoint row belongs to: its label without a trailing 'deposit address'."""
    return _DEPOSIT_SUFFIX.sub("", row.get("label") or "").strip() or f"unlabelled {row['category']} {row['address']}"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "service"


def _link(chain: str, tx_hash: str) -> str:
    try:
        return get_chain(chain).tx_url(tx_hash)
    except BadChain:
        return ""


def services(bundle: Bundle) -> dict[str, list[dict[str, str]]]:
    """Service name -> its endpoint rows (endpoints.csv), for the categories a request can go to."""
    out: dict[str, list[dict[str, str]]] = {}
    for row in bundle.endpoints:
        if row["category"] in SERVICE_CATEGORIES:
            out.setdefault(service_name(row), []).append(row)
    return dict(sorted(out.items()))


def deposits(bundle: Bundle, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Every tainted inflow of the endpoint addresses in `rows`, in time order."""
    wanted = {(r["chain"], r["address"]) for r in rows}
    out = []
    for f in bundle.flows:
        if (f["chain"], f["to"]) not in wanted or Decimal(f["tainted_amount"] or "0") <= 0:
            continue
        key = f"{f['chain']}:{f['asset_id']}"
        out.append(
            {
                "chain": f["chain"],
                "deposit_address": f["to"],
                "tx_hash": f["tx_hash"],
                "time": f["timestamp"],
                "asset": f["asset"] if f["asset_id"] == "native" else f"{f['asset']} ({f['asset_id']})",
                "asset_key": key,
                "amount_received": f["amount"],
                "stolen_amount": f["tainted_amount"],
                "usd": f.get("tainted_usd") or "",  # priced bundles carry a tainted_usd column
                "explorer_link": _link(f["chain"], f["tx_hash"]),
            }
        )
    return sorted(out, key=lambda d: (d["time"], d["tx_hash"], d["deposit_address"]))


def path_to(bundle: Bundle, chain: str, address: str) -> list[str]:
    """Fewest-hop chain of tainted flows from a seed to `address` (addresses, seed first); [] if none."""
    seeds = {(r["chain"], r["address"]) for r in bundle.addresses if r.get("role") == "seed"}
    into: dict[tuple[str, str], set[str]] = {}
    for f in bundle.flows:
        if f["to"] != "fee" and Decimal(f["tainted_amount"] or "0") > 0:
            into.setdefault((f["chain"], f["to"]), set()).add(f["from"])
    start = (chain, address)
    back: dict[tuple[str, str], tuple[str, str] | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node in seeds:
            path = []
            step: tuple[str, str] | None = node
            while step is not None:
                path.append(step[1])
                step = back[step]
            return path
        for sender in sorted(into.get(node, ())):
            nxt = (chain, sender)
            if nxt not in back:
                back[nxt] = node
                queue.append(nxt)
    return []


def totals(rows: list[dict[str, str]]) -> dict[str, Decimal]:
    """Stolen amount per asset key over deposit rows."""
    sums: dict[str, Decimal] = {}
    for d in rows:
        sums[d["asset_key"]] = sums.get(d["asset_key"], Decimal(0)) + Decimal(d["stolen_amount"])
    return dict(sorted(sums.items()))


def write_packs(bundle: Bundle, out: Path, *, pdf: bool = True) -> list[Path]:
    """One folder per service under `out`; returns the folders written."""
    from tracer.incident.request import request_markdown

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in services(bundle).items():
        folder = out / _slug(name)
        folder.mkdir(exist_ok=True)
        found = deposits(bundle, rows)
        with (folder / "deposits.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=DEPOSIT_COLUMNS, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(found)
        paths = {r["address"]: path_to(bundle, r["chain"], r["address"]) for r in rows}
        text = request_markdown(bundle, name, rows, found, paths, totals(found))
        (folder / "request.md").write_text(text, encoding="utf-8")
        if pdf:
            _maybe_pdf(text, folder / "request.pdf")
        written.append(folder)
    return written


def _maybe_pdf(markdown: str, target: Path) -> Any:
    """request.pdf through headless Chromium when one is installed (else nothing)."""
    import html

    from tracer.report.pdf import find_chromium, write_pdf

    if find_chromium() is None:
        return None
    body = f"<pre style='white-space:pre-wrap;font:11pt sans-serif'>{html.escape(markdown)}</pre>"
    return write_pdf(f"<!doctype html><meta charset='utf-8'><body>{body}</body>", target)
