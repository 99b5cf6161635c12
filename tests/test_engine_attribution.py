"""Thief attribution by first funding, on small hand-built SYNTHETIC worlds (in-memory sources)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from heuristics.attribution import balance_before, first_thief_payment, funded_by_thief
from tests.memory_source import USDT, MemoryHistory, MemoryLabels, addr, transfer
from tracer.account.engine import Engine
from tracer.account.result import build_result
from tracer.cases.plan import SeedSpec, TraceConfig, Window
from tracer.core.errors import SourceError
from tracer.core.models import Category, NoiseFlag

V, T, A, B, C, D, F, EX = (addr(i) for i in (1, 2, 3, 4, 5, 6, 7, 50))
NATIVE = "ethereum:native"
LABELS = MemoryLabels({EX: (Category.EXCHANGE, "Synthetic Exchange")})

# T (thief) funds a fresh A with 1,000; A is later topped up with 9,000 from C (not in the theft)
# and sends 5,000 each to B and D, which already held 100,000 (so neither is fresh); B pays 4,000 to F.
TOPPED_UP = [
    transfer(20, 1, C, B, 100_000),
    transfer(21, 1, C, D, 100_000),
    transfer(1, 10, V, T, 1000),
    transfer(2, 11, T, A, 1000),
    transfer(3, 12, C, A, 9000),
    transfer(4, 13, A, B, 5000),
    transfer(5, 14, A, D, 5000),
    transfer(6, 15, B, F, 4000),
]


def run(world, *, attribution: bool = True, min_taint: Fraction = Fraction(1, 5), labels: MemoryLabels = LABELS):
    config = TraceConfig(
        "synthetic",
        (SeedSpec("ethereum", T),),
        window=Window(since_block=10),
        min_taint=min_taint,
        material_floor=Fraction(1),  # nothing is followed for being mostly stolen: attribution alone
        attribution=attribution,
    )
    state = Engine(config, history=MemoryHistory(world), labels=labels).run()
    return state, build_result(state)


def test_fresh_address_funded_by_the_thief_is_followed_in_full() -> None:
    state, result = run(TOPPED_UP)
    assert set(state.attributed) == {("ethereum", A)}
    assert state.attributed[("ethereum", A)].sender == T
    native = result.accounting[NATIVE]
    assert native["stolen"] == 1_000 and native["unmoved"] + native["below_threshold"] == 1_000  # the theft only
    funds = result.summary["assets"][NATIVE]["thief_funds"]
    assert funds["gained"] == "0.000000000000009"  # the 9,000 wei A gained after: thief funds, not stolen
    tf = result.summary["assets"][NATIVE]["thief_funds"]
    assert (tf["unmoved"], tf["below_threshold"]) == ("0.000000000000008829", "0.000000000000000171")  # F: 171
    listed = result.summary["attributed_addresses"]
    assert [(r["address"], r["funded_by"]) for r in listed] == [(A, T)]
    assert listed[0]["evidence"]["thief_side_share"] == "1000/10000" and listed[0]["evidence"]["receivers"] == 2
    rows = {r["address"]: r for r in result.addresses.to_dicts()}
    assert rows[A]["label_source"] == "heuristic:first-funder" and rows[A]["category"] == "hacker"
    assert rows[B]["role"] == rows[D]["role"] == "transit"
    # B (100,000 of its own + 5,000 from A: 500 stolen, 4,500 thief funds) pays 4,000 to F
    assert (rows[F]["tainted_in"], rows[F]["thief_funds_in"]) == ("0.000000000000000019", "0.000000000000000171")


def test_without_attribution_the_clean_top_up_dilutes_the_taint() -> None:
    state, result = run(TOPPED_UP, attribution=False, min_taint=Fraction(3, 5))
    assert not state.attributed and "thief_funds" not in result.summary["assets"][NATIVE]
    assert result.accounting[NATIVE]["stolen"] == 1_000
    roles = {r["address"]: r["role"] for r in result.addresses.to_dicts()}
    assert roles[B] == "below-threshold" and F not in roles  # 500 of 1,000 stolen: under min_taint 3/5
    assert result.summary["parameters"]["attribution"] == "off"


def test_an_address_that_already_held_value_is_not_attributed() -> None:
    world = [transfer(9, 5, C, A, 11), *TOPPED_UP]  # A held 11 (> 1 %) before the thief paid it 1,000
    state, result = run(world)
    assert not state.attributed
    assert result.accounting[NATIVE]["stolen"] == 1_000


def test_attribution_chains_through_fresh_addresses_and_ignores_noise() -> None:
    dust = transfer(8, 10, D, B, 1, noise=frozenset({NoiseFlag.DUST}))  # a stranger's dust does not make B "used"
    world = [*TOPPED_UP[2:6], dust, transfer(7, 14, C, B, 20_000), transfer(6, 15, B, F, 24_000)]
    state, result = run(world)
    assert set(state.attributed) == {("ethereum", A), ("ethereum", B), ("ethereum", F)}
    rows = {r["address"]: r for r in result.addresses.to_dicts()}
    assert (rows[F]["tainted_in"], rows[F]["thief_funds_in"]) == ("0.00000000000000048", "0.00000000000002352")
    # F got 24,000 of B's 25,000 (500 stolen, 4,500 + 20,000 thief funds), in proportion: 480 and 23,520


def test_only_the_funding_asset_is_attributed() -> None:
    world = [*TOPPED_UP, transfer(10, 13, C, A, 7, asset=USDT)]
    _, result = run(world)
    assert USDT.key not in result.accounting  # a token A received from elsewhere is not the thief's


def test_first_funding_helpers() -> None:
    history = [transfer(1, 5, C, A, 10), transfer(2, 6, A, D, 4), transfer(3, 7, T, A, 600)]
    assert balance_before(A, history, history[2]) == 6
    assert first_thief_payment(A, [history[2], transfer(4, 8, T, A, 1)]) == history[2]
    assert funded_by_thief(A, history, history[2])  # 6 <= 1 % of 600
    assert not funded_by_thief(A, history, transfer(3, 7, T, A, 599))
    assert first_thief_payment(A, [transfer(5, 9, T, A, 0)]) is None  # a zero-value transfer funds nothing


def test_a_bridge_that_routes_value_on_in_the_same_transaction_is_followed_through() -> None:
    inbox, vault = addr(80), addr(81)
    labels = MemoryLabels({inbox: (Category.BRIDGE, "Synthetic Bridge: Inbox"), EX: (Category.EXCHANGE, "Synthetic")})
    world = [
        transfer(1, 10, V, T, 1000),
        transfer(2, 11, T, inbox, 600, position=1),
        transfer(2, 11, inbox, vault, 600, position=2),  # forwarded inside the same transaction
        transfer(3, 12, T, inbox, 400),  # kept by the inbox
        *(transfer(100 + i, 5, addr(1000 + i), vault, 1) for i in range(3)),
    ]
    config = TraceConfig("synthetic", (SeedSpec("ethereum", T),), window=Window(since_block=10))
    history = MemoryHistory(world)
    state = Engine(config, history=history, labels=labels).run()
    result = build_result(state)
    assert state.conduits[("ethereum", inbox)] == {world[1].tx_hash, world[3].tx_hash}
    roles = {r["address"]: r["role"] for r in result.addresses.to_dicts()}
    assert roles[inbox] == "endpoint" and vault in roles
    native = result.accounting[NATIVE]
    kept = {r["address"]: r["tainted_amount"] for r in result.endpoints.to_dicts()}
    assert kept[inbox] == "0.0000000000000004"  # what the inbox kept is its endpoint amount
    assert native["endpoints"] == 400 and native["unmoved"] == 600  # the vault holds the routed 600
    assert sum(v for k, v in native.items() if k not in ("stolen", "swapped_in", "swapped_out")) == 1000


def test_an_attributed_address_spending_unseen_value_spends_the_thiefs() -> None:
    # A's history shows 1,000 from the thief but A pays 3,000 (a gap in the data, or an inflow the
    # source never listed): the unseen 2,000 of the funding asset counts as thief funds, never stolen.
    world = [transfer(1, 10, V, T, 1000), transfer(2, 11, T, A, 1000), transfer(4, 13, A, F, 3000)]
    state, result = run(world)
    assert set(state.attributed) == {("ethereum", A), ("ethereum", F)}  # F is fresh too
    assert result.accounting[NATIVE]["stolen"] == 1000
    assert result.summary["assets"][NATIVE]["thief_funds"]["gained"] == "0.000000000000002"
    flows = {(r["from"], r["to"]): (r["tainted_amount"], r["thief_funds_amount"]) for r in result.flows.to_dicts()}
    assert flows[(A, F)] == ("0.000000000000001", "0.000000000000002")  # one row, carrying both
    _, value_only = run(world, attribution=False)
    assert value_only.accounting[NATIVE]["stolen"] == 1000  # elsewhere a shortfall is clean


def test_a_bridge_transaction_that_cannot_be_read_leaves_a_plain_endpoint_and_a_note() -> None:
    inbox, vault = addr(80), addr(81)
    labels = MemoryLabels({inbox: (Category.BRIDGE, "Synthetic Bridge: Inbox")})
    world = [
        transfer(1, 10, V, T, 1000),
        transfer(2, 11, T, inbox, 600, position=1),
        transfer(2, 11, inbox, vault, 600, position=2),
    ]

    class NoTransactions(MemoryHistory):
        def transaction(self, chain, tx):
            raise SourceError("etherscan: proxy module not available")

    config = TraceConfig("synthetic", (SeedSpec("ethereum", T),), window=Window(since_block=10))
    state = Engine(config, history=NoTransactions(world), labels=labels).run()
    result = build_result(state)
    assert result.accounting[NATIVE]["endpoints"] == 600 and result.complete
    assert result.summary["notes"] == [
        f"ethereum {world[1].tx_hash}: not read to see whether bridge {inbox} passed the value on"
        " (etherscan: proxy module not available)"
    ]


# An OTC desk / merchant: a fresh address X the thief pays once, then 30 unrelated clients pay it far
# more, and it pays 40 payees. X serves others: a counterparty endpoint holding what the thief paid it.
X = addr(60)
CLIENTS = [addr(2000 + i) for i in range(30)]
PAYEES = [addr(3000 + i) for i in range(40)]
OTC = [
    transfer(1, 10, V, T, 1000),
    transfer(2, 11, T, X, 1000),
    *(transfer(100 + i, 12 + i, c, X, 50_000) for i, c in enumerate(CLIENTS)),
    *(transfer(200 + i, 50 + i, X, p, 30_000) for i, p in enumerate(PAYEES)),
]


def test_a_counterparty_that_serves_others_is_an_endpoint_holding_what_the_thief_paid_it() -> None:
    state, result = run(OTC)
    assert not state.attributed and ("ethereum", X) in state.counterparties
    rows = {r["address"]: r for r in result.endpoints.to_dicts()}
    assert set(rows) == {X} and rows[X]["category"] == "unknown-service" and rows[X]["label"] == "counterparty"
    assert rows[X]["tainted_amount"] == "0.000000000000001" and rows[X]["thief_funds_amount"] == "0"
    native = result.accounting[NATIVE]
    assert native["stolen"] == native["endpoints"] == 1000 and not result.thief_funds
    assert not set(PAYEES) & {r["address"] for r in result.addresses.to_dicts()}  # its business is not traced
    assert result.summary["counterparties"][0]["why"].startswith("30 senders outside the thief's side paid it 1500.0x")


def test_counterparty_decision_does_not_depend_on_the_order_of_the_source(tmp_path) -> None:
    _, a = run(OTC)
    _, b = run(list(reversed(OTC)))
    a.write(tmp_path / "a", report=False)
    b.write(tmp_path / "b", report=False)
    for name in ("summary.json", "flows.csv", "addresses.csv", "endpoints.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_consolidation_address_fed_by_many_thief_wallets_is_not_a_counterparty() -> None:
    wallets = [addr(4000 + i) for i in range(12)]
    world = [
        transfer(1, 10, V, T, 12_000),
        *(transfer(10 + i, 11, T, w, 1000) for i, w in enumerate(wallets)),
        *(transfer(40 + i, 20 + i, w, C, 1000) for i, w in enumerate(wallets)),
        transfer(90, 60, C, EX, 12_000),
        transfer(91, 5, D, C, 1),  # one stranger's payment before
    ]
    state, result = run(world, min_taint=Fraction(1, 100))
    assert ("ethereum", C) not in state.counterparties
    assert result.accounting[NATIVE]["endpoints"] == 12_000  # all of it reached the exchange through C


def test_an_exchange_withdrawal_to_a_thief_address_is_never_stolen() -> None:
    world = [
        transfer(1, 10, V, T, 1000),
        transfer(2, 11, T, A, 1000),  # A: fresh, the thief's
        transfer(3, 12, EX, A, 5000),  # a withdrawal from the exchange's hot wallet
        transfer(4, 13, A, F, 6000),
    ]
    state, result = run(world)
    assert ("ethereum", A) in state.attributed and not state.counterparties
    assert result.accounting[NATIVE]["stolen"] == 1000  # the theft, exactly
    assert result.summary["assets"][NATIVE]["thief_funds"]["gained"] == "0.000000000000005"  # the thief's, apart
    flows = {(r["from"], r["to"]): (r["tainted_amount"], r["thief_funds_amount"]) for r in result.flows.to_dicts()}
    assert flows[(A, F)] == ("0.000000000000001", "0.000000000000005")


def test_an_exchange_withdrawal_into_a_seed_is_not_stolen_and_is_named() -> None:
    world = [
        transfer(1, 10, V, T, 1000),  # the theft
        transfer(2, 11, EX, T, 70),  # the thief withdraws gas money from an exchange: not loot
        transfer(3, 12, T, A, 1070),
    ]
    _, result = run(world)
    assert result.accounting[NATIVE]["stolen"] == 1000
    (note,) = [n for n in result.summary["notes"] if "not counted as stolen" in n]
    assert EX in note and "Synthetic Exchange" in note and "state the amount" in note


def test_a_theft_paid_by_a_labelled_exchange_is_stolen_when_the_exchange_is_the_victim_or_amounts_are_stated() -> None:
    world = [transfer(1, 10, EX, T, 1000), transfer(2, 11, T, A, 1000)]  # an exchange hot wallet is drained
    for seeds in (
        (SeedSpec("ethereum", T), SeedSpec("ethereum", EX, role="victim")),
        (SeedSpec("ethereum", T, amount="0.000000000000001", asset="ETH"),),
    ):
        config = TraceConfig("synthetic", seeds, window=Window(since_block=10), min_taint=Fraction(1, 5))
        state = Engine(config, history=MemoryHistory(world), labels=LABELS).run()
        assert build_result(state).accounting[NATIVE]["stolen"] == 1000


def _deposit_world(gas_funder: str, *, station: str = addr(60), exchange: str = EX) -> list:
    """SYNTHETIC: the thief pays 600 USDT to A and 400 to B; A's gas comes from `gas_funder`, A sends all to
    `exchange`. `station`, the thief's gas station, also gave gas to T and B (both spread value: B pays C and D)."""
    return [
        transfer(1, 5, station, T, 10),
        transfer(2, 6, station, B, 10),
        transfer(3, 10, V, T, 1000, asset=USDT),
        transfer(4, 11, T, A, 600, asset=USDT),
        transfer(5, 11, T, B, 400, asset=USDT),
        transfer(6, 12, gas_funder, A, 10),
        transfer(7, 13, A, exchange, 600, asset=USDT),
        transfer(8, 14, B, C, 200, asset=USDT),
        transfer(9, 14, B, D, 200, asset=USDT),
    ]


def test_a_wallet_whose_gas_the_thiefs_gas_station_paid_is_not_a_deposit_address() -> None:
    _, result = run(_deposit_world(addr(60)), min_taint=Fraction(1, 100))
    key = f"ethereum:{USDT.contract}"
    endpoints = {(r["address"], r["asset"]): r for r in result.endpoints.to_dicts()}
    assert (EX, key) in endpoints and (A, key) not in endpoints  # the exchange wallet is where it went
    assert Decimal(endpoints[(EX, key)]["tainted_amount"]) * 10**6 == 600
    evidence = {r["address"]: r["evidence"] for r in result.summary["attributed_addresses"]}
    assert "thief's side" in evidence[A]["not_a_deposit_address"] and addr(60) in evidence[A]["not_a_deposit_address"]


def test_a_deposit_address_whose_gas_the_exchange_side_paid_stays_a_deposit_address() -> None:
    for funder in (EX, addr(61)):  # the hot wallet itself, or an unlabelled gas funder of the exchange
        _, result = run(_deposit_world(funder), min_taint=Fraction(1, 100))
        rows = {r["address"]: r for r in result.endpoints.to_dicts()}
        assert rows[A]["category"] == "exchange-deposit" and EX not in rows


def test_a_per_order_address_of_a_hub_that_serves_others_is_the_hubs_deposit_address() -> None:
    """SYNTHETIC: the thief pays a fresh order address P, whose gas comes from the exchanger's own gas wallet W;
    P forwards everything to the hub H, which serves a crowd. P is H's deposit address, H is never traced."""
    P, H, W = addr(70), addr(71), addr(72)
    crowd = [transfer(100 + i, 30 + i, addr(200 + i), H, 5_000, asset=USDT) for i in range(12)]
    world = [
        transfer(1, 10, V, T, 1000, asset=USDT),
        transfer(2, 11, T, P, 1000, asset=USDT),
        transfer(3, 12, W, P, 10),
        transfer(4, 13, P, H, 1000, asset=USDT),
        *crowd,
        transfer(50, 60, H, addr(90), 30_000, asset=USDT),
    ]
    state, result = run(world, min_taint=Fraction(1, 100))
    rows = {r["address"]: r for r in result.endpoints.to_dicts()}
    assert rows[P]["category"] == "exchange-deposit" and H not in rows
    assert Decimal(rows[P]["tainted_amount"]) * 10**6 == 1000
    assert ("ethereum", P) not in state.attributed
    assert addr(90) not in {r["address"] for r in result.addresses.to_dicts()}  # the hub's business is not traced


def test_deposit_decisions_do_not_depend_on_the_order_of_the_source(tmp_path) -> None:
    for name, world in (("station", _deposit_world(addr(60))), ("exchange", _deposit_world(addr(61)))):
        _, a = run(world, min_taint=Fraction(1, 100))
        _, b = run(list(reversed(world)), min_taint=Fraction(1, 100))
        a.write(tmp_path / name / "a", report=False)
        b.write(tmp_path / name / "b", report=False)
        for file in ("summary.json", "flows.csv", "addresses.csv", "endpoints.csv"):
            assert (tmp_path / name / "a" / file).read_bytes() == (tmp_path / name / "b" / file).read_bytes()


def test_an_unlabelled_hub_that_gave_the_thief_gas_is_no_gas_station_of_the_thief() -> None:
    """SYNTHETIC: H, an unlabelled exchange wallet serving a crowd, paid gas to the thief T and to B (exchange
    withdrawals), and tops up the gas of A, which sweeps all the thief paid it to H. H serves others, so its gas
    payments are no evidence of the thief's: A is H's deposit address, and H's business is not traced."""
    H = addr(71)
    crowd = [transfer(100 + i, 30 + i, addr(200 + i), H, 5_000, asset=USDT) for i in range(12)]
    world = [*_deposit_world(H, station=H, exchange=H), *crowd, transfer(50, 60, H, addr(90), 30_000, asset=USDT)]
    _, result = run(world, min_taint=Fraction(1, 100))
    rows = {r["address"]: r for r in result.endpoints.to_dicts()}
    assert rows[A]["category"] == "exchange-deposit" and H not in rows
    assert Decimal(rows[A]["tainted_amount"]) * 10**6 == 600
    assert addr(90) not in {r["address"] for r in result.addresses.to_dicts()}
    _, reversed_result = run(list(reversed(world)), min_taint=Fraction(1, 100))
    assert reversed_result.endpoints.to_dicts() == result.endpoints.to_dicts()  # whatever order the source gives


def test_gas_from_another_exchange_shows_a_wallet_of_its_own_not_a_deposit_address() -> None:
    """SYNTHETIC: A sweeps all the thief paid it to EX ("Kraken 5"); its gas came from another exchange's hot
    wallet (the owner withdrew gas there), or from EX2 ("Kraken 13", the same exchange's other wallet)."""
    EX2, OTHER = addr(51), addr(52)
    labels = MemoryLabels(
        {
            EX: (Category.EXCHANGE, "Kraken 5"),
            EX2: (Category.EXCHANGE, "Kraken 13"),
            OTHER: (Category.EXCHANGE, "Bitstamp"),
        }
    )
    key = f"ethereum:{USDT.contract}"
    _, own = run(_deposit_world(EX2), min_taint=Fraction(1, 100), labels=labels)
    assert {r["address"]: r for r in own.endpoints.to_dicts()}[A]["category"] == "exchange-deposit"
    _, other = run(_deposit_world(OTHER), min_taint=Fraction(1, 100), labels=labels)
    endpoints = {(r["address"], r["asset"]): r for r in other.endpoints.to_dicts()}
    assert (A, key) not in endpoints and (EX, key) in endpoints
    evidence = {r["address"]: r["evidence"] for r in other.summary["attributed_addresses"]}
    assert "Bitstamp" in evidence[A]["not_a_deposit_address"]
