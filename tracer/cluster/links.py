"""What one transaction contributes to multi-input clustering: the same function for every engine.

A transaction with two or more distinct input addresses links them (Meiklejohn et al. 2013:
inputs spent together share an owner), star-shaped from its smallest address, unless
:func:`heuristics.coinjoin.detect_coinjoin` says it is a CoinJoin (several owners by
design), in which case it links nothing and is listed with the pattern found.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from chains.export.bitcoin import raw_to_tx
from heuristics.coinjoin import detect_coinjoin


@dataclass(frozen=True, slots=True)
class TxLinks:
    """One transaction's verdict: its links (anchor, other), or the CoinJoin pattern that excluded it."""

    txid: str
    links: tuple[tuple[str, str], ...]
    coinjoin: str | None = None


def tx_links(row: Mapping[str, Any], chain: str = "bitcoin") -> TxLinks | None:
    """The links of one bitcoin-etl row (None when it has fewer than two distinct input addresses)."""
    tx = raw_to_tx(row, chain)
    addresses = sorted({i.address for i in tx.inputs if i.address})
    if len(addresses) < 2:
        return None
    found = detect_coinjoin(tx)
    if found is not None:
        return TxLinks(tx.txid, (), found.pattern)
    anchor = addresses[0]
    return TxLinks(tx.txid, tuple((anchor, other) for other in addresses[1:]))


def link_rows(
    rows: Iterable[Mapping[str, Any]], chain: str = "bitcoin"
) -> Iterator[tuple[str, str | None, str | None, str | None]]:
    """Flat (txid, a, b, coinjoin pattern) rows of many transactions: one per link, one per CoinJoin."""
    for row in rows:
        found = tx_links(row, chain)
        if found is None:
            continue
        if found.coinjoin is not None:
            yield (found.txid, None, None, found.coinjoin)
        for a, b in found.links:
            yield (found.txid, a, b, None)
