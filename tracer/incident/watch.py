"""One watch round: re-trace the case past its pinned tip and report new outflows of watched addresses.

The bundle's case is traced again with the chain tips moved to the live tips (the pinned tips of
the original trace stay as they were, so `heisttrace trace` still answers as before). Taint only
moves forward in time, so everything up to the old tip is unchanged; an outflow of a watched
address after the old tip carries exactly the stolen share the bundle's policy gives it (the
engine's own replay computes it). Each outflow is an alert once: the store remembers it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tracer.core.networks import get_chain
from tracer.incident.bundle import Bundle


@dataclass
class MovedTips:
    """A history provider whose chain tips are the live ones (fetched once per round); the rest delegates."""

    inner: Any
    tips: dict[str, int]

    @property
    def requests(self) -> int:
        return int(getattr(self.inner, "requests", 0))

    def tip(self, chain: Any, *, pin_key: str | None = None) -> int:
        slug = getattr(chain, "slug", chain)
        if slug not in self.tips:
            self.tips[slug] = live_tip(self.inner, slug)
        return self.tips[slug]

    def history(self, chain: Any, address: str, **options: Any) -> Any:
        if options.get("end_block") is None:
            options["end_block"] = self.tip(chain)
        return self.inner.history(chain, address, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def live_tip(history: Any, slug: str) -> int:
    """The current tip of one chain, from its adapter (never the pinned one)."""
    chain = get_chain(slug)
    return int(history._adapter(chain).fetch_tip(chain))


def live_tips(history: Any, chains: list[str]) -> dict[str, int]:
    """The current tip of each chain."""
    return {slug: live_tip(history, slug) for slug in chains}


def retrace(bundle: Bundle, case: Any, *, store: Any, api_url: str | None, api_key: str | None) -> tuple[Any, dict]:
    """The case traced again up to the live tips; returns (TraceResult, live tips)."""
    from tracer.account.engine import Engine
    from tracer.account.result import build_result
    from tracer.api import _default_labels
    from tracer.cases.plan import build_plan
    from tracer.sources.factory import build_sources

    plan = build_plan(
        case,
        policy=bundle.summary.get("policy"),
        strategy=bundle.summary.get("strategy"),
        api_url=api_url,
        api_key=api_key,
    )
    config = plan.config
    inner = build_sources(plan, store).account
    if inner is None:
        from tracer.core.errors import BadInput

        raise BadInput("watch follows account chains (EVM) only; this case has no seed on one")
    tips = live_tips(inner, sorted(bundle.tips))
    history = MovedTips(inner, dict(tips))
    engine = Engine(config, history=history, labels=_default_labels(store), checkpoints=None)
    return build_result(engine.run()), tips


def new_outflows(bundle: Bundle, result: Any) -> Iterator[dict[str, Any]]:
    """Alerts: each value-moving outflow of a watched address after the bundle's pinned tip."""
    watched = set(bundle.watched())
    tips = bundle.tips
    labels = {(r["chain"], r["address"]): (r["label"], r["category"]) for r in result.addresses.iter_rows(named=True)}
    for row in result.endpoints.iter_rows(named=True):
        labels.setdefault((row["chain"], row["address"]), (row["label"], row["category"]))
    for f in result.flows.sort(["chain", "block", "tx_hash", "position"]).iter_rows(named=True):
        chain, sender = f["chain"], f["from"]
        if (chain, sender) not in watched or f["to"] == "fee" or int(f["block"]) <= tips.get(chain, 0):
            continue
        label, category = labels.get((chain, f["to"]), ("", ""))
        yield {
            "chain": chain,
            "address": sender,
            "tx_hash": f["tx_hash"],
            "position": int(f["position"]),
            "block": int(f["block"]),
            "timestamp": f["timestamp"],
            "to": f["to"],
            "to_label": label or "",
            "to_category": category or "",
            "asset": f["asset"],
            "asset_id": f["asset_id"],
            "amount": str(f["amount"]),
            "stolen_amount": str(f["tainted_amount"]),
        }
