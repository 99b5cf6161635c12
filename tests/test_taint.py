"""Hand-checked ledger cases for each policy (synthetic addresses and amounts)."""

from __future__ import annotations

import pytest

from tests.memory_source import ETH, USDT, addr, fee, transfer
from tracer.account.ledger import Injection, Outcome, trace_address
from tracer.cases.plan import Window
from tracer.core.models import NoiseFlag, Policy, Transfer

X, A, B, C, Y, POOL, ROUTER = addr(10), addr(11), addr(12), addr(13), addr(14), addr(60), addr(61)
NATIVE = "ethereum:native"
TOKEN = USDT.key


def tainted(*transfers: Transfer, taint: dict[int, int]) -> dict:
    """Inflow taint map: tx number -> taint pushed along that transfer."""
    out = {}
    for tr in transfers:
        n = int(tr.tx_hash, 16)
        if n in taint and tr.receiver == X:
            out[(tr.tx_hash, tr.position)] = (taint[n], True, tr)
    return out


def replay(history: list[Transfer], policy: Policy, taint: dict[int, int], **kw) -> Outcome:
    history = sorted(history, key=lambda t: t.order_key)
    return trace_address(X, history, policy=policy, inflows=tainted(*history, taint=taint), **kw)


def pushed(outcome: Outcome, n: int) -> int:
    return sum(t for (tx, _), (_, t, _) in outcome.pushes.items() if int(tx, 16) == n)


def test_haircut_keeps_remainders_and_draining_carries_all() -> None:
    history = [
        transfer(1, 1, A, X, 100),
        transfer(2, 2, B, X, 50),
        transfer(3, 3, X, Y, 30),
        transfer(4, 4, X, Y, 7),
        transfer(5, 5, X, C, 113),
    ]
    out = replay(history, Policy.HAIRCUT, {2: 50})
    assert pushed(out, 3) == 10  # 30·50/150
    assert pushed(out, 4) == 2  # floor(7·40/120) = floor(2.33); 0.33 stays
    assert pushed(out, 5) == 38  # draining carries every remainder
    assert out.unmoved == {}


def test_haircut_dilutes_by_clean_balance_held_before_the_window() -> None:
    history = [transfer(1, 1, A, X, 300), transfer(2, 10, B, X, 100), transfer(3, 11, X, Y, 200)]
    out = replay(history, Policy.HAIRCUT, {2: 100}, window=Window(since_block=10))
    assert pushed(out, 3) == 50 and out.unmoved == {NATIVE: 50}


INTERLEAVED = [
    transfer(1, 1, A, X, 10),
    transfer(2, 2, B, X, 5),
    transfer(3, 3, A, X, 10),
    transfer(4, 4, B, X, 5),
    transfer(5, 5, X, Y, 12),
    transfer(6, 6, X, Y, 8),
    transfer(7, 7, X, C, 10),
]


def test_fifo_with_interleaved_clean_and_tainted_lots() -> None:
    out = replay(INTERLEAVED, Policy.FIFO, {2: 5, 4: 5})
    assert (pushed(out, 5), pushed(out, 6), pushed(out, 7)) == (2, 3, 5)


def test_lifo_with_interleaved_clean_and_tainted_lots() -> None:
    out = replay(INTERLEAVED, Policy.LIFO, {2: 5, 4: 5})
    assert (pushed(out, 5), pushed(out, 6), pushed(out, 7)) == (5, 5, 0)
    assert out.unmoved == {}


def test_fifo_partially_tainted_inflow_is_tainted_part_first() -> None:
    history = [transfer(1, 1, A, X, 10), transfer(2, 2, X, Y, 4), transfer(3, 3, X, Y, 6)]
    out = replay(history, Policy.FIFO, {1: 5})
    assert (pushed(out, 2), pushed(out, 3)) == (4, 1)


@pytest.mark.parametrize(
    ("held_taint", "expected"), [(30, (0, 30, 0, 0)), (70, (0, 50, 20, 0)), (100, (10, 50, 40, 0))]
)
def test_tiho_fills_largest_outputs_of_a_batch_first(held_taint: int, expected: tuple) -> None:
    history = [
        transfer(1, 1, A, X, 101),
        fee(2, 2, X, 1),
        transfer(2, 2, X, Y, 10, position=2),
        transfer(2, 2, X, B, 50, position=3),
        transfer(2, 2, X, C, 40, position=4),
    ]
    out = replay(history, Policy.TIHO, {1: held_taint})
    by_receiver = {tr.receiver: t for tr, t, _ in out.pushes.values()}
    got = (by_receiver.get(Y, 0), by_receiver.get(B, 0), by_receiver.get(C, 0), out.fees.get(NATIVE, 0))
    assert got == expected


def test_poison_marks_everything_after_any_taint_but_conserves_proportional_taint() -> None:
    history = [transfer(1, 1, A, X, 100), transfer(2, 2, B, X, 1), transfer(3, 3, X, Y, 50)]
    out = replay(history, Policy.POISON, {2: 1})
    ((_, taint, poisoned),) = out.pushes.values()
    assert poisoned and taint == 0  # 50·1/101 floors to 0, but poison follows it
    assert out.unmoved == {NATIVE: 1}


@pytest.mark.parametrize("policy", list(Policy))
def test_reverted_transaction_moves_only_its_fee(policy: Policy) -> None:
    history = [
        transfer(1, 1, A, X, 100),
        transfer(2, 2, X, Y, 50, success=False),
        fee(2, 2, X, 3, success=False),
    ]
    out = replay(history, policy, {1: 100})
    assert out.pushes == {}
    assert out.fees == {NATIVE: 3} and out.unmoved == {NATIVE: 97}


@pytest.mark.parametrize("policy", [Policy.HAIRCUT, Policy.FIFO, Policy.LIFO, Policy.TIHO])
def test_noise_neither_dilutes_nor_carries(policy: Policy) -> None:
    history = [
        transfer(1, 1, A, X, 100),
        transfer(2, 2, B, X, 10**9, noise=frozenset({NoiseFlag.DUST})),
        transfer(3, 3, X, Y, 0, asset=USDT, position=1_000_000, noise=frozenset({NoiseFlag.ZERO_VALUE})),
        transfer(4, 4, X, C, 100),
    ]
    out = replay(history, policy, {1: 100})
    assert pushed(out, 4) == 100 and pushed(out, 3) == 0


@pytest.mark.parametrize("policy", list(Policy))
def test_pass_through_router_is_followed_not_absorbed(policy: Policy) -> None:
    # X here is a router with a large clean balance; tainted value passes through it in one tx.
    history = [
        transfer(1, 1, A, X, 10**12),
        transfer(2, 2, B, X, 100, position=1),
        transfer(2, 2, X, Y, 100, position=2),
    ]
    out = replay(history, policy, {2: 100})
    assert pushed(out, 2) == 100
    assert out.unmoved == {} and out.swapped_out == {}


@pytest.mark.parametrize("policy", [Policy.HAIRCUT, Policy.FIFO, Policy.TIHO])
def test_swap_token_for_native_continues_in_proportion(policy: Policy) -> None:
    history = [
        transfer(1, 1, A, X, 1000, asset=USDT, position=1_000_000),
        fee(2, 2, X, 1),
        transfer(2, 2, X, POOL, 1000, asset=USDT, position=1_000_003),
        transfer(2, 2, POOL, X, 25, position=2),  # internal ETH back, lower position than the token leg
        transfer(3, 3, X, Y, 25),
    ]
    out = replay(history, policy, {1: 400})
    assert out.swapped_out == {TOKEN: 400}
    assert out.swapped_in == {NATIVE: 10}  # 25 · 400/1000
    assert pushed(out, 2) == 0  # the pool does not get the taint: it changed asset here
    assert pushed(out, 3) == 10
    assert [(s.asset_out, s.taint_out, s.asset_in, s.taint_in) for s in out.swaps] == [(TOKEN, 400, NATIVE, 10)]


def test_capped_thief_seed_has_opening_balance_at_since() -> None:
    history = [transfer(1, 1, A, X, 5), transfer(2, 12, B, X, 30), transfer(3, 13, X, Y, 40)]
    inj = Injection(thief=True, caps={NATIVE: 50})
    out = replay(history, Policy.FIFO, {}, window=Window(since_block=10), injection=inj)
    assert out.stolen == {NATIVE: 50}  # 30 arrived in the window, 20 were already held at `since`
    assert pushed(out, 3) == 35  # FIFO: the 5 clean held before the window go first


def test_victim_outflows_in_window_are_stolen_fees_are_not() -> None:
    history = [transfer(1, 1, X, Y, 7), fee(2, 11, X, 1), transfer(2, 11, X, A, 90), transfer(3, 12, X, B, 3)]
    out = replay(history, Policy.HAIRCUT, {}, window=Window(since_block=10), injection=Injection(victim=True))
    assert out.stolen == {NATIVE: 93} and pushed(out, 2) == 90 and pushed(out, 3) == 3 and pushed(out, 1) == 0


@pytest.mark.parametrize("policy", list(Policy))
def test_overspending_is_covered_by_unseen_clean_balance(policy: Policy) -> None:
    history = [transfer(1, 1, A, X, 10), transfer(2, 2, X, Y, 15), transfer(3, 3, B, X, 4), transfer(4, 4, X, Y, 4)]
    out = replay(history, policy, {1: 10})
    assert pushed(out, 2) == 10 and pushed(out, 4) == 0 and out.unmoved == {}


def test_token_and_native_ledgers_are_separate() -> None:
    history = [
        transfer(1, 1, A, X, 100, asset=USDT, position=1_000_000),
        transfer(2, 2, B, X, 100),
        transfer(3, 3, X, Y, 50),
    ]
    out = replay(history, Policy.HAIRCUT, {1: 100})
    assert pushed(out, 3) == 0 and out.unmoved == {TOKEN: 100}
    assert ETH.key == NATIVE
