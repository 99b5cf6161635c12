"""Path extraction and swap detection on a small hand-written (synthetic) bundle with known answers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.report_fixtures import EX, EXT, MX, USDT, A, B, C, R, S, write_synthetic_bundle, write_tiny_bundle
from tracer.core.errors import BadInput
from tracer.report.analysis import extract_swaps, find_address, summarize_addresses
from tracer.report.bundle import read_bundle
from tracer.report.casefile import analyse_bundle
from tracer.report.paths import extract_paths


@pytest.fixture
def tiny(tmp_path: Path):
    return analyse_bundle(read_bundle(write_tiny_bundle(tmp_path / "tiny")))


def test_swap_is_detected_in_one_transaction(tiny) -> None:
    swaps = extract_swaps(tiny.bundle.flows)
    assert len(swaps) == 1
    swap = swaps[0]
    assert (swap.address, swap.tx_hash, swap.asset_out, swap.asset_in) == (
        A,
        "0x05",
        "ethereum:native",
        f"ethereum:{USDT}",
    )
    assert (swap.tainted_out, swap.tainted_in, swap.counterparty) == (Decimal(30), Decimal(54000), R)


def test_widest_paths_to_endpoints(tiny) -> None:
    paths = tiny.paths
    assert [p.target for p in paths] == [("ethereum", MX), ("ethereum", EX)]
    to_mixer, to_exchange = paths
    # S→A carries 60% of ETH; A→C carries 100% of USDT; bottleneck = 60%
    assert to_mixer.nodes == (("ethereum", S), ("ethereum", A), ("ethereum", C), ("ethereum", MX))
    assert to_mixer.width == Decimal("0.6")
    assert to_mixer.assets == ["ethereum:native", f"ethereum:{USDT}"]
    assert len(to_mixer.swaps) == 1 and to_mixer.swaps[0].tx_hash == "0x05"
    # to the exchange: via A (min(60%, 30%)) beats via B (min(40%, 10%))
    assert to_exchange.nodes == (("ethereum", S), ("ethereum", A), ("ethereum", EX))
    assert to_exchange.width == Decimal("0.3") and not to_exchange.swaps
    assert to_exchange.hops[1].amounts() == {"ethereum:native": Decimal(30)}


def test_paths_never_cross_a_swap_pool(tiny) -> None:
    for path in extract_paths(tiny.bundle, tiny.views, limit=100, targets=list(tiny.views)):
        assert ("ethereum", R) not in path.nodes


def test_onward_paths_and_deterministic_order(tiny) -> None:
    onward = extract_paths(tiny.bundle, tiny.views, sources=[("ethereum", B)], limit=5)
    assert [p.nodes for p in onward] == [(("ethereum", B), ("ethereum", EX))]
    again = analyse_bundle(tiny.bundle)
    assert [p.nodes for p in again.paths] == [p.nodes for p in tiny.paths]


def test_address_views(tiny) -> None:
    views = summarize_addresses(tiny.bundle)
    a = views[("ethereum", A)]
    assert a.tainted_in == {"ethereum:native": Decimal(60), f"ethereum:{USDT}": Decimal(54000)}
    assert a.tainted_out == {"ethereum:native": Decimal(60), f"ethereum:{USDT}": Decimal(54000)}
    assert set(a.receivers) == {("ethereum", EX), ("ethereum", R), ("ethereum", C)}
    assert views[("ethereum", EXT)].role == "external"  # the victim only sends
    assert views[("ethereum", B)].tainted_out == {"ethereum:native": Decimal(10)}  # the fee is not a counterparty
    assert find_address(views, A.upper().replace("0X", "0x")).address == A
    assert find_address(views, f"ethereum:{A}").address == A
    with pytest.raises(BadInput, match="not an address of this trace"):
        find_address(views, "0x" + "9" * 40)


def test_every_endpoint_of_a_large_trace_is_reached_and_paths_are_simple(tmp_path: Path) -> None:
    case = analyse_bundle(read_bundle(write_synthetic_bundle(tmp_path / "big", addresses=400)))
    everything = extract_paths(case.bundle, case.views, limit=10_000, graph=case.graph)
    reached = {p.target for p in everything}
    endpoints = {(e.chain, e.address) for e in case.endpoints}
    assert reached == endpoints
    for path in everything:
        assert len(set(path.nodes)) == len(path.nodes)
        assert path.source in case.bundle.seeds
        assert all(h.receiver == path.nodes[i + 1] for i, h in enumerate(path.hops))
    widths = [p.width for p in everything]
    assert widths == sorted(widths, reverse=True)
    assert any(p.swaps for p in everything)  # the fixture swaps ETH for USDT on some routes
