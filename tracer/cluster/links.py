"""What one transaction contributes to multi-input clustering: the same functions for every engine.

A transaction with two or more distinct input addresses links them (Meiklejohn et al. 2013:
inputs spent together share an owner), star-shaped from its smallest address, unless
:func:`heuristics.coinjoin.detect_coinjoin` says it is a CoinJoin (several owners by
design), in which case it links nothing and is listed with the pattern found. Every input
address is a member of the clustering, linked or not (an address that only ever spends alone
is a cluster of one).

Both engines take the same shortcut for most transactions: where
:func:`heuristics.coinjoin.may_be_coinjoin` is false (their columns evaluate exactly it), no
detector can match, so the star is built from the input addresses without a record. Each
distinct listed address (and script) is read once, by the functions
:func:`chains.export.bitcoin.part_address` is made of, so an input's address is the one
:func:`chains.export.bitcoin.raw_to_tx` gives it.
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
    spenders: tuple[str, ...] = ()  # its distinct input addresses, sorted


def tx_links(row: Mapping[str, Any], chain: str = "bitcoin") -> TxLinks:
    """The verdict on one bitcoin-etl row (no links when it has fewer than two distinct input addresses)."""
    tx = raw_to_tx(row, chain)
    addresses = tuple(sorted({i.address for i in tx.inputs if i.address}))
    if len(addresses) < 2:
        return TxLinks(tx.txid, (), None, addresses)
    found = detect_coinjoin(tx)
    if found is not None:
        return TxLinks(tx.txid, (), found.pattern, addresses)
    anchor = addresses[0]
    return TxLinks(tx.txid, tuple((anchor, other) for other in addresses[1:]), None, addresses)


def link_rows(
    rows: Iterable[Mapping[str, Any]], chain: str = "bitcoin", *, spenders: bool = True
) -> Iterator[tuple[str, str | None, str | None, str | None]]:
    """Flat (txid, a, b, coinjoin pattern) rows: one per link, one per CoinJoin, and (`spenders`)
    one (txid, address, None, None) per distinct input address."""
    for row in rows:
        found = tx_links(row, chain)
        if found.coinjoin is not None:
            yield (found.txid, None, None, found.coinjoin)
        for a, b in found.links:
            yield (found.txid, a, b, None)
        if spenders:
            for address in found.spenders:
                yield (found.txid, address, None, None)
