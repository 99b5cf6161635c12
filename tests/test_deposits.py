"""Exchange deposit-address recognition (heuristics.deposits) on synthetic records."""

from __future__ import annotations

from heuristics.deposits import ALPHA_NATIVE, TAU_BLOCKS, detect_deposit_address, sweep_target
from tests.memory_source import USDT, addr, fee, transfer
from tracer.core.models import Category, Label

D, U1, U2, EX, EX2, OTHER = addr(6), addr(20), addr(21), addr(50), addr(52), addr(30)
ETH = 10**18
LABELS = {
    EX: Label("ethereum", EX, Category.EXCHANGE, "Synthetic Exchange", source="test-synthetic"),
    EX2: Label("ethereum", EX2, Category.EXCHANGE, "Other Exchange", source="test-synthetic"),
    OTHER: None,
}


def detect(history):
    return detect_deposit_address("ethereum", D, sorted(history, key=lambda t: t.order_key), LABELS)


def test_forwarding_deposits_to_one_exchange_within_tau_is_a_deposit_address() -> None:
    history = [
        transfer(1, 100, U1, D, 3 * ETH),
        transfer(2, 150, U2, D, 2 * ETH),
        fee(3, 400, D, 10**15),
        transfer(3, 400, D, EX, 5 * ETH - 10**15),  # sweep less gas: within alpha
        transfer(4, 500, U1, D, 1000, asset=USDT, position=1_000_000),
        transfer(5, 520, D, EX, 1000, asset=USDT, position=1_000_000),
    ]
    label = detect(history)
    assert label is not None
    assert (label.category, label.name, label.source) == (
        Category.EXCHANGE_DEPOSIT,
        "Synthetic Exchange deposit address",
        "heuristic:deposit-reuse",
    )
    assert "2 sweep" in label.source_words


def test_a_payment_to_an_unlabelled_address_rules_it_out() -> None:
    history = [transfer(1, 100, U1, D, 3 * ETH), transfer(2, 110, D, EX, 2 * ETH), transfer(3, 120, D, OTHER, ETH)]
    assert detect(history) is None


def test_two_exchanges_rule_it_out() -> None:
    history = [transfer(1, 100, U1, D, 2 * ETH), transfer(2, 110, D, EX, ETH), transfer(3, 120, D, EX2, ETH)]
    assert detect(history) is None


def test_keeping_more_than_alpha_rules_it_out() -> None:
    kept = int(ALPHA_NATIVE * ETH) + 1
    assert detect([transfer(1, 100, U1, D, 3 * ETH), transfer(2, 110, D, EX, 3 * ETH - kept)]) is None
    assert detect([transfer(1, 100, U1, D, 3 * ETH), transfer(2, 110, D, EX, 3 * ETH - kept + 1)]) is not None


def test_sweeping_later_than_tau_rules_it_out() -> None:
    assert detect([transfer(1, 100, U1, D, ETH), transfer(2, 100 + TAU_BLOCKS + 1, D, EX, ETH)]) is None
    assert detect([transfer(1, 100, U1, D, ETH), transfer(2, 100 + TAU_BLOCKS, D, EX, ETH)]) is not None


def test_an_address_that_never_sends_is_not_recognised() -> None:
    assert detect([transfer(1, 100, U1, D, ETH)]) is None


def test_sending_more_than_it_received_rules_it_out() -> None:
    assert detect([transfer(1, 100, U1, D, ETH), transfer(2, 110, D, EX, 2 * ETH)]) is None


def test_sweep_target_is_the_one_receiver_of_every_value_outflow() -> None:
    swept = [transfer(1, 100, U1, D, 5), fee(2, 110, D, 1), transfer(2, 110, D, EX, 4), transfer(3, 120, D, EX, 1)]
    assert sweep_target(D, swept) == EX
    assert sweep_target(D, [*swept, transfer(4, 130, D, OTHER, 1)]) is None
    assert sweep_target(D, swept[:1]) is None  # never sent anything


def test_a_second_deposit_before_the_first_sweep_and_partial_sweeps_still_make_a_deposit_address() -> None:
    history = [
        transfer(1, 100, U1, D, 3 * ETH),
        transfer(2, 120, U2, D, 2 * ETH),  # arrives before the first sweep
        transfer(3, 130, D, EX, 3 * ETH),  # sweeps the first deposit only
        transfer(4, 140, U1, D, 1 * ETH),
        transfer(5, 150, D, EX, 3 * ETH),  # sweeps the rest
    ]
    assert detect(history) is not None


def test_token_sweeps_with_gas_from_a_separate_funder_make_a_deposit_address() -> None:
    gas = addr(40)  # an unlabelled gas funder, not the exchange
    history = [
        transfer(1, 100, U1, D, 500, asset=USDT),
        transfer(2, 101, gas, D, 10**15),
        transfer(3, 105, U2, D, 700, asset=USDT),
        fee(4, 110, D, 10**14),
        transfer(4, 110, D, EX, 1200, asset=USDT, position=2),
    ]
    assert detect(history) is not None


def test_an_address_left_holding_value_after_its_last_sweep_is_not_a_deposit_address() -> None:
    history = [transfer(1, 100, U1, D, 5 * ETH), transfer(2, 110, D, EX, 2 * ETH)]
    assert detect(history) is None  # it keeps 3 ETH: a wallet, not a deposit address


def test_a_deposit_never_swept_within_tau_is_not_a_deposit_address() -> None:
    history = [
        transfer(1, 100, U1, D, 1 * ETH),
        transfer(2, 100 + TAU_BLOCKS + 1, U2, D, 1 * ETH),
        transfer(3, 100 + TAU_BLOCKS + 2, D, EX, 2 * ETH),
    ]
    assert detect(history) is None


def test_several_sweeps_in_the_last_block_are_judged_after_the_last_of_them() -> None:
    history = [
        transfer(1, 100, U1, D, 700, asset=USDT),
        transfer(2, 101, U2, D, 2500, asset=USDT),
        transfer(3, 130, D, EX, 700, asset=USDT),  # two sweeps in one block: the first leaves 2500 ...
        transfer(4, 130, D, EX, 2500, asset=USDT),  # ... the second drains it
    ]
    assert detect(history) is not None
    kept = [*history[:3], transfer(4, 130, D, EX, 2000, asset=USDT)]
    assert detect(kept) is None  # 500 of 3200 left after the last sweep: not drained


def test_sweeps_to_two_numbered_wallets_of_one_exchange_make_a_deposit_address() -> None:
    k5, k13, b14 = addr(60), addr(61), addr(62)
    labels = {
        k5: Label("ethereum", k5, Category.EXCHANGE, "Kraken 5", source="test-synthetic"),
        k13: Label("ethereum", k13, Category.EXCHANGE, "Kraken 13", source="test-synthetic"),
        b14: Label("ethereum", b14, Category.EXCHANGE, "Binance 14", source="test-synthetic", source_words="[binance]"),
    }
    deposits = [transfer(1, 100, U1, D, 2 * ETH), transfer(2, 110, U2, D, 1 * ETH)]
    rotated = [*deposits, transfer(3, 120, D, k5, 2 * ETH), transfer(4, 130, D, k13, 1 * ETH)]
    label = detect_deposit_address("ethereum", D, rotated, labels)
    assert label is not None and label.name == "Kraken 5 deposit address"
    mixed = [*deposits, transfer(3, 120, D, k5, 2 * ETH), transfer(4, 130, D, b14, 1 * ETH)]
    assert detect_deposit_address("ethereum", D, mixed, labels) is None  # two exchanges: a customer's wallet


def test_entity_of_a_label_uses_the_sources_tag_else_the_name_without_its_wallet_number() -> None:
    def entity(name: str, words: str = "") -> str:
        return Label("ethereum", D, Category.EXCHANGE, name, source="test-synthetic", source_words=words).entity

    assert entity("Kraken 5") == entity("Kraken 13") == "kraken"
    assert entity("Binance: Hot Wallet 11", "Binance: Hot Wallet 11 [binance]") == "binance"
    assert entity("Synthetic Exchange A hot wallet") != entity("Synthetic Exchange B hot wallet")
