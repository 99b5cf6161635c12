"""Recognise service-sized histories: an unlabelled address that trades with very many others.

Exchanges' hot wallets, DEX routers and payment processors touch thousands of counterparties;
following taint through them smears it over strangers. The engine reads only the first
`SERVICE_PROBE_ROWS` transfers of an address it is about to expand (a partial read through
``HistoryProvider.history(max_rows=...)``); when that page is full *and* shows at least
`SERVICE_MIN_COUNTERPARTIES` distinct counterparties, the address becomes an
``unknown-service`` endpoint without reading the rest. (Wu et al.'s TRacer stops at such
hubs for the same reason; the thresholds are ours: a fresh laundering address rarely talks
to more than a few hundred others.)
"""

from __future__ import annotations

from collections.abc import Iterable

from tracer.models import FEE_SINK, Transfer, TransferKind

#: Rows read before deciding whether an address is a service.
SERVICE_PROBE_ROWS = 2000
#: Distinct counterparties in that first page that make an address a service.
SERVICE_MIN_COUNTERPARTIES = 1000


def count_counterparties(address: str, transfers: Iterable[Transfer]) -> int:
    """Distinct addresses that sent to or received from `address` (fees and noise excluded)."""
    seen: set[str] = set()
    for tr in transfers:
        if tr.kind is TransferKind.FEE or tr.noise or tr.amount == 0:
            continue
        if tr.sender == address and tr.receiver not in (address, FEE_SINK):
            seen.add(tr.receiver)
        elif tr.receiver == address and tr.sender != address:
            seen.add(tr.sender)
    return len(seen)


def detect_unknown_service(
    address: str, transfers: Iterable[Transfer], *, min_counterparties: int = SERVICE_MIN_COUNTERPARTIES
) -> bool:
    """True when the (partial) history shows a service-sized set of counterparties."""
    return count_counterparties(address, transfers) >= min_counterparties
