"""Bitcoin change detection: BlockSci's heuristics (docs METHODS §3), each a pure, explained rule.

Every heuristic takes a transaction and a :class:`ChangeContext` and returns a
:class:`ChangeVerdict`: the output indices it still allows to be change, and why. Heuristics
only *rule outputs out*; :func:`detect_change` intersects the verdicts of the enabled ones
and calls a unique survivor the change. OP_RETURN / address-less outputs are never change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from tracer.core.addresses import address_type
from tracer.core.errors import BadInput
from tracer.core.models import TxOutput, UtxoTx


@dataclass(frozen=True, slots=True)
class ChangeVerdict:
    """What one heuristic concluded: the outputs that may still be change, and why."""

    heuristic: str
    candidates: frozenset[int]
    explanation: str


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """The combined answer: the change output index (or None) and every heuristic's verdict."""

    change: int | None
    candidates: frozenset[int]
    verdicts: tuple[ChangeVerdict, ...]

    @property
    def explanation(self) -> str:
        lines = [f"{v.heuristic}: {v.explanation}" for v in self.verdicts]
        if self.change is None:
            lines.append(f"no unique change output (candidates left: {sorted(self.candidates)})")
        else:
            lines.append(f"output {self.change} is the change")
        return "; ".join(lines)


@dataclass(frozen=True, slots=True)
class ChangeContext:
    """What some heuristics need beyond the transaction itself (all optional).

    - `first_seen`: address -> txid of the first transaction that paid it (fresh-address rule);
    - `spenders`: (txid, vout) -> the transaction that spends that output (locktime / fee-rate rules);
    - `round_digits`: a value is round when divisible by 10**round_digits satoshi (default 0.001 BTC);
    - `fee_rate_tolerance`: relative difference under which two fee rates count as "the same".
    """

    first_seen: Mapping[str, str] = field(default_factory=dict)
    spenders: Mapping[tuple[str, int], UtxoTx] = field(default_factory=dict)
    round_digits: int = 5
    fee_rate_tolerance: float = 0.1


# ----------------------------------------------------------------------------- helpers

PEEL_DUST = 1_000  # satoshi: outputs at or below this are noise beside a peel step's two outputs


_INPUT_VBYTES = {"p2pkh": 148, "p2sh": 91, "p2wpkh": 68, "p2wsh": 105, "p2tr": 58}
_OUTPUT_VBYTES = {"p2pkh": 34, "p2sh": 32, "p2wpkh": 31, "p2wsh": 43, "p2tr": 43}


def estimate_vsize(tx: UtxoTx) -> int:
    """Virtual size estimated from standard input/output sizes (the records carry no weight)."""
    size = 11
    size += sum(_INPUT_VBYTES.get(address_type(i.address), 148) for i in tx.inputs)
    size += sum(_OUTPUT_VBYTES.get(address_type(o.address), 43) for o in tx.outputs)
    return size


def spendable_outputs(tx: UtxoTx) -> frozenset[int]:
    """Outputs that can be change at all: they have an address (never OP_RETURN)."""
    return frozenset(o.index for o in tx.outputs if o.address is not None and o.value > 0)


def _verdict(name: str, tx: UtxoTx, keep: Iterable[int], why: str) -> ChangeVerdict:
    return ChangeVerdict(name, frozenset(keep) & spendable_outputs(tx), why)


def _outs(tx: UtxoTx) -> list[TxOutput]:
    allowed = spendable_outputs(tx)
    return [o for o in tx.outputs if o.index in allowed]


# ----------------------------------------------------------------------------- heuristics


def detect_change_fresh_address(tx: UtxoTx, ctx: ChangeContext) -> ChangeVerdict:
    """Change goes to a fresh address: rule out outputs whose address was paid before this tx."""
    keep, used = [], []
    for o in _outs(tx):
        first = ctx.first_seen.get(o.address or "")
        if first is None or first == tx.txid:
            keep.append(o.index)
        else:
            used.append(o.index)
    why = f"outputs {used} pay addresses seen before" if used else "every output address is fresh"
    return _verdict("fresh-address", tx, keep, why)


def detect_change_optimal(tx: UtxoTx, ctx: ChangeContext) -> ChangeVerdict:
    """Optimal change: a wallet would not add an input it did not need, so change is smaller than every input."""
    if not tx.inputs or any(i.coinbase for i in tx.inputs):
        return _verdict("optimal-change", tx, (), "coinbase or no inputs: no change")
    smallest = min(i.value for i in tx.inputs)
    keep = [o.index for o in _outs(tx) if o.value < smallest]
    return _verdict("optimal-change", tx, keep, f"outputs {keep} are smaller than the smallest input ({smallest} sat)")


def detect_change_address_type(tx: UtxoTx, ctx: ChangeContext) -> ChangeVerdict:
    """Change has the inputs' address type (when all inputs share one)."""
    kinds = {address_type(i.address) for i in tx.inputs if i.address}
    if len(kinds) != 1:
        return _verdict("address-type", tx, spendable_outputs(tx), "inputs have mixed or unknown types: no rule")
    (kind,) = kinds
    keep = [o.index for o in _outs(tx) if address_type(o.address) == kind]
    return _verdict("address-type", tx, keep, f"outputs {keep} share the inputs' type {kind}")


def detect_change_non_round(tx: UtxoTx, ctx: ChangeContext) -> ChangeVerdict:
    """Payments are round (a power-of-ten multiple); change is what is left, so not round."""
    unit = 10**ctx.round_digits
    keep = [o.index for o in _outs(tx) if o.value % unit]
    rounds = [o.index for o in _outs(tx) if not o.value % unit]
    return _verdict(
        "non-round", tx, keep, f"outputs {rounds} are round multiples of {unit} sat" if rounds else "no round output"
    )


def detect_change_locktime(tx: UtxoTx, ctx: ChangeContext) -> ChangeVerdict:
    """The same wallet spends its change with the same locktime behaviour (zero vs non-zero)."""
    mine = tx.locktime > 0
    keep, differ = [], []
    for o in _outs(tx):
        spender = ctx.spenders.get((tx.txid, o.index))
        if spender is not None and (spender.locktime > 0) != mine:
            differ.append(o.index)
        else:
            keep.append(o.index)
    why = (
        f"outputs {differ} are spent with a different locktime behaviour"
        if differ
        else "no spender differs in locktime"
    )
    return _verdict("locktime", tx, keep, why)


def detect_change_address_reuse(tx: UtxoTx, ctx: ChangeContext) -> ChangeVerdict:
    """A wallet that reuses addresses sends change back to an input address: that output is change."""
    inputs = {i.address for i in tx.inputs if i.address}
    back = [o.index for o in _outs(tx) if o.address in inputs]
    if not back:
        return _verdict("address-reuse", tx, spendable_outputs(tx), "no output returns to an input address: no rule")
    return _verdict("address-reuse", tx, back, f"outputs {back} pay back to an input address")


def detect_change_fee_rate(tx: UtxoTx, ctx: ChangeContext) -> ChangeVerdict:
    """The same wallet spends its change at about the same fee rate (sat/vB)."""
    rate = tx.fee / estimate_vsize(tx)
    keep, differ = [], []
    for o in _outs(tx):
        spender = ctx.spenders.get((tx.txid, o.index))
        if spender is None or not rate:
            keep.append(o.index)
            continue
        other = spender.fee / estimate_vsize(spender)
        if abs(other - rate) <= ctx.fee_rate_tolerance * rate:
            keep.append(o.index)
        else:
            differ.append(o.index)
    why = (
        f"outputs {differ} are spent at another fee rate than {rate:.1f} sat/vB"
        if differ
        else "no spender differs in fee rate"
    )
    return _verdict("fee-rate", tx, keep, why)


def detect_change_peel_shape(tx: UtxoTx, ctx: ChangeContext) -> ChangeVerdict:
    """A peel step (Kappos et al. 2022, not BlockSci): one owner spends into one payment and a remainder
    at least twice as large; the remainder is the change. Other shapes: no rule."""
    owners = {i.address for i in tx.inputs}
    main = [o for o in _outs(tx) if o.value > PEEL_DUST]
    if len(owners) != 1 or None in owners or len(tx.inputs) > 3 or len(main) != 2:
        return _verdict("peel-shape", tx, spendable_outputs(tx), "not a one-owner, two-output peel step: no rule")
    small, large = sorted(main, key=lambda o: (o.value, o.index))
    if large.value < 2 * small.value:
        return _verdict("peel-shape", tx, spendable_outputs(tx), "no output is twice the other: no rule")
    return _verdict("peel-shape", tx, (large.index,), f"output {large.index} is the peel remainder (≥ 2× the payment)")


Heuristic = Callable[[UtxoTx, ChangeContext], ChangeVerdict]

#: Every change heuristic by name, in the order they are applied.
HEURISTICS: dict[str, Heuristic] = {
    "fresh-address": detect_change_fresh_address,
    "optimal-change": detect_change_optimal,
    "address-type": detect_change_address_type,
    "non-round": detect_change_non_round,
    "locktime": detect_change_locktime,
    "address-reuse": detect_change_address_reuse,
    "fee-rate": detect_change_fee_rate,
    "peel-shape": detect_change_peel_shape,
}

DEFAULT_HEURISTICS: tuple[str, ...] = ("optimal-change", "address-type", "non-round", "address-reuse")


def detect_change(
    tx: UtxoTx, ctx: ChangeContext | None = None, *, heuristics: Iterable[str] = DEFAULT_HEURISTICS
) -> ChangeResult:
    """Intersect the enabled heuristics' candidates; a unique survivor is the change output.

    Transactions with fewer than two spendable outputs have no change.
    """
    ctx = ctx or ChangeContext()
    names = list(heuristics)
    unknown = [n for n in names if n not in HEURISTICS]
    if unknown:
        raise BadInput(f"unknown change heuristic {unknown[0]!r}; expected one of: {', '.join(HEURISTICS)}")
    candidates = spendable_outputs(tx)
    if len(candidates) < 2:
        return ChangeResult(None, candidates, ())
    verdicts = []
    for name in names:
        verdict = HEURISTICS[name](tx, ctx)
        verdicts.append(verdict)
        candidates &= verdict.candidates
    change = next(iter(candidates)) if len(candidates) == 1 else None
    return ChangeResult(change, candidates, tuple(verdicts))
