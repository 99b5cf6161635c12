"""Change heuristics (METHODS §3): each rule alone, positives and negatives, and their combination. SYNTHETIC data."""

from __future__ import annotations

import pytest

from chains.emulators.esplora import synthetic_address as addr
from chains.emulators.esplora import synthetic_tx, synthetic_txid
from heuristics.change import (
    HEURISTICS,
    ChangeContext,
    detect_change,
    detect_change_address_reuse,
    detect_change_address_type,
    detect_change_fee_rate,
    detect_change_fresh_address,
    detect_change_locktime,
    detect_change_non_round,
    detect_change_optimal,
    estimate_vsize,
)
from tracer.core.addresses import address_type
from tracer.core.errors import BadInput

A, B, C = addr("alice", "p2wpkh"), addr("bob", "p2pkh"), addr("carol", "p2wpkh")


def pay(outputs, inputs=((A, 5_000_000),), name="tx", locktime=0):
    return synthetic_tx(
        name,
        [(synthetic_txid(f"{name}-in{n}"), 0, a, v) for n, (a, v) in enumerate(inputs)],
        outputs,
        locktime=locktime,
    )


def test_address_types():
    assert [address_type(addr("x", k)) for k in ("p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr")] == [
        "p2pkh",
        "p2sh",
        "p2wpkh",
        "p2wsh",
        "p2tr",
    ]
    assert address_type(None) == ""


def test_fresh_address():
    tx = pay([(B, 2_000_000), (C, 2_990_000)])
    ctx = ChangeContext(first_seen={B: "earlier", C: tx.txid})
    verdict = detect_change_fresh_address(tx, ctx)
    assert verdict.candidates == {1} and "seen before" in verdict.explanation
    assert detect_change_fresh_address(tx, ChangeContext()).candidates == {0, 1}  # nothing known: no rule


def test_optimal_change_and_its_negative():
    tx = pay([(B, 3_000_000), (C, 1_990_000)], inputs=((A, 2_500_000), (A, 2_500_000)))
    assert detect_change_optimal(tx, ChangeContext()).candidates == {1}
    both_big = pay([(B, 3_000_000), (C, 1_990_000)], inputs=((A, 1_000_000), (A, 4_000_000)))
    assert detect_change_optimal(both_big, ChangeContext()).candidates == frozenset()


def test_same_address_type():
    tx = pay([(B, 2_000_000), (C, 2_990_000)])  # inputs p2wpkh; B is p2pkh
    verdict = detect_change_address_type(tx, ChangeContext())
    assert verdict.candidates == {1} and "p2wpkh" in verdict.explanation
    mixed = pay([(B, 2_000_000), (C, 2_990_000)], inputs=((A, 2_500_000), (B, 2_500_000)))
    assert detect_change_address_type(mixed, ChangeContext()).candidates == {0, 1}


def test_non_round_value_and_round_payments_negative():
    tx = pay([(B, 2_000_000), (C, 2_987_654)])
    assert detect_change_non_round(tx, ChangeContext()).candidates == {1}
    all_round = pay([(B, 2_000_000), (C, 2_900_000)], inputs=((A, 4_910_000),))
    assert detect_change_non_round(all_round, ChangeContext()).candidates == frozenset()
    result = detect_change(all_round, heuristics=["non-round"])
    assert result.change is None and "no unique change" in result.explanation


def test_locktime_behaviour():
    tx = pay([(B, 2_000_000), (C, 2_990_000)], locktime=800_000)
    later_b = pay([(addr("z"), 1_990_000)], inputs=((B, 2_000_000),), name="b-spend", locktime=0)
    later_c = pay([(addr("y"), 2_980_000)], inputs=((C, 2_990_000),), name="c-spend", locktime=800_010)
    ctx = ChangeContext(spenders={(tx.txid, 0): later_b, (tx.txid, 1): later_c})
    assert detect_change_locktime(tx, ctx).candidates == {1}


def test_address_reuse_self_change():
    tx = pay([(B, 2_000_000), (A, 2_990_000)])
    assert detect_change_address_reuse(tx, ChangeContext()).candidates == {1}
    fresh = pay([(B, 2_000_000), (C, 2_990_000)])
    assert detect_change_address_reuse(fresh, ChangeContext()).candidates == {0, 1}


def test_fixed_fee_rate():
    tx = pay([(B, 2_000_000), (C, 2_990_000)])  # 10,000 sat fee
    rate = tx.fee / estimate_vsize(tx)
    same = synthetic_tx("same", [(tx.txid, 1, C, 2_990_000)], [(addr("q"), 2_990_000 - round(rate * 110))])
    other = synthetic_tx("other", [(tx.txid, 0, B, 2_000_000)], [(addr("r"), 2_000_000 - 50_000)])
    ctx = ChangeContext(spenders={(tx.txid, 0): other, (tx.txid, 1): same})
    verdict = detect_change_fee_rate(tx, ctx)
    assert verdict.candidates == {1}, verdict.explanation


def test_op_return_is_never_change():
    tx = pay([(None, 0), (B, 2_000_000), (C, 2_987_654)])
    result = detect_change(tx, heuristics=HEURISTICS)
    assert 0 not in result.candidates


def test_combination_picks_unique_survivor_and_explains():
    tx = pay([(B, 2_000_000), (C, 1_987_654)], inputs=((A, 3_000_000), (A, 2_000_000)))
    result = detect_change(tx, heuristics=["optimal-change", "address-type", "non-round"])
    assert result.change == 1
    assert "optimal-change" in result.explanation and "output 1 is the change" in result.explanation
    # switching heuristics off changes the answer: non-round alone also picks 1, optimal alone too
    assert detect_change(tx, heuristics=[]).change is None


def test_single_output_has_no_change_and_unknown_heuristic_is_refused():
    assert detect_change(pay([(B, 4_990_000)])).change is None
    with pytest.raises(BadInput, match="unknown change heuristic"):
        detect_change(pay([(B, 1), (C, 4_989_999)]), heuristics=["psychic"])
