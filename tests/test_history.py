"""The history service: the store answers first, adapters fetch only what is missing, tips are pinned."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tracer.core.errors import BadChain, OfflineGap
from tracer.core.models import FEE_SINK, Asset, Transfer, TransferKind
from tracer.core.networks import Chain, get_chain
from tracer.core.protocols import HistoryChunk
from tracer.sources.history import HistoryService, tip_meta_key
from tracer.store import Store

ETH = Asset("ethereum", None, "ETH", 18)
THIEF = "0x" + "a1" * 20
MULE = "0x" + "b2" * 20
OTHER = "0x" + "c3" * 20


def synthetic_world(tip: int = 1000) -> list[Transfer]:
    """Synthetic transfers: THIEF pays MULE and OTHER every 10 blocks, with fees."""
    transfers = []
    for n, block in enumerate(range(5, tip + 1, 10)):
        tx_hash = f"0x{n + 1:064x}"
        receiver = MULE if n % 3 else OTHER
        for position, to, amount, kind in (
            (0, FEE_SINK, 21_000, TransferKind.FEE),
            (1, receiver, 10**18 + n, TransferKind.EXTERNAL),
        ):
            ts = 1_700_000_000 + block
            transfers.append(Transfer("ethereum", tx_hash, position, block, 0, ts, THIEF, to, ETH, amount, kind))
    return transfers


class FakeAdapter:
    """An in-memory AccountAdapter that counts and records every call."""

    source = "fake"

    def __init__(self, transfers: list[Transfer], tip: int = 1000) -> None:
        self.transfers = sorted(transfers, key=lambda t: t.order_key)
        self.tip = tip
        self.requests = 0
        self.calls: list[tuple[str, int, int, int | None]] = []

    def fetch_tip(self, chain: Chain) -> int:
        self.requests += 1
        self.calls.append(("tip", 0, 0, None))
        return self.tip

    def fetch_history(
        self, chain: Chain, address: str, *, start_block: int, end_block: int, max_rows: int | None = None
    ) -> HistoryChunk:
        self.requests += 1
        self.calls.append((address, start_block, end_block, max_rows))
        rows = [
            t
            for t in self.transfers
            if start_block <= t.block <= end_block and address in (t.sender, t.receiver) and t.chain == chain.slug
        ]
        if max_rows is not None and len(rows) > max_rows:
            last_full = rows[max_rows].block - 1  # the block of the first row left out is not held in full
            kept = tuple(t for t in rows if t.block <= last_full)
            return HistoryChunk(kept, start_block, last_full, complete=False)
        return HistoryChunk(tuple(rows), start_block, end_block)


def expected(address: str, start: int, end: int) -> list[Transfer]:
    return sorted(
        (t for t in synthetic_world() if start <= t.block <= end and address in (t.sender, t.receiver)),
        key=lambda t: t.order_key,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.sqlite3") as opened:
        yield opened


def test_fetches_only_missing_ranges(store: Store) -> None:
    adapter = FakeAdapter(synthetic_world())
    service = HistoryService(store, {"ethereum": adapter})
    first = service.history("ethereum", MULE, start_block=100, end_block=200)
    assert list(first.transfers) == expected(MULE, 100, 200) and first.complete
    assert adapter.calls == [(MULE, 100, 200, None)]
    wider = service.history(get_chain("ethereum"), MULE, start_block=50, end_block=300)
    assert list(wider.transfers) == expected(MULE, 50, 300)
    assert adapter.calls[1:] == [(MULE, 50, 99, None), (MULE, 201, 300, None)]
    service.history("ethereum", MULE, start_block=60, end_block=290)  # inside what is held
    assert len(adapter.calls) == 3 and service.requests == 3


def test_rerun_with_pinned_tip_makes_zero_requests_and_same_answer(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    with Store.open(path) as store:
        adapter = FakeAdapter(synthetic_world(), tip=1000)
        service = HistoryService(store, {"ethereum": adapter}, pin_key="case-1")
        first = [service.history("ethereum", a, start_block=0) for a in (THIEF, MULE)]
        assert adapter.requests == 3  # one tip, two histories
        assert store.read_meta(tip_meta_key("case-1", "ethereum")) == "1000"
    with Store.open(path) as store:
        adapter = FakeAdapter(synthetic_world(2000), tip=2000)  # the chain moved on; the trace stays pinned
        service = HistoryService(store, {"ethereum": adapter}, pin_key="case-1")
        again = [service.history("ethereum", a, start_block=0) for a in (THIEF, MULE)]
        assert adapter.requests == 0 and service.requests == 0
        assert again == first and again[0].end_block == 1000
        other_trace = HistoryService(store, {"ethereum": adapter}, pin_key="case-2")
        assert other_trace.tip("ethereum") == 2000 and adapter.requests == 1


def test_tip_without_pin_key_is_fetched_once_per_service(store: Store) -> None:
    adapter = FakeAdapter(synthetic_world(), tip=1000)
    service = HistoryService(store, {"ethereum": adapter})
    assert service.tip("ethereum") == service.tip("ethereum") == 1000
    assert adapter.requests == 1
    assert service.tip("ethereum", pin_key="x") == 1000 and store.read_meta("tip:x:ethereum") == "1000"


def test_offline_gap_names_chain_address_and_range(store: Store) -> None:
    adapter = FakeAdapter(synthetic_world())
    HistoryService(store, {"ethereum": adapter}).history("ethereum", MULE, start_block=100, end_block=200)
    offline = HistoryService(store, {"ethereum": adapter}, offline=True)
    assert list(offline.history("ethereum", MULE, start_block=120, end_block=180).transfers) == expected(MULE, 120, 180)
    with pytest.raises(OfflineGap) as info:
        offline.history("ethereum", MULE, start_block=0, end_block=300)
    message = str(info.value)
    assert "ethereum" in message and MULE in message and "0-99" in message and "201-300" in message
    assert info.value.exit_code == 4 and "\n" not in message
    assert adapter.requests == 1  # offline asked nothing


def test_offline_without_pinned_tip(store: Store) -> None:
    service = HistoryService(store, {"ethereum": FakeAdapter([])}, offline=True, pin_key="case-9")
    with pytest.raises(OfflineGap, match="no pinned ethereum chain tip for trace 'case-9'"):
        service.history("ethereum", MULE)


def test_partial_chunk_covers_only_what_it_read(store: Store) -> None:
    adapter = FakeAdapter(synthetic_world())
    service = HistoryService(store, {"ethereum": adapter})
    partial = service.history("ethereum", THIEF, start_block=0, end_block=1000, max_rows=7)
    assert not partial.complete and partial.end_block < 1000
    assert list(partial.transfers) == expected(THIEF, 0, partial.end_block)
    assert len(partial.transfers) <= 7
    assert store.missing_ranges("fake", "ethereum", THIEF, 0, 1000) == [(partial.end_block + 1, 1000)]
    rest = service.history("ethereum", THIEF, start_block=0, end_block=1000)
    assert rest.complete and list(rest.transfers) == expected(THIEF, 0, 1000)
    assert adapter.calls[-1] == (THIEF, partial.end_block + 1, 1000, None)


def test_row_budget_across_several_gaps(store: Store) -> None:
    adapter = FakeAdapter(synthetic_world())
    service = HistoryService(store, {"ethereum": adapter})
    service.history("ethereum", THIEF, start_block=100, end_block=200)
    chunk = service.history("ethereum", THIEF, start_block=0, end_block=400, max_rows=20)  # gap 0-99 holds 20 rows
    assert not chunk.complete and chunk.end_block == 200  # 0-99 fetched, 100-200 held, 201-400 not asked
    assert adapter.calls[-1] == (THIEF, 0, 99, 20)
    assert list(chunk.transfers) == expected(THIEF, 0, 200)


def test_unknown_chain_adapter(store: Store) -> None:
    service = HistoryService(store, {"ethereum": FakeAdapter([])})
    with pytest.raises(BadChain, match="no account-history source is configured for bsc"):
        service.history("bsc", MULE, end_block=10)


def test_empty_range(store: Store) -> None:
    adapter = FakeAdapter(synthetic_world())
    chunk = HistoryService(store, {"ethereum": adapter}).history("ethereum", MULE, start_block=50, end_block=40)
    assert chunk.transfers == () and adapter.requests == 0


# ---------------------------------------------------------------------- real HTTP on 127.0.0.1


class _CountingServer(ThreadingHTTPServer):
    requests_seen = 0


class _Handler(BaseHTTPRequestHandler):
    server: _CountingServer
    world = synthetic_world()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests_seen += 1
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/tip":
            payload: Any = 1000
        else:
            lo, hi, address = int(q["start"]), int(q["end"]), q["address"]
            payload = [
                [t.tx_hash, t.position, t.block, t.timestamp, t.sender, t.receiver, str(t.amount), t.kind.value]
                for t in self.world
                if lo <= t.block <= hi and address in (t.sender, t.receiver)
            ]
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TinyHttpAdapter:
    """A minimal AccountAdapter over HTTP (so this test does not depend on a real explorer client)."""

    source = "tiny-http"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.requests = 0

    def _get(self, path: str) -> Any:
        self.requests += 1
        with urllib.request.urlopen(self.base_url + path, timeout=10) as answer:
            return json.load(answer)

    def fetch_tip(self, chain: Chain) -> int:
        return int(self._get("/tip"))

    def fetch_history(
        self, chain: Chain, address: str, *, start_block: int, end_block: int, max_rows: int | None = None
    ) -> HistoryChunk:
        rows = self._get(f"/history?address={address}&start={start_block}&end={end_block}")
        transfers = tuple(
            Transfer(chain.slug, h, pos, block, 0, ts, s, r, ETH, int(amount), TransferKind(kind))
            for h, pos, block, ts, s, r, amount, kind in rows
        )
        return HistoryChunk(transfers, start_block, end_block)


@pytest.fixture
def tiny_server() -> Iterator[_CountingServer]:
    server = _CountingServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_second_run_makes_zero_requests_counted_by_the_server(tmp_path: Path, tiny_server: _CountingServer) -> None:
    base_url = f"http://127.0.0.1:{tiny_server.server_address[1]}"
    path = tmp_path / "store.sqlite3"
    answers = []
    for run in range(2):
        with Store.open(path) as store:
            service = HistoryService(store, {"ethereum": TinyHttpAdapter(base_url)}, pin_key="case-http")
            answers.append([service.history("ethereum", a, start_block=0) for a in (THIEF, MULE, OTHER)])
        if run == 0:
            assert tiny_server.requests_seen == 4  # the tip and three histories
    assert tiny_server.requests_seen == 4  # the second run asked nothing
    assert answers[0] == answers[1]
    assert list(answers[1][1].transfers) == expected(MULE, 0, 1000)


def test_second_run_makes_zero_requests_with_the_etherscan_adapter(tmp_path: Path) -> None:
    emulators = pytest.importorskip("chains.emulators.etherscan")
    etherscan = pytest.importorskip("chains.etherscan")
    world_module = pytest.importorskip("chains.emulators.world")
    world = world_module.EvmWorld(chain_id=1)
    world.add(
        world_module.WorldTx(f"0x{n + 1:064x}", 10 + n, 0, 1_700_000_000 + n, THIEF, MULE if n % 2 else OTHER, 10**17)
        for n in range(30)
    )
    path = tmp_path / "store.sqlite3"
    with emulators.EtherscanEmulator(world) as server:
        answers = []
        for _ in range(2):
            with Store.open(path) as store:
                adapter = etherscan.EtherscanAdapter(base_url=server.api_url, rate_per_s=None, archive=store)
                service = HistoryService(store, {"ethereum": adapter}, pin_key="case-etherscan")
                answers.append([service.history("ethereum", a, start_block=0) for a in (THIEF, MULE)])
            if len(answers) == 1:
                first_run = server.requests
                assert first_run > 0
        assert server.requests == first_run  # zero requests on the second run, counted by the server
    assert answers[0] == answers[1]
    assert len([t for t in answers[0][1].transfers if t.kind is TransferKind.EXTERNAL]) == 15
    with Store.open(path) as store:
        assert store.list_responses(source="etherscan")  # raw answers archived as evidence
