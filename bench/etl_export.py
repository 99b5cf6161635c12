"""Write an :class:`EvmWorld` out as an ethereum-etl / BigQuery `crypto_ethereum` export (SYNTHETIC data).

The tables are shaped as BigQuery's public dataset gives them: `transactions` with the
`receipt_*` columns and a text `block_timestamp` ("2024-01-01 00:00:00 UTC"), `traces` with
ethereum-etl's comma-separated `trace_address` (the top-level call too, with an empty trace
address), `token_transfers`, `tokens` and `blocks`. `fmt="parquet"` writes Parquet instead of
CSV; `parts > 1` writes each table as a folder of that many part files (as a sharded
`EXPORT DATA` does). `shape="etl"` writes what the ethereum-etl CLI gives instead: no
`receipt_*` columns and no `block_timestamp`, a `receipts` table of their own (time from
`blocks`). Used by tests and benchmarks to trace the same world through the emulated API and
through the export.

    python -m bench.etl_export --demo OUT_DIR [--format csv|parquet] [--parts N] [--shape bigquery|etl]
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from chains.emulators.world import EvmWorld


def _when(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def world_tables(world: EvmWorld) -> dict[str, pl.DataFrame]:
    """The world's tables (every value as text, as CSV exports carry them)."""
    txs, traces, transfers, tokens, blocks = [], [], [], {}, {}
    for tx in sorted(world.txs, key=lambda x: (x.block, x.tx_index)):
        blocks.setdefault(tx.block, tx.timestamp)
        txs.append(
            {
                "hash": tx.hash, "nonce": str(tx.nonce), "transaction_index": str(tx.tx_index),
                "from_address": tx.sender, "to_address": tx.to or "", "value": str(tx.value),
                "gas": str(max(tx.gas_used, 21_000) * 3 // 2), "gas_price": str(tx.gas_price), "input": tx.input,
                "receipt_cumulative_gas_used": str(tx.gas_used * (tx.tx_index + 1)),
                "receipt_gas_used": str(tx.gas_used), "receipt_contract_address": tx.created or "",
                "receipt_root": "", "receipt_status": "1" if tx.success else "0",
                "block_timestamp": _when(tx.timestamp), "block_number": str(tx.block),
                "block_hash": f"0x{tx.block:064x}", "max_fee_per_gas": "", "max_priority_fee_per_gas": "",
                "transaction_type": "0", "receipt_effective_gas_price": str(tx.gas_price),
            }
        )  # fmt: skip
        top = {
            "transaction_hash": tx.hash, "transaction_index": str(tx.tx_index), "from_address": tx.sender,
            "to_address": tx.to or tx.created or "", "value": str(tx.value), "input": tx.input, "output": "",
            "trace_type": "create" if tx.created and not tx.to else "call", "call_type": "" if tx.created else "call",
            "reward_type": "", "gas": "", "gas_used": "", "subtraces": str(len(tx.internals)), "trace_address": "",
            "error": "" if tx.success else "Reverted", "status": "1" if tx.success else "0",
            "block_timestamp": _when(tx.timestamp), "block_number": str(tx.block),
            "block_hash": f"0x{tx.block:064x}", "trace_id": f"call_{tx.hash}_",
        }  # fmt: skip
        traces.append(top)
        for call in tx.internals:
            creates = call.call_type.startswith("create")
            address = call.trace_id.replace("_", ",")
            traces.append(
                {
                    **top, "from_address": call.sender, "to_address": call.to, "value": str(call.value),
                    "input": "", "trace_type": "create" if creates else "call",
                    "call_type": "" if creates else call.call_type, "subtraces": "0", "trace_address": address,
                    "error": "" if call.success else "Reverted", "status": "1" if call.success else "0",
                    "trace_id": f"call_{tx.hash}_{call.trace_id}",
                }
            )  # fmt: skip
        for tok in tx.tokens:
            tokens.setdefault(tok.token, tok)
            transfers.append(
                {
                    "token_address": tok.token, "from_address": tok.sender, "to_address": tok.to,
                    "value": str(tok.value), "transaction_hash": tx.hash, "log_index": str(tok.log_index),
                    "block_timestamp": _when(tx.timestamp), "block_number": str(tx.block),
                    "block_hash": f"0x{tx.block:064x}",
                }
            )  # fmt: skip
    token_rows = [
        {"address": a, "symbol": t.symbol, "name": t.name, "decimals": str(t.decimals), "total_supply": "",
         "block_number": ""}
        for a, t in sorted(tokens.items())
    ]  # fmt: skip
    block_rows = [{"number": str(n), "hash": f"0x{n:064x}", "timestamp": str(ts)} for n, ts in sorted(blocks.items())]

    def frame(rows: list[dict[str, str]], names: Sequence[str]) -> pl.DataFrame:
        return (
            pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String))
            if rows
            else pl.DataFrame(schema=dict.fromkeys(names, pl.String))
        )

    return {
        "transactions": frame(txs, list(txs[0]) if txs else ["hash"]),
        "traces": frame(traces, list(traces[0]) if traces else ["transaction_hash"]),
        "token_transfers": frame(
            transfers,
            [
                "token_address",
                "from_address",
                "to_address",
                "value",
                "transaction_hash",
                "log_index",
                "block_timestamp",
                "block_number",
                "block_hash",
            ],
        ),
        "tokens": frame(token_rows, ["address", "symbol", "name", "decimals", "total_supply", "block_number"]),
        "blocks": frame(block_rows, ["number", "hash", "timestamp"]),
    }


RECEIPT_COLUMNS = {  # BigQuery's transactions column: ethereum-etl's receipts column
    "receipt_cumulative_gas_used": "cumulative_gas_used", "receipt_gas_used": "gas_used",
    "receipt_contract_address": "contract_address", "receipt_root": "root", "receipt_status": "status",
    "receipt_effective_gas_price": "effective_gas_price",
}  # fmt: skip


def etl_cli_tables(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """BigQuery-shaped tables as the ethereum-etl CLI writes them: receipts apart, no block_timestamp."""
    txs = tables["transactions"]
    receipts = txs.select(
        transaction_hash="hash", transaction_index="transaction_index", block_hash="block_hash",
        block_number="block_number", **{new: old for old, new in RECEIPT_COLUMNS.items()},
    )  # fmt: skip
    out = {name: table.drop("block_timestamp", strict=False) for name, table in tables.items()}
    out["transactions"] = out["transactions"].drop(list(RECEIPT_COLUMNS))
    return {**out, "receipts": receipts}


def write_etl_export(world: EvmWorld, out: Path, *, fmt: str = "csv", parts: int = 1, shape: str = "bigquery") -> Path:
    """Write the world's tables into `out` (created), shaped as BigQuery (or the ethereum-etl CLI) has them."""
    out.mkdir(parents=True, exist_ok=True)
    tables = world_tables(world)
    if shape == "etl":
        tables = etl_cli_tables(tables)
    for name, table in tables.items():
        if parts <= 1:
            _write(table, out / f"{name}.{fmt}", fmt)
            continue
        folder = out / name
        folder.mkdir(exist_ok=True)
        size = max(1, -(-table.height // parts))
        for i in range(parts):
            _write(table.slice(i * size, size), folder / f"{name}-{i:05d}.{fmt}", fmt)
    return out


def _write(table: pl.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        table.write_parquet(path)
    else:
        table.write_csv(path)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--demo", action="store_true", help="write the demo's synthetic world")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--parts", type=int, default=1)
    parser.add_argument("--shape", choices=("bigquery", "etl"), default="bigquery")
    args = parser.parse_args(argv)
    from tracer.demo.scenario import build_scenario

    write_etl_export(build_scenario().world, args.out, fmt=args.format, parts=args.parts, shape=args.shape)
    print(f"wrote the SYNTHETIC demo world as an ethereum-etl export to {args.out}")


if __name__ == "__main__":
    main()
