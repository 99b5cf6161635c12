"""The command line shared by the data build scripts: `--raw DIR --out DIR`, then `build(raw, out)`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def run_build(
    argv: list[str] | None,
    *,
    name: str,
    doc: str,
    build: Callable[[Path, Path], Any],
    raw: Path,
    out: Path,
) -> int:
    """Parse `--raw`/`--out` (defaults `raw`, `out`) and run `build`; `doc`'s first line is the description.

    Returns 2 with a one-line error when the raw data folder is missing.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=raw, help=f"raw datasets (default: {raw})")
    parser.add_argument("--out", type=Path, default=out, help=f"output folder (default: {out})")
    args = parser.parse_args(argv)
    if not args.raw.is_dir():
        print(f"{name}: raw data folder {args.raw} not found", file=sys.stderr)
        return 2
    build(args.raw, args.out)
    return 0
