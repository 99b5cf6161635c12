"""Engine behaviour on small hand-built SYNTHETIC worlds (in-memory sources)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from heuristics.services import SERVICE_MIN_COUNTERPARTIES, SERVICE_PROBE_ROWS
from tests.memory_source import (
    USDT,
    MemoryCheckpoints,
    MemoryHistory,
    MemoryLabels,
    addr,
    fee,
    transfer,
    tx_hash,
)
from tracer.account.engine import Engine
from tracer.account.result import build_result
from tracer.api import compare_policies, trace
from tracer.cases.plan import SeedSpec, TraceConfig, Window
from tracer.core.errors import BadInput
from tracer.core.models import Category, NoiseFlag, Policy, Strategy

V, T, A, B, C, D, EX, MIX, ROUTER, POOL, HUB = (addr(i) for i in (1, 2, 3, 4, 5, 6, 50, 51, 61, 60, 70))
NATIVE, TOKEN = "ethereum:native", USDT.key
LABELS = MemoryLabels({EX: (Category.EXCHANGE, "Synthetic Exchange"), MIX: (Category.MIXER, "Synthetic Mixer")})


def run(world, *seeds: SeedSpec, policy=Policy.HAIRCUT, labels=LABELS, **kw):
    config = TraceConfig(
        "synthetic",
        seeds or (SeedSpec("ethereum", T),),
        policy=policy,
        window=kw.pop("window", Window(since_block=10)),
        **kw,
    )
    history = MemoryHistory(world)
    state = Engine(config, history=history, labels=labels).run()
    return build_result(state), history


def acc(result, key=NATIVE):
    return result.accounting[key]


def assert_closes(result) -> None:
    for row in result.accounting.values():
        lhs = row["stolen"] + row["swapped_in"]
        rhs = row["endpoints"] + row["unmoved"] + row["fees"] + row["below_threshold"] + row["unexplored"]
        assert lhs == rhs + row["swapped_out"]


THEFT = [
    transfer(1, 10, V, T, 1000),
    fee(2, 11, T, 2),
    transfer(2, 11, T, A, 600),
    fee(3, 12, T, 2),
    transfer(3, 12, T, MIX, 300),
    transfer(4, 13, A, EX, 500),
    transfer(5, 14, A, B, 100),
]


def test_labelled_endpoints_absorb_and_are_not_expanded() -> None:
    result, history = run(THEFT)
    assert_closes(result)
    assert acc(result) == {
        "stolen": 1000,
        "swapped_in": 0,
        "swapped_out": 0,
        "endpoints": 800,
        "unmoved": 196,
        "fees": 4,
        "below_threshold": 0,
        "unexplored": 0,
        "excluded": 0,
    }
    assert (MIX, None) not in history.calls and (EX, None) not in history.calls
    cats = result.summary["endpoints_by_category"]
    assert cats == {"exchange": {NATIVE: "0.0000000000000005"}, "mixer": {NATIVE: "0.0000000000000003"}}
    assert result.complete
    roles = {r["address"]: r["role"] for r in result.addresses.iter_rows(named=True)}
    assert roles == {T: "seed", A: "transit", B: "transit", EX: "endpoint", MIX: "endpoint"}


def roles_of(result) -> dict[str, str]:
    return {r["address"]: r["role"] for r in result.addresses.iter_rows(named=True)}


def test_min_taint_leaves_small_flows_below_threshold() -> None:
    # B holds 10 % of the loot: not followed when the material rule is off (share > 1 never holds)
    result, history = run(THEFT, min_taint=Fraction(1, 5), material_share=Fraction(2))
    assert acc(result)["below_threshold"] == 100 and acc(result)["unmoved"] == 96
    assert result.complete  # below threshold is a choice, not a gap
    assert roles_of(result)[B] == "below-threshold" and all(call[0] != B for call in history.calls)


def test_material_transfer_is_followed_below_min_taint() -> None:
    # A -> B is wholly stolen value: B is a recipient of the loot, not a dusted bystander
    result, history = run(THEFT, min_taint=Fraction(1, 5))
    assert acc(result)["below_threshold"] == 0 and acc(result)["unmoved"] == 196
    assert roles_of(result)[B] == "transit" and (B, SERVICE_PROBE_ROWS) in history.calls


def test_diluted_small_transfer_stays_below_threshold() -> None:
    world = [
        transfer(1, 10, V, T, 1000),
        transfer(2, 11, T, A, 1000),
        transfer(3, 12, C, A, 9000),  # clean value: A's outflows are 10 % stolen
        transfer(4, 13, A, EX, 9900),
        transfer(5, 14, A, B, 100),  # 10 units of taint in a 100-unit transfer: not material
    ]
    result, history = run(world, min_taint=Fraction(1, 20), attribution=False)  # A is fresh: see attribution
    assert_closes(result)
    assert acc(result)["below_threshold"] == 10 and acc(result)["endpoints"] == 990
    assert roles_of(result)[B] == "below-threshold" and all(call[0] != B for call in history.calls)
    # the floor: a material transfer below `material_floor` is not followed either
    result, _ = run(THEFT, min_taint=Fraction(1, 5), material_floor=Fraction(1, 5))
    assert roles_of(result)[B] == "below-threshold"


def test_budget_leaves_unexplored_frontier_and_incomplete() -> None:
    result, _ = run(THEFT, max_addresses=1)
    assert acc(result)["unexplored"] == 600 and not result.complete
    assert result.summary["counts"]["addresses_visited"] == 1


def test_max_hops_limits_expansion() -> None:
    result, _ = run(THEFT, max_hops=1)
    assert acc(result)["unexplored"] == 600 and not result.complete


def test_ranked_expands_the_richest_address_first() -> None:
    world = [
        transfer(1, 10, V, T, 100),
        transfer(2, 11, T, A, 10),
        transfer(3, 11, T, B, 90),
        transfer(4, 12, A, C, 10),
        transfer(5, 12, B, D, 90),
    ]
    config = TraceConfig(
        "synthetic",
        (SeedSpec("ethereum", T),),
        window=Window(since_block=10),
        strategy=Strategy.RANKED,
        max_addresses=None,
    )
    state = Engine(config, history=MemoryHistory(world), labels=LABELS).run()
    assert state.expanded_order[:3] == [("ethereum", T), ("ethereum", B), ("ethereum", D)]
    config = TraceConfig(
        "synthetic",
        (SeedSpec("ethereum", T),),
        window=Window(since_block=10),
        strategy=Strategy.BREADTH_FIRST,
        max_addresses=None,
    )
    state = Engine(config, history=MemoryHistory(world), labels=LABELS).run()
    assert state.expanded_order[:3] == [("ethereum", T), ("ethereum", A), ("ethereum", B)]


def test_unknown_service_is_decided_from_a_partial_read() -> None:
    strangers = [transfer(100 + i, 20 + i // 50, addr(1000 + i), HUB, 1) for i in range(SERVICE_PROBE_ROWS + 50)]
    world = [transfer(1, 10, V, T, 100), transfer(2, 11, T, HUB, 100), *strangers]
    result, history = run(world)
    assert acc(result)["endpoints"] == 100
    row = result.endpoints.row(0, named=True)
    assert (row["address"], row["category"], row["label_source"]) == (
        HUB,
        "unknown-service",
        "heuristic:service-history",
    )
    assert (HUB, None) not in history.calls  # never read in full
    assert (HUB, SERVICE_PROBE_ROWS) in history.calls


def test_unknown_service_is_decided_from_the_full_history_when_the_probe_is_inconclusive() -> None:
    # the first page is the service's own zero-value calls; its users show up only later
    calls = [transfer(100 + i, 12, addr(900), HUB, 0) for i in range(SERVICE_PROBE_ROWS + 50)]
    users = [transfer(5000 + i, 20 + i // 50, addr(1000 + i), HUB, 7) for i in range(SERVICE_MIN_COUNTERPARTIES)]
    payouts = [transfer(9000 + i, 30 + i, HUB, addr(3000 + i), 50) for i in range(5)]
    world = [transfer(1, 10, V, T, 100), transfer(2, 11, T, HUB, 100), *calls, *users, *payouts]
    result, history = run(world)
    assert (HUB, SERVICE_PROBE_ROWS) in history.calls and (HUB, None) in history.calls
    (row,) = result.endpoints.iter_rows(named=True)
    assert (row["address"], row["category"]) == (HUB, "unknown-service")
    assert acc(result)["endpoints"] == 100
    assert set(roles_of(result)) == {T, HUB}  # its unrelated payees are not traced


def test_busy_pass_through_router_is_followed_not_stopped() -> None:
    pool = addr(62)
    users = [
        item
        for i in range(SERVICE_MIN_COUNTERPARTIES + 10)
        for item in (
            transfer(100 + i, 20, addr(1000 + i), ROUTER, 5, position=1),
            transfer(100 + i, 20, ROUTER, pool, 5, position=2),
        )
    ]
    world = [
        *users,
        transfer(1, 30, V, T, 100),
        transfer(2, 31, T, ROUTER, 100, position=1),
        transfer(2, 31, ROUTER, A, 100, position=2),
    ]
    result, _ = run(world)
    assert_closes(result)
    assert result.endpoints.is_empty()
    assert acc(result)["unmoved"] == 100 and roles_of(result)[A] == "transit"


def test_deposit_address_is_recognised_and_absorbs() -> None:
    world = [transfer(1, 10, V, T, 100), transfer(2, 11, T, D, 100), fee(3, 20, D, 1), transfer(3, 20, D, EX, 99)]
    result, _ = run(world)
    (row,) = result.endpoints.iter_rows(named=True)
    assert (row["address"], row["category"], row["label"]) == (
        D,
        "exchange-deposit",
        "Synthetic Exchange deposit address",
    )
    assert acc(result)["endpoints"] == 100 and acc(result)["fees"] == 0


def _hub_users(hub: str, n: int) -> list:
    """`n` unrelated customers paying `hub` (synthetic), so that it is an unknown service."""
    return [transfer(5000 + i, 5, addr(3000 + i), hub, 7) for i in range(n)]


def test_sweeps_to_an_unlabelled_hub_that_funded_the_gas_make_a_deposit_address() -> None:
    world = [
        *_hub_users(HUB, SERVICE_MIN_COUNTERPARTIES),
        transfer(1, 10, V, T, 100),
        transfer(2, 11, T, D, 100),
        transfer(4, 15, HUB, D, 2),  # the exchange tops up the deposit address's gas
        fee(3, 20, D, 1),
        transfer(3, 20, D, HUB, 100),
    ]
    result, _ = run(world)
    rows = {r["address"]: r for r in result.endpoints.iter_rows(named=True)}
    assert rows[D]["category"] == "exchange-deposit" and rows[D]["label"] == f"unknown service {HUB} deposit address"
    assert acc(result)["endpoints"] == 100 and HUB not in rows  # the taint stops at the deposit address


def test_a_per_order_address_forwarding_to_a_hub_that_never_paid_it_is_the_hubs_deposit_address() -> None:
    # an instant exchanger's per-order address: the thief pays it, it forwards all to the service hub
    world = [
        *_hub_users(HUB, SERVICE_MIN_COUNTERPARTIES),
        transfer(1, 10, V, T, 100),
        transfer(2, 11, T, D, 100),
        transfer(3, 20, D, HUB, 100),
    ]
    result, _ = run(world)
    rows = {r["address"]: r for r in result.endpoints.iter_rows(named=True)}
    assert set(rows) == {D} and rows[D]["category"] == "exchange-deposit" and rows[D]["tainted_amount"] != "0"
    assert result.summary["attributed_addresses"] == []  # never "thief-controlled"


def test_swap_through_router_continues_in_the_bought_asset() -> None:
    world = [
        transfer(1, 10, V, T, 1000),
        fee(2, 11, T, 1),
        transfer(2, 11, T, ROUTER, 400, position=1),  # ETH in to the router, which wraps and pays the pool
        transfer(2, 11, ROUTER, POOL, 400, position=2),
        transfer(2, 11, POOL, T, 8000, asset=USDT, position=1_000_001),
        transfer(3, 12, T, A, 8000, asset=USDT, position=1_000_000),
    ]
    result, _ = run(world)
    assert_closes(result)
    assert acc(result)["swapped_out"] == 400 and acc(result, TOKEN)["swapped_in"] == 8000
    assert acc(result, TOKEN)["unmoved"] == 8000  # followed to A in USDT
    assert result.summary["swaps"][0]["asset_out"] == NATIVE and result.summary["swaps"][0]["asset_in"] == TOKEN
    tainted_to = set(result.flows["to"].to_list())
    assert A in tainted_to


def test_pass_through_router_is_followed_in_the_engine() -> None:
    world = [
        transfer(1, 10, V, T, 100),
        transfer(5, 5, C, ROUTER, 10**9),  # the router holds a big clean balance
        transfer(2, 11, T, ROUTER, 100, position=1),
        transfer(2, 11, ROUTER, A, 100, position=2),
    ]
    result, _ = run(world)
    by_address = {r["address"]: r["tainted_in"] for r in result.addresses.iter_rows(named=True)}
    assert by_address[A] == "0.0000000000000001"  # all 100 wei reached A
    assert acc(result)["unmoved"] == 100


def test_noise_sent_to_the_thief_neither_dilutes_nor_counts_as_stolen() -> None:
    world = [
        transfer(1, 10, V, T, 100),
        transfer(2, 11, C, T, 10**6, noise=frozenset({NoiseFlag.DUST})),
        transfer(3, 12, T, EX, 100),
    ]
    result, _ = run(world)
    assert acc(result)["stolen"] == 100 and acc(result)["endpoints"] == 100


def test_victim_seed_traces_what_left_the_victim() -> None:
    world = [transfer(1, 5, V, C, 50), transfer(2, 10, V, T, 700), fee(2, 10, V, 3), transfer(3, 12, T, EX, 700)]
    result, _ = run(world, SeedSpec("ethereum", V, role="victim"))
    assert acc(result)["stolen"] == 700 and acc(result)["endpoints"] == 700 and acc(result)["fees"] == 0


def test_tx_seed_takes_the_receivers_of_the_theft_transaction() -> None:
    world = [
        transfer(1, 10, V, ROUTER, 500, position=1),  # victim -> exploit contract -> two thieves, one tx
        transfer(1, 10, ROUTER, T, 300, position=2),
        transfer(1, 10, ROUTER, A, 200, position=3),
        transfer(2, 12, T, EX, 300),
    ]
    result, _ = run(world, SeedSpec("ethereum", tx=tx_hash(1)))
    assert acc(result)["stolen"] == 500 and acc(result)["endpoints"] == 300 and acc(result)["unmoved"] == 200
    seeds = {r["address"] for r in result.addresses.iter_rows(named=True) if r["role"] == "seed"}
    assert seeds == {T, A}


def test_seed_with_amount_and_token_asset() -> None:
    world = [
        transfer(1, 10, V, T, 5000, asset=USDT, position=1_000_000),
        transfer(2, 10, C, T, 7),
        transfer(3, 12, T, A, 5000, asset=USDT, position=1_000_000),
    ]
    result, _ = run(world, SeedSpec("ethereum", T, amount="0.004", asset="USDT"))
    assert acc(result, TOKEN)["stolen"] == 4000 and NATIVE not in result.accounting
    with pytest.raises(BadInput, match=r"ambiguous|never reached"):
        run(world, SeedSpec("ethereum", T, amount="1", asset="DAI"))


def test_several_seeds_on_two_chains() -> None:
    from tracer.core.models import Asset, Transfer, TransferKind

    bsc_native = Asset("bsc", None, "BNB", 18)
    bsc = [Transfer("bsc", tx_hash(99), 1, 10, 0, 1_000_120, V, C, bsc_native, 70, TransferKind.EXTERNAL)]
    world = THEFT + bsc
    result, _ = run(world, SeedSpec("ethereum", T), SeedSpec("bsc", C))
    assert acc(result)["stolen"] == 1000 and acc(result, "bsc:native")["stolen"] == 70
    assert_closes(result)


def test_reverted_theft_transfer_is_not_stolen() -> None:
    world = [transfer(1, 10, V, T, 1000, success=False), transfer(2, 11, V, T, 10)]
    result, _ = run(world)
    assert acc(result)["stolen"] == 10


def test_bundle_is_byte_identical_on_rerun(tmp_path) -> None:
    for name in ("a", "b"):
        result, _ = run(THEFT)
        result.write(tmp_path / name, report=False)
    for f in ("summary.json", "flows.csv", "addresses.csv", "endpoints.csv", "graph.graphml", "manifest.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["assets"][NATIVE]["stolen"] == "0.000000000000001"
    header = (tmp_path / "a" / "flows.csv").read_text().splitlines()[0]
    assert header == (
        "chain,tx_hash,position,block,timestamp,from,to,asset,asset_id,amount,tainted_amount,hop,thief_funds_amount"
    )


def test_checkpoint_is_written_and_resume_makes_no_new_requests() -> None:
    checkpoints = MemoryCheckpoints()
    config = TraceConfig("synthetic", (SeedSpec("ethereum", T),), window=Window(since_block=10))
    history = MemoryHistory(THEFT)
    calls = 0

    def stop(progress) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Engine(config, history=history, labels=LABELS, checkpoints=checkpoints, progress=stop).run()
    saved = json.loads(next(iter(checkpoints.saved.values())))
    assert len(saved["expanded"]) == 2 and saved["frontier"]["strategy"] == "ranked"
    whole = build_result(Engine(config, history=MemoryHistory(THEFT), labels=LABELS).run())
    resumed = build_result(Engine(config, history=history, labels=LABELS, checkpoints=checkpoints).run())
    assert resumed.summary == whole.summary


def test_trace_api_and_compare_policies(tmp_path) -> None:
    from tracer.cases.case import parse_case

    case = parse_case(
        f'[case]\nid = "synthetic-api"\ntitle = "synthetic"\n[[seeds]]\nchain = "ethereum"\naddress = "{T}"\n'
        '[trace]\nsince = 10\npolicy = "fifo"\n',
        name="case.toml",
    )
    result = trace(case, history=MemoryHistory(THEFT), labels=LABELS)
    assert result.summary["policy"] == "fifo" and acc(result)["endpoints"] == 800
    results = compare_policies(case, ["haircut", "poison"], out=tmp_path, history=MemoryHistory(THEFT), labels=LABELS)
    doc = json.loads((tmp_path / "comparison.json").read_text())
    assert set(doc) == {"haircut", "poison"} == set(results)
    assert (tmp_path / "poison" / "summary.json").exists()
    assert doc["poison"]["poison"]["endpoint_value_reached"][NATIVE] == "0.0000000000000008"
