"""Cluster-aware endpoints and change-steered peel chains in the UTXO engine, end to end over the Esplora
emulator (real HTTP). SYNTHETIC data: every address and transaction is made up here."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import pytest

from chains.emulators.esplora import EsploraEmulator, synthetic_tx, synthetic_txid
from chains.emulators.esplora import synthetic_address as addr
from chains.esplora import EsploraAdapter
from chains.http import RetryPolicy
from tracer.bundle.schema import BUCKETS
from tracer.cases.plan import SeedSpec, TraceConfig
from tracer.cases.utxo_options import UtxoOptions
from tracer.core.errors import BadInput
from tracer.core.models import Category, Label, Policy
from tracer.sources.utxo_history import UtxoHistoryService
from tracer.store import Store
from tracer.utxo.run import trace_utxo

FAST = RetryPolicy(attempts=4, backoff_base=0.0, backoff_max=0.0, jitter=False, timeout=5.0)
BTC = 10**8
FEE = 1_000
HOT = addr("hot-wallet")
THIEF = addr("thief")
HOT_LABEL = Label("bitcoin", HOT, Category.EXCHANGE, "ExchangeS hot wallet (synthetic)", "test")


class Labels:
    def __init__(self, *labels: Label) -> None:
        self.labels = {lb.address: lb for lb in labels}

    def label(self, chain: str, address: str) -> Label | None:
        return self.labels.get(address)


def outside(name: str, owner: str, value: int) -> tuple[str, int, str, int]:
    return (synthetic_txid(f"outside-{name}"), 0, owner, value)


class World:
    """A theft, one peel chain of `hops` payments, and whatever the test adds (SYNTHETIC)."""

    def __init__(self, hops: int = 4) -> None:
        self.txs = []
        theft = self.add(
            "theft",
            [outside("victim", addr("victim", "p2sh"), 101 * BTC)],
            [(THIEF, 100 * BTC), (addr("victim", "p2sh"), BTC - FEE)],
            800_000,
        )
        self.theft = theft
        self.coin = (theft.txid, 0, THIEF, 100 * BTC)
        self.payments: list[tuple[str, int, str, int]] = []
        self.block = 800_001
        for n in range(hops):
            self.peel(addr(f"pay-{n}", "p2sh"), 2 * BTC + 12_345 * n)

    def add(self, name, ins, outs, block):
        tx = synthetic_tx(name, ins, outs, block=block)
        self.txs.append(tx)
        return tx

    def peel(self, to: str, amount: int) -> tuple[str, int, str, int]:
        value = self.coin[3]
        rest = value - amount - FEE
        n = len(self.payments)
        tx = self.add(f"peel-{n}", [self.coin], [(to, amount), (addr(f"change-{n}"), rest)], self.block)
        self.block += 1
        self.coin = (tx.txid, 1, addr(f"change-{n}"), rest)
        paid = (tx.txid, 0, to, amount)
        self.payments.append(paid)
        return paid

    def consolidate(self, name: str, coins, *, with_hot: bool = True, extra: int = 0):
        ins = list(coins)
        if with_hot:
            ins.append(outside(f"{name}-hot", HOT, 10 * BTC))
        ins += [outside(f"{name}-x{n}", addr(f"{name}-x{n}"), BTC) for n in range(extra)]
        total = sum(v for *_, v in ins)
        self.block += 1
        return self.add(name, ins, [(addr(f"{name}-out"), total - FEE)], self.block)


def trace(world: World, tmp_path, options: UtxoOptions | None = None, *, policy=Policy.HAIRCUT, **kw):
    config = TraceConfig(
        "synthetic-cluster",
        (SeedSpec("bitcoin", tx=world.theft.txid),),
        policy=policy,
        min_taint=Fraction(0),
        utxo=options or UtxoOptions(),
        **kw,
    )
    with EsploraEmulator(world.txs) as server, Store.open(tmp_path / "s.sqlite3") as store:
        source = UtxoHistoryService(EsploraAdapter(url=server.base_url + "/api", retry=FAST), store)
        return trace_utxo(config, source, labels=Labels(HOT_LABEL))


def endpoint_rows(result):
    return {r["address"]: r for r in result.endpoints.iter_rows(named=True)}


def closes(summary) -> None:
    row = {b: int(Decimal(v) * BTC) for b, v in summary["assets"]["bitcoin:native"].items() if b in BUCKETS}
    assert row["stolen"] == sum(row[b] for b in ("endpoints", "unmoved", "fees", "below_threshold", "unexplored"))


@pytest.mark.parametrize("policy", [Policy.HAIRCUT, Policy.FIFO, Policy.TIHO, Policy.LIFO])
def test_deposit_consolidated_with_a_labelled_address_is_an_exchange_endpoint(tmp_path, policy):
    w = World()
    sweep = w.consolidate("sweep", [w.payments[1], outside("customer", addr("customer-dep"), 3 * BTC)])
    result = trace(w, tmp_path, policy=policy)
    rows = endpoint_rows(result)
    deposit = w.payments[1][2]
    assert rows[deposit]["category"] == "exchange"
    assert rows[deposit]["label"] == HOT_LABEL.name  # category and name inherited
    assert rows[deposit]["label_source"] == "heuristic:cluster"
    (decision,) = result.summary["clustering"]["endpoints"]
    assert decision["address"] == deposit and decision["linked_by"] == [sweep.txid]
    assert decision["service_address"] == HOT and sweep.txid in decision["why"]
    assert Decimal(decision["tainted_amount"]) == Decimal(w.payments[1][3]) / BTC
    # the other payments are not exchange endpoints; the consolidation is not followed
    assert {a for a, r in rows.items() if r["category"] == "exchange"} == {deposit}
    assert sweep.txid not in set(result.flows["tx_hash"])
    closes(result.summary)
    # the peel chain lists the payment with its outcome and the linking transaction
    (chain,) = result.summary["peel_chains"]
    assert chain["detected_by"] == "change" and chain["steps"] == 4
    paid = {p["address"]: p for p in chain["payments"]}
    assert paid[deposit]["outcome"] == "endpoint" and paid[deposit]["linked_by"] == [sweep.txid]


def test_clustering_off_keeps_the_deposit_as_transit(tmp_path):
    w = World()
    w.consolidate("sweep", [w.payments[1]])
    result = trace(w, tmp_path, UtxoOptions(clustering=False))
    assert w.payments[1][2] not in endpoint_rows(result)
    assert result.summary["clustering"]["endpoints"] == []
    closes(result.summary)


def test_a_coinjoin_never_links_its_participants(tmp_path):
    """The thief's coin enters a CoinJoin in which the labelled hot wallet takes part: a mixer, never the exchange."""
    w = World()
    denom = BTC
    premix = w.payments[2]
    ins = [premix, outside("cj-hot", HOT, 2 * BTC)] + [
        outside(f"cj-{n}", addr(f"cj-peer-{n}"), 2 * BTC) for n in range(3)
    ]
    outs = [(addr(f"cj-out-{n}"), denom) for n in range(5)]
    outs += [(addr(f"cj-change-{n}"), v - denom - FEE) for n, (*_, v) in enumerate(ins)]
    w.block += 1
    mix = w.add("coinjoin", ins, outs, w.block)
    result = trace(w, tmp_path)
    rows = endpoint_rows(result)
    assert rows[premix[2]]["category"] == "mixer"
    assert not [r for r in rows.values() if r["category"] == "exchange"]
    clustering = result.summary["clustering"]
    assert {"tx_hash": mix.txid, "pattern": "generic"} in clustering["coinjoins_not_clustered"]
    assert clustering["endpoints"] == []
    closes(result.summary)


def test_a_service_sized_merge_is_refused_and_reported(tmp_path):
    w = World()
    big = w.consolidate("batch", [w.payments[0]], extra=6)  # 8 inputs, the hot wallet among them
    small = UtxoOptions(cluster_max_size=5)
    result = trace(w, tmp_path, small)
    assert w.payments[0][2] not in endpoint_rows(result)
    (refused,) = result.summary["clustering"]["refused_merges"]
    assert refused["tx_hash"] == big.txid and "service-sized" in refused["why"] and refused["inputs"] == 8
    closes(result.summary)
    # the same merge under the default size is an endpoint
    again = trace(w, tmp_path / "b", UtxoOptions())
    assert endpoint_rows(again)[w.payments[0][2]]["label_source"] == "heuristic:cluster"


def test_two_different_services_are_never_merged(tmp_path):
    w = World()
    other = Label("bitcoin", addr("other-hot"), Category.EXCHANGE, "ExchangeT (synthetic)", "test")
    ins = [w.payments[0], outside("a", HOT, BTC), outside("b", other.address, BTC)]
    w.block += 1
    odd = w.add("odd", ins, [(addr("odd-out"), sum(v for *_, v in ins) - FEE)], w.block)
    config = TraceConfig("synthetic", (SeedSpec("bitcoin", tx=w.theft.txid),), min_taint=Fraction(0))
    with EsploraEmulator(w.txs) as server, Store.open(tmp_path / "s.sqlite3") as store:
        source = UtxoHistoryService(EsploraAdapter(url=server.base_url, retry=FAST), store)
        result = trace_utxo(config, source, labels=Labels(HOT_LABEL, other))
    assert w.payments[0][2] not in endpoint_rows(result)
    (refused,) = result.summary["clustering"]["refused_merges"]
    assert refused["tx_hash"] == odd.txid and "labelled services" in refused["why"]


def test_a_link_one_address_history_away_needs_depth_one(tmp_path):
    """The deposit is pre-swept with a customer's static address; that address's other coin is consolidated
    with the hot wallet. Depth 0 does not see it, depth 1 reads the static address's history."""
    w = World()
    static = addr("static-deposit")
    first = w.add("static-in-1", [outside("u1", addr("u1"), BTC + FEE)], [(static, BTC)], 800_001)
    second = w.add("static-in-2", [outside("u2", addr("u2"), BTC + FEE)], [(static, BTC)], 800_001)
    pre = w.consolidate("presweep", [w.payments[3], (first.txid, 0, static, BTC)], with_hot=False)
    sweep = w.consolidate("sweep", [(second.txid, 0, static, BTC)])
    deposit = w.payments[3][2]
    shallow = trace(w, tmp_path / "a", UtxoOptions(cluster_depth=0))
    assert deposit not in endpoint_rows(shallow)
    assert shallow.summary["clustering"]["address_histories_read"] == 0
    assert shallow.summary["counts"]["cluster_requests"] == 0
    deep = trace(w, tmp_path / "b", UtxoOptions(cluster_depth=1))
    assert endpoint_rows(deep)[deposit]["label"] == HOT_LABEL.name
    (decision,) = deep.summary["clustering"]["endpoints"]
    assert decision["linked_by"] == [pre.txid, sweep.txid]
    assert deep.summary["counts"]["cluster_requests"] >= deep.summary["clustering"]["address_histories_read"] > 0
    closes(deep.summary)


def test_change_outputs_read_no_histories_and_reads_count_towards_the_budget(tmp_path):
    w = World(hops=6)
    for n, paid in enumerate(w.payments):  # each payee moves the payment on (alone: no co-spend)
        w.add(f"forward-{n}", [paid], [(addr(f"onward-{n}"), paid[3] - FEE)], 800_020)
    result = trace(w, tmp_path)
    s = result.summary
    # histories read: the payments only (6), never the thief's change addresses
    assert s["clustering"]["address_histories_read"] == 6
    (chain,) = s["peel_chains"]
    assert [p["address"] for p in chain["payments"]] == [p[2] for p in w.payments]
    assert all("is the change" in c["why"] for c in chain["change"])
    tight = trace(w, tmp_path / "b", max_addresses=5)
    assert any(g["kind"] == "budget" for g in tight.summary["gaps"] if isinstance(g, dict))
    counts = tight.summary["counts"]
    assert tight.summary["clustering"]["address_histories_read"] + counts["transactions_followed"] <= 5
    closes(tight.summary)


def test_change_rules_switch_the_peel_report(tmp_path):
    w = World()
    by_change = trace(w, tmp_path / "a")
    assert by_change.summary["peel_chains"][0]["detected_by"] == "change"
    by_shape = trace(w, tmp_path / "b", UtxoOptions(change_rules=()))
    assert by_shape.summary["peel_chains"][0]["detected_by"] == "shape"
    # the shape alone takes the theft (victim pays thief, change back to the victim) as a peel step too; the
    # change rules see the victim's change (same script type, address reuse) contradict the shape: no step
    assert by_shape.summary["peel_chains"][0]["txs"] == [w.theft.txid, *by_change.summary["peel_chains"][0]["txs"]]
    # a rule set that leaves every hop undecided (address-reuse alone rules nothing out): no change-steered path
    undecided = trace(w, tmp_path / "c", UtxoOptions(change_rules=("address-reuse",)))
    assert undecided.summary["peel_chains"] == []
    # the amounts are the policy's, whatever the change rules say
    assert by_change.summary["assets"] == by_shape.summary["assets"] == undecided.summary["assets"]


def test_bundle_is_byte_identical_on_rerun_from_the_store(tmp_path):
    w = World()
    w.consolidate("sweep", [w.payments[0]])
    config = TraceConfig("synthetic", (SeedSpec("bitcoin", tx=w.theft.txid),), min_taint=Fraction(0))
    with EsploraEmulator(w.txs) as server, Store.open(tmp_path / "s.sqlite3") as store:
        online = trace_utxo(
            config, UtxoHistoryService(EsploraAdapter(url=server.base_url, retry=FAST), store), labels=Labels(HOT_LABEL)
        )
        before = server.requests
        offline = trace_utxo(config, UtxoHistoryService(None, store, offline=True), labels=Labels(HOT_LABEL))
        assert server.requests == before  # the spends and histories clustering read are in the store
    online.write(tmp_path / "a", report=False)
    offline.write(tmp_path / "b", report=False)
    for name in ("summary.json", "flows.csv", "addresses.csv", "endpoints.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert "cluster_requests" in run["counts"]
    assert "cluster_requests" not in json.loads((tmp_path / "a" / "summary.json").read_text())["counts"]


# -- seeds by transaction: whoever gained value --------------------------------------------------


def test_tx_seed_taints_what_each_address_gained(tmp_path):
    """An address both paying and paid in the theft tx is seeded with its net gain only."""
    mule = addr("mule")
    theft = synthetic_tx(
        "theft-gain",
        [outside("v", addr("victim"), 10 * BTC), outside("m", mule, BTC)],
        [(mule, 3 * BTC), (THIEF, 8 * BTC - FEE)],
        block=800_000,
    )
    w = World(hops=0)
    w.txs, w.theft = [theft], theft
    result = trace(w, tmp_path)
    assert Decimal(result.summary["assets"]["bitcoin:native"]["stolen"]) == Decimal(10 * BTC - FEE) / BTC
    tainted = {r["address"]: r["tainted_in"] for r in result.addresses.iter_rows(named=True)}
    assert Decimal(tainted[mule]) == 2 and Decimal(tainted[THIEF]) == Decimal(8 * BTC - FEE) / BTC
    closes(result.summary)


def test_tx_seed_where_nobody_gained_is_bad_input(tmp_path):
    self_send = synthetic_tx("self", [outside("s", THIEF, BTC)], [(THIEF, BTC - FEE)], block=800_000)
    w = World(hops=0)
    w.txs, w.theft = [self_send], self_send
    with pytest.raises(BadInput, match="nobody gained value"):
        trace(w, tmp_path)


def test_options_change_the_fingerprint_only_off_default():
    base = TraceConfig("c", (SeedSpec("bitcoin", tx="ab" * 32),))
    assert base.fingerprint() == replace(base, utxo=UtxoOptions()).fingerprint()
    assert base.fingerprint() != replace(base, utxo=UtxoOptions(cluster_depth=0)).fingerprint()


def test_every_change_rule_can_steer_a_trace(tmp_path):
    """The rules that look beyond the hop (spenders, first payments) read them within the budget."""
    from tracer.cases.utxo_options import CHANGE_RULES

    w = World(hops=5)
    only_tx = trace(w, tmp_path / "a", UtxoOptions(clustering=False))
    assert only_tx.summary["clustering"]["address_histories_read"] == 0
    every = trace(w, tmp_path / "b", UtxoOptions(clustering=False, change_rules=CHANGE_RULES))
    assert every.summary["clustering"]["address_histories_read"] > 0  # fresh-address reads first payments
    (chain,) = every.summary["peel_chains"]
    assert chain["steps"] == 5 and all("fresh-address" in c["why"] for c in chain["change"])
    assert every.summary["assets"] == only_tx.summary["assets"]
    closes(every.summary)


def test_case_file_keys_reach_the_plan(tmp_path):
    from tracer.cases.plan import build_plan

    path = tmp_path / "case.toml"
    path.write_text(
        '[case]\nid = "synthetic-btc"\ntitle = "synthetic"\n\n[[seeds]]\nchain = "bitcoin"\n'
        f'tx = "{"ab" * 32}"\n\n[trace]\nclustering = true\ncluster_depth = 2\ncluster_max_size = 50\n'
        'cluster_reads = 3\nchange_rules = ["address-type", "peel-shape"]\n'
    )
    options = build_plan(path).config.utxo
    assert options == UtxoOptions(True, 2, 50, 3, ("address-type", "peel-shape"))
    path.write_text(path.read_text().replace('change_rules = ["address-type", "peel-shape"]', "change_rules = []"))
    assert build_plan(path).config.utxo.change_rules == ()


def test_report_lists_clustered_endpoints_with_their_linking_transactions(tmp_path):
    from tracer.report.bundle import read_bundle
    from tracer.report.casefile import analyse_bundle
    from tracer.report.terminal import attribution_note

    w = World()
    sweep = w.consolidate("sweep", [w.payments[2]])
    result = trace(w, tmp_path)
    out = result.write(tmp_path / "bundle", report=True)
    html = (out / "report.html").read_text()
    assert 'id="clustering"' in html and w.payments[2][2] in html and sweep.txid in html
    bundle = read_bundle(out)
    (row,) = bundle.clustered
    assert row.linked_by == (sweep.txid,) and row.service_address == HOT and row.label == HOT_LABEL.name
    note = attribution_note(analyse_bundle(bundle))
    assert note is not None and "1 endpoint found by clustering" in note.plain
    from tracer.report import write_report

    markdown = write_report(out, fmt="md").read_text()
    assert "Endpoints found by clustering (1)" in markdown and sweep.txid[:8] in markdown


def test_interrupted_and_resumed_equals_uninterrupted_with_history_reads(tmp_path, monkeypatch):
    import tracer.utxo.engine as engine_module
    from tracer.utxo.run import UtxoTrace

    w = World(hops=6)
    static = addr("static-deposit")
    first = w.add("static-in-1", [outside("u1", addr("u1"), BTC + FEE)], [(static, BTC)], 800_001)
    second = w.add("static-in-2", [outside("u2", addr("u2"), BTC + FEE)], [(static, BTC)], 800_001)
    w.consolidate("presweep", [w.payments[3], (first.txid, 0, static, BTC)], with_hot=False)
    w.consolidate("sweep", [(second.txid, 0, static, BTC), w.payments[1]])
    config = TraceConfig(
        "synthetic", (SeedSpec("bitcoin", tx=w.theft.txid),), min_taint=Fraction(0), checkpoint_every=1
    )

    def run(store_path, out):
        with EsploraEmulator(w.txs) as server, Store.open(store_path) as store:
            source = UtxoHistoryService(EsploraAdapter(url=server.base_url, retry=FAST), store)
            job = UtxoTrace(config, source, labels=Labels(HOT_LABEL), checkpoints=store)
            job.run()
            job.result(manifest={}).write(out, report=False)

    run(tmp_path / "whole.sqlite3", tmp_path / "whole")
    original = engine_module.UtxoEngine._spend
    calls = {"n": 0}

    def flaky(self, txid):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return original(self, txid)

    monkeypatch.setattr(engine_module.UtxoEngine, "_spend", flaky)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "again.sqlite3", tmp_path / "resumed")
    monkeypatch.setattr(engine_module.UtxoEngine, "_spend", original)
    run(tmp_path / "again.sqlite3", tmp_path / "resumed")
    summary = json.loads((tmp_path / "whole" / "summary.json").read_text())
    assert len(summary["clustering"]["endpoints"]) == 2  # the direct and the pre-swept deposit
    for name in ("summary.json", "flows.csv", "addresses.csv", "endpoints.csv", "graph.graphml"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "resumed" / name).read_bytes(), name


def test_a_service_sized_history_is_not_read(tmp_path, monkeypatch):
    """The payment is co-spent with an unlabelled address of long history (which elsewhere co-spends with the hot
    wallet): its history is not read past the limit, the decision says so, and the read costs a few pages."""
    import tracer.utxo.clusters as clusters

    monkeypatch.setattr(clusters, "HISTORY_LIMIT", 30)
    w = World()
    busy = addr("busy-unlabelled")
    coins = [
        w.add(f"busy-in-{n}", [outside(f"b{n}", addr(f"b{n}"), BTC + FEE)], [(busy, BTC)], 800_001) for n in range(40)
    ]
    w.consolidate("busy-with-hot", [(coins[0].txid, 0, busy, BTC)])
    w.consolidate("busy-with-payment", [w.payments[2], (coins[1].txid, 0, busy, BTC)], with_hot=False)
    result = trace(w, tmp_path)
    clustering = result.summary["clustering"]
    assert w.payments[2][2] not in endpoint_rows(result)
    assert busy in clustering["histories_too_long"]
    assert result.summary["counts"]["cluster_requests"] <= 3 * 2 + 6  # two pages for busy; one per other history
    # with a limit the busy address fits in, the link is found (two transactions, through busy)
    monkeypatch.setattr(clusters, "HISTORY_LIMIT", 200)
    again = trace(w, tmp_path / "b")
    assert endpoint_rows(again)[w.payments[2][2]]["label_source"] == "heuristic:cluster"
    (decision,) = again.summary["clustering"]["endpoints"]
    assert len(decision["linked_by"]) == 2
