"""Swap recognition (heuristics.swaps) and swaps in the ledger, on synthetic records."""

from __future__ import annotations

from fractions import Fraction

from heuristics.swaps import extract_swaps, is_swap, net_flows, swap_fraction
from tests.memory_source import USDT, addr, fee, transfer
from tracer.account.ledger import trace_address
from tracer.core.models import Asset, Policy

X, POOL, ROUTER, Y = addr(10), addr(60), addr(61), addr(14)
DAI = Asset("ethereum", "0x" + "e" * 40, "DAI", 18)
NATIVE, TOKEN = "ethereum:native", USDT.key


def test_swap_is_paying_one_asset_and_keeping_another() -> None:
    assert is_swap({NATIVE}, {TOKEN})
    assert not is_swap({NATIVE}, {NATIVE})  # pass-through / refund, not a swap
    assert not is_swap(set(), {TOKEN})  # receiving alone is not a swap
    assert not is_swap({TOKEN}, set())


def test_extract_swaps_nets_each_transaction_and_ignores_fees_and_routers() -> None:
    history = [
        fee(1, 1, X, 5),
        transfer(1, 1, X, ROUTER, 100, position=1),
        transfer(1, 1, POOL, X, 7, asset=USDT, position=1_000_002),
        transfer(2, 2, X, ROUTER, 50, position=1),
        transfer(2, 2, ROUTER, X, 50, position=2),  # refund of the same asset: no swap
    ]
    (swap,) = extract_swaps(X, history)
    assert swap.tx_hash.endswith("1") and swap.paid == {NATIVE: 100} and swap.kept == {TOKEN: 7}
    assert net_flows(ROUTER, history)[history[1].tx_hash] == {NATIVE: 100}


def test_swap_fraction_is_exact_and_averages_paid_assets() -> None:
    assert swap_fraction({NATIVE: (300, 100)}) == Fraction(1, 3)
    assert swap_fraction({NATIVE: (100, 100), TOKEN: (10, 0)}) == Fraction(1, 2)
    assert swap_fraction({}) == 0


def test_ledger_swap_of_two_paid_assets_into_one() -> None:
    history = [
        transfer(1, 1, Y, X, 100),
        transfer(2, 1, Y, X, 10, asset=USDT, position=1_000_000),
        transfer(3, 2, X, POOL, 100, position=1),
        transfer(3, 2, X, POOL, 10, asset=USDT, position=1_000_001),
        transfer(3, 2, POOL, X, 1000, asset=DAI, position=1_000_002),
    ]
    inflows = {(history[0].tx_hash, 1): (100, True, history[0])}  # only the ETH was tainted
    out = trace_address(X, history, policy=Policy.HAIRCUT, inflows=inflows)
    assert out.swapped_out == {NATIVE: 100}
    assert out.swapped_in == {DAI.key: 500}  # (100 % + 0 %) / 2 of 1000 DAI
    assert out.unmoved == {DAI.key: 500}


def test_unwrap_style_swap_token_for_native_then_forwarded() -> None:
    history = [
        transfer(1, 1, Y, X, 40, asset=USDT, position=1_000_000),
        transfer(2, 2, X, POOL, 40, asset=USDT, position=1_000_000),
        transfer(2, 2, POOL, X, 39, position=2),
        fee(3, 3, X, 1),
        transfer(3, 3, X, Y, 38),
    ]
    inflows = {(history[0].tx_hash, 1_000_000): (40, True, history[0])}
    out = trace_address(X, history, policy=Policy.FIFO, inflows=inflows)
    assert out.swapped_out == {TOKEN: 40} and out.swapped_in == {NATIVE: 39}
    assert out.fees == {NATIVE: 1}
    (pushed,) = out.pushes.values()
    assert pushed[1] == 38 and pushed[0].receiver == Y
    kinds = sorted(f.kind for f in out.flows)
    assert kinds == ["fee", "swap-in", "swap-out", "transfer"]
