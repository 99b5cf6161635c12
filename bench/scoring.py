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
from dataclasses import asdict, dataclass, field


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


# -- amounts (issue 13) ------------------------------------------------------------------------
#
# * **stolen / theft** per asset: summary.json ``assets[k]["stolen"]`` over the true theft (what the
#   seeds received in the window from non-seed senders that are not labelled services). Must be 1,
#   except that stolen value a laundering address pays back into a seed (a round trip, recorded in
#   ``recirculated``) is not stolen again: `stolen_exact` holds when theft − recirculated ≤ stolen ≤ theft.
# * **innocent inflow**: at every confounder endpoint (a deposit address, per-order address or
#   counterparty the thief paid), what the trace counts there as stolen or thief funds beyond what
#   the thief paid it, summed; also as a share of what the thief paid them. Truth: 0.
# * **exchange withdrawals as stolen / as thief funds**: the taint a trace puts on the flow rows of
#   exchange withdrawals into laundering addresses. Truth (stolen): 0.
# * **endpoint amount error**: Σ |reported − true| / Σ true over the true endpoints (expert terminals:
#   what the laundering addresses paid them; confounder endpoints: what the thief paid them), where
#   reported = stolen + thief funds at that endpoint (endpoints.csv, else addresses.csv).
#
# Thief-controlled value is read from a ``thief_funds`` key per asset and from the first column whose
# name starts with ``thief_funds`` (not ``_usd``) of each table, when present; absent counts as zero.


@dataclass(frozen=True, slots=True)
class AmountTruth:
    """The amounts a perfect trace reports, in base units of `asset` (the benchmark token)."""

    asset: str  # asset key, e.g. "ethereum:0x…"
    decimals: int
    theft: dict[str, int]  # asset key -> true theft (base units)
    decimals_of: dict[str, int]  # asset key -> decimals
    endpoints: dict[str, int]  # address -> what the thieves paid it
    confounder_endpoints: dict[str, int]  # address -> what the thief paid it (subset of endpoints)
    innocent: frozenset[str]
    withdrawals: tuple[tuple[str, str, int], ...]  # (tx hash, to, base units)
    recirculated: dict[str, int] = field(default_factory=dict)  # asset key -> laundering addresses' payments to seeds


def to_units(text: object, decimals: int) -> int:
    """A decimal string of a bundle in base units ('' or None -> 0)."""
    from decimal import Decimal, InvalidOperation

    try:
        return int(Decimal(str(text or "0")) * (10**decimals))
    except InvalidOperation:
        return 0


def _thief_column(row: dict[str, object]) -> str | None:
    return next((k for k in row if k.startswith("thief_funds") and not k.endswith("_usd")), None)


def _both(row: dict[str, object], taint_column: str, decimals: int) -> tuple[int, int]:
    column = _thief_column(row)
    return to_units(row.get(taint_column), decimals), to_units(row.get(column), decimals) if column else 0


def score_amounts(
    truth: AmountTruth,
    *,
    summary: dict[str, object],
    addresses: Iterable[dict[str, object]],
    flows: Iterable[dict[str, object]],
    endpoints: Iterable[dict[str, object]],
) -> dict[str, object]:
    """The amount metrics of one trace (rows are the bundle's CSV rows as dicts)."""
    assets = summary.get("assets", {}) if isinstance(summary.get("assets"), dict) else {}
    ratios: dict[str, float] = {}
    excess: dict[str, str] = {}
    exact = True
    for key, theft in sorted(truth.theft.items()):
        decimals = truth.decimals_of.get(key, 18)
        reported = to_units((assets.get(key) or {}).get("stolen"), decimals)  # type: ignore[union-attr]
        ratios[key] = round(reported / theft, 6) if theft else 1.0
        excess[key] = str(reported - theft)
        exact = exact and theft - truth.recirculated.get(key, 0) <= reported <= theft
    d = truth.decimals
    received: dict[str, int] = {}
    traced: set[str] = set()
    for row in addresses:
        address = str(row.get("address", "")).lower()
        traced.add(address)
        if row.get("asset") == truth.asset:
            stolen, thief = _both(row, "tainted_in", d)
            received[address] = received.get(address, 0) + stolen + thief
    at_endpoint: dict[str, int] = {}
    for row in endpoints:
        if row.get("asset") == truth.asset:
            address = str(row.get("address", "")).lower()
            stolen, thief = _both(row, "tainted_amount", d)
            at_endpoint[address] = at_endpoint.get(address, 0) + stolen + thief
    paid = sum(truth.confounder_endpoints.values())
    innocent_in = sum(max(0, received.get(a, 0) - v) for a, v in truth.confounder_endpoints.items())
    withdrawn = {tx: (to, amount) for tx, to, amount in truth.withdrawals}
    w_stolen = w_thief = 0
    for row in flows:
        hit = withdrawn.get(str(row.get("tx_hash", "")).lower())
        if hit and str(row.get("to", "")).lower() == hit[0] and row.get("asset_id") in (truth.asset.split(":")[-1],):
            stolen, thief = _both(row, "tainted_amount", d)
            w_stolen, w_thief = w_stolen + stolen, w_thief + thief
    error = sum(abs(at_endpoint.get(a, received.get(a, 0)) - v) for a, v in truth.endpoints.items())
    true_total = sum(truth.endpoints.values())
    within = sum(1 for a, v in truth.endpoints.items() if abs(at_endpoint.get(a, received.get(a, 0)) - v) * 100 <= v)
    worst = max(ratios.values(), key=lambda r: abs(r - 1), default=1.0)
    return {
        "stolen_over_theft": ratios,
        "stolen_over_theft_worst": worst,
        "stolen_minus_theft_units": excess,
        "recirculated_units": {k: str(v) for k, v in sorted(truth.recirculated.items())},
        "stolen_exact": exact,
        "innocent_inflow_units": innocent_in,
        "innocent_inflow_share": round(innocent_in / paid, 4) if paid else 0.0,
        "thief_paid_confounders_units": paid,
        "innocent_addresses_traced": len(traced & truth.innocent),
        "withdrawals_as_stolen_units": w_stolen,
        "withdrawals_as_thief_funds_units": w_thief,
        "withdrawals_total_units": sum(a for _, _, a in truth.withdrawals),
        "endpoint_amount_error": round(error / true_total, 4) if true_total else 0.0,
        "endpoints_within_1pct": within,
        "endpoints_with_amounts": len(truth.endpoints),
    }


def load_bundle_rows(folder: object) -> dict[str, object]:
    """summary.json and the three CSV tables of a bundle folder, as dicts (for :func:`score_amounts`)."""
    import csv
    import json
    from pathlib import Path

    path = Path(str(folder))
    tables: dict[str, object] = {"summary": json.loads((path / "summary.json").read_text(encoding="utf-8"))}
    for name in ("addresses", "flows", "endpoints"):
        file = path / f"{name}.csv"
        if not file.is_file():
            tables[name] = []
            continue
        with file.open(newline="", encoding="utf-8") as handle:
            tables[name] = list(csv.DictReader(handle))
    return tables
