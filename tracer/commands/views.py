"""Terminal views of a bundle: `heisttrace show DIR`, `heisttrace path DIR ADDRESS`, `heisttrace address DIR ...`."""

from __future__ import annotations

import argparse
from pathlib import Path

from tracer.commands.bundle_args import add_bundle_command
from tracer.commands.valuation_args import add_valuation_args, revalue_dir
from tracer.core.errors import BadInput
from tracer.environment import Environment


def register(subparsers: argparse._SubParsersAction) -> None:
    show = add_bundle_command(
        subparsers,
        "show",
        help="the case at a glance: balance sheet, endpoints, top paths, timeline",
        description=(
            "Print a finished trace from its bundle directory: the balance sheet (stolen → endpoints by category, "
            "unmoved, fees, below threshold, unexplored), the endpoints table, the widest laundering paths from "
            "seed to endpoint (hops, assets, amounts, swaps, times) and a timeline of value reaching endpoints."
        ),
        run=run_show,
    )
    show.add_argument("--paths", type=int, default=5, help="how many paths to show (default 5)")
    show.add_argument("--endpoints", type=int, default=25, help="how many endpoints to list (default 25)")
    add_valuation_args(show)

    path = add_bundle_command(
        subparsers,
        "path",
        help="how taint reached an address, and where it went on",
        description=(
            "Print the widest path from a seed to ADDRESS (each hop with assets, amounts, transactions and times, "
            "swaps on the way), then the widest onward paths from ADDRESS to endpoints. ADDRESS may be written "
            "chain:address when it appears on several chains."
        ),
        run=run_path,
    )
    path.add_argument("address", metavar="ADDRESS", help="address (or chain:address) of the trace")
    path.add_argument("--onward", type=int, default=5, help="how many onward paths to show (default 5)")

    address = add_bundle_command(
        subparsers,
        "address",
        help="one address: labels, taint in and out, counterparties, swaps",
        description=(
            "Print what the bundle knows about one address: role, category, label and its source, hop, first "
            "tainted time, tainted amounts in and out per asset, its largest counterparties and its swaps."
        ),
        run=run_address,
    )
    address.add_argument("address", metavar="ADDRESS", help="address (or chain:address) of the trace")


def _case(directory: Path):  # -> CaseFile
    from tracer.report.bundle import read_bundle
    from tracer.report.casefile import analyse_bundle

    return analyse_bundle(read_bundle(directory))


def run_show(args: argparse.Namespace, env: Environment) -> int:
    from tracer.report.terminal import render_case

    if args.paths < 0 or args.endpoints < 0:
        raise BadInput("--paths and --endpoints must not be negative")
    revalue_dir(args.dir, args)
    render_case(_case(args.dir), env.stdout, paths=args.paths, endpoints=args.endpoints)
    return 0


def run_path(args: argparse.Namespace, env: Environment) -> int:
    from tracer.report.terminal import render_path

    if args.onward < 0:
        raise BadInput("--onward must not be negative")
    render_path(_case(args.dir), env.stdout, args.address, onward=args.onward)
    return 0


def run_address(args: argparse.Namespace, env: Environment) -> int:
    from tracer.report.terminal import render_address

    render_address(_case(args.dir), env.stdout, args.address)
    return 0
