"""The export adapter honours `max_rows` as the RPC adapter does: whole blocks, `complete` False, the
rest read again later, never dropped (SYNTHETIC worlds written as ethereum-etl exports)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_etherscan_cap import TARGET, busy_world, movements
from bench.etl_export import write_etl_export
from chains.emulators.world import EvmWorld, WorldTokenTransfer, WorldTx
from chains.export.evm import ExportAdapter
from chains.export.evm_index import build_evm_index
from tracer.core.networks import get_chain
from tracer.sources.history import HistoryService
from tracer.store import Store

ETH = get_chain("ethereum")


def indexed(world: EvmWorld, folder: Path) -> ExportAdapter:
    export = write_etl_export(world, folder, fmt="parquet")
    build_evm_index(export, export / "heisttrace-index", progress=lambda _: None)
    return ExportAdapter(path=export)


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> ExportAdapter:
    """TARGET has 3,000 transfers (fees, values, internal calls, tokens) over ~1,000 blocks."""
    return indexed(busy_world(3_000, seed=11), tmp_path_factory.mktemp("busy") / "export")


def test_max_rows_reads_whole_blocks_and_resumes_to_the_same_history(busy: ExportAdapter) -> None:
    reader = busy
    tip = reader.fetch_tip(ETH)
    whole = reader.fetch_history(ETH, TARGET, start_block=0, end_block=tip)
    assert whole.complete and len(whole.transfers) == 3_000
    assert reader.fetch_history(ETH, TARGET, start_block=0, end_block=tip, max_rows=3_000) == whole
    parts, start = [], 0
    while True:
        chunk = reader.fetch_history(ETH, TARGET, start_block=start, end_block=tip, max_rows=500)
        expected = tuple(t for t in whole.transfers if start <= t.block <= chunk.end_block)
        assert chunk.start_block == start and chunk.transfers == expected
        parts.append(chunk)
        if chunk.complete:
            assert chunk.end_block == tip
            break
        assert len(chunk.transfers) <= 500 and not chunk.gaps
        # the cut is at a block boundary: the next block holds transfers that did not fit
        assert any(t.block == chunk.end_block + 1 for t in whole.transfers)
        start = chunk.end_block + 1
    assert len(parts) >= 6 and all(len(p.transfers) > 400 for p in parts[:-1])
    resumed = [t for p in parts for t in p.transfers]
    assert movements(resumed) == movements(whole.transfers)
    assert [t.order_key for t in resumed] == [t.order_key for t in whole.transfers]


def test_a_block_over_the_budget_is_kept_whole(tmp_path: Path) -> None:
    world = EvmWorld(chain_id=1)
    token, sender = "0x" + "70" * 20, "0x" + "11" * 20
    transfers = tuple(WorldTokenTransfer(token, sender, TARGET, 1 + i, i, "TKN", "T", 6) for i in range(1_200))
    world.add([WorldTx("0x" + "ee" * 32, 10, 0, 1000, sender, token, 0, tokens=transfers)])
    world.add([WorldTx("0x" + "ef" * 32, 11, 0, 1012, sender, TARGET, 5)])
    reader = indexed(world, tmp_path / "export")
    chunk = reader.fetch_history(ETH, TARGET, start_block=0, end_block=20, max_rows=1_000)
    assert (chunk.end_block, chunk.complete, len(chunk.transfers)) == (10, False, 1_200)
    rest = reader.fetch_history(ETH, TARGET, start_block=11, end_block=20, max_rows=1_000)
    assert rest.complete and [t.amount for t in rest.transfers] == [5]


def test_the_history_service_marks_only_what_was_read_as_covered(busy: ExportAdapter, tmp_path: Path) -> None:
    reader = busy
    tip = reader.fetch_tip(ETH)
    whole = reader.fetch_history(ETH, TARGET, start_block=0, end_block=tip)
    with Store.open(tmp_path / "store.sqlite3") as store:
        service = HistoryService(store, {"ethereum": reader})
        probe = service.history("ethereum", TARGET, start_block=0, end_block=tip, max_rows=500)
        assert not probe.complete and probe.end_block < tip and 0 < len(probe.transfers) <= 500
        assert store.missing_ranges("export", "ethereum", TARGET, 0, tip) == [(probe.end_block + 1, tip)]
        full = service.history("ethereum", TARGET, start_block=0, end_block=tip)
    assert full.complete and movements(full.transfers) == movements(whole.transfers)


def test_rows_that_make_no_transfer_do_not_shorten_the_prefix(tmp_path: Path) -> None:
    """Zero-value transactions received are index rows without transfers: the budget counts transfers."""
    world = EvmWorld(chain_id=1)
    sender = "0x" + "11" * 20
    zero = [WorldTx(f"0x{n:064x}", n, 0, 1000 + n, sender, TARGET, 0) for n in range(1, 51)]
    paid = [WorldTx(f"0x{n:064x}", n, 0, 1000 + n, sender, TARGET, n) for n in range(51, 81)]
    world.add(zero + paid)
    reader = indexed(world, tmp_path / "export")
    whole = reader.fetch_history(ETH, TARGET, start_block=0, end_block=100)
    assert [t.amount for t in whole.transfers] == list(range(51, 81))
    chunk = reader.fetch_history(ETH, TARGET, start_block=0, end_block=100, max_rows=10)
    assert (chunk.end_block, chunk.complete) == (60, False) and chunk.transfers == whole.transfers[:10]
