"""Canonical positions of internal and token transfers, the same whichever source answered.

A transfer's identity in the store is (chain, tx hash, position). Sources number the calls
of one transaction differently — Etherscan's `traceId` is a trace address (``"0_1"``),
Routescan's and Blockscout's are flat indexes (``"12"``, `index`), `txlistinternal&txhash=`
rows carry none at all, Etherscan's `tokentx` rows no `logIndex` — and an address query
returns only the calls touching that address. So no source numbering can be the identity.

The canonical position is derived from what every source reports alike, the content of the
transfer: for an internal call (sender, receiver, amount), for a token transfer (token,
sender, receiver, amount). Its sha256 picks a slot in the kind's range; the k-th identical
transfer of the same transaction (three 32 ETH calls of one batch) takes slot + k, so
identical calls never collapse. Identical calls touch the same addresses, so every address
query sees all of them and numbers them alike. Two *different* transfers of one transaction
whose slots meet (about n²/2·10⁶ for n internal calls) are separated by probing to the next
free slot, in the order given.

Ranges (see :class:`tracer.core.models.Transfer`): internal calls 2..999_999, tokens
1_000_000 + 0..10¹²-1. Fee (0) and top-level value (1) keep their fixed positions. The
position is an identity, not an order: transfers of one transaction are replayed as one
unit (the ledger pools a transaction's inflows before its outflows).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable

from tracer.core.models import POSITION_INTERNAL_BASE, POSITION_TOKEN_BASE, Transfer, TransferKind

INTERNAL_SPAN = 1_000_000 - POSITION_INTERNAL_BASE
TOKEN_SPAN = 10**12


def _slot(parts: tuple[str, ...], span: int) -> int:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") % span


def internal_position_of(sender: str, receiver: str, amount: int, occurrence: int = 0) -> int:
    """The canonical position of the `occurrence`-th such internal call of a transaction (before any probing)."""
    content = ("internal", sender, receiver, str(amount))
    return POSITION_INTERNAL_BASE + (_slot(content, INTERNAL_SPAN) + occurrence) % INTERNAL_SPAN


def token_position_of(token: str, sender: str, receiver: str, amount: int, occurrence: int = 0) -> int:
    """The canonical position of the `occurrence`-th such token transfer of a transaction (before any probing)."""
    content = ("token", token, sender, receiver, str(amount))
    return POSITION_TOKEN_BASE + (_slot(content, TOKEN_SPAN) + occurrence) % TOKEN_SPAN


def canonical_positions(transfers: Iterable[Transfer]) -> list[Transfer]:
    """`transfers` with every internal and token position replaced by its canonical one (order kept)."""
    taken: dict[tuple[str, int], int] = {}  # (tx hash, position) -> index in `out`
    occurrences: dict[tuple[str, ...], int] = {}
    out: list[Transfer] = []
    for tr in transfers:
        if tr.kind is TransferKind.INTERNAL:
            base, span = POSITION_INTERNAL_BASE, INTERNAL_SPAN
            content: tuple[str, ...] = ("internal", tr.sender, tr.receiver, str(tr.amount))
        elif tr.kind is TransferKind.TOKEN:
            base, span = POSITION_TOKEN_BASE, TOKEN_SPAN
            content = ("token", tr.asset.contract or "", tr.sender, tr.receiver, str(tr.amount))
        else:
            out.append(tr)
            continue
        key = (tr.tx_hash, *content)
        k = occurrences.get(key, 0)
        occurrences[key] = k + 1
        offset = (_slot(content, span) + k) % span
        while (tr.tx_hash, base + offset) in taken:
            offset = (offset + 1) % span
        taken[(tr.tx_hash, base + offset)] = len(out)
        out.append(tr if tr.position == base + offset else dataclasses.replace(tr, position=base + offset))
    return out
