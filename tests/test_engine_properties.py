"""Property tests of the engine on generated (synthetic) transfer graphs.

The accounting closes exactly under every policy and strategy; identical input gives
identical output; an interrupted and resumed trace equals an uninterrupted one; taint never
moves backward in time; poison reaches at least every address haircut taints.
"""

from __future__ import annotations

import os
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.memory_source import (
    ETH,
    USDT,
    MemoryCheckpoints,
    MemoryHistory,
    MemoryLabels,
    addr,
    fee,
    transfer,
)
from tracer.account.engine import Engine
from tracer.account.result import build_result
from tracer.bundle.schema import BUCKETS
from tracer.cases.plan import SeedSpec, TraceConfig, Window
from tracer.core.models import Category, NoiseFlag, Policy, Strategy, Transfer

N_ADDRESSES = 9
SEED = addr(1)
EXCHANGE = addr(50)
MIXER = addr(51)
LABELS = MemoryLabels({EXCHANGE: (Category.EXCHANGE, "Synthetic Exchange"), MIXER: (Category.MIXER, "Synthetic Mixer")})
ALL_SEEDS_POLICIES = list(Policy)


@st.composite
def worlds(draw: st.DrawFn) -> list[Transfer]:
    """A random synthetic world: plain payments, fees, tokens, swaps, pass-through, reverts, noise."""
    parties = [addr(i) for i in range(1, N_ADDRESSES + 1)] + [EXCHANGE, MIXER]
    n_tx = draw(st.integers(min_value=1, max_value=40))
    out: list[Transfer] = []
    block = 5
    for n in range(1, n_tx + 1):
        block += draw(st.integers(min_value=0, max_value=3))
        kind = draw(st.sampled_from(["pay", "pay", "pay", "token", "swap", "router", "revert", "noise"]))
        sender = draw(st.sampled_from(parties[:N_ADDRESSES]))
        receiver = draw(st.sampled_from(parties))
        amount = draw(st.integers(min_value=1, max_value=10**6))
        idx = n % 3
        if kind == "pay":
            out.append(transfer(n, block, sender, receiver, amount, tx_index=idx))
        elif kind == "token":
            out.append(transfer(n, block, sender, receiver, amount, asset=USDT, position=1_000_000, tx_index=idx))
        elif kind == "swap":
            pool = addr(60)
            out.append(transfer(n, block, sender, pool, amount, asset=USDT, position=1_000_001, tx_index=idx))
            out.append(transfer(n, block, pool, sender, amount * 3 + 7, position=2, tx_index=idx))
        elif kind == "router":
            router = addr(61)
            out.append(transfer(n, block, sender, router, amount, position=1, tx_index=idx))
            out.append(transfer(n, block, router, receiver, amount, position=2, tx_index=idx))
        elif kind == "revert":
            out.append(transfer(n, block, sender, receiver, amount, success=False, tx_index=idx))
        else:
            out.append(transfer(n, block, sender, receiver, amount, tx_index=idx, noise=frozenset({NoiseFlag.DUST})))
        if draw(st.booleans()):
            out.append(
                fee(
                    n,
                    block,
                    sender,
                    draw(st.integers(min_value=1, max_value=1000)),
                    tx_index=idx,
                    success=kind != "revert",
                )
            )
    # the theft: the seed receives first
    out.append(transfer(10_000, 5, addr(40), SEED, 10**6, tx_index=9))
    return out


SEED_KINDS = {
    "thief": (SeedSpec("ethereum", SEED),),
    "thief-amount": (SeedSpec("ethereum", SEED, amount="0.0000000000012", asset="ETH"),),
    "victim": (SeedSpec("ethereum", addr(40), role="victim"),),
    "tx": (SeedSpec("ethereum", tx="0x" + f"{10_000:064x}"),),
    "two-thieves": (SeedSpec("ethereum", SEED), SeedSpec("ethereum", addr(2))),
}


def run(
    world,
    policy,
    strategy=Strategy.RANKED,
    *,
    min_taint=Fraction(0),
    budget=None,
    checkpoints=None,
    progress=None,
    hops=25,
    seeds="thief",
):
    config = TraceConfig(
        "synthetic",
        SEED_KINDS[seeds],
        policy=policy,
        strategy=strategy,
        window=Window(since_block=5),
        max_hops=hops,
        min_taint=min_taint,
        max_addresses=budget,
        checkpoint_every=2,
    )
    engine = Engine(config, history=MemoryHistory(world), labels=LABELS, checkpoints=checkpoints, progress=progress)
    return engine.run()


def closes(result) -> bool:
    for row in [*result.accounting.values(), *result.thief_funds.values()]:
        lhs = row["stolen"] + row["swapped_in"]
        rhs = sum(row[b] for b in BUCKETS if b not in ("stolen", "swapped_in"))
        if lhs != rhs:
            return False
    return True


#: Poison reaches by its flag: the seed's 1 wei payment carries no proportional taint (10**12 clean beside
#: 10**6 stolen) but is poisoned, so a budget of 3 leaves a poisoned address of zero value unread.
POISON_BUDGET_WORLD = [
    transfer(1, 1, addr(41), SEED, 10**12),
    transfer(2, 5, addr(40), SEED, 10**6),
    *(transfer(3 + i, 6 + i, addr(1 + i), addr(2 + i), 1) for i in range(4)),
]

FAST = settings(
    max_examples=int(os.environ.get("HEISTTRACE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FAST
@example(
    world=POISON_BUDGET_WORLD,
    policy=Policy.POISON,
    strategy=Strategy.RANKED,
    min_taint=Fraction(0),
    budget=3,
    seeds="thief",
)
@given(
    world=worlds(),
    policy=st.sampled_from(list(Policy)),
    strategy=st.sampled_from(list(Strategy)),
    min_taint=st.sampled_from([Fraction(0), Fraction(1, 100), Fraction(1, 3)]),
    budget=st.sampled_from([None, 1, 3]),
    seeds=st.sampled_from(sorted(SEED_KINDS)),
)
def test_accounting_closes_exactly(world, policy, strategy, min_taint, budget, seeds) -> None:
    state = run(world, policy, strategy, min_taint=min_taint, budget=budget, seeds=seeds)
    result = build_result(state)
    assert closes(result), result.accounting
    if seeds == "thief-amount":  # the capped theft exactly: what attributed addresses gain is thief funds
        assert result.accounting["ethereum:native"]["stolen"] <= 1_200_000
    else:
        assert result.accounting["ethereum:native"]["stolen"] >= 10**6  # other inflows to the seed count too
    nothing_unexplored = all(r["unexplored"] == 0 for r in result.accounting.values())
    gaps = result.summary["gaps"]
    assert result.complete == (nothing_unexplored and not gaps)
    assert nothing_unexplored or gaps  # unexplored value is always named in a gap
    # A gap may name an address holding no counted value: one reached only by poison's flag (zero proportional
    # taint), or a second seed the budget left unread (its theft is then unknown, not zero).


@FAST
@given(world=worlds(), policy=st.sampled_from(list(Policy)))
def test_identical_input_identical_output(world, policy, tmp_path_factory) -> None:
    a = build_result(run(world, policy))
    b = build_result(run(list(reversed(world)), policy))  # the source's order must not matter
    da, db = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    a.write(da, report=False)
    b.write(db, report=False)
    for name in ("summary.json", "flows.csv", "addresses.csv", "endpoints.csv", "graph.graphml", "manifest.json"):
        assert (da / name).read_bytes() == (db / name).read_bytes(), name


class Interrupt(Exception):
    pass


@FAST
@given(
    world=worlds(),
    policy=st.sampled_from(list(Policy)),
    stop=st.integers(min_value=1, max_value=6),
    budget=st.sampled_from([None, 4]),
    seeds=st.sampled_from(sorted(SEED_KINDS)),
)
def test_interrupted_and_resumed_equals_uninterrupted(world, policy, stop, budget, seeds) -> None:
    whole = build_result(run(world, policy, budget=budget, seeds=seeds))
    checkpoints = MemoryCheckpoints()

    def interrupt(progress) -> None:
        if progress.expanded >= stop + 1:
            raise KeyboardInterrupt

    try:
        run(world, policy, budget=budget, checkpoints=checkpoints, progress=interrupt, seeds=seeds)
    except KeyboardInterrupt:
        assert checkpoints.saved  # progress was kept
    resumed = build_result(run(world, policy, budget=budget, checkpoints=checkpoints, seeds=seeds))
    assert resumed.summary == whole.summary
    assert resumed.flows.equals(whole.flows)
    assert resumed.addresses.equals(whole.addresses)
    assert resumed.endpoints.equals(whole.endpoints)


@FAST
@given(world=worlds(), policy=st.sampled_from(list(Policy)))
def test_taint_never_moves_backward_in_time(world, policy) -> None:
    state = run(world, policy)
    for node, outcome in state.outcomes.items():
        arrivals = [tr.order_key for taint, _, tr in state.inflows.get(node, {}).values() if taint]
        arrivals += [f.transfer.order_key for f in outcome.flows if f.kind in ("stolen", "attributed")]
        # a thief's unseen balance counts as stolen just before the outflow that needs it
        shortfalls = [f.transfer.order_key for f in outcome.flows if f.kind == "shortfall"]
        for tr, taint, _ in outcome.pushes.values():
            if taint and node not in state.victims:
                earlier = bool(arrivals) and min(arrivals) < tr.order_key
                assert earlier or (shortfalls and min(shortfalls) <= tr.order_key), (node, tr)


@FAST
@given(world=worlds(), hops=st.sampled_from([2, 25]))
def test_poison_support_contains_haircut_support(world, hops) -> None:
    haircut = build_result(run(world, Policy.HAIRCUT, hops=hops))
    poison = build_result(run(world, Policy.POISON, hops=hops))
    tainted = {(r["chain"], r["address"]) for r in haircut.addresses.iter_rows(named=True) if r["tainted_in"] != "0"}
    reached = {(r["chain"], r["address"]) for r in poison.addresses.iter_rows(named=True)}
    assert tainted <= reached


@pytest.mark.parametrize("policy", list(Policy))
def test_stolen_asset_is_all_the_seed_received(policy) -> None:
    world = [transfer(1, 10, addr(40), SEED, 500), fee(2, 11, SEED, 5), transfer(2, 11, SEED, addr(2), 400)]
    result = build_result(run(world, policy))
    row = result.accounting["ethereum:native"]
    assert row["stolen"] == 500 and row["fees"] == 5 and row["unmoved"] == 95 + 400
    assert ETH.key == "ethereum:native"


@FAST
@given(world=worlds(), policy=st.sampled_from(list(Policy)), seeds=st.sampled_from(sorted(SEED_KINDS)))
def test_clean_prefix_memo_changes_nothing(world, policy, seeds) -> None:
    """Replays that restart from a memoised clean prefix give exactly what full replays give."""
    from unittest import mock

    memoised = run(world, policy, seeds=seeds)
    with mock.patch("tracer.account.engine.CleanPrefix", lambda: None):
        full = run(world, policy, seeds=seeds)
    assert memoised.outcomes == full.outcomes
    assert memoised.inflows == full.inflows
    assert memoised.expanded_order == full.expanded_order
