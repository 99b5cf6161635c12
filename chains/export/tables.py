"""Find and scan the tables of a bulk chain export (ethereum-etl / BigQuery, bitcoin-etl), lazily.

A table is one file (`transactions.csv`, `traces.parquet`, `transactions.json`) or a folder of
parts (`transactions/` holding `*.csv`, `*.parquet`, `*.json`, searched recursively, as
ethereum-etl's `export_all` and BigQuery's sharded `EXPORT DATA` write them). Names may carry a
suffix (`transactions_000000.csv`, `token_transfers-*.parquet`). CSV is read with every
column as text; Parquet keeps its types; newline-delimited JSON (bitcoin-etl's default) is read
with its nested lists. Nothing is loaded here: the scans are :class:`polars.LazyFrame`s.

Column helpers turn what the exporters write into one shape: decimal numbers as text
(BigQuery NUMERIC comes as ``"123.000000000"`` or a decimal type), timestamps as unix seconds
(ethereum-etl writes integers, BigQuery ``"2023-05-02 12:00:00 UTC"`` or a timestamp type).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tracer.core.errors import BadInput

SUFFIXES = (".parquet", ".csv", ".json", ".jsonl", ".ndjson")


def _parts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in SUFFIXES and not p.name.startswith("."))


def find_table(export_dir: Path, name: str) -> list[Path]:
    """The files of table `name` in `export_dir` (empty when absent), of one format, in name order."""
    folder = export_dir / name
    files = _parts(folder) if folder.is_dir() else []
    if not files:
        files = sorted(
            p
            for p in export_dir.iterdir()
            if p.is_file()
            and p.suffix in SUFFIXES
            and (p.stem == name or (p.stem.startswith(name) and p.stem[len(name) : len(name) + 1] in "_-."))
        )
        if name == "transactions":  # do not take `transactions_receipts...` for the transactions table
            files = [p for p in files if not p.stem.startswith(("transactions_receipt",))]
    formats = {p.suffix if p.suffix in (".parquet", ".csv") else ".json" for p in files}
    if len(formats) > 1:
        raise BadInput(f"{export_dir}: table {name} mixes formats ({', '.join(sorted(formats))}); keep one")
    return files


def scan_table(export_dir: Path, name: str, *, required: bool = True) -> pl.LazyFrame | None:
    """A lazy scan of table `name` (all its parts), or None when it is optional and absent."""
    files = find_table(export_dir, name)
    if not files:
        if required:
            raise BadInput(
                f"{export_dir}: no {name} table (expected {name}.csv, {name}.parquet, {name}.json or a {name}/ folder)"
            )
        return None
    suffix = files[0].suffix
    try:
        if suffix == ".parquet":
            return pl.scan_parquet(files)
        if suffix == ".csv":
            return pl.scan_csv(files, infer_schema=False, truncate_ragged_lines=True)
        return pl.scan_ndjson(files, infer_schema_length=10_000)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise BadInput(f"{export_dir}: cannot read the {name} table ({exc})") from None


def columns(frame: pl.LazyFrame) -> dict[str, pl.DataType]:
    """The column names and types of a scan (reads only the file headers)."""
    try:
        return dict(frame.collect_schema())
    except pl.exceptions.PolarsError as exc:
        raise BadInput(f"cannot read an export table's columns ({exc})") from None


def require(schema: dict[str, pl.DataType], table: str, *names: str) -> None:
    """BadInput naming the first missing column of `table`."""
    for name in names:
        if name not in schema:
            raise BadInput(f"export table {table} has no column {name!r} (columns: {', '.join(schema)})")


def empty_null(expr: pl.Expr) -> pl.Expr:
    """Empty text as null (a `when`, which the streaming engine runs; `replace` would make it load everything)."""
    return pl.when(expr == "").then(None).otherwise(expr)


def text(name: str, schema: dict[str, pl.DataType]) -> pl.Expr:
    """A column as text (decimal types and ``"12.000"`` forms as plain integers); missing: null."""
    if name not in schema:
        return pl.lit(None, dtype=pl.String)
    dtype = schema[name]
    col = pl.col(name)
    if dtype == pl.String:
        return col.str.strip_chars().str.replace(r"\.0*$", "")
    if isinstance(dtype, pl.Decimal):
        return col.cast(pl.String).str.replace(r"\.0*$", "")
    return col.cast(pl.String)


def integer(name: str, schema: dict[str, pl.DataType]) -> pl.Expr:
    """A column as Int64 (null when missing or empty)."""
    if name not in schema:
        return pl.lit(None, dtype=pl.Int64)
    return empty_null(text(name, schema)).cast(pl.Int64, strict=False)


def unix_seconds(name: str, schema: dict[str, pl.DataType]) -> pl.Expr:
    """A timestamp column as unix seconds: integers as they are, BigQuery text and timestamp types converted."""
    if name not in schema:
        return pl.lit(None, dtype=pl.Int64)
    dtype = schema[name]
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        return col.dt.epoch("s")
    if dtype.is_integer():
        return col.cast(pl.Int64)
    raw = col.cast(pl.String).str.strip_chars()
    as_int = raw.cast(pl.Int64, strict=False)
    as_time = (
        raw.str.replace(r" UTC$", "")
        .str.replace("T", " ")
        .str.replace(r"Z$", "")
        .str.to_datetime(format="%Y-%m-%d %H:%M:%S%.f", strict=False, time_zone="UTC")
        .dt.epoch("s")
    )
    return pl.coalesce(as_int, as_time)


def lower(name: str, schema: dict[str, pl.DataType]) -> pl.Expr:
    """A hex column (address, hash) in lower case, empty as null."""
    return empty_null(text(name, schema).str.to_lowercase())
