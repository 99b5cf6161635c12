"""Peel-chain detection, with noise (dust outputs, OP_RETURN, unrelated transactions). SYNTHETIC data."""

from __future__ import annotations

from chains.emulators.esplora import synthetic_address as addr
from chains.emulators.esplora import synthetic_tx, synthetic_txid
from heuristics.peel import detect_peel_chain, detect_peel_chains, detect_peel_step


def build_chain(steps: int, *, noise: bool) -> list:
    txs = []
    prev, vout, holder, value = synthetic_txid("loot"), 0, addr("peel-0"), 100 * 10**8
    for n in range(steps):
        payment = 10**8 + 1_234 * n
        rest = value - payment - 5_000
        outs = [(addr(f"shop-{n}"), payment), (addr(f"peel-{n + 1}"), rest)]
        if noise and n % 3 == 1:
            outs.append((None, 0))  # an OP_RETURN
        if noise and n % 4 == 2:
            rest -= 546
            outs[1] = (addr(f"peel-{n + 1}"), rest)
            outs.append((addr(f"dust-{n}"), 546))  # a dust output beside the two main ones
        if noise and n % 2:
            outs.reverse()  # the remainder is not always the last output
        tx = synthetic_tx(f"peel-{n}", [(prev, vout, holder, value)], outs, block=800_000 + n)
        txs.append(tx)
        out = next(o for o in tx.outputs if o.address == addr(f"peel-{n + 1}"))
        prev, vout, holder, value = tx.txid, out.index, out.address, out.value
    return txs


def test_single_step_positive_and_negatives():
    tx = build_chain(1, noise=False)[0]
    step = detect_peel_step(tx)
    assert step is not None and step.payment.address == addr("shop-0")
    even = synthetic_tx(
        "even", [(synthetic_txid("e"), 0, addr("e"), 10**8)], [(addr("a"), 5 * 10**7), (addr("b"), 49_990_000)]
    )
    assert detect_peel_step(even) is None  # no small payment beside a large remainder
    many = synthetic_tx(
        "many",
        [(synthetic_txid(f"m{n}"), 0, addr(f"m{n}"), 10**8) for n in range(2)],
        [(addr("a"), 10**7), (addr("b"), 18 * 10**7)],
    )
    assert detect_peel_step(many) is None  # two owners in: a merge, not a peel


def test_chain_with_noise_is_one_path_with_its_payments():
    txs = build_chain(12, noise=True)
    by_id = {t.txid: t for t in txs}
    unrelated = [
        synthetic_tx(f"other-{n}", [(synthetic_txid(f"o{n}"), 0, addr(f"o{n}"), 10**8)], [(addr(f"x{n}"), 99_990_000)])
        for n in range(5)
    ]
    by_id.update({t.txid: t for t in unrelated})
    chains = detect_peel_chains(by_id)
    assert len(chains) == 1
    chain = chains[0]
    assert chain.start == txs[0].txid and len(chain.steps) == 12
    assert [p.address for p in chain.payments] == [addr(f"shop-{n}") for n in range(12)]
    assert chain.peeled_total == sum(10**8 + 1_234 * n for n in range(12))
    assert "12 peel steps" in chain.explanation


def test_chain_stops_at_a_non_peel_spender_and_short_chains_are_not_reported():
    txs = build_chain(5, noise=False)
    last = txs[-1]
    remainder = max(last.outputs, key=lambda o: o.value)
    sweep = synthetic_tx(
        "sweep",
        [(last.txid, remainder.index, remainder.address, remainder.value), (synthetic_txid("z"), 0, addr("z"), 5)],
        [(addr("exchange"), remainder.value)],
    )
    by_id = {t.txid: t for t in [*txs, sweep]}
    chains = detect_peel_chains(by_id)
    assert len(chains) == 1 and len(chains[0].steps) == 5
    assert detect_peel_chains({t.txid: t for t in txs[:2]}) == []  # two steps < min_steps


def test_detect_peel_chain_from_a_start_with_a_spender_callback():
    txs = build_chain(6, noise=True)
    spent = {(i.prev_txid, i.prev_vout): t for t in txs for i in t.inputs}
    chain = detect_peel_chain(txs[2], lambda txid, vout: spent.get((txid, vout)))
    assert chain is not None and len(chain.steps) == 4
