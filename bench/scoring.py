"""Score a trace against an expert answer: address recall/precision, endpoint recall, cost.

Definitions (also in docs/BENCHMARKS.md):

* *expected* = sources ∪ laundering addresses ∪ terminal addresses that appear in the expert flows.
* **address recall** = |traced ∩ laundering| / |laundering| (the sources are given, so they don't count).
* **precision** = |traced ∩ expected| / |traced|, where *traced* is every address of the trace's
  `addresses.csv` (seeds, transit, endpoints and below-threshold recipients): an address beyond a terminal (say, the hot
  wallet a deposit address sweeps to) or beside the flows (a duster, a gas funder) is a false positive.
* **endpoint recall** = |stopped ∩ terminals| / |terminals in the flows|, where *stopped* are the
  traced addresses at which followed value stops: those reported as endpoints, and those that
  received taint and passed none on (the funds rest there).
* **requests per traced address** = source requests / addresses whose history was fetched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Answer:
    """The expert answer as three sets of lowercase addresses."""

    sources: frozenset[str]
    laundering: frozenset[str]
    terminals: frozenset[str]  # only those that appear in the expert flows

    @property
    def expected(self) -> frozenset[str]:
        return self.sources | self.laundering | self.terminals


@dataclass(frozen=True, slots=True)
class Traced:
    """What a trace reported."""

    addresses: frozenset[str]  # every address in addresses.csv
    stopped: frozenset[str]  # endpoints and addresses where tainted value rests

    @classmethod
    def from_rows(
        cls,
        *,
        addresses: Iterable[tuple[str, str]],
        flows: Iterable[tuple[str, str, int]],
    ) -> Traced:
        """From (address, role) rows and (from, to, tainted_amount) flow rows."""
        roles: dict[str, set[str]] = {}
        for address, role in addresses:
            roles.setdefault(address.lower(), set()).add(role)
        senders = {src.lower() for src, _dst, tainted in flows if tainted > 0}
        stopped = {a for a, r in roles.items() if "endpoint" in r or ("seed" not in r and a not in senders)}
        return cls(frozenset(roles), frozenset(stopped))


@dataclass(frozen=True, slots=True)
class Score:
    address_recall: float
    precision: float
    endpoint_recall: float
    traced: int
    true_positives: int
    laundering_found: int
    laundering_total: int
    endpoints_found: int
    endpoints_total: int
    missed_laundering: tuple[str, ...]
    missed_endpoints: tuple[str, ...]
    false_positives: tuple[str, ...]

    def as_dict(self, *, with_lists: bool = False) -> dict[str, object]:
        data = asdict(self)
        if not with_lists:
            for key in ("missed_laundering", "missed_endpoints", "false_positives"):
                data[key] = len(data[key])
        return data


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 1.0


def score_trace(answer: Answer, traced: Traced) -> Score:
    """Compare one trace with the expert answer."""
    found = traced.addresses & answer.laundering
    correct = traced.addresses & answer.expected
    stopped_right = traced.stopped & answer.terminals
    return Score(
        address_recall=_ratio(len(found), len(answer.laundering)),
        precision=_ratio(len(correct), len(traced.addresses)),
        endpoint_recall=_ratio(len(stopped_right), len(answer.terminals)),
        traced=len(traced.addresses),
        true_positives=len(correct),
        laundering_found=len(found),
        laundering_total=len(answer.laundering),
        endpoints_found=len(stopped_right),
        endpoints_total=len(answer.terminals),
        missed_laundering=tuple(sorted(answer.laundering - found)),
        missed_endpoints=tuple(sorted(answer.terminals - stopped_right)),
        false_positives=tuple(sorted(traced.addresses - answer.expected)),
    )


def requests_per_address(requests: int, fetched_addresses: int) -> float:
    """Source requests per address whose history was fetched (0 when nothing was fetched)."""
    return round(requests / fetched_addresses, 3) if fetched_addresses else 0.0
