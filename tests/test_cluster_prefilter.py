"""The cluster job's shortcuts give exactly the record-by-record answer. SYNTHETIC data throughout.

- every transaction a CoinJoin detector flags passes :func:`heuristics.coinjoin.may_be_coinjoin`;
- the local engine's polars columns (and Spark's, in test_cluster_export.py) evaluate exactly it;
- the input addresses the engines read (each listed address once) are the ones `part_address` gives;
- the column path of the local engine equals the record path (every row through `raw_to_tx`).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bench.btc_export import synthetic_address
from chains.export.bitcoin import part_address, scan_raw
from heuristics.coinjoin import detect_coinjoin, may_be_coinjoin
from tracer.cluster.columns import columnar, input_keys, may_be_coinjoin_expr, own
from tracer.cluster.local import InputAddresses, _read_columns, _read_rows, local_components
from tracer.core.models import TxInput, TxOutput, UtxoTx

POOL = [synthetic_address(f"prefilter-{n}") for n in range(70)]
#: output values that make every pattern reachable: Whirlpool pools, ~0.1 BTC × 2^k, repeats
VALUES = st.one_of(
    st.sampled_from([0, 5_000, 100_000, 1_000_000, 10_000_000, 10_400_000, 20_000_000, 50_000_000]),
    st.integers(-5, 3 * 10**8),
)


def utxo_tx(inputs: list[tuple[int | None, int]], outputs: list[tuple[int | None, int]]) -> UtxoTx:
    ins = tuple(TxInput(f"{n:064x}", 0, None if a is None else POOL[a], v) for n, (a, v) in enumerate(inputs))
    outs = tuple(TxOutput(n, None if a is None else POOL[a], v, "v0_p2wpkh") for n, (a, v) in enumerate(outputs))
    return UtxoTx("bitcoin", "ab" * 32, 800_000, None, ins, outs, 0)


owner = st.one_of(st.none(), st.integers(0, len(POOL) - 1))
big = st.integers(0, 10**9)
WHIRLPOOL = ([(n, 1_100_000) for n in range(5)], [(10 + n, 1_000_000) for n in range(5)])
WASABI1 = ([(n, 11_000_000) for n in range(12)], [(20 + n, 10_100_000) for n in range(11)])
WASABI2 = ([(n, 9_000_000) for n in range(55)], [(n, v) for n in range(3) for v in (5_000, 6_000, 7_000)])
GENERIC = ([(1, 3_000_000), (2, 3_000_000)], [(3, 2_000_000), (4, 2_000_000), (5, 900_000)])


@settings(max_examples=400, deadline=None)
@given(
    inputs=st.lists(st.tuples(owner, big), min_size=1, max_size=60),
    outputs=st.lists(st.tuples(owner, VALUES), max_size=60),
)
@example(*WHIRLPOOL)
@example(*WASABI1)
@example(*WASABI2)
@example(*GENERIC)
def test_every_detected_coinjoin_passes_the_prefilter(inputs, outputs) -> None:
    tx = utxo_tx(inputs, outputs)
    if detect_coinjoin(tx) is not None:
        assert may_be_coinjoin(len(tx.inputs), [o.value for o in tx.outputs])


def test_each_pattern_is_detected_and_passes() -> None:
    for (inputs, outputs), pattern in zip(
        (WHIRLPOOL, WASABI1, WASABI2, GENERIC), ("whirlpool", "wasabi-1", "wasabi-2", "generic"), strict=True
    ):
        tx = utxo_tx(inputs, outputs)
        found = detect_coinjoin(tx)
        assert found is not None and found.pattern == pattern
        assert may_be_coinjoin(len(tx.inputs), [o.value for o in tx.outputs])
    assert not may_be_coinjoin(3, [5_000, 5_000])  # two outputs: no detector
    assert not may_be_coinjoin(3, [5_000, 6_000, 7_000])  # all different
    assert not may_be_coinjoin(1, [5_000, 5_000, 5_000])  # one input
    assert not may_be_coinjoin(3, [0, 0, 0, 5_000])  # zero values are no outputs a detector counts


INPUTS_DTYPE = pl.List(pl.Struct({"addresses": pl.List(pl.String), "type": pl.String, "script_hex": pl.String}))
OUTPUTS_DTYPE = pl.List(pl.Struct({"value": pl.Int64}))


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 4)),
            st.one_of(st.none(), st.lists(st.one_of(st.none(), VALUES), max_size=8)),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_polars_prefilter_is_the_function(rows) -> None:
    inputs = [None if n is None else [{"addresses": [POOL[k]], "type": "", "script_hex": ""} for k in range(n)]
              for n, _ in rows]  # fmt: skip
    outputs = [None if vs is None else [{"value": v} for v in vs] for _, vs in rows]
    frame = pl.DataFrame({"inputs": inputs, "outputs": outputs}, schema={"inputs": INPUTS_DTYPE,
                                                                          "outputs": OUTPUTS_DTYPE})  # fmt: skip
    got = frame.select(may_be_coinjoin_expr()).to_series().to_list()
    want = [may_be_coinjoin(n or 0, [v or 0 for v in vs or []]) for n, vs in rows]
    assert got == want


P2PK = "41" + "04" + "11" * 64 + "ac"
ODD_ADDRESSES = [
    POOL[0], POOL[1].upper(), " " + POOL[2], POOL[3][:-1] + "x", "nonstandard9f", "",
    "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    "script-" + "a" * 64, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
]  # fmt: skip
PARTS = st.fixed_dictionaries(
    {
        "addresses": st.one_of(
            st.none(),
            st.lists(
                st.sampled_from(ODD_ADDRESSES),
                max_size=2,
            ),
        ),
        "type": st.sampled_from([None, "", "nulldata", "pubkey", "witness_v0_keyhash", "nonstandard"]),
        "script_hex": st.sampled_from([None, "", P2PK, "6a0401020304", "zz", "51"]),
    }
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(PARTS, min_size=1, max_size=12), chunk=st.integers(1, 12))
def test_input_addresses_are_part_addresses(parts, chunk) -> None:
    """One input per row, fed in chunks: each listed address is checked once, the address is part_address's."""
    batch = pl.DataFrame(
        {"hash": ["cd" * 32] * len(parts), "inputs": [[p] for p in parts], "outputs": [[{"value": 1}]] * len(parts)},
        schema={"hash": pl.String, "inputs": INPUTS_DTYPE, "outputs": OUTPUTS_DTYPE},
    )
    keys = input_keys(batch, 100)
    assert keys["row"].to_list() == list(range(100, 100 + len(parts)))
    reader = InputAddresses("bitcoin")
    for start in range(0, keys.height, chunk):
        reader.add(keys.slice(start, chunk).select("row", "candidate", own("first"), own("kind"), own("script")))
    got = dict(reader.addresses().select("row", "address").rows())
    want = {100 + n: part_address("bitcoin", part) for n, part in enumerate(parts)}
    assert got == {n: a for n, a in want.items() if a is not None}
    assert reader.known["first"].is_unique().all()


def _row(txid: str, inputs: list[dict], outputs: list[dict], *, coinbase: bool = False) -> dict:
    return {"hash": txid, "block_number": 5, "is_coinbase": coinbase, "fee": 0, "lock_time": 0, "version": 2,
            "inputs": inputs, "outputs": outputs}  # fmt: skip


def _in(n: int, address: str | None = None, *, script: str = "", kind: str = "witness_v0_keyhash") -> dict:
    listed = [] if address is None else [address]
    return {"index": n, "spent_transaction_hash": f"{n + 1:064x}", "spent_output_index": 0, "type": kind,
            "addresses": listed, "value": 1_000_000 + n, "script_hex": script}  # fmt: skip


def _out(n: int, value: int, address: str | None = None) -> dict:
    return {"index": n, "type": "witness_v0_keyhash", "addresses": [address or synthetic_address(f"o{n}-{value}")],
            "value": value, "script_hex": ""}  # fmt: skip


def tricky_rows() -> list[dict]:
    """Single spenders, a coinbase, script-only inputs, an invalid address, a duplicated row, CoinJoins and a
    payout with repeated outputs that is no CoinJoin (a candidate that links)."""
    a = POOL
    mix = [_in(k, a[10 + k]) for k in range(5)]
    return [
        _row("AA" * 32, [_in(0, a[0])], [_out(0, 5)]),  # spends alone: its own cluster
        _row("ab" * 32, [_in(0)], [_out(0, 50)], coinbase=True),
        _row(" ac" + "ac" * 31 + " ", [_in(0, a[1]), _in(1, a[2].upper()), _in(2, a[1])], [_out(0, 7), _out(1, 8)]),
        _row("ad" * 32, [_in(0, script=P2PK, kind="pubkey"), _in(1, a[3])], [_out(0, 9)]),
        _row("ae" * 32, [_in(0, a[4][:-1] + "q"), _in(1, a[5]), _in(2, "nonstandard77", script="51")], [_out(0, 3)]),
        _row("ae" * 32, [_in(0, a[4][:-1] + "q"), _in(1, a[5]), _in(2, "nonstandard77", script="51")], [_out(0, 3)]),
        _row("af" * 32, mix, [_out(k, 1_000_000) for k in range(5)]),  # Whirlpool
        _row("b0" * 32, [_in(0, a[20]), _in(1, a[21])], [_out(0, 700), _out(1, 700), _out(2, 900)]),  # generic
        _row("b1" * 32, [_in(0, a[22]), _in(1, a[22])], [_out(0, 700), _out(1, 700), _out(2, 900)]),  # one owner
        _row("b2" * 32, [_in(k, a[30 + k]) for k in range(2)], [_out(k, 600) for k in range(6)]),  # a payout
        _row("b3" * 32, [_in(0, a[30]), _in(1, a[0])], [_out(0, 1), _out(1, 2)]),
    ]


def write_tricky(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transactions.json").write_text("".join(json.dumps(r) + "\n" for r in tricky_rows()), encoding="utf-8")
    return folder


def test_columns_give_the_record_by_record_answer(tmp_path: Path) -> None:
    raw = scan_raw(write_tricky(tmp_path / "export"))
    assert columnar(raw.collect_schema())
    quiet = lambda _: None  # noqa: E731
    by_columns, spent_c = _read_columns(raw, quiet, "bitcoin")
    by_rows, spent_r = _read_rows(raw, quiet, "bitcoin")
    assert sorted(set(by_columns.rows())) == sorted(set(by_rows.rows()))
    assert set(spent_c) == set(spent_r)
    parts = local_components(tmp_path / "export", progress=quiet)
    members = dict(parts.members.rows())
    assert members[POOL[0]] == members[POOL[30]] == min(POOL[0], POOL[30])  # joined by b3
    assert members[POOL[1]] == members[POOL[2]] == min(POOL[1], POOL[2])  # case and duplicates normalised
    assert all(members[POOL[10 + k]] == POOL[10 + k] for k in range(5))  # CoinJoin inputs: their own clusters
    assert members[POOL[22]] == POOL[22] and members[POOL[20]] != members[POOL[21]]
    assert set(parts.coinjoins["txid"]) == {"af" * 32, "b0" * 32}
    assert members[POOL[31]] == members[POOL[0]]  # b2: a candidate (repeated outputs) that is no CoinJoin links
    assert ("ac" * 32, min(POOL[1], POOL[2]), max(POOL[1], POOL[2])) in set(parts.links.rows())
    assert parts.links.filter(pl.col("txid") == "ae" * 32).height == 1  # the duplicated row links once
