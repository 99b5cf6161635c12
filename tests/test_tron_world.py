"""The small **synthetic** USDT-TRC20 laundering world of bench/tron_world.py, traced end to end through the TronGrid
emulator: scores, exchange deposit addresses named by the bundled TRON labels, attribution, service hubs,
accounting per asset, the fake USDT, faults and re-runs. (The full-size numbers: bench/bench_tron.py.)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.bench_tron import SMALL, score_run, trace_tron_world
from bench.tron_world import BUNDLED_HOT_WALLETS, generate_tron_world
from chains.emulators.server import FaultPlan
from chains.emulators.trongrid import to_hex
from tracer.core.models import Category
from tracer.labels.book import LabelBook


@pytest.fixture(scope="module")
def small():
    return generate_tron_world(SMALL)


@pytest.fixture(scope="module")
def traced(small, tmp_path_factory):
    return trace_tron_world(small, tmp_path_factory.mktemp("tron-world"))


def test_small_world_is_traced_to_its_exchange_deposits(small, traced) -> None:
    score = score_run(small, traced)
    assert score["complete"]
    assert (score["address_recall"], score["precision"], score["endpoint_recall"]) == (1.0, 1.0, 1.0)
    assert score["requests_per_address"] <= 4 and score["rerun_requests"] == 0
    assert all(score["accounting_closes"].values()) and score["accounting_closes"]
    assert not score["fake_token_tainted"]
    assert score["deposits_found"] == score["deposits_total"] == len(small.deposits) > 0


def test_deposits_are_recognised_by_their_sweeps_and_named_after_bundled_labels(small, traced) -> None:
    endpoints = {row["address"]: row for row in traced.result.endpoints.iter_rows(named=True)}
    assert set(endpoints) == small.deposits
    assert {row["category"] for row in endpoints.values()} == {Category.EXCHANGE_DEPOSIT.value}
    assert {row["label_source"] for row in endpoints.values()} == {"heuristic:deposit-reuse"}
    names = {row["label"] for row in endpoints.values()}
    # Two exchanges' hot wallets carry the bundled GraphSense TagPack labels, the third a synthetic label.
    assert any("binance reserve wallets USDT" in n for n in names) and any("kucoin USDT reserves" in n for n in names)
    assert any("Synthetic Exchange C" in n for n in names)
    traced_addresses = set(traced.result.addresses["address"].to_list())
    assert not traced_addresses & set(small.hot_wallets.values())  # the trace stops before the hot wallets


def test_first_funder_attribution_on_tron(small, traced) -> None:
    attributed = {row["address"]: row for row in traced.result.summary["attributed_addresses"]}
    assert attributed and set(attributed) <= small.laundering
    assert all(row["chain"] == "tron" and row["funded_by"] in small.laundering | {small.thief}
               for row in attributed.values())  # fmt: skip


def test_bundled_tron_labels_resolve_in_base58_and_hex() -> None:
    book = LabelBook()
    sanctioned = "TEAqwfMhXLaomXhZ8KeMhx3njGmQEDnsUR"  # OFAC SDN list (USDT), bundled
    for form in (sanctioned, to_hex(sanctioned)):
        label = book.label("tron", form)
        assert label is not None and label.category is Category.SANCTIONED and label.source == "ofac-sdn"
    for wallet in BUNDLED_HOT_WALLETS:
        label = book.label("tron", to_hex(wallet))
        assert label is not None and label.category is Category.EXCHANGE and label.source == "graphsense"
    assert book.label("tron", sanctioned.lower()) is None  # base58 is case-sensitive: no fuzzy match


def test_ten_percent_faults_give_the_same_trace(small, traced, tmp_path: Path) -> None:
    faulty = trace_tron_world(small, tmp_path, faults=FaultPlan.mixed(0.10, seed=3))
    assert faulty.result.summary["assets"] == traced.result.summary["assets"]
    assert faulty.result.endpoints.equals(traced.result.endpoints)
    assert faulty.result.flows.equals(traced.result.flows)
    assert faulty.requests > traced.requests and faulty.rerun_requests == 0


def test_a_service_hub_is_recognised_and_never_followed(tmp_path: Path) -> None:
    gen = generate_tron_world(dataclasses.replace(SMALL, hub_users=1_050, hub_chains=1))
    result = trace_tron_world(gen, tmp_path).result
    traced_addresses = set(result.addresses["address"].to_list())
    assert gen.laundering <= traced_addresses
    rows = {row["address"]: row for row in result.addresses.iter_rows(named=True)}
    # the hub itself is the endpoint: the hops paying it everything ran on the thief's gas, so they are
    # the thief's wallets, not the hub's deposit addresses
    assert rows[gen.hub]["role"] == "endpoint" and rows[gen.hub]["category"] == "unknown-service"
    hub_side = {t.to for t in gen.world.txs if t.owner == gen.hub} | {
        m.to for t in gen.world.txs for m in t.trc20 if m.sender == gen.hub
    }
    assert not traced_addresses & hub_side  # its payees are strangers, never traced


def test_user_tron_labels_in_hex_are_stored_in_base58() -> None:
    from tracer.labels.files import parse_label_csv

    hot = "TJDENsfBJs4RFETt1X1W8wMDc8M5XnJhCe"  # also a bundled Binance reserve wallet
    text = f"chain,address,category,name\ntron,{to_hex(hot)},exchange,My exchange (synthetic user label)\n"
    (label,) = parse_label_csv(text, name="mine.csv")
    assert label.address == hot
    book = LabelBook().with_labels([label])
    assert book.label("tron", hot).name == "My exchange (synthetic user label)"  # user labels win
    assert {lb.source for lb in book.labels("tron", hot)} >= {"graphsense"}
