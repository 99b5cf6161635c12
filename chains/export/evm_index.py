"""Build the index of an ethereum-etl / BigQuery `crypto_ethereum` export (polars, streaming).

Tables read (see :mod:`chains.export.tables` for files and folders of parts):

- `transactions` (required): `hash, block_number, transaction_index, from_address, to_address,
  value, gas_price` and the receipt columns BigQuery carries (`receipt_gas_used,
  receipt_status, receipt_contract_address, receipt_effective_gas_price`); an ethereum-etl CLI
  export without them needs its `receipts` table (`transaction_hash, gas_used, status,
  contract_address, effective_gas_price`) beside it (joined one transaction bucket at a time).
  Time from `block_timestamp`, else `blocks`.
- `traces` (optional): value-moving calls below the top level (`trace_address` not empty,
  `value > 0`, no delegatecall / staticcall / callcode) become internal transfers with the
  trace's `status`; `genesis` traces become genesis allocations. Block rewards are not
  transfers in explorer histories either and are left out.
- `token_transfers` (optional): `token_address, from_address, to_address, value,
  transaction_hash, log_index, block_number`; their block, transaction index and time come
  from `transactions` (joined one transaction bucket at a time).
- `tokens` (optional): `address, symbol, decimals` (without it tokens show no symbol and
  amounts stay in base units, decimals 0).
- `blocks` (optional): `number, timestamp`.

Output (see :mod:`chains.export.layout`): `items` are the transfer candidates (one per
transaction, internal call, token transfer); `addr/` holds each item once per party it
touches, keyed by that address; `tx/` each item once, keyed by its transaction hash. Items are
partitioned by transaction bucket; each such bucket is joined, sorted and partitioned by address;
each address bucket is sorted on its own: memory stays bounded by one bucket and the partition
buffers, whatever the export's size (see :func:`build_evm_index`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from chains.export import tables as t
from chains.export.layout import (
    INDEX_DIRNAME,
    ROW_GROUP,
    SLICE_ROWS,
    Partitioner,
    key_chars_for,
    read_slices,
    scan_bucket,
    sort_buckets,
    staged_buckets,
    write_manifest,
)
from tracer.core.addresses import GENESIS
from tracer.core.errors import BadInput

KIND_TX, KIND_INTERNAL, KIND_TOKEN, KIND_GENESIS = 0, 1, 2, 3
NO_VALUE_CALLS = ("delegatecall", "staticcall", "callcode")
ITEM_COLUMNS = (
    "block", "tx_index", "tx_hash", "kind", "seq", "timestamp", "sender", "receiver", "value", "token",
    "success", "gas_used", "gas_price",
)  # fmt: skip


def _block_times(export_dir: Path, txs: pl.LazyFrame, schema: dict[str, Any]) -> pl.LazyFrame:
    """Block number and time, from `blocks` or the transactions' `block_timestamp`, read once into memory.

    A block is 16 bytes here; joined as a lazy scan instead, polars' streaming join held the whole
    other side (every transaction, every trace).
    """
    blocks = t.scan_table(export_dir, "blocks", required=False)
    if blocks is not None:
        bs = t.columns(blocks)
        t.require(bs, "blocks", "number", "timestamp")
        times = blocks.select(block=t.integer("number", bs), timestamp=t.unix_seconds("timestamp", bs)).unique("block")
    elif "block_timestamp" not in schema:
        raise BadInput(f"{export_dir}: transactions have no block_timestamp and there is no blocks table")
    else:
        times = (
            txs.select(block=t.integer("block_number", schema), timestamp=t.unix_seconds("block_timestamp", schema))
            .group_by("block")
            .agg(pl.col("timestamp").min())
        )
    try:
        return times.collect().lazy()
    except pl.exceptions.PolarsError as exc:
        raise BadInput(f"{export_dir}: cannot read the block times ({str(exc).splitlines()[0]})") from None


def _receipt_fields(prefix: str, s: dict[str, pl.DataType]) -> dict[str, pl.Expr]:
    """The receipt's fields, from columns named with `prefix` (BigQuery's "receipt_", ethereum-etl's "")."""
    return {
        "gas_used": t.text(f"{prefix}gas_used", s),
        "status": t.integer(f"{prefix}status", s),
        "created": t.lower(f"{prefix}contract_address", s),
        "effective": t.text(f"{prefix}effective_gas_price", s),
    }


def _transactions(export_dir: Path) -> tuple[pl.LazyFrame, pl.LazyFrame | None, pl.LazyFrame]:
    """Normalised transactions with time; their receipts when a table of their own (else None: the
    receipt fields are columns of the transactions, as BigQuery has them); block times."""
    raw = t.scan_table(export_dir, "transactions")
    assert raw is not None
    s = t.columns(raw)
    t.require(s, "transactions", "hash", "block_number", "transaction_index", "from_address", "to_address", "value")
    base = raw.select(
        tx_hash=t.lower("hash", s),
        block=t.integer("block_number", s),
        tx_index=t.integer("transaction_index", s),
        sender=t.lower("from_address", s),
        to=t.lower("to_address", s),
        value=t.text("value", s),
        gas_price=t.text("gas_price", s),
        **(_receipt_fields("receipt_", s) if "receipt_gas_used" in s else {}),
        **({"ts": t.unix_seconds("block_timestamp", s)} if "block_timestamp" in s else {}),
    )
    receipts = None
    if "receipt_gas_used" not in s:
        table = t.scan_table(export_dir, "receipts", required=False)
        if table is None:
            raise BadInput(
                f"{export_dir}: transactions carry no receipt_* columns and there is no receipts table"
                " (export receipts with ethereum-etl, or use BigQuery's transactions table)"
            )
        rs = t.columns(table)
        t.require(rs, "receipts", "transaction_hash", "gas_used", "status")
        receipts = table.select(tx_hash=t.lower("transaction_hash", rs), **_receipt_fields("", rs))
    times = _block_times(export_dir, raw, s)
    if "ts" in base.collect_schema():
        base = base.rename({"ts": "timestamp"})
    else:
        base = base.join(times, on="block", how="left")
    return base, receipts, times


def _receipted(txs: pl.LazyFrame, receipts: pl.LazyFrame | None) -> pl.LazyFrame:
    """Transactions with their receipt fields (`receipts` joined when a table of their own) and the price paid."""
    if receipts is not None:
        txs = txs.join(receipts, on="tx_hash", how="left")
    price = pl.coalesce(t.empty_null(pl.col("effective")), pl.col("gas_price"))
    return txs.with_columns(gas_price=price).drop("effective")


def _tx_items(txs: pl.LazyFrame) -> pl.LazyFrame:
    return txs.select(
        "block", "tx_index", "tx_hash",
        kind=pl.lit(KIND_TX, dtype=pl.Int8), seq=pl.lit("", dtype=pl.String), timestamp="timestamp",
        sender="sender", receiver=pl.coalesce("to", "created"), value="value", token=pl.lit(None, dtype=pl.String),
        # pre-Byzantium receipts have no status: successful unless the trace says otherwise (not read here)
        success=pl.col("status").fill_null(1) == 1, gas_used="gas_used", gas_price="gas_price",
        created="created",
    )  # fmt: skip


def _trace_items(export_dir: Path, times: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame] | None:
    traces = t.scan_table(export_dir, "traces", required=False)
    if traces is None:
        return None
    s = t.columns(traces)
    t.require(s, "traces", "transaction_hash", "block_number", "from_address", "to_address", "value", "trace_address")
    frame = traces.select(
        tx_hash=t.lower("transaction_hash", s),
        block=t.integer("block_number", s),
        tx_index=t.integer("transaction_index", s),
        sender=t.lower("from_address", s),
        receiver=t.lower("to_address", s),
        value=t.text("value", s),
        trace_type=t.text("trace_type", s).str.to_lowercase(),
        call_type=t.text("call_type", s).str.to_lowercase(),
        seq=t.text("trace_address", s).fill_null(""),
        status=t.integer("status", s),
    ).join(times, on="block", how="left")
    moves = (pl.col("value").is_not_null()) & (pl.col("value") != "0") & (pl.col("value") != "")
    internal = frame.filter(
        (pl.col("seq") != "")
        & moves
        & pl.col("trace_type").fill_null("call").is_in(["call", "create", "create2", "suicide"])
        & ~pl.col("call_type").fill_null("").is_in(list(NO_VALUE_CALLS))
        & pl.col("receiver").is_not_null()
        & pl.col("tx_hash").is_not_null()
    ).select(
        "block", pl.col("tx_index").fill_null(0), "tx_hash",
        kind=pl.lit(KIND_INTERNAL, dtype=pl.Int8), seq="seq", timestamp="timestamp", sender="sender",
        receiver="receiver", value="value", token=pl.lit(None, dtype=pl.String),
        success=pl.col("status").fill_null(1) == 1, gas_used=pl.lit(None, dtype=pl.String),
        gas_price=pl.lit(None, dtype=pl.String), created=pl.lit(None, dtype=pl.String),
    )  # fmt: skip
    genesis = frame.filter((pl.col("trace_type") == "genesis") & moves & pl.col("receiver").is_not_null()).select(
        block=pl.lit(0, dtype=pl.Int64), tx_index=pl.lit(0, dtype=pl.Int64),
        tx_hash=pl.lit("genesis_") + pl.col("receiver"), kind=pl.lit(KIND_GENESIS, dtype=pl.Int8),
        seq=pl.lit("", dtype=pl.String), timestamp="timestamp", sender=pl.lit(GENESIS), receiver="receiver",
        value="value", token=pl.lit(None, dtype=pl.String), success=pl.lit(True),
        gas_used=pl.lit(None, dtype=pl.String), gas_price=pl.lit(None, dtype=pl.String),
        created=pl.lit(None, dtype=pl.String),
    )  # fmt: skip
    return internal, genesis


def _token_rows(export_dir: Path) -> pl.LazyFrame | None:
    """The token transfers as read (their transaction's block, index and time are joined per bucket)."""
    transfers = t.scan_table(export_dir, "token_transfers", required=False)
    if transfers is None:
        return None
    s = t.columns(transfers)
    t.require(s, "token_transfers", "token_address", "from_address", "to_address", "value", "transaction_hash")
    return transfers.select(
        tx_hash=t.lower("transaction_hash", s),
        token=t.lower("token_address", s),
        sender=t.lower("from_address", s),
        receiver=t.lower("to_address", s),
        value=t.text("value", s),
        log_index=t.integer("log_index", s),
    )


def _token_items(rows: pl.LazyFrame, items: pl.LazyFrame) -> pl.LazyFrame:
    """Token transfers as items, with block, index and time of their transaction among `items` (inner join)."""
    txs = items.filter(pl.col("kind") == KIND_TX).select("tx_hash", "block", "tx_index", "timestamp")
    return rows.join(txs, on="tx_hash", how="inner").select(
        "block", "tx_index", "tx_hash", kind=pl.lit(KIND_TOKEN, dtype=pl.Int8),
        seq=pl.col("log_index").cast(pl.String).fill_null(""), timestamp="timestamp", sender="sender",
        receiver="receiver", value="value", token="token", success=pl.lit(True),
        gas_used=pl.lit(None, dtype=pl.String), gas_price=pl.lit(None, dtype=pl.String),
        created=pl.lit(None, dtype=pl.String),
    )  # fmt: skip


def _tokens(export_dir: Path) -> pl.DataFrame:
    tokens = t.scan_table(export_dir, "tokens", required=False)
    if tokens is None:
        return pl.DataFrame(schema={"token": pl.String, "symbol": pl.String, "name": pl.String, "decimals": pl.Int64})
    s = t.columns(tokens)
    t.require(s, "tokens", "address")
    frame = tokens.select(
        token=t.lower("address", s),
        symbol=t.text("symbol", s).fill_null(""),
        name=t.text("name", s).fill_null(""),
        decimals=t.integer("decimals", s).fill_null(0),
    )
    return frame.group_by("token").agg(pl.all().sort_by("symbol").first()).sort("token").collect()


def _export_bytes(export_dir: Path) -> int:
    return sum(p.stat().st_size for p in export_dir.rglob("*") if p.is_file() and INDEX_DIRNAME not in p.parts)


def _sort_buckets(stagings: list[Path], final: Path, keys: tuple[str, ...], progress: Callable[[str], None]) -> int:
    """Each hive partition `staging/bucket=XX/` (of all `stagings`) sorted by `keys` into `final/XX.parquet`."""
    return sort_buckets(stagings, final, keys, progress)


def partition_to(frame: pl.LazyFrame, staging: Path, *, key: str, key_chars: int, prefix: str = "") -> None:
    """Write `frame` into `staging/bucket=XX/` part files by the bucket of `key`, in bounded memory.

    The frame is first sunk to one file of small row groups (a native streaming sink), then read
    back a slice at a time into a :class:`~chains.export.layout.Partitioner`.
    """
    staged = staging.with_name(f".{staging.name}.parquet")
    frame.sink_parquet(staged, row_group_size=SLICE_ROWS)
    parts = Partitioner(staging, key=key, key_chars=key_chars, prefix=prefix)
    for rows in read_slices(staged):
        parts.add(rows)
    parts.close()
    staged.unlink()


#: The parties of an item, each a row of `addr/` keyed by that address: the sender (not for
#: genesis allocations), the receiver (when not the sender), the created contract (when neither).
PARTIES = (
    (pl.col("sender") != GENESIS, "sender"),
    (pl.col("receiver") != pl.col("sender"), "receiver"),
    (
        (pl.col("kind") == KIND_TX)
        & pl.col("created").is_not_null()
        & (pl.col("created") != pl.col("sender"))
        & (pl.col("created") != pl.col("receiver")),
        "created",
    ),
)
ADDR_ORDER = ("address", "block", "tx_index", "tx_hash", "kind", "seq")
TX_ORDER = ("tx_hash", "kind", "seq")


def _tx_buckets(
    tmp: Path, addresses: Partitioner, receipts: dict[str, pl.DataType] | None, progress: Callable[[str], None]
) -> tuple[int, int]:
    """Each transaction bucket joined, sorted into `tx/XX.parquet`, its items handed by party to `addresses`.

    The joins of one bucket: transactions with their receipts (when those are a table of their
    own, schema `receipts`), token transfers with their transaction's block, index and time.
    Returns (items, tip).
    """
    final = tmp / "tx"
    final.mkdir()
    items_n, tip = 0, 0
    buckets = staged_buckets(tmp / "tx-staging", tmp / "txraw-staging")
    for i, bucket in enumerate(buckets):
        staged, raw = scan_bucket(tmp / "tx-staging", bucket), scan_bucket(tmp / "txraw-staging", bucket)
        parts = [] if staged is None else [staged]
        if raw is not None and receipts is not None:
            paid = scan_bucket(tmp / "rcp-staging", bucket)
            parts.append(_tx_items(_receipted(raw, pl.LazyFrame(schema=receipts) if paid is None else paid)))
        items = pl.concat(parts).collect().lazy()
        tokens = scan_bucket(tmp / "tok-staging", bucket)  # those whose transaction is absent are left out
        frames = [items] if tokens is None else [items, _token_items(tokens, items)]
        frame = pl.concat(frames).sort(list(TX_ORDER)).collect()
        frame.write_parquet(final / f"{bucket}.parquet", row_group_size=ROW_GROUP)
        items_n += frame.height
        tip = max(tip, int(frame.select(pl.col("block").max()).item() or 0))
        addresses.add(
            pl.concat([frame.filter(keep).with_columns(address=pl.col(column)) for keep, column in PARTIES]).filter(
                pl.col("address").is_not_null()
            )
        )
        del frame, items
        if (i + 1) % 32 == 0 or i + 1 == len(buckets):
            progress(f"  sorted {i + 1}/{len(buckets)} buckets of tx/")
    addresses.close()
    return items_n, tip


def build_evm_index(
    export_dir: Path, index_dir: Path, *, key_chars: int | None = None, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Index the ethereum-etl / BigQuery export in `export_dir` into `index_dir` (replaced when present).

    Four bounded passes: each table sunk as items (streaming, small row groups); items, receipts
    and token transfers partitioned by transaction bucket, a slice at a time; each transaction
    bucket joined, sorted and partitioned by address; each address bucket sorted.
    """
    started = time.perf_counter()
    key_chars = key_chars or key_chars_for(_export_bytes(export_dir))
    txs, receipts, times = _transactions(export_dir)
    tmp = index_dir.with_name(index_dir.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    staged_items = tmp / "items"
    staged_items.mkdir(parents=True)
    traced = _trace_items(export_dir, times)
    kinds = {  # name: (frame, staging folder)
        "tx": (_tx_items(_receipted(txs, None)), "tx") if receipts is None else (txs, "txraw"),
        "receipts": (receipts, "rcp"),
        "traces": (traced[0] if traced else None, "tx"),
        "genesis": (traced[1] if traced else None, "tx"),
        "tokens": (_token_rows(export_dir), "tok"),
    }
    try:
        for name, (frame, _) in kinds.items():  # one streaming pass each: a concat would hold back the later inputs
            if frame is not None:
                progress(f"reading {export_dir}: {name} ...")
                frame.sink_parquet(staged_items / f"{name}.parquet", maintain_order=False, row_group_size=SLICE_ROWS)
    except pl.exceptions.PolarsError as exc:
        raise BadInput(f"{export_dir}: cannot read the export ({str(exc).splitlines()[0]})") from None
    progress("partitioning by transaction ...")
    for name, (frame, staging) in kinds.items():
        if frame is not None:
            parts = Partitioner(tmp / f"{staging}-staging", key="tx_hash", key_chars=key_chars, prefix=f"{name}-")
            for rows in read_slices(staged_items / f"{name}.parquet"):
                parts.add(rows)
            parts.close()
    shutil.rmtree(staged_items)
    progress("joining and sorting by transaction, partitioning by address ...")
    addresses = Partitioner(tmp / "addr-staging", key="address", key_chars=key_chars)
    schema = None if receipts is None else dict(receipts.collect_schema())
    items_n, tip = _tx_buckets(tmp, addresses, schema, progress)
    for staging in ("tx", "txraw", "rcp", "tok"):
        shutil.rmtree(tmp / f"{staging}-staging", ignore_errors=True)
    progress("sorting by address ...")
    rows = sort_buckets([tmp / "addr-staging"], tmp / "addr", ADDR_ORDER, progress)
    shutil.rmtree(tmp / "addr-staging", ignore_errors=True)
    _tokens(export_dir).write_parquet(tmp / "tokens.parquet")
    seconds = round(time.perf_counter() - started, 2)
    write_manifest(tmp, family="evm", key_chars=key_chars, tip=tip, items=items_n, address_rows=rows)
    if index_dir.exists():
        shutil.rmtree(index_dir)
    tmp.rename(index_dir)
    return {"family": "evm", "items": items_n, "address_rows": rows, "tip": tip, "seconds": seconds}
