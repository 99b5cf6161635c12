"""Bitcoin-only trace options: address clustering and change detection (the case's `[trace]` keys
`clustering`, `cluster_depth`, `cluster_max_size`, `cluster_reads` and `change_rules`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from heuristics.change import DEFAULT_HEURISTICS, HEURISTICS

DEFAULT_CLUSTER_DEPTH = 1
MAX_CLUSTER_DEPTH = 5
#: A merge making a cluster larger than this is refused as service-sized (and reported).
DEFAULT_CLUSTER_MAX_SIZE = 500
MAX_CLUSTER_MAX_SIZE = 1_000_000
#: Address histories read at most for one clustering decision.
DEFAULT_CLUSTER_READS = 8
MAX_CLUSTER_READS = 1_000
CHANGE_RULES: tuple[str, ...] = tuple(HEURISTICS)
#: BlockSci's default rules, then the peel shape where they leave a hop undecided.
DEFAULT_CHANGE_RULES: tuple[str, ...] = (*DEFAULT_HEURISTICS, "peel-shape")


@dataclass(frozen=True, slots=True)
class UtxoOptions:
    """How the UTXO engine uses clustering and change detection.

    - `clustering`: an output whose address is co-spent (multi-input, CoinJoins excluded) with a
      labelled service address is an endpoint of that service;
    - `cluster_depth`: rounds of address histories read to grow a cluster beyond the output's own
      spending transaction (0: that transaction only, which the trace reads anyway);
    - `cluster_max_size`: merges past this size are refused as service-sized, and reported;
    - `cluster_reads`: address histories read at most per decision;
    - `change_rules`: the BlockSci change rules that pick each hop's continuation (empty: off).
    """

    clustering: bool = True
    cluster_depth: int = DEFAULT_CLUSTER_DEPTH
    cluster_max_size: int = DEFAULT_CLUSTER_MAX_SIZE
    cluster_reads: int = DEFAULT_CLUSTER_READS
    change_rules: tuple[str, ...] = DEFAULT_CHANGE_RULES

    def doc(self) -> dict[str, Any]:
        """The options as JSON-ready values (fingerprint and summary)."""
        return {
            "clustering": self.clustering,
            "cluster_depth": self.cluster_depth,
            "cluster_max_size": self.cluster_max_size,
            "cluster_reads": self.cluster_reads,
            "change_rules": list(self.change_rules),
        }
