"""`heisttrace demo [--out DIR]`: trace the bundled SYNTHETIC case end to end, offline, with no key."""

from __future__ import annotations

import argparse
from pathlib import Path

from tracer.bundle.outputs import check_output_dir
from tracer.core.models import Policy
from tracer.environment import Environment

DEFAULT_OUT = Path("heisttrace-demo")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="trace the bundled synthetic hack offline (no network, no key)",
        description=(
            "Build the bundled SYNTHETIC exchange-hack scenario (fictional entities), serve it from an "
            "emulated explorer on 127.0.0.1, and trace it through the same adapter, store, engine and "
            "reporter as a real case. Prints the balance sheet and the main paths and writes the full "
            "bundle, report.html included, to --out."
        ),
    )
    parser.add_argument(
        "--out", default=DEFAULT_OUT, metavar="DIR", help=f"bundle directory (default: ./{DEFAULT_OUT})"
    )
    parser.add_argument(
        "--policy", default=None, choices=[p.value for p in Policy], help="taint policy (default: the engine's default)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    from tracer.demo.run import run_demo

    outcome = run_demo(check_output_dir(args.out), console=env.stdout, policy=args.policy)
    return outcome.exit_code
