"""The adapter contract suite (tests/test_adapter_contract.py) for TRON: TronGrid adapter against the TronGrid emulator.

The scenario mirrors the EVM one in TRON's terms, as a **synthetic** world: a theft in TRX and in USDT, a
peel chain paying fees, a fan-out and a relay by internal calls, a reverted call, zero-value and spoofed
token transfers, dust. The reference is the world itself, read here without the adapter (`expected`): for
every role the adapter must give exactly the transfers the world says, with the same identity from both
sides, in canonical order; under 10 % injected faults the same records; through the history service and a
store, zero requests on a re-run. Gaps are declared in `GAPS` like in the EVM suite: a declared
(adapter, role) pair must differ from the reference by exactly the declared transfers.
"""

from __future__ import annotations

import hashlib

import pytest

from chains.emulators.server import FaultPlan
from chains.emulators.trongrid import Trc20Move, TronGridEmulator, TronInternal, TronToken, TronTx, TronWorld
from chains.http import RetryPolicy
from chains.positions import token_position_of
from chains.tron import TronGridAdapter
from tracer.core.addresses import b58check_encode
from tracer.core.models import FEE_SINK, NoiseFlag, Transfer, TransferKind
from tracer.core.networks import get_chain
from tracer.sources.history import HistoryService, flag_history
from tracer.store import Store

TRON = get_chain("tron")
TRX = 10**6  # sun
FAST = RetryPolicy(attempts=8, backoff_base=0.0, backoff_max=0.0, jitter=False, timeout=5.0)
ROLES = (
    *("deployer", "thief", "hop1", "hop2", "hop3", "hop4", "shop1", "shop2", "shop3", "stranger"),
    *("fan1", "fan2", "fan3", "fan4", "victim", "lookalike", "poisoner", "fanout", "fanout2"),
)
#: 200-row pages; 2-row pages whose cursor breaks every 3 pages; 3-row pages repeating rows at their edges.
ADAPTERS = ("trongrid", "trongrid-paged", "trongrid-edges")
SERVED = {"trongrid": {}, "trongrid-paged": {"break_after_pages": 3}, "trongrid-edges": {"edge_duplicates": True}}
LIMITS = {"trongrid": 200, "trongrid-paged": 2, "trongrid-edges": 3}
#: (adapter, role) -> (why, roles of the missing transfers' (sender, receiver)).
GAPS: dict[tuple[str, str], tuple[str, tuple[str, str]]] = {
    (adapter, role): ("TRC-10 tokens (call values keyed by a token id) are not traced", ("fanout", "fan4"))
    for adapter in ADAPTERS
    for role in ("fan4", "fanout")
}


def _addr(role: str) -> str:
    return b58check_encode(b"\x41" + hashlib.sha256(f"contract-suite-{role}".encode()).digest()[:20])


A = {role: _addr(role) for role in ROLES}
USDT = TronToken("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "USDT", 6, "Tether USD")
SPOOF = TronToken(_addr("spoof"), "USDT", 6, "Tether USD")  # copies the real token's symbol
TX: dict[str, str] = {}


def _tx(name: str, block: int, owner: str, **kw) -> TronTx:
    TX[name] = hashlib.sha256(f"contract-suite-tx-{name}".encode()).hexdigest()
    return TronTx(TX[name], block, A[owner], **kw)


def scenario() -> TronWorld:
    """SYNTHETIC: the contract scenario on TRON (see the module docstring)."""
    w = TronWorld()
    w.add(*(_tx(f"fund-{r}", n, "deployer", to=A[r], amount=500 * TRX, fee=1_100_000) for n, r in enumerate(ROLES[1:])))
    w.add(_tx("steal-trx", 20, "victim", to=A["thief"], amount=100 * TRX, fee=1_100_000))
    w.add(_tx("steal-token", 21, "victim", contract=USDT.contract, fee=13_844_850,
              trc20=(Trc20Move(USDT, A["victim"], A["thief"], 6 * 10**11),)))  # fmt: skip
    hops = ["thief", "hop1", "hop2", "hop3", "hop4"]
    for i in range(4):
        w.add(_tx(f"peel-{i}", 30 + 2 * i, hops[i], to=A[hops[i + 1]], amount=(90 - 10 * i) * TRX, fee=268_000))
        w.add(_tx(f"peel-pay-{i}", 31 + 2 * i, hops[i + 1], to=A[f"shop{i % 3 + 1}"], amount=(i + 1) * TRX // 10))
    fan = tuple(TronInternal(A["fanout"], A[f"fan{i}"], i * TRX) for i in range(1, 5))
    w.add(_tx("fan-out", 40, "hop4", contract=A["fanout"], call_value=10 * TRX, fee=2_000_000,
              internals=(*fan, TronInternal(A["fanout"], A["fan4"], 7, token_id="1002000"))))  # fmt: skip
    w.add(_tx("relay", 41, "shop1", contract=A["fanout2"], call_value=2 * TRX, fee=900_000,
              internals=(TronInternal(A["fanout2"], A["shop2"], 2 * TRX),)))  # fmt: skip
    w.add(_tx("reverted", 42, "hop2", contract=A["fanout"], call_value=TRX, fee=5_000_000, success=False,
              internals=(TronInternal(A["fanout"], A["shop3"], TRX, rejected=True),)))  # fmt: skip
    w.add(_tx("token-zero", 43, "stranger", contract=USDT.contract, fee=6_000_000,
              trc20=(Trc20Move(USDT, A["stranger"], A["shop1"], 0),)))  # fmt: skip
    w.add(_tx("spoof", 44, "poisoner", contract=SPOOF.contract, fee=9_000_000,
              trc20=(Trc20Move(SPOOF, A["thief"], A["lookalike"], 10**6),
                     Trc20Move(SPOOF, A["thief"], A["hop2"], 10**6))))  # fmt: skip
    w.add(_tx("spoof-amount", 45, "poisoner", contract=SPOOF.contract,
              trc20=(Trc20Move(SPOOF, A["lookalike"], A["hop1"], 3 * 10**11),)))  # fmt: skip
    w.add(_tx("dust", 46, "stranger", to=A["hop2"], amount=3))
    w.add(_tx("double", 47, "hop3", contract=USDT.contract, fee=13_844_850,
              trc20=(Trc20Move(USDT, A["hop3"], A["shop3"], 5),) * 2))  # fmt: skip
    w.add(_tx("late", 60, "stranger", to=A["shop2"], amount=TRX))
    return w


Row = tuple[str, TransferKind, str, str, int, str | None, bool]


def expected(world: TronWorld, address: str) -> list[Row]:
    """What the world says `address` saw, read without the adapter (TRC-10 values included, as `trc10:<id>`)."""
    out: list[Row] = []
    for t in world.txs:
        rows: list[Row] = []
        if t.fee:
            rows.append((t.txid, TransferKind.FEE, t.owner, FEE_SINK, t.fee, None, True))
        to, amount = (t.contract, t.call_value) if t.contract is not None else (t.to, t.amount)
        if amount and to:
            rows.append((t.txid, TransferKind.EXTERNAL, t.owner, to, amount, None, t.success))
        for i in t.internals:
            asset = f"trc10:{i.token_id}" if i.token_id else None
            rows.append((t.txid, TransferKind.INTERNAL, i.sender, i.to, i.sun, asset, t.success and not i.rejected))
        if t.success:
            rows += [(t.txid, TransferKind.TOKEN, m.sender, m.to, m.value, m.token.contract, True) for m in t.trc20]
        out += [r for r in rows if address in (r[2], r[3])]
    return out


def _row(t: Transfer) -> Row:
    return (t.tx_hash, t.kind, t.sender, t.receiver, t.amount, t.asset.contract, t.success)


def _adapter(server: TronGridEmulator, name: str) -> TronGridAdapter:
    return TronGridAdapter(url=server.base_url, retry=FAST, sleep=lambda s: None, page_limit=LIMITS[name])


@pytest.fixture(scope="module")
def world() -> TronWorld:
    return scenario()


@pytest.fixture(scope="module")
def histories(world: TronWorld) -> dict[tuple[str, str], tuple[Transfer, ...]]:
    out = {}
    for name in ADAPTERS:
        with TronGridEmulator(world, **SERVED[name]) as server:
            adapter = _adapter(server, name)
            for role in ROLES:
                chunk = adapter.fetch_history(TRON, A[role], start_block=0, end_block=world.tip)
                assert chunk.complete and chunk.end_block == world.tip
                out[(name, role)] = flag_history(chunk, "tron", A[role]).transfers  # as the history service does
    return out


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapter_yields_the_world(adapter: str, role: str, histories: dict, world: TronWorld) -> None:
    reference = expected(world, A[role])
    got = [_row(t) for t in histories[(adapter, role)]]
    assert len(got) == len(set(got)) or role in ("hop3", "shop3")  # the "double" transfer is two equal rows
    gap = GAPS.get((adapter, role))
    missing = [r for r in reference if r not in got]
    extra = [r for r in got if r not in reference]
    assert not extra, f"{adapter}/{role}: transfers the world does not have: {extra}"
    assert sorted(got, key=repr) == sorted([r for r in reference if r not in missing], key=repr)
    if gap is None:
        assert not missing, f"{adapter}/{role}: missing {missing}"
        return
    _why, (sender, receiver) = gap
    assert missing and all((r[2], r[3]) == (A[sender], A[receiver]) for r in missing), f"gap changed: {missing}"


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_identity_order_and_positions(adapter: str, histories: dict) -> None:
    seen: dict[tuple[str, int], Transfer] = {}
    for role in ROLES:
        transfers = histories[(adapter, role)]
        assert list(transfers) == sorted(transfers, key=lambda t: t.order_key)
        assert len({(t.tx_hash, t.position) for t in transfers}) == len(transfers)
        for t in transfers:
            other = seen.setdefault((t.tx_hash, t.position), t)
            assert (other.kind, other.sender, other.receiver, other.amount, other.block) == (
                t.kind, t.sender, t.receiver, t.amount, t.block,
            ), "one transfer, two identities"  # fmt: skip
            if t.kind is TransferKind.FEE:
                assert t.position == 0
            elif t.kind is TransferKind.EXTERNAL:
                assert t.position == 1
            elif t.kind is TransferKind.INTERNAL:
                assert 2 <= t.position < 1_000_000
            else:
                assert t.position >= token_position_of(t.asset.contract or "", t.sender, t.receiver, t.amount)
    assert all(histories[("trongrid", r)] == histories[(adapter, r)] for r in ROLES)


def _one(transfers: tuple[Transfer, ...], **match: object) -> Transfer:
    found = [t for t in transfers if all(getattr(t, k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one transfer matching {match}, found {found}"
    return found[0]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_scenario_facts(adapter: str, histories: dict) -> None:
    def h(role: str) -> tuple[Transfer, ...]:
        return histories[(adapter, role)]

    steal = _one(h("thief"), tx_hash=TX["steal-trx"], kind=TransferKind.EXTERNAL)
    assert (steal.sender, steal.amount, steal.asset.key, steal.asset.decimals) == (A["victim"], 100 * TRX,
                                                                                    "tron:native", 6)  # fmt: skip
    assert not any(t.kind is TransferKind.FEE for t in h("thief") if t.tx_hash == TX["steal-trx"])
    assert _one(h("victim"), tx_hash=TX["steal-trx"], kind=TransferKind.FEE).receiver == FEE_SINK
    for i, hop in enumerate(("hop1", "hop2", "hop3", "hop4")):
        peel = _one(h(hop), tx_hash=TX[f"peel-{i}"], kind=TransferKind.EXTERNAL)
        assert peel.amount == (90 - 10 * i) * TRX and not peel.noise
    fan = sorted((t for t in h("fanout") if t.kind is TransferKind.INTERNAL and t.tx_hash == TX["fan-out"]),
                 key=lambda t: t.amount)  # fmt: skip
    assert [(t.receiver, t.amount) for t in fan] == [(A[f"fan{i}"], i * TRX) for i in range(1, 5)]
    relay_in = _one(h("fanout2"), tx_hash=TX["relay"], receiver=A["fanout2"])
    relay_out = _one(h("fanout2"), tx_hash=TX["relay"], receiver=A["shop2"])
    assert relay_in.position != relay_out.position and relay_in.amount == relay_out.amount == 2 * TRX
    # the reverted call: the fee is paid, its value and its inner payment do not move
    assert _one(h("hop2"), tx_hash=TX["reverted"], kind=TransferKind.FEE).moves_value
    assert not _one(h("hop2"), tx_hash=TX["reverted"], kind=TransferKind.EXTERNAL).moves_value
    assert not _one(h("shop3"), tx_hash=TX["reverted"], kind=TransferKind.INTERNAL).moves_value
    stolen = _one(h("thief"), tx_hash=TX["steal-token"], kind=TransferKind.TOKEN)
    assert (stolen.asset.symbol, stolen.asset.decimals, stolen.amount) == ("USDT", 6, 6 * 10**11)
    assert not stolen.noise
    assert NoiseFlag.ZERO_VALUE in _one(h("shop1"), tx_hash=TX["token-zero"]).noise
    spoofed = [t for t in h("thief") if t.tx_hash == TX["spoof"]]
    assert {t.receiver for t in spoofed} == {A["lookalike"], A["hop2"]}
    assert all(NoiseFlag.SPOOFED in t.noise and t.asset.contract == SPOOF.contract for t in spoofed)
    assert NoiseFlag.SPOOFED in _one(h("hop1"), tx_hash=TX["spoof-amount"]).noise
    assert _one(h("hop2"), tx_hash=TX["dust"]).noise == {NoiseFlag.DUST}
    double = [t for t in h("shop3") if t.tx_hash == TX["double"]]
    assert len(double) == 2 and len({t.position for t in double}) == 2  # identical transfers never collapse


def test_block_ranges_and_the_tip(world: TronWorld) -> None:
    with TronGridEmulator(world) as server:
        adapter = _adapter(server, "trongrid")
        assert adapter.fetch_tip(TRON) == world.tip
        part = adapter.fetch_history(TRON, A["shop2"], start_block=41, end_block=59)
    assert {t.tx_hash for t in part.transfers} == {TX["relay"]}


def _all(server: TronGridEmulator, world: TronWorld) -> dict[str, tuple[Transfer, ...]]:
    adapter = _adapter(server, "trongrid")
    return {
        r: flag_history(adapter.fetch_history(TRON, A[r], start_block=0, end_block=world.tip), "tron", A[r]).transfers
        for r in ROLES
    }


def test_ten_percent_faults_give_identical_records(world: TronWorld, histories: dict) -> None:
    with TronGridEmulator(world, faults=FaultPlan.mixed(0.10, seed=23)) as server:
        got = _all(server, world)
        assert sum(server.faults_served.values()) > 0
    assert got == {r: histories[("trongrid", r)] for r in ROLES}


def test_missed_slots_cost_requests_not_records(world: TronWorld, histories: dict) -> None:
    with TronGridEmulator(world, missed_every=7) as server:
        got = _all(server, world)
        asked = server.paths["/wallet/gettransactioninfobyid"]
    assert asked > 0  # the block clock could not place every transfer across a missed slot: it asked
    strip = {r: [(t.tx_hash, t.position, t.block, t.amount) for t in v] for r, v in got.items()}
    assert strip == {r: [(t.tx_hash, t.position, t.block, t.amount) for t in histories[("trongrid", r)]]
                     for r in ROLES}  # fmt: skip


def test_a_rerun_through_the_store_makes_no_request(world: TronWorld, tmp_path) -> None:
    with TronGridEmulator(world) as server, Store.open(tmp_path / "store.sqlite3") as store:
        first = HistoryService(store, {"tron": _adapter(server, "trongrid")}, pin_key="contract")
        got = {r: first.history(TRON, A[r], start_block=0).transfers for r in ROLES}
        asked = server.requests
        again = HistoryService(store, {"tron": _adapter(server, "trongrid")}, pin_key="contract")
        assert {r: again.history(TRON, A[r], start_block=0).transfers for r in ROLES} == got
        assert server.requests == asked and again.requests == 0
