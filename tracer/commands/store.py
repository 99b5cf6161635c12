"""`heisttrace store info`: where the local store is, its schema version, what it holds and covers."""

from __future__ import annotations

import argparse
import json

from tracer.environment import Environment


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "store",
        help="inspect the local store",
        description="Inspect the local store (SQLite under HEISTTRACE_HOME) that caches histories and evidence.",
    )
    sub = parser.add_subparsers(dest="store_command", metavar="SUBCOMMAND", parser_class=type(parser))
    info = sub.add_parser(
        "info",
        help="path, schema version, record counts and covered addresses",
        description=(
            "Show the store's path, schema version, how many records of each kind it holds, and the "
            "addresses whose history it covers with their block ranges (per source). Opening the store "
            "creates it when absent."
        ),
    )
    info.add_argument("--limit", type=int, default=20, help="covered addresses to list (default: 20)")
    info.add_argument("--json", action="store_true", help="print JSON instead of tables")
    info.set_defaults(run=run_info)
    parser.set_defaults(run=lambda args, env: _help(parser, env))


def _help(parser: argparse.ArgumentParser, env: Environment) -> int:
    env.stdout.print(parser.format_help(), markup=False, highlight=False)
    return 2


def run_info(args: argparse.Namespace, env: Environment) -> int:
    from tracer.core.errors import BadInput
    from tracer.store import Store

    if args.limit < 0:
        raise BadInput("--limit: expected 0 or more")
    with Store.open(env.store_path) as store:
        info = store.info(limit=args.limit)
    if args.json:
        payload = {
            "path": str(info.path),
            "schema_version": info.schema_version,
            "counts": info.counts,
            "covered": [
                {"source": c.source, "chain": c.chain, "address": c.address, "kind": c.kind, "ranges": c.ranges}
                for c in info.covered
            ],
        }
        env.stdout.print_json(json.dumps(payload))
        return 0
    from rich.table import Table

    env.stdout.print(f"store: {info.path}", markup=False, highlight=False)
    env.stdout.print(f"schema version: {info.schema_version}", markup=False, highlight=False)
    counts = Table("records", "count", title="contents")
    for name, count in info.counts.items():
        counts.add_row(name.replace("_", " "), f"{count:,}")
    env.stdout.print(counts)
    if info.covered:
        covered = Table("source", "chain", "address", "kind", "covered blocks", title="covered addresses")
        for c in info.covered:
            ranges = ", ".join(f"{a}-{b}" for a, b in c.ranges)
            covered.add_row(c.source, c.chain, c.address, c.kind, ranges)
        env.stdout.print(covered)
    if info.covered_total > len(info.covered):
        more = info.covered_total - len(info.covered)
        env.stdout.print(f"... and {more:,} more covered addresses (raise --limit to list them)", markup=False)
    return 0
