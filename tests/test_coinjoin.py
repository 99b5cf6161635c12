"""CoinJoin detectors: Whirlpool, Wasabi 1.x, Wasabi 2, generic — positives and negatives. SYNTHETIC data."""

from __future__ import annotations

from chains.emulators.esplora import synthetic_address as addr
from chains.emulators.esplora import synthetic_tx, synthetic_txid
from heuristics.coinjoin import (
    detect_coinjoin,
    detect_generic_coinjoin,
    detect_wasabi1,
    detect_wasabi2,
    detect_whirlpool,
)


def tx(name, in_values, out_values, *, same_input_address=False):
    inputs = [
        (synthetic_txid(f"{name}-{n}"), 0, addr("one" if same_input_address else f"{name}-in-{n}"), v)
        for n, v in enumerate(in_values)
    ]
    outputs = [(addr(f"{name}-out-{n}"), v) for n, v in enumerate(out_values)]
    return synthetic_tx(name, inputs, outputs)


def test_whirlpool_5x5_pool_denomination():
    # the fee is what the premix inputs add above the pool denomination
    mix = tx("wp", [5_000_000, 5_000_000, 5_001_000, 5_100_000, 5_050_000], [5_000_000] * 5)
    found = detect_whirlpool(mix)
    assert found is not None and found.pattern == "whirlpool" and found.denomination == 5_000_000
    assert detect_coinjoin(mix).pattern == "whirlpool"
    assert "0.05 BTC pool" in found.explanation


def test_5_in_5_out_non_whirlpool_is_not_whirlpool():
    # five inputs, five outputs, but ordinary payments (distinct values)
    batch = tx("batch", [3_000_000] * 5, [1_000_000, 2_500_000, 3_100_000, 4_000_000, 4_000_000])
    assert detect_whirlpool(batch) is None
    # equal 5×5 but not a pool denomination
    odd = tx("odd", [2_100_000] * 5, [2_000_000] * 5)
    assert detect_whirlpool(odd) is None
    # a pool value, but all inputs from one address (a self-split, not a mix)
    split = tx("split", [1_100_000] * 5, [1_000_000] * 5, same_input_address=True)
    assert detect_whirlpool(split) is None
    assert detect_coinjoin(split) is None


def test_wasabi1_equal_outputs_near_point_one():
    ins = [11_000_000 + 1000 * n for n in range(30)]
    outs = [9_950_000] * 25 + [1_000_000 + 17 * n for n in range(20)]
    found = detect_wasabi1(tx("ww1", ins, outs))
    assert found is not None and found.equal_outputs == 25 and found.pattern == "wasabi-1"
    doubled = detect_wasabi1(tx("ww1b", [21_000_000] * 12, [20_100_000] * 11 + [5_000_000]))
    assert doubled is not None and "2^1" in doubled.explanation


def test_wasabi1_negative_round_value_payments():
    # an exchange payout batch: 12 equal round payments of 0.3 BTC from one wallet — not 0.1·2^k, not Wasabi
    payout = tx("payout", [40_000_000] * 12, [30_000_000] * 12 + [119_000_000], same_input_address=True)
    assert detect_wasabi1(payout) is None
    assert detect_generic_coinjoin(payout) is None  # one input address: no distinct owners
    assert detect_coinjoin(payout) is None


def test_wasabi2_many_inputs_varied_denominations():
    ins = [1_000_000 + 333 * n for n in range(60)]
    denoms = [5_000] * 10 + [13_122] * 8 + [50_000] * 6 + [100_000] * 5 + [262_144] * 4
    found = detect_wasabi2(tx("ww2", ins, denoms + [123_456 + n for n in range(20)]))
    assert found is not None and found.pattern == "wasabi-2"
    assert detect_wasabi2(tx("small", ins[:20], denoms)) is None  # too few inputs


def test_generic_equal_output_and_its_bounds():
    found = detect_generic_coinjoin(tx("gen", [1_200_000, 1_300_000, 1_250_000], [1_000_000] * 3 + [150_000, 200_000]))
    assert found is not None and found.equal_outputs == 3 and found.pattern == "generic"
    # more equal outputs than inputs: a batch payout, not a join
    assert detect_generic_coinjoin(tx("fan", [10_000_000, 1_000_000], [1_000_000] * 6 + [4_900_000])) is None
    # one input: nothing to join
    assert detect_generic_coinjoin(tx("solo", [10_000_000], [1_000_000] * 3)) is None
    # two outputs only
    assert detect_generic_coinjoin(tx("two", [1_000_000, 1_000_000], [900_000, 900_000])) is None
