"""One contract suite for every account adapter, over one scenario played as real transactions on anvil.

Adapters under test: the JSON-RPC adapter against anvil with each trace method anvil offers
(`trace_filter`, Otterscan + `debug_traceTransaction`, `debug_traceBlockByNumber` scan), and the
Etherscan adapter against the Etherscan emulator serving the world read back from the same
anvil chain (:mod:`chains.emulators.from_node`). The scenario is synthetic (see tests/anvil.py).

Histories are read through the history service (:class:`tracer.sources.history.HistoryService`,
one store per adapter), which sets the noise flags; the adapters themselves set none.

Gaps are declared in `GAPS`: an adapter/address pair listed there must differ from the
reference by exactly the declared transfers, no more and no less. The TRON edition of this suite
(TronGrid adapter, TronGrid emulator): tests/test_adapter_contract_tron.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chains.emulators.etherscan import EtherscanEmulator
from chains.emulators.from_node import fetch_world_from_node
from chains.etherscan import EtherscanAdapter
from chains.positions import internal_position_of
from chains.rpc import RpcAdapter
from heuristics.noise import flag_noise
from tests.anvil import ETHER, Scenario
from tracer.core.errors import SourceRejected
from tracer.core.models import FEE_SINK, NoiseFlag, Transfer, TransferKind
from tracer.core.networks import get_chain
from tracer.sources.history import HistoryService
from tracer.store import Store

pytestmark = pytest.mark.anvil

ETH = get_chain("ethereum")
ADAPTERS = ("etherscan", "rpc-trace_filter", "rpc-ots", "rpc-debug_scan")
ROLES = (
    *("deployer", "thief", "hop1", "hop2", "hop3", "hop4", "shop1", "shop2", "shop3", "stranger"),
    *("fan1", "fan2", "fan3", "fan4", "victim", "lookalike", "heir"),
    *("token", "spoof", "fanout", "fanout2", "vault", "spawned"),
)
#: (adapter, role) -> (why, roles of the missing transfers' (sender, receiver)).
GAPS: dict[tuple[str, str], tuple[str, tuple[str, str]]] = {
    ("rpc-ots", "heir"): (
        "anvil's Otterscan index does not list self-destruct beneficiaries",
        ("vault", "heir"),
    ),
}


def known_tokens(scenario: Scenario) -> dict[str, dict[str, set[str]]]:
    """The scenario's real token: the spoofing token copies its symbol."""
    return {"ethereum": {"TST": {scenario.contracts["token"]}}}


@pytest.fixture(scope="module")
def emulator(anvil_scenario: Scenario) -> Iterator[EtherscanEmulator]:
    world = fetch_world_from_node(anvil_scenario.node.url, start_block=0, end_block=anvil_scenario.end_block)
    server = EtherscanEmulator(world).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def adapters(anvil_scenario: Scenario, emulator: EtherscanEmulator) -> dict[str, object]:
    built: dict[str, object] = {"etherscan": EtherscanAdapter(base_url=emulator.api_url, rate_per_s=None)}
    for method in ("trace_filter", "ots", "debug_scan"):
        built[f"rpc-{method}"] = RpcAdapter(url=anvil_scenario.node.url, expected_chain=ETH, method=method)
    return built


@pytest.fixture(scope="module")
def histories(
    anvil_scenario: Scenario, adapters: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], tuple[Transfer, ...]]:
    """Every adapter's history of every scenario address over the whole chain, through the history service."""
    tokens = known_tokens(anvil_scenario)
    out = {}
    for name, adapter in adapters.items():
        with Store.open(tmp_path_factory.mktemp(name) / "store.sqlite3") as store:
            service = HistoryService(store, {"ethereum": adapter}, known_tokens=tokens)  # type: ignore[dict-item]
            for role in ROLES:
                chunk = service.history(ETH, anvil_scenario.addresses[role], start_block=0,
                                        end_block=anvil_scenario.end_block)  # fmt: skip
                assert chunk.complete and chunk.end_block == anvil_scenario.end_block
                out[(name, role)] = chunk.transfers
    return out


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapters_translate_and_the_service_flags(
    adapter: str, adapters: dict, histories: dict, anvil_scenario: Scenario
) -> None:
    """An adapter sets no noise flag; the service's records are the adapter's with `flag_noise` applied."""
    tokens = known_tokens(anvil_scenario)
    flagged = 0
    for role in ("thief", "hop1", "hop2", "shop1"):
        address = anvil_scenario.addresses[role]
        raw = adapters[adapter].fetch_history(ETH, address, start_block=0, end_block=anvil_scenario.end_block)
        assert all(not t.noise for t in raw.transfers), f"{adapter} flagged noise itself for {role}"
        expected = flag_noise(raw, traced={address}, known_tokens=tokens).transfers
        assert set(histories[(adapter, role)]) == set(expected), role
        flagged += sum(1 for t in expected if t.noise)
    assert flagged >= 4  # zero-value, two spoofed events, a fake amount, dust (checked one by one below)


def test_anvil_is_read_with_trace_filter(anvil_scenario: Scenario) -> None:
    adapter = RpcAdapter(url=anvil_scenario.node.url, expected_chain=ETH)
    assert adapter.method == "trace_filter"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("adapter", ADAPTERS[1:])
def test_adapters_yield_identical_transfers(adapter: str, role: str, histories: dict, anvil_scenario: Scenario) -> None:
    reference = set(histories[("etherscan", role)])
    got = set(histories[(adapter, role)])
    gap = GAPS.get((adapter, role))
    if gap is None:
        assert got == reference, (
            f"{adapter} differs from etherscan for {role}: "
            f"only {adapter}: {sorted(got - reference, key=_key)}; only etherscan: {sorted(reference - got, key=_key)}"
        )
        return
    _why, (sender_role, receiver_role) = gap
    missing = reference - got
    assert got <= reference
    assert missing and all(
        t.sender == anvil_scenario.addresses[sender_role] and t.receiver == anvil_scenario.addresses[receiver_role]
        for t in missing
    ), f"declared gap changed for {adapter}/{role}: missing {sorted(missing, key=_key)}"


def _key(t: Transfer) -> tuple:
    return t.order_key


def _one(transfers: tuple[Transfer, ...], **match: object) -> Transfer:
    found = [t for t in transfers if all(getattr(t, k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one transfer matching {match}, found {found}"
    return found[0]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_scenario_facts(adapter: str, histories: dict, anvil_scenario: Scenario) -> None:
    """What the scenario did, checked against each adapter independently of the others."""
    a = anvil_scenario.addresses
    tx = anvil_scenario.txs

    def h(role: str) -> tuple[Transfer, ...]:
        return histories[(adapter, role)]

    # The heist and the peel chain: external transfers, each with the sender's fee first.
    steal = _one(h("thief"), tx_hash=tx["steal-eth"], kind=TransferKind.EXTERNAL)
    assert (steal.sender, steal.receiver, steal.amount, steal.success) == (a["victim"], a["thief"], 100 * ETHER, True)
    assert not any(t.kind is TransferKind.FEE for t in h("thief") if t.tx_hash == tx["steal-eth"])
    fee = _one(h("victim"), tx_hash=tx["steal-eth"], kind=TransferKind.FEE)
    assert fee.receiver == FEE_SINK and fee.position == 0 and fee.amount > 0
    hops = ["thief", "hop1", "hop2", "hop3", "hop4"]
    for i in range(4):
        peel = _one(h(hops[i + 1]), tx_hash=tx[f"peel-{i}"], kind=TransferKind.EXTERNAL)
        assert (peel.sender, peel.amount, peel.position) == (a[hops[i]], (90 - 10 * i) * ETHER, 1)
        pay = _one(h(hops[i + 1]), tx_hash=tx[f"peel-pay-{i}"], kind=TransferKind.EXTERNAL)
        assert pay.amount == (i + 1) * ETHER // 10 and pay.amount < peel.amount // 10

    # Fan-out by internal calls (canonical positions: chains.positions), and a nested relay through a second contract.
    fan_calls = sorted((t for t in h("fanout") if t.tx_hash == tx["fan-out"] and t.kind is TransferKind.INTERNAL),
                       key=lambda t: t.amount)  # fmt: skip
    assert [(t.receiver, t.amount) for t in fan_calls] == [(a[f"fan{i}"], i * ETHER) for i in range(1, 5)]
    assert all(t.position == internal_position_of(t.sender, t.receiver, t.amount) for t in fan_calls)
    assert len({t.position for t in fan_calls}) == 4 and all(t.position >= 2 for t in fan_calls)
    for i in range(1, 5):
        assert _one(h(f"fan{i}"), kind=TransferKind.INTERNAL).amount == i * ETHER
    hop_in = _one(h("fanout2"), tx_hash=tx["relay"], receiver=a["fanout2"])
    hop_out = _one(h("fanout2"), tx_hash=tx["relay"], receiver=a["shop2"])
    assert hop_in.position != hop_out.position and hop_in.amount == hop_out.amount == 2 * ETHER

    # The reverted transaction: the fee is paid, nothing else moves (the inner payment is undone too).
    assert _one(h("hop2"), tx_hash=tx["reverted"], kind=TransferKind.FEE).moves_value
    failed_value = _one(h("hop2"), tx_hash=tx["reverted"], kind=TransferKind.EXTERNAL)
    assert not failed_value.success and not failed_value.moves_value
    undone = _one(h("shop3"), tx_hash=tx["reverted"], kind=TransferKind.INTERNAL)
    assert not undone.success and not undone.moves_value

    # Contract creations and the self-destruct.
    created = _one(h("vault"), tx_hash=tx["create-vault"], kind=TransferKind.EXTERNAL)
    assert (created.sender, created.receiver, created.amount) == (a["hop4"], a["vault"], 3 * ETHER)
    spawned = _one(h("spawned"), kind=TransferKind.INTERNAL)
    assert (spawned.sender, spawned.amount) == (a["fanout"], ETHER)
    if (adapter, "heir") not in GAPS:
        destroyed = _one(h("heir"), tx_hash=tx["destroy"], kind=TransferKind.INTERNAL)
        assert (destroyed.sender, destroyed.amount) == (a["vault"], 3 * ETHER)

    # Tokens: the real one with its metadata, a zero-value transfer, spoofed events, dust.
    stolen = _one(h("thief"), tx_hash=tx["steal-token"], kind=TransferKind.TOKEN)
    assert (stolen.sender, stolen.amount, stolen.asset.symbol, stolen.asset.decimals) == (a["victim"], 6 * 10**11,
                                                                                           "TST", 6)  # fmt: skip
    assert stolen.position >= 1_000_000 and not stolen.noise
    zero = _one(h("shop1"), tx_hash=tx["token-zero"])
    assert NoiseFlag.ZERO_VALUE in zero.noise
    spoofed = [t for t in h("thief") if t.tx_hash == tx["spoof"]]
    assert {t.receiver for t in spoofed} == {a["lookalike"], a["hop2"]}  # two fake events "from" the thief
    assert all(NoiseFlag.SPOOFED in t.noise and t.asset.contract == a["spoof"] for t in spoofed)
    assert all(t.asset.symbol == "TST" and t.asset.decimals == 0 for t in spoofed)  # bytes32 symbol, no decimals()
    fake_amount = _one(h("hop1"), tx_hash=tx["spoof-amount"])
    assert NoiseFlag.SPOOFED in fake_amount.noise and fake_amount.amount == 3 * 10**11
    dust = _one(h("hop2"), tx_hash=tx["dust"], kind=TransferKind.EXTERNAL)
    assert dust.noise == {NoiseFlag.DUST} and dust.amount == 1_000


def test_rpc_max_rows_returns_whole_blocks(anvil_scenario: Scenario, adapters: dict) -> None:
    """The RPC adapter cuts at a block boundary (Etherscan's budget only applies per full 1,000-row page)."""
    for name in ("rpc-trace_filter", "rpc-ots"):
        full = adapters[name].fetch_history(ETH, anvil_scenario.accounts["thief"], start_block=0,
                                            end_block=anvil_scenario.end_block)  # fmt: skip
        part = adapters[name].fetch_history(ETH, anvil_scenario.accounts["thief"], start_block=0,
                                            end_block=anvil_scenario.end_block, max_rows=3)  # fmt: skip
        assert not part.complete and part.end_block < anvil_scenario.end_block
        assert set(part.transfers) == {t for t in full.transfers if t.block <= part.end_block}


def test_chain_id_mismatch_is_a_clear_error(anvil_scenario: Scenario) -> None:
    adapter = RpcAdapter(url=anvil_scenario.node.url, expected_chain=get_chain("bsc"))
    with pytest.raises(SourceRejected) as caught:
        adapter.fetch_tip(get_chain("bsc"))
    message = str(caught.value)
    assert "chain id 1," in message and "bsc has chain id 56" in message and "\n" not in message
