"""The quality benchmark's parts: ground-truth reader, world generator, scoring, and a smoke run."""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path

import pytest

from bench.groundtruth import CASES, GroundTruthMissing, available_cases, read_case
from bench.scoring import Answer, Traced, requests_per_address, score_trace
from bench.worldgen import AddressKind, WorldOptions, classify_label, generate_world

HEADER = "Timestamp,Block,Tx_hash,From,From_label,To,To_label,Value_in_USD\n"


def _addr(n: int) -> str:
    return f"0x{n:040x}"


def _tx(n: int) -> str:
    return f"0x{n:064x}"


# A hand-made case in the upstream layout: S (source) -> A -> router -> B (same tx), B -> DEP (deposit),
# A -> H (terminus), V (victim upstream) -> S, and C that only sends (upstream, unreachable).
S, A, R, B, DEP, H, V, C = (_addr(i) for i in range(1, 9))
ROWS = [
    ("2024-01-01 00:00:00", 100, _tx(1), V, "Victim OSRC", S, "Thief SRC", "1000.00"),
    ("2024-01-01 00:10:00", 150, _tx(2), S, "Thief SRC", A, "", "900.50"),
    ("2024-01-01 01:00:00", 400, _tx(3), A, "", R, "Transit Swap: Router", "500.00"),
    ("2024-01-01 01:00:00", 400, _tx(3), R, "Transit Swap: Router", B, "", "499.00"),
    ("2024-01-02 00:00:00", 900, _tx(4), B, "", DEP, "Binance_Deposit_0xabcd", "520.00"),
    ("2024-01-02 00:00:00", 950, _tx(5), A, "", H, "Terminus", "400.50"),
    ("2024-01-03 00:00:00", 990, _tx(6), C, "", A, "", "3.00"),
]


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    folder = tmp_path / "cluster 3"
    folder.mkdir()
    rows = [",".join(str(x) for x in row) for row in ROWS]
    (folder / "flow records.csv").write_text(HEADER + "\n".join(rows) + "\n")
    (folder / "source addresses.csv").write_text(S)  # upstream files lack a final newline
    (folder / "terminal addresses.csv").write_text(f"{DEP}\n{H}\n")
    return tmp_path


def test_reader_splits_laundering_terminals_and_upstream(tiny_root: Path) -> None:
    case = read_case(3, root=tiny_root)
    assert case.sources == {S}
    assert case.terminals == {DEP, H}
    assert case.laundering == {A, R, B}
    assert case.upstream == {V, C}
    assert case.flows[1].usd_cents == 90050
    assert case.expected == {S, A, R, B, DEP, H}


def test_every_cluster_present_is_a_case_unknown_ones_under_a_generic_name(tiny_root: Path) -> None:
    (tiny_root / "cluster 3").rename(tiny_root / "cluster 9")
    (tiny_root / "notes").mkdir()
    infos = available_cases(root=tiny_root)
    assert [(i.number, i.slug) for i in infos] == [(9, "cluster-9")]
    assert read_case("cluster-9", root=tiny_root).laundering == {A, R, B}
    assert available_cases(root=tiny_root / "absent") == list(CASES)


def test_missing_data_is_a_clear_skip_reason(tmp_path: Path) -> None:
    with pytest.raises(GroundTruthMissing, match="ground truth not found"):
        read_case(1, root=tmp_path)


def test_scoring_on_a_hand_made_trace() -> None:
    answer = Answer(sources=frozenset({S}), laundering=frozenset({A, R, B}), terminals=frozenset({DEP, H}))
    # The trace found S, A, B; stopped at DEP (endpoint) but went on to the hot wallet X;
    # H received taint and passed nothing on (rests there); a duster D also shows up.
    x, d = _addr(100), _addr(101)
    traced = Traced.from_rows(
        addresses=[
            (S, "seed"),
            (A, "transit"),
            (B, "transit"),
            (DEP, "endpoint"),
            (H, "transit"),
            (x, "transit"),
            (d, "transit"),
        ],
        flows=[(S, A, 10), (A, B, 5), (B, DEP, 5), (A, H, 5), (DEP, x, 5), (d, A, 0)],
    )
    assert traced.stopped == {DEP, H, x, d}
    score = score_trace(answer, traced)
    assert score.address_recall == round(2 / 3, 4)
    assert score.precision == round(5 / 7, 4)
    assert score.endpoint_recall == 1.0
    assert score.missed_laundering == (R,)
    assert set(score.false_positives) == {x, d}
    assert score.as_dict()["false_positives"] == 2
    assert requests_per_address(30, 8) == 3.75
    assert requests_per_address(3, 0) == 0.0


def test_scoring_edge_cases() -> None:
    answer = Answer(sources=frozenset({S}), laundering=frozenset(), terminals=frozenset({H}))
    empty = score_trace(answer, Traced(frozenset(), frozenset()))
    assert (empty.address_recall, empty.precision, empty.endpoint_recall) == (1.0, 1.0, 0.0)


def test_label_classes_decide_behaviour_only() -> None:
    assert classify_label("Binance_Deposit_0x12ab") is AddressKind.DEPOSIT
    assert classify_label("Tornado.Cash: Router") is AddressKind.SERVICE
    assert classify_label("Stake.com 8") is AddressKind.SERVICE
    assert classify_label("LI.FI Exploiter 15") is AddressKind.HOLDER
    assert classify_label("") is AddressKind.HOLDER


def _token_balances(gen) -> dict[str, int]:
    balance: dict[str, int] = defaultdict(int)
    for tx in gen.world.txs:
        for t in tx.tokens:
            if t.token == gen.token.address:
                balance[t.sender] -= t.value
                balance[t.to] += t.value
                if t.sender != "0x" + "0" * 40:
                    assert balance[t.sender] >= 0, f"{t.sender} overdrawn in {tx.hash}"
    return balance


def test_world_keeps_expert_flows_and_adds_labelled_synthetic_surroundings(tiny_root: Path) -> None:
    case = read_case(3, root=tiny_root)
    options = WorldOptions(users_per_exchange=20, hub_users=5, router_users=5)
    gen = generate_world(case, options)
    again = generate_world(case, options)
    assert [t.hash for t in gen.world.txs] == [t.hash for t in again.world.txs]  # deterministic
    # The shared-hash rows stay one transaction, payer first, values exact in cents.
    swap = gen.world.tx(_tx(3))
    assert swap is not None
    assert [(t.sender, t.to, t.value) for t in swap.tokens] == [(A, R, 500_000_000), (R, B, 499_000_000)]
    # No expert address is labelled; the only labels are invented hot wallets.
    labelled = {lab.address for lab in gen.labels}
    assert not labelled & case.addresses
    assert all(lab.source == "synthetic-bench" and "synthetic" in lab.name for lab in gen.labels)
    # The deposit address sweeps to Binance's synthetic hot wallet; balances never go negative.
    hot = next(lab.address for lab in gen.labels if lab.name.startswith("Binance"))
    balances = _token_balances(gen)
    assert balances[DEP] == 0 and balances[hot] > 0
    # The source got its loot from a synthetic victim (beyond the recorded 1000 USD) and sends 900.50.
    assert gen.stats["expert_flows"] == len(ROWS)
    assert gen.seeds == (S,)
    assert gen.since_block <= 150
    # Every sender of an expert transaction was funded with gas before it.
    for address in (S, A, B):
        first_send = min(t.block for t in gen.world.txs_touching(address) if t.sender == address)
        assert any(t.to == address and t.value > 0 and t.block < first_send for t in gen.world.txs_touching(address))
    # The thieves receive noise: with shares of 1.0 every thief gets dust and poisoning.
    noisy = generate_world(
        case, WorldOptions(users_per_exchange=5, hub_users=2, router_users=2, dust_share=1.0, poison_share=1.0)
    )
    fake = [t for tx in noisy.world.txs for t in tx.tokens if t.token != noisy.token.address]
    assert fake and all(t.symbol == "USDG" for t in fake)
    assert any(t.value == 0 and t.sender in (S, A) for tx in noisy.world.txs for t in tx.tokens)


_ENGINE_READY = all(
    importlib.util.find_spec(m) is not None
    for m in ("chains.emulators.etherscan", "chains.etherscan", "tracer.labels.book")
)


@pytest.mark.skipif(not _ENGINE_READY, reason="emulator, adapter or labels not available yet")
def test_smoke_quality_run_on_the_smallest_real_case(tmp_path: Path) -> None:
    from bench.bench_quality import run_case_matrix

    try:
        case = read_case(3)
    except GroundTruthMissing as exc:
        pytest.skip(str(exc))
    options = WorldOptions(users_per_exchange=40, hub_users=20, router_users=10)
    result = run_case_matrix(case, options=options, configs=[("haircut", "ranked")], work_dir=tmp_path)
    run = result["runs"][0]
    assert run["error"] is None, run["error"]
    assert 0.0 <= run["address_recall"] <= 1.0 and 0.0 < run["precision"] <= 1.0
    assert run["requests"] > 0 and run["addresses_visited"] > 0
    assert run["traced"] >= 1


def test_benchmarks_document_renders_the_table_and_the_shortfalls(tmp_path: Path) -> None:
    import json

    from bench.bench_quality import TARGETS, default_configs, shortfalls
    from bench.report import render_benchmarks

    assert default_configs()[0] == ("haircut", "ranked")
    assert ("poison", "poison") in default_configs() and ("lifo", "bfs") in default_configs()
    run = {
        "case": "tiny", "policy": "haircut", "strategy": "ranked", "default": True, "baseline": False, "error": None,
        "address_recall": 0.5, "precision": 0.98, "endpoint_recall": 1.0, "requests_per_address": 3.1,
        "laundering_total": 4, "laundering_found": 2, "traced": 10, "addresses_visited": 5, "requests": 16,
        "wall_seconds": 0.2,
        "diagnosis": {"missed_by_kind": {"launderer": 2}, "missed_behind_unrecorded_inflow": 1},
    }  # fmt: skip
    found = shortfalls([run, {**run, "default": False, "precision": 0.1}])
    assert [(s["metric"], s["value"]) for s in found] == [("address_recall", 0.5)]
    assert "2 laundering addresses not reached" in found[0]["why"]
    doc = {
        "default": {"policy": "haircut", "strategy": "ranked"},
        "targets": TARGETS,
        "runs": [run],
        "shortfalls": found,
    }
    (tmp_path / "quality.json").write_text(json.dumps(doc))
    (tmp_path / "store.json").write_text(json.dumps({"rows": [{"n": 1, "seconds": 0.5}], "note": "x"}))
    text = render_benchmarks(tmp_path)
    assert "| tiny | haircut | ranked | off | standard | default | 0.500 | 0.980 | 1.000 |" in text
    assert "address_recall = 0.500 (target 0.97)" in text
    assert "## store" in text and "| 1 | 0.500 |" in text
    assert "never copied into this repository" in text


# -- confounders (issue 13) --------------------------------------------------------------------
def _confounded(tiny_root: Path):
    from bench.confounders import Confounders

    knobs = Confounders(
        deposit_addresses=2, exchanger_orders=3, exchanger_crowd=4, otc_counterparties=2, exchange_withdrawals=2
    )
    case = read_case(3, root=tiny_root)
    options = WorldOptions(users_per_exchange=5, hub_users=2, router_users=2, confounders=knobs)
    return case, generate_world(case, options), generate_world(case, options)


def test_confounders_are_added_only_when_asked(tiny_root: Path) -> None:
    case = read_case(3, root=tiny_root)
    plain = generate_world(case, WorldOptions(users_per_exchange=5, hub_users=2, router_users=2))
    assert plain.confounders is None
    assert not any(p.startswith("confounder") for p in plain.purposes.values())
    _, confounded, _ = _confounded(tiny_root)
    assert any(p.startswith("confounder") for p in confounded.purposes.values())
    assert confounded.world.tx(_tx(3)) is not None  # the expert flows stay


def test_each_confounder_kind_appears_as_documented_and_the_truth_marks_it(tiny_root: Path) -> None:
    case, gen, again = _confounded(tiny_root)
    assert [t.hash for t in gen.world.txs] == [t.hash for t in again.world.txs]  # deterministic
    truth = gen.confounders
    assert truth is not None
    kinds = defaultdict(list)
    for address, (kind, paid) in truth.endpoints.items():
        kinds[kind].append((address, paid))
    assert len(kinds["deposit"]) == 3 and len(kinds["per-order"]) == 3 and len(kinds["counterparty"]) == 2
    thieves = case.sources | case.laundering
    balances = _token_balances(gen)  # never overdrawn
    for address, (kind, paid) in truth.endpoints.items():
        txs = sorted(gen.world.txs_touching(address), key=lambda t: (t.block, t.tx_index))
        ins = [(tx, t) for tx in txs for t in tx.tokens if t.to == address and t.token == gen.token.address]
        _, first = ins[0]
        from_thief = sum(t.value for _, t in ins if t.sender in thieves)
        assert from_thief == paid, kind  # the truth holds exactly what the thieves paid
        assert address not in thieves and address not in truth.innocent
        if kind == "deposit":
            assert balances[address] == 0  # drained by sweeps to one hot wallet
            outs = {t.to for tx in txs for t in tx.tokens if t.sender == address}
            assert len(outs) == 1 and outs <= {lab.address for lab in gen.labels}
            # a customer deposit arrives before the first sweep
            sweep_block = min(tx.block for tx in txs for t in tx.tokens if t.sender == address)
            assert any(t.sender in truth.innocent and tx.block < sweep_block for tx, t in ins)
        if kind in ("per-order", "counterparty"):
            assert first.sender in thieves  # the thief pays first
        if kind == "per-order":
            (hub,) = {t.to for tx in txs for t in tx.tokens if t.sender == address}
            assert hub in truth.innocent
            assert not any(tx.sender == hub or (t.sender == hub) for tx in txs for t in tx.tokens if t.to == address)
            assert not any(tx.sender == hub and tx.to == address for tx in txs)  # the hub never funded it
        if kind == "counterparty":
            clients = {t.sender for _, t in ins if t.sender in truth.innocent}
            assert 30 <= len(clients) <= 80
            assert truth.innocent_inflow[address] >= 100 * paid
            payees = {t.to for tx in txs for t in tx.tokens if t.sender == address}
            assert len(payees) >= 120 and payees <= truth.innocent
    hot_wallets = {lab.address for lab in gen.labels if "hot wallet" in lab.name}
    assert len(truth.withdrawals) == 2
    for tx_hash, to, amount in truth.withdrawals:
        tx = gen.world.tx(tx_hash)
        assert tx is not None and tx.sender in hot_wallets and to in case.laundering
        assert [(t.to, t.value) for t in tx.tokens] == [(to, amount)]
    # The true theft: what the seeds received in the window, exchange withdrawals never counted.
    key = f"ethereum:{gen.token.address}"
    into_seeds = sum(
        t.value
        for tx in gen.world.txs
        if tx.block >= gen.since_block
        for t in tx.tokens
        if t.to in case.sources and t.token == gen.token.address and t.sender not in hot_wallets
    )
    assert gen.theft[key] == into_seeds and gen.stats["confounder_theft_cents"] > 0


def _bundle(tmp_path: Path, *, thief_column: bool) -> Path:
    import csv
    import json

    tmp_path.mkdir(parents=True)
    tok = "ethereum:0x" + "ab" * 20
    summary = {"assets": {tok: {"symbol": "USDG", "stolen": "150.5"}, "ethereum:native": {"stolen": "1"}}}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    extra = ["thief_funds_in"] if thief_column else []
    rows = {
        "addresses": (
            ["address", "role", "tainted_in", "asset", *extra],
            [[_addr(50), "endpoint", "10", tok, "30"], [_addr(51), "endpoint", "5", tok, "0"],
             [_addr(52), "transit", "1", tok, "0"]],
        ),
        "endpoints": (
            ["address", "asset", "tainted_amount", *(["thief_funds_amount"] if thief_column else [])],
            [[_addr(50), tok, "10", "30"], [_addr(51), tok, "5", "0"]],
        ),
        "flows": (
            ["tx_hash", "from", "to", "asset_id", "tainted_amount", *(["thief_funds_amount"] if thief_column else [])],
            [
                [_tx(77), _addr(60), _addr(61), "0x" + "ab" * 20, "2", "7"],
                [_tx(78), _addr(60), _addr(61), "0x" + "ab" * 20, "9", "9"],
            ],
        ),
    }  # fmt: skip
    for name, (header, body) in rows.items():
        with (tmp_path / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([r[: len(header)] for r in body])
    return tmp_path


def test_amount_metrics_on_hand_made_bundles(tmp_path: Path) -> None:
    from bench.scoring import AmountTruth, load_bundle_rows, score_amounts

    tok = "ethereum:0x" + "ab" * 20
    unit = 10**6
    truth = AmountTruth(
        asset=tok,
        decimals=6,
        theft={tok: 100 * unit, "ethereum:native": 10**18},
        decimals_of={tok: 6, "ethereum:native": 18},
        endpoints={_addr(50): 10 * unit, _addr(51): 4 * unit, _addr(53): 2 * unit},
        confounder_endpoints={_addr(50): 10 * unit, _addr(51): 4 * unit},
        innocent=frozenset({_addr(52), _addr(54)}),
        withdrawals=((_tx(77), _addr(61), 50 * unit),),
    )
    with_thief = score_amounts(truth, **load_bundle_rows(_bundle(tmp_path / "a", thief_column=True)))
    assert with_thief["stolen_over_theft"] == {"ethereum:native": 1.0, tok: 1.505}
    assert with_thief["stolen_over_theft_worst"] == 1.505
    assert with_thief["stolen_minus_theft_units"][tok] == str(50_500_000)
    # 50 got 10 stolen + 30 thief funds for 10 paid: 30 innocent; 51 got 5 for 4: 1 innocent.
    assert with_thief["innocent_inflow_units"] == 31 * unit
    assert with_thief["innocent_inflow_share"] == round(31 / 14, 4)
    assert with_thief["innocent_addresses_traced"] == 1
    assert (with_thief["withdrawals_as_stolen_units"], with_thief["withdrawals_as_thief_funds_units"]) == (
        2 * unit,
        7 * unit,
    )
    # |40-10| + |5-4| + |0-2| over 16
    assert with_thief["endpoint_amount_error"] == round(33 / 16, 4)
    assert with_thief["endpoints_within_1pct"] == 0
    without = score_amounts(truth, **load_bundle_rows(_bundle(tmp_path / "b", thief_column=False)))
    assert without["innocent_inflow_units"] == 1 * unit  # absent thief funds count as zero
    assert without["withdrawals_as_thief_funds_units"] == 0
    assert without["endpoint_amount_error"] == round(3 / 16, 4)


def test_shortfalls_name_the_amount_targets() -> None:
    from bench.bench_quality import shortfalls

    run = {
        "case": "tiny", "default": True, "error": None, "address_recall": 1.0, "precision": 1.0,
        "endpoint_recall": 1.0, "requests_per_address": 2.0, "diagnosis": {},
        "laundering_total": 3, "laundering_found": 3,
        "stolen_over_theft_worst": 1.0, "stolen_exact": True, "innocent_inflow_share": 0.05,
        "withdrawals_as_stolen_units": 0,
    }  # fmt: skip
    assert shortfalls([run]) == []
    bad = {**run, "stolen_exact": False, "innocent_inflow_share": 0.06, "withdrawals_as_stolen_units": 5}
    assert [s["metric"] for s in shortfalls([bad])] == [
        "stolen_over_theft_worst",
        "innocent_inflow_share",
        "withdrawals_as_stolen_units",
    ]


def test_haircut_reach_follows_value_not_edges() -> None:
    """The diagnosis ceiling: value paid before taint arrives, or after the holder is drained, carries none."""
    from bench.reachability import haircut_reach
    from tracer.demo.builder import Token, WorldBuilder

    b = WorldBuilder(seed="reach")
    tok = Token(address=_addr(99), symbol="USDG", name="synthetic", decimals=6)
    victim, thief, hop, clean, early, late, drained, hot = (_addr(i) for i in range(20, 28))
    for block, sender, to, amount in [
        (10, clean, hop, 300),  # hop holds clean value first ...
        (11, hop, early, 300),  # ... and pays it out before any stolen value arrives
        (20, victim, thief, 1000),  # the theft
        (21, hot, thief, 500),  # a labelled service pays the thief: not stolen
        (22, thief, hop, 600),  # 600 of 1500 leave: 400 stolen
        (23, clean, hop, 400),
        (24, hop, drained, 1000),  # draining carries all of hop's taint
        (25, hop, late, 0),
        (26, clean, hop, 50),
        (27, hop, late, 50),  # after the drain: clean
    ]:
        if amount:
            b.token_tx(block=block, sender=sender, transfers=[(tok, sender, to, amount)])
    world = b.build()
    reach = haircut_reach(world.txs, token=tok.address, seeds=[thief], since_block=15, services={hot})
    assert reach == {thief: 1000, hop: 400, drained: 400}
