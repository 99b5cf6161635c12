"""Peel-chain detection (Kappos et al., "How to Peel a Million", 2022).

A peel step spends one coin (one input, or a few inputs of one address) into two outputs: a
small *payment* and a larger *remainder* that the next step spends the same way. A chain is
a run of at least `min_steps` such steps linked through their remainders; dust or OP_RETURN
outputs beside the two main outputs are tolerated as noise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tracer.core.models import TxOutput, UtxoTx

DUST = 1_000  # satoshi: outputs at or below this are noise, not payments


@dataclass(frozen=True, slots=True)
class PeelStep:
    """One step: the transaction, the payment peeled off and the remainder that continues."""

    txid: str
    payment: TxOutput
    remainder: TxOutput


@dataclass(frozen=True, slots=True)
class PeelChain:
    """A peel chain reported as one path: its steps, the payments and where the remainder ended."""

    steps: tuple[PeelStep, ...]

    @property
    def start(self) -> str:
        return self.steps[0].txid

    @property
    def payments(self) -> tuple[TxOutput, ...]:
        return tuple(s.payment for s in self.steps)

    @property
    def peeled_total(self) -> int:
        return sum(s.payment.value for s in self.steps)

    @property
    def explanation(self) -> str:
        return (
            f"{len(self.steps)} peel steps from {self.start}: each spends one coin into a payment and a larger "
            f"remainder; {self.peeled_total} sat peeled off in {len(self.steps)} payments"
        )


def detect_peel_step(tx: UtxoTx, *, ratio: float = 2.0, dust: int = DUST) -> PeelStep | None:
    """The step when `tx` spends one owner's coin into one payment and a remainder ≥ `ratio` × payment."""
    owners = {i.address for i in tx.inputs}
    if not tx.inputs or len(owners) != 1 or None in owners or len(tx.inputs) > 3:
        return None
    main = [o for o in tx.outputs if o.address is not None and o.value > dust]
    if len(main) != 2:
        return None
    small, large = sorted(main, key=lambda o: (o.value, o.index))
    if large.value < ratio * small.value or (large.address in owners and small.address in owners):
        return None
    return PeelStep(tx.txid, small, large)


def detect_peel_chain(
    start: UtxoTx,
    spender: Callable[[str, int], UtxoTx | None],
    *,
    min_steps: int = 3,
    ratio: float = 2.0,
    max_steps: int = 100_000,
) -> PeelChain | None:
    """Follow remainders from `start` while each spender is a peel step; None if shorter than `min_steps`.

    `spender(txid, vout)` returns the transaction spending that output (or None when unspent/unknown).
    """
    steps: list[PeelStep] = []
    tx: UtxoTx | None = start
    seen: set[str] = set()
    while tx is not None and tx.txid not in seen and len(steps) < max_steps:
        seen.add(tx.txid)
        step = detect_peel_step(tx, ratio=ratio)
        if step is None:
            break
        steps.append(step)
        tx = spender(tx.txid, step.remainder.index)
    return PeelChain(tuple(steps)) if len(steps) >= min_steps else None


def detect_peel_chains(txs: Mapping[str, UtxoTx], *, min_steps: int = 3, ratio: float = 2.0) -> list[PeelChain]:
    """Every maximal peel chain among `txs` (a chain starts at a step not continuing another step)."""
    spent_by: dict[tuple[str, int], str] = {}
    for tx in txs.values():
        for i in tx.inputs:
            if i.prev_txid is not None and i.prev_vout is not None:
                spent_by[(i.prev_txid, i.prev_vout)] = tx.txid

    def spender(txid: str, vout: int) -> UtxoTx | None:
        child = spent_by.get((txid, vout))
        return txs.get(child) if child else None

    continued: set[str] = set()
    for txid in sorted(txs):
        step = detect_peel_step(txs[txid], ratio=ratio)
        if step is not None:
            child = spender(txid, step.remainder.index)
            if child is not None:
                continued.add(child.txid)
    chains = []
    for txid in sorted(txs):
        if txid in continued:
            continue
        chain = detect_peel_chain(txs[txid], spender, min_steps=min_steps, ratio=ratio)
        if chain is not None:
            chains.append(chain)
    return chains


@dataclass(frozen=True, slots=True)
class ChangeStep:
    """One hop whose change output change detection found: the change continues, the rest are payments."""

    txid: str
    change: TxOutput
    payments: tuple[TxOutput, ...]


def change_paths(
    txs: Mapping[str, UtxoTx], change: Mapping[str, int], *, min_steps: int = 3
) -> list[tuple[ChangeStep, ...]]:
    """Peel chains steered by change detection: runs of at least `min_steps` hops, each spending the
    previous hop's change output. `change` maps a txid of `txs` to its change output's index.

    A hop's payments are its other outputs that hold value at an address. Paths are returned in
    order of their first transaction id, so the answer does not depend on the mapping's order.
    """
    spent_by: dict[tuple[str, int], str] = {}
    for tx in txs.values():
        for i in tx.inputs:
            if i.prev_txid is not None and i.prev_vout is not None:
                spent_by[(i.prev_txid, i.prev_vout)] = tx.txid

    def step(txid: str) -> ChangeStep:
        tx, c = txs[txid], change[txid]
        payments = tuple(o for o in tx.outputs if o.index != c and o.address is not None and o.value > 0)
        return ChangeStep(txid, tx.outputs[c], payments)

    following: dict[str, str] = {}
    for txid in sorted(change):
        if txid not in txs:
            continue
        child = spent_by.get((txid, change[txid]))
        if child is not None and child in change and child in txs:
            following[txid] = child
    continued = set(following.values())
    paths = []
    for txid in sorted(t for t in change if t in txs and t not in continued):
        run, seen = [step(txid)], {txid}
        while run[-1].txid in following and following[run[-1].txid] not in seen:
            nxt = following[run[-1].txid]
            seen.add(nxt)
            run.append(step(nxt))
        if len(run) >= min_steps:
            paths.append(tuple(run))
    return paths
