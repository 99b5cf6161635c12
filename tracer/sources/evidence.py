"""The raw responses behind a trace, for the manifest (evidence for a case file).

Adapters archive every raw response in the store with its redacted URL. A response counts
as used by a trace when its URL names an address (query `address=`, path `/address/…`)
or a transaction (`txhash=`, `/tx/…`) that the trace read.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

_QUERY_KEYS = ("address", "txhash")
_PATH_MARKERS = ("address", "tx")


class _Archive(Protocol):
    def list_responses(self, *, source: str | None = None) -> list[Any]: ...


def referenced_keys(url: str) -> set[str]:
    """Addresses and transaction hashes named in a response URL, lowercased."""
    parts = urlsplit(url)
    found = {value.lower() for key in _QUERY_KEYS for value in parse_qs(parts.query).get(key, [])}
    segments = [s for s in parts.path.split("/") if s]
    for marker, value in itertools.pairwise(segments):
        if marker in _PATH_MARKERS:
            found.add(value.lower())
    return found


def collect_raw_responses(store: _Archive, keys: Iterable[str]) -> list[dict[str, Any]]:
    """`{sha256, source, url, size}` of every archived response naming one of `keys`, sorted by hash."""
    wanted = {k.lower() for k in keys}
    used = [
        {"sha256": r.sha256, "source": r.source, "url": r.url, "size": r.size}
        for r in store.list_responses()
        if referenced_keys(r.url) & wanted
    ]
    return sorted(used, key=lambda r: (r["sha256"], r["url"]))
