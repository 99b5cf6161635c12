"""Attribution by first gas: a fresh wallet whose first gas the thief's side paid is the thief's, in every asset.

All worlds here are small hand-built SYNTHETIC ones (in-memory sources)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

from heuristics.attribution import first_gas_payment, gains_beyond
from tests.memory_source import USDT, MemoryHistory, MemoryLabels, addr, fee, transfer
from tracer.account.engine import Engine
from tracer.account.result import build_result
from tracer.cases.plan import SeedSpec, TraceConfig, Window
from tracer.core.models import Category

V, T, S, W1, W2, G, OUTSIDER, P, K, EX = (addr(i) for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 50))
C1, C2, C3, C4 = (addr(i) for i in (11, 12, 13, 14))
LABELS = MemoryLabels({EX: (Category.EXCHANGE, "Synthetic Exchange")})
KEY = USDT.key


def station_world(*, station_payees: int = 0) -> list:
    """SYNTHETIC. S pays the first gas of the thief T, of W1 and W2 (which T funds and which spread value) and of
    G. Before the thief pays G, G receives 400 USDT from OUTSIDER (another victim, say) and deposits it at P,
    an exchange deposit address; the thief later pays G 1,000, which G passes to K. `station_payees` more
    addresses got gas from S (a service's crowd when it reaches the service threshold)."""
    crowd = [transfer(1000 + i, 2, S, addr(5000 + i), 7) for i in range(station_payees)]
    return [
        transfer(1, 1, S, T, 50),
        transfer(2, 2, S, W1, 50),
        transfer(3, 3, S, W2, 50),
        transfer(4, 4, S, G, 50),
        *crowd,
        transfer(10, 10, V, T, 3000, asset=USDT),
        transfer(11, 11, T, W1, 1000, asset=USDT),
        transfer(12, 11, T, W2, 1000, asset=USDT),
        transfer(13, 12, W1, C1, 500, asset=USDT),
        transfer(14, 12, W1, C2, 500, asset=USDT),
        transfer(15, 12, W2, C3, 500, asset=USDT),
        transfer(16, 12, W2, C4, 500, asset=USDT),
        transfer(17, 13, OUTSIDER, G, 400, asset=USDT),
        transfer(18, 14, G, P, 400, asset=USDT),
        transfer(19, 15, EX, P, 9),  # the exchange tops up its deposit address's gas
        transfer(20, 16, P, EX, 400, asset=USDT),
        transfer(21, 17, T, G, 1000, asset=USDT),
        transfer(22, 18, G, K, 1000, asset=USDT),
    ]


def run(world, *, attribution: bool = True):
    config = TraceConfig(
        "synthetic",
        (SeedSpec("ethereum", T),),
        window=Window(since_block=10),
        min_taint=Fraction(1, 100),
        material_floor=Fraction(1),  # nothing is followed for being mostly stolen: attribution alone
        attribution=attribution,
    )
    state = Engine(config, history=MemoryHistory(world), labels=LABELS).run()
    return state, build_result(state)


def test_first_gas_payment_is_the_first_inflow_of_a_wallet_that_only_burns_the_coin() -> None:
    gas, token = transfer(1, 1, S, G, 50), transfer(2, 2, OUTSIDER, G, 400, asset=USDT)
    spend = transfer(3, 3, G, P, 400, asset=USDT)
    assert first_gas_payment(G, [gas, token, spend, fee(3, 3, G, 5)]) == gas
    assert first_gas_payment(G, [token, gas, spend]) is None  # first paid a token: a payment, not gas
    assert first_gas_payment(G, [fee(9, 0, G, 5), gas, spend]) is None  # it spent before anyone funded it
    assert first_gas_payment(G, [gas, transfer(4, 3, G, P, 20)]) is None  # it passes the coin on: paid, not fuelled
    assert first_gas_payment(G, [gas]) == gas


def test_the_gas_rule_says_more_only_where_the_wallet_gained_from_outside_before_or_beside_the_thief() -> None:
    gas, paid = transfer(1, 1, S, G, 50), transfer(2, 5, T, G, 1000, asset=USDT)
    outside_before, outside_after = (
        transfer(3, 3, OUTSIDER, G, 400, asset=USDT),
        transfer(4, 7, OUTSIDER, G, 9, asset=USDT),
    )
    more_gas = transfer(5, 4, OUTSIDER, G, 70)
    dai = replace(USDT, contract=addr(77), symbol="DAI")
    other = transfer(6, 6, OUTSIDER, G, 5, asset=dai)
    thieves, traced = {T}, {USDT.key, dai.key}
    assert gains_beyond(G, [gas, outside_before, paid], gas, paid, thieves, traced)  # before the thief's payment
    assert gains_beyond(G, [gas, outside_before], gas, None, thieves, traced)  # no payment found it fresh
    assert not gains_beyond(G, [gas, paid, outside_after], gas, paid, thieves, traced)  # the value rule covers it
    assert not gains_beyond(G, [gas, more_gas, paid], gas, paid, thieves, traced)  # more gas is only gas
    assert gains_beyond(G, [gas, paid, other], gas, paid, thieves, traced)  # another asset the thief's side moved
    assert not gains_beyond(G, [gas, paid, other], gas, paid, thieves, {USDT.key})  # a token nobody of theirs moved


def test_a_wallet_the_thiefs_gas_station_fuelled_is_the_thiefs_from_its_first_gas() -> None:
    state, result = run(station_world())
    assert ("ethereum", G) in state.attributed and state.attributed[("ethereum", G)].sender == S
    rows = {r["address"]: r for r in result.endpoints.to_dicts()}
    assert rows[P]["category"] == "exchange-deposit"
    assert Decimal(rows[P]["tainted_amount"]) == 0 and Decimal(rows[P]["thief_funds_amount"]) * 10**6 == 400
    assert result.accounting[KEY]["stolen"] == 3000  # what the outsider paid G is thief funds, never stolen
    assert Decimal(result.summary["assets"][KEY]["thief_funds"]["gained"]) * 10**6 == 400
    listed = {r["address"]: r for r in result.summary["attributed_addresses"]}
    assert listed[G]["funded_by"] == S and listed[G]["evidence"]["funding"] == "first gas"
    words = state.labels[("ethereum", G)].source_words
    assert "gas station" in words and S in words


def test_without_the_station_the_earlier_deposit_is_not_reached() -> None:
    world = [tr for tr in station_world() if not (tr.sender == S and tr.receiver != G)]  # S fuelled G alone
    state, result = run(world)
    assert state.attributed[("ethereum", G)].sender == T  # the value rule: from the thief's payment on only
    assert P not in {r["address"] for r in result.endpoints.to_dicts()}
    assert result.accounting[KEY]["stolen"] == 3000


def test_a_gas_funder_that_is_a_service_is_no_gas_station() -> None:
    state, result = run(station_world(station_payees=1000))  # S fuels a thousand others: a service
    assert state.attributed[("ethereum", G)].sender == T
    assert P not in {r["address"] for r in result.endpoints.to_dicts()}
    assert state.endpoints[("ethereum", S)].category is Category.UNKNOWN_SERVICE  # probed once, found a service


def test_gas_attribution_does_not_depend_on_the_order_of_the_source(tmp_path) -> None:
    _, a = run(station_world())
    _, b = run(list(reversed(station_world())))
    a.write(tmp_path / "a", report=False)
    b.write(tmp_path / "b", report=False)
    for name in ("summary.json", "flows.csv", "addresses.csv", "endpoints.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_switching_attribution_off_switches_the_gas_rule_off() -> None:
    state, result = run(station_world(), attribution=False)
    assert not state.attributed
    assert P not in {r["address"] for r in result.endpoints.to_dicts()}


def test_rechecks_that_never_settle_end_with_a_note_not_a_hang(monkeypatch) -> None:
    from tracer.account import engine

    monkeypatch.setattr(engine.Engine, "_recheck_endpoints", lambda self: True)  # rules that flip for ever
    state, _ = run(station_world())
    assert any(f"{engine.MAX_RECHECK_ROUNDS} rechecks" in note for note in state.notes)
