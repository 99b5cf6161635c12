"""Frontier scores: a transfer that carries both quantities counts once towards what moved (synthetic)."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

from tests.memory_source import addr, transfer
from tracer.account.frontier import make_frontier
from tracer.account.scores import FrontierScores
from tracer.cases.plan import SeedSpec, TraceConfig

A, B = addr(1), addr(2)


def test_a_transfer_carrying_stolen_value_and_thief_funds_is_material_once() -> None:
    """999 stolen + 1 thief funds less one base unit of rounding, in one transfer of 1,000: mostly taint."""
    config = TraceConfig("synthetic", (SeedSpec("ethereum", A),), min_taint=Fraction(1, 100))
    tr = transfer(1, 10, A, B, 1000)
    edge = (tr.tx_hash, tr.position)
    node = ("ethereum", B)
    state = SimpleNamespace(
        inflows={node: {edge: (998, False, tr)}},
        tf_inflows={node: {edge: (1, False, tr)}},
        hops={},
        bases={"ethereum:native": Fraction(1_000_000)},  # 0.1 % of the case: below min_taint
    )
    scorer = FrontierScores()
    scorer.state, scorer.config = state, config  # type: ignore[attr-defined]
    scorer.frontier = make_frontier("ranked", min_taint=config.min_taint, max_hops=None)  # type: ignore[attr-defined]
    scorer._rescore(node)  # type: ignore[attr-defined]
    assert scorer.frontier.pop() == node  # followed for being mostly taint, though below min_taint  # type: ignore[attr-defined]
