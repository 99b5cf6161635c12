"""Path extraction and swap detection on a small hand-written (synthetic) bundle with known answers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.report_fixtures import (
    ADDRESSES,
    ENDPOINTS,
    EX,
    EXT,
    MX,
    SUMMARY,
    USDT,
    A,
    B,
    C,
    R,
    S,
    write_hand_bundle,
    write_synthetic_bundle,
    write_tiny_bundle,
)
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
    # S→A carries 60 ETH; A swaps 30 of them for all 54,000 USDT, which reach the mixer: 100% of USDT
    assert to_mixer.nodes == (("ethereum", S), ("ethereum", A), ("ethereum", C), ("ethereum", MX))
    assert to_mixer.width == Decimal(1)
    assert [h.amounts() for h in to_mixer.hops] == [
        {"ethereum:native": Decimal(60)},
        {f"ethereum:{USDT}": Decimal(54000)},
        {f"ethereum:{USDT}": Decimal(54000)},
    ]
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


def test_path_amounts_are_what_flowed_along_the_path_in_time_order(tmp_path: Path) -> None:
    """B's 10 ETH to the exchange left before S paid B: not part of the S → B → EX path. Only what B
    received over the path and sent on later counts, never more than arrived (synthetic rows)."""
    flows = [
        ("0x01", 1, 1, "2023-06-03T00:00:00Z", EXT, S, "ETH", "native", "100", "100", 0),
        ("0x02", 1, 2, "2023-06-03T00:30:00Z", B, EX, "ETH", "native", "10", "10", 2),  # before B had taint
        ("0x03", 1, 3, "2023-06-03T01:00:00Z", S, B, "ETH", "native", "40", "40", 1),
        ("0x04", 1, 4, "2023-06-03T02:00:00Z", B, EX, "ETH", "native", "25", "25", 2),
        ("0x05", 1, 5, "2023-06-03T03:00:00Z", B, EX, "ETH", "native", "30", "30", 2),  # only 15 left to carry
        ("0x06", 1, 6, "2023-06-03T04:00:00Z", S, A, "ETH", "native", "5", "5", 1),
        ("0x07", 1, 7, "2023-06-03T00:10:00Z", A, MX, "ETH", "native", "5", "5", 2),  # before A was paid
    ]
    addresses = [
        (S, "seed", "hacker", "Thief", "case-file", 0, "100", "ethereum:native"),
        (A, "transit", "", "", "", 1, "5", "ethereum:native"),
        (B, "transit", "", "", "", 1, "40", "ethereum:native"),
        (EX, "endpoint", "exchange", "Exchange", "labels", 2, "65", "ethereum:native"),
        (MX, "endpoint", "mixer", "Mixer", "labels", 2, "5", "ethereum:native"),
    ]
    endpoints = [
        (EX, "exchange", "Exchange", "labels", "ethereum:native", "65", "2023-06-03T00:30:00Z", "0x02"),
        (MX, "mixer", "Mixer", "labels", "ethereum:native", "5", "2023-06-03T00:10:00Z", "0x07"),
    ]
    flows.sort(key=lambda row: row[3])  # flows.csv is written in canonical (time) order
    case = analyse_bundle(read_bundle(write_hand_bundle(tmp_path / "b", flows, addresses, endpoints, SUMMARY)))
    assert [p.target for p in case.paths] == [("ethereum", EX)]  # nothing reaches the mixer after A was paid
    (path,) = case.paths
    assert path.nodes == (("ethereum", S), ("ethereum", B), ("ethereum", EX))
    assert [h.amounts() for h in path.hops] == [{"ethereum:native": Decimal(40)}, {"ethereum:native": Decimal(40)}]
    assert [f.tx_hash for f in path.hops[1].flows] == ["0x04", "0x05"]
    assert path.hops[1].carried == (Decimal(25), Decimal(15))
    assert path.width == Decimal("0.4")
    times = [f.timestamp for hop in path.hops for f in hop.flows]
    assert times == sorted(times)
    assert ADDRESSES and ENDPOINTS  # the tiny fixture's rows are unchanged
