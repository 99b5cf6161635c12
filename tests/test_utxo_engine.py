"""UTXO tracing end to end: emulator (real HTTP) -> adapter -> store -> engine -> bundle. SYNTHETIC data."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest

from chains.emulators.esplora import EsploraEmulator, synthetic_tx, synthetic_txid
from chains.emulators.esplora import synthetic_address as addr
from chains.emulators.server import Fault, FaultPlan
from chains.esplora import EsploraAdapter
from chains.http import RetryPolicy
from tracer.bundle.schema import BUCKETS
from tracer.cases.plan import SeedSpec, TraceConfig
from tracer.core.errors import OfflineGap
from tracer.core.models import Category, Label, Policy
from tracer.sources.utxo_history import UtxoHistoryService as UtxoSource
from tracer.store import Store
from tracer.utxo.run import trace_utxo

FAST = RetryPolicy(attempts=8, backoff_base=0.0, backoff_max=0.0, jitter=False, timeout=5.0)
BTC = 10**8
VICTIM, THIEF = addr("victim", "p2sh"), addr("thief", "p2pkh")


class Labels:
    def __init__(self, labels):
        self.labels = {lb.address: lb for lb in labels}

    def label(self, chain, address):
        return self.labels.get(address)


def scenario():
    """Theft of 100 BTC -> split into a peel chain (payments to exchange deposits), a Whirlpool mix, an unspent coin."""
    txs = []
    theft = synthetic_tx(
        "theft",
        [(synthetic_txid("victim-funds"), 0, VICTIM, 150 * BTC)],
        [(THIEF, 100 * BTC), (VICTIM, 50 * BTC - 10_000)],
        block=800_000,
    )
    txs.append(theft)
    split = synthetic_tx(
        "split",
        [(theft.txid, 0, THIEF, 100 * BTC), (synthetic_txid("clean-1"), 0, THIEF, 20 * BTC)],
        [(addr("peel-0"), 80 * BTC), (addr("to-mix"), 5_100_000), (addr("sleeper"), 40 * BTC - 5_120_000)],
        block=800_001,
    )
    txs.append(split)
    prev, vout, holder, value = split.txid, 0, addr("peel-0"), 80 * BTC
    for n in range(6):
        pay = BTC + 777 * n
        rest = value - pay - 2_000
        tx = synthetic_tx(
            f"peel-{n}",
            [(prev, vout, holder, value)],
            [(addr(f"deposit-{n % 2}"), pay), (addr(f"peel-{n + 1}"), rest)],
            block=800_002 + n,
        )
        txs.append(tx)
        prev, vout, holder, value = tx.txid, 1, addr(f"peel-{n + 1}"), rest
    mix_ins = [(split.txid, 1, addr("to-mix"), 5_100_000)] + [
        (synthetic_txid(f"stranger-{n}"), 0, addr(f"stranger-{n}"), 5_050_000) for n in range(4)
    ]
    txs.append(synthetic_tx("whirlpool", mix_ins, [(addr(f"post-{n}"), 5_000_000) for n in range(5)], block=800_010))
    labels = Labels(
        [
            Label("bitcoin", addr(f"deposit-{n}"), Category.EXCHANGE_DEPOSIT, f"ExchangeX deposit {n}", "test")
            for n in (0, 1)
        ]
    )
    return txs, labels, theft


def config(policy=Policy.HAIRCUT, **kw):
    return TraceConfig(
        "synthetic-btc",
        (SeedSpec("bitcoin", tx=synthetic_txid("theft")),),
        policy=policy,
        min_taint=Fraction(0),
        **kw,
    )


def sats(text: str) -> int:
    return int(Decimal(text) * BTC)


def closes(summary) -> dict[str, int]:
    row = {b: sats(v) for b, v in summary["assets"]["bitcoin:native"].items() if b in BUCKETS}
    outgoing = sum(row[b] for b in ("endpoints", "unmoved", "fees", "below_threshold", "unexplored", "swapped_out"))
    assert row["stolen"] + row["swapped_in"] == outgoing
    return row


@pytest.fixture(scope="module")
def world():
    return scenario()


@pytest.mark.parametrize("policy", list(Policy))
def test_trace_closes_and_stops_at_services_and_coinjoins(world, policy, tmp_path):
    txs, labels, _ = world
    with EsploraEmulator(txs) as server, Store.open(tmp_path / "s.sqlite3") as store:
        source = UtxoSource(EsploraAdapter(url=server.base_url + "/api", retry=FAST, archive=store), store)
        result = trace_utxo(config(policy), source, labels=labels)
    s = result.summary
    row = closes(s)
    assert row["stolen"] == 100 * BTC
    assert s["complete"] is True
    if policy is Policy.TIHO:  # taint fills the largest outputs: the small mix deposit stays clean
        assert set(s["endpoints_by_category"]) == {"exchange-deposit"} and s["coinjoins"] == []
    else:
        assert set(s["endpoints_by_category"]) == {"exchange-deposit", "mixer"}
        assert s["coinjoins"][0]["pattern"] == "whirlpool"
        mixer = result.endpoints.filter(result.endpoints["category"] == "mixer").row(0, named=True)
        assert "whirlpool" in mixer["label"] and mixer["address"] == addr("to-mix")
    assert len(s["peel_chains"]) == 1 and s["peel_chains"][0]["steps"] == 6
    assert [p["address"] for p in s["peel_chains"][0]["payments"]] == [addr(f"deposit-{n % 2}") for n in range(6)]
    assert row["fees"] > 0
    assert set(result.addresses["role"]) >= {"seed", "transit", "endpoint"}


def test_haircut_numbers_are_exact(world, tmp_path):
    txs, labels, _ = world
    with EsploraEmulator(txs) as server:
        source = UtxoSource(EsploraAdapter(url=server.base_url, retry=FAST), None)
        result = trace_utxo(config(Policy.HAIRCUT), source, labels=labels)
    row = closes(result.summary)
    # split: 100 of 120 BTC in are tainted; the 0.051 BTC to the mix carries 5/6 of its value
    to_mix = result.endpoints.filter(result.endpoints["category"] == "mixer")["tainted_amount"][0]
    assert to_mix == "0.0425"
    assert row["unmoved"] > 0


def test_fifo_and_tiho_route_differently(world):
    txs, labels, _ = world
    out = {}
    for policy in (Policy.FIFO, Policy.TIHO):
        with EsploraEmulator(txs) as server:
            source = UtxoSource(EsploraAdapter(url=server.base_url, retry=FAST), None)
            out[policy] = trace_utxo(config(policy), source, labels=labels).summary
    # FIFO lays the 100 stolen BTC on the first outputs: the 80 BTC peel start and 0.051 to the mix are fully tainted
    assert out[Policy.FIFO]["endpoints_by_category"]["mixer"]["bitcoin:native"] == "0.051"
    # TIHO fills the largest output (80 BTC) then the next largest (the sleeper), never the small mix deposit
    assert "mixer" not in out[Policy.TIHO]["endpoints_by_category"]


def test_bundle_is_deterministic_and_offline_rerun_needs_no_requests(world, tmp_path):
    txs, labels, _ = world
    with EsploraEmulator(txs) as server, Store.open(tmp_path / "s.sqlite3") as store:
        online = trace_utxo(config(), UtxoSource(EsploraAdapter(url=server.base_url, retry=FAST), store), labels=labels)
        before = server.requests
        offline = trace_utxo(config(), UtxoSource(None, store, offline=True), labels=labels)
        assert server.requests == before
    online.write(tmp_path / "a", report=False)
    offline.write(tmp_path / "b", report=False)
    for name in ("flows.csv", "addresses.csv", "endpoints.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert a == b  # run statistics (requests) live in run.json, outside the contract files
    with Store.open(tmp_path / "empty.sqlite3") as empty, pytest.raises(OfflineGap):
        trace_utxo(config(), UtxoSource(None, empty, offline=True), labels=labels)


def test_faults_do_not_change_the_answer(world):
    txs, labels, _ = world
    with EsploraEmulator(txs) as server:
        clean = trace_utxo(config(), UtxoSource(EsploraAdapter(url=server.base_url, retry=FAST), None), labels=labels)
    plan = FaultPlan.mixed(0.3, kinds=(Fault.TOO_MANY_BARE, Fault.SERVER_ERROR, Fault.SLOW), seed=9, slow_seconds=0.02)
    with EsploraEmulator(txs, faults=plan) as server:
        faulty = trace_utxo(config(), UtxoSource(EsploraAdapter(url=server.base_url, retry=FAST), None), labels=labels)
        assert sum(server.faults_served.values()) > 0
    strip = lambda s: {k: v for k, v in s.items() if k != "counts"}  # noqa: E731
    assert strip(clean.summary) == strip(faulty.summary)
    assert clean.flows.equals(faulty.flows)


def test_budget_and_hop_limits_leave_value_unexplored(world):
    txs, labels, _ = world
    with EsploraEmulator(txs) as server:
        adapter = EsploraAdapter(url=server.base_url, retry=FAST)
        small = trace_utxo(config(max_addresses=3), UtxoSource(adapter, None), labels=labels).summary
        shallow = trace_utxo(config(max_hops=2), UtxoSource(adapter, None), labels=labels).summary
    for summary in (small, shallow):
        row = closes(summary)
        assert row["unexplored"] > 0 and summary["complete"] is False and summary["gaps"]


def test_address_seed_takes_inflows_from_others(world):
    txs, labels, _ = world
    cfg = TraceConfig("addr", (SeedSpec("bitcoin", address=THIEF),), min_taint=Fraction(0))
    with EsploraEmulator(txs) as server:
        result = trace_utxo(cfg, UtxoSource(EsploraAdapter(url=server.base_url, retry=FAST), None), labels=labels)
    assert closes(result.summary)["stolen"] == 100 * BTC  # the 20 BTC "clean-1" funding is not in the emulator


def test_victim_tx_seed_with_amount_cap(world):
    txs, labels, _ = world
    cfg = TraceConfig("cap", (SeedSpec("bitcoin", tx=synthetic_txid("theft"), amount="60"),), min_taint=Fraction(0))
    with EsploraEmulator(txs) as server:
        result = trace_utxo(cfg, UtxoSource(EsploraAdapter(url=server.base_url, retry=FAST), None), labels=labels)
    assert closes(result.summary)["stolen"] == 60 * BTC


@pytest.mark.parametrize("policy", [Policy.HAIRCUT, Policy.FIFO, Policy.LIFO, Policy.TIHO])
def test_engine_agrees_with_a_plain_replay(world, policy):
    from tracer.utxo.engine import UtxoEngine
    from tracer.utxo.ledger import propagate_many, taint_of

    txs, _, theft = world
    with EsploraEmulator(txs) as server:
        source = UtxoSource(EsploraAdapter(url=server.base_url, retry=FAST), None)
        state = UtxoEngine(config(policy), source, coinjoin=lambda tx: None).run()
    ordered = sorted((t for t in txs if t.txid != theft.txid), key=lambda t: (t.block, t.txid))
    live, fees = propagate_many(policy, ordered, {(theft.txid, 0): ((100 * BTC, 100 * BTC),)})
    assert state.buckets["fees"] == fees
    assert state.buckets["unmoved"] == sum(taint_of(lots) for lots in live.values())


def test_same_block_child_waits_for_its_parent():
    """A child that sorts before its parent in the same block is processed once, with both tainted inputs."""
    theft = synthetic_tx(
        "sb-theft", [(synthetic_txid("sb-v"), 0, VICTIM, 10 * BTC)], [(THIEF, 6 * BTC), (addr("t2"), 4 * BTC)]
    )
    n = 0
    while True:  # pick names so that the child's txid sorts before the parent's
        parent = synthetic_tx(
            f"sb-parent-{n}",
            [(theft.txid, 0, THIEF, 6 * BTC)],
            [(addr("p0"), 5 * BTC), (addr("p1"), BTC - 1000)],
            block=800_001,
        )
        child = synthetic_tx(
            f"sb-child-{n}",
            [
                (parent.txid, 0, addr("p0"), 5 * BTC),
                (theft.txid, 1, addr("t2"), 4 * BTC),
                (synthetic_txid("x"), 0, addr("x"), BTC),
            ],
            [(addr("c0"), 10 * BTC - 1000)],
            block=800_001,
        )
        if child.txid < parent.txid:
            break
        n += 1
    cfg = TraceConfig("sb", (SeedSpec("bitcoin", tx=theft.txid),), policy=Policy.FIFO, min_taint=Fraction(0))
    with EsploraEmulator([theft, parent, child]) as server:
        result = trace_utxo(cfg, UtxoSource(EsploraAdapter(url=server.base_url, retry=FAST), None))
    row = closes(result.summary)
    assert row["stolen"] == 10 * BTC and row["unexplored"] == 0
    child_rows = result.flows.filter(result.flows["tx_hash"] == child.txid)
    assert child_rows.height == 1  # output 0, once; the fee carried no taint (clean value is laid last)
    out0 = child_rows.filter(child_rows["position"] == 0).row(0, named=True)
    assert out0["tainted_amount"] == "9"  # 5 BTC via the parent + 4 BTC direct, FIFO: clean BTC goes last
