"""Per-transaction UTXO taint: exact integer accounting per policy (unit cases + hypothesis properties)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.core.models import Policy
from tracer.utxo.ledger import apportion, clean, propagate, taint_of, tainted, value_of

CONSERVING = (Policy.HAIRCUT, Policy.FIFO, Policy.LIFO, Policy.TIHO)


def test_haircut_shares_by_value_with_the_fee_its_share():
    outs, fee = propagate(Policy.HAIRCUT, [tainted(70), clean(50)], [30, 60, 20], 10)
    assert [taint_of(o) for o in outs] == [17, 35, 12] and fee == 6  # 17.5, 35, 11.67, 5.83 exactly apportioned


def test_fifo_lays_segments_in_order_fee_last():
    outs, fee = propagate(Policy.FIFO, [tainted(70), clean(50)], [30, 60, 20], 10)
    assert outs == [((30, 30),), ((40, 40), (20, 0)), ((20, 0),)] and fee == 0


def test_lifo_lays_newest_first():
    outs, fee = propagate(Policy.LIFO, [tainted(70), clean(50)], [30, 60, 20], 10)
    assert [taint_of(o) for o in outs] == [0, 40, 20] and fee == 10


def test_tiho_fills_largest_outputs_first():
    outs, fee = propagate(Policy.TIHO, [tainted(70), clean(50)], [30, 60, 20], 10)
    assert [taint_of(o) for o in outs] == [10, 60, 0] and fee == 0


def test_poison_taints_everything_reached():
    outs, fee = propagate(Policy.POISON, [tainted(1), clean(119)], [30, 60, 20], 10)
    assert [taint_of(o) for o in outs] == [30, 60, 20] and fee == 10
    outs, fee = propagate(Policy.POISON, [clean(120)], [30, 60, 20], 10)
    assert [taint_of(o) for o in outs] == [0, 0, 0] and fee == 0


def test_unbalanced_transaction_is_refused():
    with pytest.raises(ValueError, match="inputs hold"):
        propagate(Policy.HAIRCUT, [tainted(10)], [11], 0)


def test_coinbase_is_clean():
    outs, fee = propagate(Policy.FIFO, [], [625_000_000], 0)
    assert taint_of(outs[0]) == 0 and fee == 0


lot = st.tuples(st.integers(1, 10**9), st.booleans()).map(lambda p: (p[0], p[0] if p[1] else 0))
partial = st.integers(1, 10**9).flatmap(lambda v: st.integers(0, v).map(lambda t: (v, t)))
coin = st.lists(st.one_of(lot, partial), min_size=1, max_size=4).map(tuple)


@st.composite
def transactions(draw):
    inputs = draw(st.lists(coin, min_size=1, max_size=6))
    total = sum(value_of(c) for c in inputs)
    n = draw(st.integers(1, 6))
    cuts = sorted(draw(st.lists(st.integers(0, total), min_size=n, max_size=n)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    fee, outputs = parts[-1], parts[:-1]
    return inputs, outputs, fee


@settings(max_examples=300, deadline=None)
@given(transactions(), st.sampled_from(CONSERVING))
def test_accounting_closes_exactly(tx, policy):
    inputs, outputs, fee = tx
    outs, fee_taint = propagate(policy, inputs, outputs, fee)
    assert sum(taint_of(o) for o in outs) + fee_taint == sum(taint_of(c) for c in inputs)
    for lots, value in zip(outs, outputs, strict=True):
        assert value_of(lots) == value
        assert all(0 <= t <= a for a, t in lots)
    assert 0 <= fee_taint <= fee


@settings(max_examples=200, deadline=None)
@given(transactions())
def test_poison_covers_haircut(tx):
    inputs, outputs, fee = tx
    poison, _ = propagate(Policy.POISON, inputs, outputs, fee)
    haircut, _ = propagate(Policy.HAIRCUT, inputs, outputs, fee)
    assert all(taint_of(p) >= taint_of(h) for p, h in zip(poison, haircut, strict=True))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**15), st.lists(st.integers(0, 10**12), min_size=1, max_size=10))
def test_apportion_is_exact_and_within_one(total, weights):
    shares = apportion(total, weights)
    whole = sum(weights)
    if whole == 0:
        assert shares == [0] * len(weights)
        return
    assert sum(shares) == total
    for share, w in zip(shares, weights, strict=True):
        assert abs(share * whole - total * w) < whole


@st.composite
def tx_graphs(draw):
    """A random DAG of transactions (addresses omitted) spending a tainted start coin and clean coins."""
    from tracer.core.models import TxInput, TxOutput, UtxoTx

    start_value = draw(st.integers(1_000, 10**10))
    coins = [("s" * 64, 0, start_value)]
    txs = []
    for n in range(draw(st.integers(1, 12))):
        k = draw(st.integers(1, min(3, len(coins))))
        picks = draw(st.permutations(range(len(coins))))[:k]
        spent = [coins[i] for i in sorted(picks)]
        coins = [c for i, c in enumerate(coins) if i not in picks]
        extra = draw(st.integers(0, 10**6))
        ins = [TxInput(t, v, None, val) for t, v, val in spent]
        if extra:
            ins.append(TxInput(f"{n:064x}", 9, None, extra))
        total = sum(i.value for i in ins)
        fee = draw(st.integers(0, total // 10))
        cuts = sorted(draw(st.lists(st.integers(0, total - fee), min_size=0, max_size=2)))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, total - fee], strict=True)]
        txid = f"{n + 1:064x}"
        outs = tuple(TxOutput(i, None, v) for i, v in enumerate(parts))
        txs.append(UtxoTx("bitcoin", txid, 800_000 + n, None, tuple(ins), outs, fee))
        coins += [(txid, i, v) for i, v in enumerate(parts)]
    return start_value, txs


@settings(max_examples=150, deadline=None)
@given(tx_graphs(), st.sampled_from(CONSERVING))
def test_replay_through_a_graph_closes_exactly(graph, policy):
    from tracer.utxo.ledger import propagate_many

    start_value, txs = graph
    live, fees = propagate_many(policy, txs, {("s" * 64, 0): tainted(start_value)})
    assert sum(taint_of(lots) for lots in live.values()) + fees == start_value
