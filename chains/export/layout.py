"""The on-disk layout of an export index, shared by the builders and the adapters.

An index folder holds `manifest.json` and, per table, one Parquet file per bucket
(`addr/<bucket>.parquet`, `tx/<bucket>.parquet`, ...). A row's bucket is the hex encoding of
the last `key_chars` characters of its key (an address, a transaction hash): stable, the same
for every reader, and spread evenly by the hashes and addresses themselves. Each bucket file is
sorted by its key, written in small row groups with statistics, so the rows of one key are
found from the footer and read in a few pages.

The builders write buckets with :class:`Partitioner` (rows in any order to per-bucket part
files, a few thousand rows buffered per bucket) fed by :func:`read_slices` (a staged Parquet
file a slice at a time), then sort each bucket on its own (:func:`sort_buckets`): memory is
bounded by one bucket and the buffers, whatever the export's size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from tracer.core.errors import BadInput

FORMAT = "heisttrace-export-index"
VERSION = 1
INDEX_DIRNAME = "heisttrace-index"
ROW_GROUP = 4096
#: Rows a staged file is read at a time, and its row-group size (so a slice decodes a row group or two).
SLICE_ROWS = 65_536
#: Rows a bucket buffers before its part file is written (bounds the memory of partitioning).
FLUSH_ROWS = 8_192


def bucket_of(key: str, key_chars: int) -> str:
    """The bucket file stem of `key`."""
    return key[-key_chars:].encode().hex()


def key_chars_for(total_bytes: int) -> int:
    """How many trailing key characters name a bucket: 2 (256 EVM buckets) up to ~32 GB of input, then more."""
    chars, limit = 2, 32 << 30
    while total_bytes > limit and chars < 4:
        chars, limit = chars + 1, limit * 16
    return chars


def write_manifest(index_dir: Path, **fields: Any) -> None:
    body = {"format": FORMAT, "version": VERSION, **fields}
    tmp = index_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(index_dir / "manifest.json")


def locate_index(path: Path) -> Path:
    """The index folder for `path`: `path` itself, or `path/heisttrace-index` (BadInput when neither is built)."""
    for candidate in (path, path / INDEX_DIRNAME):
        if (candidate / "manifest.json").is_file():
            return candidate
    if not path.exists():
        raise BadInput(f"export source: {path} does not exist")
    raise BadInput(f"export source: {path} has no index yet; build it once with `heisttrace index-export {path}`")


def read_manifest(index_dir: Path) -> dict[str, Any]:
    try:
        body = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"{index_dir}/manifest.json: unreadable ({exc})") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise BadInput(f"{index_dir}/manifest.json: not a heisttrace export index")
    if body.get("version") != VERSION:
        raise BadInput(
            f"{index_dir}: index version {body.get('version')} is not {VERSION};"
            " rebuild it with heisttrace index-export"
        )
    return body


def bucket_expr(column: str, key_chars: int) -> pl.Expr:
    """The `bucket` column of rows keyed by `column` (the same as :func:`bucket_of`)."""
    return pl.col(column).str.slice(-key_chars).str.encode("hex").alias("bucket")


def read_slices(path: Path, rows: int = SLICE_ROWS) -> Iterator[pl.DataFrame]:
    """The rows of one Parquet file, `rows` at a time.

    Slices of a file with small row groups read only those row groups; polars' streaming
    batches (`collect_batches`, `sink_batches`) read ahead without bound and held whole tables.
    """
    height = int(pl.scan_parquet(path).select(pl.len()).collect().item())
    for offset in range(0, height, rows):
        yield pl.scan_parquet(path).slice(offset, rows).collect()


class Partitioner:
    """Rows added in any order, written to `staging/bucket=XX/<prefix>NNNNNNN.arrow` by the bucket of `key`.

    A bucket buffers up to ~:data:`FLUSH_ROWS` rows before they go to a part file of their own,
    so memory is bounded by buckets × FLUSH_ROWS rows; call :meth:`close` to write the rest. Part
    files are Arrow IPC with LZ4 (temporary: written several times faster than Parquet).
    """

    def __init__(self, staging: Path, *, key: str, key_chars: int, prefix: str = "") -> None:
        self.staging, self.key, self.key_chars, self.prefix = staging, key, key_chars, prefix
        self._pending: dict[str, list[pl.DataFrame]] = {}
        self._sizes: dict[str, int] = {}
        self._files = 0

    def add(self, frame: pl.DataFrame) -> None:
        """Buffer the rows of `frame`, writing the buckets that are full."""
        if frame.height == 0:
            return
        parts = frame.with_columns(bucket_expr(self.key, self.key_chars)).partition_by(
            "bucket", as_dict=True, include_key=False
        )
        for (bucket,), part in parts.items():
            name = str(bucket)
            self._pending.setdefault(name, []).append(part)
            self._sizes[name] = self._sizes.get(name, 0) + part.height
            if self._sizes[name] >= FLUSH_ROWS:
                self._flush(name)

    def close(self) -> None:
        """Write every bucket's buffered rows."""
        for name in list(self._pending):
            self._flush(name)

    def _flush(self, name: str) -> None:
        folder = self.staging / f"bucket={name}"
        folder.mkdir(parents=True, exist_ok=True)
        pl.concat(self._pending.pop(name)).write_ipc(
            folder / f"{self.prefix}{self._files:07d}.arrow", compression="lz4"
        )
        self._sizes[name] = 0
        self._files += 1


def staged_buckets(*stagings: Path) -> list[str]:
    """The bucket names (`XX` of `bucket=XX/`) staged in any of `stagings`, in order."""
    return sorted(
        {
            p.name.removeprefix("bucket=")
            for staging in stagings
            if staging.is_dir()
            for p in staging.iterdir()
            if p.name.startswith("bucket=")
        }
    )


def scan_bucket(staging: Path, bucket: str) -> pl.LazyFrame | None:
    """The staged part files of one bucket (None when it has none)."""
    files = sorted((staging / f"bucket={bucket}").glob("*.arrow"))
    return pl.scan_ipc(files, hive_partitioning=False) if files else None


def sort_buckets(stagings: list[Path], final: Path, keys: tuple[str, ...], progress: Callable[[str], None]) -> int:
    """Each bucket staged in any of `stagings`, sorted by `keys` into `final/XX.parquet`; the rows written."""
    final.mkdir(parents=True, exist_ok=True)
    rows = 0
    buckets = staged_buckets(*stagings)
    for i, bucket in enumerate(buckets):
        scans = [scan for staging in stagings if (scan := scan_bucket(staging, bucket)) is not None]
        frame = pl.concat(scans).drop("bucket", strict=False).sort(list(keys)).collect()
        rows += frame.height
        frame.write_parquet(final / f"{bucket}.parquet", row_group_size=ROW_GROUP)
        del frame
        if (i + 1) % 32 == 0 or i + 1 == len(buckets):
            progress(f"  sorted {i + 1}/{len(buckets)} buckets of {final.name}/")
    return rows
