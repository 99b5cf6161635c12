"""The pinned tips' times: the block time of each chain's pinned tip, for the manifest (`tip_times`).

Unmoved value is valued at the pinned tip's time, so the bundle records it. The time is asked once
per (trace, chain, tip block) from adapters that offer `fetch_block_time(chain, block)` and kept in
the store's metadata, so a re-run (also `--offline`) records the same time. A chain whose source
cannot say (or an offline run that never asked) gets no entry; its unmoved value is then unpriced.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tracer.core.errors import SourceError
from tracer.core.networks import get_chain

LOG = logging.getLogger(__name__)


def tip_time_key(pin_key: str, chain: str, block: int) -> str:
    return f"tiptime:{pin_key}:{chain}:{block}"


def pinned_tip_times(
    adapters: Mapping[str, Any], heights: Mapping[str, int], *, store: Any, pin_key: str, offline: bool
) -> dict[str, int]:
    """Chain slug -> unix time of its pinned tip block, where known."""
    out: dict[str, int] = {}
    can_keep = store is not None and hasattr(store, "read_meta")
    for chain, block in sorted(heights.items()):
        key = tip_time_key(pin_key, chain, int(block))
        stored = store.read_meta(key) if can_keep else None
        if stored is not None:
            out[chain] = int(stored)
            continue
        fetch = getattr(adapters.get(chain), "fetch_block_time", None)
        if offline or fetch is None:
            continue
        try:
            out[chain] = int(fetch(get_chain(chain), int(block)))
        except SourceError as exc:
            LOG.warning("no time for the pinned %s tip %s: %s", chain, block, exc)
            continue
        if can_keep:
            store.write_meta(key, str(out[chain]))
    return out


def source_adapters(sources: Any) -> dict[str, Any]:
    """Chain slug -> the adapter behind a trace's history services."""
    adapters: dict[str, Any] = dict(getattr(sources.account, "adapters", None) or {})
    adapters.update({chain: service.adapter for chain, service in (sources.utxo or {}).items()})
    return adapters
