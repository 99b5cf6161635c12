"""Build the index of an ethereum-etl / BigQuery `crypto_ethereum` export (polars, streaming).

Tables read (see :mod:`chains.export.tables` for files and folders of parts):

- `transactions` (required): `hash, block_number, transaction_index, from_address, to_address,
  value, gas_price` and the receipt columns BigQuery carries (`receipt_gas_used,
  receipt_status, receipt_contract_address, receipt_effective_gas_price`); an ethereum-etl CLI
  export without them needs its `receipts` table (`transaction_hash, gas_used, status,
  contract_address, effective_gas_price`) beside it. Time from `block_timestamp`, else `blocks`.
- `traces` (optional): value-moving calls below the top level (`trace_address` not empty,
  `value > 0`, no delegatecall / staticcall / callcode) become internal transfers with the
  trace's `status`; `genesis` traces become genesis allocations. Block rewards are not
  transfers in explorer histories either and are left out.
- `token_transfers` (optional): `token_address, from_address, to_address, value,
  transaction_hash, log_index, block_number`; their transaction index and time come from
  `transactions`.
- `tokens` (optional): `address, symbol, decimals` (without it tokens show no symbol and
  amounts stay in base units, decimals 0).
- `blocks` (optional): `number, timestamp`.

Output (see :mod:`chains.export.layout`): `items` are the transfer candidates (one per
transaction, internal call, token transfer); `addr/` holds each item once per party it
touches, keyed by that address; `tx/` each item once, keyed by its transaction hash. Both are
partitioned by key bucket in one streaming pass, then each bucket is sorted on its own, so
memory stays bounded by one bucket, whatever the export's size.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from chains.export import tables as t
from chains.export.layout import INDEX_DIRNAME, ROW_GROUP, key_chars_for, write_manifest
from tracer.core.addresses import GENESIS
from tracer.core.errors import BadInput

KIND_TX, KIND_INTERNAL, KIND_TOKEN, KIND_GENESIS = 0, 1, 2, 3
NO_VALUE_CALLS = ("delegatecall", "staticcall", "callcode")
ITEM_COLUMNS = (
    "block", "tx_index", "tx_hash", "kind", "seq", "timestamp", "sender", "receiver", "value", "token",
    "success", "gas_used", "gas_price",
)  # fmt: skip


def _block_times(export_dir: Path, txs: pl.LazyFrame, schema: dict[str, Any]) -> pl.LazyFrame:
    blocks = t.scan_table(export_dir, "blocks", required=False)
    if blocks is not None:
        bs = t.columns(blocks)
        t.require(bs, "blocks", "number", "timestamp")
        return blocks.select(block=t.integer("number", bs), timestamp=t.unix_seconds("timestamp", bs)).unique("block")
    if "block_timestamp" not in schema:
        raise BadInput(f"{export_dir}: transactions have no block_timestamp and there is no blocks table")
    return (
        txs.select(block=t.integer("block_number", schema), timestamp=t.unix_seconds("block_timestamp", schema))
        .group_by("block")
        .agg(pl.col("timestamp").min())
    )


def _transactions(export_dir: Path) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Normalised transactions (with receipt fields and time) and block times."""
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
        **(
            {
                "gas_used": t.text("receipt_gas_used", s),
                "status": t.integer("receipt_status", s),
                "created": t.lower("receipt_contract_address", s),
                "effective": t.text("receipt_effective_gas_price", s),
            }
            if "receipt_gas_used" in s
            else {}
        ),
        **({"ts": t.unix_seconds("block_timestamp", s)} if "block_timestamp" in s else {}),
    )
    if "receipt_gas_used" not in s:
        receipts = t.scan_table(export_dir, "receipts", required=False)
        if receipts is None:
            raise BadInput(
                f"{export_dir}: transactions carry no receipt_* columns and there is no receipts table"
                " (export receipts with ethereum-etl, or use BigQuery's transactions table)"
            )
        rs = t.columns(receipts)
        t.require(rs, "receipts", "transaction_hash", "gas_used", "status")
        base = base.join(
            receipts.select(
                tx_hash=t.lower("transaction_hash", rs),
                gas_used=t.text("gas_used", rs),
                status=t.integer("status", rs),
                created=t.lower("contract_address", rs),
                effective=t.text("effective_gas_price", rs),
            ),
            on="tx_hash",
            how="left",
        )
    times = _block_times(export_dir, raw, s)
    if "ts" in base.collect_schema():
        base = base.rename({"ts": "timestamp"})
    else:
        base = base.join(times, on="block", how="left")
    price = pl.coalesce(t.empty_null(pl.col("effective")), pl.col("gas_price"))
    txs = base.with_columns(gas_price=price).drop("effective")
    return txs, times


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


def _token_items(export_dir: Path, txs: pl.LazyFrame) -> pl.LazyFrame | None:
    transfers = t.scan_table(export_dir, "token_transfers", required=False)
    if transfers is None:
        return None
    s = t.columns(transfers)
    t.require(s, "token_transfers", "token_address", "from_address", "to_address", "value", "transaction_hash")
    frame = transfers.select(
        tx_hash=t.lower("transaction_hash", s),
        token=t.lower("token_address", s),
        sender=t.lower("from_address", s),
        receiver=t.lower("to_address", s),
        value=t.text("value", s),
        log_index=t.integer("log_index", s),
    ).join(txs.select("tx_hash", "block", "tx_index", "timestamp"), on="tx_hash", how="inner")
    return frame.select(
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
    final.mkdir(parents=True, exist_ok=True)
    rows = 0
    buckets = sorted(
        {p.name for staging in stagings if staging.is_dir() for p in staging.iterdir() if p.name.startswith("bucket=")}
    )
    for i, bucket in enumerate(buckets):
        files = sorted(f for staging in stagings for f in (staging / bucket).glob("*.parquet"))
        frame = pl.scan_parquet(files).drop("bucket", strict=False).sort(list(keys)).collect()
        rows += frame.height
        frame.write_parquet(final / f"{bucket.removeprefix('bucket=')}.parquet", row_group_size=ROW_GROUP)
        if (i + 1) % 32 == 0 or i + 1 == len(buckets):
            progress(f"  sorted {i + 1}/{len(buckets)} buckets of {final.name}/")
    return rows


#: Rows a bucket buffers before its part file is written (bounds the memory of partitioning).
FLUSH_ROWS = 8_192


def partition_to(frame: pl.LazyFrame, staging: Path, *, key: str, key_chars: int, prefix: str = "") -> None:
    """Write `frame` into `staging/bucket=XX/*.parquet` by the bucket of `key`, in bounded memory.

    The frame is read in streaming batches; each bucket keeps at most ~:data:`FLUSH_ROWS` rows
    before they go to a part file of their own (polars' own partitioned sink held far more).
    """
    pending: dict[str, list[pl.DataFrame]] = {}
    sizes: dict[str, int] = {}
    counter = 0

    def flush(bucket: str) -> None:
        nonlocal counter
        folder = staging / f"bucket={bucket}"
        folder.mkdir(parents=True, exist_ok=True)
        pl.concat(pending.pop(bucket)).write_parquet(folder / f"{prefix}{counter:07d}.parquet")
        sizes[bucket] = 0
        counter += 1

    for batch in frame.with_columns(_bucket(key, key_chars)).collect_batches():
        for (bucket,), part in batch.partition_by("bucket", as_dict=True, include_key=False).items():
            pending.setdefault(str(bucket), []).append(part)
            sizes[str(bucket)] = sizes.get(str(bucket), 0) + part.height
            if sizes[str(bucket)] >= FLUSH_ROWS:
                flush(str(bucket))
    for bucket in list(pending):
        flush(bucket)


def _bucket(column: str, key_chars: int) -> pl.Expr:
    return pl.col(column).str.slice(-key_chars).str.encode("hex").alias("bucket")


def build_evm_index(
    export_dir: Path, index_dir: Path, *, key_chars: int | None = None, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Index the ethereum-etl / BigQuery export in `export_dir` into `index_dir` (replaced when present)."""
    started = time.perf_counter()
    key_chars = key_chars or key_chars_for(_export_bytes(export_dir))
    txs, times = _transactions(export_dir)
    tmp = index_dir.with_name(index_dir.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "items").mkdir(parents=True)
    traced = _trace_items(export_dir, times)
    kinds = {
        "tx": _tx_items(txs),
        "traces": traced[0] if traced else None,
        "genesis": traced[1] if traced else None,
        "tokens": _token_items(export_dir, txs),
    }
    try:
        for name, frame in kinds.items():  # one streaming pass each: a concat would hold back the later inputs
            if frame is not None:
                progress(f"reading {export_dir}: {name} ...")
                frame.sink_parquet(tmp / "items" / f"{name}.parquet", maintain_order=False)
    except pl.exceptions.PolarsError as exc:
        raise BadInput(f"{export_dir}: cannot read the export ({str(exc).splitlines()[0]})") from None
    staged_items = tmp / "items"
    scan = pl.scan_parquet(sorted(staged_items.glob("*.parquet")))
    parties = [scan.with_columns(address=pl.col("sender")).filter(pl.col("sender") != GENESIS)]
    parties.append(scan.filter(pl.col("receiver") != pl.col("sender")).with_columns(address=pl.col("receiver")))
    parties.append(
        scan.filter(
            (pl.col("kind") == KIND_TX)
            & pl.col("created").is_not_null()
            & (pl.col("created") != pl.col("sender"))
            & (pl.col("created") != pl.col("receiver"))
        ).with_columns(address=pl.col("created"))
    )
    progress("partitioning by address and by transaction ...")
    for n, party in enumerate(parties):  # one pass per party (see above)
        frame = party.filter(pl.col("address").is_not_null())
        partition_to(frame, tmp / f"addr-staging-{n}", key="address", key_chars=key_chars)
    partition_to(scan, tmp / "tx-staging", key="tx_hash", key_chars=key_chars)
    order = ("block", "tx_index", "tx_hash", "kind", "seq")
    stagings = [tmp / f"addr-staging-{n}" for n in range(len(parties))]
    rows = _sort_buckets(stagings, tmp / "addr", ("address", *order), progress)
    items_n = _sort_buckets([tmp / "tx-staging"], tmp / "tx", ("tx_hash", "kind", "seq"), progress)
    _tokens(export_dir).write_parquet(tmp / "tokens.parquet")
    tip = int(scan.select(pl.col("block").max()).collect().item() or 0)
    for folder in (*stagings, tmp / "tx-staging"):
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(staged_items)
    seconds = round(time.perf_counter() - started, 2)
    write_manifest(tmp, family="evm", key_chars=key_chars, tip=tip, items=items_n, address_rows=rows)
    if index_dir.exists():
        shutil.rmtree(index_dir)
    tmp.rename(index_dir)
    return {"family": "evm", "items": items_n, "address_rows": rows, "tip": tip, "seconds": seconds}
