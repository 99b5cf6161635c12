"""The on-disk layout of an export index, shared by the builders and the adapters.

An index folder holds `manifest.json` and, per table, one Parquet file per bucket
(`addr/<bucket>.parquet`, `tx/<bucket>.parquet`, ...). A row's bucket is the hex encoding of
the last `key_chars` characters of its key (an address, a transaction hash): stable, the same
for every reader, and spread evenly by the hashes and addresses themselves. Each bucket file is
sorted by its key, written in small row groups with statistics, so the rows of one key are
found from the footer and read in a few pages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tracer.core.errors import BadInput

FORMAT = "heisttrace-export-index"
VERSION = 1
INDEX_DIRNAME = "heisttrace-index"
ROW_GROUP = 4096


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
