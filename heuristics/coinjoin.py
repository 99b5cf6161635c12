"""CoinJoin detectors (docs METHODS §3): generic equal-output, Whirlpool, Wasabi 1.x and Wasabi 2.

Each detector is a pure function of one transaction returning a :class:`CoinJoin` (the
pattern named, with an explanation) or None. :func:`detect_coinjoin` tries the specific
patterns first and the generic one last.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from tracer.core.models import UtxoTx

SAT = 100_000_000
#: Whirlpool pool denominations (0.001, 0.01, 0.05, 0.5 BTC).
WHIRLPOOL_POOLS: tuple[int, ...] = (100_000, 1_000_000, 5_000_000, 50_000_000)
#: Wasabi 1.x base denomination (~0.1 BTC) and the relative slack around it and its doublings.
WASABI1_BASE = 10_000_000
WASABI1_TOLERANCE = 0.05
WASABI1_MIN_EQUAL = 10
WASABI2_MIN_INPUTS = 50
#: Fewest inputs and fewest positive outputs any detector accepts (see :func:`may_be_coinjoin`).
PREFILTER_MIN_INPUTS = 2
PREFILTER_MIN_OUTPUTS = 3


@dataclass(frozen=True, slots=True)
class CoinJoin:
    """A detected CoinJoin: `pattern` is generic | whirlpool | wasabi-1 | wasabi-2."""

    txid: str
    pattern: str
    denomination: int  # the (most common) equal output value, satoshi
    equal_outputs: int
    explanation: str


def _values(tx: UtxoTx) -> list[int]:
    return [o.value for o in tx.outputs if o.address is not None and o.value > 0]


def _distinct_inputs(tx: UtxoTx) -> int:
    return len({i.address for i in tx.inputs if i.address})


def detect_generic_coinjoin(tx: UtxoTx) -> CoinJoin | None:
    """≥2 inputs, ≥3 outputs, the most common output value appears n ≥ 2 times with n ≤ inputs
    and at least n distinct input addresses."""
    values = _values(tx)
    if len(tx.inputs) < 2 or len(values) < 3:
        return None
    value, n = max(Counter(values).items(), key=lambda kv: (kv[1], kv[0]))
    distinct = _distinct_inputs(tx)
    if n < 2 or n > len(tx.inputs) or distinct < n:
        return None
    return CoinJoin(
        tx.txid,
        "generic",
        value,
        n,
        f"{n} outputs of {value} sat from {len(tx.inputs)} inputs ({distinct} distinct addresses)",
    )


def detect_whirlpool(tx: UtxoTx) -> CoinJoin | None:
    """Samourai Whirlpool: exactly 5 inputs and 5 outputs, all outputs one pool denomination,
    5 distinct input addresses, every input at least the denomination."""
    values = _values(tx)
    if len(tx.inputs) != 5 or len(tx.outputs) != 5 or len(values) != 5 or len(set(values)) != 1:
        return None
    denom = values[0]
    if denom not in WHIRLPOOL_POOLS or _distinct_inputs(tx) != 5 or any(i.value < denom for i in tx.inputs):
        return None
    return CoinJoin(tx.txid, "whirlpool", denom, 5, f"5×5 Whirlpool mix in the {denom / SAT:g} BTC pool")


def _wasabi1_level(value: int) -> int | None:
    """k when `value` is within the tolerance of 0.1 BTC × 2**k (k = 0..8), else None."""
    for k in range(9):
        target = WASABI1_BASE << k
        if abs(value - target) <= WASABI1_TOLERANCE * target:
            return k
    return None


def detect_wasabi1(tx: UtxoTx) -> CoinJoin | None:
    """Wasabi 1.x: ≥10 equal outputs near 0.1 BTC (or a power-of-two multiple of it)."""
    values = _values(tx)
    if len(tx.inputs) < WASABI1_MIN_EQUAL:
        return None
    for value, n in sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])):
        if n < WASABI1_MIN_EQUAL:
            break
        level = _wasabi1_level(value)
        if level is not None:
            return CoinJoin(
                tx.txid, "wasabi-1", value, n, f"{n} equal outputs of {value} sat ≈ 0.1 BTC × 2^{level} (Wasabi 1.x)"
            )
    return None


def detect_wasabi2(tx: UtxoTx) -> CoinJoin | None:
    """Wasabi 2 (WabiSabi): 50+ inputs from distinct addresses and several repeated, varied denominations."""
    if len(tx.inputs) < WASABI2_MIN_INPUTS or _distinct_inputs(tx) < WASABI2_MIN_INPUTS * 9 // 10:
        return None
    counts = Counter(_values(tx))
    repeated = {v: n for v, n in counts.items() if n >= 2}
    if len(repeated) < 3:
        return None
    value, n = max(repeated.items(), key=lambda kv: (kv[1], kv[0]))
    return CoinJoin(
        tx.txid,
        "wasabi-2",
        value,
        n,
        f"{len(tx.inputs)} inputs, {len(repeated)} repeated denominations (largest group {n}× {value} sat)",
    )


def may_be_coinjoin(inputs: int, output_values: Iterable[int]) -> bool:
    """A cheap necessary condition for :func:`detect_coinjoin`: False means no detector can match.

    `inputs` is the number of inputs, `output_values` the value of every output (addressed or not).
    Every detector needs ≥2 inputs and, among the outputs it counts (:func:`_values`: addressed,
    positive value, a subset of the positive ones), ≥3 values with one of them repeated: generic
    (≥2 inputs, ≥3 values, most common n ≥ 2), Whirlpool (5 inputs, 5 equal values), Wasabi 1.x
    (≥10 inputs, ≥10 equal values), Wasabi 2 (≥50 inputs, ≥3 repeated values). So a transaction
    whose positive output values are fewer than 3 or all different is no CoinJoin, and the
    whole-chain cluster job links it without building a record (its engines evaluate exactly this
    condition on their columns; tests/test_cluster_prefilter.py checks both against this function).
    """
    if inputs < PREFILTER_MIN_INPUTS:
        return False
    positive = [v for v in output_values if v > 0]
    return len(positive) >= PREFILTER_MIN_OUTPUTS and len(set(positive)) < len(positive)


DETECTORS = (detect_whirlpool, detect_wasabi2, detect_wasabi1, detect_generic_coinjoin)


def detect_coinjoin(tx: UtxoTx) -> CoinJoin | None:
    """The first matching pattern (specific before generic), or None."""
    for detector in DETECTORS:
        found = detector(tx)
        if found is not None:
            return found
    return None
