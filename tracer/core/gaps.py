"""What an incomplete trace is missing: one `summary.gaps` entry per (chain, address, range, why).

A gap is a JSON object, so a reader can tell *which* history is missing and *why* without parsing
prose: ``{"kind", "chain", "address", "range": {"from_block", "to_block"}, "why"}``. ``to_block`` is
null when the end is unknown (no pinned tip offline). Kinds:

- ``budget``: ``max_addresses`` stopped the trace before this address was read;
- ``hop-limit``: ``max_hops`` stopped it;
- ``offline``: ``--offline`` and the store lacks the range;
- ``source``: the source answered incompletely for the range (e.g. an explorer's partial answer);
- ``no-activity``: no seed moved any value in the trace window (nothing was traced).

Valuation adds plain-text ``unpriced: …`` lines to the same list (:mod:`tracer.valuation`).
"""

from __future__ import annotations

import json
from typing import Any

BUDGET = "budget"
HOP_LIMIT = "hop-limit"
OFFLINE = "offline"
SOURCE = "source"
NO_ACTIVITY = "no-activity"
KINDS = (BUDGET, HOP_LIMIT, OFFLINE, SOURCE, NO_ACTIVITY)


def gap(kind: str, chain: str, address: str, from_block: int | None, to_block: int | None, why: str) -> dict[str, Any]:
    """One gap entry (see the module doc)."""
    assert kind in KINDS, kind
    return {
        "kind": kind,
        "chain": chain,
        "address": address,
        "range": {"from_block": from_block, "to_block": to_block},
        "why": why,
    }


def gap_key(entry: Any) -> str:
    """A gap's identity, for de-duplication (an entry and its equal have the same key)."""
    return json.dumps(entry, sort_keys=True) if isinstance(entry, dict) else f"text:{entry}"


def gap_text(entry: Any) -> str:
    """A gap as one line for people (terminal, HTML); plain-text entries are returned as they are."""
    if not isinstance(entry, dict):
        return str(entry)
    span = entry.get("range") or {}
    lo, hi = span.get("from_block"), span.get("to_block")
    blocks = (
        "" if lo is None and hi is None else f" blocks {lo if lo is not None else '?'}-{hi if hi is not None else '?'}"
    )
    return f"{entry.get('kind')}: {entry.get('chain')} {entry.get('address')}{blocks}: {entry.get('why')}"


def has_kind(gaps: Any, kind: str) -> bool:
    """True when `gaps` (a summary's list) holds an entry of `kind`."""
    return any(isinstance(g, dict) and g.get("kind") == kind for g in gaps or ())
