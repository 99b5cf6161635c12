"""Build the index of a bitcoin-etl / BigQuery `crypto_bitcoin` export (transactions with inputs and outputs).

The rows are read in streaming batches and mapped by :func:`chains.export.bitcoin.raw_to_tx`
(the one reading of such a row), then written as three bucketed, sorted tables (see
:mod:`chains.export.layout`): `utx/` each transaction by txid (its inputs and outputs
nested), `addr/` (address, block, position, txid) for every address an input or output
names, `spends/` (spent txid, output, spending txid) for who spent each output.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from chains.export.bitcoin import raw_to_tx, scan_raw
from chains.export.evm_index import _export_bytes, _sort_buckets, partition_to
from chains.export.layout import key_chars_for, write_manifest
from tracer.core.errors import BadInput

INPUTS = pl.List(
    pl.Struct(
        {"prev_txid": pl.String, "prev_vout": pl.Int64, "address": pl.String, "value": pl.Int64, "coinbase": pl.Boolean}
    )
)
OUTPUTS = pl.List(pl.Struct({"index": pl.Int64, "address": pl.String, "value": pl.Int64, "script_type": pl.String}))
TX_SCHEMA = {
    "txid": pl.String, "block": pl.Int64, "position": pl.Int64, "timestamp": pl.Int64, "fee": pl.Int64,
    "locktime": pl.Int64, "version": pl.Int64, "inputs": INPUTS, "outputs": OUTPUTS,
}  # fmt: skip


def _batch_frames(rows: list[dict[str, Any]], chain: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    txs, addrs, spends = [], [], []
    for row in rows:
        tx = raw_to_tx(row, chain)
        position = int(row.get("index") or 0) if str(row.get("index") or "0").isdigit() else 0
        txs.append(
            {
                "txid": tx.txid, "block": tx.block, "position": position, "timestamp": tx.timestamp, "fee": tx.fee,
                "locktime": tx.locktime, "version": tx.version,
                "inputs": [
                    {"prev_txid": i.prev_txid, "prev_vout": i.prev_vout, "address": i.address, "value": i.value,
                     "coinbase": i.coinbase}
                    for i in tx.inputs
                ],
                "outputs": [
                    {"index": o.index, "address": o.address, "value": o.value, "script_type": o.script_type}
                    for o in tx.outputs
                ],
            }
        )  # fmt: skip
        touched = {i.address for i in tx.inputs if i.address} | {o.address for o in tx.outputs if o.address}
        addrs.extend((a, tx.block, position, tx.txid) for a in touched)
        spends.extend((i.prev_txid, i.prev_vout, tx.txid) for i in tx.inputs if i.prev_txid is not None)
    return (
        pl.DataFrame(txs, schema=TX_SCHEMA),
        pl.DataFrame(addrs, schema={"address": pl.String, "block": pl.Int64, "position": pl.Int64, "txid": pl.String},
                     orient="row"),
        pl.DataFrame(spends, schema={"prev_txid": pl.String, "prev_vout": pl.Int64, "txid": pl.String}, orient="row"),
    )  # fmt: skip


def build_utxo_index(
    export_dir: Path,
    index_dir: Path,
    *,
    chain: str = "bitcoin",
    key_chars: int | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Index the bitcoin-etl export in `export_dir` into `index_dir` (replaced when present)."""
    started = time.perf_counter()
    key_chars = key_chars or key_chars_for(_export_bytes(export_dir))
    tmp = index_dir.with_name(index_dir.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    for name in ("utx", "addr", "spends"):
        (tmp / f"{name}-batches").mkdir(parents=True)
    seen = 0
    try:
        for n, batch in enumerate(scan_raw(export_dir).collect_batches()):
            for name, frame in zip(("utx", "addr", "spends"), _batch_frames(batch.to_dicts(), chain), strict=True):
                frame.write_parquet(tmp / f"{name}-batches" / f"{n:06d}.parquet")
            seen += batch.height
            progress(f"  read {seen:,} transactions")
    except pl.exceptions.PolarsError as exc:
        raise BadInput(f"{export_dir}: cannot read the transactions ({str(exc).splitlines()[0]})") from None
    counts = {}
    for name, key, order in (
        ("utx", "txid", ("txid",)),
        ("addr", "address", ("address", "block", "position", "txid")),
        ("spends", "prev_txid", ("prev_txid", "prev_vout")),
    ):
        files = sorted((tmp / f"{name}-batches").glob("*.parquet"))
        if files:
            partition_to(pl.scan_parquet(files), tmp / f"{name}-staging", key=key, key_chars=key_chars)
            counts[name] = _sort_buckets([tmp / f"{name}-staging"], tmp / name, order, progress)
            shutil.rmtree(tmp / f"{name}-staging")
        else:
            (tmp / name).mkdir()
            counts[name] = 0
        shutil.rmtree(tmp / f"{name}-batches")
    tip = 0
    if counts["utx"]:
        tip = int(
            pl.scan_parquet(sorted((tmp / "utx").glob("*.parquet"))).select(pl.col("block").max()).collect().item() or 0
        )
    seconds = round(time.perf_counter() - started, 2)
    write_manifest(tmp, family="utxo", chain=chain, key_chars=key_chars, tip=tip, **counts)
    if index_dir.exists():
        shutil.rmtree(index_dir)
    tmp.rename(index_dir)
    return {"family": "utxo", "transactions": counts["utx"], "address_rows": counts["addr"], "tip": tip,
            "seconds": seconds}  # fmt: skip
