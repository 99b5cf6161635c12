"""Recognise service-sized histories: an unlabelled address that trades with very many others.

Exchanges' hot wallets, DEX routers and payment processors touch thousands of counterparties;
following taint through them smears it over strangers. The engine reads only the first
`SERVICE_PROBE_ROWS` transfers of an address it is about to expand (a partial read through
``HistoryProvider.history(max_rows=...)``); when that page is full *and* shows at least
`SERVICE_MIN_COUNTERPARTIES` distinct counterparties, the address becomes an
``unknown-service`` endpoint without reading the rest. When the page does not decide it (a
service whose first rows are its own zero-value calls), the same rule is applied to the full
history once it has been read. (Wu et al.'s TRacer stops at such hubs for the same reason;
the thresholds are ours: a fresh laundering address rarely talks to more than a few hundred
others.)

Pass-through is not service behaviour: counterparties met only in transactions in which the
address receives an asset and sends the same asset on (a router: user -> router -> pool) are
not counted, because the engine follows value through such a conduit exactly, within the
transaction, without mixing it with anyone else's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tracer.core.models import FEE_SINK, Transfer, TransferKind

#: Rows read before deciding whether an address is a service.
SERVICE_PROBE_ROWS = 2000
#: Distinct counterparties (outside pass-through transactions) that make an address a service.
SERVICE_MIN_COUNTERPARTIES = 1000


def _counts(tr: Transfer) -> bool:
    return tr.kind is not TransferKind.FEE and not tr.noise and tr.amount != 0 and tr.moves_value


def passthrough_transactions(address: str, transfers: Iterable[Transfer]) -> frozenset[str]:
    """Transactions in which `address` both receives and sends the same asset (a conduit)."""
    received: set[tuple[str, str]] = set()
    sent: set[tuple[str, str]] = set()
    for tr in transfers:
        if not _counts(tr) or tr.sender == tr.receiver:
            continue
        if tr.receiver == address:
            received.add((tr.tx_hash, tr.asset.key))
        elif tr.sender == address and tr.receiver != FEE_SINK:
            sent.add((tr.tx_hash, tr.asset.key))
    return frozenset(tx for tx, _ in received & sent)


def count_counterparties(address: str, transfers: Sequence[Transfer]) -> int:
    """Distinct addresses that sent to or received from `address` outside pass-through transactions
    (fees, noise, zero-value and reverted transfers excluded)."""
    conduit = passthrough_transactions(address, transfers)
    seen: set[str] = set()
    for tr in transfers:
        if not _counts(tr) or tr.tx_hash in conduit:
            continue
        if tr.sender == address and tr.receiver not in (address, FEE_SINK):
            seen.add(tr.receiver)
        elif tr.receiver == address and tr.sender != address:
            seen.add(tr.sender)
    return len(seen)


def detect_unknown_service(
    address: str, transfers: Iterable[Transfer], *, min_counterparties: int = SERVICE_MIN_COUNTERPARTIES
) -> bool:
    """True when the (partial or full) history shows a service-sized set of counterparties."""
    return count_counterparties(address, list(transfers)) >= min_counterparties
