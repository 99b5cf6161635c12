"""Full histories behind the 1,000-row cap, partial reads, and records that survive 10 % failing answers.

Worlds are **synthetic** (bench/bench_etherscan_cap.py generates them from a seed).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.bench_etherscan_cap import TARGET, busy_world, expected_movements, minimum_requests, movements
from chains.emulators.etherscan import EtherscanEmulator
from chains.emulators.server import Fault, FaultPlan
from chains.emulators.world import EvmWorld, WorldTokenTransfer, WorldTx
from chains.etherscan import EtherscanAdapter
from chains.http import RetryPolicy
from tracer.core.errors import SourceError
from tracer.core.networks import get_chain

ETH = get_chain("ethereum")


@pytest.fixture(scope="module")
def big_world() -> EvmWorld:
    return busy_world(25_000)


@pytest.fixture(scope="module")
def small_world() -> EvmWorld:
    return busy_world(3_000, seed=11)


def adapter(server: EtherscanEmulator, **kw: object) -> EtherscanAdapter:
    options: dict[str, object] = {
        "base_url": server.api_url,
        "rate_per_s": None,
        "retry": RetryPolicy(attempts=8, backoff_base=0.01, backoff_max=0.05, timeout=1.0),
        "sleep": lambda _s: None,
    }
    options.update(kw)
    return EtherscanAdapter(**options)  # type: ignore[arg-type]


def test_25k_transfers_behind_a_1000_row_cap_are_complete_and_cheap(big_world: EvmWorld) -> None:
    with EtherscanEmulator(big_world, row_cap=1000) as server:
        reader = adapter(server)
        chunk = reader.fetch_history(ETH, TARGET, start_block=0, end_block=big_world.tip)
        biggest_page = max(int(q.get("offset", 0)) for _, _, q in server.request_log if q.get("module") == "account")
    assert biggest_page == 1000
    assert len(chunk.transfers) == 25_000 and chunk.complete
    keys = [(t.tx_hash, t.position) for t in chunk.transfers]
    assert len(set(keys)) == len(keys)
    assert movements(chunk.transfers) == expected_movements(big_world, TARGET)
    assert [t.order_key for t in chunk.transfers] == sorted(t.order_key for t in chunk.transfers)
    floor = minimum_requests(big_world, TARGET)
    minimum = floor["list_pages"] + floor["lookups"]
    assert floor["txlist_rows"] > 10_000  # the 10,000-row window alone could not serve it
    assert reader.requests <= minimum * 1.10, (reader.requests, minimum)


def test_page_size_above_the_cap_still_reads_everything(small_world: EvmWorld) -> None:
    with EtherscanEmulator(small_world, row_cap=1000) as server:
        chunk = adapter(server, page_size=5000).fetch_history(ETH, TARGET, start_block=0, end_block=small_world.tip)
    assert movements(chunk.transfers) == expected_movements(small_world, TARGET)


def test_ten_percent_faults_give_identical_records(small_world: EvmWorld) -> None:
    kinds = (Fault.TOO_MANY, Fault.RATE_LIMIT_BODY, Fault.SERVER_ERROR, Fault.SLOW)
    served: dict[Fault, int] = {}
    with EtherscanEmulator(small_world, row_cap=100) as server:
        clean = adapter(server).fetch_history(ETH, TARGET, start_block=0, end_block=small_world.tip)
        assert movements(clean.transfers) == expected_movements(small_world, TARGET)  # a 100-row cap, page size 1000
        clean_requests = server.requests
        for seed in (1, 2, 3):
            server.faults = FaultPlan.mixed(0.10, kinds=kinds, seed=seed, slow_seconds=0.05)
            server.reset_counters()
            noisy = adapter(server).fetch_history(ETH, TARGET, start_block=0, end_block=small_world.tip)
            assert noisy == clean
            assert server.requests == clean_requests + sum(server.faults_served.values()) - server.faults_served.get(
                Fault.SLOW, 0
            )
            for kind, n in server.faults_served.items():
                served[kind] = served.get(kind, 0) + n
    assert set(served) == set(kinds)
    assert 0.05 < sum(served.values()) / (3 * clean_requests) < 0.2


def test_unannounced_caps_of_round_size_are_detected(small_world: EvmWorld) -> None:
    for cap in (200, 500, 1000):
        with EtherscanEmulator(small_world, row_cap=cap) as server:
            chunk = adapter(server, page_size=5000).fetch_history(ETH, TARGET, start_block=0, end_block=small_world.tip)
        assert movements(chunk.transfers) == expected_movements(small_world, TARGET), cap


def test_all_fault_kinds_at_thirty_percent_still_identical(small_world: EvmWorld) -> None:
    with EtherscanEmulator(small_world, row_cap=1000) as server:
        clean = adapter(server).fetch_history(ETH, TARGET, start_block=0, end_block=small_world.tip)
        server.faults = FaultPlan.mixed(0.30, seed=5, slow_seconds=1.5)  # slow > timeout: these time out
        noisy = adapter(server, retry=RetryPolicy(attempts=10, backoff_base=0.01, timeout=0.5)).fetch_history(
            ETH, TARGET, start_block=0, end_block=small_world.tip
        )
    assert noisy == clean


def test_max_rows_reads_a_prefix_and_resumes_to_the_same_history(small_world: EvmWorld) -> None:
    with EtherscanEmulator(small_world, row_cap=200) as server:
        reader = adapter(server, page_size=200)
        whole = reader.fetch_history(ETH, TARGET, start_block=0, end_block=small_world.tip)
        parts = []
        start = 0
        while True:
            chunk = reader.fetch_history(ETH, TARGET, start_block=start, end_block=small_world.tip, max_rows=500)
            assert chunk.start_block == start and chunk.end_block >= start
            assert all(start <= t.block <= chunk.end_block for t in chunk.transfers)
            parts.append(chunk)
            if chunk.complete:
                break
            start = chunk.end_block + 1
    assert len(parts) >= 3 and not parts[0].complete
    assert len(parts[0].transfers) < len(whole.transfers) / 2
    resumed = [t for p in parts for t in p.transfers]
    assert movements(resumed) == movements(whole.transfers)
    assert sorted(t.order_key for t in resumed) == [t.order_key for t in whole.transfers]


def test_a_block_fuller_than_a_page_is_read_by_page_numbers() -> None:
    world = EvmWorld(chain_id=1)
    token = "0x" + "70" * 20
    transfers = tuple(
        WorldTokenTransfer(token, "0x" + "11" * 20, TARGET, 1 + i, i, "TKN", "T", 6) for i in range(2_550)
    )
    world.add([WorldTx("0x" + "ee" * 32, 10, 0, 1000, "0x" + "11" * 20, token, 0, tokens=transfers)])
    world.add([WorldTx("0x" + "ef" * 32, 11, 0, 1012, "0x" + "11" * 20, TARGET, 5)])
    with EtherscanEmulator(world, row_cap=1000) as server:
        chunk = adapter(server).fetch_history(ETH, TARGET, start_block=0, end_block=20)
        pages = [
            (q["startblock"], q["endblock"], q["page"]) for _, _, q in server.request_log if q["action"] == "tokentx"
        ]
    assert len(chunk.transfers) == 2_551
    assert pages == [("0", "20", "1"), ("10", "10", "2"), ("10", "10", "3"), ("11", "20", "1")]
    with EtherscanEmulator(world, row_cap=1000, window=2000) as server, pytest.raises(SourceError, match="window"):
        adapter(server).fetch_history(ETH, TARGET, start_block=0, end_block=20)


@pytest.fixture
def served(small_world: EvmWorld) -> Iterator[EtherscanEmulator]:
    with EtherscanEmulator(small_world) as server:
        yield server


def test_second_identical_read_makes_the_same_requests(served: EtherscanEmulator, small_world: EvmWorld) -> None:
    reader = adapter(served)
    first = reader.fetch_history(ETH, TARGET, start_block=0, end_block=small_world.tip)
    used = reader.requests
    assert reader.fetch_history(ETH, TARGET, start_block=0, end_block=small_world.tip) == first
    assert reader.requests == 2 * used  # the adapter itself caches nothing: caching is the store's job
