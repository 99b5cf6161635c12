"""How much of the case an address holds: the frontier's score, and the per-asset bases it is measured in.

Mixed into :class:`tracer.account.engine.Engine`. An address's score is the stolen value and thief
funds that reached it, each asset as a share of its base (the stolen total of the asset, or for an
asset reached only through swaps the swap's rate); a transfer at least `material_share` of which
is taint makes the address *material*, followed below `min_taint` down to `material_floor`.
"""

from __future__ import annotations

from fractions import Fraction

from tracer.account.frontier import Node
from tracer.account.ledger import asset_key
from tracer.core.models import Policy


class FrontierScores:
    """Mixin: score addresses for the frontier."""

    def _rescore(self, node: Node) -> None:
        inflows = self.state.inflows.get(node, {})
        hop = None
        reach: dict[str, int] = {}
        moved: dict[str, int] = {}  # the full amounts of the transfers that brought taint
        poison = self.config.policy is Policy.POISON
        tf_inflows = self.state.tf_inflows.get(node, {})
        counted: set[tuple[str, int]] = set()  # a transfer carrying both quantities is moved once
        for edge, (taint, poisoned, tr) in [*inflows.items(), *tf_inflows.items()]:
            r = tr.amount if poison and poisoned else taint
            if not r:
                continue
            k = asset_key(tr.asset)
            reach[k] = reach.get(k, 0) + r
            if edge not in counted:
                counted.add(edge)
                moved[k] = moved.get(k, 0) + tr.amount
            sender_hop = self.state.hops.get((node[0], tr.sender), 0)
            hop = sender_hop + 1 if hop is None else min(hop, sender_hop + 1)
        if not reach:
            self.frontier.remove(node)
            return
        self.state.hops[node] = hop or 0
        score = sum((Fraction(v) / self._base(k, v) for k, v in sorted(reach.items())), Fraction(0))
        cfg = self.config
        share = cfg.material_share
        material = (
            not poison
            and score < cfg.min_taint  # above it the node is eligible anyway
            and score >= cfg.material_floor
            and any(v * share.denominator >= share.numerator * moved[k] for k, v in reach.items() if moved[k] > 0)
        )
        self.frontier.push(node, score=score, hop=hop or 0, material=material)

    def _base(self, key: str, fallback: int) -> Fraction:
        base = self.state.bases.get(key)
        if base is None:
            base = self.state.bases[key] = Fraction(max(fallback, 1))
        return base

    def _update_bases(self) -> None:
        """Stolen totals per asset; assets reached only through swaps get the swap's rate."""
        bases = self.state.bases
        for k, v in sorted(self._stolen_by_asset().items()):
            if v > 0 and k not in bases:
                bases[k] = Fraction(v)
        for node in sorted(self.state.outcomes):
            for swap in self.state.outcomes[node].swaps:
                if swap.asset_in not in bases and swap.asset_out in bases and swap.taint_out > 0 and swap.taint_in > 0:
                    bases[swap.asset_in] = bases[swap.asset_out] * swap.taint_in / swap.taint_out
