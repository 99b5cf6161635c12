"""The JSON-RPC adapter against a real anvil node, directly and behind a proxy that mimics other nodes.

The proxy (`RpcProxy` below) hides methods, refuses wide block ranges, answers
rate-limit errors and injects HTTP faults, so method detection, range shrinking, retries and
key redaction are exercised on real answers. The scenario is synthetic (tests/anvil.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from chains.emulators.server import EmulatorServer, Fault, FaultPlan, Reply, Request
from chains.http import RetryPolicy
from chains.rpc import RpcAdapter
from tests.anvil import ETHER, Scenario, trace_on_node
from tracer.core.errors import BadChain, RetriesExhausted, SourceRejected
from tracer.core.models import TransferKind
from tracer.core.networks import get_chain

pytestmark = pytest.mark.anvil

ETH = get_chain("ethereum")
NO_WAIT = RetryPolicy(attempts=8, backoff_base=0.0, jitter=False, timeout=10)
SAMPLE = ("thief", "hop2", "hop4", "shop3", "fanout", "fanout2", "vault", "lookalike")


class RpcProxy(EmulatorServer):
    """A JSON-RPC proxy in front of a node (real HTTP on 127.0.0.1) that mimics weaker or stricter nodes.

    `hidden` methods answer "method not found" (-32601); `eth_getLogs` and `trace_filter` over more
    than `max_range` blocks answer a provider's "query returned more than 10000 results" error;
    `rate_limited_first` requests answer a JSON-RPC rate-limit error. The base class adds
    HTTP-level faults (429, 5xx, slow, reset, malformed) through its `faults` plan. Any URL path
    is accepted (so tests can put a fake key in it). `seen` counts forwarded methods.
    """

    def __init__(
        self,
        upstream: str,
        *,
        hidden: frozenset[str] = frozenset(),
        max_range: int | None = None,
        rate_limited_first: int = 0,
    ) -> None:
        super().__init__()
        self.upstream = upstream
        self.hidden = hidden
        self.max_range = max_range
        self.rate_limited_first = rate_limited_first
        self.seen: dict[str, int] = {}
        self.refused_ranges = 0
        self._session = requests.Session()

    def rate_limited_reply(self, request: Request) -> Reply:
        return Reply.json({"jsonrpc": "2.0", "id": 1, "error": {"code": -32005, "message": "rate limit exceeded"}})

    def handle(self, request: Request) -> Reply:
        payload = json.loads(request.body or b"{}")
        method = payload.get("method", "")
        if self.rate_limited_first > 0:
            self.rate_limited_first -= 1
            return self.rate_limited_reply(request)
        if method in self.hidden:
            error = {"code": -32601, "message": f"the method {method} does not exist/is not available"}
            return Reply.json({"jsonrpc": "2.0", "id": payload.get("id"), "error": error})
        if self.max_range is not None and method in ("eth_getLogs", "trace_filter"):
            query = payload["params"][0]
            low, high = (int(str(query[k]), 0) for k in ("fromBlock", "toBlock"))
            if high - low + 1 > self.max_range:
                self.refused_ranges += 1
                error = {"code": -32005, "message": "query returned more than 10000 results"}
                return Reply.json({"jsonrpc": "2.0", "id": payload.get("id"), "error": error})
        self.seen[method] = self.seen.get(method, 0) + 1
        answer = self._session.post(self.upstream, json=payload, timeout=30)
        return Reply(answer.status_code, answer.content, "application/json")


@pytest.fixture
def proxy(anvil_scenario: Scenario) -> Iterator[RpcProxy]:
    server = RpcProxy(anvil_scenario.node.url).start()
    try:
        yield server
    finally:
        server.stop()


def _adapter(url: str, **kw: object) -> RpcAdapter:
    return RpcAdapter(url=url, expected_chain=ETH, retry=NO_WAIT, sleep=lambda _s: None, **kw)  # type: ignore[arg-type]


def _history(adapter: RpcAdapter, scenario: Scenario, role: str) -> set:
    chunk = adapter.fetch_history(ETH, scenario.addresses[role], start_block=0, end_block=scenario.end_block)
    assert chunk.complete
    return set(chunk.transfers)


@pytest.fixture(scope="module")
def reference(anvil_scenario: Scenario) -> dict[str, set]:
    """trace_filter histories straight from anvil, the baseline of the other tests."""
    adapter = RpcAdapter(url=anvil_scenario.node.url, expected_chain=ETH)
    return {role: _history(adapter, anvil_scenario, role) for role in anvil_scenario.addresses}


@pytest.mark.parametrize(
    ("hidden", "expected"),
    [
        (frozenset(), "trace_filter"),
        (frozenset({"trace_filter"}), "ots"),
        (frozenset({"trace_filter", "ots_getApiLevel"}), "debug_scan"),
        (frozenset({"trace_filter", "ots_getApiLevel", "debug_traceBlockByNumber"}), "block_scan"),
    ],
)
def test_method_detection_falls_back(proxy: RpcProxy, hidden: frozenset[str], expected: str) -> None:
    proxy.hidden = hidden
    adapter = _adapter(proxy.base_url)
    assert adapter.method == expected
    assert any("internal transfers are missing" in note for note in adapter.notes) == (expected == "block_scan")


def test_detected_debug_scan_matches_trace_filter(proxy: RpcProxy, anvil_scenario: Scenario, reference: dict) -> None:
    proxy.hidden = frozenset({"trace_filter", "ots_getApiLevel"})
    adapter = _adapter(proxy.base_url)
    for role in SAMPLE:
        assert _history(adapter, anvil_scenario, role) == reference[role], role
    assert "trace_filter" not in proxy.seen and proxy.seen["debug_traceBlockByNumber"] > 0


def test_block_scan_misses_exactly_the_internal_transfers(
    proxy: RpcProxy, anvil_scenario: Scenario, reference: dict
) -> None:
    proxy.hidden = frozenset({"trace_filter", "ots_getApiLevel", "debug_traceBlockByNumber"})
    adapter = _adapter(proxy.base_url)
    for role in anvil_scenario.addresses:
        expected = {t for t in reference[role] if t.kind is not TransferKind.INTERNAL}
        assert _history(adapter, anvil_scenario, role) == expected, role
    assert any(t.kind is TransferKind.INTERNAL for t in reference["fanout"])  # so the gap is real


def test_block_scan_is_bounded(proxy: RpcProxy, anvil_scenario: Scenario) -> None:
    proxy.hidden = frozenset({"trace_filter", "ots_getApiLevel"})
    adapter = _adapter(proxy.base_url, max_scan_blocks=5)
    with pytest.raises(SourceRejected, match="over the limit of 5"):
        adapter.fetch_history(ETH, anvil_scenario.accounts["thief"], start_block=0, end_block=anvil_scenario.end_block)


def test_refused_ranges_shrink_and_records_stay_the_same(
    proxy: RpcProxy, anvil_scenario: Scenario, reference: dict
) -> None:
    proxy.max_range = 3
    adapter = _adapter(proxy.base_url, block_chunk=64)
    for role in SAMPLE:
        assert _history(adapter, anvil_scenario, role) == reference[role], role
    assert proxy.refused_ranges > 0
    assert proxy.seen["eth_getLogs"] >= 2 * len(SAMPLE) * -(-(anvil_scenario.end_block + 1) // 3)


def test_node_refusing_a_single_block_is_a_clear_error(proxy: RpcProxy, anvil_scenario: Scenario) -> None:
    proxy.max_range = 0
    adapter = _adapter(proxy.base_url)
    with pytest.raises(SourceRejected, match="refuses even a one-block"):
        adapter.fetch_history(ETH, anvil_scenario.accounts["thief"], start_block=0, end_block=anvil_scenario.end_block)


def test_faults_and_rate_limits_do_not_change_records(
    proxy: RpcProxy, anvil_scenario: Scenario, reference: dict
) -> None:
    proxy.rate_limited_first = 3
    proxy.faults = FaultPlan.mixed(0.10, seed=11, slow_seconds=0.01, retry_after="0")
    adapter = _adapter(proxy.base_url)
    for role in SAMPLE:
        assert _history(adapter, anvil_scenario, role) == reference[role], role
    assert sum(proxy.faults_served.values()) >= 5


def test_keys_in_the_url_never_show(proxy: RpcProxy, caplog: pytest.LogCaptureFixture) -> None:
    key = "Sup3rSecretKey0123456789abcdef"
    caplog.set_level(logging.DEBUG)
    wrong_chain = RpcAdapter(url=f"{proxy.base_url}/v2/{key}", expected_chain=get_chain("polygon"))
    with pytest.raises(SourceRejected) as caught:
        wrong_chain.fetch_tip(get_chain("polygon"))
    assert key not in str(caught.value) and "/v2/***" in str(caught.value)
    proxy.faults = FaultPlan(rates={Fault.SERVER_ERROR: 1.0})
    failing = _adapter(f"{proxy.base_url}/v2/{key}?apikey={key}")
    with pytest.raises(RetriesExhausted) as exhausted:
        failing.fetch_tip(ETH)
    assert key not in str(exhausted.value)
    assert key not in caplog.text and "***" in caplog.text


def test_wrong_chain_argument_is_rejected(anvil_scenario: Scenario) -> None:
    adapter = RpcAdapter(url=anvil_scenario.node.url, expected_chain=ETH)
    with pytest.raises(BadChain):
        adapter.fetch_history(get_chain("bsc"), anvil_scenario.accounts["thief"], start_block=0, end_block=1)


def test_token_metadata_with_fallbacks_is_cached(anvil_scenario: Scenario) -> None:
    adapter = RpcAdapter(url=anvil_scenario.node.url, expected_chain=ETH)
    real = adapter.fetch_token(anvil_scenario.contracts["token"])
    assert (real.symbol, real.decimals) == ("TST", 6)
    fake = adapter.fetch_token(anvil_scenario.contracts["spoof"])  # bytes32 symbol, no decimals()
    assert (fake.symbol, fake.decimals) == ("TST", 0)
    assert any("no usable decimals" in note and anvil_scenario.contracts["spoof"] in note for note in adapter.notes)
    not_a_token = adapter.fetch_token(anvil_scenario.accounts["shop1"])
    assert (not_a_token.symbol, not_a_token.decimals) == ("", 0)
    before = adapter.requests
    adapter.fetch_token(anvil_scenario.contracts["token"])
    assert adapter.requests == before


def test_internals_of_one_transaction_and_contract_detection(anvil_scenario: Scenario) -> None:
    adapter = RpcAdapter(url=anvil_scenario.node.url, expected_chain=ETH)
    a = anvil_scenario.addresses
    calls = adapter.fetch_tx_internals(ETH, anvil_scenario.txs["relay"])
    assert [(t.sender, t.receiver, t.amount) for t in calls] == [
        (a["fanout"], a["fanout2"], 2 * ETHER),
        (a["fanout2"], a["shop2"], 2 * ETHER),
    ]
    assert calls[0].position != calls[1].position  # identities; the list itself is in trace order
    assert adapter.fetch_is_contract(ETH, a["fanout"]) and not adapter.fetch_is_contract(ETH, a["thief"])
    assert adapter.fetch_tip(ETH) == anvil_scenario.end_block


def test_block_by_time_bisects_block_timestamps(anvil_scenario: Scenario) -> None:
    adapter = RpcAdapter(url=anvil_scenario.node.url, expected_chain=ETH)
    node = anvil_scenario.node
    blocks = range(anvil_scenario.end_block + 1)
    times = [int(node.rpc("eth_getBlockByNumber", [hex(b), False])["timestamp"], 16) for b in blocks]  # type: ignore[index]
    for stamp in sorted(set(times)):
        before = max(b for b, t in enumerate(times) if t <= stamp)
        after = min(b for b, t in enumerate(times) if t >= stamp)
        assert adapter.fetch_block_by_time(ETH, stamp, closest="before") == before
        assert adapter.fetch_block_by_time(ETH, stamp, closest="after") == after
    with pytest.raises(SourceRejected):
        adapter.fetch_block_by_time(ETH, times[0] - 1, closest="before")


def test_adapter_url_is_redacted(proxy: RpcProxy) -> None:
    key = "AnotherSecretKey0123456789"
    assert RpcAdapter(url=f"{proxy.base_url}/v2/{key}", expected_chain=ETH).url == f"{proxy.base_url}/v2/***"


def test_trace_command_over_the_node(anvil_scenario: Scenario, tmp_path: Path) -> None:
    """End to end: `heisttrace trace CASE --source rpc --rpc-url URL` follows the synthetic heist on anvil."""
    printed, out = trace_on_node(
        anvil_scenario.node, tmp_path, thief=anvil_scenario.accounts["thief"], since=0, title="synthetic heist on anvil"
    )
    native = printed["assets"]["ethereum:native"]
    # exactly the theft: what thief-controlled addresses gained afterwards (their gas) is thief funds, apart
    assert Decimal(native["stolen"]) == 100
    parts = ("endpoints", "unmoved", "fees", "below_threshold", "unexplored", "swapped_out")
    assert sum(Decimal(native[k]) for k in parts) == Decimal(native["stolen"]) + Decimal(native["swapped_in"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"]["ethereum"]["kind"] == "rpc"


def test_otterscan_paging_one_tx_per_page(anvil_scenario: Scenario, reference: dict) -> None:
    adapter = RpcAdapter(url=anvil_scenario.node.url, expected_chain=ETH, method="ots", ots_page_size=1)
    for role in SAMPLE:
        assert _history(adapter, anvil_scenario, role) == reference[role], role
    searches = len({t.tx_hash for t in reference["thief"]})
    assert adapter.requests > searches  # several pages were read for the thief alone
