"""Taint through one UTXO transaction, in exact integer satoshi (docs METHODS §1).

A coin's state is a tuple of *lots* ``(amount, tainted)`` in order (oldest first); their
amounts add up to the coin's value. :func:`propagate` lays the inputs' lots onto the outputs
under a policy and returns each output's lots and the fee's taint. The fee is a sink of its
own. Conservation is exact for every policy except poison: the sum of output and fee taint
equals the input taint. Poison reports the full value of any output reached by taint (it
"explodes"; the proportional haircut numbers are what conserve).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tracer.core.models import Policy, UtxoTx

Lot = tuple[int, int]  # (amount, tainted amount), 0 <= tainted <= amount
Lots = tuple[Lot, ...]


def clean(value: int) -> Lots:
    return ((value, 0),)


def tainted(value: int) -> Lots:
    return ((value, value),)


def taint_of(lots: Lots) -> int:
    if len(lots) == 1:
        return lots[0][1]
    return sum([t for _, t in lots])


def value_of(lots: Lots) -> int:
    if len(lots) == 1:
        return lots[0][0]
    return sum([a for a, _ in lots])


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split the integer `total` in proportion to `weights`, exactly (largest remainder, ties to the lower index)."""
    whole = sum(weights)
    if whole <= 0 or total == 0:
        return [0] * len(weights)
    if total == whole:
        return list(weights)
    shares = []
    remainders = []
    for i, w in enumerate(weights):
        q, r = divmod(total * w, whole)
        shares.append(q)
        remainders.append((-r, i))
    left = total - sum(shares)
    if left:
        remainders.sort()
        for _, i in remainders[:left]:
            shares[i] += 1
    return shares


def _haircut(inputs: Sequence[Lots], outputs: Sequence[int], fee: int) -> tuple[list[Lots], int]:
    total = sum([taint_of(x) for x in inputs])
    shares = apportion(total, [*outputs, fee])
    return [((v, s),) for v, s in zip(outputs, shares, strict=False)], shares[-1]


def _poison(inputs: Sequence[Lots], outputs: Sequence[int], fee: int) -> tuple[list[Lots], int]:
    hit = any([taint_of(x) for x in inputs])
    return [((v, v if hit else 0),) for v in outputs], fee if hit else 0


def _lay(lots: list[Lot], outputs: Sequence[int], fee: int) -> tuple[list[Lots], int]:
    """Lay the lots in order onto the outputs in order, then the fee (FIFO's rule)."""
    result: list[Lots] = []
    pos = 0
    have, have_t = lots[0] if lots else (0, 0)
    for need in [*outputs, fee]:
        got: list[Lot] = []
        while need > 0 and pos < len(lots):
            take = min(need, have)
            # a partly tainted lot is split in proportion (floor to the taken part, the rest stays)
            take_t = have_t * take // have if have else 0
            if take == have:
                take_t = have_t
            if take:
                if got and (got[-1][1] == 0) == (take_t == 0) and (got[-1][1] == got[-1][0]) == (take_t == take):
                    got[-1] = (got[-1][0] + take, got[-1][1] + take_t)
                else:
                    got.append((take, take_t))
            need -= take
            have -= take
            have_t -= take_t
            if have == 0:
                pos += 1
                if pos < len(lots):
                    have, have_t = lots[pos]
        result.append(tuple(got))
    fee_lots = result.pop()
    return result, taint_of(fee_lots)


def _fifo(inputs: Sequence[Lots], outputs: Sequence[int], fee: int) -> tuple[list[Lots], int]:
    return _lay([lot for x in inputs for lot in x if lot[0]], outputs, fee)


def _lifo(inputs: Sequence[Lots], outputs: Sequence[int], fee: int) -> tuple[list[Lots], int]:
    return _lay([lot for x in reversed(inputs) for lot in reversed(x) if lot[0]], outputs, fee)


def _tiho(inputs: Sequence[Lots], outputs: Sequence[int], fee: int) -> tuple[list[Lots], int]:
    left = sum([taint_of(x) for x in inputs])
    shares = [0] * len(outputs)
    for _, i in sorted([(-v, i) for i, v in enumerate(outputs)]):
        take = min(left, outputs[i])
        shares[i] = take
        left -= take
        if not left:
            break
    return [((v, s),) for v, s in zip(outputs, shares, strict=True)], min(left, fee)


_RULES = {
    Policy.HAIRCUT: _haircut,
    Policy.POISON: _poison,
    Policy.FIFO: _fifo,
    Policy.LIFO: _lifo,
    Policy.TIHO: _tiho,
}


def propagate(policy: Policy, inputs: Sequence[Lots], outputs: Sequence[int], fee: int) -> tuple[list[Lots], int]:
    """Each output's lots and the fee's taint, given each input's lots (in input order).

    The inputs' value must equal the outputs' value plus the fee (a coinbase has no inputs
    and carries no taint).
    """
    if not inputs:
        return [clean(v) for v in outputs], 0
    value_in = sum([value_of(x) for x in inputs])
    if value_in != sum(outputs) + fee:
        raise ValueError(f"inputs hold {value_in} sat but outputs and fee take {sum(outputs) + fee}")
    return _RULES[policy](inputs, outputs, fee)


def propagate_many(
    policy: Policy, txs: Iterable[UtxoTx], tainted: Mapping[tuple[str, int], Lots]
) -> tuple[dict[tuple[str, int], Lots], int]:
    """Replay taint through already-read transactions given in chain order (parents first).

    `tainted` maps outpoints ``(txid, vout)`` to their lots at the start. Returns the lots of
    every tainted output not spent by a later transaction in `txs`, and the taint paid as fees.
    Inputs not in `tainted` are clean. Conservation: the sum of the returned taint plus the
    fees equals the starting taint (for every policy but poison).
    """
    live: dict[tuple[str, int], Lots] = dict(tainted)
    fees = 0
    rule = _RULES[policy]
    by_total = policy in (Policy.HAIRCUT, Policy.TIHO)  # these need only the inputs' total taint
    pop = live.pop
    for tx in txs:
        inputs: list[Lots] = []
        taint = 0
        hit = False
        for i in tx.inputs:
            lots = pop((i.prev_txid, i.prev_vout), None)
            if lots is None:
                inputs.append(((i.value, 0),))
            else:
                inputs.append(lots)
                taint += lots[0][1] if len(lots) == 1 else taint_of(lots)
                hit = True
        if not hit:
            continue
        outs = [o.value for o in tx.outputs]
        txid = tx.txid
        if sum([i.value for i in tx.inputs]) != sum(outs) + tx.fee:
            raise ValueError(f"transaction {txid}: inputs do not equal outputs plus fee")
        if by_total and policy is Policy.HAIRCUT:
            shares = apportion(taint, [*outs, tx.fee])
            fees += shares.pop()
            for n, share in enumerate(shares):
                if share:
                    live[(txid, n)] = ((outs[n], share),)
            continue
        out_lots, fee_taint = rule(inputs, outs, tx.fee)
        fees += fee_taint
        for n, lots in enumerate(out_lots):
            if taint_of(lots):
                live[(txid, n)] = lots
    return live, fees
