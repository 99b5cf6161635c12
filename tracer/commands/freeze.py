"""`heisttrace freeze DIR --out PACKDIR`: one freeze-request folder per service reached."""

from __future__ import annotations

import argparse

from tracer.environment import Environment


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "freeze",
        help="write freeze-request packs (deposits.csv, request.md/pdf) per service reached",
        description=(
            "For each service endpoint of the bundle (exchange, instant exchanger, OTC, bridge, unknown service) "
            "write PACKDIR/<service>/deposits.csv and request.md (and request.pdf where Chromium is installed)."
        ),
    )
    parser.add_argument("bundle", help="the bundle directory")
    parser.add_argument("--out", required=True, help="directory for the packs")
    parser.add_argument("--no-pdf", action="store_true", help="skip request.pdf even when Chromium is present")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    from tracer.bundle.outputs import check_output_dir
    from tracer.incident.bundle import read_bundle
    from tracer.incident.freeze import write_packs

    bundle = read_bundle(args.bundle)
    out = check_output_dir(args.out)
    folders = write_packs(bundle, out, pdf=not args.no_pdf)
    for folder in folders:
        env.stdout.print(str(folder), markup=False, highlight=False)
    if not folders:
        env.stdout.print("no service endpoint in this bundle: no pack written", markup=False, highlight=False)
    return 0
